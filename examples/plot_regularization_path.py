"""
===============================================================
The regularisation path: SparseRegressorCV and MultiTaskLassoCV
===============================================================

:class:`skmtl.linear.SparseRegressorCV` chooses the ``alpha`` of the L2,1 penalty as
:class:`sklearn.linear_model.MultiTaskLassoCV` does: a grid of ``n_alphas`` values from
``alpha_max`` (the smallest ``alpha`` at which every coefficient is zero) down to
``eps * alpha_max``, solved from the largest down on every fold, each solve warm-started from
the previous one; the alpha of lowest mean held-out squared error is refitted on all the data.
The fitted ``alphas_`` and ``mse_path_`` (shape ``(n_alphas, n_folds)``) keep the path.

For one design and no missing label the two estimators minimise the same objective, so on the
same folds they draw the same curves. This example plots both, with the norms of the
coefficient rows (one row per feature, all tasks) along the path, then lets 30 % of the labels
go missing, which only skmtl accepts.
"""

# %%
# Data: 6 tasks sharing 8 of 60 features
# --------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import MultiTaskLassoCV
from sklearn.model_selection import KFold

from skmtl.datasets import make_multitask_regression
from skmtl.linear import SparseRegressor, SparseRegressorCV

X, Y, coef = make_multitask_regression(
    n_samples=120, n_features=60, n_tasks=6, n_informative=8, noise=2.0, random_state=0
)
informative = np.flatnonzero(np.any(coef != 0, axis=0))
folds = KFold(5)  # the same folds for both estimators

# %%
# Both CV estimators on the same grid and folds
# ---------------------------------------------
sparse_cv = SparseRegressorCV(
    alphas=40, eps=1e-2, cv=folds, scoring="neg_mean_squared_error", tol=1e-8
).fit(X, Y)
lasso_cv = MultiTaskLassoCV(alphas=40, eps=1e-2, cv=folds, tol=1e-8, max_iter=10_000).fit(X, Y)
print(f"alpha_: SparseRegressorCV {sparse_cv.alpha_:.4g}, MultiTaskLassoCV {lasso_cv.alpha_:.4g}")
print(f"largest relative difference of the grids: "
      f"{np.max(np.abs(sparse_cv.alphas_ / lasso_cv.alphas_ - 1)):.1e}")
print(f"largest difference of the mean CV errors: "
      f"{np.max(np.abs(sparse_cv.mse_path_.mean(1) - lasso_cv.mse_path_.mean(1))):.1e}")
selected = np.flatnonzero(np.any(sparse_cv.coef_ != 0, axis=0))
print(f"selected at alpha_: {len(selected)} features, "
      f"{len(np.intersect1d(selected, informative))} of the {len(informative)} informative")

# %%
# The coefficient path
# --------------------
# The CV estimators keep the errors along the path, not the coefficients; to draw them, refit
# :class:`~skmtl.linear.SparseRegressor` along ``alphas_`` with ``warm_start=True`` (which is
# what the path does inside). A feature enters the model when the norm of its row leaves zero;
# the informative ones enter first.
path = SparseRegressor(warm_start=True, tol=1e-8)
row_norms = np.array(
    [np.linalg.norm(path.set_params(alpha=a).fit(X, Y).coef_, axis=0) for a in sparse_cv.alphas_]
)

# %%
# With missing labels
# -------------------
# 30 % of the entries of ``Y`` set to NaN. ``MultiTaskLassoCV`` refuses them; the skmtl path
# leaves each missing entry out of its task's loss and out of the held-out error.
Y_missing = Y.copy()
Y_missing[np.random.default_rng(0).random(Y.shape) < 0.3] = np.nan
sparse_cv_missing = SparseRegressorCV(alphas=40, eps=1e-2, cv=folds).fit(X, Y_missing)
print(f"alpha_ with 30 % labels missing: {sparse_cv_missing.alpha_:.4g}")

# %%
# Plots
# -----
# Left: the row norms along the path (informative features in colour, the others grey).
# Right: the mean held-out error over the 5 folds (band: +- one standard deviation over the
# folds) of both estimators, which coincide, and of the fit with missing labels.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
colors = iter(plt.cm.tab10([0, 1, 2, 3, 4, 5, 6, 8, 9]))  # tab10 without its grey
for j in range(X.shape[1]):
    if j in informative:
        ax1.semilogx(sparse_cv.alphas_, row_norms[:, j], lw=1.5, color=next(colors), zorder=2)
    else:
        ax1.semilogx(sparse_cv.alphas_, row_norms[:, j], lw=0.8, color="0.75", zorder=1)
ax1.axvline(sparse_cv.alpha_, color="k", ls=":", label="alpha_ (CV)")
ax1.invert_xaxis()
ax1.set_xlabel("alpha (decreasing)")
ax1.set_ylabel(r"row norm $\|W_{j,:}\|_2$ of feature $j$")
ax1.set_title("SparseRegressor path: informative features in colour", fontsize=10)
ax1.legend(loc="upper left")


def plot_mse(ax, est, label, **style):
    mean, std = est.mse_path_.mean(1), est.mse_path_.std(1)
    (line,) = ax.semilogx(est.alphas_, mean, label=label, **style)
    ax.fill_between(est.alphas_, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.axvline(est.alpha_, color=line.get_color(), ls=":")


plot_mse(ax2, sparse_cv, "SparseRegressorCV", lw=3, color="tab:blue")
plot_mse(ax2, lasso_cv, "MultiTaskLassoCV", lw=1.5, ls="--", color="tab:orange")
plot_mse(ax2, sparse_cv_missing, "SparseRegressorCV, 30 % labels missing", color="tab:green")
ax2.invert_xaxis()
ax2.set_xlabel("alpha (decreasing)")
ax2.set_ylabel("mean squared error on the held-out fold")
ax2.set_title("CV error along the path (dotted: alpha_)", fontsize=10)
ax2.legend(fontsize=8)
plt.show()
