"""The compiled inner loops: lazy import, the on-disk cache, one specialisation per kernel, and the
uncompiled fallback (the same source run by the interpreter) giving the same solutions."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import MultiTaskLasso

from skmtl.linear import SparseRegressor
from skmtl.linear._solvers import _bcd, _compiled

ROOT = Path(__file__).resolve().parents[2]

# Fits a p > n problem (data-form kernel) and an n > p one (Gram-form kernel); prints the solutions
# and which kernels ran compiled and from the cache.
FIT = r"""
import json, sys
import numpy as np
import skmtl.linear
after_import = "numba" in sys.modules
from skmtl.linear import SparseRegressor
from skmtl.linear._solvers import _bcd
rng = np.random.default_rng(0)
out = {"numba_after_import": after_import, "coefs": []}
for n, p in [(30, 80), (120, 10)]:
    X = rng.standard_normal((n, p))
    Y = X[:, :3] @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((n, 4))
    alpha = 0.05 * np.max(np.linalg.norm((X - X.mean(0)).T @ (Y - Y.mean(0)), axis=1)) / n
    est = SparseRegressor(alpha=alpha, tol=1e-12, max_iter=50_000).fit(X, Y)
    out["coefs"].append([est.coef_.tolist(), est.intercept_.tolist(), alpha])
out["numba_after_fit"] = "numba" in sys.modules
out["kernels"] = {}
for k in (_bcd._gram_epoch, _bcd._data_epoch):
    compiled = k.compiled is not None and k.compiled is not k.py_func
    info = {"compiled": compiled}
    if compiled:
        stats = k.compiled.stats
        info.update(hits=sum(stats.cache_hits.values()), misses=sum(stats.cache_misses.values()))
    out["kernels"][k.__name__] = info
print(json.dumps(out))
"""


def run_fit(**env):
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    res = subprocess.run(
        [sys.executable, "-c", FIT], cwd=ROOT, env=full_env, capture_output=True, text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_import_does_not_import_numba():
    code = "import sys, skmtl.linear; print('numba' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def compiled_runs(tmp_path_factory):
    pytest.importorskip("numba")
    cache = str(tmp_path_factory.mktemp("numba_cache"))
    cold = run_fit(NUMBA_CACHE_DIR=cache, SKMTL_DISABLE_JIT="0")
    files = [str(p.relative_to(cache)) for p in Path(cache).rglob("*") if p.is_file()]
    warm = run_fit(NUMBA_CACHE_DIR=cache, SKMTL_DISABLE_JIT="0")
    return cold, warm, files


def test_first_fit_imports_numba_and_compiles_each_kernel_once(compiled_runs):
    cold, _, files = compiled_runs
    assert not cold["numba_after_import"]
    assert cold["numba_after_fit"]
    for name, info in cold["kernels"].items():
        assert info["compiled"], name
        assert info["misses"] == 1 and info["hits"] == 0, (name, info)  # one specialisation
    # the compiled code was written to the cache folder: an index and one object per kernel
    for name in ("_gram_epoch", "_data_epoch"):
        assert sum(f.endswith(".nbi") and f"_bcd.{name}-" in f for f in files) == 1, files
        assert sum(f.endswith(".nbc") and f"_bcd.{name}-" in f for f in files) == 1, files


def test_second_process_loads_the_cache(compiled_runs):
    cold, warm, _ = compiled_runs
    for name, info in warm["kernels"].items():
        assert info["compiled"], name
        assert info["hits"] == 1 and info["misses"] == 0, (name, info)
    np.testing.assert_array_equal(
        np.array(warm["coefs"][0][0]), np.array(cold["coefs"][0][0])
    )


def test_uncompiled_fallback_is_the_same_solver(compiled_runs):
    # SKMTL_DISABLE_JIT runs the same kernels through the interpreter: numba is never imported,
    # and the solutions are those of the compiled kernels (same iterates up to rounding) and of
    # scikit-learn's MultiTaskLasso.
    cold, _, _ = compiled_runs
    fallback = run_fit(SKMTL_DISABLE_JIT="1")
    assert not fallback["numba_after_fit"]
    assert not any(info["compiled"] for info in fallback["kernels"].values())
    rng = np.random.default_rng(0)
    for (coef, intercept, alpha), (coef_c, intercept_c, _), (n, p) in zip(
        fallback["coefs"], cold["coefs"], [(30, 80), (120, 10)]
    ):
        X = rng.standard_normal((n, p))
        Y = X[:, :3] @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((n, 4))
        coef, coef_c = np.array(coef), np.array(coef_c)
        assert np.any(coef != 0)
        np.testing.assert_allclose(coef, coef_c, atol=1e-8 * np.abs(coef_c).max())
        np.testing.assert_allclose(intercept, intercept_c, atol=1e-8)
        ref = MultiTaskLasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, Y)
        np.testing.assert_allclose(coef, ref.coef_, atol=1e-4 * np.abs(ref.coef_).max())


def test_kernels_accept_only_their_signature():
    pytest.importorskip("numba")
    if not _compiled.jit_enabled():
        pytest.skip("compilation disabled in this environment")
    Q = np.eye(3)
    Gt, W = np.ones((2, 3)), np.zeros((3, 2))  # the gradient, transposed
    _bcd._gram_epoch(Q, Gt, W, 0.5)
    # group soft-thresholding with Q = I: W = -G (1 - alpha / ||G_j||)
    np.testing.assert_allclose(W, -np.ones((3, 2)) * (1 - 0.5 / np.sqrt(2)))
    with pytest.raises(TypeError):
        _bcd._gram_epoch(Q.astype(np.float32), Gt, W, 0.5)  # no float32 specialisation
    with pytest.raises(TypeError):
        _bcd._gram_epoch(np.asfortranarray(np.ones((3, 3))), Gt, W, 0.5)  # no F layout


def test_no_writable_cache_compiles_without_it(monkeypatch):
    # numba raises RuntimeError when it finds no writable cache folder; the kernel is then
    # compiled for this process only.
    calls = []

    class FakeNumba:
        @staticmethod
        def njit(signature, cache, **opts):
            calls.append(cache)
            if cache:
                raise RuntimeError("cannot cache function: no locator available")
            return lambda f: f

    monkeypatch.setattr(_compiled, "_get_numba", lambda: FakeNumba)

    def double(x):
        return 2 * x

    k = _compiled._Kernel(double, "float64(float64)")
    assert k(3.0) == 6.0
    assert calls == [True, False] and k.cached is False


def test_sparse_regressor_fits_float32_input():
    # the kernels have one float64 specialisation: float32 data is converted, not re-specialised
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 60)).astype(np.float32)
    Y = (X[:, :2] @ rng.standard_normal((2, 3))).astype(np.float32)
    a = SparseRegressor(alpha=0.05, tol=1e-10, max_iter=20_000).fit(X, Y)
    b = SparseRegressor(alpha=0.05, tol=1e-10, max_iter=20_000).fit(
        X.astype(float), Y.astype(float)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)
    if _compiled.jit_enabled():
        for k in (_bcd._gram_epoch, _bcd._data_epoch):
            if k.compiled is not None and k.compiled is not k.py_func:
                assert len(k.compiled.signatures) == 1
