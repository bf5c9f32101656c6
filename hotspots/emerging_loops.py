"""The compiled (numba) loops of the emerging hot spot analysis, at module level so numba caches them.

Imported only through :func:`hotspots.emerging_compiled.compiled_loops` (it needs numba); see
:mod:`hotspots.emerging_compiled` for what each loop does and where its numpy twin is. Every loop
does the numpy version's arithmetic in the same order where the order matters (no ``fastmath``),
so the results are the same bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["mk_scores"]


@numba.njit(cache=True, nogil=True)
def mk_scores(x):  # pragma: no cover - compiled
    # Per row of x (n_series, T), NaN missing: Mann-Kendall's S = sum over i < j of sign(x_j - x_i)
    # (pairs with a NaN add 0, as np.sign(NaN) set to 0 does), the tie term sum over groups of equal
    # non-NaN values of t (t - 1) (2 t + 5) (whole numbers, exact in float64), and the non-NaN count.
    n_series, T = x.shape
    S = np.zeros(n_series, dtype=np.int64)
    tie = np.zeros(n_series, dtype=np.float64)
    n = np.zeros(n_series, dtype=np.int64)
    buf = np.empty(T, dtype=np.float64)
    for r in range(n_series):
        row = x[r]
        s = 0
        for k in range(1, T):  # lag by lag, as the numpy version (the inner loop vectorises)
            c = 0
            for i in range(T - k):
                d = row[i + k] - row[i]
                c += np.int64(d > 0.0) - np.int64(d < 0.0)
            s += c
        m = 0
        for i in range(T):
            xi = row[i]
            if xi == xi:
                # insertion sort of the non-NaN values (series are short)
                q = m
                while q > 0 and buf[q - 1] > xi:
                    buf[q] = buf[q - 1]
                    q -= 1
                buf[q] = xi
                m += 1
        S[r] = s
        n[r] = m
        acc = 0.0
        q = 0
        while q < m:
            e = q + 1
            while e < m and buf[e] == buf[q]:
                e += 1
            t = float(e - q)
            acc += t * (t - 1.0) * (2.0 * t + 5.0)
            q = e
        tie[r] = acc
    return S, tie, n
