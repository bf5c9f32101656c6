"""The Analyst tab's stability sweep as the app shows it: its choices (the analysis's own settings first), its cards,
table and Jaccard matrix, and the settings a sweep was run for (:class:`SweepRequest`): a sweep shown beside an analysis
of other settings says so (:func:`SweepRequest.out_of_date`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from ..periods import parse_period
from ..settings import Settings

if TYPE_CHECKING:
    from .views import Metric

__all__ = ["jaccard_frame", "stability_metrics", "StabilityChoices", "stability_choices", "stability_rows", "SweepRequest",
           "SWEEP_SETTINGS"]

#: The settings a stability sweep's runs read (besides their own cell sizes and distance bands).
SWEEP_SETTINGS = ("period", "alpha", "fdr", "seed")


def jaccard_frame(result: Any) -> pd.DataFrame:
    """A stability sweep's Jaccard matrix labelled by run (``"250 m / 500 m"``)."""
    t = result.table
    labels = [f"{c:g} m / {d:,.0f} m" for c, d in zip(t["cell_size_m"], t["distance_m"])]
    return pd.DataFrame(np.round(result.jaccard, 3), index=labels, columns=labels)


def stability_metrics(result: Any) -> list[Metric]:
    """A stability sweep's two cards: the mean Jaccard overlap and the cells hot in at least 80 % of runs, named by the cell
    size they are counted on (the sweep's finest: every run's hot cells are mapped onto its cells, so Essex's 391 cells of
    400 m were more than the 302 hot cells of its 500 m analysis)."""
    from .views import Metric

    ref = float(result.reference_grid.cell_size)
    return [
        Metric("Mean Jaccard overlap", f"{result.mean_jaccard:.2f}",
               "Mean over every pair of runs of their hot cells' overlap (shared / either), on the sweep's finest cells."),
        Metric(f"{ref:,.0f} m cells hot in ≥ 80 % of runs", f"{int(result.robust_cells(0.8).sum()):,}",
               f"Counted on {ref:,.0f} m cells, the sweep's finest cell size: each run's hot cells are mapped onto them (a "
               f"{ref:,.0f} m cell is hot in a run when its centre lies in one of that run's hot cells), so the count is not "
               "one of the analysis's hot cells unless the analysis has that cell size too."),
    ]


class StabilityChoices(NamedTuple):
    """What the stability sweep offers (:func:`stability_choices`): cell sizes (m) and distance bands (× cell size), with
    those chosen at first."""

    sizes: list[int]
    size_default: list[int]
    mults: list[float]
    mult_default: list[float]
    own: float

    def mult_label(self, m: float) -> str:
        """A distance band as the box lists it: ``"1.41 (as analysed)"`` for the analysis's own."""
        return f"{m:.2f}".rstrip("0").rstrip(".") + (" (as analysed)" if m == self.own else "")


def stability_choices(stage: Any) -> StabilityChoices:
    """The stability sweep's choices for a hotspot stage: the cell size analysed and those either side of it, and the
    analysis's own distance band (its distance / its cell size: 707 m on 500 m cells is 1.41) with 2; so the sweep's
    first runs hold the analysis's settings (with 2 and 3 only, its "cells hot in ≥ 80 % of runs" sat beside a map of
    other settings)."""
    used = round(stage.grid.cell_size)
    sizes = sorted({100, 150, 200, 250, 300, 400, 500, 750, 1000, used})
    at = sizes.index(used)
    distance = stage.gi.params.get("distance_m")
    own = float(distance) / float(stage.grid.cell_size) if distance else 2.0
    mults = sorted({1.5, 2.0, 3.0, 4.0, own})
    return StabilityChoices(sizes, sizes[max(0, at - 1):at + 2], mults, sorted({own, 2.0 if own != 2.0 else 3.0}), own)


def stability_rows(result: Any) -> pd.DataFrame:
    """A stability sweep's table as shown: its distance band in whole metres and as a multiple of the cell size
    (``distance_times_cell``) instead of the rule that chose it (always "given" in a sweep)."""
    t = result.table.drop(columns=["run", "distance_rule"], errors="ignore")
    at = t.columns.get_loc("distance_m") + 1
    t.insert(at, "distance_times_cell", (t["distance_m"] / t["cell_size_m"]).round(2))
    return t.assign(distance_m=t["distance_m"].round())  # whole metres, as the heat map's labels (1.41 × 750 m: 1,061 m)


def _period_text(period: Any) -> str:
    return f"the hotspot period {parse_period(period, 'analysis period').describe(label=False)}" if period else "every month"


@dataclass(frozen=True)
class SweepRequest:
    """A stability sweep as asked: its runs, the data and settings they read, and the analysis it was asked beside.

    Attributes
    ----------
    sizes : tuple of int
        Cell sizes of the runs, metres.
    mults : tuple of float
        Distance bands of the runs, as multiples of their cell size.
    token : str
        The data's content token (:attr:`hotspots.app_support.DataBundle.token`).
    settings : Settings
        Only :data:`SWEEP_SETTINGS` (hotspot period, alpha, FDR, seed): what the runs read.
    cell_size, distance_m : float
        The analysis shown beside the sweep when it was asked: its cell size and distance band, metres.
    """

    sizes: tuple[int, ...]
    mults: tuple[float, ...]
    token: str
    settings: Settings
    cell_size: float
    distance_m: float

    @classmethod
    def of(cls, stage: Any, settings: Settings, token: str, sizes: Any = (), mults: Any = ()) -> SweepRequest:
        """The request for ``sizes`` × ``mults`` beside ``stage`` (a hotspot stage), run with ``settings`` on the data
        ``token``."""
        return cls(tuple(sorted(int(x) for x in sizes)), tuple(sorted(float(m) for m in mults)), str(token),
                   settings.only(*SWEEP_SETTINGS), float(stage.grid.cell_size), float(stage.gi.params.get("distance_m", "nan")))

    def run_for(self) -> str:
        """The settings the sweep was run for, said above its results: "Run for every month, alpha 0.05 with FDR, beside
        the analysis at 500 m cells and a 707 m distance band: cell sizes 400, 500, 750 m × distance bands 1.41, 2 × cell
        size"."""
        s = self.settings
        sizes = ", ".join(f"{x:,}" for x in self.sizes)
        mults = ", ".join(f"{m:.2f}".rstrip("0").rstrip(".") for m in self.mults)
        return (f"Run for {_period_text(s.period)}, alpha {s.alpha:g}{' with FDR' if s.fdr else ''}, beside the analysis at "
                f"{self.cell_size:,.0f} m cells and a {self.distance_m:,.0f} m distance band: cell sizes {sizes} m × distance "
                f"bands {mults} × cell size")

    def out_of_date(self, stage: Any, settings: Settings, token: str) -> str | None:
        """Why the sweep no longer matches the analysis on the page (None when it does): other data, or a setting changed
        since it was run (cell size, distance band, hotspot period, alpha, FDR, seed), each named with its values."""
        if str(token) != self.token:
            return "The stability sweep was run on other data, so it is not shown: run it again for these data."
        now = SweepRequest.of(stage, settings, token, self.sizes, self.mults)
        changed = []
        if now.cell_size != self.cell_size:
            changed.append(f"cell size {self.cell_size:,.0f} m → {now.cell_size:,.0f} m")
        if round(now.distance_m) != round(self.distance_m):
            changed.append(f"distance band {self.distance_m:,.0f} m → {now.distance_m:,.0f} m")
        a, b = self.settings, now.settings
        if a.period != b.period:
            changed.append(f"{_period_text(a.period)} → {_period_text(b.period)}")
        if (a.alpha, a.fdr) != (b.alpha, b.fdr):
            changed.append(f"alpha {a.alpha:g}{' with FDR' if a.fdr else ''} → {b.alpha:g}{' with FDR' if b.fdr else ''}")
        if a.seed != b.seed:
            changed.append(f"seed {a.seed} → {b.seed}")
        if not changed:
            return None
        return (f"Out of date: the settings have changed since this sweep was run ({'; '.join(changed)}). It still shows its "
                "runs for the settings it was run for; run it again for the analysis now on the page.")
