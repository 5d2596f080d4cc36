"""Saving and loading fitted estimators without pickle, through :mod:`skops.io`.

:func:`pickle.load` runs whatever code a file asks for: never unpickle a model you did not make.
skops' format stores the object tree as data and refuses, at load time, any type that is not in an
allow-list. :func:`load` allows skmtl's own classes, skops' default trusted types (numpy,
scipy, scikit-learn) and ``numpy.dtype`` (kept by a fitted ``SimpleImputer``), and nothing else
unless you name it.

Requires the optional dependency ``skops`` (``pip install "skmtl[persist]"``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

__all__ = ["UntrustedTypesError", "load", "save", "trusted_types"]

# Types outside skmtl that skops does not trust by default but that :func:`load` allows: a fitted
# SimpleImputer keeps the dtype of its input (``_fit_dtype``), which skops rebuilds by calling
# ``numpy.dtype`` on a dtype string, a constructor that runs no user code.
EXTRA_TRUSTED = ("numpy.dtype",)


class UntrustedTypesError(ValueError):
    """The file holds types outside the allow-list; they are listed in ``types``."""

    def __init__(self, types):
        self.types = list(types)
        super().__init__(
            f"Refusing to load: the file holds {len(self.types)} type(s) that are neither skmtl's "
            f"nor trusted by skops by default: {self.types}. If you made this file and trust it, "
            "pass them as load(file, trusted=[...])."
        )


def _skops():
    try:
        import skops.io as sio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skmtl.io needs skops: pip install 'skmtl[persist]' (or pip install skops)."
        ) from exc
    return sio


def trusted_types() -> list[str]:
    """Fully qualified names of the classes defined in skmtl (the ones :func:`load` allows).

    Subpackages that cannot be imported (torch missing) are skipped. The skorch net
    (``MultiTaskNet``) is left out: its own state is a pickled blob.
    """
    import skmtl

    names = set()
    for info in pkgutil.walk_packages(skmtl.__path__, prefix="skmtl."):
        if info.name.startswith("skmtl.__main__") or info.name.endswith("_cli"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == info.name and not _unpickles_state(obj):
                names.add(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(names)


def _unpickles_state(cls) -> bool:
    """True for skorch nets (``MultiTaskNet``): their state holds a pickled blob that their
    ``__setstate__`` unpickles, out of skops' sight; they are saved through the
    ``MultiTaskEstimator`` that holds them, whose state is plain arrays."""
    return any(
        base.__module__.startswith("skorch.") and base.__name__ == "NeuralNet"
        for base in cls.__mro__
    )


def save(estimator, file) -> None:
    """Save ``estimator`` to ``file`` (a path or a binary file object) in skops' format.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skmtl.linear import SparseRegressor
    >>> from skmtl.io import load, save
    >>> X = np.random.default_rng(0).normal(size=(20, 3)); Y = X[:, :2]
    >>> model = SparseRegressor(alpha=0.01).fit(X, Y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> save(model, path)
    >>> np.allclose(load(path).predict(X), model.predict(X))
    True
    """
    _skops().dump(estimator, file)


def load(file, *, trusted=None):
    """Load an estimator saved by :func:`save`, refusing unknown types.

    Parameters
    ----------
    file : str, path or binary file object
    trusted : list of str, default=None
        Extra fully qualified type names to allow, beyond skmtl's classes and skops' defaults.

    Raises
    ------
    UntrustedTypesError
        When the file holds any other type; nothing is constructed in that case.
    """
    sio = _skops()
    if hasattr(file, "read"):
        data = file.read()
        untrusted = sio.get_untrusted_types(data=data)
    else:
        data = None
        untrusted = sio.get_untrusted_types(file=file)
    allowed = set(trusted_types()) | set(EXTRA_TRUSTED) | set(trusted or [])
    refused = [t for t in untrusted if t not in allowed]
    if refused:
        raise UntrustedTypesError(refused)
    if data is not None:
        return sio.loads(data, trusted=untrusted)
    return sio.load(file, trusted=untrusted)
