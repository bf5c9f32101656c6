"""Briefing map images: files, sizes, content at known places, layouts, basemap fallback."""

from __future__ import annotations

import dataclasses
import http.server
import io
import re
import shutil
import socket
import subprocess
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib import colors as mcolors
from PIL import Image

from hotspots import analyse
from hotspots._errors import ParameterError
from hotspots.analysis import Settings
from hotspots.change import Period
from hotspots.demo import generate_demo
from hotspots.export import DEMO_ATTRIBUTION, _basemap, briefing_before_after, briefing_map
from hotspots.export.briefing import CHANGE_COLOURS, GI_COLOURS
from hotspots.gazetteer import default_study_area, towns
from hotspots.grid import BNG
from hotspots.period_split import left_out_text
from hotspots.publication import scheme_publication
from hotspots.schema import POLICE_UK_ATTRIBUTION


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test reaches the internet: tiles are off unless a test points at a local server."""
    monkeypatch.setenv("HOTSPOTS_OFFLINE", "1")
    monkeypatch.setattr(_basemap, "_failed_hosts", {})


@pytest.fixture(scope="module")
def demo():
    d = generate_demo(0)
    an = analyse(d.incidents, study_area=default_study_area(), referrals=d.referrals, tasks=d.tasks)
    centre = next(h for h in d.ground_truth["hotspots"] if h["id"] == "derby-centre")
    return an, d, (float(centre["easting"]), float(centre["northing"]))


def _rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


def _is_red(px: np.ndarray) -> np.ndarray:
    """Hot colours of the density ramp and of Gi* hot classes: red well above green and blue."""
    return (px[..., 0] > px[..., 1] + 70) & (px[..., 0] > px[..., 2] + 40)


def _cell_pixels(img, grid, row, col, panel=0, inset=0.2):
    """Pixel coordinates inside grid cell (row, col), away from its edges."""
    x0 = grid.xmin + col * grid.cell_size
    y1 = grid.ymax - row * grid.cell_size
    xs = x0 + grid.cell_size * np.linspace(inset, 1 - inset, 7)
    ys = y1 - grid.cell_size * np.linspace(inset, 1 - inset, 7)
    xx, yy = np.meshgrid(xs, ys)
    c, r = img.to_pixel(xx.ravel(), yy.ravel(), panel)
    return np.round(r).astype(int), np.round(c).astype(int)


# ----------------------------------------------------------------------------- files
def test_png_size_dpi_and_not_blank(demo, tmp_path):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "m.png", layer="density", dpi=120, size_in=(10, 7))
    with Image.open(img.path) as im:
        assert im.format == "PNG"
        assert im.size == (1200, 840) == img.size_px
        assert im.info["dpi"] == pytest.approx((120, 120), rel=1e-3)  # PNG stores whole pixels per metre
        arr = np.asarray(im.convert("RGB"))
    assert arr.std() > 20
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 200
    # Equal scale in x and y: BNG metres must not be stretched.
    (panel,) = img.panels
    xmin, xmax, ymin, ymax = panel.extent
    left, top, right, bottom = panel.bbox_px
    assert (xmax - xmin) / (right - left) == pytest.approx((ymax - ymin) / (bottom - top), rel=0.01)
    assert 0 <= left < right <= img.size_px[0] and 0 <= top < bottom <= img.size_px[1]


def test_density_is_hot_at_derby_centre_and_not_in_the_countryside(demo, tmp_path):
    an, _, (ex, ny) = demo
    img = briefing_map(an, tmp_path / "d.png", layer="density", dpi=100, towns=False)
    # the scale's rule is said (the app's map tops its colours at a percentile, and says so)
    assert "Kernel density, incidents per km² (0 to the maximum)" in img.texts
    arr = _rgb(img.path)
    # The planted Derby centre and rings of points 300 and 600 m around it (the town label
    # would sit on the centre, hence towns=False; test_town_labels checks labels).
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    rad = np.repeat([300.0, 600.0], 12)
    xs = np.r_[ex, ex + rad * np.cos(np.r_[ang, ang])]
    ys = np.r_[ny, ny + rad * np.sin(np.r_[ang, ang])]
    c, r = img.to_pixel(xs, ys)
    px = arr[np.round(r).astype(int), np.round(c).astype(int)]
    assert _is_red(px).mean() > 0.9
    # Kinder Scout, Peak District: inside the study area, no planted hotspot within 10 km.
    c, r = img.to_pixel(408600.0, 387600.0)
    assert not _is_red(arr[int(round(r)), int(round(c))])


def test_gistar_hot_99_colour_over_the_derby_cell(demo, tmp_path):
    an, _, (ex, ny) = demo
    g = an.grid
    rows, cols, _ = g.cell_of(np.array([[ex, ny]]))
    assert an.gi.classes[rows[0], cols[0]] == "hot 99%"
    img = briefing_map(an, tmp_path / "g.png", layer="gistar", dpi=150)
    arr = _rgb(img.path)
    hot = np.array([int(GI_COLOURS["hot 99%"][i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    near = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if an.gi.classes[rows[0] + dr, cols[0] + dc] == "hot 99%":
                r, c = _cell_pixels(img, g, rows[0] + dr, cols[0] + dc)
                near.append(np.linalg.norm(arr[r, c] - hot, axis=1) < 45)
    near = np.concatenate(near)
    assert near.mean() > 0.6
    assert img.legend["Hot spot, 99% confidence"] == GI_COLOURS["hot 99%"]


def test_change_layer_colours_a_significant_fall_cell(demo, tmp_path):
    an, _, _ = demo
    t = an.change_cells.table
    falls = t[t["change_class"] == "significant fall"]
    assert len(falls)
    img = briefing_map(an, tmp_path / "c.png", layer="change", dpi=150, towns=False)
    arr = _rgb(img.path)
    fall = np.array([int(CHANGE_COLOURS["significant fall"][i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    ok = []
    for row, col in zip(falls["row"], falls["col"]):
        r, c = _cell_pixels(img, an.grid, int(row), int(col), inset=0.3)
        ok.append(np.median(np.linalg.norm(arr[r, c] - fall, axis=1)) < 60)
    # Markers or labels may cover a cell or two; most must show the fall colour.
    assert np.mean(ok) >= 0.5


def test_emerging_layer_colours_each_cell_by_its_pattern(demo, tmp_path):
    from hotspots import style

    an, _, _ = demo
    labels = np.asarray(an.emerging.labels)
    img = briefing_map(an, tmp_path / "e.png", layer="emerging", dpi=150, towns=False)
    arr = _rgb(img.path)
    drawn = 0
    for cat in ("persistent hot spot", "diminishing hot spot"):
        colour = np.array([int(style.EMERGING_COLOURS[cat][i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
        rows, cols = np.nonzero(labels == cat)
        assert len(rows), cat  # the demo has both
        ok = []
        for row, col in zip(rows, cols):
            r, c = _cell_pixels(img, an.grid, int(row), int(col), inset=0.3)
            ok.append(np.median(np.linalg.norm(arr[r, c] - colour, axis=1)) < 60)
        assert np.mean(ok) >= 0.5, cat  # markers or outlines may cover a few
        drawn += 1
        assert img.legend[cat[0].upper() + cat[1:]] == style.EMERGING_COLOURS[cat]
    assert drawn == 2 and "emerging hot spots" in " ".join(img.texts)
    assert f"Emerging hot spots: each cell's space-time Gi* over {an.emerging.n_steps} months" in " ".join(img.texts)
    with pytest.raises(ParameterError, match="10 months"):
        briefing_map(dataclasses.replace(an, emerging=None), tmp_path / "n.png", layer="emerging", dpi=50)


def test_pdf_file_has_one_page_of_the_requested_size(demo, tmp_path):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "m.pdf", layer="gistar", dpi=150, size_in=(11, 7.5))
    data = img.path.read_bytes()
    assert img.format == "pdf"
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page[^s]", data)
    assert len(pages) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert float(box.group(1)) == pytest.approx(11 * 72, abs=0.5)
    assert float(box.group(2)) == pytest.approx(7.5 * 72, abs=0.5)
    assert b"/Subtype /Image" in data  # the raster layer
    assert b"CreationDate" not in data  # reproducible: no creation time
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(img.path), str(tmp_path / "p")], check=True, timeout=60)
        (png,) = tmp_path.glob("p*.png")
        assert _rgb(png).std() > 20


def test_same_input_gives_identical_png_bytes(demo, tmp_path):
    an, _, _ = demo
    a = briefing_map(an, tmp_path / "a.png", layer="gistar", dpi=60)
    b = briefing_map(an, tmp_path / "b.png", layer="gistar", dpi=60)
    assert a.path.read_bytes() == b.path.read_bytes()


# ----------------------------------------------------------------------------- content
def test_furniture_texts(demo, tmp_path):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "m.png", layer="gistar", dpi=60, title="Test title")
    texts = set(img.texts)
    assert "Test title" in texts
    assert "N" in texts  # north arrow
    assert any(re.fullmatch(r"\d+(\.\d+)? km", t) for t in texts)  # scale bar end label
    joined = " ".join(img.texts)
    assert DEMO_ATTRIBUTION in joined
    assert "Jan 2022 – Mar 2025" in joined  # period of the demo data
    # Parameter caption: cell size, bandwidth, distance band, alpha, FDR.
    # (wrapped text: a no-break space between each number and its unit, hotspots.style.keep_units)
    assert f"{an.grid.cell_size:g}\u00a0m cells" in joined
    assert f"bandwidth {float(an.density.bandwidth_m):,.0f}\u00a0m" in joined
    assert f"Gi* distance {float(an.gi.params['distance_m']):,.0f}\u00a0m" in joined
    assert "alpha 0.05 with FDR" in joined
    for label in ("Hot spot, 99% confidence", "Hot spot, 95% confidence", "Hot spot, 90% confidence"):
        assert label in texts


@pytest.mark.parametrize("category, title",
                         [("ASB $x^{2}$", None), ("Anti-social behaviour", r"$\undefinedcmd{x}$ and $\sqrt{2}$")])
def test_user_text_is_drawn_as_written_never_as_maths(demo, tmp_path, category, title):
    an, _, _ = demo
    inc = an.incidents.copy()
    inc["category"] = category
    odd = dataclasses.replace(an, incidents=inc)
    img = briefing_map(odd, tmp_path / "m.png", layer="gistar", dpi=40, title=title)
    expected = title or f"{category}: Getis-Ord Gi* hot spots"
    assert expected in img.texts
    img = briefing_before_after(odd, tmp_path / "ba.pdf", incidents=inc, dpi=40, title=title)
    assert (title or f"{category}: before and after") in img.texts


def test_a_map_of_two_categories_names_them_in_its_title(demo, tmp_path):
    """Cleveland's Burglary and Robbery map was titled "Incidents: kernel density"."""
    an, _, _ = demo
    inc = an.incidents.copy()
    inc["category"] = np.where(np.arange(len(inc)) % 2, "Robbery", "Burglary")
    img = briefing_map(dataclasses.replace(an, incidents=inc), tmp_path / "m.png", layer="density", dpi=30)
    assert "Burglary and Robbery: kernel density" in img.texts


def test_density_legend_has_units(demo, tmp_path):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "m.png", layer="density", dpi=60)
    assert img.legend["scale"][3] == "incidents per km²"
    assert any("incidents per km²" in t for t in img.texts)
    assert img.n_axes == 3  # map, side panel, colour bar


def test_town_labels_only_inside_the_map(demo, tmp_path):
    an, _, (ex, ny) = demo
    small = gpd.GeoDataFrame({"name": ["Derby box"]}, geometry=[shapely.box(ex - 6000, ny - 5000, ex + 6000, ny + 5000)], crs=BNG)
    sub = an.incidents[shapely.contains_xy(small.geometry.iloc[0], an.incidents.geometry.x, an.incidents.geometry.y)]
    an2 = analyse(sub, settings=Settings(cell_size=250, cluster_method="none"), study_area=small)
    img = briefing_map(an2, tmp_path / "m.png", layer="gistar", dpi=60)
    t = towns()
    (panel,) = img.panels
    xmin, xmax, ymin, ymax = panel.extent
    inside = {n for n, g in zip(t["name"], t.geometry) if xmin < g.x < xmax and ymin < g.y < ymax}
    outside = set(t["name"]) - inside
    texts = set(img.texts)
    assert "Derby" in texts
    assert not (texts & outside)
    assert "Glossop" in outside


def test_scheme_layer_shows_suppressed_referral_counts(demo, tmp_path):
    an, _, _ = demo
    # A threshold of 40 hides the referral counts of the demo's smaller hotspot areas, three of them
    # (8, 11 and 13) among the 13 the table lists above the method (the method now always fits)
    an = dataclasses.replace(an, settings=an.settings.replace(threshold=40))
    img = briefing_map(an, tmp_path / "s.png", layer="scheme", dpi=60)
    shown = scheme_publication(an).referrals_by_hotspot.set_index("hotspot")["referrals"]
    texts = set(img.texts)
    # The table lists the areas in rank order, as many as fit; the rest are counted in a note.
    more = next((int(t.split()[0]) for t in texts if t.endswith("more area(s) in the exported tables.")), 0)
    listed = an.areas.n_areas - more
    hidden = [k for k, v in shown.items() if isinstance(v, str) and k.isdigit() and int(k) <= listed]
    assert any(shown[k] == "<40" for k in hidden)  # listed areas with suppressed referral counts
    for k in hidden:
        assert shown[k] in texts
    assert "NOT FOR PUBLICATION: unsuppressed counts" not in texts
    raw = briefing_map(an, tmp_path / "r.png", layer="scheme", dpi=60, suppress=False)
    assert "NOT FOR PUBLICATION: unsuppressed counts" in raw.texts
    assert "Reparative task site (40)" in texts
    # a site off the map is counted and said (Cleveland: "(9)" with 8 drawn)
    far = an.tasks.copy()
    far.loc[far.index[0], "geometry"] = shapely.Point(100_000, 100_000)
    off = briefing_map(dataclasses.replace(an, tasks=far), tmp_path / "f.png", layer="scheme", dpi=60)
    assert "Reparative task site (40, 1 outside the map)" in off.texts
    # the local-reparation share, as published (a marker where it is hidden), and exact only unsuppressed
    shown_all = scheme_publication(an).referrals_summary.set_index("where").iloc[-1]
    words = " ".join(img.texts)
    share = str(shown_all["local_pct"])
    assert ("Reparation local (of completed reparations: task site within 2,000\u00a0m of the harm, or in the same town and "
            "within 5,000\u00a0m):") in words
    assert (f"{share}\u00a0%" if share.isdigit() or share[:1] in "<>" else f"{share} (hidden)") in words
    exact = round(100 * an.linkage.summary["share_local"])
    assert f": {exact}\u00a0% of the {an.linkage.summary['reparation_completed']} counted" in " ".join(raw.texts)
    dens = briefing_map(an, tmp_path / "d.png", layer="density", dpi=40)
    assert "Reparation local" not in " ".join(dens.texts)  # the scheme briefing's figure only


@pytest.mark.parametrize("layer", ["counts", "areas", "clusters"])
def test_other_layers_draw(demo, tmp_path, layer):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / f"{layer}.png", layer=layer, dpi=50)
    assert img.layer == layer and img.path.stat().st_size > 10_000
    assert _rgb(img.path).std() > 20


def test_portrait_layout(demo, tmp_path):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "p.png", layer="density", dpi=50, size_in=(7.5, 11))
    assert img.size_px == (375, 550)
    (panel,) = img.panels
    left, top, right, bottom = panel.bbox_px
    assert bottom < img.size_px[1] * 0.75  # the legend panel sits below the map


# ----------------------------------------------------------------------------- before/after
def test_before_after_has_two_maps_on_one_scale_plus_change(demo, tmp_path):
    an, _, (ex, ny) = demo
    img = briefing_before_after(an, tmp_path / "ba.png", dpi=80)
    assert img.n_map_panels == 3
    assert [p.title.split(":")[0].split(",")[0] for p in img.panels] == ["Before", "After", "Change"]
    from PIL import Image

    with Image.open(tmp_path / "ba.png") as png:  # the file's title is the image's, not its first panel's
        assert png.info["Title"].endswith("before and after") and not png.info["Title"].startswith("Before")
    two = briefing_before_after(an, tmp_path / "ba2.png", dpi=80, show_change=False)
    assert two.n_map_panels == 2
    assert two.n_axes == img.n_axes - 1
    arr = _rgb(img.path)
    # The panels sit side by side without overlapping, each with drawn content...
    for a, b in zip(img.panels, img.panels[1:]):
        assert a.bbox_px[2] <= b.bbox_px[0]
    for p in img.panels:
        left, top, right, bottom = (int(v) for v in p.bbox_px)
        assert arr[top + 2 : bottom - 2, left + 2 : right - 2].std() > 15
    # ...and Derby centre is hot in both density panels (one colour scale for both): most of the
    # pixels around it (a single one may fall on an area's outline or marker)
    for k in (0, 1):
        c, r = (int(round(float(v))) for v in img.to_pixel(ex + 400.0, ny + 400.0, panel=k))
        assert _is_red(arr[r - 3 : r + 4, c - 3 : c + 4]).mean() > 0.5
    assert img.legend["scale"][3] == "incidents per km² per month"
    # the legend lists the change classes drawn, only
    from hotspots import style

    drawn = set(an.change_areas.table["change_class"]) | set(an.change_cells.table["change_class"])
    for c, (_, _, label) in style.CHANGE_AREA_EDGES.items():  # cells and areas share the labels
        assert (label.replace("Hotspot area: ", "").capitalize() in img.legend) == (c in drawn), c
    none = "no significant change"
    empty = dataclasses.replace(
        an, change_cells=dataclasses.replace(an.change_cells, table=an.change_cells.table.assign(change_class=none)),
        change_areas=dataclasses.replace(an.change_areas, table=an.change_areas.table.assign(change_class=none)),
    )
    quiet = briefing_before_after(empty, tmp_path / "quiet.png", dpi=40)
    assert "Significant fall" not in quiet.legend and "Significant rise" not in quiet.legend
    assert "No significant change" in quiet.legend


def test_before_after_of_an_analysis_of_later_months_draws_the_periods_it_compared(demo, tmp_path):
    """Hotspots from the last nine months (a ``period`` the before period does not overlap): the
    change counted every incident, and the before/after maps draw what it counted without being
    handed the incidents again (the app's download passed none, and failed: "no incidents in the
    before period")."""
    _, d, _ = demo
    s = Settings(period=("2024-07", "2025-03"), before=("2022-07", "2023-06"), after=("2023-07", "2024-06"))
    an = analyse(d.incidents, study_area=default_study_area(), settings=s)
    assert an.incidents["month"].min() >= pd.Timestamp("2024-07-01") and len(an.all_incidents) == len(d.incidents)
    img = briefing_before_after(an, tmp_path / "late.png", dpi=40, show_change=False)
    handed = briefing_before_after(an, tmp_path / "handed.png", dpi=40, show_change=False, incidents=d.incidents)
    assert [p.title for p in img.panels] == [p.title for p in handed.panels]
    assert img.panels[0].title.startswith("Before")


def test_before_after_counts_are_the_tests_and_name_the_months_left_out(demo, tmp_path):
    """The panels' counts and "a month" are the change test's own (in the study area's cells, over
    the months it counted), and a month left out is named under them (Hampshire's after panel said
    8,358 incidents, August's 430 among them, divided by the five other months)."""
    _, d, _ = demo
    s = Settings(cell_size=1000.0, cluster_method="none", before=("2022-07", "2023-06"), after=("2023-07", "2024-06"),
                 missing_months=("2023-03",))
    an = analyse(d.incidents, study_area=default_study_area(), settings=s)
    ch = an.change_cells
    n_b, n_a = int(ch.table["n_before"].sum()), int(ch.table["n_after"].sum())
    img = briefing_before_after(an, tmp_path / "gone.png", dpi=40, show_change=False, basemap="none")
    shown = "\n".join(img.texts)
    # per day, a figure a reader can check (a month scaled from days read as a miscount: South Yorkshire's
    # 13,267 incidents were "2,231 a month" and 13,464 "2,227 a month")
    assert f"{n_b:,} incidents ({n_b / ch.exposure_before_days:,.1f} a day)\nleft out: Mar 2023, " \
        "published in part" in shown
    assert f"{n_a:,} incidents ({n_a / ch.exposure_after_days:,.1f} a day)" in shown and "a month" not in shown
    # said once in the method: changes compare incidents per day, the periods' days named
    assert "changes compare incidents per day, as the periods differ in length (334 and 366 days)" in " ".join(img.texts)
    assert shown.count("left out: ") == 1  # the after period lost no month
    assert ch.exposure_before_days == 365 - 31


def test_before_after_legend_fits_beside_a_wide_force(tmp_path):
    """A force far wider than tall (Essex) has short maps: the legend, hung from the top of maps
    centred in the height, ran past the footer. Maps and legend now start under the header."""
    import pandas as pd

    rng = np.random.default_rng(2)
    box = (400_000, 300_000, 460_000, 315_000)
    spots = np.repeat([[410_000, 305_000], [430_000, 309_000], [450_000, 306_000]], 300, axis=0)
    xy = np.vstack([np.column_stack([rng.uniform(box[0], box[2], 3_000), rng.uniform(box[1], box[3], 3_000)]),
                    spots + rng.normal(0, 150, spots.shape)])
    months = pd.date_range("2024-01-01", "2024-12-01", freq="MS")[rng.integers(0, 12, len(xy))]
    inc = gpd.GeoDataFrame({"month": months}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=BNG)
    area = gpd.GeoDataFrame(geometry=[shapely.box(*box)], crs=BNG)
    an = analyse(inc, settings=Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12")), study_area=area)
    img = briefing_before_after(an, tmp_path / "wide.png", dpi=60)
    arr = _rgb(img.path)
    height = arr.shape[0]
    top = int(img.panels[0].bbox_px[1])
    assert top < 0.25 * height  # the maps start under the header, not half-way down
    # The legend (right of the maps) ends above the footer's first line (under the maps, left).
    ink = (arr < 200).any(axis=2)
    legend_rows = np.flatnonzero(ink[:, int(img.panels[-1].bbox_px[2]) + 10 :].any(axis=1))
    below = int(max(p.bbox_px[3] for p in img.panels)) + 3  # under the lowest map (a wide force's are in rows)
    footer_top = below + int(np.flatnonzero(ink[below:, : int(img.panels[0].bbox_px[2])].any(axis=1))[0])
    assert legend_rows.max() < footer_top - 3


def test_before_after_of_a_compact_area_leaves_no_blank_half(tmp_path):
    """City of London: three square maps in one row filled the top half of the 16:9 image and left
    the bottom half blank. The image is made shorter (text sizes kept); fit_height=False keeps the size."""
    import pandas as pd

    rng = np.random.default_rng(5)
    box = (530_000, 180_000, 536_000, 186_000)  # 6 km square
    spots = np.repeat([[532_000, 182_000], [534_500, 184_500]], 150, axis=0)
    xy = np.vstack([np.column_stack([rng.uniform(box[0], box[2], 600), rng.uniform(box[1], box[3], 600)]),
                    spots + rng.normal(0, 80, spots.shape)])
    months = pd.date_range("2024-01-01", "2024-12-01", freq="MS")[rng.integers(0, 12, len(xy))]
    inc = gpd.GeoDataFrame({"month": months}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=BNG)
    area = gpd.GeoDataFrame(geometry=[shapely.box(*box)], crs=BNG)
    an = analyse(inc, settings=Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12")), study_area=area)
    full = briefing_before_after(an, tmp_path / "full.png", dpi=40, basemap="none", fit_height=False)
    fit = briefing_before_after(an, tmp_path / "fit.png", dpi=40, basemap="none")
    assert full.size_px == (533, 300)  # 13 1/3 x 7.5 in at 40 dpi
    assert fit.size_px[0] == 533 and fit.size_px[1] < 0.85 * 300  # the legend (pooled rows, caveats) sets the height
    # the maps keep their size (the text is as large), and what is under them is the footer, close by
    (w_full, h_full), (w_fit, h_fit) = ((p.bbox_px[2] - p.bbox_px[0], p.bbox_px[3] - p.bbox_px[1]) for p in (full.panels[0],
                                                                                                            fit.panels[0]))
    assert abs(w_fit - w_full) <= 1 and abs(h_fit - h_full) <= 1
    arr = _rgb(fit.path)
    ink = (arr < 200).any(axis=2)
    below = int(max(p.bbox_px[3] for p in fit.panels)) + 3
    blank = int(np.flatnonzero(ink[below:, : int(fit.panels[0].bbox_px[2])].any(axis=1))[0])  # rows to the footer
    assert blank < 0.1 * fit.size_px[1]


def test_before_after_shows_the_pooled_change(demo, tmp_path):
    an, _, _ = demo
    img = briefing_before_after(an, tmp_path / "ba.png", dpi=60, show_change=False)
    texts = {t.replace("\u00a0", " ") for t in img.texts}  # a number and its unit joined by a no-break space
    summ = an.change_summary
    assert "Pooled change, after / before" in texts
    for r in summ.rows:
        assert f"{r.scope}: {r.verdict}" in texts
        assert r.figures(1 - summ.alpha) in texts
    # then displacement: the rings against the rest beyond them
    vs = an.displacement.summary.rows[1]
    label, verdict, _ = an.displacement.row_text()
    # the demo's 500 m cells: 500 m rings are the band of touching cells, as wide as asked
    assert f"{label}: {verdict}" in texts and label == f"{an.displacement.label} vs beyond"
    assert an.displacement.label == "500 m rings"
    # beside it, the rings' incidents counted before and after (the totals the estimate rests on)
    rings = an.displacement.summary.rows[0]
    assert f"{vs.figures(1 - summ.alpha)}; rings' incidents {rings.n_before:,} -> {rings.n_after:,}" in texts
    assert [rings.n_before, rings.n_after] == an.displacement.params["counts"]["rings"]
    assert "displacement: the cells within 500\u00a0m of each hotspot area" in " ".join(img.texts)
    # The caption names the test the change used and the hotspot areas' rule, not a fixed one.
    method = " ".join(img.texts)
    assert an.change_cells.test_label in method and an.areas.params["rule"] in method
    none = briefing_before_after(dataclasses.replace(an, change_summary=None), tmp_path / "nb.png", dpi=60, show_change=False)
    assert "Pooled change, after / before" not in none.texts
    # North Yorkshire Jan-Sep vs Oct-Dec: the console's "seasonality could not be separated" note is
    # beside the pooled rows on the image too (it showed a blue "significant fall" alone)
    from hotspots.change_summary import SEASON_NOT_SEPARATED

    assert not any(t.startswith("Seasonality not separated") for t in img.texts)
    note = "seasonality could not be separated from the change (the periods cover different calendar months)"
    season = dataclasses.replace(an, change_summary=dataclasses.replace(summ, notes=summ.notes + (note,)))
    drawn = " ".join(briefing_before_after(season, tmp_path / "season.png", dpi=60, show_change=False).texts)
    assert SEASON_NOT_SEPARATED.split(", so")[0] in drawn and "use whole years or compare with elsewhere." in drawn


def test_change_maps_draw_each_ring_dashed_in_its_own_change_colour(demo, tmp_path):
    from types import SimpleNamespace

    from matplotlib.figure import Figure

    from hotspots import style
    from hotspots.export._layout import RING_DASH, ring_change_outlines

    an, _, _ = demo
    moved = an.displacement
    ax = Figure().add_subplot()
    assert ring_change_outlines(SimpleNamespace(scale=1.0), ax, an)
    assert len(ax.patches) == moved.rings.n_areas
    classes = dict(zip(moved.ring_change.table["area_id"], moved.ring_change.table["change_class"]))
    for patch, rid in zip(ax.patches, moved.rings.areas["area_id"]):
        edge = style.CHANGE_AREA_EDGES.get(classes[rid], (style.MUTED,))[0]
        assert mcolors.to_hex(patch.get_edgecolor()) == mcolors.to_hex(edge)
        assert patch.get_facecolor()[3] == 0 and patch.get_linestyle() == RING_DASH
    # the ring's outline follows the ring's cells
    ring = moved.rings.areas.geometry.iloc[0]
    assert ax.patches[0].get_path().get_extents().bounds == pytest.approx(
        (ring.bounds[0], ring.bounds[1], ring.bounds[2] - ring.bounds[0], ring.bounds[3] - ring.bounds[1])
    )
    # 500 m asked of 500 m cells: the ring is as wide as asked, and its legend line says so
    img = briefing_map(an, tmp_path / "c.png", layer="change", dpi=50, towns=False)
    words = {"significant fall": "ring fell significantly", "significant rise": "ring rose significantly"}
    for c in set(moved.ring_change.table["change_class"].astype(str)):
        assert f"500 m ring around an area: {words.get(c, 'no significant change')}" in img.texts
    assert "asked" not in " ".join(img.texts)
    # 300 m asked of them: the legend line and, under it (a legend line does not wrap), the rings' reach
    wide = dataclasses.replace(an, displacement=dataclasses.replace(moved, width_m=300.0))
    label = f"Ring around an area: {words.get(str(moved.ring_change.table['change_class'].iloc[0]), 'no significant change')}"
    for img in (briefing_map(wide, tmp_path / "c3.png", layer="change", dpi=50, towns=False),
                briefing_before_after(wide, tmp_path / "ba3.png", dpi=50, towns=False)):
        assert label in img.texts and "ring of the touching cells (up to 707\u00a0m); 300\u00a0m asked" in " ".join(img.texts)
    without = dataclasses.replace(an, displacement=None)
    assert not ring_change_outlines(SimpleNamespace(scale=1.0), Figure().add_subplot(), without)
    assert label not in briefing_map(without, tmp_path / "n.png", layer="change", dpi=50, towns=False).texts


def test_every_ring_colour_drawn_is_in_the_legend(demo, tmp_path):
    # Avon and Somerset 2025: area 13's ring (Bristol) rose +74 %, drawn red; the legend had no red ring
    from hotspots import style
    from hotspots.export._layout import ring_colours

    an, _, _ = demo
    moved = an.displacement
    table = moved.ring_change.table.copy()
    table["change_class"] = ["significant rise"] + ["significant fall"] * (len(table) - 1)
    risen = dataclasses.replace(an, displacement=dataclasses.replace(
        moved, ring_change=dataclasses.replace(moved.ring_change, table=table)))
    assert ring_colours(risen) == [(style.CHANGE_AREA_EDGES["significant fall"][0], "ring fell significantly"),
                                   (style.CHANGE_AREA_EDGES["significant rise"][0], "ring rose significantly")]
    imgs = (briefing_before_after(risen, tmp_path / "r.png", dpi=50, towns=False),
            briefing_map(risen, tmp_path / "rc.png", layer="change", dpi=50, towns=False))
    assert "0 to the maximum)" in " ".join(" ".join(imgs[0].texts).split())  # the density's scale rule (wrapped)
    for img in imgs:
        assert "500 m ring around an area: ring rose significantly" in img.texts
        assert "500 m ring around an area: ring fell significantly" in img.texts
        assert "500 m ring around an area: no significant change" not in img.texts  # no grey ring drawn
    assert ring_colours(dataclasses.replace(an, displacement=None)) == []


def test_before_after_needs_change(demo, tmp_path):
    an, _, _ = demo
    with pytest.raises(ParameterError, match="show_change=False"):
        briefing_before_after(dataclasses.replace(an, change_cells=None), tmp_path / "x.png")
    empty = dataclasses.replace(an, before=Period.from_months("2030-01", "2030-06", "before"))
    with pytest.raises(ParameterError, match="no incidents in the before period"):
        briefing_before_after(empty, tmp_path / "x.png", show_change=False)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"out_path": "m.jpg"}, "png or .pdf"),
        ({"layer": "heat"}, "`layer` must be one of"),
        ({"dpi": 0}, "`dpi`"),
        ({"size_in": (1, 1)}, "`size_in`"),
        ({"size_in": "big"}, "`size_in`"),
        ({"basemap": "google"}, "`basemap`"),
        ({"display_cell_m": -5}, "`display_cell_m`"),
    ],
)
def test_bad_arguments(demo, tmp_path, kwargs, match):
    an, _, _ = demo
    kw = {"out_path": tmp_path / "m.png", **kwargs}
    if isinstance(kw["out_path"], str):
        kw["out_path"] = tmp_path / kw["out_path"]
    with pytest.raises(ParameterError, match=match):
        briefing_map(an, **{"layer": "density", **kw})


def test_layers_that_need_missing_results(demo, tmp_path):
    an, _, _ = demo
    with pytest.raises(ParameterError, match="needs clusters"):
        briefing_map(dataclasses.replace(an, clusters=None), tmp_path / "m.png", layer="clusters")
    with pytest.raises(ParameterError, match="needs referrals"):
        briefing_map(dataclasses.replace(an, linkage=None), tmp_path / "m.png", layer="scheme")
    with pytest.raises(ParameterError, match="needs before/after change"):
        briefing_map(dataclasses.replace(an, change_cells=None), tmp_path / "m.png", layer="change")


def test_layers_that_need_missing_results_name_the_command_lines_flags(demo, tmp_path):
    """`map --layer clusters` was told "`layer='clusters'` needs ... `cluster_method`" (Python names)."""
    from hotspots.validation import argument_names

    an, _, _ = demo
    names = {"layer": "--layer", "cluster_method": "--cluster-method", "referrals": "--referrals", "tasks": "--tasks"}
    with argument_names(names), pytest.raises(ParameterError) as err:
        briefing_map(dataclasses.replace(an, clusters=None), tmp_path / "m.png", layer="clusters")
    assert "`--layer clusters` needs clusters; run the analysis with `--cluster-method` 'dbscan'" in str(err.value)
    with argument_names(names), pytest.raises(ParameterError, match="`--layer scheme` needs referrals; .*`--referrals`"):
        briefing_map(dataclasses.replace(an, linkage=None), tmp_path / "m.png", layer="scheme")


def test_before_after_without_the_change_panel_says_no_change_test_is_drawn(demo, tmp_path):
    """With --no-change the Method still said "Change: ... compared by a change test per cell and per hotspot area"."""
    an, _, _ = demo
    joined = " ".join(briefing_before_after(an, tmp_path / "ba.png", dpi=30, show_change=False).texts)
    assert "The change per cell is not drawn." in joined and "test per cell" not in joined
    assert "per hotspot area" in joined  # the areas' change stays in the legend's table, and is said
    joined = " ".join(briefing_before_after(dataclasses.replace(an, change_cells=None, change_areas=None, change_summary=None),
                                            tmp_path / "ba1.png", dpi=30, show_change=False).texts)
    assert "No before/after change was computed" in joined and "compared by" not in joined
    joined = " ".join(briefing_before_after(an, tmp_path / "ba2.png", dpi=30).texts)
    assert "per cell" in joined and "not drawn" not in joined
    with pytest.raises(ParameterError, match="hotspots.Analysis"):
        briefing_map("not an analysis", tmp_path / "m.png")


def test_police_uk_attribution_on_police_data(demo, tmp_path):
    an, _, _ = demo
    inc = an.incidents.copy()
    inc["source"] = "2025-01-derbyshire-street.csv"
    inc["incident_id"] = "asb-" + inc["incident_id"].astype(str)
    img = briefing_map(dataclasses.replace(an, incidents=inc), tmp_path / "m.png", layer="gistar", dpi=50)
    joined = " ".join(img.texts)
    assert POLICE_UK_ATTRIBUTION in joined
    assert DEMO_ATTRIBUTION not in joined


# ----------------------------------------------------------------------------- basemap
class _TileHandler(http.server.BaseHTTPRequestHandler):
    colour = (255, 0, 255)
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).hits.append(self.path)
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), self.colour).save(buf, format="PNG")
        body = buf.getvalue()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def tile_server():
    _TileHandler.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TileHandler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    srv.shutdown()
    srv.server_close()


def test_basemap_tiles_from_a_reachable_server(demo, tmp_path, monkeypatch, tile_server):
    monkeypatch.delenv("HOTSPOTS_OFFLINE")
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "b.png", layer="gistar", dpi=60, basemap=tile_server, basemap_attribution="Test tiles",
                       towns=False)
    assert img.basemap == tile_server
    assert _TileHandler.hits and all(re.fullmatch(r"/\d+/\d+/\d+\.png", h) for h in _TileHandler.hits)
    assert "Test tiles" in " ".join(img.texts)
    arr = _rgb(img.path)
    # Where the Gi* layer is clear (not significant) the muted magenta tiles show: green well
    # below red and blue. Outside the study area they are veiled in white: lighter, still magenta.
    g = an.grid
    # Cells away from anything drawn over the basemap: not significant, with no significant cell or
    # hotspot area within two cells (their colours and outlines cover the tiles there).
    from scipy import ndimage

    drawn = (an.gi.bins != 0) | (an.areas.labels > 0)
    clear = ~ndimage.binary_dilation(drawn, iterations=2) & (an.gi.classes == "not significant")
    rr, cc = np.nonzero(clear)
    c, r = img.to_pixel(g.x_centres[cc[::50]], g.y_centres[rr[::50]])
    px = arr[np.round(r).astype(int), np.round(c).astype(int)]
    magenta = (px[:, 1] < px[:, 0] - 60) & (px[:, 1] < px[:, 2] - 60)
    assert magenta.mean() > 0.8
    (panel,) = img.panels
    xmin, xmax, ymin, ymax = panel.extent
    c, r = img.to_pixel(xmin + 0.05 * (xmax - xmin), ymin + 0.5 * (ymax - ymin))
    out = arr[int(r), int(c)]
    assert out[1] < out[0] - 20 and out.mean() > px[magenta].mean() + 20


def test_basemap_falls_back_offline_when_unreachable(demo, tmp_path, monkeypatch):
    monkeypatch.delenv("HOTSPOTS_OFFLINE")
    an, _, _ = demo
    # A server that accepts connections and never answers: the timeout must end the wait.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/{{z}}/{{x}}/{{y}}.png"
    try:
        img = briefing_map(an, tmp_path / "o.png", layer="gistar", dpi=50, basemap=url, basemap_timeout=0.3)
        again = briefing_map(an, tmp_path / "o2.png", layer="gistar", dpi=50, basemap=url, basemap_timeout=0.3)
    finally:
        sock.close()
    assert img.basemap == "none"
    assert any("unreachable" in n for n in img.notes)
    assert any("a moment ago" in n for n in again.notes)  # not waited for twice
    assert _rgb(img.path).std() > 20


def test_basemap_falls_back_when_connection_refused(demo, tmp_path, monkeypatch):
    monkeypatch.delenv("HOTSPOTS_OFFLINE")
    an, _, _ = demo
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    img = briefing_map(an, tmp_path / "o.png", layer="density", dpi=50, basemap=f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png")
    assert img.basemap == "none" and any("unreachable" in n for n in img.notes)


def test_offline_switch_means_no_request(demo, tmp_path, tile_server):
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "n.png", layer="gistar", dpi=50, basemap=tile_server)
    assert img.basemap == "none"
    assert _TileHandler.hits == []
    assert any("HOTSPOTS_OFFLINE" in n for n in img.notes)


class _CodedTileHandler(_TileHandler):
    """Tiles whose pixels encode their own Web Mercator position (2 km steps, mod 256)."""

    def do_GET(self):  # noqa: N802
        z, x, y = (int(v) for v in re.findall(r"\d+", self.path)[:3])
        res = 2 * _basemap._ORIGIN / 2**z / 256
        j = np.arange(256)
        mx = -_basemap._ORIGIN + (x * 256 + j + 0.5) * res
        my = _basemap._ORIGIN - (y * 256 + j + 0.5) * res
        rgb = np.zeros((256, 256, 3), dtype=np.uint8)
        rgb[:, :, 0] = (np.floor(mx / 2000.0) % 256)[None, :]
        rgb[:, :, 1] = (np.floor(my / 2000.0) % 256)[:, None]
        rgb[:, :, 2] = 128
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        body = buf.getvalue()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_basemap_is_reprojected_to_british_national_grid(demo, tmp_path, monkeypatch):
    """Sample the drawn basemap at known BNG points and decode the Web Mercator position."""
    import pyproj

    monkeypatch.delenv("HOTSPOTS_OFFLINE")
    an, _, _ = demo
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CodedTileHandler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
        img = briefing_map(an, tmp_path / "b.png", layer="gistar", dpi=100, basemap=url, towns=False, basemap_muted=False)
    finally:
        srv.shutdown()
        srv.server_close()
    assert img.basemap == url
    arr = _rgb(img.path)
    g = an.grid
    # Cells away from anything drawn over the basemap: not significant, with no significant cell or
    # hotspot area within two cells (their colours and outlines cover the tiles there).
    from scipy import ndimage

    drawn = (an.gi.bins != 0) | (an.areas.labels > 0)
    clear = ~ndimage.binary_dilation(drawn, iterations=2) & (an.gi.classes == "not significant")
    rr, cc = np.nonzero(clear)
    rng = np.random.default_rng(1)
    pick = rng.choice(len(rr), 60, replace=False)
    xs, ys = g.x_centres[cc[pick]], g.y_centres[rr[pick]]
    c, r = img.to_pixel(xs, ys)
    px = arr[np.round(r).astype(int), np.round(c).astype(int)]
    mx, my = pyproj.Transformer.from_crs(27700, 3857, always_xy=True).transform(xs, ys)
    want_r = np.floor(mx / 2000.0) % 256
    want_g = np.floor(my / 2000.0) % 256
    ok = (np.abs(px[:, 0] - want_r) <= 1.01) & (np.abs(px[:, 1] - want_g) <= 1.01) & (np.abs(px[:, 2] - 128) <= 1.01)
    assert ok.mean() > 0.9


def test_before_after_method_says_which_tests_used_fdr(demo, tmp_path):
    # cells are adjusted across thousands of tests, hotspot areas are each their own question:
    # the method text says so from the results' own parameters, not from the Gi* setting
    an, _, _ = demo
    assert an.change_cells is not None and an.change_areas is not None
    img = briefing_before_after(an, tmp_path / "ba.png", dpi=40)
    joined = " ".join(" ".join(img.texts).split())
    cells_fdr = an.change_cells.params["fdr"] != "none"
    areas_fdr = an.change_areas.params["fdr"] != "none"
    assert cells_fdr and not areas_fdr  # the pipeline's rule
    assert "per cell with FDR and per hotspot area (each area on its own)" in joined


@pytest.mark.parametrize("dpi, size_in", [(20, (6.0, 4.5)), (50, (11.0, 7.5)), (100, (11.0, 7.5)), (100, (7.0, 10.0))])
def test_footer_attribution_is_whole_and_inside_the_figure_at_low_dpi(demo, tmp_path, monkeypatch, dpi, size_in):
    # At 100 dpi the footer's first line (a character count's guess) ran past the right edge:
    # "... GeoNames (geonames.org), C" and the CC BY licence was cut off.
    import hotspots.export.briefing as briefing_module

    an, _, _ = demo
    inc = an.incidents.copy()
    inc["source"] = "2025-01-merseyside-street.csv"
    inc["incident_id"] = "asb-" + inc["incident_id"].astype(str)
    drawn = {}
    original = briefing_module.footer

    def spy(ctx, fig, *args, **kwargs):
        drawn["fig"], drawn["texts"] = fig, original(ctx, fig, *args, **kwargs)
        return drawn["texts"]

    monkeypatch.setattr(briefing_module, "footer", spy)
    img = briefing_map(dataclasses.replace(an, incidents=inc), tmp_path / "m.png", layer="areas", dpi=dpi, size_in=size_in)
    fig = drawn["fig"]
    renderer = fig.canvas.get_renderer()
    fig_box = fig.bbox
    footer_text = " ".join(t.get_text() for t in drawn["texts"])
    assert POLICE_UK_ATTRIBUTION in footer_text
    assert "GeoNames (geonames.org), CC BY 4.0." in footer_text
    for t in drawn["texts"]:
        box = t.get_window_extent(renderer)
        assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1, (t.get_text(), box, fig_box)
        assert fig_box.y0 <= box.y0 and box.y1 <= fig_box.y1, (t.get_text(), box, fig_box)
    assert img.size_px == (round(size_in[0] * dpi), round(size_in[1] * dpi))


def test_clusters_map_numbers_as_many_clusters_as_it_says_and_tables_those(demo, tmp_path, monkeypatch):
    # Merseyside 2025: two clusters tied at rank 10 gave 11 labels under a legend saying "top 10
    # numbered", beside a table of hotspot areas 1-10 that were other objects than clusters 1-10.
    import hotspots.export.briefing as briefing_module

    an, _, _ = demo
    centre = an.areas.areas.geometry.iloc[0].representative_point()
    polys = gpd.GeoDataFrame(
        {"cluster": np.arange(1, 13), "n_points": [90, 80, 70, 60, 50, 40, 35, 30, 25, 20, 20, 10]},
        geometry=[shapely.Point(centre.x + 2000 * (k % 4), centre.y + 2000 * (k // 4)).buffer(60) for k in range(12)], crs=BNG,
    )
    polys["rank"] = polys["n_points"].rank(method="min", ascending=False).astype("int64")
    assert sorted(polys["rank"])[9:11] == [10, 10]  # a tie at rank 10
    clusters = dataclasses.replace(an.clusters, polygons=polys)
    drawn = {}
    original = briefing_module.footer

    def spy(ctx, fig, *args, **kwargs):
        drawn["fig"] = fig
        return original(ctx, fig, *args, **kwargs)

    monkeypatch.setattr(briefing_module, "footer", spy)
    img = briefing_map(dataclasses.replace(an, clusters=clusters), tmp_path / "m.png", layer="clusters", dpi=60)
    fig = drawn["fig"]
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_bbox_patch() is not None]
    assert sorted(labels, key=int) == [str(k) for k in range(1, 11)]
    assert any("12; the 10 largest numbered" in label for label in img.legend)
    assert "Point clusters (10 largest of 12)" in img.texts
    panel_texts = [t.get_text() for t in fig.axes[1].texts]
    digits = [t for t in panel_texts if t.isdigit()]  # the table's "#" and "Incidents" columns
    assert list(zip(digits[::2], digits[1::2])) == [(str(c), str(n)) for c, n in zip(polys["cluster"], polys["n_points"])][:10]
    assert f"Hotspot areas ({an.areas.n_areas})" not in img.texts
    # the subtitle counts what the map draws: its clusters, not the hotspot areas
    assert any(t.endswith("·  12 point clusters") for t in img.texts), img.texts
    assert not any("hotspot area" in t and "·" in t for t in img.texts)


def test_a_long_place_name_in_the_areas_table_is_cut_with_an_ellipsis_before_the_next_column(demo, tmp_path, monkeypatch):
    import hotspots.export._layers as layers_module
    import hotspots.export.briefing as briefing_module

    an, _, _ = demo
    original = layers_module.area_summary

    def long_places(analysis):
        table = original(analysis)
        table["place"] = "Brinkburn Street, Newcastle upon Tyne and Wear Metropolitan County"
        return table

    monkeypatch.setattr(layers_module, "area_summary", long_places)
    drawn = {}
    original_footer = briefing_module.footer

    def spy(ctx, fig, *args, **kwargs):
        drawn["fig"] = fig
        return original_footer(ctx, fig, *args, **kwargs)

    monkeypatch.setattr(briefing_module, "footer", spy)
    briefing_map(an, tmp_path / "m.png", layer="density", dpi=60)
    renderer = drawn["fig"].canvas.get_renderer()
    panel = drawn["fig"].axes[1]
    names = [t for t in panel.texts if t.get_text().startswith("Brinkburn")]
    incidents = next(t for t in panel.texts if t.get_text() == "Incidents")
    assert names and all(t.get_text().endswith("…") for t in names)
    numbers_left = incidents.get_window_extent(renderer).x0
    assert all(t.get_window_extent(renderer).x1 < numbers_left for t in names)


def test_areas_legend_offers_only_the_peak_confidences_areas_can_have(demo, tmp_path):
    # At alpha 0.05 a hotspot area's cells are at 95 % confidence or more: "peak 90%" cannot occur.
    from hotspots.export._layers import reachable_peaks

    an, _, _ = demo
    assert an.areas.params["min_confidence"] == pytest.approx(0.95)
    img = briefing_map(an, tmp_path / "m.png", layer="areas", dpi=50)
    assert "Hotspot area, peak 99% confidence" in img.legend and "Hotspot area, peak 95% confidence" in img.legend
    assert "Hotspot area, peak 90% confidence" not in img.legend
    relaxed = dataclasses.replace(an.areas, params={**an.areas.params, "min_confidence": 0.9})
    assert reachable_peaks(relaxed) == ["99%", "95%", "90%"]


def test_hotspot_numbers_in_a_dense_city_do_not_cover_each_other(demo):
    """Derby's eight hotspots lie within a few kilometres: every number went up and right of its
    area, and #1 was hidden under 19, 7 and 4 (7 overlapping pairs on an 8 x 6 in map). Each number
    now takes the first corner or side where it covers no number drawn before it."""
    from hotspots.export._layout import DrawContext, _bbox, _leader, area_markers, new_figure

    an, _, _ = demo
    fig = new_figure((8.0, 6.0), 100)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    x0, y0, x1, y1 = default_study_area().to_crs(27700).total_bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="datalim")
    ctx = DrawContext(an, fig, 1.0, None, None)
    area_markers(ctx, ax, an.areas.areas)
    renderer = fig.canvas.get_renderer()
    # judged by what is drawn: no circle on another, no leader line through another number's circle
    # (the boxes of diagonal leader lines may overlap: Staffordshire's 7 was pushed far off by them)
    circles = [_bbox(t, renderer, leader=False) for t in ctx.occupied]
    lines = [_leader(t, renderer) for t in ctx.occupied]
    assert len(circles) == an.areas.n_areas >= 20
    assert not [(i, j) for i in range(len(circles)) for j in range(i) if circles[i].overlaps(circles[j])]
    crossing = [(i, j) for i in range(len(lines)) for j in range(len(circles)) if i != j
                and lines[i].intersection(shapely.box(circles[j].x0, circles[j].y0, circles[j].x1, circles[j].y1)).length > 0]
    assert not crossing
    # the best-ranked number is drawn on top of any it still touches
    z = {t.get_text(): t.get_zorder() for t in ctx.occupied}
    assert z["1"] > z["2"] > z["21"]


def test_before_after_left_out_note_is_broken_at_the_panels_width(demo, tmp_path):
    """The months left out under a panel's counts were broken every 46 characters whatever the
    panel's width: a two-map image drew a long list in many short lines, taking height from the
    maps. They are broken at the width the layout gives the panel, and each line fits it."""
    from matplotlib.font_manager import FontProperties

    _, d, _ = demo
    gone = tuple(f"2023-{m:02d}" for m in (1, 3, 5))
    s = Settings(cell_size=1000.0, cluster_method="none", before=("2022-07", "2023-06"), after=("2023-07", "2024-06"),
                 missing_months=gone)
    an = analyse(d.incidents, study_area=default_study_area(), settings=s)
    img = briefing_before_after(an, tmp_path / "gone.png", dpi=60, show_change=False, basemap="none")
    lines = next(t for t in img.texts if t.startswith("Before:")).split("\n")
    note = lines[next(i for i, ln in enumerate(lines) if ln.startswith("left out")):]
    assert " ".join(note) == left_out_text(an.before, an.change_cells.left_out, counted=False)
    assert max(map(len, note)) > 46  # wider than the old fixed break
    import matplotlib.pyplot as plt

    fig = plt.figure(dpi=img.dpi)
    renderer = fig.canvas.get_renderer()
    width_px = img.panels[0].bbox_px[2] - img.panels[0].bbox_px[0] + 0.18 * img.dpi * 0.8  # the panel and its gap
    widest = max(renderer.get_text_width_height_descent(ln, FontProperties(size=8.5), ismath=False)[0] for ln in note)
    plt.close(fig)
    assert widest <= width_px


def test_change_map_names_the_months_left_out_and_the_incidents_outside_the_study_area(demo, tmp_path):
    """Northamptonshire without April: the before/after image named the missing month, the change map
    did not; and its "14,272 incidents" held 8 outside the study area that no panel counts."""
    _, d, _ = demo
    s = Settings(cell_size=1000.0, cluster_method="none", before=("2022-07", "2023-06"), after=("2023-07", "2024-06"),
                 missing_months=("2023-03",))
    an = analyse(d.incidents, study_area=default_study_area(), settings=s)
    img = briefing_map(an, tmp_path / "c.png", layer="change", dpi=40, towns=False, basemap="none")
    shown = " ".join(img.texts).replace("\n", " ")
    assert "Change: Jul 2023 – Jun 2024 vs Jul 2022 – Jun 2023 (11 of 12 months counted; left out: Mar 2023, " in shown
    outside = an.counts.params.get("points_off_grid", 0) + an.counts.params.get("points_outside_area", 0)
    assert outside > 0  # the demo's incidents beyond the Derbyshire outline
    # the incidents analysed are those in the study area's cells; the others are said beside them
    assert len(an.incidents) + outside == len(d.incidents)
    said = f"{len(an.incidents):,} incidents ({outside:,} more outside the study area, in no cell)"
    assert an.incidents_text() == said and said in shown and an.caption().startswith(said + "; ")


def test_the_areas_table_says_changes_are_per_day_with_the_periods_days(demo, tmp_path):
    """The table's change column is a change of incidents per day (Durham's area 1, 1,278 -> 1,517 incidents, +18.7 %,
    was shown as +17 % "per month" over periods of 181 and 184 days)."""
    an, _, _ = demo
    ca = an.change_areas
    img = briefing_map(an, tmp_path / "m.png", layer="change", dpi=40, towns=False)
    shown = " ".join(img.texts)
    days = [round(ca.exposure_before_days), round(ca.exposure_after_days)]
    said = ("changes compare incidents per day, as the periods differ in length" if days[0] != days[1] else
            "changes compare incidents per day (both periods")
    assert said in shown and f"{days[0]:,}" in shown and "per month;" not in shown


def test_a_briefing_without_areas_says_why_when_the_permutations_cannot_reach_the_confidence(tmp_path):
    """With 99 permutations and FDR no cell can reach 95 %: the console said "cannot be reached (smallest p
    ...)", the briefing "No significant hot spots at the chosen confidence" (read as "no hotspots exist").
    The briefing now gives the console's note (:func:`hotspots.gistar.unreached_note`), naming the fix."""
    from hotspots.gistar import unreached_note

    d = generate_demo(0)
    an = analyse(d.incidents, settings=Settings(permutations=99), study_area=default_study_area())
    assert an.areas.n_areas == 0
    note = unreached_note(an.gi, float(an.areas.params["min_confidence"]))
    assert note is not None and note in an.notes
    img = briefing_map(an, tmp_path / "g.png", layer="gistar", dpi=40)
    text = " ".join(img.texts)
    assert "No significant hot spots at the chosen confidence." not in text
    assert "No hotspot areas: none can be found at 95% confidence. With 99 permutations" in text
    assert "cannot be reached" in text and "permutations=0" in text and "`" not in text
    assert not any(t.startswith("Hot spot,") for t in img.texts), img.texts  # no class it cannot reach


def test_task_site_label_counts_the_sites_off_the_map():
    from hotspots.export._layers import task_site_label

    xy = np.array([[0.0, 0.0], [10.0, -10.0], [10.1, 0.0], [np.nan, np.nan]])
    assert task_site_label(xy, (-10, 10, -10, 10)) == "Reparative task site (4, 2 outside the map)"
    assert task_site_label(xy[:2], (-10, 10, -10, 10)) == "Reparative task site (2)"  # the edge is on the map


@pytest.mark.parametrize("size_in", [(11.0, 7.5), (8.5, 11.0)])
def test_the_side_panel_ends_above_the_footer_with_the_whole_method(demo, tmp_path, monkeypatch, size_in):
    """The Wiltshire scheme briefing's "Method" ran over the footer and off the image: its table of 15 areas, notes
    and disclosure statement left no room. The table now loses rows until the method fits."""
    import hotspots.export.briefing as briefing
    from hotspots.export._panel import SidePanel

    panels = []

    class Recorded(SidePanel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            panels.append(self)

    monkeypatch.setattr(briefing, "SidePanel", Recorded)
    an, _, _ = demo
    img = briefing_map(an, tmp_path / "s.png", layer="scheme", dpi=60, size_in=size_in)
    last = panels[-1]
    assert last.cursor <= last.h + 1e-9 and not last.overflowed
    words = " ".join(img.texts)
    assert "Method" in img.texts
    assert not any(t.get_text().endswith(" …") for t in last.ax.texts)  # nothing cut
    assert "more area(s) in the exported tables." in words  # rows gave way, counted in the note
    assert "\u00a0% of the " in words  # "27 %" never wraps between the number and its unit


def test_before_after_draws_a_long_method_whole(demo, tmp_path, monkeypatch):
    """Devon and Cornwall 2025: the before/after briefing's Method ended "as the periods differ in length (181 and …"
    (its caption longer: "7 more outside the study area"). A method twice as long is drawn whole, in smaller type."""
    import hotspots.export.briefing as briefing
    from hotspots.export._panel import SidePanel

    an, _, _ = demo
    panels, sizes = [], []

    class Recorded(SidePanel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            panels.append(self)

        def para_fit(self, *args, **kwargs):
            sizes.append(super().para_fit(*args, **kwargs))
            return sizes[-1]

    monkeypatch.setattr(briefing, "SidePanel", Recorded)
    long_caption = an.caption() + " (7 more outside the study area, in no cell; 3 in 1 outlying group left out)" * 6
    monkeypatch.setattr(type(an), "caption", lambda self: long_caption)
    img = briefing_before_after(an, tmp_path / "long.png", dpi=40)
    assert all(not p.overflowed and p.cursor <= p.h + 1e-9 for p in panels)
    assert len(sizes) == 1 and sizes[0] < 6.3  # at the usual 6.3 pt it would have been cut
    words = " ".join(img.texts)
    assert "…" not in words.split("Method", 1)[1] and words.count("outlying group left out") == 6
