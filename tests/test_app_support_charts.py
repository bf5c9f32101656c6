"""hotspots.app_support.charts: a chart with nothing to draw is replaced by a one-line reason."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from hotspots.app_support import charts
from hotspots.summaries import MonthlySeries


def _series(start):
    months = pd.date_range("2023-01-01", periods=6, freq="MS")
    return MonthlySeries(pd.DataFrame({"month": months, "in_hotspots": [3, 4, 5, 6, 7, 8], "elsewhere": [1] * 6}), start)


def test_the_index_without_a_scheme_start_says_why_instead_of_an_empty_chart():
    no_start = _series(None)
    assert charts.monthly_note(no_start) is None  # counts: drawn
    assert "scheme start" in charts.monthly_note(no_start, as_index=True)
    assert "months before" in charts.monthly_note(_series(dt.date(2022, 1, 1)), as_index=True)
    assert charts.monthly_note(_series(dt.date(2023, 4, 1)), as_index=True) is None


def test_a_month_left_out_is_a_labelled_grey_band_and_a_gap():
    s = _series(None)
    s.table["left_out"] = ["", "", "no data", "", "", ""]
    spec = charts.monthly_chart(s).to_dict()
    marks = [(lay["mark"]["type"] if isinstance(lay["mark"], dict) else lay["mark"]) for lay in spec["layer"]]
    assert marks == ["rect", "text", "line"]
    assert charts.monthly_chart(_series(None)).to_dict()["mark"]["type"] == "line"  # nothing left out: the lines alone
    axis = charts.monthly_chart(_series(None)).to_dict()["encoding"]["x"]["axis"]
    assert axis["format"] == "%b %Y" and axis["tickCount"] == {"interval": "month", "step": 1}  # month ticks, not weeks
    long = s.long()
    assert long.loc[long["month"] == "2023-03-01", "value"].isna().all()


def test_a_funnel_with_no_bar_says_why():
    bars = pd.DataFrame({"stage": ["referred", "contacted", "booked", "completed"], "shown": ["0"] * 4, "referrals": [0.0] * 4})
    assert charts.funnel_note(bars) == "No referrals for this filter."
    hidden = bars.assign(shown=["<5", "c", "c", "c"], referrals=np.nan)
    assert "too small" in charts.funnel_note(hidden)
    assert charts.funnel_note(bars.assign(referrals=[12.0, 10.0, 8.0, 5.0])) is None


def test_the_jaccard_heat_map_is_labelled_in_words():
    """Its axes and colour read as words, not the frame's "run a", "run b", "jaccard"."""
    frame = pd.DataFrame([[1.0, 0.25], [0.25, 1.0]], index=["250 m / 500 m", "500 m / 1,000 m"],
                         columns=["250 m / 500 m", "500 m / 1,000 m"])
    enc = charts.jaccard_chart(frame).to_dict()["encoding"]
    titles = {enc[k]["title"] for k in ("x", "y", "color")}
    assert titles == {"Compared with", "Run (cell size / distance band)", "Overlap (Jaccard)"}
    assert [t["title"] for t in enc["tooltip"]] == ["Run (cell size / distance band)", "Compared with", "Overlap (Jaccard)"]
