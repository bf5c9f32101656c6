"""hotspots.maps.legends: colour-bar and category legends, escaped, following their layer."""

from __future__ import annotations

import re

import folium
import pytest

from hotspots._errors import ParameterError
from hotspots.maps import ColourScale, OfflineMap, category_legend, external_urls, legend

PAYLOAD = "<script>window.__pwned=1</script>"


def _script_tags_balanced(html: str) -> bool:
    return html.count("<script") == html.count("</script>")


def _legend_html(leg) -> str:
    m = OfflineMap(location=[52.9, -1.5], tiles=None)
    leg.add_to(m)
    return m.get_root().render()


def test_legend_shows_escaped_title_units_and_clipping():
    scale = ColourScale("YlOrRd", 0.0, 27.5, units="incidents per km²", title=PAYLOAD, clipped_high=True)
    leg = legend(scale)
    assert "&lt;script&gt;" in leg.html and "<script>" not in leg.html
    assert "incidents per km²" in leg.html
    assert "≥ 27.5" in leg.html
    assert "linear-gradient(to right, #ffffcc 0%" in leg.html  # YlOrRd's first colour
    html = _legend_html(leg)
    assert _script_tags_balanced(html)
    assert "hotspots-legend" in html and external_urls(html) == []


def test_a_percentile_top_colour_says_its_rule_and_the_maximum():
    # Norfolk: the app's map read "0 8 16 24 ≥ 30.6" where the briefing, drawn to the maximum, read 0-139
    import numpy as np

    from hotspots.grid import Grid
    from hotspots.maps import raster_overlay
    from hotspots.maps.legends import scale_rule

    scale = ColourScale("YlOrRd", 0.0, 30.6, units="incidents per km²", clipped_high=True,
                        how="lowest colour at 0; top colour at the 99th percentile of the values shown", data_max=139.31)
    assert scale_rule(scale) == "top colour: 30.6, the 99th percentile of the values shown; maximum 139"
    assert "top colour: 30.6, the 99th percentile of the values shown; maximum 139" in legend(scale).html
    # drawn to the maximum, or not clipped: nothing to say
    assert scale_rule(ColourScale("YlOrRd", 0.0, 139.31, how="lowest colour at 0; top colour at the maximum")) == ""
    # the overlay records the largest value shown
    grid = Grid(xmin=400_000.0, ymax=300_000.0, cell_size=100.0, n_rows=10, n_cols=10)
    values = np.arange(100, dtype=float).reshape(10, 10)
    ov = raster_overlay(values, grid, robust=True, percentile=90.0)
    assert ov.scale.data_max == 99.0 and ov.scale.clipped_high
    assert scale_rule(ov.scale).startswith("top colour: ") and scale_rule(ov.scale).endswith("; maximum 99")


def test_legend_ticks_are_round_numbers():
    leg = legend(cmap="viridis", vmin=0, vmax=100, n_ticks=5)
    labels = re.findall(r"%\">([^<]*)</span>", leg.html)
    assert labels == ["0", "25", "50", "75", "100"]


def test_legend_needs_a_scale():
    with pytest.raises(ParameterError, match="scale="):
        legend(cmap="viridis", vmin=0)
    with pytest.raises(ParameterError, match="n_ticks"):
        legend(cmap="viridis", vmin=0, vmax=1, n_ticks=1)
    with pytest.raises(ParameterError, match="position"):
        legend(cmap="viridis", vmin=0, vmax=1, position="centre")


def test_category_legend():
    leg = category_legend([("Hot 99% <b>", "#D7301F"), ("Cold", "#4575b4")], title="Gi* `class`")
    assert "Hot 99% &lt;b&gt;" in leg.html and "background: #d7301f" in leg.html
    assert "Gi* &#96;class&#96;" in leg.html
    with pytest.raises(ParameterError, match="colour"):
        category_legend([("x", "red; background: url(http://evil)")])
    with pytest.raises(ParameterError, match="empty"):
        category_legend([])
    none = category_legend([], title="Trend <x>", empty_text="none <found>")
    assert "Trend &lt;x&gt;" in none.html and "<i>none &lt;found&gt;</i>" in none.html and "hl-swatch" not in none.html
    with pytest.raises(ParameterError, match=r"items\[0\]"):
        category_legend([("a", "#fff", "extra")])


def test_legend_in_a_feature_group_attaches_to_the_map():
    m = OfflineMap(location=[52.9, -1.5], tiles=None)
    group = folium.FeatureGroup(name="g").add_to(m)
    legend(cmap="viridis", vmin=0, vmax=1).add_to(group)
    html = m.get_root().render()
    assert f"control.addTo({m.get_name()});" in html
