"""Tests for hotspots/export/_layers.py: the briefing's side-panel blocks."""

from __future__ import annotations

from types import SimpleNamespace

from hotspots.change_summary import ChangeSummary, ScopeChange
from hotspots.export._layers import change_summary_into
from hotspots.periods import Period


class _Panel:
    """Records what a block writes (the text of each heading and paragraph)."""

    def __init__(self):
        self.texts: list[str] = []

    def heading(self, text, size=9.5):
        self.texts.append(text)

    def para(self, text, size=7.0, colour="", gap=0.25):
        self.texts.append(text)


def test_the_pooled_block_says_why_the_counts_together_differ_from_the_pooled_ratio():
    """A briefing showed 2,010 -> 2,880 incidents (+1 % per day over 181 and 256 days) beside a pooled rate ratio of
    0.93 with no word why; the console's line says the pooled row weighs each area, not their sum."""
    b, a = Period.from_months("2025-01", "2025-06"), Period("2025-07-01", "2026-03-13")
    rows = (
        ScopeChange("all hotspot areas", 0.93, 0.8, 1.08, 0.3, "no significant change", 2010, 2880, 0.2, 0.07),
        ScopeChange("elsewhere", 1.0, 0.9, 1.1, 0.9, "no significant change", 9000, 13000, 0.1, 0.05),
        ScopeChange("hotspots vs elsewhere", 0.93, 0.8, 1.08, 0.3, "no significant change", 2010, 2880, 0.2, 0.07),
    )
    summ = ChangeSummary(rows=rows, alpha=0.05, before=b, after=a, method="", params={"days": (b.days, a.days)})
    panel = _Panel()
    assert change_summary_into(panel, SimpleNamespace(change_summary=summ, displacement=None))
    pct = (2880 / a.days) / (2010 / b.days) * 100 - 100
    assert round(pct) == 1
    line = next(t for t in panel.texts if "their incidents together" in t)
    assert line == summ.totals_text() and "2,010 -> 2,880, +1 % per day" in line and "pools each area's change" in line
    assert change_summary_into(_Panel(), SimpleNamespace(change_summary=None)) is False
