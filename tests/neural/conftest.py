"""Shared set-up of the neural tests."""

import numpy as np
import pytest
import torch

# Small networks on a shared 2-core CI machine: with the other core busy, two intra-op threads
# made training about 20x slower than one (see docs/neural.rst, "Threads").
torch.set_num_threads(1)


@pytest.fixture
def mixed_data():
    """200 samples, 4 features; a 3-class, a binary (some labels missing) and a regression task."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    species = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    sex = np.where(X[:, 1] > 0, "f", "m").astype(object)
    sex[rng.rand(200) < 0.2] = None
    mass = 2.0 * X[:, 2] - X[:, 3] + 0.1 * rng.normal(size=200)
    return X, {"species": species, "sex": sex, "mass": mass}
