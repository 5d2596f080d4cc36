"""
=========================================================
Many small tasks in one column: the coupling penalty
=========================================================

400 tasks with 8 rows each, their slopes scattered around a common one: too few rows to fit a
task alone, enough to learn how the tasks differ when they share a model.
:class:`~skmtl.neural.MultiTaskEstimator` with ``task_column=`` gives every task a deviation
from a head shared by all tasks (gathered by the row's task, so an epoch costs about one
single-head network); ``coupling`` penalises the deviations and ties the tasks together.
``coupling=0`` fits each task's head on its own rows; a very large ``coupling`` fits one head
for all. The best lies between. The folds come from
:class:`~skmtl.model_selection.TaskStratifiedKFold`, which keeps every task in every training
fold, and early stopping picks the number of epochs.
"""

# %%
# Data: task labels in column 0
# -----------------------------
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402

from skmtl.model_selection import TaskStratifiedKFold  # noqa: E402
from skmtl.neural import MultiTaskEstimator  # noqa: E402

torch.set_num_threads(1)  # small networks: one thread is fastest (see the user guide)
rng = np.random.RandomState(0)
n_tasks, n_rows = 400, 8
task = np.repeat(np.arange(n_tasks), n_rows)
Xf = rng.normal(size=(len(task), 3))
slopes = np.array([1.0, -1.0, 0.5]) + 0.3 * rng.normal(size=(n_tasks, 3))
y = np.einsum("ij,ij->i", Xf, slopes[task]) + 0.5 * rng.normal(size=len(task))
X = np.column_stack([task, Xf])

# %%
# Cross-validated R^2 against the coupling
# -----------------------------------------
couplings = [0.0, 0.3, 3.0, 30.0]
cv = TaskStratifiedKFold(2, task_column=0, shuffle=True, random_state=0)
scores = []
for coupling in couplings:
    est = MultiTaskEstimator(
        task_column=0,
        hidden_units=(),  # a linear model per task: shared head + deviation
        coupling=coupling,
        lr=0.03,
        batch_size=256,
        max_epochs=40,
        early_stopping=True,
        n_iter_no_change=5,
        random_state=0,
    )
    scores.append(cross_val_score(est, X, y, cv=cv).mean())
    print(f"coupling={coupling:<5}  R^2 = {scores[-1]:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.semilogx([max(c, 0.01) for c in couplings], scores, "o-")
ax.set_xlabel("coupling (0 shown at 0.01)")
ax.set_ylabel("cross-validated $R^2$")
ax.set_title("400 tasks of 8 rows")
fig.tight_layout()
plt.show()
