"""``skmtl compare``: argument and data errors, both layouts, the JSON schema, the plot."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from skmtl.compare._cli import main
from skmtl.datasets import make_multitask_regression

FAST = ["--quick", "--repeats", "2", "--cv", "2", "--n-jobs", "1", "--quiet"]


def _write(path, header, rows):
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def wide_csv(tmp_path):
    """40 rows: features x0..x3 and a category; regression targets a, b (some missing), class c."""
    X, Y, _ = make_multitask_regression(40, 4, 2, missing_fraction=0.1, random_state=0)
    rng = np.random.RandomState(0)
    colour = rng.choice(["red", "blue"], size=40)
    label = np.where(X[:, 0] + 0.3 * rng.randn(40) > 0, "yes", "no")
    rows = [
        [
            *np.round(X[i], 4),
            colour[i],
            None if np.isnan(Y[i, 0]) else round(Y[i, 0], 4),
            None if np.isnan(Y[i, 1]) else round(Y[i, 1], 4),
            label[i],
        ]
        for i in range(40)
    ]
    return _write(tmp_path / "wide.csv", ["x0", "x1", "x2", "x3", "colour", "a", "b", "c"], rows)


@pytest.fixture
def long_csv(tmp_path):
    """3 schools x 16 pupils; y depends on x with a school-specific slope."""
    rng = np.random.RandomState(1)
    rows = []
    for s, slope in zip(["north", "south", "east"], [1.0, 1.2, 0.8]):
        for _ in range(16):
            x = rng.randn(2)
            rows.append(
                [round(x[0], 4), round(x[1], 4), s, round(slope * x[0] + 0.1 * rng.randn(), 4)]
            )
    return _write(tmp_path / "long.csv", ["x0", "x1", "school", "y"], rows)


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _check_schema(doc, *, layout, n_tasks, methods):
    assert set(doc) == {"skmtl_version", "data", "protocol", "methods", "wall_time"}
    data = doc["data"]
    assert data["layout"] == layout and len(data["tasks"]) == n_tasks
    assert set(data) == {
        "name",
        "layout",
        "n_samples",
        "n_features",
        "tasks",
        "task_types",
        "target",
        "task_column",
    }
    assert set(data["task_types"].values()) <= {"classification", "regression"}
    protocol = doc["protocol"]
    assert {
        "repeats",
        "test_size",
        "cv",
        "random_state",
        "quick",
        "n_jobs",
        "task_metric",
        "score",
    } == set(protocol)
    assert set(protocol["task_metric"]) == set(data["tasks"])
    assert [m["key"] for m in doc["methods"]] == methods
    for m in doc["methods"]:
        assert m["status"] in {"ok", "partial", "skipped", "failed"}
        assert len(m["runs"]) == protocol["repeats"]
        if m["status"] in {"ok", "partial"}:
            assert -1 <= m["score_mean"] <= 1 and m["score_std"] >= 0 and m["fit_time_mean"] > 0
            assert len(m["task_scores_mean"]) == n_tasks == len(m["task_scores_std"])
            for run in m["runs"]:
                assert {
                    "seed",
                    "status",
                    "reason",
                    "score",
                    "task_scores",
                    "fit_time",
                    "params",
                } == set(run)
        else:
            assert isinstance(m["reason"], str) and m["reason"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "nope.csv", "--targets", "a", "b"], "cannot read 'nope.csv': no such file"),
        (["compare", "{wide}", "--targets", "a", "zz"], "unknown column 'zz'"),
        (["compare", "{wide}", "--targets", "a"], "single task"),
        (["compare", "{wide}", "--target", "a"], "--target needs --task-column"),
        (["compare", "{wide}"], "name the targets"),
        (["compare", "{const}", "--targets", "a", "b"], "target 'b' has a single class (7)"),
        (["compare", "{long}", "--target", "y", "--task-column", "one"], "holds a single task"),
        (["compare", "{ragged}", "--targets", "a", "b"], "line 3 has 2 fields, the header 3"),
        (["compare", "{wide}", "--targets", "a", "b", "--methods", "magic"], "unknown method"),
        (
            ["compare", "{wide}", "--targets", "a", "b", "--json", "/no/such/dir/o.json"],
            "does not exist",
        ),
        (["compare", "penguins", "--targets", "a"], "applies to a CSV file"),
        (["compare", "--repeats", "0"], "must be at least 1"),
        (["compare", "--no-such-option"], "unrecognized arguments"),
    ],
)
def test_errors_exit_2_with_one_line(argv, message, wide_csv, long_csv, tmp_path, capsys):
    const = _write(tmp_path / "const.csv", ["x", "a", "b"], [[i, i % 3, 7] for i in range(20)])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("x,a,b\n1,2,3\n4,5\n")
    longer = _write(tmp_path / "one.csv", ["x", "one", "y"], [[i, "s", i * 0.5] for i in range(20)])
    paths = {"{wide}": wide_csv, "{long}": longer, "{const}": const, "{ragged}": str(ragged)}
    argv = [paths.get(a, a) for a in argv]
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_wide_layout_json_and_plot(wide_csv, tmp_path, capsys):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    methods = ["independent", "pooled", "multitask_lasso", "sparse"]
    code, out, err = _run(
        [
            "compare",
            wide_csv,
            "--targets",
            "a",
            "b",
            "c",
            "--methods",
            ",".join(methods),
            "--json",
            str(out_json),
            "--plot",
            str(out_png),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    assert "3 tasks (1 classification, 2 regression; wide layout)" in out
    assert "pooled (one model)       skipped: needs the long layout" in out
    assert "MultiTaskLasso           skipped: regression tasks only" in out
    assert "per task" in out and "sparse MTL (L2,1)" in out
    doc = json.loads(out_json.read_text())
    _check_schema(doc, layout="wide", n_tasks=3, methods=methods)
    assert doc["data"]["task_types"] == {
        "a": "regression",
        "b": "regression",
        "c": "classification",
    }
    # four numeric columns and the categorical colour (one-hot encoded by the pipelines)
    assert doc["data"]["n_features"] == 5
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wide_regression_only_runs_multitask_lasso(wide_csv, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    code, out, err = _run(
        [
            "compare",
            wide_csv,
            "--targets",
            "a",
            "b",
            "--features",
            "x0",
            "x1",
            "x2",
            "x3",
            "--methods",
            "multitask_lasso",
            "mean_regularized",
            "--json",
            str(out_json),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert [m["status"] for m in doc["methods"]] == ["ok", "ok"]
    assert doc["methods"][0]["score_mean"] > 0.5  # the targets are linear in x


def test_long_layout(long_csv, tmp_path, capsys):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    methods = ["independent", "pooled", "mean_regularized", "low_rank", "neural"]
    code, out, err = _run(
        [
            "compare",
            long_csv,
            "--target",
            "y",
            "--task-column",
            "school",
            "--methods",
            *methods,
            "--json",
            str(out_json),
            "--plot",
            str(out_png),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    assert "3 tasks (regression; long layout, target 'y', task column 'school')" in out
    doc = json.loads(out_json.read_text())
    _check_schema(doc, layout="long", n_tasks=3, methods=methods)
    assert doc["data"]["tasks"] == ["east", "north", "south"]
    assert all(m["status"] == "ok" and m["score_mean"] > 0.8 for m in doc["methods"])
    assert os.path.getsize(out_png) > 1000


def test_neural_on_mixed_wide_data(wide_csv, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    code, out, err = _run(
        [
            "compare",
            wide_csv,
            "--targets",
            "a",
            "c",
            "--methods",
            "neural",
            "--json",
            str(out_json),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    (method,) = json.loads(out_json.read_text())["methods"]
    assert method["status"] == "ok" and method["name"] == "MultiTaskEstimator"


def test_task_types_inferred_and_overridden(tmp_path, capsys):
    rng = np.random.RandomState(0)
    x = rng.randn(30, 2)
    rows = [
        [*np.round(x[i], 3), int(x[i, 0] > 0) + int(x[i, 1] > 0), round(x[i].sum(), 3)]
        for i in range(30)
    ]
    path = _write(tmp_path / "t.csv", ["x0", "x1", "level", "total"], rows)
    out_json = tmp_path / "r.json"
    args = [
        "compare",
        path,
        "--targets",
        "level",
        "total",
        "--features",
        "x0",
        "x1",
        "--methods",
        "independent",
        "--json",
        str(out_json),
        *FAST,
    ]
    assert _run(args, capsys)[0] == 0
    types = json.loads(out_json.read_text())["data"]["task_types"]
    assert types == {"level": "classification", "total": "regression"}  # 3 integer values
    assert _run([*args, "--regression", "level"], capsys)[0] == 0
    types = json.loads(out_json.read_text())["data"]["task_types"]
    assert types == {"level": "regression", "total": "regression"}


def test_python_m_skmtl_quick_school_without_torch(tmp_path):
    # a stub that fails on import proves that the linear methods never import torch
    (tmp_path / "torch.py").write_text("raise ImportError('torch must not be imported')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    out_json = tmp_path / "school.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "skmtl",
            "compare",
            "--quick",
            "--methods",
            "independent",
            "pooled",
            "mean_regularized",
            "--n-jobs",
            "1",
            "--quiet",
            "--json",
            str(out_json),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "school: 15362 samples, 27 features, 139 tasks" in proc.stdout
    doc = json.loads(out_json.read_text())
    scores = {m["key"]: m["score_mean"] for m in doc["methods"]}
    # the school protocol's reference values: ridge ~33-34 %, mean-regularised ~37 %
    assert 0.30 < scores["independent"] < 0.37 and 0.30 < scores["pooled"] < 0.37
    assert scores["mean_regularized"] > max(scores["independent"], scores["pooled"])


def test_infinite_feature_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "inf.csv"
    path.write_text("a,b,y1,y2\n1,2,3,4\ninf,2,3,5\n2,3,4,6\n3,1,2,1\n4,2,1,3\n5,3,2,1\n")
    assert main(["compare", str(path), "--targets", "y1", "y2", "--quick", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "feature column 'a'" in err[0]


def test_the_command_fixes_glibcs_mmap_threshold_where_there_is_glibc():
    import os

    from skmtl.compare._cli import _fixed_mmap_threshold

    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        glibc = False
    assert _fixed_mmap_threshold() is glibc
