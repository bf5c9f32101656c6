"""Mann–Kendall trend test, for one series or vectorised over many grid cells.

The Mann–Kendall test asks whether a series tends to go up or down over time without assuming
the change is linear or the values normal. It is the trend test behind ArcGIS Pro's Emerging Hot
Spot Analysis, where it is applied to each location's series of Gi* z-scores (one per time
slice); here it works on any series (counts, densities, z-scores).

Formulation (Mann 1945; Kendall 1975; Gilbert 1987; as in ``pymannkendall.original_test``)
------------------------------------------------------------------------------------------
For a series :math:`x_1, \\dots, x_n` (missing values skipped; the remaining values keep their
order),

* :math:`S = \\sum_{i<j} \\operatorname{sign}(x_j - x_i)`;
* :math:`\\operatorname{Var}(S) = \\frac{1}{18}\\left[n(n-1)(2n+5) - \\sum_g t_g(t_g-1)(2t_g+5)\\right]`,
  the sum running over groups of tied values of size :math:`t_g` (the tie correction);
* :math:`Z = (S-1)/\\sqrt{\\operatorname{Var}(S)}` if :math:`S>0`, :math:`(S+1)/\\sqrt{\\cdot}` if
  :math:`S<0`, and 0 if :math:`S=0` (continuity correction);
* two-sided :math:`p = 2\\,(1-\\Phi(|Z|))`; the trend is ``"up"`` when :math:`p<\\alpha` and
  :math:`Z>0`, ``"down"`` when :math:`p<\\alpha` and :math:`Z<0`, else ``"none"``;
* Kendall's :math:`\\tau = S / (n(n-1)/2)` (tau-a, as pymannkendall reports; with ties in the
  series scipy's ``kendalltau(t, x)`` reports tau-b :math:`= S/\\sqrt{n_0(n_0-n_1)}` with
  :math:`n_0=n(n-1)/2` and :math:`n_1=\\sum_g t_g(t_g-1)/2`);
* Sen's slope: the median of :math:`(x_j-x_i)/(j-i)` over all pairs, in units of x per time step.

With ``continuity=False`` the z-score and p-value equal scipy's
``kendalltau(range(n), x, method="asymptotic")``.

The normal approximation needs a reasonable number of time steps: ArcGIS recommends at least ten.
Series with fewer than three non-missing values have no variance to speak of; they get ``NaN``
z and p and trend ``"none"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from . import validation
from ._errors import ParameterError

__all__ = ["MKResult", "MKManyResult", "mann_kendall", "mann_kendall_many", "moving_sum_variance_factor", "TREND_LABELS"]

#: Trend labels, in the order down / none / up.
TREND_LABELS = ("down", "none", "up")


@dataclass(frozen=True)
class MKResult:
    """Mann–Kendall test of one series.

    Attributes
    ----------
    S : float
        Mann–Kendall score: concordant minus discordant pairs.
    var_S : float
        Variance of S under no trend, tie-corrected.
    z : float
        Standardised score (continuity-corrected unless ``continuity=False``).
    p : float
        Two-sided p-value (normal approximation).
    tau : float
        Kendall's tau-a, ``S / (n (n-1) / 2)``.
    trend : str
        ``"up"``, ``"down"`` or ``"none"`` at level ``alpha``.
    slope : float
        Sen's slope (median pairwise slope), units of x per time step.
    n : int
        Non-missing values used.
    alpha : float
    continuity : bool
    """

    S: float
    var_S: float
    z: float
    p: float
    tau: float
    trend: str
    slope: float
    n: int
    alpha: float = 0.05
    continuity: bool = True

    @property
    def significant(self) -> bool:
        return self.trend != "none"


@dataclass(frozen=True, eq=False)
class MKManyResult:
    """Mann–Kendall tests of many series at once (one row per series).

    Attributes
    ----------
    S, var_S, z, p, tau, slope : ndarray of float, shape (n_series,)
    n : ndarray of int, shape (n_series,)
        Non-missing values per series.
    trend : ndarray of str, shape (n_series,)
        ``"up"``, ``"down"`` or ``"none"``.
    alpha : float
    continuity : bool
    """

    S: np.ndarray
    var_S: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray
    trend: np.ndarray
    slope: np.ndarray
    n: np.ndarray
    alpha: float = 0.05
    continuity: bool = True
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.S.shape[0])

    def __getitem__(self, i: int) -> MKResult:
        """The result for series ``i`` as an :class:`MKResult`."""
        return MKResult(
            float(self.S[i]), float(self.var_S[i]), float(self.z[i]), float(self.p[i]), float(self.tau[i]),
            str(self.trend[i]), float(self.slope[i]), int(self.n[i]), self.alpha, self.continuity,
        )


def _as_float_2d(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"`{name}` must be numbers; got values that cannot be read as numbers.") from None
    if arr.ndim != 2:
        raise ParameterError(f"`{name}` must be a 2-D array of shape (n_series, n_time_steps); got shape {arr.shape}.")
    if np.isinf(arr).any():
        raise ParameterError(f"`{name}` has infinite values; replace them with NaN (missing) or finite numbers.")
    return arr


def _z_p_trend(S: np.ndarray, var_S: np.ndarray, alpha: float, continuity: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(var_S)
        if continuity:
            num = np.where(S > 0, S - 1, np.where(S < 0, S + 1, 0.0))
        else:
            num = S.astype(float)
        z = np.where(var_S > 0, num / np.where(var_S > 0, sd, 1.0), np.nan)
    p = np.where(np.isnan(z), np.nan, 2.0 * stats.norm.sf(np.abs(np.nan_to_num(z))))
    sig = (p < alpha) & ~np.isnan(p)
    trend = np.full(S.shape, "none", dtype=object)
    trend[sig & (z > 0)] = "up"
    trend[sig & (z < 0)] = "down"
    return z, p, trend


def _sens_slope(x: np.ndarray, chunk_pairs: int = 4_000_000) -> np.ndarray:
    """Median pairwise slope per row, skipping pairs with a missing value."""
    n_series, T = x.shape
    if T < 2:
        return np.full(n_series, np.nan)
    i, j = np.triu_indices(T, k=1)
    dt = (j - i).astype(float)
    out = np.empty(n_series)
    rows = max(1, chunk_pairs // max(len(i), 1))
    for r0 in range(0, n_series, rows):
        block = x[r0 : r0 + rows]
        slopes = (block[:, j] - block[:, i]) / dt
        with np.errstate(all="ignore"):
            all_nan = np.isnan(slopes).all(axis=1)
            med = np.full(block.shape[0], np.nan)
            if (~all_nan).any():
                med[~all_nan] = np.nanmedian(slopes[~all_nan], axis=1)
        out[r0 : r0 + rows] = med
    return out


def moving_sum_variance_factor(n: int, window: int) -> float:
    """Hamed & Rao (1998) variance correction of Mann–Kendall's S for a moving-sum series.

    A series whose values are sums over ``window + 1`` consecutive time steps of independent
    values (space-time Gi* with ``time_window = window`` shares ``window`` steps between
    neighbouring bins) is autocorrelated at lags ``1 .. window`` with ``rho_k = 1 - k / (window +
    1)`` even when nothing trends. Mann–Kendall assumes independence, so it calls trends too often
    (14 % at alpha 5 % with ``window = 1``). Hamed & Rao's correction multiplies ``Var(S)`` by::

        n / n* = 1 + 2 / (n (n-1) (n-2)) * sum_{k=1}^{n-1} (n-k) (n-k-1) (n-k-2) rho_s(k)

    with ``rho_s`` the autocorrelation of the ranks, ``(6 / pi) arcsin(rho_k / 2)`` for normal
    values. Here ``rho_k`` is the known autocorrelation of the moving sum (not estimated from the
    short series), so the correction does not weaken the test where there is no overlap.

    Parameters
    ----------
    n : int
        Series length.
    window : int
        Shared steps (0: no correction, factor 1).
    """
    if window <= 0 or n < 3:
        return 1.0
    k = np.arange(1, n)
    rho = np.clip(1.0 - k / (window + 1.0), 0.0, None)
    rho_s = 6.0 / np.pi * np.arcsin(rho / 2.0)
    term = (n - k) * (n - k - 1) * (n - k - 2) * rho_s
    return float(1.0 + 2.0 / (n * (n - 1) * (n - 2)) * term.sum())


def mann_kendall_many(
    x: Any, *, alpha: float = 0.05, continuity: bool = True, slope: bool = True, variance_factor: float = 1.0
) -> MKManyResult:
    """Mann–Kendall trend test on each row of ``x``, vectorised.

    Parameters
    ----------
    x : array-like of float, shape (n_series, T)
        One series per row, time steps in columns (oldest first). ``NaN`` marks a missing value,
        skipped as in ``pymannkendall`` (the remaining values keep their order).
    alpha : float, default 0.05
        Significance level for the ``trend`` labels (two-sided).
    continuity : bool, default True
        Apply the continuity correction (``S ∓ 1``) to the z-score.
    slope : bool, default True
        Also compute Sen's slope (costs ``T (T-1) / 2`` values per series; set False to skip on
        very large inputs, leaving ``slope`` as NaN).
    variance_factor : float, default 1
        Multiplies ``Var(S)`` (e.g. :func:`moving_sum_variance_factor` for autocorrelated series).

    Returns
    -------
    MKManyResult
        Arrays of S, Var(S), z, p, tau, trend, slope and n, one entry per row.

    Notes
    -----
    Memory and time are ``O(n_series * T)`` per lag, ``O(n_series * T²)`` in total; 10⁶ cells
    by 24 monthly slices take a few seconds.
    """
    a = validation.alpha(alpha)
    arr = _as_float_2d(x, "x")
    n_series, T = arr.shape
    valid = ~np.isnan(arr)
    n = valid.sum(axis=1)
    S = np.zeros(n_series, dtype=np.int64)
    for k in range(1, T):
        d = arr[:, k:] - arr[:, :-k]
        sgn = np.sign(d)
        sgn[np.isnan(sgn)] = 0
        S += sgn.sum(axis=1).astype(np.int64)
    # Tie correction: sizes of groups of equal values within each row (NaN excluded).
    tie = np.zeros(n_series, dtype=float)
    if T > 1:
        srt = np.sort(arr, axis=1)  # NaN sorts last
        sv = ~np.isnan(srt)
        same_as_prev = np.zeros_like(sv)
        same_as_prev[:, 1:] = (srt[:, 1:] == srt[:, :-1]) & sv[:, 1:]
        new_group = sv & ~same_as_prev
        gid = np.cumsum(new_group, axis=1) - 1  # group index within the row
        rows_idx = np.broadcast_to(np.arange(n_series)[:, None], arr.shape)
        flat = (rows_idx * T + gid)[sv]
        t = np.bincount(flat, minlength=n_series * T).reshape(n_series, T).astype(float)
        tie = (t * (t - 1) * (2 * t + 5)).sum(axis=1)
    nf = n.astype(float)
    var_S = (nf * (nf - 1) * (2 * nf + 5) - tie) / 18.0
    var_S = np.where(n >= 3, var_S, 0.0)
    Sf = S.astype(float)
    if not (variance_factor > 0 and np.isfinite(variance_factor)):
        raise ParameterError(f"`variance_factor` must be a positive number; got {variance_factor!r}.")
    var_S = var_S * float(variance_factor)
    z, p, trend = _z_p_trend(Sf, var_S, a, continuity)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(n >= 2, Sf / (0.5 * nf * (nf - 1)), np.nan)
    sl = _sens_slope(arr) if slope else np.full(n_series, np.nan)
    return MKManyResult(
        S=Sf, var_S=var_S, z=z, p=p, tau=tau, trend=trend, slope=sl, n=n.astype(np.int64), alpha=a,
        continuity=bool(continuity), params={"alpha": a, "continuity": bool(continuity), "n_series": n_series, "T": T},
    )


def mann_kendall(x: Any, *, alpha: float = 0.05, continuity: bool = True) -> MKResult:
    """Mann–Kendall trend test of one series.

    Parameters
    ----------
    x : array-like of float, shape (T,)
        Values in time order (oldest first); ``NaN`` values are skipped.
    alpha : float, default 0.05
        Significance level for the ``trend`` label (two-sided).
    continuity : bool, default True
        Apply the continuity correction to the z-score (the standard formulation).

    Returns
    -------
    MKResult

    Examples
    --------
    >>> r = mann_kendall([1, 2, 3, 2, 5, 4, 6, 6, 7])
    >>> r.S, r.var_S, r.trend
    (30.0, 90.0, 'up')
    """
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("`x` must be a sequence of numbers.") from None
    if arr.ndim != 1:
        raise ParameterError(f"`x` must be one series (1-D); got shape {arr.shape}. Use `mann_kendall_many` for several.")
    return mann_kendall_many(arr[None, :], alpha=alpha, continuity=continuity)[0]
