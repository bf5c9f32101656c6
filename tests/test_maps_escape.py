"""hotspots.maps.escape: text from data made inert for HTML and folium's generated JavaScript."""

from __future__ import annotations

import html
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots._errors import ParameterError
from hotspots.maps.escape import css_colour, display_value, escape_html, format_value, is_escaped, js_json

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "javascript:window.__pwned=1",
    "`${window.__pwned=1}`",
    "</script><script>window.__pwned=1</script>",
    "trailing backslash \\",
    "it's \"quoted\" & <b>bold</b>",
]


# ---------------------------------------------------------------- escape_html
@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_html_leaves_no_active_characters(payload):
    out = escape_html(payload)
    for ch in "<>\"'`$\\":
        assert ch not in out
    assert is_escaped(out)
    assert html.unescape(out) == payload  # the browser shows exactly the original text


def test_escape_html_known_values():
    assert escape_html("<script>") == "&lt;script&gt;"
    assert escape_html("a`b") == "a&#96;b"
    assert escape_html("${x}") == "&#36;&#123;x&#125;"  # braces too: branca re-renders scripts as Jinja templates
    assert escape_html("a\\") == "a&#92;"
    assert escape_html(None) == ""
    assert escape_html(12) == "12"
    # Newlines and NUL become spaces (a label is one line).
    assert escape_html("a\nb\x00c") == "a b c"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escape_html_round_trips_and_is_inert(text):
    out = escape_html(text)
    assert is_escaped(out)
    expected = "".join(" " if (ord(c) < 32 and c != "\t") or c in "\x7f\u2028\u2029" else c for c in text)
    assert html.unescape(out) == expected


def test_is_escaped_spots_raw_text():
    assert not is_escaped("<b>")
    assert not is_escaped("a & b")  # a bare ampersand
    assert is_escaped("a &amp; b &#96; &#x41;")


# ---------------------------------------------------------------- display_value / format_value
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
        (pd.NaT, ""),
        (True, "yes"),
        (np.bool_(False), "no"),
        (1234, "1,234"),
        (np.int64(-5), "-5"),
        (2.0, "2"),
        (0.25, "0.25"),
        (1234.567, "1,234.57"),
        (math.inf, "∞"),
        (pd.Timestamp("2023-07-01"), "2023-07-01"),
        (pd.Timestamp("2023-07-01 13:45"), "2023-07-01 13:45"),
        (pd.Period("2023-07", "M"), "2023-07"),
        ("Derby <city>", "Derby &lt;city&gt;"),
    ],
)
def test_display_value(value, expected):
    assert display_value(value) == expected


def test_display_value_format_spec():
    assert display_value(0.785, ".0%") == "78%"  # rounds half to even like Python
    assert display_value(12.345, ",.1f") == "12.3"
    assert display_value(7, "03d") == "007"
    # a signed format never shows a signed zero (a change of exactly 0, or one rounding to it)
    assert [display_value(v, "+.1f") for v in (0.0, -0.04, 0.04, 3.21, -12.0)] == ["0.0", "0.0", "0.0", "+3.2", "-12.0"]
    assert display_value(0.0, "+.0%") == "0%" and display_value(0.0004, "+.2e") == "+4.00e-04"


def test_format_value_does_not_escape():
    assert format_value("<b>") == "<b>"
    assert display_value("<b>") == "&lt;b&gt;"


# ---------------------------------------------------------------- js_json
@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=10,
    )
)
def test_js_json_is_valid_json_without_html_specials(obj):
    out = js_json(obj)
    assert json.loads(out) == obj
    for ch in "<>&'\u2028\u2029":
        assert ch not in out


def test_js_json_cannot_close_a_script():
    out = js_json(["</script><script>alert(1)</script>"])
    assert "</script" not in out.lower()
    assert json.loads(out) == ["</script><script>alert(1)</script>"]


def test_js_json_refuses_nan():
    with pytest.raises(ValueError):
        js_json([float("nan")])


# ---------------------------------------------------------------- css_colour
@pytest.mark.parametrize("colour", ["#abc", "#AABBCC", "#aabbcc80", "#abcd"])
def test_css_colour_accepts_hex(colour):
    assert css_colour(colour) == colour.lower()


@pytest.mark.parametrize("colour", ["red", "#12345", "javascript:alert(1)", "#fff; background:url(x)", None, 3])
def test_css_colour_rejects_everything_else(colour):
    with pytest.raises(ParameterError, match="`fill`"):
        css_colour(colour, name="fill")
