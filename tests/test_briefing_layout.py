"""Briefing maps' layout: which towns are labelled, numbers clear of the map furniture, panels
sized to the study area, titles fitted, the emerging caveat, basemap and bandwidth notes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots import analyse
from hotspots.analysis import Settings
from hotspots.export import _basemap
from hotspots.export._layout import (
    DrawContext,
    _bbox,
    area_markers,
    label_candidates,
    new_figure,
    north_arrow,
    scale_bar,
    town_labels,
)
from hotspots.export.briefing import briefing_before_after, briefing_map, panel_grid
from hotspots.grid import BNG

SPOTS = {"Spotton": (410_000, 305_000), "Beeham": (430_000, 309_000), "Ceeford": (450_000, 306_000)}
#: A village whose gazetteer population (a district's) is far larger than the data show, and a
#: town across the border inside the data's box: no incidents around either.
INFLATED = ("Saint Inflated", (420_000, 312_000), 200_000)
ACROSS = ("Acrossborder", (455_500, 300_900), 250_000)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HOTSPOTS_OFFLINE", "1")
    monkeypatch.setattr(_basemap, "_failed_hosts", {})


def _map_axes(size_in, dpi, extent, rect=(0.05, 0.05, 0.9, 0.9)):
    """A figure and one map axes showing ``extent`` (x0, x1, y0, y1, metres)."""
    fig = new_figure(size_in, dpi)
    ax = fig.add_axes(rect)
    ax.set_xlim(*extent[:2])
    ax.set_ylim(*extent[2:])
    return fig, ax


@pytest.fixture(scope="module")
def wide():
    """A force four times wider than tall (60 x 15 km), three hotspots, real-data-like (no demo ids)."""
    rng = np.random.default_rng(2)
    box = (400_000, 300_000, 460_000, 315_000)
    spots = np.repeat(np.array(list(SPOTS.values()), dtype=float), 300, axis=0)
    bg = np.column_stack([rng.uniform(box[0], box[2], 3_000), rng.uniform(box[1], box[3], 3_000)])
    for _, (x, y), _ in (INFLATED, ACROSS):
        bg = bg[np.hypot(bg[:, 0] - x, bg[:, 1] - y) > 2_500]
    xy = np.vstack([bg, spots + rng.normal(0, 150, spots.shape)])
    months = pd.date_range("2024-01-01", "2024-12-01", freq="MS")[rng.integers(0, 12, len(xy))]
    inc = gpd.GeoDataFrame({"month": months}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=BNG)
    area = gpd.GeoDataFrame(geometry=[shapely.box(*box)], crs=BNG)
    return analyse(inc, settings=Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12")), study_area=area)


def _fake_towns(monkeypatch):
    import hotspots.places as places

    rows = [(n, 20_000, xy) for n, xy in SPOTS.items()] + [(INFLATED[0], INFLATED[2], INFLATED[1]),
                                                           (ACROSS[0], ACROSS[2], ACROSS[1])]
    towns = gpd.GeoDataFrame({"name": [r[0] for r in rows], "population": [r[1] for r in rows]},
                             geometry=gpd.points_from_xy([r[2][0] for r in rows], [r[2][1] for r in rows]), crs=BNG)
    towns = towns.sort_values("population", ascending=False).reset_index(drop=True)
    monkeypatch.setattr(places, "label_towns", lambda *a, **k: (towns.copy(), ""))


def test_towns_naming_hotspots_are_labelled_first_and_towns_the_data_do_not_show_are_not(wide, monkeypatch, tmp_path):
    """Testers' maps left out Blackpool, Bristol, Portsmouth, Belfast... (the towns of the top
    hotspots) while labelling Bexley (a London borough inside Kent's footprint) and Saint Peters
    (a Broadstairs village carrying Thanet's population) in bold as major towns."""
    _fake_towns(monkeypatch)
    ctx = DrawContext(wide, new_figure((5, 5), 50), 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    cand = label_candidates(ctx)
    assert set(cand["name"]) == set(SPOTS)  # no incidents around the other two: not the data's towns
    assert cand["names_area"].all()
    extent = (399_000.0, 461_000.0, 299_000.0, 316_000.0)
    fig, ax = _map_axes((8.0, 3.0), 60, extent)
    ctx = DrawContext(wide, fig, 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    assert set(town_labels(ctx, ax, extent, max_towns=3)) == set(SPOTS)
    assert sorted(t.get_text() for t in ax.texts) == sorted(SPOTS)


def test_a_town_whose_population_the_data_do_not_bear_out_is_not_drawn_as_a_major_town(wide, monkeypatch):
    import hotspots.places as places

    _fake_towns(monkeypatch)
    towns, _ = places.label_towns()
    # the village lies 700 m from Spotton's hotspot: labelled, but at the size its incidents show, not bold
    towns.loc[towns["name"] == INFLATED[0], "geometry"] = shapely.Point(410_700, 305_000)
    towns.loc[towns["name"] == INFLATED[0], "population"] = 150_000
    monkeypatch.setattr(places, "label_towns", lambda *a, **k: (towns.copy(), ""))
    ctx = DrawContext(wide, new_figure((5, 5), 50), 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    cand = label_candidates(ctx).set_index("name")
    assert not cand.loc[INFLATED[0], "big"]
    assert cand.loc[INFLATED[0], "population"] < 100_000


def test_hotspot_numbers_keep_clear_of_the_scale_bar_and_north_arrow(wide):
    """Essex's scale bar hid hotspot 10 and '20 km'; Kent's north arrow covered 25 and 26."""
    extent = (400_000.0, 460_000.0, 300_000.0, 330_000.0)
    fig, ax = _map_axes((6.0, 3.0), 100, extent)
    ctx = DrawContext(wide, fig, 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    scale_bar(ctx, ax, extent)
    north_arrow(ctx, ax, extent)
    furniture = list(ctx.occupied)
    # small hotspot areas just under the scale bar's and the north arrow's usual numbers' places
    squares = [shapely.box(x, y, x + 300, y + 300) for x, y in
               [(401_000, 300_500), (404_000, 300_800), (408_000, 300_600), (412_000, 300_500)]]
    areas = gpd.GeoDataFrame({"area_id": range(1, 5), "rank": range(1, 5)}, geometry=squares, crs=BNG)
    area_markers(ctx, ax, areas)
    renderer = fig.canvas.get_renderer()
    numbers = [t for t in ctx.occupied if t not in furniture]
    assert len(numbers) == 4
    for t in numbers:
        for f in furniture:
            assert not _bbox(t, renderer, leader=False).overlaps(_bbox(f, renderer)), t.get_text()


def test_north_arrow_goes_to_the_emptiest_corner():
    extent = (0.0, 100_000.0, 0.0, 50_000.0)
    fig, ax = _map_axes((6.0, 3.0), 100, extent)
    # the study area fills the top right: the arrow goes top left
    ctx = DrawContext(None, fig, 1.0, shapely.box(50_000, 20_000, 100_000, 50_000), None)
    north_arrow(ctx, ax, extent)
    n = next(t for t in ctx.occupied if hasattr(t, "get_text") and t.get_text() == "N")
    assert n.get_position()[0] < 50_000


def test_a_wide_force_fills_the_image_with_two_rows_of_panels(wide, tmp_path):
    """Kent's and Thames Valley's before/after maps filled the top half; the lower 40 % was blank."""
    cols, pw, ph = panel_grid(3, 4.0, 9.5, 5.7, 0.18, 0.35)
    assert cols < 3 and pw > 9.5 / 3 * 1.2
    assert panel_grid(3, 0.8, 9.5, 5.7, 0.18, 0.35)[0] == 3  # a tall force stays in one row
    img = briefing_before_after(wide, tmp_path / "ba.png", dpi=50)
    height = img.size_px[1]
    assert max(p.bbox_px[3] for p in img.panels) > 0.75 * height
    assert img.panels[2].bbox_px[1] > img.panels[0].bbox_px[3]  # the change panel under the before map


def test_a_long_title_is_fitted_to_the_figure_and_a_panel_title_to_its_panel():
    """A long --title at 8 x 5 in ran off the right edge; the change panel's title ran into "Legend"."""
    from hotspots.export._layout import fit_lines, header

    fig = new_figure((8.0, 5.0), 100)
    ctx = DrawContext(None, fig, 0.6, None, None)
    title = "Anti-social behaviour in Lancashire before and after the Immediate Justice scheme started in July 2025, all hotspots"
    header(ctx, (8.0, 5.0), 0.18, title, "Lancashire Constabulary  ·  Jan 2025 – Jun 2025  vs  Jul 2025 – Dec 2025")
    renderer = fig.canvas.get_renderer()
    for t in fig.texts:
        bb = t.get_window_extent(renderer)
        assert bb.x1 <= 8.0 * 100 - 0.18 * 100 + 1, t.get_text()
    assert fig.texts[0].get_text().startswith("Anti-social behaviour in Lancashire")
    text = "Change, after vs before (overdispersed count test)\ncells: 1 fall, 0 rise; areas: 0 fall, 1 rise"
    shown, size = fit_lines(fig, text, 8.5 * 0.6, 1.6, min_scale=0.75)
    t = fig.text(0, 0.5, shown, fontsize=size)
    assert t.get_window_extent(renderer).width <= 1.6 * 100
    assert shown.replace("\n", " ").split() == text.replace("\n", " ").split()  # nothing lost


@pytest.fixture(scope="module")
def demo_an():
    from hotspots.demo import generate_demo
    from hotspots.gazetteer import default_study_area

    d = generate_demo(0)
    return analyse(d.incidents, study_area=default_study_area())


def test_emerging_map_carries_the_short_series_caveat_when_it_applies(demo_an, monkeypatch, tmp_path):
    """The app's caveat (less than two years of months: a trend is a prompt to look, not a finding)
    was missing from the emerging hot spots briefing."""
    import hotspots.emerging_summary as es

    def method(img):
        return " ".join(img.texts)

    trends = demo_an.emerging
    assert trends is not None
    assert es.short_series_caveat(trends) == ""  # the demo's 24 months: year-to-year variation estimated
    assert "a prompt to look" not in method(briefing_map(demo_an, tmp_path / "e.png", layer="emerging", dpi=50))
    monkeypatch.setattr(es, "levels_estimated", lambda result: False)
    caveat = es.short_series_caveat(trends)
    assert caveat.endswith("a prompt to look, not a finding") and caveat in es.describe_emerging(trends)
    text = method(briefing_map(demo_an, tmp_path / "e2.png", layer="emerging", dpi=50))
    assert "a prompt to look" in text and "not a finding" in text


def test_no_raw_warning_about_the_display_lattice(wide, tmp_path):
    """`map --bandwidth 1` printed "UserWarning: the bandwidth (1 m) is smaller than the cell size
    (125 m)" even with --quiet: 125 m is the display lattice, not the analysis cells."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        an = analyse(wide.all_incidents, settings=Settings(bandwidth=1, cell_size=500, before=("2024-01", "2024-06"),
                                                              after=("2024-07", "2024-12")), study_area=wide.study_area)
    assert any("smaller than the cell size (500 m)" in n for n in an.notes)  # the analysis says it of its own cells
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        briefing_map(an, tmp_path / "d.png", dpi=40, display_cell_m=125, towns=False)
        briefing_before_after(an, tmp_path / "ba.png", dpi=40, display_cell_m=125, towns=False)
    assert not [str(w.message) for w in caught if "smaller than the cell size" in str(w.message)]


def test_a_requested_basemap_that_cannot_be_fetched_is_said(wide, tmp_path):
    """`--basemap osm` without network gave a map without basemap and only '(basemap none)'."""
    img = briefing_map(wide, tmp_path / "o.png", dpi=40, basemap="osm", towns=False)
    assert img.basemap == "none"
    assert img.basemap_warning.startswith("the requested basemap (osm) could not be fetched")
    assert "HOTSPOTS_OFFLINE" in img.basemap_warning  # and why
    assert briefing_map(wide, tmp_path / "a.png", dpi=40, basemap="auto", towns=False).basemap_warning is None


def test_cli_warns_when_the_requested_basemap_is_missing(tmp_path, capsys):
    from hotspots.cli import main

    assert main(["map", "--demo", "--basemap", "osm", "--quiet", "--dpi", "30", "--out", str(tmp_path / "m.png")]) == 0
    err = capsys.readouterr().err
    assert "warning: the requested basemap (osm) could not be fetched" in err


def test_clusters_are_drawn_visibly_and_numbered_with_leader_lines(demo_an):
    """Avon and Somerset's clusters map drew clusters as near-invisible specks, numbers floating
    on them without leader lines."""
    from matplotlib.text import Annotation

    from hotspots.export._layers import CLUSTER_MIN_PT, draw_layer
    from hotspots.export._layout import area_union

    fig = new_figure((4.0, 4.0), 60)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    x0, y0, x1, y1 = area_union(demo_an).bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ctx = DrawContext(demo_an, fig, 1.0, area_union(demo_an), None)
    info = draw_layer(ctx, ax, "clusters", None, True)
    polys = demo_an.clusters.polygons
    m_per_pt = (x1 - x0) / ax.get_window_extent().width * 60 / 72
    small = sum(max(g.bounds[2] - g.bounds[0], g.bounds[3] - g.bounds[1]) < CLUSTER_MIN_PT * m_per_pt for g in polys.geometry)
    dots = [ln for ln in ax.lines if ln.get_marker() == "o" and ln.get_markersize() >= CLUSTER_MIN_PT]
    assert small > 0 and len(dots) == small
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in numbers) == sorted(int(c) for c in info["clusters"]["cluster"])
    assert all(isinstance(t, Annotation) and t.arrow_patch is not None for t in numbers)


def test_large_towns_are_labelled_before_the_numbers_which_keep_clear_of_them(wide, monkeypatch):
    """Belfast and Blackpool, under a city centre full of hotspot numbers, found no room for their names."""
    import hotspots.places as places

    towns = gpd.GeoDataFrame({"name": list(SPOTS), "population": [150_000] * 3},
                             geometry=gpd.points_from_xy([xy[0] for xy in SPOTS.values()], [xy[1] for xy in SPOTS.values()]),
                             crs=BNG)
    monkeypatch.setattr(places, "label_towns", lambda *a, **k: (towns.copy(), ""))
    extent = (399_000.0, 461_000.0, 299_000.0, 316_000.0)
    fig, ax = _map_axes((4.0, 1.6), 60, extent, rect=(0.02, 0.02, 0.96, 0.96))
    ctx = DrawContext(wide, fig, 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    assert set(town_labels(ctx, ax, extent, max_towns=None, first_only=True)) == set(SPOTS)
    labels = [t for t in ax.texts if t.get_text() in SPOTS]
    area_markers(ctx, ax, wide.areas.areas)
    renderer = fig.canvas.get_renderer()
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert len(numbers) == wide.areas.n_areas
    for n in numbers:
        assert not any(_bbox(n, renderer, leader=False).overlaps(_bbox(lab, renderer)) for lab in labels), n.get_text()
    assert town_labels(ctx, ax, extent, max_towns=None) == []  # the later call does not label them again


def _panel_axes(fig, img) -> list:
    """The map axes of ``fig`` (saved as ``img``), in the order of its panels."""
    return [next(a for a in fig.axes if np.allclose(a.get_xlim() + a.get_ylim(), p.extent)) for p in img.panels]


def _town_label_misses(fig, img, towns: dict[str, tuple[float, float]]) -> list[str]:
    """What is wrong with the town labels drawn on the map axes of ``fig`` (saved as ``img``): a name farther from its
    town's point than :data:`TOWN_LABEL_REACH` heights of its text box (measured with the figure's
    renderer), a name without a dot on its point, a name over a hotspot number or over another name."""
    from matplotlib.transforms import Bbox

    from hotspots.export._layout import TOWN_LABEL_REACH

    renderer = fig.canvas.get_renderer()
    wrong = []
    for k, ax in enumerate(_panel_axes(fig, img)):
        labels = [t for t in ax.texts if t.get_text() in towns]
        numbers = [_bbox(t, renderer, leader=False) for t in ax.texts if t.get_text().isdigit()]
        boxes = []
        for lab in labels:
            name = lab.get_text()
            bb = _bbox(lab, renderer)
            px, py = ax.transData.transform(towns[name])
            dx = max(bb.x0 - px, 0.0, px - bb.x1)
            dy = max(bb.y0 - py, 0.0, py - bb.y1)
            if np.hypot(dx, dy) > TOWN_LABEL_REACH * bb.height:
                wrong.append(f"axes {k}: {name} {np.hypot(dx, dy) / bb.height:.1f} label heights from its town")
            dots = [ln for ln in ax.lines if ln.get_marker() == "o"
                    and np.allclose(np.column_stack(ln.get_data()), [towns[name]], atol=1.0)]
            if not dots:
                wrong.append(f"axes {k}: {name} without a dot on its town")
            if any(bb.overlaps(n) for n in numbers):
                wrong.append(f"axes {k}: {name} over a hotspot number")
            if any(bb.overlaps(o) for o in boxes):
                wrong.append(f"axes {k}: {name} over another name")
            boxes.append(Bbox(bb.get_points()))
    return wrong


#: Towns crowded around the wide force's three hotspots: each hotspot's own town (large, naming
#: it, the largest) and five large neighbours within 1.5 km, for which there is no room beside their dots.
CROWDED = {
    **{n: xy for n, xy in SPOTS.items()},
    **{f"{n[:3]}{tag}": (xy[0] + dx, xy[1] + dy) for n, xy in SPOTS.items()
       for tag, (dx, dy) in {"north": (300, 900), "south": (-200, -1_000), "east": (1_200, 200), "west": (-1_300, -100),
                             "mid": (500, -400)}.items()},
}


def _crowded_towns(monkeypatch):
    import hotspots.places as places

    towns = gpd.GeoDataFrame({"name": list(CROWDED), "population": [200_000 if n in SPOTS else 150_000 for n in CROWDED]},
                             geometry=gpd.points_from_xy([xy[0] for xy in CROWDED.values()],
                                                         [xy[1] for xy in CROWDED.values()]), crs=BNG)
    monkeypatch.setattr(places, "label_towns", lambda *a, **k: (towns.copy(), ""))


def _keep_figures(monkeypatch) -> list:
    """The figures the briefing functions draw (they return only what they saved)."""
    import hotspots.export.briefing as briefing

    figures = []
    make = briefing.new_figure

    def keep(*a, **k):
        figures.append(make(*a, **k))
        return figures[-1]

    monkeypatch.setattr(briefing, "new_figure", keep)
    return figures


def test_town_names_sit_beside_their_towns_or_are_left_out(wide, monkeypatch, tmp_path):
    """Devon and Cornwall's density briefing drew "Truro" and "Penryn" without their dots in the sea
    12 km from their towns, and the before/after panels put "Redruth" in a different place in each
    panel (a name with no room beside its dot was moved up to 6 times farther away)."""
    _crowded_towns(monkeypatch)
    figures = _keep_figures(monkeypatch)
    one = briefing_map(wide, tmp_path / "d.png", dpi=60, size_in=(9.0, 5.0))
    both = briefing_before_after(wide, tmp_path / "ba.png", dpi=60)
    assert len(figures) == 2
    for fig, img in zip(figures, (one, both)):
        assert _town_label_misses(fig, img, CROWDED) == []
        for ax in _panel_axes(fig, img):
            drawn = {t.get_text() for t in ax.texts if t.get_text() in CROWDED}
            assert set(SPOTS) <= drawn < set(CROWDED)  # the hotspots' own towns named; some crowded ones left out
    # the same places in every panel: the names are placed before the panels' own layers and numbers
    panels = [[(t.get_text(), t.xyann) for t in ax.texts if t.get_text() in CROWDED] for ax in _panel_axes(figures[1], both)]
    assert panels[0] == panels[1] == panels[2]


def test_a_number_on_a_town_placed_first_takes_back_its_name(wide, monkeypatch):
    """A hotspot number that found no free place covered Hayle's dot (Devon and Cornwall): the name
    is taken back, and the town left out when it has no room beside its dot."""
    import hotspots.places as places

    towns = gpd.GeoDataFrame({"name": ["Spotton"], "population": [150_000]}, geometry=[shapely.Point(*SPOTS["Spotton"])],
                             crs=BNG)
    monkeypatch.setattr(places, "label_towns", lambda *a, **k: (towns.copy(), ""))
    extent = (399_000.0, 461_000.0, 299_000.0, 316_000.0)
    fig, ax = _map_axes((4.0, 1.6), 60, extent, rect=(0.02, 0.02, 0.96, 0.96))
    ctx = DrawContext(wide, fig, 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    assert town_labels(ctx, ax, extent, max_towns=None, first_only=True) == ["Spotton"]
    # a number drawn over the town's dot, as one with no free place is
    ctx.occupied.append(ax.text(*SPOTS["Spotton"], "1", ha="center", va="center", fontsize=6.5,
                                bbox=dict(boxstyle="circle,pad=0.25", facecolor="white")))
    assert town_labels(ctx, ax, extent, max_towns=None) == []
    assert [t.get_text() for t in ax.texts] == ["1"] and not [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert ctx.towns_placed[id(ax)] == []


def test_devon_and_cornwall_town_names_sit_beside_their_towns(police_uk_dir, monkeypatch, tmp_path):
    """Real data (three months of Devon and Cornwall's ASB, where "Truro", "Penryn", "St Ives" and
    "Camborne" were drawn offshore): every town name drawn lies beside its GeoNames point."""
    import warnings

    from hotspots.io import load_police_uk
    from hotspots.pipeline import prepare_inputs
    from hotspots.places import label_towns

    files = sorted((police_uk_dir / "national_2025_gz").glob("2025-0[1-3]/*-devon-and-cornwall-street.csv.gz"))
    if len(files) < 3:
        pytest.skip("Devon and Cornwall's 2025 files absent")
    loaded = load_police_uk(files, categories="asb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep = prepare_inputs(loaded.data, settings=Settings())
        an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    figures = _keep_figures(monkeypatch)
    img = briefing_map(an, tmp_path / "dc.png", dpi=100)
    towns, _ = label_towns(an.study_area, an.incidents)
    towns = towns.to_crs(an.grid.crs)
    points = {n: (g.x, g.y) for n, g in zip(towns["name"], towns.geometry)}
    assert _town_label_misses(figures[0], img, points) == []
    drawn = {t.get_text() for t in _panel_axes(figures[0], img)[0].texts if t.get_text() in points}
    assert {"Plymouth", "Exeter", "Truro"} <= drawn


def test_hotspot_numbers_lead_around_the_towns_names(monkeypatch):
    """Northern Ireland's 19, pushed away by the names labelled before the numbers, ran its leader
    line through "Newtownabbey": a leader line across a name costs a number's place."""
    from matplotlib.transforms import Bbox
    from shapely.geometry import LineString

    import hotspots.export._layout as layout

    def crossing(weight):
        monkeypatch.setattr(layout, "LEADER_WEIGHT", weight)
        fig, ax = _map_axes((4.0, 4.0), 72, (0.0, 10_000.0, 0.0, 10_000.0))  # 1 point = 1 pixel
        renderer = fig.canvas.get_renderer()
        cx, cy = ax.transData.transform((5_200.0, 5_200.0))
        # a town's dot on the way up and right from the area's corner, short of the number's circle
        name = Bbox.from_extents(cx + 1.0, cy + 1.0, cx + 3.5, cy + 3.5)
        kw = dict(ha="center", va="center", fontsize=6.5, fontweight="bold", bbox=dict(boxstyle="circle,pad=0.25"))
        n = layout._number_beside(ax, "1", (5_000.0, 5_000.0, 5_200.0, 5_200.0), 10.4, kw, renderer, [], [], [name])
        c = _bbox(n, renderer, leader=False)
        seg = LineString([(cx, cy), ((c.x0 + c.x1) / 2, (c.y0 + c.y1) / 2)])
        return seg.intersection(shapely.box(name.x0, name.y0, name.x1, name.y1)).length

    weight = layout.LEADER_WEIGHT
    assert crossing(0.0) > 0  # up and right, the first place free for the circle: across the dot
    assert crossing(weight) == 0


def test_town_names_keep_off_the_numbers_leader_lines(wide, monkeypatch):
    """A name labelled after the hotspot numbers went across a number's leader line (its box was
    measured without the line)."""
    from matplotlib.text import Annotation

    _fake_towns(monkeypatch)
    extent = (399_000.0, 461_000.0, 299_000.0, 316_000.0)
    fig, ax = _map_axes((8.0, 3.0), 72, extent)
    ctx = DrawContext(wide, fig, 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    x, y = SPOTS["Spotton"]
    # a number far to the right of Spotton, its leader line level with Spotton's dot
    number = ax.annotate("1", (x + 300, y), xytext=(70, 0), textcoords="offset points", ha="center", va="center",
                         fontsize=6.5, arrowprops=dict(arrowstyle="-", shrinkA=0, shrinkB=0),
                         bbox=dict(boxstyle="circle,pad=0.25", facecolor="white"))
    ctx.occupied.append(number)
    assert "Spotton" in town_labels(ctx, ax, extent, max_towns=None)
    renderer = fig.canvas.get_renderer()
    label = next(t for t in ax.texts if t.get_text() == "Spotton")
    bb = _bbox(label, renderer)
    c = _bbox(number, renderer, leader=False)
    (x0, y0), (x1, y1) = ax.transData.transform(number.xy), ((c.x0 + c.x1) / 2, (c.y0 + c.y1) / 2)
    line = shapely.LineString([(x0, y0), (x1, y1)])
    assert isinstance(label, Annotation) and not line.intersects(shapely.box(bb.x0, bb.y0, bb.x1, bb.y1))


def test_segment_cover_counts_lines_not_their_boxes():
    """A number collides with an earlier one through its circle and its leader line, not through the
    box of a diagonal leader (which covers a city centre): 10 px of line across a 20 px circle = 200 px²."""
    import shapely
    from matplotlib.transforms import Bbox

    from hotspots.export._layout import _segment_cover

    circle = Bbox([[100, 100], [120, 120]])
    other = Bbox([[0, 0], [20, 20]])
    diagonal = shapely.LineString([(0, 0), (300, 300)])  # its box holds the circle; the line misses it below
    assert _segment_cover(circle, shapely.LineString([(110, 110), (110, 90)]), [other], []) == 0.0
    assert _segment_cover(circle, shapely.LineString([(110, 110), (10, 10)]), [other], []) == pytest.approx(
        20 * 10 * 2 ** 0.5)
    assert _segment_cover(circle, shapely.LineString([(110, 110), (200, 110)]), [], [diagonal]) == pytest.approx(
        20 * 20 * 2 ** 0.5)
    below = shapely.LineString([(0, 50), (300, 60)])
    assert _segment_cover(circle, shapely.LineString([(110, 110), (200, 110)]), [], [below]) == 0.0


def test_a_number_is_not_pushed_off_by_the_box_of_a_diagonal_leader():
    """Staffordshire 2025's hotspot 7 sat five steps above its area on a long leader line: the boxes of
    the diagonal leader lines round Stoke covered every place near it. Judged by the lines themselves
    it takes the first place, up and right, beside its area."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    from hotspots.export._layout import _number_beside

    fig = Figure(figsize=(4, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 40_000)
    ax.set_ylim(0, 40_000)
    renderer = fig.canvas.get_renderer()
    kw = dict(ha="center", va="center", fontsize=6.5, bbox=dict(boxstyle="circle,pad=0.25"))
    bounds = (20_000, 20_000, 20_300, 20_300)  # display pixels 200-203
    line = shapely.LineString([(150, 300), (300, 150)])  # an earlier number's leader, passing by
    box = Bbox([[150, 150], [300, 300]])  # ... and its box, over every place within five steps
    off = 10.0
    by_line = _number_beside(ax, "7", bounds, off, kw, renderer, [box], leaders=[line])
    assert tuple(by_line.xyann) == (off, off)
    by_box = _number_beside(ax, "7", bounds, off, kw, renderer, [box])
    assert tuple(by_box.xyann) != (off, off)


def test_the_scale_bar_takes_the_bottom_corner_holding_less_of_the_study_area():
    import shapely

    from hotspots.export._layout import DrawContext, scale_on_right

    extent = (0.0, 100_000.0, 0.0, 100_000.0)
    # a force whose southern tip reaches the bottom left corner (Staffordshire, West Mercia): the bar goes right
    tip = DrawContext(analysis=None, fig=None, scale=1.0, area_geom=shapely.box(0, 0, 40_000, 100_000), source=None)
    assert scale_on_right(tip, extent)
    # the bottom right as full as the bottom left, or no study area: bottom left as before
    full = DrawContext(analysis=None, fig=None, scale=1.0, area_geom=shapely.box(0, 0, 100_000, 100_000), source=None)
    assert not scale_on_right(full, extent)
    assert not scale_on_right(DrawContext(analysis=None, fig=None, scale=1.0, area_geom=None, source=None), extent)


def test_a_haloed_name_is_measured_as_wide_as_it_inks():
    """At 110 dpi a name drawn with its white halo (as outlines) inks wider than its laid-out box: Gloucestershire's
    "Bourton on the Water" passed the 2-pixel check and ran over the map's frame. Its box now holds its ink."""
    from hotspots.export._layout import HALO

    for dpi in (72, 110, 300):
        for ha in ("left", "right", "center"):
            fig = new_figure((4, 2), dpi)
            ax = fig.add_axes((0, 0, 1, 1))
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.axis("off")
            txt = ax.annotate("Bourton on the Water", (0.5, 0.5), xytext=(4, 0), textcoords="offset points", ha=ha,
                              va="center", fontsize=6.8, path_effects=HALO)
            bb = _bbox(txt, fig.canvas.get_renderer())
            fig.canvas.draw()
            ink = np.flatnonzero((np.asarray(fig.canvas.buffer_rgba())[:, :, 0] < 200).any(axis=0))
            assert bb.x0 <= ink.min() and ink.max() + 1 <= bb.x1 + 0.5, (dpi, ha, bb, ink.min(), ink.max())


def test_the_side_panel_cuts_a_paragraph_at_its_bottom_and_rewinds():
    from hotspots.export._panel import SidePanel

    fig = new_figure((6, 4), 100)
    ctx = DrawContext.__new__(DrawContext)
    ctx.fig, ctx.scale = fig, 1.0
    panel = SidePanel(ctx, 0, 0, 3, 0.5)  # room for a few lines of 7 pt
    mark = panel.mark()
    panel.para("word " * 400, size=7.0)
    assert panel.overflowed and panel.cursor <= panel.h + panel.line_h(7.0) * 0.25 + 1e-9
    drawn = [t.get_text() for t in panel.ax.texts]
    assert drawn and drawn[-1].endswith(" …") and len(drawn) == int(panel.h // panel.line_h(7.0))
    panel.rewind(mark)
    assert panel.cursor == 0 and not panel.ax.texts and not panel.overflowed
    # a number and its unit stay on one line
    lines = panel.para_lines("x " * 30 + "within 2,000 m of the harm: 27 % of the 60", size=7.0)
    assert all(not line.rstrip().endswith(("27", "2,000")) for line in lines)


def test_table_widths_give_the_place_what_the_numbers_leave():
    """"Chapel..., Chippenham" was cut in a column of fixed share while the numbers' columns stood half empty."""
    from hotspots.export._panel import table_widths

    fig = new_figure((6, 4), 100)
    header = ["#", "Near", "Incidents", "Change"]
    rows = [["1", "Chapel Street, Chippenham", "3,321", "+20%"]]
    w = table_widths(fig, header, rows, 6.8, 3.7, 1, fallback=[0.45, 1.9, 1.1, 1.0])
    assert sum(w) == pytest.approx(3.7) and w[1] > 1.9 / 4.45 * 3.7
    assert all(x < 1.0 for i, x in enumerate(w) if i != 1)  # each number column as wide as its widest cell
    # too narrow a panel to size by content: the shares as given
    assert table_widths(fig, header, rows, 6.8, 1.0, 1, fallback=[0.45, 1.9, 1.1, 1.0]) == [0.45, 1.9, 1.1, 1.0]


def test_a_network_forces_map_tries_its_towns_by_population_not_by_its_incidents(wide, monkeypatch):
    """British Transport Police's national map (tester) labelled Brent its biggest city and left London out: London's
    64 incidents within 1 km of its point are few for 9 million people, as a network's incidents gather at stations.
    The same data named as a network force's: every town is a candidate, at its own population."""
    import dataclasses

    _fake_towns(monkeypatch)
    btp = dataclasses.replace(wide, incidents=wide.incidents.assign(force="British Transport Police"))
    ctx = DrawContext(btp, new_figure((5, 5), 50), 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    cand = label_candidates(ctx).set_index("name")
    assert set(cand.index) == set(SPOTS) | {INFLATED[0], ACROSS[0]}
    assert cand.loc[ACROSS[0], "population"] == ACROSS[2] and bool(cand.loc[ACROSS[0], "big"])
    assert list(cand.index[:2]) == [ACROSS[0], INFLATED[0]]  # the largest first, after none naming an area is dropped
    # an area force's data: the same towns judged by their incidents (as before)
    area_force = DrawContext(wide, new_figure((5, 5), 50), 1.0, shapely.box(400_000, 300_000, 460_000, 315_000), None)
    assert ACROSS[0] not in set(label_candidates(area_force)["name"])


def test_colour_bar_ticks_leave_out_a_round_number_squeezed_next_to_zero():
    from hotspots.export._layout import scale_ticks

    assert scale_ticks(35.0) == [0.0, 10, 20, 35.0]  # the run's referral bar had a lone "2" by the 0
    ticks = scale_ticks(100.0)
    assert ticks[0] == 0.0 and ticks[-1] == 100.0
    assert all(b - a >= 100.0 / 8 for a, b in zip(ticks, ticks[1:]))


def test_a_method_paragraph_is_made_smaller_to_fit_rather_than_cut():
    from hotspots.export._panel import SidePanel

    fig = new_figure((6, 4), 100)
    ctx = DrawContext.__new__(DrawContext)
    ctx.fig, ctx.scale = fig, 1.0
    text = "Change: incidents per day compared, as the periods differ in length (181 and 184 days). " * 4
    panel = SidePanel(ctx, 0, 0, 3, 0.6)
    assert len(panel.para_lines(text, 6.3)) * panel.line_h(6.3) > panel.h  # at 6.3 pt it would be cut
    size = panel.para_fit(text, size=6.3, gap=0)
    assert size < 6.3 and not panel.overflowed and panel.cursor <= panel.h + 1e-9
    drawn = " ".join(t.get_text() for t in panel.ax.texts)
    assert "…" not in drawn and drawn.split() == text.split()
    roomy = SidePanel(ctx, 0, 0, 3, 3.0)
    assert roomy.para_fit(text, size=6.3) == 6.3  # room enough: the size asked for
