"""The school exam-score benchmark (139 schools, 15,362 pupils)."""

from __future__ import annotations

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

# Column order of MALSAR's school.mat (bias column dropped), checked against the data: year and
# gender are one-hot, VR band and ethnic group have at most one 1 per pupil; the two percentages
# are constant within a school and year, school gender and denomination within a school.
SCHOOL_FEATURE_NAMES = (
    ["year_1985", "year_1986", "year_1987", "pct_free_school_meals", "pct_vr_band_1"]
    + ["gender_0", "gender_1"]
    + [f"vr_band_{k}" for k in (1, 2, 3)]
    + [f"ethnic_group_{k}" for k in range(1, 12)]
    + ["school_gender_mixed", "school_gender_boys", "school_gender_girls"]
    + ["school_denomination_maintained", "school_denomination_coe", "school_denomination_rc"]
)


def load_school(*, as_frame: bool = False, return_X_y: bool = False):
    """Load the school data: exam scores of 15,362 pupils in 139 London schools (one task each).

    The classical multi-task benchmark of Evgeniou & Pontil (2004) and MALSAR, in the *long* layout:
    one row per pupil, ``school`` names the task of each row. Use it with ``task_column``::

        X, y = load_school(return_X_y=True, as_frame=True)   # X has a "school" column
        MeanRegularizedRegressor(task_column="school").fit(X, y)

    ================= ==============================
    Tasks (schools)   139
    Samples total     15,362 (22 to 251 per school)
    Features          27 (25 binary, 2 percentages)
    Target            exam score, integer 1..70
    ================= ==============================

    Parameters
    ----------
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame (needs pandas) with named columns and ``school``
        as its last column, ``target`` as a Series.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch. ``X`` then holds the school id as its last column
        (index 27), so that ``task_column=27`` (or ``"school"`` with ``as_frame=True``) selects it.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n_samples, 28): the 27 features and the school id as last column; ``target``
        (n_samples,) the exam scores; ``school`` (n_samples,) the school id 0..138;
        ``feature_names``; ``task_column`` ("school"); ``DESCR``.
    (X, y) : tuple if ``return_X_y`` is True.

    References
    ----------
    T. Evgeniou and M. Pontil. Regularized multi-task learning. KDD 2004.
    J. Zhou, J. Chen and J. Ye. MALSAR: Multi-tAsk Learning via StructurAl Regularization, 2011.

    Examples
    --------
    >>> from skmtl.datasets import load_school
    >>> X, y = load_school(return_X_y=True)
    >>> X.shape, y.shape
    ((15362, 28), (15362,))
    >>> int(X[:, -1].max()) + 1
    139
    """
    with resources.files("skmtl.datasets").joinpath("data/school.npz").open("rb") as fh:
        arrays = np.load(fh)
        X, y, school = arrays["X"], arrays["y"], arrays["school"]
    data = np.column_stack([X.astype(np.float64), school.astype(np.float64)])
    target = y.astype(np.float64)
    feature_names = [*SCHOOL_FEATURE_NAMES, "school"]
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame(data, columns=feature_names)
        frame["school"] = school.astype(np.int64)
        data = frame
        target = pd.Series(target, name="exam_score")
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        school=school.astype(np.int64),
        feature_names=feature_names,
        task_column="school",
        DESCR=load_school.__doc__,
    )
