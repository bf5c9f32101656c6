"""The compiled (numba) loops of the kernel density engine, at module level so numba caches them.

Imported only through :func:`hotspots.kde_compiled.compiled_loops` (it needs numba); see
:mod:`hotspots.kde_compiled` for what each loop does. The loops are compiled on first use and
kept in numba's on-disk cache (``cache=True``), which works for module-level functions calling
each other (not for closures): a new process loads them in well under a second instead of
compiling for several seconds.
"""

from __future__ import annotations

import numba
import numpy as np

from .kde_compiled import EPANECHNIKOV_ORDER, QUARTIC_ORDER

__all__ = ["prepare", "scatter_gauss", "prep_rows", "prep_rows_into", "cell_rows", "cell_pass", "cell_pass_bands",
           "interior_from_moments", "count_off_grid"]


@numba.njit(cache=True, nogil=True)
def prepare(xy, w, unit_w, x0, y0, s, L, n_rows, n_cols, m):  # pragma: no cover
    # Nearest extended-lattice node of each point (dropping points that cannot reach the
    # grid), its index in the extended lattice and in the padded accumulator, offsets from
    # it and sub-cell phase. Points come out sorted by lattice row (counting sort): later
    # scatters then work on a narrow band of rows at a time, 2-3x faster than in input order.
    # (No integer division per point: it costs more than everything else here.)
    H = n_rows + 2 * L
    W = n_cols + 2 * L
    Wp = W + 2 * L
    n = xy.shape[0]
    inv_s = 1.0 / s
    lo = -L - 0.5
    hx = n_cols + L - 0.5
    hy = n_rows + L - 0.5
    row = np.empty(n, dtype=np.int32)
    col = np.empty(n, dtype=np.int32)
    row_start = np.zeros(H + 1, dtype=np.int64)
    for i in range(n):
        u = (xy[i, 0] - x0) * inv_s
        v = (y0 - xy[i, 1]) * inv_s
        if u >= lo and u < hx and v >= lo and v < hy:
            # v + 0.5 + L >= 0 here, so truncation is floor (and much cheaper than a floor call)
            r = np.int32(v + 0.5 + L)
            row[i] = r
            col[i] = np.int32(u + 0.5 + L)
            row_start[r + 1] += 1
        else:
            row[i] = -1
    for r in range(H):
        row_start[r + 1] += row_start[r]
    k = row_start[H]
    flat = np.empty(k, dtype=np.int64)
    pbase = np.empty(k, dtype=np.int64)
    dx = np.empty(k)
    dy = np.empty(k)
    ws = np.empty(k)
    phase = np.empty(k, dtype=np.int16)
    pos = row_start[:-1].copy()
    half = s / 2
    msc = m * inv_s
    for i in range(n):
        r = np.int64(row[i])
        if r < 0:
            continue
        c = np.int64(col[i])
        j = pos[r]
        pos[r] += 1
        ddx = xy[i, 0] - (x0 + (c - L) * s)
        ddy = xy[i, 1] - (y0 - (r - L) * s)
        flat[j] = r * W + c
        pbase[j] = (r + L) * Wp + (c + L)
        dx[j] = ddx
        dy[j] = ddy
        ws[j] = 1.0 if unit_w else w[i]
        pj = min(np.int64(max((ddx + half) * msc, 0.0)), m - 1)
        pi = min(np.int64(max((ddy + half) * msc, 0.0)), m - 1)
        phase[j] = pi * m + pj
    return flat, pbase, dx, dy, ws, phase

@numba.njit(cache=True, nogil=True)
def scatter_gauss(acc, pbase, dx, dy, w, L, Wp, s, inv_h):  # pragma: no cover
    K = 2 * L + 1
    gx = np.empty(K)
    gy = np.empty(K)
    for i in range(pbase.shape[0]):
        for j in range(K):
            sx = ((j - L) * s - dx[i]) * inv_h
            gx[j] = np.exp(-0.5 * sx * sx) * w[i]
            sy = (-(j - L) * s - dy[i]) * inv_h
            gy[j] = np.exp(-0.5 * sy * sy)
        b = pbase[i] - L * Wp - L
        for r in range(K):
            row = b + r * Wp
            g = gy[r]
            for c in range(K):
                acc[row + c] += g * gx[c]

@numba.njit(cache=True, nogil=True)
def prep_rows(x, y, w, unit_w, xmin, ymin, s, L, n_rows, n_cols, want_occ):  # pragma: no cover
    # `prep_rows_into` with new arrays.
    n = x.shape[0]
    scol = np.empty(n, dtype=np.int32)
    dx = np.empty(n)
    dy = np.empty(n)
    ws = np.empty(0 if unit_w else n)
    row_start, k, n_occ = prep_rows_into(x, y, w, unit_w, xmin, ymin, s, L, n_rows, n_cols, want_occ,
                                         np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), scol, dx, dy, ws)
    return row_start, scol[:k], dx[:k], dy[:k], ws[: 0 if unit_w else k], n_occ

@numba.njit(cache=True, nogil=True)
def prep_rows_into(x, y, w, unit_w, xmin, ymin, s, L, n_rows, n_cols, want_occ, row, col, scol, dx, dy, ws):  # pragma: no cover
    # The node of each point that can reach the grid: the cell holding it on the grid
    # extended by L cells on every side, by Grid.cell_of's arithmetic (column
    # floor((x - xmin) / s), row n_rows - 1 - floor((y - ymin) / s)), so that the per-cell
    # sums of `cell_rows` are exactly `count`'s. Points come out grouped by lattice row
    # (stable counting sort: few buckets, so the scattered writes stay cache-friendly), with
    # their column, offsets from the cell centre and weight, in the first k entries of the
    # given arrays (`row`, `col`: scratch; all at least len(x) long, `ws` only when weighted):
    # a stream reuses them chunk after chunk instead of faulting in fresh pages each time.
    # Returns (row_start, k, n_occ). The occupied cells are counted (for the cost model) only
    # when `want_occ` (it costs a byte per lattice node).
    H = n_rows + 2 * L
    W = n_cols + 2 * L
    n = x.shape[0]
    row_start = np.zeros(H + 1, dtype=np.int64)
    seen = np.zeros(H * W if want_occ else 0, dtype=np.uint8)
    n_occ = 0
    top = n_rows - 1 + L
    for i in range(n):
        cf = np.floor((np.float64(x[i]) - xmin) / s) + L
        rf = top - np.floor((np.float64(y[i]) - ymin) / s)
        if cf >= 0 and cf < W and rf >= 0 and rf < H:
            r = np.int32(rf)
            c = np.int32(cf)
            row[i] = r
            col[i] = c
            row_start[r + 1] += 1
            if want_occ:
                # branch-free (a branch on `seen` is mispredicted about once a cell: 0.5 ms at 10^5 points)
                f = np.int64(r) * W + c
                n_occ += 1 - seen[f]
                seen[f] = 1
        else:
            row[i] = -1
    for r in range(H):
        row_start[r + 1] += row_start[r]
    k = row_start[H]
    pos = row_start[:-1].copy()
    for i in range(n):
        r = row[i]
        if r < 0:
            continue
        c = col[i]
        j = pos[r]
        pos[r] += 1
        dx[j] = np.float64(x[i]) - (xmin + (c - L + 0.5) * s)
        dy[j] = np.float64(y[i]) - (ymin + (top - r + 0.5) * s)
        scol[j] = c
        if not unit_w:
            ws[j] = w[i]
    return row_start, k, n_occ

@numba.njit(cache=True, nogil=True)
def cell_rows(r_lo, r_hi, acc, moms, counts, row_start, scol, dx, dy, ws, unit_w, n_rows, n_cols, L, inv_h,
              expo, coef, ox, oy, oshift, R, kind, cmin, to_moms):  # pragma: no cover
    # The polynomial kernels, one source cell at a time, for lattice rows r_lo..r_hi-1.
    # Lattice offsets (ox, oy in units of h; oshift into the padded accumulator) list the
    # ring first (R offsets where the support boundary crosses the cell), then the interior
    # ones. For each cell, every point adds w·profile to a small local buffer indexed by
    # offset -- one contiguous, vectorised loop per point -- and the buffer is added to the
    # grid once per cell. A row's cells write to accumulator rows r - L .. r + L only.
    # * cells with fewer than `cmin` points: every offset point by point (cmin huge: the
    #   direct path);
    # * other cells: the ring point by point, the interior from the cell's moments
    #   (exact polynomial expansion; coef[t, k] for interior offset k);
    # * to_moms: every cell's moments are added to `moms` (for an FFT, or for later chunks of
    #   a stream) and only the ring is added to `acc`.
    # `counts` (n_rows * n_cols entries, or empty) receives each grid cell's summed weight.
    W = n_cols + 2 * L
    Wp = W + 2 * L
    T = expo.shape[0]
    K = ox.shape[0]
    do_count = counts.shape[0] == n_rows * n_cols
    fixed = True  # expo in MOMENT_ORDER's order?
    ref = QUARTIC_ORDER if kind == 0 else EPANECHNIKOV_ORDER
    if T != ref.shape[0]:
        fixed = False
    else:
        for t in range(T):
            for e in range(3):
                if expo[t, e] != ref[t, e]:
                    fixed = False
    rb = np.zeros(K)
    m = np.zeros(T)
    px = np.ones(5)
    py = np.ones(5)
    pq = np.ones(3)
    cnt = np.zeros(W + 1, dtype=np.int64)
    longest = 0
    for r in range(r_lo, r_hi):
        longest = max(longest, row_start[r + 1] - row_start[r])
    order = np.empty(longest, dtype=np.int64)
    for r in range(r_lo, r_hi):
        a0 = row_start[r]
        a1 = row_start[r + 1]
        if a0 == a1:
            continue
        # the row's points grouped by column (stable), then cell by cell
        for c in range(W + 1):
            cnt[c] = 0
        for j in range(a0, a1):
            cnt[scol[j] + 1] += 1
        for c in range(W):
            cnt[c + 1] += cnt[c]
        for j in range(a0, a1):
            c = scol[j]
            order[cnt[c]] = j
            cnt[c] += 1
        start = 0
        rowbase = (r + L) * Wp + L
        for c in range(W):
            end = cnt[c]
            if end == start:
                continue
            use_m = to_moms or (end - start) >= cmin
            kk = R if use_m else K
            if use_m:
                for t in range(T):
                    m[t] = 0.0
            cw = 0.0
            for q in range(start, end):
                jj = order[q]
                wi = 1.0 if unit_w else ws[jj]
                cw += wi
                xx = dx[jj] * inv_h
                yy = dy[jj] * inv_h
                if use_m:
                    qq = xx * xx + yy * yy
                    if kind == 0 and fixed:
                        # the quartic's 10 moments in MOMENT_ORDER (unrolled: 5x faster)
                        wq = wi * qq
                        wx = wi * xx
                        wy = wi * yy
                        m[0] += wi
                        m[1] += wq
                        m[2] += wq * qq
                        m[3] += wy
                        m[4] += wy * qq
                        m[5] += wy * yy
                        m[6] += wx
                        m[7] += wx * qq
                        m[8] += wx * yy
                        m[9] += wx * xx
                    elif kind == 1 and fixed:
                        m[0] += wi
                        m[1] += wi * qq
                        m[2] += wi * yy
                        m[3] += wi * xx
                    else:
                        for e in range(1, 5):
                            px[e] = px[e - 1] * xx
                            py[e] = py[e - 1] * yy
                        for e in range(1, 3):
                            pq[e] = pq[e - 1] * qq
                        for t in range(T):
                            m[t] += wi * px[expo[t, 0]] * py[expo[t, 1]] * pq[expo[t, 2]]
                if kind == 0:
                    for k in range(kk):
                        sx = ox[k] - xx
                        sy = oy[k] - yy
                        tt = max(1.0 - (sx * sx + sy * sy), 0.0)
                        rb[k] += wi * (tt * tt)
                else:
                    for k in range(kk):
                        sx = ox[k] - xx
                        sy = oy[k] - yy
                        tt = max(1.0 - (sx * sx + sy * sy), 0.0)
                        rb[k] += wi * tt
            start = end
            b = rowbase + c
            if do_count and r >= L and r < n_rows + L and c >= L and c < n_cols + L:
                counts[(r - L) * n_cols + (c - L)] += cw
            if to_moms:
                f = r * W + c
                for t in range(T):
                    moms[f, t] += m[t]
                for k in range(R):
                    acc[b + oshift[k]] += rb[k]
                    rb[k] = 0.0
                continue
            if use_m and m[0] > 0:
                for t in range(T):
                    mt = m[t]
                    for k in range(R, K):
                        rb[k] += coef[t, k] * mt
            for k in range(K):
                acc[b + oshift[k]] += rb[k]
                rb[k] = 0.0

@numba.njit(cache=True, nogil=True)
def cell_pass(acc, moms, counts, row_start, scol, dx, dy, ws, unit_w, n_rows, n_cols, L, inv_h,
              expo, coef, ox, oy, oshift, R, kind, cmin, to_moms):  # pragma: no cover
    # `cell_rows` over every lattice row, on one thread.
    H = n_rows + 2 * L
    cell_rows(0, H, acc, moms, counts, row_start, scol, dx, dy, ws, unit_w, n_rows, n_cols, L, inv_h,
              expo, coef, ox, oy, oshift, R, kind, cmin, to_moms)

@numba.njit(cache=True, nogil=True)
def bands_of_parity(H, band, parity):  # pragma: no cover
    # How many of the ceil(H / band) bands of `band` rows are even (parity 0) or odd (parity 1).
    return ((H + band - 1) // band - parity + 1) // 2


@numba.njit(cache=True, nogil=True)
def band_rows(i, parity, band, H):  # pragma: no cover
    # First and last + 1 row of the i-th band of that parity.
    r0 = (2 * i + parity) * band
    return r0, min(H, r0 + band)


@numba.njit(cache=True, nogil=True, parallel=True)
def cell_pass_bands(band, acc, moms, counts, row_start, scol, dx, dy, ws, unit_w, n_rows, n_cols, L, inv_h,
                    expo, coef, ox, oy, oshift, R, kind, cmin, to_moms):  # pragma: no cover
    # `cell_pass` on bands of `band` rows (band > 2 L) in parallel: first the even bands, then
    # the odd ones. A band writes accumulator rows from L above its first row to L below its
    # last, so two bands of the same parity never write the same row.
    H = n_rows + 2 * L
    for parity in range(2):
        for i in numba.prange(bands_of_parity(H, band, parity)):
            r0, r1 = band_rows(i, parity, band, H)
            cell_rows(r0, r1, acc, moms, counts, row_start, scol, dx, dy, ws, unit_w, n_rows, n_cols, L, inv_h,
                      expo, coef, ox, oy, oshift, R, kind, cmin, to_moms)

@numba.njit(cache=True, nogil=True, parallel=True)
def interior_from_moments(acc, moms, H, W, L, coef, oshift, R, band):  # pragma: no cover
    # Σ_t coef[t, k] · moms[cell, t] added at every interior offset k (k >= R) of every cell
    # holding weight (moms[cell, 0] > 0); bands of rows in parallel as in cell_pass_bands.
    Wp = W + 2 * L
    T = moms.shape[1]
    K = coef.shape[1]
    for parity in range(2):
        for i in numba.prange(bands_of_parity(H, band, parity)):
            r0, r1 = band_rows(i, parity, band, H)
            for r in range(r0, r1):
                rowbase = (r + L) * Wp + L
                for c in range(W):
                    f = r * W + c
                    if moms[f, 0] == 0.0:
                        continue
                    base = rowbase + c
                    for k in range(R, K):
                        v = 0.0
                        for t in range(T):
                            v += coef[t, k] * moms[f, t]
                        acc[base + oshift[k]] += v

@numba.njit(cache=True, nogil=True)
def count_off_grid(x, y, xmin, ymin, s, n_rows, n_cols):  # pragma: no cover
    # Points outside the grid, by the same arithmetic as `kde`'s numpy test.
    k = 0
    for i in range(x.shape[0]):
        u = (x[i] - xmin) / s
        v = (y[i] - ymin) / s
        if not (u >= 0 and u < n_cols and v >= 0 and v < n_rows):
            k += 1
    return k

