"""Package-level contracts: the README quickstart runs, imports stay light, data are intact."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quickstart_runs(capsys):
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    exec(compile(code, "README quickstart", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    scores = np.array(out[0].strip("[]").split(), dtype=float)
    assert scores.shape == (3,) and np.all(scores > 0.2)
    assert out[1] == "(3, 8)"


def test_import_linear_does_not_import_torch():
    code = "import sys, skmtl, skmtl.linear, skmtl.datasets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_multitask_estimator_export():
    import skmtl

    assert "MultiTaskEstimator" in skmtl.__all__
    assert "MultiTaskEstimator" in dir(skmtl)


def test_load_school_matches_the_published_description():
    from skmtl.datasets import load_school

    data = load_school()
    assert data.data.shape == (15362, 28)
    counts = np.bincount(data.school)
    assert counts.size == 139 and counts.min() == 22 and counts.max() == 251
    assert data.target.min() == 1 and data.target.max() == 70
    assert abs(data.target.mean() - 20.6) < 0.05 and abs(data.target.std() - 12.7) < 0.05
    X = data.data[:, :27]
    # one-hot groups: year and gender exactly one per pupil, VR band and ethnic group at most one
    for cols in ([0, 1, 2], [5, 6]):
        assert np.all(X[:, cols].sum(axis=1) == 1)
    for cols in ([7, 8, 9], list(range(10, 21))):
        assert np.all(X[:, cols].sum(axis=1) <= 1)
    assert len(np.unique(X[:, 3])) == 65 and len(np.unique(X[:, 4])) == 37
    frame, target = load_school(as_frame=True, return_X_y=True)
    assert list(frame.columns) == data.feature_names and frame["school"].dtype.kind == "i"
    np.testing.assert_array_equal(target.to_numpy(), data.target)
