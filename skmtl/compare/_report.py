"""The reports of ``skmtl compare``: the table it prints and the bar chart of ``--plot``."""

from __future__ import annotations

import numpy as np

from ._methods import METHODS
from ._protocol import TEST_SIZE, Result, _score_description

__all__ = ["format_table", "plot_result"]


def format_table(result: Result) -> str:
    """The report printed by ``skmtl compare``: one row per method, then per task (wide)."""
    p = result.problem
    pct = 100.0
    lines = [
        p.describe(),
        f"protocol: {result.repeats} random {int(100 * (1 - TEST_SIZE))}/{int(100 * TEST_SIZE)} "
        f"train/test splits{' within every task' if p.layout == 'long' else ''}, "
        f"hyperparameters by {result.cv}-fold CV on the training part"
        + (" (--quick grids)" if result.quick else ""),
        f"score: {_score_description(p)}, in %; mean +- std over the splits",
        "",
    ]
    header = f"{'method':<24} {'score (%)':>15} {'fit time (s)':>13}  chosen (median)"
    lines += [header, "-" * len(header)]
    for key in result.methods:
        s = result.summary(key)
        name = METHODS[key].name
        if s["status"] in ("skipped", "failed"):
            lines.append(f"{name:<24} {s['status']}: {s['reason']}")
            continue
        chosen = ", ".join(f"{k}={_fmt(v)}" for k, v in s["params"].items())
        lines.append(
            f"{name:<24} {pct * s['score_mean']:>7.1f} +- {pct * s['score_std']:<4.1f} "
            f"{s['fit_time_mean']:>13.2f}  {chosen}"
        )
        if s["status"] == "partial":
            lines.append(f"{'':<24} ({result.repeats - s['n_runs']} splits failed: {s['reason']})")
    if p.layout == "wide" and len(p.tasks) > 1:
        width = max(9, *(len(str(t)) for t in p.tasks))
        lines += ["", "per task (accuracy or R^2, %, mean over the splits):"]
        lines.append(f"{'method':<24}" + "".join(f" {str(t):>{width}}" for t in p.tasks))
        for key in result.methods:
            s = result.summary(key)
            if s["status"] in ("skipped", "failed"):
                continue
            cells = "".join(
                f" {'-':>{width}}" if v is None else f" {pct * v:>{width}.1f}"
                for v in s["task_scores_mean"]
            )
            lines.append(f"{METHODS[key].name:<24}{cells}")
    for key in result.methods:
        runs = [r for r in result.runs[key] if r["status"] == "ok" and r.get("details")]
        if runs:
            lines.append("")
            for name, value in runs[0]["details"].items():
                text = f"{METHODS[key].name}, learned on split 1: {name} = {_detail(value)}"
                lines.append(text if len(text) <= 400 else text[:397] + "...")
    lines += [
        "",
        "fit time: the tuned fit (inner CV plus refit) per split, one core.",
        f"total wall time {result.wall_time:.1f} s ({result.n_jobs} parallel jobs).",
    ]
    return "\n".join(lines)


def _detail(value) -> str:
    """A list of groups as "2 groups (100, 39 tasks): a, b, c, ...; d, e, ..."."""
    if isinstance(value, list) and value and all(isinstance(g, list) for g in value):
        sizes = ", ".join(str(len(g)) for g in value)
        shown = "; ".join(", ".join(g[:8]) + (", ..." if len(g) > 8 else "") for g in value)
        return f"{len(value)} group{'s' if len(value) != 1 else ''} ({sizes} tasks): {shown}"
    return str(value)


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def plot_result(result: Result, path) -> None:
    """Bar chart with error bars (std over the splits): per task and method in the wide layout
    with at most 12 tasks, else per method. Written with matplotlib's Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    p = result.problem
    keys = [k for k in result.methods if result.summary(k)["status"] in ("ok", "partial")]
    names = [METHODS[k].name for k in keys]
    per_task = p.layout == "wide" and 1 < len(p.tasks) <= 12
    fig = Figure(figsize=(max(6.0, 1.1 * (len(p.tasks) if per_task else len(keys)) + 2), 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if per_task:
        width = 0.8 / max(len(keys), 1)
        x = np.arange(len(p.tasks))
        for i, key in enumerate(keys):
            s = result.summary(key)
            mean = 100 * np.array([np.nan if v is None else v for v in s["task_scores_mean"]])
            std = 100 * np.array([0.0 if v is None else v for v in s["task_scores_std"]])
            ax.bar(
                x + (i - (len(keys) - 1) / 2) * width,
                mean,
                width,
                yerr=std,
                capsize=2,
                label=names[i],
            )
        ax.set_xticks(x, [str(t) for t in p.tasks])
        ax.set_ylabel("test score (%): accuracy or R^2")
        ax.legend(fontsize="small", ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    else:
        summaries = [result.summary(k) for k in keys]
        mean = [100 * s["score_mean"] for s in summaries]
        std = [100 * s["score_std"] for s in summaries]
        ax.bar(np.arange(len(keys)), mean, 0.6, yerr=std, capsize=4, color="tab:blue")
        ax.set_xticks(np.arange(len(keys)), names, rotation=20, ha="right")
        ax.set_ylabel("test score (%)")
    ax.set_title(
        f"{p.name}: {_score_description(p)}\n{result.repeats} splits, mean +- std",
        fontsize="medium",
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
