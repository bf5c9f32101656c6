"""The regression-to-the-mean caveat on each cell's change (hotspots.cell_selection)."""

from __future__ import annotations

import numpy as np
import pytest
from test_change import _areas, _grid, _incidents

from hotspots._errors import ParameterError
from hotspots.cell_selection import caveated_cells_text, hotspot_cell_notes, with_hotspot_cells
from hotspots.change import Period, change_areas, change_cells, periods_around
from hotspots.periods import SELECTION_CAVEAT

BEFORE, AFTER = periods_around("2023-07-01")  # Jul 2022 – Jun 2023, Jul 2023 – Jun 2024
# (0,0) 20 -> 2 and (2,0) 20 -> 2: falls; (1,1) 5 -> 25: a rise; (2,2) 6 -> 6: no change
SPEC = [
    ((0, 0), "2022-10-15", 20), ((0, 0), "2023-10-15", 2),
    ((2, 0), "2022-10-15", 20), ((2, 0), "2023-10-15", 2),
    ((1, 1), "2022-11-02", 5), ((1, 1), "2024-01-20", 25),
    ((2, 2), "2022-08-01", 6), ((2, 2), "2024-03-03", 6),
]
LABELS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]])  # one hotspot area: cells (0,0) and (1,1); (2,0) is not in it


def _cells():
    cells = change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, test="poisson", fdr=False)
    t = cells.table.set_index(["row", "col"])
    assert t.loc[(0, 0), "change_class"] == t.loc[(2, 0), "change_class"] == "significant fall"
    assert t.loc[(1, 1), "change_class"] == "significant rise"
    return cells


def _note(res, row, col):
    t = res.table
    return t.loc[(t["row"] == row) & (t["col"] == col), "change_note"].item()


def test_hotspot_cells_chosen_from_the_before_period_carry_the_caveat_on_a_fall():
    """Hotspots chosen from the before months: a fall is expected with no effect, in the hotspot area's cells
    as in the area (its change_note) and the pooled rows; the cell outside that fell as much is not caveated."""
    cells = _cells()
    res = with_hotspot_cells(cells, LABELS, BEFORE)
    assert res.table.columns[-1] == "change_note" and list(res.table.columns[:-1]) == list(cells.table.columns)
    assert _note(res, 0, 0) == SELECTION_CAVEAT  # in the hotspot area, fell
    assert _note(res, 2, 0) is None  # fell as much, but was not chosen
    assert _note(res, 1, 1) is None  # in the hotspot area, but rose: not what the choice predicts
    assert res.selection_notes().tolist() == res.table["change_note"].tolist()
    assert int(res.table["change_note"].notna().sum()) == 1
    # the counts in words say how many of the falls the caveat is said of
    assert res.counts_text().startswith(f"significant fall 2 (1 in hotspot areas, {SELECTION_CAVEAT}), ")
    assert caveated_cells_text(res) == f"significant fall in 1 cell of hotspot areas: {SELECTION_CAVEAT} (regression to the mean)"
    # the per-cell change itself is unchanged
    assert res.table.drop(columns="change_note").equals(cells.table)


def test_hotspot_cells_chosen_from_the_after_period_carry_it_on_a_rise():
    res = with_hotspot_cells(_cells(), LABELS, AFTER)
    assert [_note(res, 0, 0), _note(res, 2, 0), _note(res, 1, 1)] == [None, None, SELECTION_CAVEAT]
    assert f"significant rise 1 ({SELECTION_CAVEAT})" in res.counts_text()  # the only rise is a hotspot cell's


@pytest.mark.parametrize("chosen", [None, Period.from_months("2021-01", "2021-12"), Period.from_months("2022-07", "2024-06")])
def test_no_caveat_when_the_hotspot_months_favour_nothing(chosen):
    """Unknown months, months outside the compared periods, or both periods alike: no change is predicted."""
    cells = _cells()
    res = with_hotspot_cells(cells, LABELS, chosen)
    assert "change_note" in res.table.columns and res.table["change_note"].isna().all()  # the same columns every run
    assert caveated_cells_text(res) == "" and res.counts_text() == cells.counts_text()
    assert SELECTION_CAVEAT not in res.counts_text()


def test_the_cells_follow_the_rule_the_areas_follow():
    """One rule: the hotspot areas made of cells (0,0) and (1,1) and those cells get the caveat together,
    whatever months the hotspots were chosen from."""
    inc = _incidents(SPEC)
    cells = change_cells(inc, _grid(), BEFORE, AFTER, test="poisson", fdr=False)
    for chosen in (BEFORE, AFTER, None, Period.from_months("2022-07", "2024-06")):
        areas = change_areas(inc, _areas(), BEFORE, AFTER, test="poisson", fdr=False, selected_on=chosen)
        cell = with_hotspot_cells(cells, LABELS, chosen)
        assert areas.selection_notes().tolist() == [_note(cell, 0, 0), _note(cell, 1, 1)], chosen


def test_bad_arguments():
    cells = _cells()
    with pytest.raises(ParameterError, match="shape"):
        hotspot_cell_notes(cells, np.zeros((2, 2), dtype=int), BEFORE)
    area = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, test="poisson", fdr=False)
    with pytest.raises(ParameterError, match="per-cell"):
        hotspot_cell_notes(area, LABELS, BEFORE)
    assert caveated_cells_text(None) == "" and caveated_cells_text(cells) == ""  # no hotspot areas known


def test_the_exported_change_cells_carry_the_caveat(demo, tmp_path):
    """The demo with hotspots chosen from the before year: the CSV and GeoPackage change_cells tables give each
    hotspot cell's caveat in ``change_note`` (their last column), as csv/hotspot_areas.csv gives each area's."""
    from hotspots.export.gis import csv_tables, gis_layers
    from hotspots.pipeline import Settings, analyse

    s = Settings(cell_size=500.0, before=("2022-07", "2023-06"), after=("2023-07", "2024-06"), period=("2022-07", "2023-06"),
                 cluster_method="none", ring_m=0)
    an = analyse(demo.incidents, settings=s, study_area=demo.study_area)
    assert an.change_areas.selection_favours == "fall"
    t, lab = an.change_cells.table, an.areas.labels
    want = (lab[t["row"], t["col"]] > 0) & (t["change_class"] == "significant fall").to_numpy()
    assert want.any() and np.array_equal(t["change_note"].notna().to_numpy(), want)
    for table in (csv_tables(an)["change_cells"], gis_layers(an)["change_cells"]):
        notes = table["change_note"]
        assert (notes.dropna() == SELECTION_CAVEAT).all() and notes.notna().sum() == want.sum()
    assert csv_tables(an)["change_cells"].columns[-1] == "change_note"
    # and the words: the cells' counts and the briefing's legend line
    assert f"({SELECTION_CAVEAT})" in an.change_cells.counts_text()
    assert caveated_cells_text(an.change_cells).startswith(f"significant fall in {int(want.sum()):,} cell")
    from hotspots.export.briefing import briefing_before_after

    img = briefing_before_after(an, tmp_path / "ba.png", dpi=60, basemap="none")
    said = " ".join(img.texts).replace("\u00a0", " ")
    assert "(regression to the mean)" in said and SELECTION_CAVEAT in said
