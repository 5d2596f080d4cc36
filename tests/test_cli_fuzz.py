"""Generated small CSV files thrown at ``skmtl compare`` (in-process ``main(argv)``).

The contract: exit status 0, or 2 with a one-line message on stderr; never a traceback or an
exception out of ``main``.
"""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skmtl.compare._cli import main

# examples; SKMTL_FUZZ_EXAMPLES=2000 for a long local run (a third of it here: each runs compare)
N_EXAMPLES = max(int(os.environ.get("SKMTL_FUZZ_EXAMPLES", "60")) // 3, 5)

FAST = ["--quick", "--repeats", "1", "--cv", "2", "--n-jobs", "1", "--quiet"]

CELLS = ["", "NA", "nan", "?", "None", "inf", "-inf", "1e308", "x", "é", '"a,b"', "0", "1"]


@st.composite
def csv_files(draw):
    n_rows = draw(st.sampled_from([0, 1, 2, 3, 8, 16]))
    n_cols = draw(st.integers(1, 5))
    header = [f"c{j}" for j in range(n_cols)]
    if n_cols > 1 and draw(st.integers(0, 4)) == 0:
        header[1] = header[0]  # duplicated column name
    if draw(st.integers(0, 6)) == 0:
        header[0] = ""  # empty column name
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kinds = [draw(st.sampled_from(["float", "int", "label", "task", "odd"])) for _ in header]
    rows = []
    for _ in range(n_rows):
        row = []
        for kind in kinds:
            if kind == "float":
                value = f"{rng.normal():.3f}"
            elif kind == "int":
                value = str(int(rng.integers(0, 3)))
            elif kind == "label":
                value = str(rng.choice(["yes", "no"]))
            elif kind == "task":
                value = str(rng.choice(["north", "south"]))
            else:
                value = str(rng.choice(CELLS))
            if draw(st.integers(0, 9)) == 0:
                value = ""  # missing
            row.append(value)
        if draw(st.integers(0, 19)) == 0:
            row = row[:-1] if len(row) > 1 else row + ["extra"]  # ragged row
        rows.append(row)
    text = "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"
    if draw(st.integers(0, 19)) == 0:
        text = draw(st.sampled_from(["", "\n", "a,b\n1", "\x00\x01,\xff\n", '"unclosed\n1,2\n']))
    return text, header


@st.composite
def plausible(draw):
    """A file that names its targets right, with odd cells sprinkled in: reaches the fits."""
    long = draw(st.booleans())
    n = draw(st.sampled_from([4, 12, 24]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    odd = draw(st.sampled_from([0.0, 0.05, 0.2]))
    kinds = ["float", "float"] + (["task", "float"] if long else ["float", "label"])
    kinds[1] = draw(st.sampled_from(["float", "int", "label", "odd"]))
    if not long:
        kinds[3] = draw(st.sampled_from(["label", "int", "float", "odd"]))
    header = ["f0", "f1", "task", "y"] if long else ["f0", "f1", "t1", "t2"]
    rows = []
    for _ in range(n):
        row = []
        for kind in kinds:
            value = {
                "float": f"{rng.normal():.3f}",
                "int": str(int(rng.integers(0, 3))),
                "label": str(rng.choice(["yes", "no"])),
                "task": str(rng.choice(["north", "south"])),
                "odd": str(rng.choice(CELLS)),
            }[kind]
            if rng.random() < odd:
                value = str(rng.choice(CELLS))
            row.append(value)
        rows.append(row)
    text = "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"
    args = ["--target", "y", "--task-column", "task"] if long else ["--targets", "t1", "t2"]
    return text, args


@st.composite
def invocations(draw):
    method = draw(st.sampled_from(["independent", "pooled", "mean_regularized", "sparse"]))
    if draw(st.booleans()):
        text, args = draw(plausible())
        return text, args + ["--methods", method]
    text, header = draw(csv_files())
    names = header + ["nope"]
    layout = draw(st.sampled_from(["wide", "long", "none"]))
    args = []
    if layout == "wide":
        args = ["--targets", *draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))]
    elif layout == "long":
        args = ["--target", draw(st.sampled_from(names))]
        args += ["--task-column", draw(st.sampled_from(names))]
    if draw(st.integers(0, 3)) == 0:
        args += ["--features", *draw(st.lists(st.sampled_from(names), min_size=1, max_size=2))]
    if draw(st.integers(0, 4)) == 0:
        flag = draw(st.sampled_from(["--classification", "--regression"]))
        args += [flag, draw(st.sampled_from(names))]
    return text, args + ["--methods", method]


@settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(invocation=invocations())
def test_fuzzed_csv(tmp_path, capsys, invocation):
    text, args = invocation
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    capsys.readouterr()
    code = main(["compare", str(path), *args, *FAST])
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("skmtl compare: error: "), err
