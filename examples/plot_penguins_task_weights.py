"""
=======================================================
Grid-searching task weights on the Palmer penguins
=======================================================

Three tasks share one network: the **species** (3 classes) and the **sex** (2 classes) of a
penguin, and its **body mass** (regression), from its bill and flipper measurements and its
island. Nine birds have no recorded sex: their sex label is kept *missing*, so they teach the
network species and body mass but nothing about sex.

:class:`~skmtl.neural.MultiTaskEstimator` minimises the weighted sum of per-task losses

.. math:: L = \\sum_t w_t \\frac{1}{|B_t|} \\sum_{i \\in B_t} \\ell_t(f_t(x_i), y_{it}),

where :math:`B_t` are the samples of a batch that have a label for task :math:`t`. The weights
:math:`w_t` are an ordinary constructor parameter (``task_weights``), so
:class:`~sklearn.model_selection.GridSearchCV` can choose them; here by the mean over tasks of
accuracy / :math:`R^2`, with the per-task scores reported alongside. The last section plots the
per-task validation loss curves recorded in ``history_``.
"""

# %%
# Data: a DataFrame of targets (a dict cannot be split by cross-validation)
# -------------------------------------------------------------------------

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmtl.datasets import load_penguins  # noqa: E402
from skmtl.metrics import make_task_scorers  # noqa: E402
from skmtl.neural import MultiTaskEstimator  # noqa: E402

# Small networks train fastest on one thread (and much faster than on two when the machine is
# busy); see the "Threads" section of the user guide.
torch.set_num_threads(1)

X, y = load_penguins(as_frame=True, return_X_y=True)
y["body_mass"] = y["body_mass"] / 1000  # kilograms: regression targets of order 1 train well
print(y.isna().sum().to_string())

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y["species"]
)

# %%
# Grid search over the task weights
# ---------------------------------
# Body mass weighs 0.1, 1 or 10 relative to species; sex weighs 1 or 3. Tasks not named in
# ``task_weights`` weigh 1.
est = MultiTaskEstimator(hidden_units=(32,), lr=0.01, max_epochs=60, random_state=0)
model = make_pipeline(StandardScaler(), est)
grid = {
    "multitaskestimator__task_weights": [
        {"body_mass": w_mass, "sex": w_sex} for w_mass in (0.1, 1.0, 10.0) for w_sex in (1.0, 3.0)
    ]
}
scoring = {
    "mean": lambda estimator, X, y: estimator.score(X, y),
    **make_task_scorers(["species", "sex", "body_mass"]),
}
search = GridSearchCV(model, grid, scoring=scoring, refit="mean", cv=3)
search.fit(X_train, y_train)

results = pd.DataFrame(
    {
        "weights": [str(p) for p in search.cv_results_["param_multitaskestimator__task_weights"]],
        **{name: search.cv_results_[f"mean_test_{name}"] for name in scoring},
    }
)
print(results.round(3).to_string(index=False))
print("best weights:", search.best_params_["multitaskestimator__task_weights"])
best = search.best_estimator_
test_scores = best[-1].score_tasks(best[0].transform(X_test), y_test)
print("held-out scores:", {task: round(score, 3) for task, score in test_scores.items()})

# %%
# Per-task validation loss curves
# -------------------------------
# Refit each body-mass weight (sex weight 1) with 20% of the training data held out
# (``train_split=0.2``): ``history_`` records, per epoch, each task's training and validation
# loss (mean over its labelled samples). In this run a larger body-mass weight brings its
# loss down faster and slows the species loss, since both tasks share the trunk; with a small
# body-mass weight the sex task over-fits (its validation loss rises while its training loss
# keeps falling).
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharex=True)
for w_mass, color in zip((0.1, 1.0, 10.0), ("tab:blue", "tab:orange", "tab:green"), strict=True):
    curve = make_pipeline(
        StandardScaler(),
        MultiTaskEstimator(
            hidden_units=(32,),
            lr=0.01,
            max_epochs=60,
            train_split=0.2,
            task_weights={"body_mass": w_mass},
            random_state=0,
        ),
    ).fit(X_train, y_train)
    history = curve[-1].history_
    for ax, task in zip(axes, ("species", "sex", "body_mass"), strict=True):
        ax.plot(history[:, f"valid_loss_{task}"], color=color, label=f"w_body_mass={w_mass}")
        ax.plot(history[:, f"train_loss_{task}"], color=color, linestyle=":", alpha=0.6)
        ax.set_title(f"{task} (valid: solid, train: dotted)")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
axes[0].set_ylabel("loss")
axes[0].legend()
fig.tight_layout()
plt.show()
