"""
===========================================
Clustered MTL: which tasks belong together?
===========================================

:class:`skmtl.linear.ClusteredRegressor` learns, together with the coefficients, a task
similarity matrix :math:`M` (T x T) of the convex clustered MTL relaxation (Jacob, Bach & Vert
2008),

.. math:: \\min_{W, b, M} \\; f(W, b) + \\frac{\\alpha(\\alpha + c)}{2}
          \\operatorname{tr}\\big(W (\\alpha I + c M)^{-1} W^\\top\\big), \\quad
          \\operatorname{tr} M = k, \\; 0 \\preceq M \\preceq I .

For a partition of the tasks into :math:`k` clusters, :math:`M` would be the block matrix
:math:`\\sum_c 1_c 1_c^\\top / |c|`, and the penalty mean regularisation within each cluster.
Here 16 tasks in 4 clusters (:func:`skmtl.datasets.make_multitask_regression` with
``n_clusters=4``) are given in a shuffled order; the learned ``task_similarity_``, re-ordered by
the learned ``task_clusters_``, shows the blocks.
"""

# %%
# Data: 16 tasks in 4 clusters, in a random order
# -----------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import adjusted_rand_score

from skmtl.datasets import make_multitask_regression
from skmtl.linear import ClusteredRegressor, MeanRegularizedRegressor

X, Y, coef = make_multitask_regression(
    n_samples=160, n_features=20, n_tasks=16, n_clusters=4, cluster_std=0.15, noise=1.0,
    random_state=0,
)
truth = np.arange(16) * 4 // 16  # contiguous blocks in the generator
perm = np.random.default_rng(0).permutation(16)
Y, truth = Y[:, perm], truth[perm]
X_train, X_test, Y_train, Y_test = X[:80], X[80:], Y[:80], Y[80:]

# %%
# Fit, and compare with one cluster known in advance (mean regularisation)
# ------------------------------------------------------------------------
model = ClusteredRegressor(alpha=0.01, coupling=1.0, n_clusters=4, random_state=0)
model.fit(X_train, Y_train)
print("adjusted Rand index of the learned clusters:",
      round(adjusted_rand_score(truth, model.task_clusters_), 3))
print("test R^2, clustered:        ", round(model.score(X_test, Y_test), 3))
mr = max(
    (MeanRegularizedRegressor(alpha=a, coupling=c).fit(X_train, Y_train)
     for a in [0.003, 0.01, 0.03] for c in [0.3, 1.0, 3.0]),
    key=lambda m: m.score(X_test, Y_test),
)
print("test R^2, mean-regularised (best of a grid, on the test set):",
      round(mr.score(X_test, Y_test), 3))

# %%
# The task-similarity matrix, as given and ordered by the learned clusters
# ------------------------------------------------------------------------
M = model.task_similarity_
order = np.argsort(model.task_clusters_, kind="stable")
fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
for ax, mat, title, labels in [
    (axes[0], M, "task order of the data", perm),
    (axes[1], M[np.ix_(order, order)], "ordered by task_clusters_", perm[order]),
]:
    im = ax.imshow(mat, cmap="viridis", vmin=0, vmax=max(M.max(), 1e-12))
    ax.set_title(title)
    ax.set_xticks(range(16), labels, fontsize=7)
    ax.set_yticks(range(16), labels, fontsize=7)
    ax.set_xlabel("task (generator index)")
fig.colorbar(im, ax=axes, shrink=0.8, label="learned $M_{st}$")
fig.suptitle(f"ClusteredRegressor, n_clusters=4, trace M = {np.trace(M):.1f}")
plt.show()
