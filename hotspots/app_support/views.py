"""View models for the app: what its cards, tables and filters show, computed from library
results (no Streamlit here; each is tested without a browser).

* :func:`url_defaults` — starting values from the page address; :func:`periods_help` — how the
  default periods were chosen;
* :func:`filter_referrals`, :func:`kpi_cards`, :func:`funnel_bars` — the scheme panel;
* :func:`report_view`, :func:`report_rows` — a load report as the data panel shows it;
* :func:`display_frame`, :func:`jaccard_frame`, :func:`gi_class_counts`, :func:`settings_used` — tables;
* :func:`change_summary_table` — the pooled change, first in the Before/after tab.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._errors import HotspotsError, ParameterError
from ..gistar import distance_text
from ..kpis import NOT_RECORDED
from ..maps.scheme_layers import AREA_LABELS
from ..pipeline import Settings
from ..style import km2_text, p_text, ratio_text, sentences
from ..summaries import per_day_note
from .load_report import ReportView, report_rows, report_view  # noqa: F401 - the data panel's, listed here
from .stability import (  # noqa: F401 - the Analyst tab's stability sweep, listed here
    StabilityChoices,
    SweepRequest,
    jaccard_frame,
    stability_choices,
    stability_metrics,
    stability_rows,
)

__all__ = [
    "number_formats",
    "url_defaults",
    "app_settings",
    "emerging_view",
    "briefing_layers",
    "filter_referrals",
    "Card",
    "kpi_cards",
    "view_cards",
    "funnel_bars",
    "ReportView",
    "report_view",
    "report_rows",
    "display_frame",
    "hotspot_names",
    "column_label",
    "TABLE_COLUMNS",
    "jaccard_frame",
    "gi_class_counts",
    "settings_used",
    "method_caption",
    "change_map_caption",
    "short_title",
    "period_coverage_text",
    "no_areas_text",
    "index_unavailable",
    "Metric",
    "headline_metrics",
    "change_metrics",
    "RAW_CHANGE_LABEL",
    "SummaryTable",
    "change_summary_table",
    "stability_metrics",
    "stability_choices",
    "stability_rows",
    "StabilityChoices",
    "SweepRequest",
    "report_metrics",
    "COLUMN_LABELS",
    "OPTION_LABELS",
    "OPTION_LABEL_MAX",
    "OPTION_HELP",
    "option_label",
    "CRS_LABELS",
    "BRIEFING_LAYERS",
    "CHANGE_COLUMNS",
    "change_rows",
]


# =============================================================================== address
def url_defaults(
    params: Mapping[str, Any], months: Sequence[str], defaults: Mapping[str, tuple[str, str]], *, cell: int = 250
) -> dict[str, Any]:
    """Starting values of the period sliders and the cell size from the page address.

    ``period``, ``before`` and ``after`` as ``"YYYY-MM:YYYY-MM"`` (both months in ``months``,
    first not after last), ``cell`` as whole metres (50–5,000, a multiple of 50); ``auto_cell``
    is True unless the address gives a valid cell size. Anything missing or malformed keeps its
    default (an address is not an error); ``warning`` says which value of the address was not
    used (None when all were).
    """
    out: dict[str, Any] = {k: tuple(v) for k, v in defaults.items()}
    out["cell"] = cell
    out["auto_cell"] = True
    unused = []
    opts = list(months)
    for name in ("period", "before", "after"):
        raw = params.get(name)
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        if raw is None:
            continue
        a, b = raw.split(":") if isinstance(raw, str) and raw.count(":") == 1 else ("", "")
        if a in opts and b in opts and opts.index(a) <= opts.index(b):
            out[name] = (a, b)
        else:
            unused.append(f"{name}={raw} (two of the data's months, YYYY-MM:YYYY-MM)")
    raw = params.get("cell")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        c = int(str(raw))
    except (TypeError, ValueError):
        c = None
    if c is not None and 50 <= c <= 5000 and c % 50 == 0:
        out["cell"] = c
        out["auto_cell"] = False
    elif raw is not None:
        unused.append(f"cell={raw} (whole metres from 50 to 5,000, a multiple of 50)")
    out["warning"] = f"Not used from the page address: {'; '.join(unused)}." if unused else None
    return out


def app_settings(values: Mapping[str, Any], months: Sequence[str], defaults: Settings | None = None) -> Settings:
    """The :class:`~hotspots.pipeline.Settings` the app's widgets ask for.

    ``values`` holds the widgets' values by key: ``auto_cell``/``cell_size``, ``auto_bw``/
    ``bandwidth``, ``auto_dist``/``distance`` (a number is used only when its "automatic" box is
    off), ``period`` (the whole of ``months`` means no period filter), ``before``, ``after`` and
    any other field of Settings by name. Keys not given keep ``defaults``.
    """
    s = defaults or Settings()
    changes: dict[str, Any] = {}
    for auto, name in (("auto_cell", "cell_size"), ("auto_bw", "bandwidth"), ("auto_dist", "distance")):
        if auto in values:
            changes[name] = None if values[auto] else float(values[name])
    if "period" in values:
        period = tuple(values["period"])
        changes["period"] = None if list(months) and period == (months[0], months[-1]) else period
    for name in ("before", "after"):
        if name in values:
            changes[name] = tuple(values[name])
    fields = set(s.to_dict()) - set(changes) - {"cell_size", "bandwidth", "distance"}
    kinds = {f: type(getattr(Settings(), f)) for f in fields}
    for name in fields & set(values):
        kind = kinds[name]
        changes[name] = kind(values[name]) if kind in (int, float, bool, str) else values[name]
    return s.replace(**changes)


def number_formats(frame: pd.DataFrame) -> dict[str, str]:
    """The on-screen format of each number column: whole numbers with thousands separators
    (``"localized"``); a column holding fractions with the decimals its values carry, at most 3,
    on every row (``"%.1f"``: "0.0", "9.0" beside "1.7", not "0" and "9")."""
    out = {}
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype):
            continue
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if not len(v) or np.all(v == np.round(v)):
            out[c] = "localized"
            continue
        d = next((d for d in (1, 2) if np.allclose(v, np.round(v, d), rtol=0, atol=1e-9)), 3)
        out[c] = f"%.{d}f"
    return out


def periods_refused(settings: Settings, months: Sequence[str] = ()) -> str | None:
    """Why the before and after periods cannot be compared (the data's ``months`` are one month,
    :func:`hotspots.periods.default_periods`; the periods overlap, or "after" comes first,
    :meth:`hotspots.settings.Settings.change_periods`), in the library's words, or None: said beside
    the period controls, and the before/after image is not offered. With one month of data the
    reason is that, not an overlap the user never chose."""
    from ..periods import default_periods

    try:
        if len(months) == 1:
            default_periods(months[0], months[-1])
        settings.change_periods()
    except HotspotsError as exc:
        return str(exc)
    return None


def before_after_withheld(refused: str | None, cells: Any, note: str | None) -> str | None:
    """Why the Map tab offers no before/after image and no change briefing map (both draw the cells'
    change, :func:`hotspots.pipeline.cell_change`'s ``cells`` and ``note``; not computed for refused
    periods, ``refused``, or a period holding no month of data, they would fail on click), or None."""
    from ..pipeline import CHANGE_NOT_COMPUTED

    if refused is None and cells is not None:
        return None
    why = refused or note or CHANGE_NOT_COMPUTED
    why = why if why.startswith(CHANGE_NOT_COMPUTED) else f"{CHANGE_NOT_COMPUTED}: {why}"
    return f"No before/after image or change map to download: {why}"


def periods_help(defaults: Settings) -> str:
    """The after-period slider's help: how the default periods were chosen (the scheme start
    named only when one is known: given, the demo's own or the first referral's day; no force's
    date is assumed for another's data)."""
    start = f" and the scheme start ({defaults.scheme_start})" if defaults.scheme_start else " (no scheme start given)"
    where = ""
    if defaults.scheme_start and defaults.before and defaults.after:
        from ..periods import scheme_start_text

        text = scheme_start_text(defaults.scheme_start, *defaults.change_periods())
        where = "" if text.startswith("scheme start") else f" Note: {text[0].upper()}{text[1:]}."
    return f"Default: chosen from the data's months{start}; see the Analyst tab.{where}"


# =============================================================================== scheme panel
def filter_referrals(
    referrals: pd.DataFrame,
    *,
    offences: Sequence[str] | None = None,
    routes: Sequence[str] | None = None,
    age_groups: Sequence[str] | None = None,
    hotspot: str | None = None,
) -> pd.DataFrame:
    """Referrals matching the scheme panel's filters (a copy; empty selections mean "all").

    ``hotspot`` is an area id as text (``"3"``), ``"in hotspots"`` or ``"outside hotspots"``;
    it needs the ``hotspot`` column that :func:`hotspots.linkage.link_referrals` adds.
    """
    keep = np.ones(len(referrals), dtype=bool)
    for col, chosen in (("offence", offences), ("route", routes), ("age_group", age_groups)):
        if chosen:
            if col not in referrals.columns:
                raise ParameterError(f"the referrals have no `{col}` column to filter on.")
            keep &= referrals[col].isin(list(chosen)).to_numpy()
    if hotspot not in (None, "", "all"):
        if "hotspot" not in referrals.columns:
            raise ParameterError("filtering by hotspot needs linked referrals (`link_referrals` adds a `hotspot` column).")
        h = referrals["hotspot"].astype(str)
        if hotspot == "in hotspots":
            keep &= ~h.isin(["outside hotspots", "no location"]).to_numpy()
        else:
            keep &= (h == str(hotspot)).to_numpy()
    return referrals.loc[keep].copy()


@dataclass(frozen=True)
class Card:
    """One KPI card: label, the value as shown (suppressed when needed) and an explanation."""

    label: str
    value: str
    help: str
    suppressed: bool = False


_CARDS = (
    ("Referrals", "referrals", None, "Referrals into the scheme (with the filters applied)."),
    (
        "Completed",
        "completed_pct",
        "concluded",
        "Completed, of concluded referrals: the share of concluded referrals (completed, refused or withdrawn) that "
        "were completed; the funnel's completed share is of all referred.",
    ),
    (
        "Not re-offended",
        "not_reoffended_pct",
        "followup_eligible",
        "Share not re-offending within the follow-up window, among referrals whose window has ended.",
    ),
    ("Victim satisfied", "victim_satisfied_pct", "victim_responses", "Share of victims who answered who were satisfied."),
    (
        "Contact ≤ 48 h",
        "contacted_48h_pct",
        None,
        "Contacted within 48 h: the share of all referrals contacted within 48 hours of the referral (the scheme's "
        "target).",
    ),
    (
        "Booked ≤ 48 h",
        "contacted_booked_48h_pct",
        None,
        "Contacted and booked within 48 h: the share of all referrals contacted and with reparative work booked within "
        "48 hours "
        "(\"not recorded\" when the referral data hold no booking times).",
    ),
)


#: What a card (and a funnel bar's label) shows for a value the published tables hide ("c" or "x").
HIDDEN_WORD = "hidden"


def _shown(v: Any) -> tuple[str, bool]:
    """A published value as a card shows it, and whether it is hidden: "<5" as is, "c" and "x" as
    :data:`HIDDEN_WORD` (one short word, whole on a narrow card: "suppressed" was cut to "suppres…");
    a bound (">99", "<1") is shown but the exact value is hidden."""
    from ..disclosure import SECONDARY, SUPPRESSED, WITHHELD

    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–", False
    if isinstance(v, str):
        if v in (WITHHELD, SECONDARY):
            return HIDDEN_WORD, True
        return v, v == SUPPRESSED or v[:1] in "<>"
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and float(v).is_integer()):
        return f"{int(v):,}", False
    return f"{float(v):,.1f}", False


def _cards(value_of: Any, hidden_of: Any, window: str) -> list[Card]:
    cards = []
    for label, col, base, text in _CARDS:
        value, hidden = _shown(value_of(col))
        hidden = hidden or hidden_of(col)
        if value == NOT_RECORDED:
            pass  # the data cannot say: neither a number nor a hidden one
        elif col.endswith("_pct") and value[:1] in "<>":
            value, hidden = f"{value} %", True  # a bound ("> 99 %") where the exact rate would give people away
        elif col.endswith("_pct") and not hidden and value != "–":
            value = f"{value} %"
        if base is not None:
            text = f"{text} Base: {_shown(value_of(base))[0]}."
        if col == "not_reoffended_pct" and window:
            text = f"{text} ({window})"
        cards.append(Card(label, value, text, hidden))
    return cards


def kpi_cards(table: Any) -> list[Card]:
    """The six headline cards from a :class:`~hotspots.kpis.KPITable`'s **display** table.

    Only ``table.table`` (suppressed) and its ``suppressed`` mask are read, never ``raw``.
    Percentages get a ``%`` sign and the denominator in the explanation; hidden values show as
    ``"<5"`` or :data:`HIDDEN_WORD`.
    """
    from ..kpis import KPITable

    if not isinstance(table, KPITable):
        raise ParameterError(f"`table` must be a KPITable (from `scheme_kpis`); got {type(table).__name__}.")
    total, mask = table.table.iloc[-1], table.suppressed.iloc[-1]
    return _cards(total.get, lambda col: bool(mask.get(col, False)), table.window)


def view_cards(view: Mapping[str, Any], window: str = "") -> list[Card]:
    """The six headline cards of a protected view (:meth:`hotspots.publication.SchemePublication.filtered`).

    Every value is as published: a figure the published tables do not determine is hidden.
    """
    figures, pcts = view["figures"], view["percents"]
    return _cards(lambda col: pcts.get(col) if col.endswith("_pct") else figures.get(col), lambda col: False, window)


# =============================================================================== tables
#: Headers of the app's tables where the general rule (:func:`column_label`) reads poorly: a
#: column's name → its label, with a scale when the numbers are shown in other units (m² as km²,
#: fractions as %). The hotspot areas' labels are the map popups' (``AREA_LABELS``). Downloads keep
#: the names.
TABLE_COLUMNS: dict[str, tuple[str, float]] = {
    **{k: (label, 1.0) for k, label in AREA_LABELS.items()},
    "n_points": ("Incidents", 1.0),
    "area_m2": ("Area (km²)", 1e-6),
    "n_locations": ("Locations", 1.0),
    "shared_location_share": ("Incidents at its busiest location (%)", 100.0),
    "degenerate": ("Too thin for an outline (drawn as a circle)", 1.0),
    "cell_size_m": ("Cell size (m)", 1.0),
    "distance_m": ("Distance band (m)", 1.0),
    "distance_times_cell": ("Distance band (× cell size)", 1.0),
    "n_cells": ("Cells", 1.0),
    "n_hot_cells": ("Hot cells", 1.0),
    "n_hot_areas": ("Hotspot areas", 1.0),
    "hot_area_km2": ("Hot area (km²)", 1.0),
    "share_of_incidents_in_hot": ("Incidents in hot cells (%)", 100.0),
    "with_task_site": ("With a task site", 1.0),
    "reparation_local": ("Reparation local", 1.0),
    "local_pct": ("Reparation local (%)", 1.0),
    "median_distance_m": ("Median distance from harm to task (m)", 1.0),
    "followup_eligible": ("Follow-up window ended", 1.0),
    "contacted_48h": ("Contacted within 48 h", 1.0),
    "contacted_48h_pct": ("Contacted within 48 h (%)", 1.0),
    "contacted_booked_48h": ("Contacted and booked within 48 h", 1.0),
    "contacted_booked_48h_pct": ("Contacted and booked within 48 h (%)", 1.0),
    "completed_pct": ("Completed, of concluded referrals (%)", 1.0),
    "contacted_of_referred_pct": ("Contacted, of referred (%)", 1.0),
    "booked_of_referred_pct": ("Booked, of referred (%)", 1.0),
    "completed_of_referred_pct": ("Completed, of referred (%)", 1.0),
    "age_group": ("Age group", 1.0),
    "suppressed": ("Small numbers hidden", 1.0),
}
#: Code values shown in words (the distance band's rules, :func:`hotspots.neighbours.auto_distance`).
VALUE_LABELS = {
    "moran_peak": "first peak of spatial autocorrelation",
    "fallback_sqrt2": "cell size × √2 (no clear peak)",
    "given": "given",
}
_UNITS = (("_pct", "(%)"), ("_km2", "(km²)"), ("_m2", "(m²)"), ("_m", "(m)"))


def column_label(name: Any) -> str:
    """A table column's header as the app shows it: :data:`TABLE_COLUMNS`, else the name in
    words with its unit in brackets (``median_hours_to_contact`` → "Median hours to contact",
    ``refused_pct`` → "Refused (%)", ``n_cells`` → "Number of cells")."""
    name = str(name)
    if name in TABLE_COLUMNS:
        return TABLE_COLUMNS[name][0]
    words, unit = name, ""
    for suffix, u in _UNITS:
        if words.endswith(suffix):
            words, unit = words[: -len(suffix)], f" {u}"
            break
    words = ("number of " + words[2:] if words.startswith("n_") else words).replace("_", " ").strip()
    return (words[:1].upper() + words[1:] if words[:1].islower() else words) + unit


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _decimals(nums: Any) -> int:
    """Decimals for a column of numbers (one rule for text and numbers on screen): none when the
    finite ones are all whole, 1 when the largest is 10 or more, else 2."""
    finite = [float(x) for x in nums if np.isfinite(x)]
    if all(x.is_integer() for x in finite):
        return 0
    return 1 if max(abs(x) for x in finite) >= 10 else 2


def _column_text(values: pd.Series, scale: float = 1.0) -> list[str]:
    """A column's values as text: numbers with thousands separators and the same decimals down the
    column (:func:`_decimals`), yes/no, "–" for missing, codes in words."""
    places = _decimals([float(v) * scale for v in values if _number(v) and not _missing(v)])
    out = []
    for v in values:
        if _missing(v) or (isinstance(v, str) and v in ("", "None", "nan")):
            out.append("–")
        elif isinstance(v, (bool, np.bool_)):
            out.append("yes" if v else "no")
        elif _number(v):
            out.append(f"{float(v) * scale:,.{places}f}")
        else:
            out.append(VALUE_LABELS.get(v, str(v)) if isinstance(v, str) else str(v))
    return out


def _column_values(values: pd.Series, scale: float = 1.0) -> Any:
    """A column as shown: a column of numbers (and missing values) stays numbers, scaled and
    rounded as :func:`_column_text` would show them (whole numbers as ``Int64``), so that sorting
    it sorts by value; the screen adds thousands separators (:func:`hotspots.app_support.widgets.table`).
    Any other column is text (:func:`_column_text`)."""
    present = [v for v in values if not _missing(v)]
    if not present or not all(_number(v) for v in present):
        return _column_text(values, scale)
    nums = pd.to_numeric(pd.Series(list(values), index=values.index, dtype=object), errors="coerce").astype(float) * scale
    places = _decimals(nums.dropna())
    whole = places == 0 and bool(np.isfinite(nums.dropna()).all())  # Int64 holds no infinity
    return nums.round().astype("Int64") if whole else nums.round(places)


def display_frame(df: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A table as the app shows it (one rule for every table on screen): geometry dropped,
    headers in words with units (:func:`column_label`), numbers rounded and kept numbers (sortable;
    m² as km² and fractions as %: :func:`_column_values`), other values as text ("–" for missing,
    yes/no, codes in words; a column mixing counts and ``"<5"`` is text). Hotspot areas sharing a
    place name are told apart by their id ("Albert Street, Derby (hotspot 7)"); a ``hotspot``
    column of ids shows ``names`` (:func:`hotspot_names`) when given. Downloads keep the
    machine-readable names and numbers."""
    keep = [c for c in df.columns if c != "geometry" and str(df[c].dtype) != "geometry"]
    if {"area_id", "place"} <= set(keep) and df["place"].dropna().duplicated().any():  # two areas by one street
        same = df["place"].notna() & df["place"].duplicated(keep=False)
        df = df.assign(place=[f"{p} (hotspot {i})" if s else p for p, i, s in zip(df["place"], df["area_id"], same)])
    if names and "hotspot" in keep:
        df = df.assign(hotspot=[names.get(str(h), h) for h in df["hotspot"]])
    return pd.DataFrame(
        {column_label(c): _column_values(df[c], TABLE_COLUMNS.get(str(c), ("", 1.0))[1]) for c in keep}, index=df.index
    )


def hotspot_names(table: pd.DataFrame) -> dict[str, str]:
    """Each hotspot area's name as the app lists it, by id as text: ``"7 · Albert Street, Derby"``
    (the id first: two areas can share a place name), ``"hotspot 7"`` without a place."""
    places = table["place"] if "place" in table.columns else [None] * len(table)
    return {str(i): f"{i} · {p}" if isinstance(p, str) and p else f"hotspot {i}" for i, p in zip(table["area_id"], places)}


#: The stages of the referral funnel, in order.
FUNNEL_STAGES = ("referred", "contacted", "booked", "completed")


def funnel_bars(view: Mapping[str, Any]) -> pd.DataFrame:
    """The referral funnel of a protected view (:meth:`hotspots.publication.SchemePublication.filtered`)
    as bars: ``stage``, ``shown`` (the value as displayed, ``"<5"``, ``"c"`` or ``"x"`` when
    hidden) and ``referrals`` (the bar length: the published number; NaN where the value is
    hidden, so a bar never reveals a suppressed count).
    """
    if not isinstance(view, Mapping) or "figures" not in view:
        raise ParameterError(f"`view` must be a protected view (from `SchemePublication.filtered`); got {type(view).__name__}.")
    rows = []
    for stage in FUNNEL_STAGES:
        v = view["figures"].get("referrals" if stage == "referred" else stage)
        number = isinstance(v, (int, np.integer)) and not isinstance(v, bool)
        rows.append({"stage": stage, "shown": _shown(v)[0], "referrals": float(v) if number else float("nan")})
    return pd.DataFrame(rows, columns=["stage", "shown", "referrals"])


def gi_class_counts(gi: Any, grid: Any) -> pd.DataFrame:
    """Cells per Gi* class among the cells in the study area: ``class``, ``cells``."""
    classes, counts = np.unique(np.asarray(gi.classes)[grid.active], return_counts=True)
    return pd.DataFrame({"class": classes, "cells": counts.astype(np.int64)})


def settings_used(stage: Any, settings: Any) -> pd.DataFrame:
    """The settings a hotspot stage used, automatic values included: ``setting``, ``value`` (text,
    metres rounded to whole metres; each short enough for the Analyst tab's column, about 40 characters)."""
    g = stage.gi
    distance = g.params.get("distance_m")
    used = {
        "cell size (m)": f"{stage.grid.cell_size:,.0f}",
        "bandwidth (m)": f"{float(stage.density.bandwidth_m):,.0f}",
        "kernel": stage.density.kernel,
        "distance band (m)": "" if distance is None else f"{float(distance):,.0f}",
        "distance rule": VALUE_LABELS.get(g.params.get("distance_rule"), g.params.get("distance_rule")),
        "Gi* test": GI_TESTS.get(g.params.get("inference"), g.params.get("inference")) + (
            f" ({g.params['permutations']:,})" if g.params.get("inference") == "permutation" else "") + ", two-sided",
        "alpha": settings.alpha,
        "FDR": "yes" if settings.fdr else "no",
        "permutations": settings.permutations,
        # without "(95% confidence)": the table's column cut it to "(95% confide" (the alpha is the row above)
        "hotspot areas": str(stage.areas.params["rule"]).split(" (", 1)[0],
        "cells in study area": f"{stage.grid.n_cells:,}",
    }
    return pd.DataFrame({"setting": list(used), "value": ["–" if v is None else str(v) for v in used.values()]})


#: Characters a sidebar select box shows of its choice (about 23 at the sidebar's width: "Same as the significanc"
#: was all of "Same as the significance level"); :data:`OPTION_LABELS` stay within it, the boxes' help says more.
OPTION_LABEL_MAX = 20

#: The analyst settings' choices in words, by the setting's name (the values stay the library's), each at most
#: :data:`OPTION_LABEL_MAX` characters; :data:`OPTION_HELP` explains them.
OPTION_LABELS: dict[str, dict[Any, str]] = {
    "bandwidth_rule": {"arcgis": "ArcGIS's rule", "sfhotspot": "sfhotspot's rule (R)"},
    "cluster_method": {"dbscan": "DBSCAN (one radius)", "hdbscan": "HDBSCAN (no radius)", "none": "None"},
    "min_confidence": {None: "Any significant cell"},
}
#: The help of the select boxes of :data:`OPTION_LABELS`: what their short choices mean.
OPTION_HELP: dict[str, str] = {
    "bandwidth_rule": "ArcGIS's rule: ArcGIS Kernel Density's default search radius. sfhotspot's rule (R): the R package's.",
    "cluster_method": "DBSCAN: clusters of points within one radius (eps) of each other. HDBSCAN: no radius to choose.",
    "min_confidence": "Hotspot areas are drawn from hot cells at this Gi* confidence or above. Any significant cell: every "
                      "cell significant at the significance level (alpha).",
}
#: The Gi* tests (``params["inference"]``) in words.
GI_TESTS = {
    "count": "exact count test",
    "randomisation": "exact randomisation test",
    "permutation": "conditional permutations",
    "normal": "normal approximation",
}


def option_label(name: str) -> Any:
    """The ``format_func`` of the select box for the setting ``name``: its choices in words (:data:`OPTION_LABELS`;
    a confidence as a percentage, anything else as it is)."""
    words = OPTION_LABELS.get(name, {})
    return lambda v: words[v] if v in words else f"{v:.0%}" if isinstance(v, float) and name == "min_confidence" else str(v)


#: The column-mapping boxes of the upload panel: canonical column → label.
COLUMN_LABELS = {
    "x": "x / longitude / easting column",
    "y": "y / latitude / northing column",
    "occurred": "date-time column",
    "month": "month column",
    "category": "category column",
    "incident_id": "id column",
}
#: Layers a briefing map can show: key (hotspots.export.briefing_map's ``layer``) → label.
BRIEFING_LAYERS = {
    "density": "Density",
    "gistar": "Gi* classes",
    "areas": "Hotspot areas",
    "change": "Change",
    "emerging": "Emerging hot spots",
    "scheme": "Scheme",
}


def briefing_layers(has_referrals: bool, n_months: int, *, change: bool = True) -> list[str]:
    """The briefing layers the data can draw (keys of :data:`BRIEFING_LAYERS`): the scheme's only
    with referrals, the emerging hot spots only with at least
    :data:`hotspots.emerging.MIN_STEPS_FOR_TREND` months, the change only with ``change`` computed."""
    from ..emerging import MIN_STEPS_FOR_TREND

    unable = {"scheme": not has_referrals, "emerging": n_months < MIN_STEPS_FOR_TREND, "change": not change}
    return [k for k in BRIEFING_LAYERS if not unable.get(k, False)]


#: Columns of the per-hotspot change table (those the area table has): the area's change, its
#: ring's and its pattern over the months, as ``csv/hotspot_areas.csv``.
CHANGE_COLUMNS = ("area_id", "place", "incidents", "before", "after", "change_pct", "change_adjusted_pct", "change_class",
                  "change_note", "ring_change_pct", "ring_change_class", "ring_change_note", "emerging")


def change_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The Before/after tab's table per hotspot (:data:`CHANGE_COLUMNS` that ``table`` has, without
    geometry): shown on screen and, with its machine-readable names and numbers, downloaded."""
    return pd.DataFrame(table[[k for k in CHANGE_COLUMNS if k in table.columns]])


#: Coordinate systems offered for generic tables.
CRS_LABELS = {
    "auto": "detect",
    4326: "longitude/latitude (EPSG:4326)",
    27700: "British National Grid (EPSG:27700)",
    3857: "Web Mercator (EPSG:3857)",
}


def index_unavailable(series: Any) -> str | None:
    """Why the monthly chart cannot be shown as an index (:class:`hotspots.summaries.MonthlySeries`), or None when it
    can: the index toggle is then greyed out, this its help (it was offered, then hid the chart)."""
    if series.scheme_start is None:
        return "An index needs a scheme start (the months before it are its baseline), and none is known for these data."
    base = series.baseline()
    if not any(math.isfinite(b) and b > 0 for b in base.values()):
        return f"An index needs incidents in months before the scheme start ({series.scheme_start:%B %Y}); these data have none."
    return None


#: The Map tab's message without hotspot areas, when no setting is known to be the cause.
NO_AREAS = "No hotspot areas at these settings: try a larger cell size, a longer distance band or a lower confidence."


def no_areas_text(stage: Any) -> str:
    """The Map tab's message without hotspot areas: when the permutations are the cause (the Gi* result's
    ``hot_classes_offered`` lacks the confidence the areas need: with FDR over many cells, 999 permutations cannot
    reach any class: :func:`hotspots.gistar.unreached_note`, the console's rule), it says so and names the control
    that fixes it; else :data:`NO_AREAS`."""
    from ..gistar import unreached_note

    p, need = stage.gi.params, float(stage.areas.params["min_confidence"])
    if p.get("inference") != "permutation" or unreached_note(stage.gi, need) is None:
        return NO_AREAS
    over = f" and the false discovery rate control over {p['n_cells']:,} cells" if p.get("fdr") else ""
    return (f"No hotspot areas: with {p['permutations']:,} permutations{over}, no hot cell can reach {need:.0%} confidence "
            f"(the smallest p-value they can give is {p['p_min']:.2g}). Set \"Permutations (0 = exact count test)\" to 0 "
            "for the exact count test, which needs no permutations.")


def period_coverage_text(incidents: Any, settings: Settings, months: Sequence[str], *, change: bool = False) -> str | None:
    """The Map tab's warning when the hotspot period holds months the data do not cover in full (the library's
    ``missing_months``, :func:`hotspots.preparation.choose_missing_months`: a month published in part, as Hampshire's
    August 2025, or without data), each named with its incidents against the months either side
    (:func:`hotspots.coverage.month_coverage`); None when it holds none. With ``change``, the Before/after tab's: of the
    months from the before period's first to the after period's last (Lincolnshire without June: the warning was on
    every tab but that one)."""
    from ..coverage import month_coverage, month_name, month_number, month_spans
    from ..incident_time import incident_dates, month_numbers

    lo, hi = settings.period or (months[0], months[-1])
    if change and settings.before and settings.after:
        lo, hi = settings.before[0], settings.after[1]
    inside = [m for m in settings.missing_months or () if lo <= m <= hi]
    if not inside:
        return None
    forces = incidents["force"].to_numpy() if "force" in incidents.columns else None
    cover = month_coverage(month_numbers(incident_dates(incidents)[0]), force=forces)  # a force's file missing: said so
    ms = [month_number(x) for x in inside]
    absent = cover.by_force.absent if cover.by_force is not None else {}
    lacking = {m: sorted(f for f, gone in absent.items() if m in gone) for m in cover.absent}
    told = [
        f"{month_name(m)} has no incidents of {' or '.join(lacking[m])} while the other forces' files cover it (a file left out)"
        for m in ms if m in lacking
    ] + [
        f"{month_name(m)} holds {cover.counts[m][0]:,} incidents against {cover.counts[m][1]:,} and {cover.counts[m][2]:,} "
        "in the months either side (probably published in part)"
        for m in ms if m in cover.counts
    ]
    lo_m, hi_m = cover.span or (min(ms), max(ms))
    # months without data: found missing, or beyond the data's months; the rest hold data whose file is not trusted
    untrusted = [m for m in ms if m not in cover.counts and m not in cover.missing and m not in lacking and lo_m <= m <= hi_m]
    empty = [m for m in ms if m not in cover.counts and m not in untrusted and m not in lacking]
    if empty:  # runs of months, capped (coverage.month_spans): 69 empty months are one run, not 69 names
        told.append(f"{month_spans(empty, sizes=True)} {'hold' if len(empty) > 1 else 'holds'} no incidents (no data published)")
    if untrusted:
        told.append(f"{month_spans(untrusted, sizes=True)}: the file is not to be trusted (its categories published in part or "
                    "scrambled)")
    if change:
        return (f"The before and after periods hold months the data do not cover in full: {'; '.join(told)}. The "
                "comparison leaves those months out of each period's exposure (incidents per day of the months counted); "
                "see the Analyst tab's notes.")
    return (f"The hotspot period holds months the data do not cover in full: {'; '.join(told)}. The map shows only the "
            "incidents published, so it under-counts those months; see the Analyst tab's notes.")


def short_title(incidents: pd.DataFrame) -> str:
    """The sidebar's heading: what is analysed, short ("ASB hotspots", "Burglary hotspots", "Incident hotspots" for
    several categories), as the page title (:func:`hotspots.summaries.title_text`)."""
    from ..schema import ASB_CATEGORY
    from ..summaries import subject_text

    subject = subject_text(incidents)
    return "ASB hotspots" if subject == ASB_CATEGORY else "Incident hotspots" if subject == "Incidents" else f"{subject} hotspots"


def method_caption(stage: Any, settings: Settings, *, referrals: bool = False) -> str:
    """One line under the map: how the layers were made (numbers as the cards show them: "5,000 m cells"); how referral
    locations are shown only with ``referrals``."""
    return (
        f"{stage.density.kernel} KDE, bandwidth {stage.density.bandwidth_m:,.0f} m; Gi* distance "
        f"{distance_text(stage.gi.params.get('distance_m', float('nan')), stage.grid.cell_size)}, alpha {settings.alpha:g}"
        f"{' with FDR' if settings.fdr else ''}; hotspot areas: {stage.areas.params['rule']}; "
        f"{stage.grid.cell_size:,.0f} m cells."
        + (f" Referral locations are shown only as counts per square (1–{settings.threshold - 1} as <{settings.threshold})."
           if referrals else "")
    )


def change_map_caption(ring_m: float) -> str:
    """The change map's heading: the rings (dashed) named only when they are drawn (a width above 0)."""
    rings = " and rings (dashed)" if ring_m > 0 else ""
    return f"**Change map** — significant changes in cells; hotspot areas{rings} by their change."


class Metric(NamedTuple):
    """A figure as a card shows it: label, value (text) and an explanation (or None)."""

    label: str
    value: str
    help: str | None = None


def headline_metrics(head: Any, change: Any, change_note: str | None = None) -> list[Metric]:
    """The six cards above the map, from :func:`hotspots.summaries.headline` and
    :func:`hotspots.summaries.hotspot_change` (None without change)."""
    if change is not None:
        why = (f"Raw change in hotspots: incidents in all hotspot areas together, {change.before:,} in the "
               f"{change.before_days:,.0f} days of data before → {change.after:,} in the {change.after_days:,.0f} after; the "
               "change is in incidents per day of data (months without data or published in part are not counted), not "
               "adjusted for season or the year before, and not tested. The tested "
               "change is the Before / after tab's first row, \"all hotspot areas\".")
    else:
        why = change_note or "No hotspot areas."
    return [
        Metric("Incidents analysed", f"{head.incidents:,}", head.incidents_help()),
        Metric("Hotspot areas", f"{head.hotspot_areas:,}"),
        Metric("Incidents in hotspots", f"{head.share_in_hotspots:.1%}"),
        Metric("Hotspot area", km2_text(head.area_km2)),
        Metric("Cell size", f"{head.cell_size_m:,.0f} m"),
        Metric(RAW_CHANGE_LABEL, change.text() if change is not None else "–", why),
    ]


#: The headline card of the hotspots' plain change in rate (:func:`headline_metrics`): not the
#: pooled, tested change of the Before / after tab, and labelled so.
RAW_CHANGE_LABEL = "Raw change"  # short enough, beside its help icon, not to be cut on a 1280-pixel screen


def change_metrics(cells: Any) -> list[Metric]:
    """The before/after tab's cards: incidents before and after in the study area's cells, and the
    cells with a significant fall or rise (the hotspots' change is the pooled table above them)."""
    classes = cells.summary()
    where = "incidents in the study area's cells"
    b, a = (f"{k}: {cells.period_text(k)}: {where}" for k in ("before", "after"))  # with the months left out, if any
    return [
        Metric("Before (study area)", f"{int(cells.table['n_before'].sum()):,}", b),
        Metric("After (study area)", f"{int(cells.table['n_after'].sum()):,}", a),
        Metric("Cells with a significant fall", f"{int(classes.get('significant fall', 0)):,}"),
        Metric("Cells with a significant rise", f"{int(classes.get('significant rise', 0)):,}"),
    ]


@dataclass(frozen=True)
class SummaryTable:
    """The pooled change as the Before/after tab shows it.

    Attributes
    ----------
    frame : DataFrame
        One row per scope (:data:`hotspots.change_summary.SCOPES`, then
        :data:`hotspots.displacement_rings.RING_SCOPES` when the rings were computed), as text: ``Scope``,
        ``Rate ratio``, the interval (``95 % CI`` at alpha 0.05), ``p-value``, ``Verdict``.
    caption : str
        What the figures are and how they were tested.
    lines : tuple of str
        The rows as the command line prints them (:meth:`hotspots.change_summary.ChangeSummary.lines`).
    warnings : tuple of str
        What qualifies every change (:meth:`~hotspots.change_summary.ChangeSummary.caveats`), shown as warnings.
    """

    frame: pd.DataFrame
    caption: str
    lines: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def change_summary_table(
    summary: Any, note: str | None = None, alpha: float = 0.05, displaced: tuple[Any, str | None] | None = None
) -> SummaryTable:
    """The pooled change (:class:`hotspots.change_summary.ChangeSummary`) as a table.

    Without one (``summary`` None: no hotspot areas, or periods without data) the table has no
    rows and the caption says why (``note``, from :func:`hotspots.pipeline.pooled_change`);
    ``alpha`` then names the interval column. ``displaced``: the rings around the hotspot areas
    and a note (:func:`hotspots.pipeline.ring_change`), their two rows after the three and their
    reading in the caption.
    """
    ci = f"{(1 - (alpha if summary is None else summary.alpha)) * 100:.0f} % CI"
    columns = ["Scope", "Rate ratio", ci, "p-value", "Verdict"]
    if summary is None:
        why = note or "no hotspot areas, or no before/after change (see the Analyst tab's notes)"
        return SummaryTable(pd.DataFrame(columns=columns), f"No pooled change: {why}.", ())
    moved, moved_note = displaced if displaced is not None else (None, None)
    rows = [
        {
            "Scope": r.scope,
            "Rate ratio": ratio_text(r.rate_ratio),
            ci: f"{ratio_text(r.ci_low)}–{ratio_text(r.ci_high)}" if ratio_text(r.ci_low) != "–" else "–",
            "p-value": p_text(r.p_value).removeprefix("p = ").removeprefix("p "),
            "Verdict": r.verdict,
        }
        for r in summary.rows + (() if moved is None else moved.summary.rows)
    ]
    if moved is not None:  # rings vs beyond: the verdict with what it is read as (displacement only when the hotspots fell)
        rows[-1]["Verdict"] = moved.row_text()[1]
    falls = summary.detectable_falls()
    caption = (
        f"Incidents per day after / before (after: {summary.period_text('after')} vs before: {summary.period_text('before')}; "
        f"{per_day_note(*summary.params.get('days', (summary.before.days, summary.after.days)))}); "
        "below 1 is a fall. Hotspots vs elsewhere: the ratio of the two rate ratios (did the hotspots change more than "
        f"the rest of the area?). Tested allowing for month-to-month and period-to-period variation, alpha {summary.alpha:g}. "
        "\"All hotspot areas\" pools each area's own change (when places vary much, a small area weighs nearly as much as "
        "a large one), so it can differ from the Raw change card, all hotspot areas' incidents counted together."
    )
    if falls:
        caption += f" Smallest falls these data could detect (80 % power): {', '.join(falls)}."
    if moved is not None:
        caption += (
            f" Rings: {moved.how}; rings vs beyond compares their change with the "
            f"rest of the study area's: {moved.describe()}."
        )
    caption = sentences(caption, *([] if moved is not None else [moved_note or ""]), *summary.other_notes())
    lines = tuple(summary.lines()) + (() if moved is None else tuple(moved.lines()))
    return SummaryTable(pd.DataFrame(rows, columns=columns), caption, lines, tuple(summary.caveats()))


def report_metrics(view: ReportView) -> list[Metric]:
    """A load report's three cards: rows read, kept and dropped (as :func:`report_view` shows them)."""
    why = view.help or None
    return [
        Metric("Rows read", view.rows_read, why),
        Metric("Rows kept", view.rows_kept),
        Metric("Rows dropped", view.rows_dropped, why),
    ]


def emerging_view(trends: Any, note: str | None = None) -> tuple[pd.DataFrame | None, str]:
    """The Before/after tab's trends over the months: the emerging hot spot categories that occur
    (:func:`hotspots.emerging_summary.category_counts`, as text) and the reading
    (:func:`~hotspots.emerging_summary.describe_emerging`), or no table and why (``note``)."""
    from ..emerging_summary import category_counts, describe_emerging, levels_estimated

    if trends is None:
        return None, note or "Emerging hot spots were not computed."
    t = category_counts(trends)
    base = int(t["cells"].sum())  # the cells that take part (the footprint's margin beyond the incidents' reach is not)
    frame = pd.DataFrame({
        "Pattern": t["category"],
        "Cells": [f"{n:,}" for n in t["cells"]],
        f"Share of the {base:,} cells analysed": [f"{x:.1f} %" for x in t["share_pct"]],
    })
    how = "Each cell's Gi* month by month and its Mann–Kendall trend" + (
        ", allowing for places' year-to-year variation" if levels_estimated(trends) else ""
    )
    return frame, (f"{how} (ArcGIS Pro's categories; on the change map as a layer): {describe_emerging(trends)}. Shares are "
                   f"of the {base:,} study-area cells that take part, as in the hotspot analysis (a footprint's margin beyond "
                   "the incidents' reach takes no part).")
