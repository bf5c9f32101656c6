"""CSV text that spreadsheet programs cannot run: the one writer of every CSV the product writes
(the command line's ``csv/`` tables, :func:`hotspots.export.export_gis`, and the app's downloads,
:func:`hotspots.app_support.downloads.csv_bytes`).

Text from the inputs reaches the tables (street names from police.uk's ``Location``, force and
place names, categories). A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return) is read by Excel, LibreOffice and Google Sheets as a formula, so a location of
``=HYPERLINK("http://evil.example", ...)`` would run when the table is opened ("CSV injection",
OWASP). As OWASP recommends, such a text cell is written with a single quote in front
(``'=HYPERLINK(...``), which spreadsheets show as text; the rest of the cell is unchanged.

Numbers are left alone: numeric columns are not text, and a text cell that is a plain number
(``"-3"``, ``"+1.5"``, ``"-12%"``: counts and changes in columns that mix numbers with ``"<5"``)
is not a formula that can do harm.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "csv_text", "safe_cell", "spreadsheet_safe"]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a string that begins with one of
    :data:`FORMULA_STARTS` gets a single quote in front, unless it is a plain number; anything
    else (numbers, missing values, other text) is returned unchanged.

    Examples
    --------
    >>> safe_cell('=HYPERLINK("http://evil.example")')
    '\\'=HYPERLINK("http://evil.example")'
    >>> safe_cell("-3"), safe_cell(-3), safe_cell("Bulwer Road")
    ('-3', -3, 'Bulwer Road')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are :func:`safe_cell`'s; numeric
    columns are unchanged (the caller's frame is not modified)."""
    out = df.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or isinstance(col.dtype, (pd.StringDtype, pd.CategoricalDtype)):
            values = col.astype(object).tolist()
            safe = [safe_cell(v) for v in values]
            if any(a is not b for a, b in zip(safe, values)):  # else as it was (no dtype inferred anew: 79 stays 79)
                out.isetitem(i, pd.Series(safe, index=col.index, dtype=object))
    out.columns = [safe_cell(c) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame) -> str:
    """CSV of ``df`` (no index, ``\\n`` line ends) with formula-like text neutralised
    (:func:`spreadsheet_safe`): what every CSV the product writes holds."""
    return spreadsheet_safe(df).to_csv(index=False, lineterminator="\n")
