"""Small files that describe huge tables (issue 14), generated on the fly, never committed.

Each builder writes one file into ``folder`` and returns its path. The builders stream what they
write, so generating a file never holds the table it describes.
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import numpy as np

MiB = 1024 * 1024


def zip_of_zero_rows(folder: Path, unpacked_mib: int, name: str = "zeros.zip") -> Path:
    """A ZIP of one CSV: ``x,y`` and then ``0,0`` rows, ``unpacked_mib`` MiB in all.

    32 MiB packs into ~33 KB (8.4 million rows); 256 MiB into ~260 KB (67 million rows).
    """
    path = folder / name
    block = b"0,0\n" * (MiB // 4)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("zeros.csv", "w", force_zip64=True) as fh:
            fh.write(b"x,y\n")
            for _ in range(unpacked_mib):
                fh.write(block)
    return path


def parquet_of_rows(folder: Path, rows: int = 20_000_000, name: str = "rows.parquet") -> Path:
    """A Parquet file of ``rows`` rows of constant coordinates and a date (~240 KB for 20 million)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / name
    batch = 1_000_000
    schema = pa.schema([("lon", pa.float64()), ("lat", pa.float64()), ("date", pa.string())])
    chunk = pa.table(
        {
            "lon": pa.array(np.full(batch, -1.47)),
            "lat": pa.array(np.full(batch, 52.92)),
            "date": pa.array(["2024-01-01"] * batch),
        },
        schema=schema,
    )
    with pq.ParquetWriter(path, schema, compression="zstd") as w:
        for start in range(0, rows, batch):
            w.write_table(chunk.slice(0, min(batch, rows - start)))
    return path


def csv_of_columns(folder: Path, columns: int = 1_000_000, name: str = "wide.csv") -> Path:
    """A CSV with ``columns`` columns and one row (~9.9 MB for a million)."""
    path = folder / name
    with open(path, "wb") as fh:
        fh.write(",".join(f"c{i}" for i in range(columns)).encode() + b"\n")
        fh.write(b",".join([b"0"] * columns) + b"\n")
    return path


def geopackage_with_recursive_view(folder: Path, name: str = "view.gpkg") -> Path:
    """A GeoPackage (~96 KB) whose only layer is a view over a recursive query that never ends."""
    import geopandas as gpd
    import shapely

    path = folder / name
    path.unlink(missing_ok=True)
    one = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(435000, 336000)], crs=27700)
    one.to_file(path, layer="incidents", driver="GPKG", engine="pyogrio")
    con = sqlite3.connect(path)
    with con:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            con.execute(f'DROP TRIGGER "{trigger}"')
        rtrees = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rtree_incidents%'").fetchall()
        for (table,) in rtrees:
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute("DELETE FROM gpkg_extensions WHERE table_name = 'incidents'")
        (blob,) = con.execute("SELECT geom FROM incidents").fetchone()
        con.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = 'incidents'")  # GDAL then counts the rows
        con.execute("DROP TABLE incidents")
        con.execute(
            "CREATE VIEW incidents AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
            f"SELECT i AS fid, X'{bytes(blob).hex()}' AS geom, i AS n FROM r"
        )
    con.close()
    return path
