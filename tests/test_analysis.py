"""Tests for hotspots.analysis: the results' one-line method caption."""

from __future__ import annotations

import dataclasses

from hotspots.pipeline import Settings, assemble_analysis, hotspot_stage


def test_the_method_line_names_the_permutations_once_for_every_output(demo):
    """The console's ``method:`` line left out "199 permutations" that the briefing named: the
    caption carries them, and the briefing's method text does not add them again."""
    from hotspots.export._layers import method_text

    s = Settings(cell_size=1000.0, period=("2023-01", "2023-12"), permutations=99)
    an = assemble_analysis(hotspot_stage(demo.incidents, s, demo.study_area))
    assert an.caption().endswith("alpha 0.05 with FDR, 99 permutations")
    assert "; 1,000 m cells; " in an.caption()  # as the grid: line says it, not "1000 m cells" (Dyfed-Powys, --cell-size 1000)
    assert method_text(an).count("99 permutations") == 1 and method_text(an).startswith(an.caption() + ".")
    exact = dataclasses.replace(an, settings=dataclasses.replace(an.settings, permutations=0))
    assert exact.caption().endswith("alpha 0.05 with FDR") and "permutations" not in exact.caption()
