"""
===========================================================
Joint feature selection: SparseRegressor and MultiTaskLasso
===========================================================

:class:`skmtl.linear.SparseRegressor` minimises, for one design ``X`` shared by all tasks and
no missing label, exactly the objective of :class:`sklearn.linear_model.MultiTaskLasso`,

.. math:: \\frac{1}{2n} \\|Y - XW - b\\|_F^2 + \\alpha \\|W\\|_{2,1},

so for the same ``alpha`` both select the same features for all tasks jointly, with the same
coefficients. Independent :class:`~sklearn.linear_model.Lasso` fits, one per task, select a
different set of features for every task instead.

What :class:`~sklearn.linear_model.MultiTaskLasso` cannot do is leave labels out: here 30 % of
the entries of ``Y`` are NaN (a different subset of samples is labelled for every task), and
:class:`~skmtl.linear.SparseRegressor` fits every task on its labelled samples only.
"""

# %%
# A shared sparse support
# -----------------------
# 8 tasks, 40 features, of which the first 6 matter for every task (with task-specific
# weights): the coefficient matrix is row-sparse.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Lasso, MultiTaskLasso

from skmtl.linear import SparseRegressor

rng = np.random.default_rng(0)
n_samples, n_features, n_tasks = 120, 40, 8
X = rng.normal(size=(n_samples, n_features))
W_true = np.zeros((n_tasks, n_features))
W_true[:, :6] = rng.normal(size=(n_tasks, 6)) + np.array([2.0, -2.0, 1.5, -1.5, 1.0, -1.0])
Y = X @ W_true.T + 1.0 * rng.normal(size=(n_samples, n_tasks))

# %%
# Fits at one alpha
# -----------------
alpha = 0.5
mtl = MultiTaskLasso(alpha=alpha, tol=1e-8, max_iter=10_000).fit(X, Y)
sparse = SparseRegressor(alpha=alpha, tol=1e-8).fit(X, Y)
# independent lassos: alpha / sqrt(n_tasks) makes a feature used equally by all tasks cost the
# same under both penalties (sum_t |w_t| = sqrt(T) ||w||_2 when all |w_t| are equal)
lasso_alpha = alpha / np.sqrt(n_tasks)
lasso = np.array([Lasso(alpha=lasso_alpha).fit(X, Y[:, t]).coef_ for t in range(n_tasks)])

# 30 % of the labels missing, each task its own subset
Y_missing = Y.copy()
Y_missing[rng.random(Y.shape) < 0.3] = np.nan
sparse_missing = SparseRegressor(alpha=alpha).fit(X, Y_missing)

print(f"largest |SparseRegressor - MultiTaskLasso| coefficient difference: "
      f"{np.max(np.abs(sparse.coef_ - mtl.coef_)):.1e}")
for name, coef in [("MultiTaskLasso", mtl.coef_), ("SparseRegressor", sparse.coef_),
                   ("Lasso per task", lasso), ("SparseRegressor, 30% NaN", sparse_missing.coef_)]:
    print(f"{name:>26}: {np.count_nonzero(np.any(coef != 0, axis=0)):2d} features used")

# %%
# Sparsity patterns
# -----------------
# Rows are tasks, columns features; white is exactly zero. The L2,1 penalty keeps or drops a
# whole column; independent lassos scatter their zeros.
panels = [
    ("true coefficients", W_true),
    ("MultiTaskLasso", mtl.coef_),
    ("SparseRegressor", sparse.coef_),
    ("Lasso, one per task", lasso),
    ("SparseRegressor, 30 % labels missing", sparse_missing.coef_),
]
vmax = np.abs(W_true).max()
fig, axes = plt.subplots(len(panels), 1, figsize=(10, 8), sharex=True, layout="constrained")
for ax, (title, coef) in zip(axes, panels, strict=True):
    shown = np.where(coef == 0, np.nan, coef)  # exact zeros drawn white
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("task")
axes[-1].set_xlabel("feature")
fig.colorbar(image, ax=axes, shrink=0.6, label="coefficient")
plt.show()
