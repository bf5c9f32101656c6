"""The table a reader returns: a DataFrame with its source row numbers and malformed-row counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Table"]


@dataclass
class Table:
    """A table read from one source, before any interpretation.

    ``frame`` holds the data rows (all ``str`` columns for CSV; typed columns, and possibly a
    geometry column, for Parquet/GeoPackage/GeoJSON). ``row_numbers`` gives each frame row's
    number in the source, counted as :attr:`unit` says: for a CSV file the line the row starts on (the
    header is line 1), what an editor shows; for other formats the 1-based data row.
    ``malformed`` counts rows that could not be split into the header's fields (they are part of
    the rows read but never become frame rows).
    """

    name: str
    frame: pd.DataFrame
    row_numbers: np.ndarray
    fmt: str
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    crs: Any = None  # CRS of the geometry column, when the format carries one
    #: What the reader did that the user should know (e.g. a title line above the header skipped).
    warnings: list[str] = field(default_factory=list)
    #: Blank lines between a CSV file's rows (read, and dropped as empty rows, as a line of only separators is).
    blank_lines: int = 0
    blank_examples: list[str] = field(default_factory=list)

    @property
    def unit(self) -> str:
        """What :attr:`row_numbers` count: ``"line"`` (CSV file lines) or ``"row"`` (data rows)."""
        return "line" if self.fmt == "csv" else "row"

    @property
    def rows_read(self) -> int:
        return len(self.frame) + self.malformed + self.blank_lines
