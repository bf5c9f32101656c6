"""CSV injection: text cells a spreadsheet would run as formulas are written as text (OWASP)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from hotspots.csv_safety import FORMULA_STARTS, csv_text, safe_cell, spreadsheet_safe

EVIL = '=HYPERLINK("http://evil.example","Bradley, St")'


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_each_formula_start_gets_a_quote(start):
    assert safe_cell(start + "cmd|' /C calc'!A0") == "'" + start + "cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", ["-3", "+1.5", "-12%", "-1,234.5", "1e-3", "Bulwer Road", "<5", "x", "", " =1"])
def test_numbers_and_plain_text_unchanged(value):
    assert safe_cell(value) == value


def test_non_text_unchanged():
    for v in (-3, -1.5, None, np.nan, True):
        assert safe_cell(v) is v


def test_frame_text_columns_only_and_caller_untouched():
    df = pd.DataFrame({
        "place": [f"{EVIL}, Ipswich", "Jubilee Way"],
        "change": [-3, 4],  # numbers stay numbers
        "referrals": ["-2", "<5"],  # text numbers stay as they are
        "kind": pd.Series(["@SUM(A1)", "park"], dtype="category"),
        "name": pd.Series(["+cmd", None], dtype="string"),
        "pct": pd.Series([79, 74.5], dtype=object),  # a whole number stays whole (no float dtype inferred)
    })
    out = spreadsheet_safe(df)
    assert out["place"].tolist() == [f"'{EVIL}, Ipswich", "Jubilee Way"]
    assert out["change"].tolist() == [-3, 4] and out["referrals"].tolist() == ["-2", "<5"]
    assert out["kind"].tolist() == ["'@SUM(A1)", "park"] and out["name"].tolist()[0] == "'+cmd"
    assert df["place"].iloc[0].startswith("=")  # the caller's frame is not modified
    text = csv_text(df)
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert back["place"].iloc[0] == f"'{EVIL}, Ipswich" and back["change"].tolist() == ["-3", "4"]
    assert back["pct"].tolist() == ["79", "74.5"]
    assert text.splitlines()[0] == "place,change,referrals,kind,name,pct" and "\r" not in text


def test_column_names_are_neutralised_too():
    assert list(spreadsheet_safe(pd.DataFrame({"=x": [1], "ok": [2]})).columns) == ["'=x", "ok"]
