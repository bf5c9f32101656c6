"""Reading Parquet and GeoParquet within the load's limits (decompression bombs refused).

Parquet compresses pages and encodes repeated values as dictionaries and runs, so a file of a few
hundred bytes can describe gigabytes of values, and a 240 KB file can describe 20 million rows.
Before anything is decompressed, the footer gives the rows, the columns and a bound on the size
of every value; the load's :class:`~hotspots.io.limits.LoadBudget` admits the table or refuses it.
Text columns are read as dictionaries (compact) and decoded only after their decoded size has
been checked against what the budget leaves.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import HotspotsError, InputError, LimitError
from ._read import Source, Table, bytes_as_text
from .limits import TEXT_BYTES, LoadBudget, current_budget, size_text

__all__ = ["read_parquet", "parquet_value_bytes"]

_PHYSICAL_BYTES = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8, "BYTE_ARRAY": 8}


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def parquet_value_bytes(pf: Any) -> int:
    """Memory the file's values need once read, not counting text/binary payloads (from the
    footer only, before anything is decompressed): every leaf value at its physical width, or the
    compressed pages' uncompressed sizes when larger."""
    md = pf.metadata
    values = pages = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        for j in range(rg.num_columns):
            col = rg.column(j)
            width = _PHYSICAL_BYTES.get(str(col.physical_type), 8)
            if str(col.physical_type) == "FIXED_LEN_BYTE_ARRAY":
                width = max(int(pf.schema.column(j).length or 0), 1)
            values += int(col.num_values) * width
            pages += int(col.total_uncompressed_size)
    return max(values, pages)


def _bomb(name: str, nbytes: float, budget: LoadBudget, limit: float, what: str = "its text unpacks") -> LimitError:
    return LimitError(
        f"{name}: {what} to {size_text(nbytes)} or more in memory (a highly compressed file; possibly a decompression "
        f"bomb), more than the {budget.limits.label} limits leave for it ({size_text(limit)}). {budget.limits.fix}"
    )


def _decode_text_columns(table: Any, names: Sequence[str], name: str, budget: LoadBudget) -> Any:
    """Turn the text columns read as dictionaries back into plain columns, after checking
    (from the dictionaries and indices) that their decoded size fits in what the budget leaves."""
    import pyarrow as pa
    import pyarrow.compute as pc

    limit = min(budget.unpacked_left(), budget.memory_left() // TEXT_BYTES)
    total = 0
    for col in names:
        for chunk in table.column(col).chunks:
            if len(chunk) == 0 or len(chunk.dictionary) == 0:
                continue
            lengths = pc.binary_length(chunk.dictionary).cast(pa.int64())
            total += int(pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0)
            if total > limit:
                raise _bomb(name, total, budget, limit)
    budget.add_unpacked(total, name)
    for col in names:
        i = table.schema.get_field_index(col)
        decoded = table.column(i).cast(table.schema.field(i).type.value_type)
        table = table.set_column(i, table.schema.field(i).with_type(decoded.type), decoded)
    return table


def read_parquet(source: Source) -> Table:
    """Read Parquet/GeoParquet within the load's limits.

    The footer's row count, column count and value sizes are checked first
    (:meth:`~hotspots.io.limits.LoadBudget.admit`); text columns are decoded only after their
    decoded size has been checked.

    Raises
    ------
    LimitError
        Too many rows or columns, or values that unpack to more than the limits leave.
    InputError
        Not a readable Parquet file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    budget = current_budget()

    def open_file(**kwargs: Any) -> Any:
        return pq.ParquetFile(io.BytesIO(source.data) if source.data is not None else str(source.path), **kwargs)

    try:
        pf = open_file()
        meta = pf.schema_arrow.metadata or {}
        md = pf.metadata
        fixed = parquet_value_bytes(pf)
        budget.admit(source.name, fmt="parquet", rows=int(md.num_rows), columns=int(md.num_columns), nbytes=fixed)
        if fixed > budget.unpacked_left():
            raise _bomb(source.name, fixed, budget, budget.unpacked_left(), what="its values unpack")
        budget.add_unpacked(fixed, f"{source.name} (its values, from the footer)")
        names = pf.schema_arrow.names
        text = [f.name for f in pf.schema_arrow if _is_text(f.type)]
        if text and len(set(names)) == len(names):
            pf = open_file(read_dictionary=text)
        table = pf.read()
        table.validate(full=True)  # damaged pages can hold invalid UTF-8 that Parquet does not check
        if len(set(names)) == len(names):  # text stored as dictionaries (categoricals) too
            coded = [f.name for f in table.schema if pa.types.is_dictionary(f.type) and _is_text(f.type.value_type)]
            table = _decode_text_columns(table, coded, source.name, budget)
    except HotspotsError:
        raise
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source.name} cannot be read as Parquet: {msg}. Check that the file is complete.") from None
    crs = None
    if b"geo" in meta:
        import geopandas as gpd

        try:
            frame = gpd.read_parquet(io.BytesIO(source.data) if source.data is not None else str(source.path))
            crs = frame.crs
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{source.name} has GeoParquet metadata that cannot be read ({exc}).") from None
    else:
        try:
            frame = table.to_pandas()
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{source.name}: Parquet columns cannot be converted to a table ({exc}).") from None
    frame = bytes_as_text(frame.reset_index(drop=True))
    return Table(name=source.name, frame=frame, row_numbers=np.arange(1, len(frame) + 1), fmt="parquet", crs=crs)
