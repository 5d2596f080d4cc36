"""
=====================================================
A heat map of a grid search over task weights
=====================================================

:class:`skmtl.MultiTaskEstimator` minimises a weighted sum of per-task losses,
:math:`L = \\sum_t w_t L_t`. The weights are one constructor parameter, ``task_weights`` (a
dict task -> weight; unnamed tasks weigh 1), so :class:`~sklearn.model_selection.GridSearchCV`
searches them like any other hyperparameter, and the scorers of :mod:`skmtl.metrics` score
every task separately in the same search.

Here three regression tasks with dissimilar coefficient vectors
(:func:`skmtl.datasets.make_multitask_regression` with three clusters of one task each) share a
trunk of only two hidden units: the trunk cannot serve all three tasks at once, so the weights
decide which tasks get it. Task ``t0`` keeps weight 1; the weights of ``t1`` and ``t2`` run over
a grid, and a heat map per task shows its cross-validated :math:`R^2` over the grid.
Per-task *learning curves* (the training and validation loss of every task along the epochs,
from ``history_``) are drawn in :ref:`sphx_glr_auto_examples_plot_penguins_task_weights.py`.
"""

# %%
# Data and model
# --------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GridSearchCV

from skmtl import MultiTaskEstimator
from skmtl.datasets import make_multitask_regression
from skmtl.metrics import make_task_scorers

torch.set_num_threads(1)  # small networks train fastest on one thread

X, Y, coef = make_multitask_regression(
    n_samples=300, n_features=10, n_tasks=3, n_clusters=3, cluster_std=0.0, noise=0.5,
    random_state=0,
)
tasks = ["t0", "t1", "t2"]
Y = pd.DataFrame(Y, columns=tasks)  # named tasks: task_weights={"t1": ...}
unit = coef / np.linalg.norm(coef, axis=1, keepdims=True)
cosines = unit @ unit.T
print("cosines between the tasks' coefficient vectors:\n", np.round(cosines, 2))

# full-batch training (each training fold has 200 rows) keeps every fit short
net = MultiTaskEstimator(hidden_units=(2,), lr=0.05, max_epochs=60, batch_size=200,
                         random_state=0)

# %%
# The grid search
# ---------------
# One scorer per task (:math:`R^2`, leaving missing labels out) plus the estimator's own score,
# the mean over tasks, which chooses the refitted model.
weights = [0.1, 0.3, 1.0, 3.0, 10.0]
grid = {"task_weights": [{"t1": w1, "t2": w2} for w1 in weights for w2 in weights]}


def mean_over_tasks(estimator, X, y):
    return estimator.score(X, y)


scoring = {"mean": mean_over_tasks, **make_task_scorers(tasks)}
search = GridSearchCV(net, grid, scoring=scoring, refit="mean", cv=3).fit(X, Y)
print("best task weights:", search.best_params_["task_weights"],
      f"(mean R^2 {search.best_score_:.3f})")

# %%
# One heat map per task
# ---------------------
# Rows: the weight of ``t1``; columns: the weight of ``t2`` (``t0`` weighs 1). A task does well
# where its own weight is at least as large as the others': raising ``w_t1`` buys ``t1`` the
# trunk at the expense of ``t0`` and ``t2``. The mean over tasks (bottom right) is highest where
# no task dominates; the box marks the refitted weights.
shape = (len(weights), len(weights))  # the grid's order: w1 outer, w2 inner
panels = [(f"$R^2$ of {t}", search.cv_results_[f"mean_test_{t}"]) for t in tasks]
panels.append(("mean $R^2$ over tasks", search.cv_results_["mean_test_mean"]))
best = np.unravel_index(search.best_index_, shape)

fig, axes = plt.subplots(2, 2, figsize=(9, 8), layout="constrained")
for ax, (title, scores) in zip(axes.flat, panels, strict=True):
    scores = scores.reshape(shape)
    image = ax.imshow(scores, cmap="viridis", vmin=0, vmax=1, origin="lower")
    for (i, j), value in np.ndenumerate(scores):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9,
                color="white" if value < 0.6 else "black")
    ax.add_patch(plt.Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, lw=2.5,
                               edgecolor="tab:red"))
    ax.set_xticks(range(len(weights)), [f"{w:g}" for w in weights])
    ax.set_yticks(range(len(weights)), [f"{w:g}" for w in weights])
    ax.set_xlabel("weight of t2")
    ax.set_ylabel("weight of t1")
    ax.set_title(title, fontsize=11)
fig.colorbar(image, ax=axes, shrink=0.8, label="cross-validated $R^2$ (colours clipped at 0)")
plt.show()
