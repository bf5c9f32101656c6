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
from .emerging_compiled import compiled_loops

__all__ = [
    "MKResult", "MKManyResult", "mann_kendall", "mann_kendall_many", "moving_sum_variance_factor", "level_variance_factors",
    "block_level_variance", "level_shares", "step_ages", "TREND_LABELS",
]

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


def _mk_scores(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's Mann–Kendall S (int64), tie term ``sum t (t-1) (2t+5)`` over groups of equal
    values (float) and non-missing count (int64): the compiled loop when numba is there
    (:mod:`hotspots.emerging_compiled`), else one array operation per lag; the same numbers."""
    loops = compiled_loops()
    if loops is not None:
        return loops.mk_scores(np.ascontiguousarray(arr))
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
    return S, tie, n


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
    x: Any, *, alpha: float = 0.05, continuity: bool = True, slope: bool = True, variance_factor: Any = 1.0
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
    variance_factor : float or array-like of float, default 1
        Multiplies ``Var(S)`` (e.g. :func:`moving_sum_variance_factor` for autocorrelated series);
        one value for all rows or one per row (:func:`level_variance_factors`).

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
    S, tie, n = _mk_scores(arr)
    nf = n.astype(float)
    var_S = (nf * (nf - 1) * (2 * nf + 5) - tie) / 18.0
    var_S = np.where(n >= 3, var_S, 0.0)
    Sf = S.astype(float)
    vf = np.asarray(variance_factor, dtype=float)
    if vf.ndim > 1 or (vf.ndim == 1 and vf.size != n_series) or not (np.all(vf > 0) and np.all(np.isfinite(vf))):
        raise ParameterError(
            f"`variance_factor` must be a positive number, or one per series ({n_series}); got {variance_factor!r}."
        )
    var_S = var_S * vf
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


#: Shares at which :func:`level_variance_factors` is computed and interpolated for many series.
_SHARE_GRID = np.linspace(0.0, 1.0, 401)


def level_variance_factors(n: int, window: int, block: int, share: Any, *, ages: Any = None) -> np.ndarray:
    """Hamed & Rao variance factors of Mann–Kendall's S for series whose level shifts from block
    to block (year to year), optionally summed over a moving window.

    Places' rates vary from year to year around a stable level (police.uk ASB: about 12 % by
    hotspot). Monthly values of one year then share that year's level, so the series is
    correlated within blocks of ``block`` steps and Mann–Kendall, which assumes independent
    values, reads a busy year followed by a quiet one as a trend: 26–33 % of simulated hotspot
    cells with 12 % year-to-year variation and no trend got one (about 4 % without it). The
    values ``x_t`` are modelled as ``level_b(t) + e_t`` with ``share`` the part of their
    variance the block level carries (blocks counted back from the last step, the cube's
    alignment); the series tested is the sum of ``window + 1`` consecutive ``x``
    (:func:`moving_sum_variance_factor`, space-time Gi*). Its lag-``k`` autocorrelation
    ``rho_k``, averaged over the series' positions, goes into Hamed & Rao's factor (as in
    :func:`moving_sum_variance_factor`). With ``share = 0`` the factor equals
    :func:`moving_sum_variance_factor`'s.

    Parameters
    ----------
    n : int
        Series length (time steps).
    window : int
        Steps each value shares with the one before (0: none).
    block : int
        Steps per block (12 for monthly steps and year-to-year variation); 1 or less: no block
        correlation.
    share : float or array-like in [0, 1]
        Share of a value's variance that is its block's level; one factor per value.
    ages : array-like of int, optional
        Each step's distance from the period's last step, in steps (:func:`step_ages`); the
        default ``n - 1, ..., 0`` is a series without gaps. A cube that left out a step the data
        do not cover passes its steps' own ages, so that blocks stay calendar years.

    Returns
    -------
    ndarray of float
        ``Var(S)`` multipliers (at least 1 where there is correlation), the shape of ``share``.
    """
    s = np.clip(np.asarray(share, dtype=float), 0.0, 1.0)
    if n < 3:
        return np.ones_like(s)
    age = step_ages(n, ages)
    if s.size > _SHARE_GRID.size:  # many cells: interpolate in share (smooth), memory O(n) not O(cells x n)
        return np.interp(s, _SHARE_GRID, level_variance_factors(n, window, block, _SHARE_GRID, ages=age))
    w = max(int(window), 0)
    # the window reaches w steps before the first: every sum has w + 1 values
    age_w = np.concatenate([age[0] + np.arange(w, 0, -1), age])
    same = np.equal.outer(age_w // block, age_w // block) if block > 1 else np.eye(age_w.size, dtype=bool)
    A = np.zeros((n, age_w.size))
    for j in range(w + 1):
        A[np.arange(n), np.arange(n) + w - j] = 1.0
    c0 = A @ A.T
    c1 = A @ same.astype(float) @ A.T
    k = np.arange(1, n)
    lag0 = np.array([np.diagonal(c0, i).mean() for i in range(n)])
    lag1 = np.array([np.diagonal(c1, i).mean() for i in range(n)])
    cov = (1.0 - s[..., None]) * lag0 + s[..., None] * lag1
    rho = np.clip(cov[..., 1:] / cov[..., :1], -1.0, 1.0)
    rho_s = 6.0 / np.pi * np.arcsin(rho / 2.0)
    term = (n - k) * (n - k - 1) * (n - k - 2) * rho_s
    return 1.0 + 2.0 / (n * (n - 1) * (n - 2)) * term.sum(axis=-1)


def step_ages(n: int, ages: Any = None) -> np.ndarray:
    """Each of ``n`` steps' distance from the period's last step, in steps: ``n - 1, ..., 0``
    by default, or ``ages`` checked (``n`` strictly decreasing integers, the last at least 0).

    Blocks (years) are counted back from the last step (step ``t`` is in block
    ``ages[t] // block``): a series that left out a step keeps the ages of the others, so a
    year with a month missing is 11 steps of one block rather than a block that reaches a month
    into the year before.
    """
    if ages is None:
        return np.arange(n - 1, -1, -1)
    a = np.asarray(ages)
    if a.shape != (n,) or not np.issubdtype(a.dtype, np.integer) or (n and a[-1] < 0) or np.any(np.diff(a) >= 0):
        raise ParameterError(
            f"`ages` must be {n} strictly decreasing whole numbers, each step's distance from the last (0 or more); "
            f"got {a.tolist() if a.size <= 12 else a.shape}."
        )
    return a.astype(np.int64)


def block_level_variance(series: Any, block: int, *, min_mean: float = 5.0, ages: Any = None) -> tuple[float, int]:
    """Relative variance of series' block (year) levels beyond their within-block scatter: a
    robust estimate over many series.

    For each series (a cell's counts or neighbourhood sums per time step) with a mean ``m`` of at
    least ``min_mean`` per step, an analysis of variance over its whole blocks (``block`` steps,
    counted back from the last; a part block at the start is left out, since a part of a year
    differs from a whole one by its season) gives the between-block mean
    square ``MSB`` and the within-block one ``MSW``. When the series' rate varies by a factor of
    sd ``sigma`` from year to year, ``E[MSB] = E[MSW] + n0 sigma² m²`` (``n0`` the effective block
    size), so ``MSB / (MSW + n0 sigma² m²)`` is about ``F(blocks - 1, steps - blocks)``.
    ``sigma2`` is the value at which the median of that ratio over the series equals the F
    distribution's median (0 when it is already below at 0).

    A median, not a mean: places where something really changed (a scheme's hotspots falling,
    a place that grew) have large ``MSB`` whatever ``sigma2``, and a mean weighted by counts let
    the busy treated hotspots of the demo set the year-to-year variation at 10 % and hide their
    own fall. The median is moved only by which side of it they sit on.

    With ``ages`` (:func:`step_ages`: a series that left out steps the data do not cover) the
    blocks are those of the whole period, and one that lost a step is a whole block of fewer
    steps: the unbalanced analysis of variance, ``n0 = (N - sum n_b² / N) / (blocks - 1)``.

    Returns
    -------
    (sigma2, n_series) : (float, int)
        ``sigma2`` the relative variance of the block levels (0 when no series qualifies or the
        series hold fewer than two whole blocks), ``n_series`` the series it rests on.
    """
    x = _as_float_2d(series, "series")
    n_series, T = x.shape
    age = step_ages(T, ages)
    if block <= 1 or T == 0:
        return 0.0, 0
    whole = age < (int(age[0]) + 1) // block * block  # whole blocks only: a part block at the start is left out
    x, age = x[:, whole], age[whole]
    if x.shape[1] == 0 or (age[0] // block) < 1:
        return 0.0, 0
    T = x.shape[1]
    bm, msw, size = _block_means(x, block, age)
    nb = size.size
    if T - nb < 1:
        return 0.0, 0
    mean = x.mean(axis=1)
    msb = (size * (bm - mean[:, None]) ** 2).sum(axis=1) / (nb - 1)
    use = (mean >= min_mean) & (msw > 0)
    if not use.any():
        return 0.0, 0
    msb, msw, m2 = msb[use], msw[use], mean[use] ** 2
    n0 = float((T - (size**2).sum() / T) / (nb - 1))  # the ANOVA's effective block size (`block` when all are whole)
    target = float(stats.f.median(nb - 1, T - nb))

    def excess(s2: float) -> float:
        return float(np.median(msb / (msw + n0 * s2 * m2))) - target

    if excess(0.0) <= 0:
        return 0.0, int(use.sum())
    hi = 0.01
    while excess(hi) > 0 and hi < 100.0:
        hi *= 4.0
    lo = 0.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi), int(use.sum())


def _block_means(x: np.ndarray, block: int, age: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's block means (blocks of ``block`` steps counted back from the last by the steps'
    ``age``, :func:`step_ages`; the first may be a part block), its within-block mean square and
    the blocks' sizes, for :func:`block_level_variance` and :func:`level_shares`."""
    T = x.shape[1]
    b = step_ages(T, age) // block
    ids, b, size = np.unique(b, return_inverse=True, return_counts=True)
    bm = np.stack([x[:, b == j].mean(axis=1) for j in range(ids.size)], axis=1)
    return bm, ((x - bm[:, b]) ** 2).sum(axis=1) / (T - ids.size), size


def level_shares(series: Any, block: int, sigma2: float, *, ages: Any = None) -> np.ndarray:
    """Share of each series' per-step variance carried by its block (year) level.

    ``sigma2 mean² / (sigma2 mean² + MSW)``: the block levels' variance for a series with this
    mean (:func:`block_level_variance`'s ``sigma2``) against the series' own within-block mean
    square ``MSW``. 0 for a series without within-block scatter to compare with or when
    ``sigma2`` is 0; the input to :func:`level_variance_factors`. ``ages`` as there.
    """
    x = _as_float_2d(series, "series")
    n_series, T = x.shape
    age = step_ages(T, ages)
    if block <= 1 or sigma2 <= 0 or T - np.unique(age // block).size < 1:  # no within-block degree of freedom
        return np.zeros(n_series)
    _, msw, _ = _block_means(x, block, age)
    lev = sigma2 * x.mean(axis=1) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(lev + msw > 0, lev / (lev + msw), 0.0)
    return np.clip(share, 0.0, 1.0)
