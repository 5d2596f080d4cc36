"""The device="cuda" path; skipped where no GPU is available."""

import pickle

import numpy as np
import pytest
import torch

from skmtl.neural import MultiTaskEstimator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_cuda_fit_predict_matches_cpu_and_pickles(mixed_data):
    X, y = mixed_data
    params = dict(hidden_units=(16,), lr=0.01, max_epochs=10, random_state=0, train_split=0.2)
    gpu = MultiTaskEstimator(device="cuda", **params).fit(X, y)
    assert next(gpu.module_.parameters()).is_cuda
    cpu = MultiTaskEstimator(**params).fit(X, y)
    pg, pc = gpu.predict(X), cpu.predict(X)
    # Different kernels round differently: the fits agree closely, not bit for bit.
    np.testing.assert_allclose(pg["mass"], pc["mass"], rtol=1e-2, atol=1e-2)
    assert np.mean(pg["species"] == pc["species"]) > 0.95
    assert np.isfinite(gpu.history_[:, "valid_loss_sex"]).all()
    again = pickle.loads(pickle.dumps(gpu))
    np.testing.assert_array_equal(again.predict(X)["mass"], pg["mass"])
    twice = MultiTaskEstimator(device="cuda", **params).fit(X, y)
    np.testing.assert_allclose(twice.predict(X)["mass"], pg["mass"], rtol=1e-5, atol=1e-6)
