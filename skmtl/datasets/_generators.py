"""Synthetic multi-task data with a known task structure.

- :func:`make_multitask_regression` and :func:`make_multitask_classification`: linear tasks whose
  true coefficient matrix has the structure the multi-task models assume (a shared sparse
  support, a low rank, clusters of tasks, negatively related tasks, outlier tasks), with noise
  and missing labels; the truth is returned.
- :func:`make_mmoe_synthetic`: the two non-linear regression tasks of Ma et al. (2018) whose
  relatedness is set by the cosine of their weight vectors.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_mmoe_synthetic", "make_multitask_classification", "make_multitask_regression"]


def _check_int(name, value, low, high=None):
    too_big = high is not None and value > high
    if not isinstance(value, numbers.Integral) or value < low or too_big:
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}.")
    return int(value)


def _check_fraction(name, value, high=1.0):
    if not isinstance(value, numbers.Real) or not 0 <= value < high:
        raise ValueError(f"{name} must be in [0, {high}), got {value!r}.")
    return float(value)


def _coefficients(n_tasks, n_features, n_informative, rank, n_clusters, cluster_std, rng,
                  negative_fraction=0.0, n_outlier_tasks=0):
    """Coefficient matrix (n_tasks, n_features): support, then rank and clusters inside it, for
    the regular tasks; then the negated tasks and the outlier tasks (the last ones)."""
    n_out = _check_int("n_outlier_tasks", n_outlier_tasks, 0, n_tasks - 1)
    negative_fraction = _check_fraction("negative_fraction", negative_fraction, high=1.0 + 1e-12)
    n_regular = n_tasks - n_out
    coef = _regular_coefficients(
        n_regular, n_features, n_informative, rank, n_clusters, cluster_std, rng
    )
    n_neg = int(round(negative_fraction * n_regular))
    if n_neg:
        coef[n_regular - n_neg :] *= -1.0
    if n_out:
        coef = np.vstack([coef, rng.standard_normal((n_out, n_features))])
    return coef


def _regular_coefficients(n_tasks, n_features, n_informative, rank, n_clusters, cluster_std,
                          rng):
    k = (
        n_features
        if n_informative is None
        else _check_int("n_informative", n_informative, 1, n_features)
    )
    r = k if rank is None else _check_int("rank", rank, 1, min(n_tasks, k))
    g = 1 if n_clusters is None else _check_int("n_clusters", n_clusters, 1, n_tasks)
    if not isinstance(cluster_std, numbers.Real) or cluster_std < 0:
        raise ValueError(f"cluster_std must be >= 0, got {cluster_std!r}.")
    support = np.sort(rng.choice(n_features, size=k, replace=False))
    # task loadings in an r-dimensional space; the basis V (r, k) has orthonormal rows
    V = np.linalg.qr(rng.standard_normal((k, r)))[0].T
    if n_clusters is None:
        A = rng.standard_normal((n_tasks, r))
    else:
        centres = rng.standard_normal((g, r))
        A = centres[_cluster_of(n_tasks, g)] + cluster_std * rng.standard_normal((n_tasks, r))
    coef = np.zeros((n_tasks, n_features))
    coef[:, support] = A @ V * np.sqrt(k / r)  # entries of unit variance on the support
    return coef


def _cluster_of(n_tasks, n_clusters):
    """Task t belongs to cluster ``t * n_clusters // n_tasks``: contiguous blocks."""
    return np.arange(n_tasks) * n_clusters // n_tasks


def _hide(Y, missing_fraction, rng):
    """Mark ``round(missing_fraction * Y.size)`` entries missing (NaN), at random, keeping at
    least two labels per task."""
    n, T = Y.shape
    n_missing = int(round(missing_fraction * n * T))
    if n_missing == 0:
        return Y
    if n_missing > T * (n - 2):
        raise ValueError(
            f"missing_fraction={missing_fraction} leaves fewer than 2 labels per task "
            f"(n_samples={n})."
        )
    Y = Y.astype(float)
    # the first two rows of a random order of each column stay labelled
    keep = np.argsort(rng.random((n, T)), axis=0)[:2]
    candidates = np.ones((n, T), dtype=bool)
    candidates[keep, np.arange(T)] = False
    flat = np.flatnonzero(candidates.ravel())
    Y.ravel()[rng.choice(flat, size=n_missing, replace=False)] = np.nan
    return Y


def make_multitask_regression(
    n_samples: int = 100,
    n_features: int = 20,
    n_tasks: int = 5,
    *,
    n_informative: int | None = None,
    rank: int | None = None,
    n_clusters: int | None = None,
    cluster_std: float = 0.1,
    negative_fraction: float = 0.0,
    n_outlier_tasks: int = 0,
    noise: float = 0.1,
    missing_fraction: float = 0.0,
    random_state=None,
):
    r"""Linear regression tasks sharing a sparse support, a low rank or clusters of tasks.

    The target of task :math:`t` is :math:`y_t = X w_t + \varepsilon_t` with
    :math:`X_{ij} \sim N(0, 1)` and :math:`\varepsilon_t \sim N(0, \text{noise}^2 I)`. The
    coefficient matrix :math:`W = [w_1, \dots, w_T]^\top` is built as

    1. a shared support :math:`S` of ``n_informative`` features drawn at random: every
       :math:`w_t` is zero outside :math:`S` (the structure of the L2,1 penalty);
    2. on :math:`S`, :math:`W_S = A V \sqrt{k / r}` with :math:`V` (``rank`` x k, orthonormal
       rows, :math:`k = |S|`): rank :math:`W \le` ``rank`` (the trace-norm structure);
    3. the task loadings :math:`A` (T x ``rank``) are standard normal or, with ``n_clusters``,
       a cluster centre (standard normal) plus ``cluster_std`` times standard normal noise.
       Task :math:`t` belongs to cluster ``t * n_clusters // n_regular`` (contiguous blocks); the
       tasks of a cluster are close to their mean (the mean-regularised structure, per cluster).
       With ``cluster_std=0`` they are equal, and rank :math:`W \le` ``n_clusters``;
    4. negatively related tasks: the last ``round(negative_fraction * n_regular)`` of the
       regular tasks have their coefficients negated (:math:`w_t \to -w_t`), so that their
       coefficient vectors point away from the others' (correlation about -1 with their own
       cluster, which becomes two mirrored clusters);
    5. outlier tasks: the last ``n_outlier_tasks`` tasks follow none of the above: their
       coefficients are independent standard normal on all features (outside the support,
       the rank and the clusters). Steps 1-4 apply to the ``n_regular = n_tasks -
       n_outlier_tasks`` first tasks.

    Parameters
    ----------
    n_samples, n_features, n_tasks : int
        Sizes.
    n_informative : int, default=None
        Size of the shared support; None: all features.
    rank : int, default=None
        Rank of the coefficient matrix (at most ``min(n_tasks, n_informative)``); None: full.
    n_clusters : int, default=None
        Number of clusters of tasks; None: no clusters.
    cluster_std : float, default=0.1
        Spread of the tasks around their cluster centre (the centres have unit spread).
    negative_fraction : float, default=0.0
        Fraction (in [0, 1]) of the regular tasks whose coefficients are negated: the last ones.
    n_outlier_tasks : int, default=0
        Number of outlier tasks (the last ones, at most ``n_tasks - 1``), with independent
        coefficients.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise.
    missing_fraction : float, default=0.0
        Fraction of the entries of ``Y`` replaced by NaN (missing labels), at random; every task
        keeps at least two labels.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_tasks)
        Targets; NaN marks a missing label.
    coef : ndarray of shape (n_tasks, n_features)
        The true coefficients (the layout of ``coef_`` of the skmtl estimators).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, Y, coef = make_multitask_regression(
    ...     50, 10, 4, n_informative=3, rank=2, missing_fraction=0.1, random_state=0)
    >>> X.shape, Y.shape, coef.shape
    ((50, 10), (50, 4), (4, 10))
    >>> int((np.abs(coef).sum(axis=0) > 0).sum()), int(np.linalg.matrix_rank(coef))
    (3, 2)
    >>> float(np.isnan(Y).mean())
    0.1

    Two mirrored groups of tasks and one outlier task:

    >>> X, Y, coef = make_multitask_regression(
    ...     50, 10, 5, n_clusters=1, cluster_std=0.0, negative_fraction=0.5, n_outlier_tasks=1,
    ...     random_state=0)
    >>> np.round(np.corrcoef(coef[:4]), 2)
    array([[ 1.,  1., -1., -1.],
           [ 1.,  1., -1., -1.],
           [-1., -1.,  1.,  1.],
           [-1., -1.,  1.,  1.]])
    """
    rng = check_random_state(random_state)
    n = _check_int("n_samples", n_samples, 2)
    p = _check_int("n_features", n_features, 1)
    T = _check_int("n_tasks", n_tasks, 1)
    missing_fraction = _check_fraction("missing_fraction", missing_fraction)
    if not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    coef = _coefficients(
        T, p, n_informative, rank, n_clusters, cluster_std, rng, negative_fraction,
        n_outlier_tasks,
    )
    X = rng.standard_normal((n, p))
    Y = X @ coef.T + noise * rng.standard_normal((n, T))
    return X, _hide(Y, missing_fraction, rng), coef


def make_multitask_classification(
    n_samples: int = 100,
    n_features: int = 20,
    n_tasks: int = 5,
    *,
    n_informative: int | None = None,
    rank: int | None = None,
    n_clusters: int | None = None,
    cluster_std: float = 0.1,
    negative_fraction: float = 0.0,
    n_outlier_tasks: int = 0,
    scale: float = 3.0,
    flip_y: float = 0.0,
    missing_fraction: float = 0.0,
    random_state=None,
):
    r"""Binary classification tasks whose logistic coefficients share a structure.

    The coefficient matrix is built exactly as in :func:`make_multitask_regression` (shared
    support, rank, clusters of tasks), then rescaled so that every task's logit
    :math:`x^\top w_t` has standard deviation ``scale`` (larger: cleaner classes). Labels are
    drawn from the logistic model, :math:`P(y_t = 1 \mid x) = 1 / (1 + e^{-x^\top w_t})`, and
    a fraction ``flip_y`` of them is then replaced by a fair coin flip.

    Parameters
    ----------
    n_samples, n_features, n_tasks : int
        Sizes.
    n_informative, rank, n_clusters, cluster_std, negative_fraction, n_outlier_tasks
        The structure of the coefficients, as in :func:`make_multitask_regression`.
    scale : float, default=3.0
        Standard deviation of each task's logit (the norm of its coefficient vector).
    flip_y : float, default=0.0
        Fraction of labels replaced by a random class.
    missing_fraction : float, default=0.0
        Fraction of the labels made missing (NaN), at random; every task keeps two labels.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_tasks)
        Labels 0/1: an int array, or a float array with NaN for the missing labels when
        ``missing_fraction > 0`` (give ``task_types`` to :class:`~skmtl.MultiTaskEstimator`,
        which reads float targets as regression).
    coef : ndarray of shape (n_tasks, n_features)
        The true logistic coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_multitask_classification
    >>> X, Y, coef = make_multitask_classification(200, 8, 3, n_informative=2, random_state=0)
    >>> Y.dtype.kind, sorted(np.unique(Y).tolist())
    ('i', [0, 1])
    >>> np.round(np.linalg.norm(coef, axis=1), 6)
    array([3., 3., 3.])
    """
    rng = check_random_state(random_state)
    n = _check_int("n_samples", n_samples, 2)
    p = _check_int("n_features", n_features, 1)
    T = _check_int("n_tasks", n_tasks, 1)
    missing_fraction = _check_fraction("missing_fraction", missing_fraction)
    flip_y = _check_fraction("flip_y", flip_y, high=1.0 + 1e-12)
    if not isinstance(scale, numbers.Real) or scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale!r}.")
    coef = _coefficients(
        T, p, n_informative, rank, n_clusters, cluster_std, rng, negative_fraction,
        n_outlier_tasks,
    )
    norms = np.linalg.norm(coef, axis=1, keepdims=True)
    coef = scale * coef / np.where(norms > 0, norms, 1.0)  # x ~ N(0, I): sd of x'w is ||w||
    X = rng.standard_normal((n, p))
    proba = 1.0 / (1.0 + np.exp(-(X @ coef.T)))
    Y = (rng.random((n, T)) < proba).astype(np.int64)
    flip = rng.random((n, T)) < flip_y
    Y[flip] = rng.randint(0, 2, size=int(flip.sum()))
    return X, _hide(Y, missing_fraction, rng), coef


def make_mmoe_synthetic(
    n_samples: int = 1000,
    n_features: int = 100,
    correlation: float = 0.5,
    *,
    scale: float = 1.0,
    n_sinusoids: int = 10,
    alphas=None,
    betas=None,
    noise: float = 0.01,
    random_state=None,
):
    r"""Two regression tasks of tunable relatedness: the synthetic data of Ma et al. (2018).

    The construction of the MMoE paper (Section 3.2), step by step:

    1. draw two orthogonal unit vectors :math:`u_1, u_2 \in \mathbb{R}^d` (``d = n_features``;
       here the QR factor of a Gaussian d x 2 matrix);
    2. with the scale :math:`c` and the correlation :math:`p`, set the weight vectors
       :math:`w_1 = c\, u_1` and :math:`w_2 = c\,(p\, u_1 + \sqrt{1 - p^2}\, u_2)`, so that
       :math:`\cos(w_1, w_2) = p`;
    3. draw the inputs :math:`x \sim N(0, I_d)`;
    4. set, for :math:`i = 1, 2`,

       .. math:: y_i = w_i^\top x + \sum_{k=1}^{m} \sin(\alpha_k\, w_i^\top x + \beta_k)
                 + \varepsilon_i, \qquad \varepsilon_i \sim N(0, \sigma^2).

    The paper leaves :math:`c, m, \alpha_k, \beta_k` and the noise open (it writes
    :math:`N(0, 0.01)`); the defaults here are :math:`c = 1`, :math:`m = 10`,
    :math:`\alpha_k = k`, :math:`\beta_k = k^2` and noise standard deviation
    :math:`\sigma = 0.01`. ``correlation`` is the cosine of the weight vectors, not the Pearson
    correlation of the labels: the sinusoids make the latter a smaller, monotone function of it
    (the paper shows the relation); ``correlation=1`` gives two tasks that differ only by noise.
    With one ``random_state``, ``X``, :math:`u_1` and :math:`u_2` are the same at every
    ``correlation``: only :math:`w_2` moves, so correlations compare on the same inputs.

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : int, default=100
        The input dimension :math:`d` (at least 2).
    correlation : float, default=0.5
        The cosine :math:`p \in [-1, 1]` of the two weight vectors.
    scale : float, default=1.0
        The norm :math:`c` of both weight vectors.
    n_sinusoids : int, default=10
        :math:`m`; ignored when ``alphas`` or ``betas`` are given.
    alphas, betas : array-like of shape (m,), default=None
        Frequencies and phases of the sinusoids; None: :math:`1, \dots, m` and
        :math:`1, 4, \dots, m^2`.
    noise : float, default=0.01
        Standard deviation :math:`\sigma` of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, 2)
        The two tasks' targets.
    coef : ndarray of shape (2, n_features)
        The weight vectors :math:`w_1, w_2`.

    References
    ----------
    J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi. Modeling task relationships in
    multi-task learning with multi-gate mixture-of-experts. KDD 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_mmoe_synthetic
    >>> X, Y, coef = make_mmoe_synthetic(500, 20, correlation=0.9, random_state=0)
    >>> X.shape, Y.shape
    ((500, 20), (500, 2))
    >>> w1, w2 = coef
    >>> round(float(w1 @ w2 / (np.linalg.norm(w1) * np.linalg.norm(w2))), 6)
    0.9
    """
    rng = check_random_state(random_state)
    n = _check_int("n_samples", n_samples, 1)
    d = _check_int("n_features", n_features, 2)
    if not isinstance(correlation, numbers.Real) or not -1 <= correlation <= 1:
        raise ValueError(f"correlation must be in [-1, 1], got {correlation!r}.")
    if not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    m = _check_int("n_sinusoids", n_sinusoids, 0)
    alphas = np.arange(1.0, m + 1) if alphas is None else np.asarray(alphas, dtype=float)
    betas = np.arange(1.0, len(alphas) + 1) ** 2 if betas is None else np.asarray(betas, float)
    if alphas.shape != betas.shape or alphas.ndim != 1:
        raise ValueError(
            f"alphas and betas must be 1-D of the same length, got shapes {alphas.shape} and "
            f"{betas.shape}."
        )
    u1, u2 = np.linalg.qr(rng.standard_normal((d, 2)))[0].T
    p = float(correlation)
    coef = scale * np.vstack([u1, p * u1 + np.sqrt(1.0 - p * p) * u2])
    X = rng.standard_normal((n, d))
    Z = X @ coef.T  # (n, 2): w_i' x
    waves = np.sin(alphas[None, None, :] * Z[:, :, None] + betas[None, None, :]).sum(axis=2)
    Y = Z + waves + noise * rng.standard_normal((n, 2))
    return X, Y, coef
