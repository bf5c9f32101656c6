"""Where loaded points may lie: the British Isles, Northern Ireland's grids, coordinate precision.

Three checks the point loaders run after the coordinate system is known (see
:func:`hotspots.io._pipeline.locate`):

* :func:`in_british_isles`: a point converted to British National Grid must lie in the British
  Isles and their waters (:data:`BRITISH_ISLES_LONLAT`, a generous outline that keeps the coast of
  France, Belgium and the Netherlands out). Points elsewhere (Paris, New York, the Atlantic) are
  dropped as ``outside the UK``; when many are, the coordinate system is likely wrong.
* :func:`northern_ireland_crs`: eastings/northings without a stated CRS in rows that say Northern
  Ireland are read in the one grid (British National Grid, Irish Grid or Irish Transverse
  Mercator) that puts them in Northern Ireland, or refused when none or several do.
* :func:`precision_warning`: coordinates rounded to about 100 m or coarser stack points on a
  lattice, which small cells show instead of the pattern.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from ..validation import setting

__all__ = [
    "BRITISH_ISLES_LONLAT",
    "OUTSIDE_UK",
    "in_british_isles",
    "coordinate_detail",
    "outside_uk_warning",
    "metres_in_degrees",
    "decimal_commas",
    "comma_hint",
    "says_northern_ireland",
    "northern_ireland_crs",
    "precision_warning",
    "check_values",
    "crs_chosen",
    "to_bng_in_uk",
]

#: Drop reason of points outside the British Isles and their waters.
OUTSIDE_UK = "outside the UK"

#: Outline (longitude, latitude; WGS84) of Great Britain, Ireland, the Isle of Man, the Scilly
#: Isles, Orkney and Shetland with their waters: tens of kilometres off every coast, mid-Channel
#: and mid-North Sea on the side of the continent (the Channel Islands and the Faroes are out).
BRITISH_ISLES_LONLAT = (
    (-11.5, 51.3), (-11.5, 55.6), (-9.3, 58.0), (-7.5, 59.6), (-3.5, 59.6), (-2.6, 61.0), (-0.5, 61.0),
    (0.6, 60.5), (1.0, 58.5), (2.0, 56.0), (2.6, 53.5), (2.3, 52.2), (2.1, 51.35), (1.5, 51.02), (1.0, 50.55),
    (0.2, 50.35), (-1.5, 50.15), (-2.5, 49.95), (-5.0, 49.7), (-6.8, 49.7), (-7.8, 49.55), (-8.5, 51.0), (-10.5, 51.0),
)

#: Northern Ireland (longitude, latitude box, generous) for telling its grids apart.
_NI_LONLAT = (-8.4, -5.2, 53.9, 55.5)
#: Candidate grids for eastings/northings in Northern Ireland's rows, in the order they are named.
_NI_GRIDS = {27700: "British National Grid", 29903: "Irish Grid", 2157: "Irish Transverse Mercator"}


#: Side (metres) of the cells that sort points into surely in, surely out, or to be tested exactly.
_CELL = 20_000.0


@functools.lru_cache(maxsize=1)
def _isles_bng() -> tuple[Any, tuple[float, float], np.ndarray]:
    """:data:`BRITISH_ISLES_LONLAT` in British National Grid metres (edges densified first),
    prepared; the origin of a lattice of :data:`_CELL` cells over its bounds; and each cell's
    class: 1 inside the outline, 0 outside, -1 crossed by its edge (its points tested exactly)."""
    ring = shapely.segmentize(shapely.Polygon(BRITISH_ISLES_LONLAT), 0.1)
    lon, lat = np.asarray(ring.exterior.coords).T
    tr = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    poly = shapely.Polygon(np.column_stack(tr.transform(lon, lat)))
    shapely.prepare(poly)
    x0, y0, x1, y1 = poly.bounds
    nx, ny = int(np.ceil((x1 - x0) / _CELL)), int(np.ceil((y1 - y0) / _CELL))
    gx, gy = np.meshgrid(x0 + _CELL * np.arange(nx), y0 + _CELL * np.arange(ny), indexing="ij")
    cells = shapely.box(gx, gy, gx + _CELL, gy + _CELL)
    cls = np.where(shapely.contains(poly, cells), 1, np.where(shapely.intersects(poly, cells), -1, 0)).astype(np.int8)
    return poly, (x0, y0), cls


def in_british_isles(X: Any, Y: Any) -> np.ndarray:
    """Boolean mask of British National Grid points (metres) in the British Isles and their waters.

    NaN coordinates are False.

    Examples
    --------
    >>> in_british_isles([435000, 690000], [336000, -130000]).tolist()  # Derby; Paris
    [True, False]
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    fin = np.isfinite(X) & np.isfinite(Y)
    out = np.zeros(X.shape, dtype=bool)
    if not fin.any():
        return out
    poly, (x0, y0), cls = _isles_bng()
    i = np.flatnonzero(fin)
    cx = np.floor((X[i] - x0) / _CELL)
    cy = np.floor((Y[i] - y0) / _CELL)
    on = (cx >= 0) & (cx < cls.shape[0]) & (cy >= 0) & (cy < cls.shape[1])
    c = np.zeros(len(i), dtype=np.int8)
    c[on] = cls[cx[on].astype(np.intp), cy[on].astype(np.intp)]
    out[i[c == 1]] = True
    edge = i[c == -1]
    if edge.size:
        out[edge] = shapely.contains_xy(poly, X[edge], Y[edge])
    return out


def coordinate_detail(x: np.ndarray, y: np.ndarray, names: tuple[str, str], why: str) -> Any:
    """A ``detail`` for :meth:`~hotspots.report.ReportBuilder.drop`: each example row's coordinates
    as read and ``why`` it was dropped, e.g. ``"Longitude 2.35, Latitude 48.85: outside the British Isles"``."""

    def detail(idx: np.ndarray) -> list[str]:
        return [f"{names[0]} {x[int(i)]:.10g}, {names[1]} {y[int(i)]:.10g}: {why}" for i in idx]

    return detail


def outside_uk_warning(name: str, n_out: int, n: int, crs_text: str, *, how: str, names: tuple[str, str] = ("x", "y")) -> str:
    """The warning for ``n_out`` of ``n`` points dropped as outside the UK.

    A few such points are stray rows; many (a tenth or more) mean the coordinates were read in the
    wrong coordinate system (``crs_text``), so the warning then says so and gives the fix: ``how``
    the coordinate system was chosen is ``"given"`` (the caller's ``crs``), ``"detected"`` (told
    from the values or the file's own) or ``"format"`` (fixed by the file format, as police.uk's
    Longitude/Latitude: the columns ``names`` must then hold something else).

    Examples
    --------
    >>> outside_uk_warning("a.csv", 40, 4000, "WGS84", how="detected")[:40]
    'a.csv: 40 of 4,000 points lie outside th'
    """
    text = (
        f"{name}: {n_out:,} of {n:,} points lie outside the United Kingdom and its waters (read as {crs_text}); "
        f"dropped as '{OUTSIDE_UK}' (the report's examples give their lines and values)"
    )
    if n_out * 10 < n:
        return text + ". Check those rows at source."
    if how == "format":
        return (
            f"{text}. So many suggest `{names[0]}`/`{names[1]}` do not hold longitude/latitude in degrees: check the "
            "columns (eastings/northings go in columns named Easting and Northing)."
        )
    who = "the coordinate system given" if how == "given" else "the coordinate system told from the data"
    return (
        f"{text}. So many suggest {who} is wrong: name the right one with {setting('crs', 'EPSG:27700')} "
        f"(British National Grid), {setting('crs', 'EPSG:4326')} (longitude/latitude), "
        f"{setting('crs', 'EPSG:29903')} (Irish Grid) or {setting('crs', 'EPSG:2157')} (Irish Transverse Mercator)."
    )


def metres_in_degrees(name: str, x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> None:
    """Refuse metres in columns read as degrees (e.g. eastings/northings under police.uk's
    ``Longitude``/``Latitude`` headers): most values out of the degree range and within British
    National Grid's (0..700,000 by 0..1,300,000 m).

    Raises
    ------
    CRSError
        The message gives example values and the fix: rename the columns to Easting and Northing.
    """
    from .._errors import CRSError

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):
        metres = (np.abs(x) > 180) & (x >= 0) & (x <= 700_000) & (y >= 0) & (y <= 1_300_000)
    if int(metres.sum()) * 2 <= len(x):
        return
    i = int(np.flatnonzero(metres)[0])
    raise CRSError(
        f"{name}: `{names[0]}`/`{names[1]}` are read as longitude/latitude in degrees, but {int(metres.sum()):,} of "
        f"{len(x):,} rows hold values such as {x[i]:.10g}, {y[i]:.10g}, which look like British National Grid "
        f"eastings/northings in metres. Rename the two columns in the file to Easting and Northing (the file is then "
        f"read as a table of eastings/northings), or name their coordinate system with {setting('crs', 'EPSG:27700')}."
    )


_DECIMAL_COMMA = r"^[+-]?\d+,\d+$"
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"


def decimal_commas(
    xs: pd.Series, ys: pd.Series, names: tuple[str, str], b: Any = None, name: str = ""
) -> tuple[pd.Series, pd.Series]:
    """Coordinate columns written with a decimal comma (``52,105532``, as spreadsheets in many
    European locales save them, with ``;`` between fields), read with a point when unambiguous.

    Unambiguous: no value of either column holds a point, every value holding a comma is digits,
    one comma, digits, and some value has other than three digits after its comma (three could
    be a thousands separator: ``599,510``).

    Returns
    -------
    xs, ys : Series
        The columns, commas replaced by points when they are decimal commas (said in a note of
        the report builder ``b``, about file ``name``); else as given.
    """
    if pd.api.types.is_numeric_dtype(xs.dtype) and pd.api.types.is_numeric_dtype(ys.dtype):
        return xs, ys
    head = pd.concat([xs.head(1000), ys.head(1000)]).dropna().astype("string")
    if not head.str.contains(",", regex=False).any():  # decimal commas are in every value, the first ones too
        return xs, ys
    tx = xs.astype("string").str.strip()
    ty = ys.astype("string").str.strip()
    both = pd.concat([tx, ty], ignore_index=True).dropna()
    comma = both[both.str.contains(",", regex=False)]
    if comma.empty or both.str.contains(".", regex=False).any():
        return xs, ys
    if not comma.str.match(_DECIMAL_COMMA).all() or comma.str.split(",").str[1].str.len().eq(3).all():
        return xs, ys
    note = (
        f"`{names[0]}`/`{names[1]}` use a comma as the decimal separator (e.g. {comma.iloc[0]!r}); read as a decimal point"
    )
    if b is not None:
        b.note(f"{name}: {note}")
    return tx.str.replace(",", ".", regex=False), ty.str.replace(",", ".", regex=False)


def comma_hint(name: str, xs: pd.Series, ys: pd.Series, bad: np.ndarray, names: tuple[str, str], b: Any = None) -> str | None:
    """The warning for unparseable coordinates written with commas, saying what the comma may be
    (a decimal comma or a thousands separator) and the fix; None when the bad values hold none.
    Given the report builder ``b``, the warning goes in it too."""
    if not np.asarray(bad).any():
        return None
    vals = pd.concat([xs.astype("string")[bad], ys.astype("string")[bad]], ignore_index=True).dropna().str.strip()
    comma = vals[vals.str.contains(",", regex=False)]
    if comma.empty:
        return None
    example = comma.iloc[0]
    if comma.str.match(_THOUSANDS).all():
        what = "a thousands separator (599,510 for 599510) or a decimal comma (599,510 for 599.51): hotspots cannot tell which"
    else:
        what = "a decimal comma, mixed with other values"
    text = (
        f"{name}: {len(comma):,} unparseable coordinate value(s) in `{names[0]}`/`{names[1]}` hold a comma (e.g. {example!r}), "
        f"which looks like {what}. Save the file with plain numbers: a point as the decimal separator and no thousands "
        "separators (in a spreadsheet, format the columns as numbers without separators before saving as CSV)."
    )
    if b is not None:
        b.warn(text)
    return text


def says_northern_ireland(frame: pd.DataFrame) -> bool:
    """True when most rows of a table say Northern Ireland: police.uk's ``Falls within`` or
    ``Reported by`` naming the Police Service of Northern Ireland (or PSNI), or LSOA-like codes
    of Northern Ireland's small areas (starting with ``95`` or ``N``)."""
    n = len(frame)
    if not n:
        return False
    for col in frame.columns:
        key = str(col).strip().lower().replace("_", " ")
        if key not in ("falls within", "reported by", "force", "lsoa code", "lsoa"):
            continue
        text = frame[col].astype("string").str.strip().str.lower()
        if key.startswith("lsoa"):
            hit = text.str.match(r"^(95|n\d)", na=False)
        else:
            hit = text.str.contains("northern ireland", regex=False, na=False) | (text == "psni")
        if int(hit.sum()) * 2 > n:
            return True
    return False


#: Margin (km) around a force's box (:data:`hotspots.forces.FORCE_BOXES_KM`) within which its points count as in place.
FORCE_BOX_MARGIN_KM = 15.0


def swapped_for_force(frame: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> tuple[str, str, int, int] | None:
    """Eastings and northings the wrong way round, told by the force the rows name; else None.

    A table whose police.uk ``Falls within`` (else ``Reported by``) names one force for nine
    tenths of its rows, with a box in :data:`hotspots.forces.FORCE_BOXES_KM`, is checked: when
    fewer than half of the points ``x``, ``y`` (British National Grid metres, as read) lie within
    :data:`FORCE_BOX_MARGIN_KM` of the force's box and nine tenths do with x and y swapped, the
    columns are swapped. Both readings can lie in the grid's range, and on land: Cumbria's
    points swapped fall around Peterborough.

    Returns
    -------
    (force, column, in_place, in_place_swapped) or None
        The force's name, the column naming it, and how many points lie in its area as read and
        as swapped.

    Examples
    --------
    >>> f = pd.DataFrame({"Falls within": ["Cumbria Constabulary"] * 2})
    >>> swapped_for_force(f, np.array([553125.0, 552969.0]), np.array([311061.0, 310985.0]))
    ('Cumbria Constabulary', 'Falls within', 0, 2)
    """
    from ..forces import FORCE_BOXES_KM, force_id, force_name

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if not n:
        return None
    for key in ("falls within", "reported by"):
        col = next((c for c in frame.columns if str(c).strip().lower().replace("_", " ") == key), None)
        if col is None:
            continue
        counts = frame[col].astype("string").str.strip().value_counts()
        if not len(counts) or counts.iloc[0] * 10 < len(frame) * 9:
            return None
        box = FORCE_BOXES_KM.get(force_id(counts.index[0]) or "")
        if box is None:
            return None
        m = FORCE_BOX_MARGIN_KM
        e0, n0, e1, n1 = ((box[0] - m) * 1000, (box[1] - m) * 1000, (box[2] + m) * 1000, (box[3] + m) * 1000)
        with np.errstate(invalid="ignore"):
            given = int(((x >= e0) & (x <= e1) & (y >= n0) & (y <= n1)).sum())
            swapped = int(((y >= e0) & (y <= e1) & (x >= n0) & (x <= n1)).sum())
        if given * 2 < n and swapped * 10 >= n * 9:
            return force_name(counts.index[0]), str(col), given, swapped
        return None
    return None


#: Share of a file's usable longitude/latitude points that must look swapped, none fitting as given, for
#: :func:`latlon_swaps` to read the file swapped on its own.
WHOLLY_SWAPPED_SHARE = 0.99


def _in_lonlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from .coords import UK_LONLAT_BOX

    lo, hi, la, lb = UK_LONLAT_BOX
    with np.errstate(invalid="ignore"):
        return (x >= lo) & (x <= hi) & (y >= la) & (y <= lb)


def latlon_swaps(name: str, x: np.ndarray, y: np.ndarray, cand: np.ndarray, names: tuple[str, str], *, swap_xy: bool,
                 b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (``x``, ``y``, known to be degrees) the wrong way round, in a file or in some rows.

    A file whose usable points (``cand``) all look swapped (at least :data:`WHOLLY_SWAPPED_SHARE`,
    none fitting the British Isles as given) is read swapped, on its own, with a warning naming it:
    the other files of a folder stay as they are (``swap_xy`` would swap them all). A majority
    swapped but not all is refused (which rows are right cannot be told); a minority is dropped as
    ``possibly swapped coordinates``, with a warning.

    Returns
    -------
    x, y : ndarray
        The coordinates to use (swapped when the file was).

    Raises
    ------
    CRSError
        Most points swapped but not all, or swapped after a swap asked for (``swap_xy``).
    """
    from .._errors import CRSError
    from ..validation import shown

    sw = cand & _in_lonlat(y, x) & ~_in_lonlat(x, y)
    n, k = int(cand.sum()), int(sw.sum())
    if k * 2 > n and swap_xy:  # x and y as read: after a swap asked for, x holds `names[1]`
        raise CRSError(f"{name}: after swapping x and y as asked ({setting('swap_xy')}), most coordinates look like latitude "
                       f"in x ({k:,} of {n:,}): the coordinates are already in order; drop {shown('swap_xy')}.")
    if k * 2 > n and (k < WHOLLY_SWAPPED_SHARE * n or (cand & _in_lonlat(x, y)).any()):
        raise CRSError(
            f"{name}: most coordinates look like latitude in `{names[0]}` and longitude in `{names[1]}` ({k:,} of {n:,}), "
            f"the others not: fix this file at source (swap its two columns); {setting('swap_xy')} swaps every file "
            "loaded: use it when all are swapped."
        )
    if k * 2 > n:
        b.warn(f"{name}: its coordinates are the wrong way round, latitude in `{names[0]}` and longitude in `{names[1]}` "
               f"({k:,} of {n:,}; none fits as given): read swapped, for this file only. Fix the file at source (swap "
               "its two columns).")
        return y, x
    if k:
        b.drop(sw, "possibly swapped coordinates")
        b.warn(f"{name}: {k:,} row(s) look like latitude/longitude the wrong way round; dropped as 'possibly swapped "
               "coordinates'. Fix them at source.")
    return x, y


def refuse_force_swap(name: str, frame: pd.DataFrame, x: np.ndarray, y: np.ndarray, names: tuple[str, str], *,
                      swap_xy: bool) -> None:
    """Raise :class:`~hotspots.CRSError` when :func:`swapped_for_force` finds the table's eastings and
    northings swapped (``names``: the columns read as x and y, before any swap asked for); the
    message names the force, the counts and the fix."""
    from .._errors import CRSError
    from ..validation import python_only, shown

    hit = swapped_for_force(frame, x, y)
    if hit is None:
        return
    force, col, given, swapped = hit
    where = (f"{given:,} of {x.size:,} points lie in {force}'s area (named in `{col}`) as read, {swapped:,} with x and y "
             "swapped")
    if swap_xy:
        raise CRSError(f"{name}: after swapping x and y as asked ({setting('swap_xy')}), {where}: the columns were the right "
                       f"way round; drop {shown('swap_xy')}.")
    fixes = (f"{setting('swap_xy', where=False)}, or name the columns with {setting('x', names[1], where=False)} and "
             f"{setting('y', names[0], where=False)}{python_only('swap_xy', 'x', 'y')}")
    raise CRSError(f"{name}: `{names[0]}`/`{names[1]}` look swapped (northings in `{names[0]}`, eastings in `{names[1]}`): "
                   f"{where}. Swap them at source, or pass {fixes}.")


def _in_ni(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    a, b, c, d = _NI_LONLAT
    with np.errstate(invalid="ignore"):
        return (lon >= a) & (lon <= b) & (lat >= c) & (lat <= d)


def northern_ireland_crs(name: str, x: np.ndarray, y: np.ndarray, b: Any = None) -> int:
    """The grid of eastings/northings ``x``, ``y`` (no CRS stated) from rows that say Northern Ireland.

    Each of British National Grid (EPSG:27700), Irish Grid (EPSG:29903) and Irish Transverse
    Mercator (EPSG:2157) is tried; the one that puts nine tenths of the points in Northern
    Ireland is chosen. Irish Grid's values read as British National Grid land in Wales and
    north-west England, so the choice matters.

    Returns
    -------
    epsg : int
        The grid; a note says so in the report builder ``b``, and for an Irish grid a warning
        announces it (British National Grid needs none).

    Raises
    ------
    CRSError
        No grid, or more than one, puts the points in Northern Ireland; the message names ``crs``.
    """
    from .._errors import CRSError

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    fits = []
    for epsg in _NI_GRIDS:
        tr = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
        with np.errstate(all="ignore"):  # absurd values (1e300) come out as inf: not in Northern Ireland
            lon, lat = tr.transform(x[ok], y[ok], errcheck=False)
        if ok.any() and _in_ni(np.asarray(lon), np.asarray(lat)).mean() >= 0.9:
            fits.append(epsg)
    options = f"{setting('crs', 'EPSG:29903')} (Irish Grid) or {setting('crs', 'EPSG:2157')} (Irish Transverse Mercator)"
    if len(fits) != 1:
        why = "in none of" if not fits else "in more than one of"
        raise CRSError(
            f"{name}: the rows say Northern Ireland and the coordinates are metres without a stated coordinate system, "
            f"but they fall in Northern Ireland {why} British National Grid, Irish Grid and Irish Transverse Mercator. "
            f"Name the grid with {options}."
        )
    epsg = fits[0]
    if b is not None:
        b.note(f"coordinates read as {_NI_GRIDS[epsg]} (EPSG:{epsg}) (the rows say Northern Ireland)")
    if epsg == 27700 or b is None:
        return epsg
    b.warn(
        f"{name}: the rows say Northern Ireland and the eastings/northings fall in Northern Ireland only when read as "
        f"{_NI_GRIDS[epsg]} (EPSG:{epsg}), so they were read so (as British National Grid they would lie in Great "
        f"Britain). If that is wrong, name the grid with {setting('crs', 'EPSG:27700')} or {options}."
    )
    return epsg


#: Metres per degree of latitude (for the size of a step in degrees).
_M_PER_DEGREE = 111_320.0


def _step(v: np.ndarray) -> np.ndarray:
    """The coarsest power of ten (1e-8 .. 1e4) each value is a whole multiple of."""
    out = np.full(v.shape, 1e-8)
    with np.errstate(all="ignore"):  # absurd values (1e300) overflow: they match no step
        for e in range(4, -9, -1):
            step = 10.0**e
            q = v / step
            hit = (out == 1e-8) & (np.abs(q - np.round(q)) < 1e-6)
            out[hit] = step
    return out


def precision_warning(name: str, x: np.ndarray, y: np.ndarray, *, geographic: bool) -> str | None:
    """The warning for coordinates rounded to about 100 m or coarser, else None.

    Most points (more than half) must sit on such a step, judged on the coarser of the two
    coordinates' steps per point (degrees counted as 111 km each: 3 decimals is about 110 m).

    Examples
    --------
    >>> precision_warning("a.csv", [-1.47, -1.41, -1.5], [52.92, 52.91, 52.9], geographic=True)[:60]
    'a.csv: most coordinates (3 of 3) are rounded to 2 decimals ('
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3:
        return None
    xo, yo = x[ok], y[ok]
    pick = np.linspace(0, n - 1, min(n, 20_000)).astype(np.intp)  # evenly spread rows: the share, cheaply
    step = np.maximum(_step(np.abs(xo[pick])), _step(np.abs(yo[pick])))
    metres = step * (_M_PER_DEGREE if geographic else 1.0)
    coarse = metres >= 100.0
    if int(coarse.sum()) * 2 <= len(pick):
        return None
    typical = float(np.median(metres[coarse]))
    st = float(np.median(step[coarse]))
    how = f"{max(0, -int(round(np.log10(st))))} decimals" if geographic else f"multiples of {st:,.0f} m"
    distinct = len(np.unique(xo + 1j * yo))
    share = f"{100 * coarse.mean():.0f}%" if len(pick) < n else f"{int(coarse.sum()):,} of {n:,}"
    return (
        f"{name}: most coordinates ({share}) are rounded to {how} (a step of about "
        f"{typical:,.0f} m), so points are stacked on a coarse lattice: {n:,} points sit at {distinct:,} distinct places. "
        f"Cells or bandwidths smaller than about {typical:,.0f} m show that lattice, not the pattern; use cells of at "
        "least that size, or get the coordinates unrounded at source."
    )


def check_values(name: str, x: np.ndarray, y: np.ndarray, names: tuple[str, str], *, geographic: bool, b: Any) -> None:
    """The checks on usable coordinates once their CRS is known: metres in degree columns refused
    (:func:`metres_in_degrees`), rounding warned of in ``b`` (:func:`precision_warning`)."""
    if not len(x):
        return
    if geographic:
        metres_in_degrees(name, x, y, names)
    if coarse := precision_warning(name, x, y, geographic=geographic):
        b.warn(coarse)


def crs_chosen(crs: Any, crs_from: str) -> str:
    """How a loader's coordinate system was chosen, for :func:`outside_uk_warning`: ``"format"`` (a
    format's rule, ``crs_from`` naming it), ``"given"`` (the caller's ``crs``) or ``"detected"``.

    Examples
    --------
    >>> crs_chosen("auto", ""), crs_chosen(2157, ""), crs_chosen(4326, "police.uk's Longitude and Latitude")
    ('detected', 'given', 'format')
    """
    if crs is None or (isinstance(crs, str) and crs == "auto"):
        return "detected"
    return "format" if crs_from else "given"


def to_bng_in_uk(name: str, x: np.ndarray, y: np.ndarray, crs: Any, names: tuple[str, str], b: Any, *, how: str) -> tuple:
    """Points ``x``, ``y`` in ``crs`` as British National Grid metres, dropping in the report
    builder ``b`` those invalid in ``crs`` or not convertible (``out-of-range coordinates``) and
    those outside the British Isles (:data:`OUTSIDE_UK`), with their values.

    Returns
    -------
    X, Y : ndarray of float
        NaN on rows not alive in ``b``.

    Raises
    ------
    CRSError
        Most usable points lie outside the UK: the coordinate system is wrong
        (:func:`outside_uk_warning`, ``how`` it was chosen).
    """
    from .._errors import CRSError
    from .coords import crs_label, plausible, project_to_bng

    ok = plausible(x, y, crs)
    b.drop(~ok, "out-of-range coordinates", detail=coordinate_detail(x, y, names, f"not valid in {crs_label(crs)}"))
    X, Y = project_to_bng(np.where(ok, x, np.nan), np.where(ok, y, np.nan), crs)
    b.drop(~(np.isfinite(X) & np.isfinite(Y)), "out-of-range coordinates",
           detail=coordinate_detail(x, y, names, "cannot be converted to British National Grid"))
    n_usable = int(b.alive.sum())
    far = b.drop(~in_british_isles(X, Y), OUTSIDE_UK, detail=coordinate_detail(x, y, names, "outside the British Isles"))
    if far.any():
        told = outside_uk_warning(name, int(far.sum()), n_usable, crs_label(crs), how=how, names=names)
        if int(far.sum()) * 2 > n_usable:  # most points: the coordinate system is wrong, not a few rows
            raise CRSError(f"{told} First: {b.examples[OUTSIDE_UK][0]}.")
        b.warn(told)
    return np.where(b.alive, X, np.nan), np.where(b.alive, Y, np.nan)
