"""Notes on the analysis's scale (hotspots.scale_notes): coarse cells, an over-smoothing bandwidth, a wide automatic band."""

from __future__ import annotations

import numpy as np

from hotspots.scale_notes import COARSE_CELLS_ACROSS, scale_notes, study_extent_m


def _square(cells: int) -> np.ndarray:
    return np.ones((cells, cells), dtype=bool)


def test_extent_is_the_box_around_the_study_area_cells():
    a = np.zeros((5, 8), dtype=bool)
    a[1:4, 2:7] = True
    assert study_extent_m(a, 250.0) == (750.0, 1250.0)
    assert study_extent_m(np.zeros((3, 3), bool), 100.0) == (0.0, 0.0)


def test_nothing_is_said_when_the_scale_is_in_proportion():
    # Norfolk-like: 138 cells across at 500 m, bandwidth 3 km, automatic band 707 m (1.4 cells)
    assert scale_notes(_square(138), 500.0, 3_000.0, 707.0, True, [4, 9, 2], 0.2) == []


def test_coarse_cells_are_said():
    # 3,000 m cells: about 23 across (fewer than COARSE_CELLS_ACROSS)
    notes = scale_notes(_square(23), 3_000.0, None, None, False)
    assert 23 < COARSE_CELLS_ACROSS and len(notes) == 1
    assert notes[0].startswith("the 3,000 m cells are coarse for this study area: the study area is about 23 cells across")
    # or areas of one or two cells holding most incidents, on a grid wide enough
    notes = scale_notes(_square(100), 1_000.0, None, None, False, [1, 2, 1], 0.6)
    assert len(notes) == 1 and "hotspot areas are of 1 cell(s) (median) yet hold 60% of the incidents" in notes[0]
    assert scale_notes(_square(100), 1_000.0, None, None, False, [1, 2, 1], 0.4) == []  # most incidents: not held


def test_a_bandwidth_over_a_fifth_of_the_shorter_side_is_said():
    area = np.ones((120, 180), dtype=bool)  # 60 km by 90 km at 500 m
    notes = scale_notes(area, 500.0, 20_000.0, None, False)
    assert len(notes) == 1 and "bandwidth (20,000 m) is over a fifth of the study area's shorter side (60.0 km)" in notes[0]
    assert scale_notes(area, 500.0, 12_000.0, None, False) == []  # exactly a fifth: not over


def test_an_automatic_band_of_more_than_three_cells_is_said_in_cells():
    # Norfolk at 250 m cells: the first Moran's I peak at 1,875 m
    notes = scale_notes(_square(276), 250.0, None, 1_875.0, True)
    assert len(notes) == 1 and notes[0].startswith("the automatic distance band (1,875 m) is 7.5 cells wide")
    assert "scale at which the incidents cluster" in notes[0] and "wider" in notes[0]
    assert scale_notes(_square(276), 250.0, None, 1_875.0, False) == []  # given by the user: their choice
    assert scale_notes(_square(276), 250.0, None, 750.0, True) == []  # 3 cells: not more than 3


def test_the_advice_offers_the_automatic_bandwidth_only_when_another_was_given():
    """Dyfed-Powys's two towns: "a shorter bandwidth (or the automatic one)" beside the automatic bandwidth."""
    area = np.ones((120, 180), dtype=bool)
    given = scale_notes(area, 500.0, 20_000.0, None, False)[0]
    auto = scale_notes(area, 500.0, 20_000.0, None, False, bandwidth_automatic=True)[0]
    assert given.endswith("a shorter bandwidth (or the automatic one) keeps them local")
    assert auto.endswith("a shorter bandwidth keeps them local") and "automatic one" not in auto


def test_street_scale_cells_are_never_called_coarse():
    """City of London 2025: the automatic 100 m cells, 281 study-area cells (17 across), were called coarse."""
    assert scale_notes(_square(17), 100.0, None, None, False, cell_size_automatic=True) == []
    assert scale_notes(_square(17), 200.0, None, None, False) == []  # STREET_CELL_M itself: not coarse
    assert scale_notes(_square(100), 150.0, None, None, False, [1, 2, 1], 0.6) == []  # one-cell areas of 150 m: streets
    assert len(scale_notes(_square(17), 250.0, None, None, False)) == 1  # just above it: coarse


def test_the_coarse_advice_never_contradicts_the_cell_size_or_the_sparse_note():
    given = scale_notes(_square(17), 500.0, None, None, False)[0]
    auto = scale_notes(_square(17), 500.0, None, None, False, cell_size_automatic=True)[0]
    sparse = scale_notes(_square(17), 500.0, None, None, False, cell_size_automatic=True, sparse=True)[0]
    assert given.endswith("smaller cells (e.g. the automatic cell size) draw hotspots at street scale")
    assert auto.endswith("smaller cells (give a cell size) draw hotspots at street scale") and "automatic" not in auto
    assert "already sparse for these cells" in sparse and "(give a cell size)" not in sparse
    assert all(n.startswith("the 500 m cells are coarse for this study area") for n in (given, auto, sparse))
