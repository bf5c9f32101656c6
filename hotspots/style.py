"""How results look, in one place: class colours, palettes, number formats, plain text for matplotlib.

The interactive maps (:mod:`hotspots.maps`), the briefing images (:mod:`hotspots.export`), the
app and the command line's summary all take their colours and number formats from here, so that
a "significant fall" or a "hot spot, 99 % confidence" looks the same on every output.

Colours
-------
* Gi* classes: ArcGIS Pro's hot spot renderer (reds for hot, blues for cold, stronger with
  confidence), the palette analysts know from it; "not significant" is left clear.
* Change classes: blue fall, red rise (ColorBrewer RdBu ends), a mid grey for "no significant
  change" light enough for a briefing and dark enough to show over web-map tiles, and near-white
  for cells with too few incidents to test.
* Colour maps: ``YlOrRd`` for densities and counts, ``Purples`` for referrals.

Text in images
--------------
matplotlib reads text between two ``$`` as mathematics: a category such as ``ASB $x^{2}$`` is
drawn as a formula and ``$\\undefinedcmd{x}$`` makes saving the image fail. Every text drawn
from data or user input goes through :data:`PLAIN_TEXT` (``ax.text(..., **PLAIN_TEXT)``) or
:func:`plain_text` (where a function takes no text properties).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "km2_text",
    "GI_CLASS_COLOURS",
    "GI_CLASS_LABELS",
    "HOT_CLASSES",
    "CHANGE_CLASS_COLOURS",
    "CHANGE_CLASS_LABELS",
    "CHANGE_AREA_EDGES",
    "EMERGING_COLOURS",
    "TASK_KIND_COLOURS",
    "OTHER_KIND_COLOUR",
    "TASK_SITE_COLOUR",
    "CLUSTER_COLOUR",
    "CLUSTER_EDGE_COLOUR",
    "IN_HOTSPOTS_COLOUR",
    "ELSEWHERE_COLOUR",
    "REFERRAL_COLOUR",
    "SUPPRESSED_COLOUR",
    "DENSITY_CMAP",
    "DENSITY_UNDER_HOT_CMAP",
    "REFERRAL_CMAP",
    "INK",
    "MUTED",
    "OUTLINE",
    "GRATICULE",
    "OFFLINE_OUTSIDE",
    "OFFLINE_INSIDE",
    "PLAIN_TEXT",
    "plain_text",
    "shorten",
    "change_text",
    "signed_text",
    "percent_change",
    "percent_change_note",
    "blank_percent_legend",
    "tick_label",
    "file_size",
    "metres_text",
    "p_text",
    "ratio_text",
    "sentences",
]

# =============================================================================== class colours
#: Gi* classes (as in :attr:`hotspots.gistar.GiStarResult.classes`) and their colours, strongest hot first.
GI_CLASS_COLOURS: dict[str, str] = {
    "hot 99%": "#d62f27",
    "hot 95%": "#ed7551",
    "hot 90%": "#fab984",
    "cold 90%": "#b5cfe3",
    "cold 95%": "#7aa6cc",
    "cold 99%": "#4575b5",
}
#: Legend labels of the Gi* classes.
GI_CLASS_LABELS: dict[str, str] = {
    "hot 99%": "Hot spot, 99% confidence",
    "hot 95%": "Hot spot, 95% confidence",
    "hot 90%": "Hot spot, 90% confidence",
    "cold 90%": "Cold spot, 90% confidence",
    "cold 95%": "Cold spot, 95% confidence",
    "cold 99%": "Cold spot, 99% confidence",
}
#: Confidence → hot class, strongest first (hotspot areas are coloured by their peak confidence).
HOT_CLASSES: dict[str, str] = {"99%": "hot 99%", "95%": "hot 95%", "90%": "hot 90%"}

#: Before/after change classes (:func:`hotspots.change.change_cells`) and their colours.
CHANGE_CLASS_COLOURS: dict[str, str] = {
    "significant fall": "#2c7bb6",
    "no significant change": "#cccccc",
    "significant rise": "#d7191c",
    "too few incidents": "#f7f7f7",
}
#: Legend labels of the change classes.
CHANGE_CLASS_LABELS: dict[str, str] = {
    "significant fall": "Significant fall",
    "no significant change": "No significant change",
    "significant rise": "Significant rise",
    "too few incidents": "Too few incidents to test",
}
#: Emerging hot spot categories (:data:`hotspots.emerging.CATEGORY_LABELS`) and their colours:
#: hot spots in reds and oranges (intensifying darkest, diminishing orange), cold spots in the
#: matching blues; no pattern is left clear.
EMERGING_COLOURS: dict[str, str] = {
    "new hot spot": "#fcbba1",
    "consecutive hot spot": "#fb6a4a",
    "intensifying hot spot": "#67000d",
    "persistent hot spot": "#cb181d",
    "diminishing hot spot": "#fd8d3c",
    "sporadic hot spot": "#fdd0a2",
    "oscillating hot spot": "#a63603",
    "historical hot spot": "#d9d9d9",
    "new cold spot": "#c6dbef",
    "consecutive cold spot": "#6baed6",
    "intensifying cold spot": "#08306b",
    "persistent cold spot": "#2171b5",
    "diminishing cold spot": "#9ecae1",
    "sporadic cold spot": "#deebf7",
    "oscillating cold spot": "#08519c",
    "historical cold spot": "#bdbdbd",
}
#: Outline (colour, line width in points, legend label) of a hotspot area by its own change class.
CHANGE_AREA_EDGES: dict[str, tuple[str, float, str]] = {
    "significant fall": ("#1f5f99", 2.2, "Hotspot area: significant fall"),
    "significant rise": ("#b2182b", 2.2, "Hotspot area: significant rise"),
}

#: Reparative task kinds (:data:`hotspots.schema.TASK_KINDS`) and the colour of their dot.
TASK_KIND_COLOURS: dict[str, str] = {
    "litter picking": "#1b9e77",
    "allotment": "#66a61e",
    "food bank": "#d95f02",
    "charity shop": "#7570b3",
    "village hall": "#e7298a",
    "bird and bat boxes": "#a6761d",
    "workshop": "#666666",
}
#: Dot colour of a task kind not in :data:`TASK_KIND_COLOURS`.
OTHER_KIND_COLOUR = "#999999"
#: One colour for every task site (briefing images, where kinds are not told apart).
TASK_SITE_COLOUR = "#1b7837"
#: Point clusters (DBSCAN/HDBSCAN polygons): fill and outline.
CLUSTER_COLOUR = "#e6550d"
CLUSTER_EDGE_COLOUR = "#7f2704"
#: Series "in hotspots" and "elsewhere" in charts (the strongest hot and cold class colours).
IN_HOTSPOTS_COLOUR = GI_CLASS_COLOURS["hot 99%"]
ELSEWHERE_COLOUR = GI_CLASS_COLOURS["cold 99%"]
#: Referral counts in charts.
REFERRAL_COLOUR = "#6a3d9a"
#: Areas whose person-level count is hidden (suppressed).
SUPPRESSED_COLOUR = "#d9d9d9"

# =============================================================================== palettes and ink
#: matplotlib colour map of densities and counts.
DENSITY_CMAP = "YlOrRd"
#: matplotlib colour map of densities drawn under hot spots in red (the national overview): greys,
#: so that no density looks like a hot spot (``YlOrRd`` and ``magma`` run through reds).
DENSITY_UNDER_HOT_CMAP = "Greys"
#: matplotlib colour map of referral counts.
REFERRAL_CMAP = "Purples"
#: Text and symbols.
INK = "#222222"
#: Secondary text (subtitles, captions, footers).
MUTED = "#555555"
#: Study-area outline.
OUTLINE = "#3a3a3a"
#: Frames and rules.
GRATICULE = "#888888"
#: Offline maps: outside and inside the study area.
OFFLINE_OUTSIDE = "#e8ebee"
OFFLINE_INSIDE = "#fbfbf8"

# =============================================================================== text for matplotlib
#: Text properties that make matplotlib draw a string as it is (never as mathematics).
PLAIN_TEXT: dict[str, Any] = {"parse_math": False}


def plain_text(text: Any) -> str:
    """``text`` with every ``$`` escaped, so that matplotlib draws it literally.

    For functions that take a string but no text properties (tick labels, legend entries);
    elsewhere pass :data:`PLAIN_TEXT`. matplotlib shows ``\\$`` as ``$`` and, with no unescaped
    ``$`` left, never enters maths mode.

    >>> plain_text("ASB $x^{2}$")
    'ASB \\\\$x^{2}\\\\$'
    """
    return str(text).replace("$", r"\$")


def shorten(text: Any, width: int) -> str:
    """``text`` cut to at most ``width`` characters, ending in "…" when cut (never silently).

    The one rule for names too long for a column (the command line's summary, the briefing
    tables): ``"Brinkburn Street, Newcastle upon Tyne"`` in 24 characters is
    ``"Brinkburn Street…"``, not ``"Brinkburn Street, Newcast"``. The cut falls between
    words when that loses at most 10 characters, else inside a word. A place label
    ``"Street, Town"`` keeps its town whole and shortens the street while the street keeps at least
    7 characters (in 32 characters, ``"Brinkburn…, Newcastle upon Tyne"``).

    >>> shorten("Brinkburn Street, Newcastle upon Tyne", 24), shorten("High Street", 32), shorten("Abcdefghij", 5)
    ('Brinkburn Street…', 'High Street', 'Abcd…')
    >>> shorten("Captain Cook Square, Middlesbrough", 32)
    'Captain Cook…, Middlesbrough'
    """
    s = str(text)
    n = max(int(width), 1)
    if len(s) <= n:
        return s
    first, sep, town = s.rpartition(", ")
    # a place label "Street, Town": the town says where, so the street is shortened while it keeps 7
    # characters ("Captain Cook…, Middlesbrough", not "Captain Cook Square, Middlesbro…")
    if sep and town and n - len(town) - 2 >= 8:
        return f"{shorten(first, n - len(town) - 2)}, {town}"
    head = s[: n - 1]
    if s[n - 1] != " ":  # the cut falls inside a word: back to the space before it when that is close
        space = head.rfind(" ")
        if space > 0 and space >= len(head) - 10:
            head = head[:space]
    if head.count("(") > head.count(")") and head.rfind("(") > 0:  # "Covent Garden (Lu…" (British Transport Police)
        head = head[: head.rfind("(")]
    return head.rstrip(" ,;·-") + "…"


# =============================================================================== number formats
def _finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is not a number or not finite (NaN, ±inf)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


#: Fewest incidents in the two periods together for which tables show a change in per cent
#: (:func:`percent_change`): below it one incident more or less moves the change by 5 to 100
#: points, and a period with none reads "−100%" (North Yorkshire's rings: 6 -> 0, 7 -> 0 and 5 -> 0
#: read −100% in the top-5 table while 3 -> 0 read "–").
MIN_PERCENT_TOTAL = 20


#: Why a change in per cent is blank ("–"), by :func:`percent_change_note` (one rule for cells, areas and rings).
NOT_TESTED_NOTE = "too few incidents to test"
FEW_FOR_PERCENT_NOTE = f"tested, but fewer than {MIN_PERCENT_TOTAL} incidents in the two periods together: no per cent shown"
NO_RATIO_NOTE = "no incident before: no per cent defined"
NOT_COMPUTED_NOTE = "no change computed (e.g. a hotspot area with no ring around it)"


def percent_change_note(rate_ratio: Any, change_class: Any = None, n_before: Any = None, n_after: Any = None) -> np.ndarray:
    """Why each row's :func:`percent_change` is blank, or None where it is shown (object array).

    The one rule, in order: the unit was not tested (``change_class`` "too few incidents", fewer than
    ``min_total`` incidents in the two periods together, :mod:`hotspots.change`): :data:`NOT_TESTED_NOTE`;
    it was tested (its class stands) but its counts add up to fewer than :data:`MIN_PERCENT_TOTAL`:
    :data:`FEW_FOR_PERCENT_NOTE`; the ratio is missing or not finite (no incident before):
    :data:`NO_RATIO_NOTE`; given counts that are missing (an area with no ring): :data:`NOT_COMPUTED_NOTE`.

    >>> percent_change_note([0.5, 0.14, 0.0, float("inf")], ["no significant change", "no significant change",
    ...                     "too few incidents", "significant rise"], [20, 7, 0, 0], [10, 1, 0, 30]).tolist()[:2]
    [None, 'tested, but fewer than 20 incidents in the two periods together: no per cent shown']
    """
    rr = pd.to_numeric(pd.Series(np.asarray(rate_ratio, dtype=object).ravel(), dtype=object), errors="coerce")
    v = rr.to_numpy(dtype=float)
    out = np.full(len(v), None, dtype=object)
    out[~np.isfinite(v)] = NO_RATIO_NOTE
    if n_before is not None and n_after is not None:
        total = (pd.to_numeric(pd.Series(np.asarray(n_before, dtype=object).ravel()), errors="coerce").to_numpy(dtype=float)
                 + pd.to_numeric(pd.Series(np.asarray(n_after, dtype=object).ravel()), errors="coerce").to_numpy(dtype=float))
        with np.errstate(invalid="ignore"):
            out[np.isfinite(total) & (total < MIN_PERCENT_TOTAL)] = FEW_FOR_PERCENT_NOTE
        out[~np.isfinite(total)] = NOT_COMPUTED_NOTE
    if change_class is not None:
        out[np.asarray(change_class, dtype=object).ravel() == "too few incidents"] = NOT_TESTED_NOTE
    return out


def join_notes(*notes: Any) -> np.ndarray:
    """Row by row, the notes of several equally long arrays that are not None, joined by ``"; "``
    (None where none is): e.g. why a change in per cent is blank and that the change was expected
    from how hotspots were chosen, in one ``change_note``.

    >>> join_notes(["a", None, None], [None, "b", None]).tolist(), join_notes(["a"], ["b"]).tolist()
    (['a', 'b', None], ['a; b'])
    """
    cols = [np.asarray(n, dtype=object).ravel() for n in notes]
    out = np.full(len(cols[0]) if cols else 0, None, dtype=object)
    for i in range(len(out)):
        parts = [str(c[i]) for c in cols if c[i] is not None and not (isinstance(c[i], float) and np.isnan(c[i]))]
        out[i] = "; ".join(parts) if parts else None
    return out


def blank_percent_legend(notes: Any) -> str:
    """What a "–" in a table's change columns means, for the notes (:func:`percent_change_note`) among its rows
    (``""`` when none is blank): the line under the CLI's table and the app's Before/after table."""
    present = [str(x) for x in np.asarray(notes, dtype=object).ravel() if isinstance(x, str)]  # a note may be joined
    found = [n for n in (NOT_TESTED_NOTE, FEW_FOR_PERCENT_NOTE, NO_RATIO_NOTE, NOT_COMPUTED_NOTE) if any(n in x for x in present)]
    return ("–: " + "; or ".join(found) + ".") if found else ""


def percent_change(rate_ratio: Any, change_class: Any = None, n_before: Any = None, n_after: Any = None) -> np.ndarray:
    """Rate ratios as changes in per cent, ``100 (rate_ratio − 1)`` rounded to 0.1, for tables.

    NaN where :func:`percent_change_note` gives a reason (the one rule): the ratio is missing or not
    finite (a before count of 0 gives an infinite ratio: no per-cent change is defined), so that every
    table shows it as "–"; given the rows' ``change_class``, where it is "too few incidents" (not tested: a
    ring of 1 incident then 0 read "−100.0, too few incidents" beside rings of 0 and 0 shown as "–"); and
    given the counts ``n_before`` and ``n_after``, where they add up to fewer than :data:`MIN_PERCENT_TOTAL`
    (too few to show a change: the class, when tested, is kept; the note says so).

    >>> percent_change([0.684, 1.0, float("inf"), None]).tolist()
    [-31.6, 0.0, nan, nan]
    >>> percent_change([0.0, 0.8], ["too few incidents", "significant fall"]).tolist()
    [nan, -20.0]
    >>> percent_change([0.0, 0.0], n_before=[6, 20], n_after=[0, 0]).tolist()
    [nan, -100.0]
    """
    rr = pd.to_numeric(pd.Series(np.asarray(rate_ratio, dtype=object).ravel(), dtype=object), errors="coerce")
    v = rr.to_numpy(dtype=float)
    v = np.where(percent_change_note(rate_ratio, change_class, n_before, n_after) == None, v, np.nan)  # noqa: E711
    # + 0.0 turns the -0.0 of a change rounded to nothing into 0.0 (no "-0.0" in any table)
    return np.where(np.isfinite(v), np.round(100.0 * (v - 1.0), 1) + 0.0, np.nan)


def signed_text(value: float, decimals: int = 0) -> str:
    """A signed number with a true minus, and no sign on a zero at the precision shown.

    The one rule for changes in per cent everywhere (tables, command line, app cards): a change
    of −0.04 % shown with one decimal is ``"0.0"``, never ``"−0.0"``.

    >>> signed_text(-31.6), signed_text(3.14, 1), signed_text(-0.04, 1), signed_text(-0.3)
    ('−32', '+3.1', '0.0', '0')
    """
    text = f"{float(value):+.{int(decimals)}f}"
    if float(text) == 0:
        return text[1:]
    return text.replace("-", "−")


def change_text(pct: Any, change_class: Any = None) -> str:
    """A change in per cent for tables: ``"−32%"`` with a true minus, an arrow for a significant change.

    Whole per cent, but one decimal for a change that rounds to 0 % (``"−0.1%"``: a rate ratio
    of 0.9986 keeps its direction), and ``"0%"`` when even that is zero: never a signed zero
    (:func:`signed_text`).

    >>> change_text(-31.6, "significant fall"), change_text(4.0), change_text(float("nan"))
    ('−32% ↓', '+4%', '–')
    >>> change_text(-0.14), change_text(0.5), change_text(-0.04)
    ('−0.1%', '+0.5%', '0%')
    """
    if pct is None or isinstance(pct, str):
        return "–"
    v = _finite(pct)
    if v is None:
        return "–"
    arrow = " ↓" if change_class == "significant fall" else (" ↑" if change_class == "significant rise" else "")
    whole = signed_text(v, 0)
    text = signed_text(v, 1) if whole == "0" and signed_text(v, 1) != "0.0" else whole
    return text + "%" + arrow


def tick_label(value: float) -> str:
    """A colour-scale tick: thousands separators from 100, one decimal from 10, three figures below.

    >>> [tick_label(v) for v in (0, 0.0123, 2.5, 12.5, 1500)]
    ['0', '0.0123', '2.5', '12.5', '1,500']
    """
    a = abs(value)
    if a == 0:
        return "0"
    if a >= 100:
        return format(value, ",.0f")
    if a >= 10:
        return format(value, ",.1f").rstrip("0").rstrip(".")
    return format(value, ".3g")


def file_size(n_bytes: float) -> str:
    """A file size in decimal units: ``"512 bytes"``, ``"1.5 kB"``, ``"2.3 MB"``, ``"1.1 GB"``."""
    n = float(n_bytes)
    for unit in ("bytes", "kB", "MB"):
        if n < 1000:
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000.0
    return f"{n:,.1f} GB"


def metres_text(m: float) -> str:
    """A distance: ``"250 m"`` below a kilometre, ``"1.5 km"`` from one.

    >>> metres_text(250), metres_text(1500), metres_text(12000)
    ('250 m', '1.5 km', '12 km')
    """
    v = float(m)
    if abs(v) < 1000:
        return f"{v:,.0f} m"
    return f"{v / 1000:,.1f}".rstrip("0").rstrip(".") + " km"


def km2_text(km2: float) -> str:
    """An area: two decimals below 10 km², one below 100, whole km² from 100 (500 m cells are
    0.25 km² each: 26.5 km² stays 26.5, not Python's half-to-even "26").

    >>> km2_text(26.5), km2_text(29.5), km2_text(0.25), km2_text(365.8)
    ('26.5 km²', '29.5 km²', '0.25 km²', '366 km²')
    """
    v = float(km2)
    return f"{v:,.{2 if abs(v) < 10 else 1 if abs(v) < 100 else 0}f} km²"


def share_text(share: float, decimals: int = 2) -> str:
    """A share (0-1) as a per cent that never rounds a part to all or nothing: ``"99.96%"``, ``">99.99%"`` for
    25,535 of 25,536 (not "100.00%" beside "left out 1 incident (0.00%)", North Wales), ``"<0.01%"``.

    >>> share_text(0.9996), share_text(25_535 / 25_536), share_text(1 / 25_536), share_text(1.0), share_text(0.0)
    ('99.96%', '>99.99%', '<0.01%', '100.00%', '0.00%')
    """
    v = float(share)
    step = 10.0 ** -(decimals + 2)  # the smallest share said, 0.0001 at two decimals
    if 0 < v < step / 2:
        return f"<{step:.{decimals}%}"
    if 1 - step / 2 <= v < 1:
        return f">{1 - step:.{decimals}%}"
    return f"{v:.{decimals}%}"


def p_text(p: Any) -> str:
    """A p-value: ``"p = 0.008"``, three decimals, ``"p < 0.001"`` below that, ``"p –"`` when undefined.

    >>> p_text(0.0081), p_text(0.00004), p_text(0.5), p_text(float("nan"))
    ('p = 0.008', 'p < 0.001', 'p = 0.500', 'p –')
    """
    v = _finite(p)
    if v is None:
        return "p –"
    return "p < 0.001" if v < 0.0005 else f"p = {v:.3f}"


def ratio_text(ratio: Any, low: Any = None, high: Any = None, level: float = 0.95) -> str:
    """A rate ratio with two decimals and its interval: ``"0.82 (95 % CI 0.71–0.95)"``; ``"–"`` when undefined.

    >>> ratio_text(0.8234, 0.711, 0.949), ratio_text(1.2), ratio_text(float("nan"))
    ('0.82 (95 % CI 0.71–0.95)', '1.20', '–')
    """
    def fmt(x: Any) -> str | None:
        v = _finite(x)
        return None if v is None else f"{v:.2f}"

    mid = fmt(ratio)
    if mid is None:
        return "–"
    lo, hi = fmt(low), fmt(high)
    if lo is None or hi is None:
        return mid
    return f"{mid} ({level * 100:.0f} % CI {lo}–{hi})"


def sentences(*parts: Any) -> str:
    """Parts joined as sentences: each non-empty part capitalised and ended with a full stop (the
    library's notes are lower-case fragments without one), one space between them.

    >>> sentences("Tested at alpha 0.05.", "hotspots were chosen from Jul 2025", "", "see the notes: `x`")
    'Tested at alpha 0.05. Hotspots were chosen from Jul 2025. See the notes: `x`.'
    """
    out = []
    for p in parts:
        t = str(p or "").strip()
        if not t:
            continue
        t = t[0].upper() + t[1:]
        out.append(t if t[-1] in ".!?" else f"{t}.")
    return " ".join(out)


#: Units a number keeps on its line in wrapped text (``"27 %"``, ``"2,000 m"``, ``"3.8 km²"``).
UNIT_WORDS = ("%", "‰", "km²", "km2", "km", "m²", "m", "mi", "ft", "px", "dpi", "pt", "ms", "s", "min", "h")

_NUMBER_UNIT = re.compile(r"(?<=\d) (?=(?:" + "|".join(re.escape(u) for u in sorted(UNIT_WORDS, key=len, reverse=True))
                          + r")(?![\w²]))")

#: The non-breaking space :func:`keep_units` puts between a number and its unit.
NBSP = "\u00a0"


def keep_units(text: Any) -> str:
    """``text`` with a non-breaking space between each number and its unit (:data:`UNIT_WORDS`), so
    wrapping never leaves ``"27"`` at a line's end and ``"% of the 60 referrals"`` on the next.

    Every wrapped text of the briefing images goes through it (the wrappers break at ordinary
    spaces only). Words that merely begin with a unit's letters are left alone.

    >>> keep_units("local: 27 % of the 60 referrals, within 2,000 m; 5 more")
    'local: 27\\xa0% of the 60 referrals, within 2,000\\xa0m; 5 more'
    """
    return _NUMBER_UNIT.sub(NBSP, str(text))
