"""
===============================================================
Low rank: the singular values of LowRankRegressor across alphas
===============================================================

:class:`skmtl.linear.LowRankRegressor` penalises the trace norm of the coefficient matrix,
the sum of its singular values,

.. math:: \\min_{W,\\, b} \\; \\frac{1}{2n} \\|Y - XW - \\mathbf{1} b^\\top\\|_F^2
          + \\alpha \\|W\\|_*, \\qquad \\|W\\|_* = \\sum_k \\sigma_k(W),

the convex surrogate of its rank. Its proximal operator soft-thresholds the singular values, so
a large ``alpha`` sets the small ones *exactly* to zero: the tasks' coefficient vectors then lie
in a subspace spanned by a few shared directions. Here the true coefficients of 12 tasks have
rank 3 (:func:`skmtl.datasets.make_multitask_regression` with ``rank=3``), and we watch the
spectrum of the fitted ``coef_`` shrink as ``alpha`` grows, against independent ridge fits
(full rank whatever the data) and the truth.
"""

# %%
# Data: 12 tasks whose coefficients have rank 3
# ---------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge

from skmtl.datasets import make_multitask_regression
from skmtl.linear import LowRankRegressor

X, Y, coef = make_multitask_regression(
    n_samples=200, n_features=30, n_tasks=12, rank=3, noise=1.0, random_state=0
)
X_train, X_test, Y_train, Y_test = X[:100], X[100:], Y[:100], Y[100:]
print("true singular values:", np.round(np.linalg.svd(coef, compute_uv=False)[:5], 2))

# %%
# A path of alphas, warm-started
# ------------------------------
# The largest useful alpha is the spectral norm of the gradient of the data fit at zero: above
# it, ``coef_`` is zero. Going down from there with ``warm_start=True`` reuses each solution as
# the next starting point.
Xc, Yc = X_train - X_train.mean(0), Y_train - Y_train.mean(0)
alpha_max = np.linalg.norm(Xc.T @ Yc / len(X_train), ord=2)
alphas = alpha_max * np.geomspace(0.5, 1e-3, 24)

model = LowRankRegressor(warm_start=True, tol=1e-6)
spectra, ranks, test_mse = [], [], []
for alpha in alphas:
    model.set_params(alpha=alpha).fit(X_train, Y_train)
    s = np.linalg.svd(model.coef_, compute_uv=False)
    spectra.append(s)
    ranks.append(int(np.sum(s > 1e-8 * max(s[0], 1e-300))))
    test_mse.append(np.mean((model.predict(X_test) - Y_test) ** 2))
spectra = np.array(spectra)
best = int(np.argmin(test_mse))
print(f"best alpha on the test half: {alphas[best]:.3g} (rank {ranks[best]})")

ridge = Ridge(alpha=1.0).fit(X_train, Y_train)
ridge_mse = np.mean((ridge.predict(X_test) - Y_test) ** 2)
print(f"test MSE: low rank {test_mse[best]:.2f}, independent ridge {ridge_mse:.2f}")

# %%
# The spectrum shrinks, then vanishes from the tail
# -------------------------------------------------
# Left: the singular values of ``coef_`` at four alphas (log scale; an exact zero is not drawn),
# the truth and the ridge fit. Right: along the path, every singular value (grey) and the rank
# of ``coef_``. Over a wide range of alphas the fit has exactly the true rank, 3. The held-out
# error is lowest at a smaller alpha, where a tail of small singular values has come back: the
# trace norm shrinks the large singular values as much as the small ones, so prediction trades
# a little rank for less bias on the three that matter. Ridge keeps all 12, with a heavy tail.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
k = np.arange(1, coef.shape[0] + 1)


def nonzero(s):
    """Singular values, exact (numerical) zeros as NaN so that a log axis leaves them out."""
    return np.where(s > 1e-8 * s.max(), s, np.nan)


ax1.semilogy(k, nonzero(np.linalg.svd(coef, compute_uv=False)), "k*-", ms=11,
             label="truth (rank 3)")
ax1.semilogy(k, np.linalg.svd(ridge.coef_, compute_uv=False), "s--", color="0.5",
             label="independent ridge")
for i, color, marker in zip([3, 9, best, 21], ["tab:red", "tab:orange", "tab:green", "tab:blue"],
                            "o^Dv", strict=True):
    ax1.semilogy(k, nonzero(spectra[i]), marker + "-", color=color, ms=5,
                 label=f"alpha = {alphas[i]:.3g} (rank {ranks[i]})")
ax1.set_xlabel("index k")
ax1.set_ylabel(r"singular value $\sigma_k$ of coef_")
ax1.set_xticks(k)
ax1.legend(fontsize=8)

ax2.semilogx(alphas, spectra, color="0.6", lw=1)
ax2.set_xlabel("alpha")
ax2.set_ylabel(r"$\sigma_k$ (grey)")
ax2.axvline(alphas[best], color="tab:green", ls=":", label="lowest test MSE")
ax2.legend(loc="upper right", fontsize=8)
twin = ax2.twinx()
twin.semilogx(alphas, ranks, "C3-", drawstyle="steps-mid")
twin.set_ylabel("rank of coef_", color="C3")
twin.set_yticks(range(0, 13, 3))
plt.show()
