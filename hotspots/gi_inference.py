"""p-values for Gi* neighbourhood sums of counts that hold their level at any density.

Gi* asks whether the incidents in a neighbourhood of ``W`` cells (the cell itself included) are
more, or fewer, than chance would put there. Its analytic z-score is a normal approximation,
badly wrong in the tails for sparse, skewed counts: a neighbourhood holding 4 incidents where
0.5 are expected gets ``z`` near 5 (``p`` about 1e-6) while its real chance under random
placement is about 2 in 1,000, which is why analytic Gi* calls hot spots in pure noise, and its
lower tail cannot be reached at all, so it finds no cold spots on skewed counts. Two exact
alternatives are computed here.

Count test (the default for counts): :func:`count_test_tails`
------------------------------------------------------------------
The null hypothesis is that cell counts are independent draws from one background distribution
(no clustering). The neighbourhood sum ``S`` of ``W`` cells is then compared with the exact
distribution of a sum of ``W`` such counts. The background is fitted by maximum likelihood to the
cell counts with the busiest :data:`CENSOR_SHARE` of cells *censored* (:func:`background_fit`:
their counts enter only as "at least ``c``"), so that the hot spots looked for do not set the
yardstick they are judged against:

* when the background shows no extra-Poisson variation (``kappa = 0``), ``S ~ Binomial(N, W / n)``
  given the total ``N`` over the ``n`` cells: the exact conditional test under complete spatial
  randomness (incidents falling independently and uniformly over the study area), valid at any
  density;
* when it does (real data: towns, busy streets), each count is negative binomial with the fitted
  background mean ``m`` and variance ``m + kappa m^2``, and the sum is negative binomial with
  mean ``W m`` and size ``W / kappa``.

Why censor: the moment estimate ``kappa = (s^2 - m) / m^2`` over the other cells (the previous
rule) is dominated by the hot spots themselves. With 20 busy places on a random background it
gave ``kappa`` near 40 and only 40 % of the places became hot spots; with the censored fit, all
of them (``python -m benchmarks.calibration``). Under the null the censored fit is an ordinary,
consistent maximum-likelihood fit, so random maps, Poisson or overdispersed, keep their
false-alarm rate. On real police.uk data the fitted dispersion stays high (Derbyshire 2025 at
500 m: ``kappa`` 18) and towns' concentrations are found without the rural zeros making every
street "hot".

Where the data are so sparse that the censored tail starts at 2 incidents, a single cluster's
cells are most of the evidence of dispersion the fit sees. So each neighbourhood (when
``sums_sq`` is given, as :func:`hotspots.gi_star` does) is judged against the *less* dispersed of
the censored fit and the moment fit of the cells **outside** it (with the study area's mean
``Ybar``): a compact cluster cannot hide itself by inflating the dispersion it is judged against,
and many hot spots cannot hide each other. Measured on independent negative binomial maps
(no clustering) the share of maps with any hot spot stays at 2.5–3.8 %.

Two-sided ``p = min(1, 2 min(P(X >= S), P(X <= S)))``; the side is hot when the upper tail is
the nearer one.

Randomisation test: :func:`neighbourhood_sum_tails`
--------------------------------------------------------
The distribution whose normal approximation the analytic z is: the sum of ``W`` values drawn at
random from the ``n`` cell values, computed exactly (drawn with replacement) by FFT convolution
of their empirical distribution. It conditions on the observed values, so a single cell holding
a compact cluster is *not* significant (a random neighbourhood that happens to include that cell
is as extreme): it tests spatial association of the values, not concentration.

Drawing *with* replacement instead of without changes the variance by the finite-population
factor ``(n - W) / (n - 1)`` (below 0.4 % when ``W = 9`` and ``n = 2,500``). Sums drawn
without replacement are smaller in the convex order (Hoeffding 1963), so the tails used here are
slightly heavier than the exact without-replacement ones: the test errs on the conservative side.
FFT convolution has an absolute error of about ``1e-16`` times the largest probability, so tail
probabilities below ``1e-13`` are reported as :data:`P_FLOOR`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import optimize, special, stats

from ._errors import ParameterError

__all__ = [
    "SumTails",
    "count_test_tails",
    "background_fit",
    "BackgroundFit",
    "CENSOR_SHARE",
    "neighbourhood_sum_tails",
    "leave_out_tails",
    "is_count_data",
    "exact_feasible",
    "P_FLOOR",
    "MAX_FFT_WORK",
]

#: Smallest tail probability reported (FFT round-off makes smaller values meaningless).
P_FLOOR = 1e-13
#: Largest total FFT length (summed over the distinct neighbourhood sizes) computed exactly;
#: above it (huge counts with huge neighbourhoods) callers fall back to permutations.
MAX_FFT_WORK = 30_000_000


@dataclass(frozen=True)
class SumTails:
    """Upper and lower tail probabilities of each observed neighbourhood sum.

    Attributes
    ----------
    p_upper : ndarray of float
        ``P(X >= s)``: chance that a random neighbourhood of the same size holds at least as much.
    p_lower : ndarray of float
        ``P(X <= s)``.
    p_min : float
        Smallest two-sided p-value any neighbourhood could reach (``2 P(X >= largest possible
        sum)`` over the neighbourhood sizes present): no result can be more significant.
    kappa : ndarray of float or None
        The dispersion each neighbourhood was judged against (count test), else None.
    background : BackgroundFit or None
        The count test's null distribution of one cell (:func:`background_fit`), else None.
    """

    p_upper: np.ndarray
    p_lower: np.ndarray
    p_min: float
    kappa: np.ndarray | None = None
    background: BackgroundFit | None = None


#: Share of the busiest study-area cells whose counts only enter the background fit as "at least
#: c" (:func:`background_fit`): the hot spots being looked for must not set the yardstick.
CENSOR_SHARE = 0.05


@dataclass(frozen=True)
class BackgroundFit:
    """The null distribution of one cell's count in the count test: negative binomial with mean
    ``mean`` and variance ``mean + kappa mean^2`` (``kappa = 0``: Poisson, tested as binomial).

    Attributes
    ----------
    mean : float
        Incidents per cell of the background (the fitted bulk of the cells).
    kappa : float
        Extra-Poisson dispersion (0 when the bulk shows none).
    censored_at : int
        Counts of at least this value entered the fit only as "at least ``censored_at``".
    n_censored, n_cells : int
        How many cells were censored, of how many.
    """

    mean: float
    kappa: float
    censored_at: int
    n_censored: int
    n_cells: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "kappa": self.kappa, "censored_at": self.censored_at,
                "n_censored": self.n_censored, "n_cells": self.n_cells}

    def describe(self) -> str:
        what = "Poisson (no extra variation)" if self.kappa <= 0 else f"negative binomial, kappa {self.kappa:.3g}"
        return (f"background {self.mean:.3g} incidents per cell, {what}, fitted with the {self.n_censored:,} busiest of "
                f"{self.n_cells:,} cells censored at {self.censored_at}")


def background_fit(values: np.ndarray, censor_share: float = CENSOR_SHARE) -> BackgroundFit:
    """Maximum-likelihood negative binomial fit to cell counts, the busiest cells censored.

    Counts of at least ``c`` enter the likelihood as ``P(X >= c)``, where ``c >= 2`` is the
    smallest count held by at most ``censor_share`` of the cells. Under the null (counts drawn
    from one distribution) this is an ordinary, consistent maximum-likelihood fit; when hot
    spots exist, their cells are the censored ones, so the size of their counts does not inflate
    the mean and dispersion they are judged against. (The moment estimate over all cells is
    dominated by the hot spots themselves: with 20 busy places on a random background it gave
    ``kappa`` near 40 and hid half of them.) ``kappa`` is 0 when a Poisson fits as well.

    Parameters
    ----------
    values : ndarray
        Cell counts (whole numbers >= 0).
    censor_share : float
        Largest share of cells censored, ``0 < censor_share < 0.5``.

    Returns
    -------
    BackgroundFit

    Examples
    --------
    A Poisson background of 0.5 per cell and 50 hot cells of 200 (the moment estimate over all
    cells: mean 2.5, ``kappa`` 64):

    >>> rng = np.random.default_rng(0)
    >>> fit = background_fit(np.r_[rng.poisson(0.5, 5000), np.full(50, 200)])
    >>> round(fit.mean, 2), round(fit.kappa, 2), fit.censored_at, fit.n_censored
    (0.52, 0.13, 3, 112)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not _is_whole(v):
        raise ParameterError("`values` must be whole numbers >= 0 (counts) for the background fit.")
    if not 0 < censor_share < 0.5:
        raise ParameterError(f"`censor_share` must be between 0 and 0.5; got {censor_share!r}.")
    n = v.size
    bc = np.bincount(v.astype(np.int64))
    share_ge = np.cumsum(bc[::-1])[::-1] / n  # share_ge[k]: share of cells with count >= k
    small = np.flatnonzero(share_ge[2:] <= censor_share)
    c = int(small[0]) + 2 if small.size else bc.size
    nk = bc[:c].astype(np.float64)
    n_cens = float(n - nk.sum())
    k = np.arange(c, dtype=np.float64)
    mean_all = float(v.mean())
    if mean_all <= 0:
        return BackgroundFit(0.0, 0.0, c, int(n_cens), n)

    # The objectives are evaluated some 16,000 times: the censored tails come straight from the
    # special functions (P(X >= c) = pdtrc(c - 1, m) for the Poisson, I_{1-p}(c, size) for the
    # negative binomial, as scipy.stats computes them) without scipy.stats' per-call argument
    # checks, which cost ten times the rest of an evaluation.
    lgk1 = special.gammaln(k + 1)

    def nll_poisson(t: np.ndarray) -> float:
        m = float(np.exp(t[0]))
        ll = float((nk * (k * t[0] - m - lgk1)).sum())
        if n_cens:
            with np.errstate(divide="ignore"):
                ll += n_cens * float(np.log(special.pdtrc(c - 1, m)))
        # finite, as nll_nb's: an infinite simplex value made Nelder-Mead's convergence check
        # compute inf - inf (a RuntimeWarning on a few huge cells, e.g. 5 km cells)
        return -ll if np.isfinite(ll) else 1e300

    @np.errstate(all="ignore")
    def nll_nb(t: np.ndarray) -> float:
        m, kap = float(np.exp(t[0])), float(np.exp(t[1]))
        size = 1.0 / kap
        lp, lq = -np.log1p(m * kap), np.log(m * kap) - np.log1p(m * kap)  # log p, log (1 - p)
        ll = float((nk * (special.gammaln(k + size) - special.gammaln(size) - lgk1 + size * lp + k * lq)).sum())
        if n_cens:
            with np.errstate(divide="ignore"):
                ll += n_cens * float(np.log(special.betainc(c, size, 1.0 - np.exp(lp))))
        return -ll if np.isfinite(ll) else 1e300  # finite: Nelder-Mead compares simplex values

    below = v[v < c]
    m0 = float(np.log(max(below.mean() if below.size else mean_all, 1e-6)))
    pois = optimize.minimize(nll_poisson, [m0], method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10})
    best = None
    for k0 in (0.01, 0.3, 3.0):
        r = optimize.minimize(nll_nb, [m0, np.log(k0)], method="Nelder-Mead",
                              options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000})
        if np.isfinite(r.fun) and (best is None or r.fun < best.fun):
            best = r
    if best is None or best.fun >= pois.fun - 1e-9 or np.exp(best.x[1]) < 1e-6:
        return BackgroundFit(float(np.exp(pois.x[0])), 0.0, c, int(n_cens), n)
    return BackgroundFit(float(np.exp(best.x[0])), float(np.exp(best.x[1])), c, int(n_cens), n)


def is_count_data(values: np.ndarray) -> bool:
    """True when every value is a whole number >= 0 (incident counts)."""
    v = np.asarray(values, dtype=np.float64)
    return _is_whole(v)


def count_test_tails(
    values: np.ndarray,
    sizes: np.ndarray,
    sums: np.ndarray,
    sums_sq: np.ndarray | None = None,
    *,
    background: BackgroundFit | None = None,
    shared: int = 1,
) -> SumTails:
    """Exact count-test tail probabilities of neighbourhood sums (module docs, "Count test").

    Parameters
    ----------
    values : ndarray, shape (n,)
        Counts of the ``n`` study-area cells (whole numbers >= 0).
    sizes : ndarray of int, shape (k,)
        Cells in each tested neighbourhood ``W`` (the cell itself included), ``1 <= W``.
    sums : ndarray, shape (k,)
        Each neighbourhood's sum of counts.
    sums_sq : ndarray, shape (k,), optional
        Each neighbourhood's sum of squared counts. When given, a neighbourhood is judged against
        the less dispersed of two backgrounds: the censored fit, and the moment fit of the cells
        outside it (module docs).
    background : BackgroundFit, optional
        The censored background; default :func:`background_fit` of ``values``.
    shared : int, default 1
        How many of a neighbourhood's values share one underlying rate (a space-time
        neighbourhood's time steps of one cell: a busy cell is busy every month). The negative
        binomial sum is then that of ``W / shared`` independent units, each the sum of ``shared``
        values: size ``W / (shared kappa)`` instead of ``W / kappa`` (the binomial, ``kappa = 0``,
        is unchanged). With rates constant over time this is the exact null; with rates varying
        from step to step it errs on the conservative side.

    Returns
    -------
    SumTails
        ``kappa`` holds the dispersion used for each neighbourhood (0: binomial test) and
        ``background`` the censored fit.

    Examples
    --------
    300 incidents over 1,000 cells with no extra variation; a neighbourhood of 9 cells holding 8
    is compared with Binomial(300, 9 / 1000):

    >>> vals = np.r_[np.ones(300), np.zeros(700)]
    >>> t = count_test_tails(vals, np.array([9]), np.array([8.0]))
    >>> from scipy import stats
    >>> bool(np.isclose(t.p_upper[0], stats.binom.sf(7, 300, 0.009)))
    True
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(sizes, dtype=np.float64).ravel()
    s = np.rint(np.asarray(sums, dtype=np.float64).ravel())
    s2 = None if sums_sq is None else np.asarray(sums_sq, dtype=np.float64).ravel()
    if w.shape != s.shape or (s2 is not None and s2.shape != s.shape):
        raise ParameterError("`sizes`, `sums` and `sums_sq` must have the same length.")
    if not _is_whole(v):
        raise ParameterError("`values` must be whole numbers >= 0 (counts) for the count test.")
    if int(shared) != shared or shared < 1:
        raise ParameterError(f"`shared` must be a whole number >= 1; got {shared!r}.")
    n = v.size
    total = float(v.sum())
    fit = background if background is not None else background_fit(v)
    if total <= 0:
        return SumTails(np.ones(s.size), np.ones(s.size), 1.0, np.zeros(s.size), fit)
    # The tails depend on (W, S[, S2]) only: computed once per distinct row (a national grid of
    # millions of cells holds a few hundred thousand), then spread back to every cell.
    cols = [w, s] if s2 is None else [w, s, s2]
    uniq, inverse = _distinct_rows(cols)
    rows = [c[:, 0] for c in np.hsplit(uniq, uniq.shape[1])] if uniq is not None else cols
    mean, kappa = _null_rows(v, n, total, rows, fit)
    up, lo = _count_tails(n, total, rows[0], rows[1], mean, kappa * shared)
    p_min = 1.0
    if s.size:
        # the most significant any neighbourhood could be: all incidents in it, judged against one
        # of the (mean, kappa) pairs in use; a sum over more cells is stochastically larger, so per
        # pair the smallest neighbourhood gives the smallest tail. Distinct pairs of the distinct
        # rows, found with numpy: a Python set over every cell took 0.7 s on 2 million cells.
        pairs = np.unique(np.column_stack([mean, kappa * shared]), axis=0)
        k = pairs.shape[0]
        best = float(_count_tails(n, total, np.full(k, w.min()), np.full(k, total), pairs[:, 0], pairs[:, 1])[0].min())
        p_min = float(min(1.0, 2.0 * max(best, P_FLOOR)))
    if uniq is not None:
        up, lo, kappa = up[inverse], lo[inverse], kappa[inverse]
    return SumTails(np.clip(up, P_FLOOR, 1.0), np.clip(lo, P_FLOOR, 1.0), p_min, kappa, fit)


def _null_rows(v: np.ndarray, n: int, total: float, rows: list[np.ndarray], fit: BackgroundFit) -> tuple[np.ndarray, np.ndarray]:
    """Mean per cell and dispersion each neighbourhood is judged against (module docs)."""
    w = rows[0]
    mean = np.full(w.size, fit.mean)
    kappa = np.full(w.size, fit.kappa)
    if len(rows) < 3 or fit.kappa <= 0:
        return mean, kappa
    s, s2 = rows[1], rows[2]
    n_out = n - w
    ok = n_out >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        m_out = np.where(ok, (total - s) / np.where(ok, n_out, 1.0), 0.0)
        ss_out = float((v * v).sum()) - s2 - n_out * m_out * m_out
        var_out = np.where(ok, ss_out / np.where(ok, n_out - 1.0, 1.0), 0.0)
        # no incident outside: no variation there either (binomial); too few cells outside: the fit
        k_out = np.where(m_out > 0, (var_out - m_out) / np.where(m_out > 0, m_out * m_out, 1.0), 0.0)
    k_out = np.where(ok, np.clip(np.nan_to_num(k_out, nan=np.inf), 0.0, None), np.inf)
    use = k_out < fit.kappa
    mean[use] = total / n
    kappa[use] = k_out[use]
    return mean, kappa


def _distinct_rows(cols: list[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    """Distinct rows of the columns (whole numbers >= 0) and the index of each row among them.

    Rows are packed into one int64 key (exact while the product of the ranges stays below 2^62)
    and factorised by hashing; (None, empty) when they do not fit or are not whole numbers.
    """
    if cols[0].size < 2 or not all(_is_whole(c) for c in cols):
        return None, np.empty(0, dtype=np.int64)
    tops = [int(c.max()) + 1 for c in cols]
    if float(np.prod([float(t) for t in tops])) >= 2.0**62:
        return None, np.empty(0, dtype=np.int64)
    import pandas as pd

    key = np.zeros(cols[0].size, dtype=np.int64)
    for c, t in zip(reversed(cols), reversed(tops)):
        key = key * t + c.astype(np.int64)
    inverse, keys = pd.factorize(key, sort=False)
    out = []
    for t in tops:
        out.append(keys % t)
        keys = keys // t
    return np.column_stack(out).astype(np.float64), inverse


def _count_tails(
    n: int, total: float, w: np.ndarray, s: np.ndarray, mean: np.ndarray, kappa: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower tails of the sums ``s`` of ``w`` cells (``total > 0``): binomial where
    ``kappa`` is 0, else negative binomial with mean ``w mean`` and size ``w / kappa``."""
    up = np.ones(s.size)
    lo = np.ones(s.size)
    pois = kappa <= 0
    if pois.any():
        N = int(round(total))
        pr = np.clip(w[pois] / n, 0.0, 1.0)
        up[pois], lo[pois] = stats.binom.sf(s[pois] - 1, N, pr), stats.binom.cdf(s[pois], N, pr)
    nb = ~pois
    if nb.any():
        size = w[nb] / kappa[nb]
        prob = size / (size + w[nb] * mean[nb])
        up[nb], lo[nb] = stats.nbinom.sf(s[nb] - 1, size, prob), stats.nbinom.cdf(s[nb], size, prob)
    return up, lo


def _is_whole(values: np.ndarray) -> bool:
    return bool(values.size) and bool(np.all(values >= 0)) and bool(np.all(values == np.round(values)))


def _fft_lengths(max_value: int, sizes: np.ndarray) -> np.ndarray:
    return np.array([sp_fft.next_fast_len(int(w) * max_value + 1, real=True) for w in sizes], dtype=np.int64)


def exact_feasible(values: np.ndarray, sizes: np.ndarray) -> tuple[bool, str]:
    """Whether :func:`leave_out_tails` (or :func:`neighbourhood_sum_tails`) can run on these
    values and neighbourhood sizes.

    Returns ``(ok, reason)``; ``reason`` says why not (non-whole or negative values, too much work).
    """
    v = np.asarray(values, dtype=np.float64)
    if not _is_whole(v):
        return False, "the values are not whole numbers >= 0 (exact sums need counts)"
    w = np.unique(np.asarray(sizes, dtype=np.int64))
    work = int(_fft_lengths(int(v.max()), w).max()) * 2 * w.size if v.max() > 0 else 0
    if work > MAX_FFT_WORK:
        return False, f"the exact distribution would need {work:,} FFT points (limit {MAX_FFT_WORK:,})"
    return True, ""


def neighbourhood_sum_tails(values: np.ndarray, sizes: np.ndarray, sums: np.ndarray) -> SumTails:
    """Tail probabilities of neighbourhood sums when cell counts are placed at random.

    Parameters
    ----------
    values : ndarray of float or int, shape (n,)
        Counts of the ``n`` study-area cells (whole numbers >= 0).
    sizes : ndarray of int, shape (k,)
        Cells in each tested neighbourhood, ``W`` (the cell itself included), each >= 1.
    sums : ndarray of float or int, shape (k,)
        Observed neighbourhood sums ``S`` (whole numbers).

    Returns
    -------
    SumTails

    Examples
    --------
    Nine cells hold one incident each among 100 cells (the rest 0); a neighbourhood of 9 cells
    holding all 9 has probability ``0.09**9`` under independent draws:

    >>> vals = np.r_[np.ones(9), np.zeros(91)]
    >>> t = neighbourhood_sum_tails(vals, np.array([9]), np.array([9]))
    >>> bool(np.isclose(t.p_upper[0], 0.09 ** 9, rtol=1e-6))
    True
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(sizes, dtype=np.int64).ravel()
    s = np.asarray(sums, dtype=np.float64).ravel()
    if w.shape != s.shape:
        raise ParameterError(f"`sizes` and `sums` must have the same length; got {w.size} and {s.size}.")
    if not _is_whole(v):
        raise ParameterError("`values` must be whole numbers >= 0 (counts) for exact neighbourhood-sum tails.")
    if (w < 1).any():
        raise ParameterError("every neighbourhood must hold at least one cell (`sizes` >= 1).")
    n = v.size
    vi = v.astype(np.int64)
    max_v = int(vi.max())
    p_up = np.ones(s.size)
    p_lo = np.ones(s.size)
    if max_v == 0:
        return SumTails(p_up, p_lo, 1.0)
    q = np.bincount(vi, minlength=max_v + 1).astype(np.float64) / n
    si = np.rint(s).astype(np.int64)
    top = np.sort(vi)[::-1]
    cum_top = np.cumsum(top)
    uniq = np.unique(w)
    lengths = _fft_lengths(max_v, uniq)
    nfft_max = int(lengths.max())
    spectrum = sp_fft.rfft(q, nfft_max)
    p_min = 1.0
    for ww, nf in zip(uniq, lengths):
        size = int(ww) * max_v + 1
        if int(nf) == nfft_max:
            pmf = sp_fft.irfft(spectrum ** int(ww), nfft_max)[:size]
        else:
            pmf = sp_fft.irfft(sp_fft.rfft(q, int(nf)) ** int(ww), int(nf))[:size]
        pmf = np.clip(pmf, 0.0, None)
        pmf /= pmf.sum()
        upper = np.cumsum(pmf[::-1])[::-1]  # upper[k] = P(X >= k)
        lower = np.cumsum(pmf)  # lower[k] = P(X <= k)
        sel = np.flatnonzero(w == ww)
        k = np.clip(si[sel], 0, size - 1)
        p_up[sel] = np.where(si[sel] > size - 1, 0.0, upper[k])
        p_lo[sel] = np.where(si[sel] < 0, 0.0, lower[k])
        # the largest sum a neighbourhood of this size can hold (its W largest values)
        best = int(cum_top[min(int(ww), n) - 1])
        p_min = min(p_min, 2.0 * max(float(upper[min(best, size - 1)]), P_FLOOR))
    p_up = np.clip(p_up, P_FLOOR, 1.0)
    p_lo = np.clip(p_lo, P_FLOOR, 1.0)
    return SumTails(p_up, p_lo, min(1.0, p_min))


#: Relative change of a tail above which :func:`leave_out_tails` recomputes it exactly.
EXACT_RECOMPUTE = 0.1


def _exact_leave_out(
    vi: np.ndarray, active: np.ndarray, offsets: np.ndarray, r: int, c: int, yv: np.ndarray, w: int, s: int
) -> tuple[float, float]:
    """Tails of a sum of ``w`` draws from the values outside cell (r, c)'s neighbourhood, by FFT."""
    nr, nc = active.shape
    own = [vi[r + dr, c + dc] for dr, dc in offsets if 0 <= r + dr < nr and 0 <= c + dc < nc and active[r + dr, c + dc]]
    hist = np.bincount(yv.astype(np.int64)).astype(np.float64)
    hist[: len(np.bincount(own))] -= np.bincount(own)
    m = hist.sum()
    if m <= 0:
        return 1.0, 1.0
    q = hist / m
    top = int(np.flatnonzero(q)[-1])
    size = w * top + 1
    nf = sp_fft.next_fast_len(size, real=True)
    pmf = np.clip(sp_fft.irfft(sp_fft.rfft(q[: top + 1], nf) ** w, nf)[:size], 0.0, None)
    pmf /= pmf.sum()
    up = 0.0 if s > size - 1 else float(pmf[max(s, 0):].sum())
    lo = 0.0 if s < 0 else float(pmf[: min(s, size - 1) + 1].sum())
    return up, lo


def leave_out_tails(
    y2: np.ndarray, active: np.ndarray, offsets: np.ndarray, W: np.ndarray, S: np.ndarray
) -> SumTails:
    """Randomisation tails of each neighbourhood sum against the *other* cells' values.

    The null distribution of neighbourhood ``i`` is the ``W_i``-fold convolution of the
    empirical distribution ``q_out`` of the values outside the neighbourhood, so that a compact
    cluster is not part of the distribution it is judged against (a cell holding 25 incidents on
    a sparse map is then as unusual as it looks). With ``q`` the distribution of all ``n`` values
    and ``h`` the neighbourhood's own values, ``q_out - q = (W q - h) / (n - W)``; to first order
    in that difference (exact as the removed values' share goes to 0, which is when it matters)::

        P_out(X >= s) = P(X >= s) + W / (n - W) * [W P(X >= s) - sum_j P(X' >= s - y_j)]

    with ``X'`` a sum of ``W - 1`` draws and ``j`` over the neighbourhood's cells (the lower tail
    likewise). Where that step changes a tail by more than :data:`EXACT_RECOMPUTE` (10 %), the
    neighbourhood holds values that are rare elsewhere (a compact cluster) and its tails are
    recomputed exactly from the other cells' values. Cost: one FFT convolution per distinct
    ``W``, one pass per stencil offset, and one small FFT per recomputed neighbourhood.

    Parameters
    ----------
    y2 : ndarray, grid shape
        Whole-number counts (values outside ``active`` ignored).
    active : ndarray of bool, grid shape
    offsets : ndarray of int, shape (k, 2)
        Row and column offsets of the neighbourhood stencil (the centre included).
    W, S : ndarray, grid shape
        Active cells per neighbourhood and neighbourhood sums.

    Returns
    -------
    SumTails
        Aligned with ``y2[active]``.
    """
    vals = np.where(active, np.nan_to_num(y2), 0.0)
    yv = vals[active]
    if not _is_whole(yv):
        raise ParameterError("`y2` must hold whole numbers >= 0 (counts) in the study area.")
    vi = vals.astype(np.int64)
    n = int(active.sum())
    Wv = W[active].astype(np.int64)
    Sv = np.rint(S[active]).astype(np.int64)
    max_v = int(yv.max()) if yv.size else 0
    if max_v == 0:
        ones = np.ones(n)
        return SumTails(ones, ones.copy(), 1.0)
    q = np.bincount(yv.astype(np.int64), minlength=max_v + 1).astype(np.float64) / n
    uniq = np.unique(Wv)
    sizes = uniq * max_v + 1
    nfft = sp_fft.next_fast_len(int(sizes.max()), real=True)
    spec = sp_fft.rfft(q, nfft)

    def tails(w: int) -> tuple[np.ndarray, np.ndarray]:
        size = w * max_v + 1
        if w == 0:
            pmf = np.zeros(size)
            pmf[0] = 1.0
        else:
            pmf = np.clip(sp_fft.irfft(spec ** w, nfft)[:size], 0.0, None)
            pmf /= pmf.sum()
        return np.cumsum(pmf[::-1])[::-1], np.cumsum(pmf)

    def look(up: np.ndarray, lo: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = up.size - 1
        u = np.where(k > top, 0.0, up[np.clip(k, 0, top)])
        u = np.where(k <= 0, 1.0, u)
        low = np.where(k < 0, 0.0, lo[np.clip(k, 0, top)])
        return u, low

    rows, cols = np.nonzero(active)
    nr, nc = active.shape
    p_up = np.ones(n)
    p_lo = np.ones(n)
    p_min = 1.0
    top_sorted = np.cumsum(np.sort(yv)[::-1])
    for w in uniq:
        sel = np.flatnonzero(Wv == w)
        up_w, lo_w = tails(int(w))
        up_1, lo_1 = tails(int(w) - 1)
        base_u, base_l = look(up_w, lo_w, Sv[sel])
        corr_u = np.zeros(sel.size)
        corr_l = np.zeros(sel.size)
        r0, c0 = rows[sel], cols[sel]
        for dr, dc in offsets:
            rr, cc = r0 + dr, c0 + dc
            inside = (rr >= 0) & (rr < nr) & (cc >= 0) & (cc < nc)
            ok = np.zeros(sel.size, dtype=bool)
            ok[inside] = active[rr[inside], cc[inside]]
            yj = np.zeros(sel.size, dtype=np.int64)
            yj[ok] = vi[rr[ok], cc[ok]]
            u1, l1 = look(up_1, lo_1, Sv[sel] - yj)
            corr_u += np.where(ok, u1, 0.0)
            corr_l += np.where(ok, l1, 0.0)
        f = w / max(n - w, 1)
        new_u = base_u + f * (w * base_u - corr_u)
        new_l = base_l + f * (w * base_l - corr_l)
        p_up[sel] = new_u
        p_lo[sel] = new_l
        # Where the first-order step changes a tail by more than 10 % the neighbourhood holds
        # values rare in the rest of the map: recompute those tails exactly.
        big = (np.abs(new_u - base_u) > EXACT_RECOMPUTE * base_u) | (np.abs(new_l - base_l) > EXACT_RECOMPUTE * base_l)
        for j in np.flatnonzero(big):
            i = sel[j]
            p_up[i], p_lo[i] = _exact_leave_out(vi, active, offsets, rows[i], cols[i], yv, int(w), int(Sv[i]))
        best = int(top_sorted[min(int(w), n) - 1])
        p_min = min(p_min, 2.0 * max(float(look(up_w, lo_w, np.array([best]))[0][0]), P_FLOOR))
    return SumTails(np.clip(p_up, P_FLOOR, 1.0), np.clip(p_lo, P_FLOOR, 1.0), min(1.0, p_min))
