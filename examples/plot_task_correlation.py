"""
=============================================================
Task-relation learning: a negatively related pair of tasks
=============================================================

:class:`skmtl.linear.TaskRelationRegressor` (multi-task relationship learning, Zhang & Yeung
2010) learns a task covariance :math:`\\Omega` with the coefficients,

.. math:: \\min_{W, b, \\Omega} \\; f(W, b) + \\frac{\\alpha}{2}\\|W\\|_F^2
          + \\frac{c}{2} \\operatorname{tr}(W \\Omega^{+} W^\\top), \\quad
          \\Omega \\succeq 0, \\; \\operatorname{tr}\\Omega = 1,

which, with the optimal :math:`\\Omega = (W^\\top W)^{1/2} / \\operatorname{tr}(\\cdot)`, is
the convex :math:`f + \\frac{\\alpha}{2}\\|W\\|_F^2 + \\frac{c}{2}\\|W\\|_*^2`. Unlike
clusters or a common mean, a covariance can say that two tasks are *negatively* related. Here
8 tasks form two groups, and the last two tasks of the second group are negated
(:func:`~skmtl.datasets.make_multitask_regression` with ``negative_fraction=0.25``); the learned
``task_correlation_`` recovers the signs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skmtl.datasets import make_multitask_regression
from skmtl.linear import TaskRelationRegressor

X, Y, coef = make_multitask_regression(
    n_samples=100, n_features=15, n_tasks=8, n_clusters=2, cluster_std=0.3,
    negative_fraction=0.25, noise=1.0, random_state=1,
)
model = TaskRelationRegressor(alpha=0.01, coupling=0.05).fit(X, Y)
true = np.corrcoef(coef)
learned = model.task_correlation_
strong = np.abs(true) > 0.5
print("signs right on the strongly related pairs:",
      f"{int(np.sum(np.sign(learned[strong]) == np.sign(true[strong])))}/{int(strong.sum())}")
print("most negative learned correlation:", round(float(learned.min()), 2))

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
for ax, mat, title in [
    (axes[0], true, "correlation of the true coefficients"),
    (axes[1], learned, "learned task_correlation_"),
]:
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.set_xticks(range(8))
    ax.set_yticks(range(8))
    ax.set_xlabel("task")
fig.colorbar(im, ax=axes, shrink=0.8)
plt.show()
