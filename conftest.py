"""pytest set-up for the whole suite (tests/ and the doctests of skmtl/).

Small torch networks on a shared 2-core machine: with the other core busy, two intra-op threads
made training about 20x slower than one (docs/neural.rst, "Threads"). The library leaves torch's
global setting alone; the test session pins it to one thread, when torch is installed.
"""


def pytest_configure(config):
    try:
        import torch
    except ImportError:  # the linear half is tested without torch too
        return
    torch.set_num_threads(1)


try:  # hypothesis (fuzz tests): in CI the generated cases are fixed, so a run is reproducible
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass
