"""
=====================================================
Task weights over epochs: four strategies compared
=====================================================

The same network learns the three Palmer penguin tasks (**species** and **sex**
classification, **body mass** regression; nine birds have no recorded sex, kept missing) with
four ``weighting=`` strategies of :class:`~skmtl.neural.MultiTaskEstimator`:

- ``"uncertainty"`` (Kendall et al. 2018) learns one noise level per task and weighs each loss
  by its learned precision;
- ``"dwa"`` (Liu et al. 2019) raises the weight of the tasks whose loss fell slowest over the
  previous two epochs;
- ``"gradnorm"`` (Chen et al. 2018) learns weights that equalise the tasks' gradient norms on
  the last shared layer, adjusted by their training rates;
- ``"mgda"`` (Sener & Koltun 2018) takes, at every step, the minimum-norm convex combination of
  the task gradients (here of the shared representation: the MGDA-UB shortcut).

Every strategy records the mean weight of each task per epoch in ``history_`` as
``weight_<task>``: this example plots them.
"""

# %%
# Data: standardised features, body mass in kilograms
# ----------------------------------------------------
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmtl.datasets import load_penguins  # noqa: E402
from skmtl.neural import MultiTaskEstimator  # noqa: E402

torch.set_num_threads(1)  # small network: one thread is fastest on a shared machine

X, y = load_penguins(return_X_y=True)
X = StandardScaler().fit_transform(X)
y = dict(y)
y["body_mass"] = (y["body_mass"] - y["body_mass"].mean()) / y["body_mass"].std()
tasks = list(y)

# %%
# Four fits, one per strategy
# ---------------------------
strategies = ["uncertainty", "dwa", "gradnorm", "mgda"]
fits = {}
for name in strategies:
    est = MultiTaskEstimator(
        weighting=name, hidden_units=(32,), lr=0.01, max_epochs=40, batch_size=64, random_state=0
    )
    fits[name] = est.fit(X, y)
    scores = est.score_tasks(X, y)
    print(f"{name:<12}" + "  ".join(f"{t}={s:.2f}" for t, s in scores.items()))

# %%
# The weights over epochs
# -----------------------
# - Uncertainty weighting's weight is about 1 / (loss) at its stationary point: the species task,
#   soon classified perfectly, has a loss falling towards 0 and a weight that keeps growing.
#   (Large weights on a solved task are harmless here but call for early stopping elsewhere.)
# - DWA's weights stay within a few percent of 1 and react to which loss fell slowest lately.
# - GradNorm's weights always sum to 3: it moves weight from the species task, whose gradients
#   dominate the last shared layer early on, to the sex task, which trains slowest.
# - MGDA's weights sum to 1: the minimum-norm combination leans on the task with the smallest
#   gradient (species, once it is solved), so that the common direction descends every task.
fig, axes = plt.subplots(1, len(strategies), figsize=(13, 3.2), sharex=True)
for ax, name in zip(axes, strategies, strict=True):
    history = fits[name].history_
    for task in tasks:
        ax.plot(np.arange(1, len(history) + 1), history[:, f"weight_{task}"], label=task)
    ax.set_title(f'weighting="{name}"')
    ax.set_xlabel("epoch")
axes[0].set_ylabel("mean task weight over the epoch")
axes[0].legend(frameon=False)
fig.tight_layout()
plt.show()
