"""
=======================================================================
Dirty model: the shared and the task-specific support of DirtyRegressor
=======================================================================

The L2,1 penalty of :class:`skmtl.linear.SparseRegressor` keeps or drops a feature for all
tasks at once. Real tasks often share most of their features but each use a few of their own;
forcing those into the shared support makes every task pay for them. The dirty model
(Jalali et al. 2010) splits the coefficients into a shared part and a task-specific part,

.. math:: \\min_{W = P + Q,\\, b} \\; f(W, b) + \\alpha \\|P\\|_{2,1} + \\beta \\|Q\\|_1,

so that a feature is shared (a whole row of ``P``) or an exception of one task (an entry of
``Q``). Here 6 tasks share 4 features, and 5 more features are each used by one task only.
"""

# %%
# Data: a shared support and a few task-specific features
# -------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skmtl.linear import DirtyRegressor, SparseRegressor

rng = np.random.default_rng(0)
n, p, T = 120, 20, 6
X = rng.normal(size=(n, p))
W = np.zeros((p, T))
W[:4] = 1.0 + 0.3 * rng.normal(size=(4, T))  # features 0-3: every task
for t, j in [(0, 8), (1, 11), (2, 13), (4, 16), (5, 18)]:  # one feature for one task
    W[j, t] = 1.5 * rng.choice([-1, 1])
Y = X @ W + 0.3 * rng.normal(size=(n, T))
X_test = rng.normal(size=(1000, p))
Y_test = X_test @ W + 0.3 * rng.normal(size=(1000, T))

# %%
# Fits
# ----
# ``beta`` between ``alpha / sqrt(T)`` and ``alpha`` is the range where both parts are used
# (at ``beta >= alpha`` the model is exactly the L2,1 one, at ``beta <= alpha / sqrt(T)`` an
# independent lasso per task). For the comparison the L2,1 model gets the same ``alpha``.
dirty = DirtyRegressor(alpha=0.3, beta=0.21).fit(X, Y)
sparse = SparseRegressor(alpha=0.3).fit(X, Y)

shared = np.flatnonzero(np.any(dirty.shared_coef_ != 0, axis=0))
specific = [tuple(int(v) for v in x) for x in np.argwhere(dirty.specific_coef_ != 0)]
print("shared features:", shared.tolist())
print("(task, feature) exceptions:", specific)
print("features kept by the L2,1 model:",
      np.flatnonzero(np.any(sparse.coef_ != 0, axis=0)).tolist())
for name, model in [("dirty", dirty), ("L2,1", sparse)]:
    print(f"{name} test MSE: {np.mean((model.predict(X_test) - Y_test) ** 2):.3f}")

# %%
# The supports
# ------------
# Left to right: the truth, the L2,1 model (every selected feature is used by every task), and
# the two parts of the dirty model. The dirty model puts features 0-3 in ``P`` and each
# exception in ``Q``, for its own task only.
panels = [
    ("truth", W),
    ("SparseRegressor", sparse.coef_.T),
    ("dirty: shared P", dirty.shared_coef_.T),
    ("dirty: specific Q", dirty.specific_coef_.T),
]
vmax = np.abs(W).max()
fig, axes = plt.subplots(1, 4, figsize=(11, 4.2), sharey=True, layout="constrained")
for ax, (title, M) in zip(axes, panels):
    im = ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto",
                   interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("task")
    ax.set_xticks(range(T))
axes[0].set_ylabel("feature")
fig.colorbar(im, ax=axes, shrink=0.8, label="coefficient")
plt.show()
