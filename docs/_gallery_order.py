"""The order of the examples in the gallery: the linear models first, then the networks.

``sphinx_gallery_conf["within_subsection_order"]`` names the class below by its import path (a
string, so that the configuration stays picklable); examples not listed follow, by file name.
"""

from __future__ import annotations

ORDER = [
    # linear models
    "plot_sparse_vs_multitasklasso.py",
    "plot_low_rank_spectrum.py",
    "plot_regularization_path.py",
    "plot_task_clusters.py",
    "plot_task_correlation.py",
    "plot_dirty_support.py",
    "plot_outlier_tasks.py",
    "school_comparison.py",
    # networks
    "plot_penguins_task_weights.py",
    "plot_task_weight_grid.py",
    "plot_task_weights.py",
    "plot_mmoe_synthetic.py",
]


class ExampleOrder:
    """Sort key of sphinx-gallery: the position in ``ORDER``, then the file name."""

    def __init__(self, src_dir: str):
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        name = filename.rsplit("/", 1)[-1]
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
