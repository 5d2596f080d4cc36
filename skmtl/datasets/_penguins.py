"""The Palmer penguins: a small mixed multi-task problem with missing labels."""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

ISLANDS = ("Biscoe", "Dream", "Torgersen")
MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm")
PENGUINS_FEATURE_NAMES = [*MEASUREMENTS, *(f"island_{island}" for island in ISLANDS)]
PENGUINS_TASKS = ["species", "sex", "body_mass"]


def _read_rows() -> list[dict]:
    text = resources.files("skmtl.datasets").joinpath("data/penguins.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def load_penguins(*, as_frame: bool = False, return_X_y: bool = False):
    """Load the Palmer penguins as a multi-task problem: two classifications and a regression.

    342 penguins of three species from three islands of the Palmer Archipelago, Antarctica
    (the 2 birds of the original 344 without any measurement are left out). The features are
    the bill length and depth and the flipper length (mm), and the island one-hot encoded. The
    tasks are

    ============= ================================================ ===========================
    task          target                                           missing labels
    ============= ================================================ ===========================
    ``species``   Adelie (151), Chinstrap (68), Gentoo (123)       none
    ``sex``       female (165), male (168)                         9 (``None`` / NaN)
    ``body_mass`` body mass in grams, 2700 to 6300                 none
    ============= ================================================ ===========================

    The missing sex labels are kept as missing: a multi-task estimator learns ``sex`` from the
    333 birds that have it and the other tasks from all 342.

    Data: Horst AM, Hill AP, Gorman KB (2020). palmerpenguins: Palmer Archipelago (Antarctica)
    penguin data. doi:10.5281/zenodo.3960218. Collected by Dr. Kristen Gorman and the Palmer
    Station Long Term Ecological Research (LTER) Program. Bundled from the palmerpenguins Python
    package, MIT licence: "Copyright (c) 2020 Muhammad Chenariyan Nakhaee".

    Parameters
    ----------
    as_frame : bool, default=False
        Return ``data`` and ``target`` as pandas DataFrames (needs pandas); the missing ``sex``
        labels are then missing values of a string column.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data``: ndarray of shape (342, 6) (or DataFrame); ``target``: a dict of the three 1-D
        targets (or a DataFrame with one column per task); ``feature_names``; ``task_names``;
        ``frame`` (the whole table, with ``as_frame=True``); ``DESCR``.
    (X, y) : tuple if ``return_X_y`` is True.

    References
    ----------
    K. B. Gorman, T. D. Williams and W. R. Fraser. Ecological sexual dimorphism and environmental
    variability within a community of Antarctic penguins (genus Pygoscelis). PLoS ONE 9(3), 2014.

    Examples
    --------
    >>> from skmtl.datasets import load_penguins
    >>> X, y = load_penguins(return_X_y=True)
    >>> X.shape, sorted(y)
    ((342, 6), ['body_mass', 'sex', 'species'])
    >>> sum(label is None for label in y["sex"])
    9
    """
    rows = [r for r in _read_rows() if all(r[m] != "NA" for m in MEASUREMENTS)]
    X = np.array(
        [
            [float(r[m]) for m in MEASUREMENTS] + [float(r["island"] == i) for i in ISLANDS]
            for r in rows
        ]
    )
    species = np.array([r["species"] for r in rows], dtype=object)
    sex = np.array([None if r["sex"] == "NA" else r["sex"] for r in rows], dtype=object)
    mass = np.array([float(r["body_mass_g"]) for r in rows])
    data, target = X, {"species": species, "sex": sex, "body_mass": mass}
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(X, columns=PENGUINS_FEATURE_NAMES)
        target = pd.DataFrame(
            {
                "species": pd.Series(species),
                "sex": pd.Series(sex),
                "body_mass": mass,
            }
        )
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=list(PENGUINS_FEATURE_NAMES),
        task_names=list(PENGUINS_TASKS),
        DESCR=load_penguins.__doc__,
    )
