"""hotspots.app_support.text: text from data made literal for Streamlit markdown."""

from __future__ import annotations

from hotspots.app_support import md_text


def test_md_text_makes_markdown_literal():
    payloads = ["![x](http://evil.example/x.png)", "<img src=x onerror=alert(1)>", ":red[big] $x^2$ **b** `c`", "a\nb\r\nc"]
    for p in payloads:
        out = md_text(p)
        # Every markdown/HTML special character is escaped; removing the escapes gives the text back.
        i = 0
        plain = []
        while i < len(out):
            if out[i] == "\\":
                assert out[i + 1] in "\\`*_{}[]()#+-.!|<>~$:&=\"'"
                plain.append(out[i + 1])
                i += 2
            else:
                assert out[i] not in "`*_{}[]()#+-.!|<>~$:&=\"'\n\r"
                plain.append(out[i])
                i += 1
        assert "".join(plain) == " ".join(p.splitlines())
    assert md_text(None) == ""


def test_library_messages_name_the_apps_controls():
    from hotspots.app_support import app_wording

    # The library's own wording (Python and command line) is unchanged; the app shows its controls.
    msg = "Make `distance` at least the cell size (e.g. `distance=200` for the 4 edge neighbours, or `distance=283`)."
    assert app_wording(msg) == (
        'Make "Distance band (m, 1–20,000)" at least the cell size (e.g. "Distance band (m, 1–20,000)" set to 200 for the 4 '
        'edge neighbours, or "Distance band (m, 1–20,000)" set to 283).'
    )
    out = app_wording("`same_months=True` but the periods share no calendar month. Use other periods, or `same_months=False`.")
    assert out == ('"Compare the same calendar months only" on but the periods share no calendar month. Use other periods, '
                   'or "Compare the same calendar months only" off.')
    assert app_wording("no scheme start was given (`--scheme-start` on the command line; the data's months: 2023-01 "
                       "to 2024-01)") == "no scheme start was given (the data's months: 2023-01 to 2024-01)"
    assert app_wording("coordinates read as BNG (given `crs`)") == 'coordinates read as BNG (given "Coordinates")'
    assert "points_outside_area" not in app_wording("3 point(s) still count near the border (`points_outside_area='include'`).")
    assert app_wording("2 `person_ref` value(s) repeat") == "2 `person_ref` value(s) repeat"  # not a control: as is


def test_a_file_without_coordinates_points_to_the_column_mapping():
    """The load error of a table without coordinates points to the Data tab's expander, not to Python's `x='...'`."""
    import pandas as pd
    import pytest

    from hotspots._errors import SchemaError
    from hotspots.app_support import app_wording
    from hotspots.io import Upload, load_incidents

    with pytest.raises(SchemaError) as err:
        load_incidents(Upload("people.csv", pd.DataFrame({"name": ["a"], "town": ["b"]}).to_csv(index=False).encode()))
    text = app_wording(str(err.value))
    assert "Python" not in text and "x=" not in text
    assert 'in the Data tab\'s "Column mapping for tables that are not police.uk files"' in text


def test_person_text_reads_right_for_a_count_of_one():
    from hotspots.app_support import person_text

    assert person_text("'<b>completed</b>' in 1 row; 'x' in 7 rows") == "'<b>completed</b>' in fewer than 5 rows; 'x' in 7 rows"
    assert person_text("1 referral has a date") == "fewer than 5 referrals has a date"
    assert person_text("1 row(s) repeat an id") == "<5 row(s) repeat an id"  # plural already: unchanged form
    assert person_text("in 1 row", threshold=1) == "in 1 row"
    # a count already published as "<5" (the analysis's protected warning text) reads right too
    assert person_text("'<b>x</b>' in <5 row; counted") == "'<b>x</b>' in fewer than 5 rows; counted"
    assert person_text("<5 row(s) repeat an id") == "<5 row(s) repeat an id"


def test_number_boxes_say_their_range_in_their_labels():
    from hotspots.app_support.text import CONTROL_LABELS, CONTROL_RANGES

    assert CONTROL_LABELS["cell_size"] == "Cell size (m, 50–5,000)"
    assert CONTROL_LABELS["ring_m"] == "Displacement ring around hotspot areas (m, 0–5,000)"
    assert CONTROL_LABELS["min_samples"] == "Core size (min samples, 2–1,000)"
    assert CONTROL_LABELS["alpha"] == "Significance level (alpha)"  # not a number box: as it was
    assert all(f"{lo:,}–{hi:,})" in CONTROL_LABELS[k] for k, (lo, hi) in CONTROL_RANGES.items())
