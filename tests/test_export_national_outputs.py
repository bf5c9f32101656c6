"""Tests for hotspots/export/national_outputs.py beyond the command's results folder
(tests/test_commands_national.py): the overview's caption."""

from __future__ import annotations

import numpy as np
import shapely

from hotspots.export.national_outputs import NAMED_MISSING, TITLE_WIDTH, overview_caption
from hotspots.forces import FORCES
from hotspots.national_inputs import ENGLAND_WALES_FORCES


def test_the_caption_says_the_category_months_and_forces():
    text = overview_caption(["Criminal damage and arson"], ("2025-01", "2025-06"), ["Cleveland Police"], [])
    assert text == "Criminal damage and arson, Jan 2025 to Jun 2025; Cleveland Police"
    assert overview_caption(None, ("2025-03", "2025-03"), [], []) == "every category, Mar 2025"
    assert overview_caption(["Anti-social behaviour"], None, [], []) == "Anti-social behaviour"


def test_many_forces_without_data_are_counted_and_every_line_fits():
    without = [FORCES[f] for f in ENGLAND_WALES_FORCES][:41]
    text = overview_caption(["Anti-social behaviour"], ("2025-04", "2025-09"), ["Cleveland Police", "Durham Constabulary"],
                            without)
    lines = text.split("\n")
    assert " ".join(lines).startswith("Anti-social behaviour, Apr 2025 to Sep 2025; Cleveland Police, Durham Constabulary")
    assert "41 forces of England and Wales have no data here (listed in parameters.json)" in " ".join(lines)
    assert without[0] not in text  # counted, not listed
    assert max(len(line) for line in lines) <= TITLE_WIDTH
    few = overview_caption(None, None, [], without[:NAMED_MISSING])
    assert all(name in few.replace("\n", " ") for name in without[:NAMED_MISSING])
    assert max(len(line) for line in few.split("\n")) <= TITLE_WIDTH


def test_cold_areas_lie_on_busy_ground_and_the_rest_are_counted(tmp_path):
    import json

    import geopandas as gpd
    import pytest

    pytest.importorskip("rasterio")
    from hotspots.areas import busy_ground, hotspot_areas, quiet_patches
    from hotspots.export.national_outputs import write_national_outputs
    from hotspots.national import run_national

    rng = np.random.default_rng(2)
    # a busy town with a quiet park in its middle, and sparse villages around it
    town = rng.uniform((420_000, 320_000), (430_000, 330_000), (30_000, 2))
    park = (np.abs(town[:, 0] - 425_000) < 1200) & (np.abs(town[:, 1] - 325_000) < 1200)
    villages = rng.uniform((400_000, 300_000), (450_000, 350_000), (300, 2))
    xy = np.vstack([town[~park], villages])
    res = run_national(xy, cell_size=250, bounds=None, mask_radius=2000, bandwidth=1000, distance=750)
    out = write_national_outputs(res, tmp_path / "o", overview=False)
    rec = json.loads((tmp_path / "o" / "parameters.json").read_text())["areas"]
    cold = gpd.read_file(tmp_path / "o" / "hotspot_areas.gpkg", layer="coldspot_areas")
    assert out.n_cold_areas == len(cold) >= 1  # the park
    (park_area,) = [g for g in cold.geometry if g.intersects(shapely.geometry.Point(425_000, 325_000))]
    assert 422_000 < park_area.bounds[0] and park_area.bounds[2] < 428_000  # the park, within the town
    busy = busy_ground(res.gistar)
    labels = hotspot_areas(res.gistar, kind="cold", within=quiet_patches(res.gistar.cold, busy)).labels
    assert labels.max() == len(cold) == 1 and busy[labels > 0].all()  # the park only, on busy ground
    # the fields around the town: busy within reach of it, but open to sparse ground
    assert (res.gistar.cold & busy & (labels == 0)).sum() > 0
    assert rec["cold_cells"] > rec["cold_cells_not_in_areas"] > 0
    assert "quiet patches surrounded by busy ground" in out.cold_note
    assert f"{rec['cold_cells_not_in_areas']:,} of the" in out.cold_note


def test_the_overview_title_says_cold_spots_plainly():
    """The national overview's title said "no quiet patch amid busy ground"."""
    from hotspots.export.national_outputs import overview_spots_text

    assert overview_spots_text(np.array([False, False])) == "hot spots (red); no cold spots"
    assert overview_spots_text(np.array([False, True])) == "hot spots (red), cold spots (blue)"
    assert overview_spots_text(None) == "hot spots (red)"
