"""The app's charts (Vega-Lite through Altair, which Streamlit draws without internet), built from
the library's typed results; no number is computed here."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..summaries import MonthlySeries
from .views import FUNNEL_STAGES

__all__ = ["monthly_chart", "monthly_note", "funnel_chart", "funnel_note", "jaccard_chart"]

#: Colours of the two monthly series (hot red, cool blue, as the maps' hot and cold spots).
SERIES_COLOURS = {"in hotspots": "#d62f27", "elsewhere": "#4575b5"}


def monthly_chart(series: MonthlySeries, *, as_index: bool = False, height: int = 300) -> alt.Chart:
    """Incidents per month in hotspots and elsewhere (or their index), with the scheme start marked.

    A month the data do not cover (``series.table["left_out"]``) is a gap in the lines, marked by a
    grey band labelled why ("no data", "published in part"), not a 0 or a dip."""
    long = series.long(as_index=as_index)
    title = "index (mean before the scheme = 100)" if as_index else "incidents per month"
    n_months = max(1, int(series.table["month"].nunique()))
    # ticks on months ("Jan 2025"), every k-th month for long series: Vega's own ticks fell on
    # weeks for a year of data ("Jan 05, Jan 19, ...") under monthly points
    months_axis = alt.Axis(format="%b %Y", tickCount={"interval": "month", "step": max(1, -(-n_months // 12))}, labelAngle=0)
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title="month", axis=months_axis),
            y=alt.Y("value:Q", title=title),
            color=alt.Color(
                "where:N", title=None, scale=alt.Scale(domain=list(SERIES_COLOURS), range=list(SERIES_COLOURS.values()))
            ),
            tooltip=[alt.Tooltip("month:T", format="%b %Y"), "where:N", alt.Tooltip("value:Q", format=",.0f", title=title)],
        )
    )
    t = series.table
    gone = t.loc[t["left_out"].astype(str) != "", ["month", "left_out"]] if "left_out" in t.columns else t.iloc[:0]
    if len(gone):
        marks = gone.assign(end=gone["month"] + pd.offsets.MonthBegin(1), label=gone["left_out"] + " (left out)")
        band = alt.Chart(marks).mark_rect(color="#bbbbbb", opacity=0.35).encode(
            x="month:T", x2="end:T", tooltip=[alt.Tooltip("month:T", format="%b %Y"), alt.Tooltip("label:N", title="month")]
        )
        why = alt.Chart(marks).mark_text(angle=270, align="left", baseline="middle", dx=4, color="#555", fontSize=10).encode(
            x="month:T", y=alt.value(height - 4), text="left_out:N"
        )
        lines = band + why + lines
    if series.scheme_start is None:
        return lines.properties(height=height)
    start = pd.DataFrame({"month": [pd.Timestamp(series.scheme_start)], "label": ["scheme start"]})
    rule = alt.Chart(start).mark_rule(strokeDash=[4, 3], color="#333").encode(x="month:T")
    text = (
        alt.Chart(start)
        .mark_text(align="left", baseline="top", dx=4, color="#333")
        .encode(x="month:T", y=alt.value(2), text="label:N")
    )
    return (lines + rule + text).properties(height=height)


def monthly_note(series: MonthlySeries, *, as_index: bool = False) -> str | None:
    """Why :func:`monthly_chart` would draw nothing (shown instead of an empty chart), or None."""
    if not len(series.table):
        return "No months to chart."
    if not as_index or series.long(as_index=True)["value"].notna().any():
        return None
    if series.scheme_start is None:
        return "No index: it needs a scheme start (the months before it are its baseline), and none is known for these data."
    if not (series.table["month"] < pd.Timestamp(series.scheme_start)).any():
        return f"No index: the data have no months before the scheme start ({series.scheme_start:%B %Y}) to be its baseline."
    return f"No index: there are no incidents in the months before the scheme start ({series.scheme_start:%B %Y})."


def funnel_note(bars: pd.DataFrame) -> str | None:
    """Why :func:`funnel_chart` would draw no bar (shown instead of an empty chart), or None."""
    drawn = bars["referrals"].dropna()
    if len(drawn) and drawn.sum() > 0:
        return None
    if len(drawn) == len(bars):
        return "No referrals for this filter."
    return "No bars: the counts for this filter are too small to show (see the table)."


def funnel_chart(bars: pd.DataFrame, *, height: int = 180) -> alt.Chart:
    """Bars of :func:`~hotspots.app_support.views.funnel_bars` (hidden values have no bar)."""
    return (
        alt.Chart(bars.dropna(subset=["referrals"]))
        .mark_bar(color="#6a3d9a")
        .encode(
            y=alt.Y("stage:N", sort=list(FUNNEL_STAGES), title=None),
            x=alt.X("referrals:Q", title="referrals"),
            tooltip=["stage:N", "shown:N"],
        )
        .properties(height=height)
    )


def jaccard_chart(frame: pd.DataFrame, *, height: int = 300) -> alt.Chart:
    """A stability sweep's Jaccard matrix (:func:`~hotspots.app_support.views.jaccard_frame`) as a heat map."""
    long = frame.reset_index(names="run").melt("run", var_name="other", value_name="overlap")
    run, other, overlap = "Run (cell size / distance band)", "Compared with", "Overlap (Jaccard)"
    return (
        alt.Chart(long)
        .mark_rect()
        .encode(
            x=alt.X("other:N", sort=list(frame.columns), title=other),
            y=alt.Y("run:N", sort=list(frame.index), title=run),
            color=alt.Color("overlap:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title=overlap),
            tooltip=[alt.Tooltip("run:N", title=run), alt.Tooltip("other:N", title=other),
                     alt.Tooltip("overlap:Q", title=overlap, format=".2f")],
        )
        .properties(height=height)
    )
