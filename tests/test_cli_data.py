"""``skmtl compare`` on CSV files: the pandas reader, the scikit-learn preprocessing, ``--save``."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from skmtl.compare import (
    bundled_problem,
    compare,
    fit_final,
    problem_from_columns,
    read_csv,
    read_frame,
)
from skmtl.compare._cli import main
from skmtl.compare._methods import (
    METHODS,
    CompareError,
    Method,
    PerTaskRidge,
    _independent,
    fitted_model,
    preprocessor,
)
from skmtl.multitask import PerTaskEstimator

FAST = ["--quick", "--repeats", "2", "--cv", "2", "--n-jobs", "1", "--quiet"]


def _write(path, text):
    path.write_text(text)
    return str(path)


# ----------------------------------------------------------------------------------------------
# Reading


def test_read_frame_missing_markers_stripping_and_types(tmp_path):
    path = _write(
        tmp_path / "d.csv",
        "x, kind ,flag,y\n"
        " 1.5 , a ,True,1\n"
        "NA,b ,False, nan\n"
        "n/a,NULL,True,None\n"
        "?, none ,False,NaN \n"
        ",,,\n"  # every cell missing: the row is dropped
        "4,A,True,2\n",
    )
    frame = read_frame(path)
    assert list(frame.columns) == ["x", "kind", "flag", "y"]
    assert frame["x"].dtype == np.float64 and frame["y"].dtype == np.float64
    np.testing.assert_array_equal(frame["x"].to_numpy(), [1.5, np.nan, np.nan, np.nan, 4.0])
    np.testing.assert_array_equal(frame["y"].to_numpy(), [1.0, np.nan, np.nan, np.nan, 2.0])
    assert frame["kind"].tolist() == ["a", "b", None, None, "A"]  # case kept, cells stripped
    assert frame["flag"].tolist() == ["True", "False", "True", "False", "True"]  # strings
    cols = read_csv(path)
    assert cols["kind"].dtype == object and cols["x"].dtype == np.float64


@pytest.mark.parametrize(
    "text, message",
    [
        ("x,a,x\n1,2,3\n", "column 'x' appears twice in the header"),
        (" x ,a,x\n1,2,3\n", "column 'x' appears twice in the header"),
        ("x,a,b\n1,2,3\n4,5\n", "line 3 has 2 fields, the header 3"),
        ("x,a,b\n1,2,3\n4,5,6,7\n", "line 3 has 4 fields, the header 3"),
        ("x,a,b\n", "no data rows after the header"),
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ('"unclosed\n1,2\n', "cannot read"),
    ],
)
def test_read_frame_errors_are_one_line(tmp_path, text, message):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(CompareError, match=message) as info:
        read_frame(path)
    assert "\n" not in str(info.value)


def test_read_frame_quoted_commas_are_not_ragged_rows(tmp_path):
    path = _write(tmp_path / "q.csv", 'name,x\n"a,b",1\n"c",2\n')
    frame = read_frame(path)
    assert frame["name"].tolist() == ["a,b", "c"] and frame["x"].tolist() == [1.0, 2.0]


def test_a_short_row_is_found_when_a_quoted_comma_balances_the_comma_count(tmp_path):
    # one quoted comma too many, one field too few: the file holds as many commas as a tidy one
    path = _write(tmp_path / "q.csv", 'name,x,y\n"a,b",1,2\nc,3\nd,4,5\n')
    with pytest.raises(CompareError, match="line 3 has 2 fields, the header 3"):
        read_frame(path)


def test_a_column_of_numbers_then_text_is_read_as_text_throughout(tmp_path):
    # long enough for pandas to parse it in pieces: the first pieces alone look numeric
    n = 400_000
    body = "".join(f"{i % 7},0{i % 5}\n" for i in range(n - 1)) + "1,x\n"
    path = _write(tmp_path / "m.csv", "a,code\n" + body)
    frame = read_frame(path)
    assert frame["a"].dtype == np.float64 and frame["code"].dtype == object
    assert frame["code"].iloc[:5].tolist() == ["00", "01", "02", "03", "04"]  # zeros kept
    assert frame["code"].iloc[-1] == "x" and len(frame) == n


def test_non_numeric_regression_target_is_a_one_line_error(tmp_path, capsys):
    rows = "\n".join(f"{i},{i % 3},{'low' if i % 2 else 'high'}" for i in range(20))
    path = _write(tmp_path / "t.csv", "x,a,b\n" + rows + "\n")
    code = main(["compare", path, "--targets", "a", "b", "--regression", "b", *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "target 'b' holds the non-numeric value" in err[0]


# ----------------------------------------------------------------------------------------------
# Preprocessing


def test_preprocessor_matches_a_numpy_reference():
    rng = np.random.RandomState(0)
    n = 30
    x = rng.randn(n) * 3 + 1
    x[[2, 7]] = np.nan
    colour = rng.choice(["red", "blue", "green"], size=n).astype(object)
    colour[[4, 5]] = None
    frame = pd.DataFrame({"x": x, "colour": colour, "task": rng.choice(["s", "t"], size=n)})
    prep = preprocessor(["x"], ["colour"], "task").fit(frame)
    out = prep.transform(frame)
    # reference: mean imputation and standardisation by hand, indicators of the sorted levels
    # then of the missing value, not scaled; the task column last
    filled = np.where(np.isnan(x), np.nanmean(x), x)
    ref_x = (filled - filled.mean()) / filled.std()
    levels = ["blue", "green", "red"]
    ref_cat = np.column_stack([[v == level for v in colour] for level in levels])
    ref_missing = np.array([v is None for v in colour])
    np.testing.assert_allclose(out[:, 0].astype(float), ref_x)
    np.testing.assert_array_equal(out[:, 1:4].astype(float), ref_cat)
    np.testing.assert_array_equal(out[:, 4].astype(float), ref_missing)
    np.testing.assert_array_equal(out[:, 5], frame["task"].to_numpy())
    # an unseen level, and extra columns (a target), are ignored
    new = pd.DataFrame({"y": [1.0], "task": ["s"], "colour": ["purple"], "x": [1.0]})
    np.testing.assert_array_equal(prep.transform(new)[0, 1:5].astype(float), [0, 0, 0, 0])


def test_method_pipelines_start_with_the_column_transformer(tmp_path):
    problem = bundled_problem("school")
    from skmtl.compare._protocol import _parts

    (part,) = _parts(METHODS["independent"], problem, True, 3, 0)
    pipe = part.estimator.estimator  # the GridSearchCV's pipeline
    assert isinstance(pipe, Pipeline) and isinstance(pipe.steps[0][1], ColumnTransformer)


def test_per_task_ridge_equals_per_task_estimator_of_ridge():
    rng = np.random.RandomState(3)
    X = rng.randn(60, 4)
    tasks = rng.choice(["a", "b", "c"], size=60).astype(object)
    y = X @ rng.randn(4) + (tasks == "b") + 0.1 * rng.randn(60)
    Xl = np.column_stack([X, tasks]).astype(object)
    fast = PerTaskRidge(alpha=2.0, task_column=-1).fit(Xl, y)
    ref = PerTaskEstimator(Ridge(alpha=2.0), task_column=-1).fit(Xl, y)
    np.testing.assert_allclose(fast.predict(Xl), ref.predict(Xl), atol=1e-10)
    Y = np.column_stack([y, np.where(rng.rand(60) < 0.3, np.nan, -y)])
    fast = PerTaskRidge(alpha=0.5).fit(X, Y)
    ref = PerTaskEstimator(Ridge(alpha=0.5)).fit(X, Y)
    np.testing.assert_allclose(fast.predict(X), ref.predict(X), atol=1e-10)


# ----------------------------------------------------------------------------------------------
# --save


@pytest.fixture
def mixed_csv(tmp_path):
    """60 rows: numeric x0..x2 (some missing), a category; regression a, b; classes c."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    colour = rng.choice(["red", "blue"], size=60)
    a = X @ [1.0, -0.5, 0.2] + (colour == "red") + 0.1 * rng.randn(60)
    b = X @ [0.8, -0.3, 0.0] + 0.1 * rng.randn(60)
    c = np.where(X[:, 0] + 0.3 * rng.randn(60) > 0, "yes", "no")
    lines = ["x0,x1,x2,colour,a,b,c"]
    for i in range(60):
        cells = [f"{v:.4f}" for v in X[i]] + [colour[i], f"{a[i]:.4f}", f"{b[i]:.4f}", c[i]]
        if i % 11 == 3:
            cells[1] = "NA"
        if i % 13 == 5:
            cells[5] = ""  # b missing
        lines.append(",".join(cells))
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    new = tmp_path / "new.csv"  # the feature columns only, a level never seen, a missing x1
    new.write_text("colour,x2,x1,x0\nred,0.1,0.2,0.3\npurple,-1,NA,2\nblue,0,0,0\n")
    return str(path), str(new)


def _reference_features(train, new):
    """The compare preprocessing written with numpy: mean-imputed, standardised numeric
    columns of the training rows, then the 0/1 indicators of the sorted training levels."""
    num = ["x0", "x1", "x2"]
    Xtr = train[num].to_numpy(float)
    mean = np.nanmean(Xtr, axis=0)
    filled = np.where(np.isnan(Xtr), mean, Xtr)
    centre, scale = filled.mean(axis=0), filled.std(axis=0)

    def features(frame):
        X = frame[num].to_numpy(float)
        X = (np.where(np.isnan(X), mean, X) - centre) / scale
        levels = sorted(set(train["colour"]))
        onehot = np.column_stack([(frame["colour"] == lv).to_numpy(float) for lv in levels])
        return np.column_stack([X, onehot])

    return features(train), features(new)


def test_save_refits_on_all_rows_and_the_loaded_pipeline_predicts_a_new_csv(
    mixed_csv, tmp_path, capsys
):
    pytest.importorskip("skops")
    from skmtl import io

    path, new = mixed_csv
    out_model = tmp_path / "model.skops"
    argv = ["compare", path, "--targets", "a", "b", "c", "--methods", "independent"]
    code = main([*argv, "--save", str(out_model), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("saved 'independent"))
    assert "refit on all 60 rows" in lines[at]
    load_line, predict_line = lines[at + 1].strip(), lines[at + 2].strip()
    assert load_line == (
        f'import skmtl.compare, skmtl.io; model = skmtl.io.load("{out_model}")'
    )
    assert predict_line == 'pred = model.predict(skmtl.compare.read_frame("new.csv"))'
    assert lines[at + 3] == "pred has one column per task: a, b, c."

    model = io.load(str(out_model))
    assert not hasattr(model, "best_estimator_")  # the fitted estimator, not a search
    pred = model.predict(read_frame(new))
    assert pred.shape == (3, 3)

    # reference: per task, scikit-learn's Ridge / LogisticRegression at the chosen
    # hyperparameters on the hand-made features, fitted on every labelled row
    alpha = model.estimators_[0].named_steps["model"].estimator_.alpha
    C = model.estimators_[1].named_steps["model"].estimator.C
    train = read_frame(path)
    Ftr, Fnew = _reference_features(train, read_frame(new))
    for j, task in enumerate(["a", "b"]):
        keep = train[task].notna().to_numpy()
        ref = Ridge(alpha=alpha).fit(Ftr[keep], train[task].to_numpy()[keep])
        np.testing.assert_allclose(pred[:, j].astype(float), ref.predict(Fnew), rtol=1e-8)
    clf = LogisticRegression(C=C, max_iter=500).fit(Ftr, train["c"].to_numpy())
    assert pred[:, 2].tolist() == clf.predict(Fnew).tolist()


def _school_csv(path, schools, slopes, n_per_school, seed):
    """A long-layout CSV ``x0,x1,school,y`` with ``y = slope * x0 + noise`` in each school."""
    rng = np.random.RandomState(seed)
    lines = ["x0,x1,school,y"]
    for s, slope in zip(schools, slopes):
        for _ in range(n_per_school):
            x = rng.randn(2)
            lines.append(f"{x[0]:.4f},{x[1]:.4f},{s},{slope * x[0] + 0.1 * rng.randn():.4f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_save_method_long_layout_and_an_unseen_task(tmp_path, capsys):
    pytest.importorskip("skops")
    from skmtl import io

    path = _school_csv(tmp_path / "long.csv", ["north", "south", "east"], [1.0, 1.2, 0.8], 20, 1)
    out_model = tmp_path / "m.skops"
    argv = ["compare", str(path), "--target", "y", "--task-column", "school"]
    argv += ["--methods", "independent", "pooled", "--save-method", "mean_regularized"]
    code = main([*argv, "--save", str(out_model), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "saved 'mean-regularised MTL' refit on all 60 rows" in out
    assert "new.csv needs the task column 'school'" in out

    model = io.load(str(out_model))
    new = pd.DataFrame({"school": ["south", "north"], "x1": [0.0, 0.0], "x0": [1.0, 1.0]})
    pred = model.predict(new)
    assert pred.shape == (2,) and pred[0] > pred[1]  # south's slope is the steeper
    inner = fitted_model(model)
    if "unknown_task" in inner.get_params():  # the linear estimators that take it
        assert inner.unknown_task == "mean"
        assert "not seen in fit is predicted by the model the tasks share" in out
        assert np.isfinite(model.predict(new.assign(school=["west", "north"]))).all()
    else:
        assert "not seen in fit raises a ValueError naming the task" in out
        with pytest.raises(ValueError, match="west"):
            model.predict(new.assign(school=["west", "north"]))


def _long_problem(n_per_task=20, seed=1):
    rng = np.random.RandomState(seed)
    rows = []
    for s, slope in zip(["north", "south", "east"], [1.0, 1.2, 0.8]):
        for _ in range(n_per_task):
            x = rng.randn(2)
            rows.append([x[0], x[1], s, slope * x[0] + 0.1 * rng.randn()])
    columns = {
        "x0": np.array([r[0] for r in rows]),
        "x1": np.array([r[1] for r in rows]),
        "school": np.array([r[2] for r in rows], dtype=object),
        "y": np.array([r[3] for r in rows]),
    }
    return problem_from_columns(columns, target="y", task_column="school")


def test_neural_long_layout_is_multitask_estimator_with_task_column():
    pytest.importorskip("skorch")
    from skmtl.compare._protocol import _parts
    from skmtl.neural import MultiTaskEstimator

    problem = _long_problem()
    (part,) = _parts(METHODS["neural"], problem, False, 3, 0)
    assert part.estimator.param_grid == {"model__coupling": [0.3, 1.0, 3.0]}
    quick = _parts(METHODS["neural"], problem, True, 3, 0)[0].estimator
    assert isinstance(quick, Pipeline) and quick.named_steps["model"].coupling == 1.0
    quick.set_params(model__coupling=0.5).fit(problem.X, problem.y)
    net = quick.named_steps["model"].model_
    assert isinstance(net, MultiTaskEstimator)
    assert (net.task_column, net.coupling, net.tasks_) == (-1, 0.5, ["east", "north", "south"])
    # the same network fitted by hand on the preprocessed rows (task labels last): the adapter
    # adds only the training budget and the torch threads
    F = quick.named_steps["prep"].transform(problem.X)
    ref = MultiTaskEstimator(**net.get_params()).fit(F, problem.y.astype(float))
    np.testing.assert_allclose(quick.predict(problem.X), ref.predict(F), rtol=1e-6)


def test_saved_neural_long_model_predicts_a_new_task_with_the_shared_head():
    pytest.importorskip("skorch")
    import torch

    from skmtl.compare._protocol import _parts

    problem = _long_problem()
    model, params = fit_final(problem, "neural", quick=True)
    net = fitted_model(model).model_
    assert net.unknown_task == "mean" and params == {}
    new = pd.DataFrame({"x0": [1.0, -0.5], "x1": [0.0, 2.0], "school": ["west", "west"]})
    # reference: the trunk and the shared head, the target's standardisation undone
    F = model.named_steps["prep"].transform(new)[:, :-1].astype(np.float32)
    module = net.module_.eval()
    with torch.no_grad():
        out = module.shared(module.trunk(torch.from_numpy(F))).numpy()[:, 0]
    mean, std = net.target_scale_[0]
    np.testing.assert_allclose(model.predict(new), out * std + mean, rtol=1e-5)
    seen = model.predict(new.assign(school=["south", "north"]))
    assert not np.allclose(seen, model.predict(new))  # a seen task keeps its own deviation
    # the comparison itself keeps unknown_task="error"
    (part,) = _parts(METHODS["neural"], problem, True, 3, 0)
    assert part.estimator.named_steps["model"].unknown_task == "error"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--save-method", "independent"], "--save-method needs --save"),
        (["--save", "/no/such/dir/m.skops"], "does not exist"),
        (["--save", "{tmp}/m.skops", "--save-method", "magic"], "unknown method 'magic'"),
    ],
)
def test_save_option_errors(mixed_csv, tmp_path, capsys, extra, message):
    path, _ = mixed_csv
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    code = main(["compare", path, "--targets", "a", "b", *extra, *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]


# ----------------------------------------------------------------------------------------------
# A method is one entry


def test_a_new_method_is_one_entry_with_its_details(monkeypatch, tmp_path):
    def per_task_sizes(model, tasks):  # the fitted model past the search and the adapters
        kind = type(model).__name__
        return {"tasks": list(tasks), "model": kind}

    entry = Method(
        "ridge_details",
        "per-task ridge (details)",
        _independent,
        description="a test entry",
        details=per_task_sizes,
    )
    monkeypatch.setitem(METHODS, entry.key, entry)
    problem = bundled_problem("penguins")
    result = compare(problem, methods=["ridge_details"], repeats=1, quick=True, n_jobs=1)
    doc = result.to_dict()
    (method,) = doc["methods"]
    assert method["status"] == "ok"
    (run,) = method["runs"]
    assert run["details"] == {
        "reg:tasks": ["body_mass"],
        "reg:model": "PerTaskRidge",
        "clf:tasks": ["species", "sex"],
        "clf:model": "PerTaskEstimator",
    }
    json.dumps(doc)
    from skmtl.compare import format_table

    table = format_table(result)
    assert "per-task ridge (details), learned on split 1: clf:tasks = ['species', 'sex']" in table


def test_clustered_method_reports_its_task_clusters(tmp_path, capsys):
    # six schools: three where y rises with x0, three where it falls (which clusters the
    # estimator finds is its own tests' business; here: they are reported, per split)
    slopes = [1.0, 1.1, 0.9, -1.0, -1.1, -0.9]
    path = _school_csv(tmp_path / "groups.csv", "abcdef", slopes, 24, 0)
    out_json = tmp_path / "r.json"
    argv = ["compare", str(path), "--target", "y", "--task-column", "school"]
    code = main([*argv, "--methods", "clustered", "task_relation", "--json", str(out_json), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    clustered, relation = doc["methods"]
    assert clustered["status"] == relation["status"] == "ok"
    for run in clustered["runs"]:
        groups = run["details"]["clusters"]
        assert sorted(t for g in groups for t in g) == list("abcdef")  # a partition
        assert len(groups) == run["params"]["n_clusters"]  # the chosen number of clusters
    first = clustered["runs"][0]["details"]["clusters"]
    sizes = ", ".join(str(len(g)) for g in first)
    assert f"clustered MTL, learned on split 1: clusters = {len(first)} group" in out
    assert f"({sizes} tasks): " in out


class _RidgeTakingUnknownTask(PerTaskRidge):
    """PerTaskRidge with an ``unknown_task`` parameter (stored only), as a linear estimator."""

    def __init__(self, alpha=1.0, task_column=None, unknown_task="error"):
        super().__init__(alpha=alpha, task_column=task_column)
        self.unknown_task = unknown_task


def test_fit_final_sets_unknown_task_mean_through_the_search_and_the_adapters(monkeypatch):
    from skmtl.compare._methods import ScaledTargets, _search

    def build(spec):
        model = ScaledTargets(_RidgeTakingUnknownTask(task_column=-1))
        return _search(spec, model, {"estimator__alpha": [1.0, 30.0]})

    monkeypatch.setitem(METHODS, "ridge_unknown", Method("ridge_unknown", "ridge (u)", build))
    problem = _long_problem()
    model, params = fit_final(problem, "ridge_unknown", quick=True)
    assert fitted_model(model).unknown_task == "mean" and set(params) == {"alpha"}
    from skmtl.compare._protocol import _parts

    (part,) = _parts(METHODS["ridge_unknown"], problem, True, 3, 0)
    est = part.estimator.fit(problem.X, problem.y)  # the comparison's search: unchanged
    assert fitted_model(est).unknown_task == "error"
