"""
==============================================================
Robust low rank: outlier tasks found by RobustLowRankRegressor
==============================================================

The trace-norm penalty of :class:`skmtl.linear.LowRankRegressor` assumes that all tasks share a
low-dimensional structure. One task that does not (a different population, a mislabelled
target) bends the shared subspace towards itself and is fitted badly anyway. The robust model
of Chen, Zhou & Ye (2011) gives such tasks a way out,

.. math:: \\min_{W = L + S,\\, b} \\; f(W, b) + \\alpha \\|L\\|_* + \\beta \\sum_t \\|s_t\\|_2,

a low-rank part ``L`` shared by the tasks plus a part ``S`` whose columns (one per task) are
zero except on the outlier tasks. Here 10 tasks follow one direction of coefficients and tasks
3 and 7 have coefficients of their own.
"""

# %%
# Data: ten tasks on one shared direction, two outliers
# -----------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skmtl.linear import LowRankRegressor, RobustLowRankRegressor

rng = np.random.default_rng(0)
n, p, T = 200, 15, 10
outliers = [3, 7]
W = np.outer(rng.normal(size=p), 1.0 + 0.2 * rng.normal(size=T))
W[:, outliers] = 1.5 * rng.normal(size=(p, len(outliers)))
X = rng.normal(size=(n, p))
Y = X @ W + 0.5 * rng.normal(size=(n, T))
X_test = rng.normal(size=(2000, p))
Y_test = X_test @ W + 0.5 * rng.normal(size=(2000, T))

# %%
# Fits
# ----
# ``beta`` between ``alpha / sqrt(T)`` and ``alpha`` (at ``beta >= alpha`` the model is exactly
# the trace-norm one, at ``beta <= alpha / sqrt(T)`` every task is fitted alone). An inlier's
# column of ``S`` is *exactly* zero only when the noise in its fit stays below ``beta``: with
# a smaller ``beta`` (or less data) every task gets a small outlier part, so reading
# ``outlier_tasks_`` needs ``beta`` towards ``alpha``. The trace-norm model gets the same
# ``alpha``.
robust = RobustLowRankRegressor(alpha=0.3, beta=0.225).fit(X, Y)
low_rank = LowRankRegressor(alpha=0.3).fit(X, Y)
print("outlier tasks found:", robust.outlier_tasks_.tolist(), "(truth:", outliers, ")")
print("rank of the shared part:", np.linalg.matrix_rank(robust.low_rank_coef_, tol=1e-6))


def task_mse(model):
    return np.mean((model.predict(X_test) - Y_test) ** 2, axis=0)


print("test MSE of the outliers: robust", np.round(task_mse(robust)[outliers], 3),
      "low rank", np.round(task_mse(low_rank)[outliers], 3))
print(f"test MSE, mean over tasks: robust {task_mse(robust).mean():.3f}, "
      f"low rank {task_mse(low_rank).mean():.3f}")

# %%
# Which tasks are outliers, and what it buys
# ------------------------------------------
# Left: ``||s_t||`` per task (``outlier_norms_``), exactly zero for the tasks that follow the
# shared structure. Right: the held-out error of every task. At the same ``alpha`` the
# trace-norm model fits the two outliers worse (they must live in the shared subspace); the
# inliers are fitted about equally well by both.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
colours = ["tab:red" if t in outliers else "tab:grey" for t in range(T)]
ax1.bar(range(T), robust.outlier_norms_, color=colours)
ax1.set_xlabel("task")
ax1.set_ylabel(r"$\|s_t\|_2$")
ax1.set_title("outlier part per task (red: true outliers)")
ax1.set_xticks(range(T))
width = 0.4
ax2.bar(np.arange(T) - width / 2, task_mse(low_rank), width, label="LowRankRegressor")
ax2.bar(np.arange(T) + width / 2, task_mse(robust), width, label="RobustLowRankRegressor")
ax2.axhline(0.25, color="k", lw=0.8, ls=":", label="noise variance")
ax2.set_xlabel("task")
ax2.set_ylabel("test MSE")
ax2.set_xticks(range(T))
ax2.set_ylim(0, 1.3 * task_mse(low_rank).max())
ax2.legend(loc="upper left", ncols=3, fontsize="small")
plt.show()
