"""Loader for study-area boundaries (polygons): GeoJSON, GeoPackage, Shapefile, ZIP, GeoParquet."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .._errors import CRSError, HotspotsError, InputError, ParameterError, SchemaError
from ._gdal import read_geo
from ._parquet import read_parquet
from ._pipeline import guard
from ._read import Source, Upload, resolve_sources, upload_parts
from .coords import BRITISH_ISLES_BNG, detect_crs
from .limits import current_budget

__all__ = ["load_boundary"]

_SIDE = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
_GEO = (".shp", ".gpkg", ".geojson", ".json")


def _read_zip(src: Source, layer: Any) -> gpd.GeoDataFrame:
    try:
        zf = zipfile.ZipFile(io.BytesIO(src.data) if src.data is not None else src.path)  # type: ignore[arg-type]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise InputError(f"{src.name} is not a readable ZIP archive ({exc}).") from None
    with zf, tempfile.TemporaryDirectory(prefix="hotspots-boundary-") as tmp:
        members = [i for i in zf.infolist() if not i.filename.endswith("/") and "__MACOSX" not in i.filename]
        data_members = [i for i in members if PurePosixPath(i.filename).suffix.lower() in _GEO]
        if not data_members:
            raise InputError(
                f"{src.name} holds no boundary file (.shp, .gpkg, .geojson). Put the boundary in the archive, or load it "
                "directly."
            )
        main = sorted(data_members, key=lambda i: (_GEO.index(PurePosixPath(i.filename).suffix.lower()), i.filename))[0]
        stem = PurePosixPath(main.filename).with_suffix("")
        wanted = [main] + [
            i for i in members
            if PurePosixPath(i.filename).with_suffix("") == stem
            and PurePosixPath(i.filename).suffix.lower() in _SIDE
            and i is not main
        ]
        budget = current_budget()
        budget.add_files(len(wanted), src.name)
        budget.add_unpacked(sum(i.file_size for i in wanted), f"{src.name} (from its directory)")
        for i in wanted:
            target = Path(tmp) / PurePosixPath(i.filename).name  # flat: no path traversal
            try:
                target.write_bytes(zf.read(i))
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                raise InputError(f"{src.name}:{i.filename} cannot be extracted ({exc}).") from None
        suf = PurePosixPath(main.filename).suffix.lower()
        fmt = {"shp": "shp", "gpkg": "gpkg"}.get(suf.lstrip("."), "geojson")
        member = Source(
            name=f"{src.name}:{main.filename}", fmt=fmt, path=Path(tmp) / PurePosixPath(main.filename).name, counted=True
        )
        table = read_geo(member, layer=layer)
        table.frame.attrs["notes"] = list(table.notes)
        return table.frame


@guard
def load_boundary(path: Any, *, fill_holes: bool = False, layer: Any = None, crs: Any = None) -> gpd.GeoDataFrame:
    """Read a boundary (study area) as polygons in British National Grid.

    Parameters
    ----------
    path : path, Upload or file object
        GeoJSON (a FeatureCollection, a single Feature, or a bare geometry), GeoPackage,
        Shapefile (``.shp`` with its sidecar files), a ZIP holding one of these, or GeoParquet.
    fill_holes : bool
        Remove interior rings (holes). The default keeps polygons as they are: the Derbyshire
        county boundary, for example, has a hole for Derby City, which is a separate unitary
        authority but part of the Derbyshire Constabulary force area; use ``fill_holes=True``
        for the force area.
    layer : str or int, optional
        GeoPackage layer (default: the first).
    crs : optional
        CRS to assume when the file has none (default: detected from the coordinates;
        GeoJSON without a CRS is WGS84 by its specification).

    Returns
    -------
    GeoDataFrame
        The file's features (attributes kept) with polygonal geometries in EPSG:27700. Invalid
        polygons are repaired with ``make_valid``; ``attrs["notes"]`` lists decisions taken.

    Raises
    ------
    InputError
        Unreadable or empty file; SchemaError when the features are not polygons.
    """
    if not isinstance(fill_holes, bool):
        raise ParameterError(f"`fill_holes` must be True or False; got {fill_holes!r}.")
    notes: list[str] = []
    up = upload_parts(path)
    if up is not None:
        name, data = up
        if not data:
            raise InputError(f"{name} is empty (0 bytes). Choose a boundary file with data in it.")
        if name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
            gdf = _read_zip(Source(name=name, fmt="zip", data=data), layer)
            return _finish_boundary(gdf, name, fill_holes=fill_holes, crs=crs, notes=notes + gdf.attrs.get("notes", []))
        if name.lower().endswith(".shp"):
            raise InputError(f"{name}: a Shapefile needs its .shx, .dbf and .prj files; upload them together in a .zip.")
    elif isinstance(path, (str, os.PathLike)) and str(path).lower().endswith(".zip"):
        p = Path(path)
        if not p.is_file():
            raise InputError(f"file not found: {p}. Check the path.")
        gdf = _read_zip(Source(name=p.name, fmt="zip", path=p), layer)
        return _finish_boundary(gdf, p.name, fill_holes=fill_holes, crs=crs, notes=notes + gdf.attrs.get("notes", []))
    sources, _ = resolve_sources(path if up is None else Upload(*up), allowed=("geojson", "gpkg", "shp", "parquet"))
    if len(sources) != 1:
        raise InputError(f"give one boundary file; got {len(sources)}.")
    src = sources[0]
    if src.fmt == "parquet":
        gdf = read_parquet(src).frame
    elif src.fmt in ("geojson", "gpkg", "shp"):
        table = read_geo(src, layer=layer)
        gdf = table.frame
        notes += table.notes
    else:  # pragma: no cover - resolve_sources expands zips into members
        raise InputError(f"{src.name}: unsupported boundary format.")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise SchemaError(f"{src.name} has no geometry. A boundary must be polygons.")
    return _finish_boundary(gdf, src.name, fill_holes=fill_holes, crs=crs, notes=notes)


def boundary_geoseries(boundary: Any, no_crs: HotspotsError) -> Any:
    """A boundary given as a file path (read with :func:`load_boundary`), GeoDataFrame or
    GeoSeries, as its GeoSeries; anything else (e.g. a shapely polygon) is returned as given.

    Raises ``no_crs`` (the caller's error, naming its argument) when the series has no CRS.
    """
    if isinstance(boundary, (str, os.PathLike)):
        boundary = load_boundary(boundary)
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        if gs.crs is None:
            raise no_crs
        return gs
    return boundary


def _finish_boundary(gdf: gpd.GeoDataFrame, name: str, *, fill_holes: bool, crs: Any, notes: list[str]) -> gpd.GeoDataFrame:
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].reset_index(drop=True)
    if len(gdf) == 0:
        raise InputError(f"{name} holds no geometries. Choose a boundary file with at least one polygon.")
    types = set(gdf.geometry.geom_type)
    if not types <= {"Polygon", "MultiPolygon", "GeometryCollection"}:
        raise SchemaError(
            f"{name} holds {', '.join(sorted(types - {'Polygon', 'MultiPolygon'}))} geometries; a boundary must be "
            "polygons. Buffer lines or points first if you mean an area around them."
        )
    if crs is not None:
        gdf = gdf.set_crs(crs, allow_override=True)
        notes.append(f"CRS set to {gdf.crs.name} as given (`crs`)")
    elif gdf.crs is None:
        xy = shapely.get_coordinates(np.asarray(gdf.geometry.values))
        try:
            det = detect_crs(xy[:, 0], xy[:, 1])
        except CRSError as exc:
            raise CRSError(f"{name} has no CRS and {exc}") from None
        if det.swapped:
            raise CRSError(f"{name} has no CRS and {det.reason}; fix the file's axis order.")
        gdf = gdf.set_crs(det.epsg)
        notes.append(f"{name} has no CRS; {det.reason}")
    elif gdf.crs.is_geographic:
        xy = shapely.get_coordinates(np.asarray(gdf.geometry.values))
        try:
            det = detect_crs(xy[:, 0], xy[:, 1])
        except CRSError:
            det = None
        if det is not None and det.epsg == 27700 and det.share > 0.9:
            gdf = gdf.set_crs(27700, allow_override=True)
            notes.append(f"{name} says WGS84 but its coordinates are British National Grid metres; read as EPSG:27700")
    out = gdf.to_crs(27700)
    coords = shapely.get_coordinates(np.asarray(out.geometry.values))
    if not np.all(np.isfinite(coords)):
        raise CRSError(
            f"{name}: coordinates could not be converted to British National Grid (non-finite results). Check the file's CRS."
        )
    xmin, xmax, ymin, ymax = BRITISH_ISLES_BNG
    b = out.total_bounds
    if b[0] < xmin or b[2] > xmax or b[1] < ymin or b[3] > ymax:
        raise CRSError(
            f"{name} lies outside the British Isles once converted to British National Grid (bounds {b.round(0).tolist()}). "
            "Check the file's CRS: save it with the right one (in Python, or pass `crs=` to `load_boundary`)."
        )
    geoms = np.asarray(out.geometry.values)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        notes.append(f"{int(invalid.sum())} invalid polygon(s) repaired with make_valid")
    # Keep only the polygonal parts (make_valid or collections can add lines/points).
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    if fill_holes:
        geoms = np.array([_fill(g) for g in geoms], dtype=object)
        notes.append("holes filled (`fill_holes=True`)")
    keep = ~shapely.is_empty(geoms)
    out = out.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(geoms[keep], crs=27700, index=out.index)).reset_index(drop=True)
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    if len(out) == 0:
        raise SchemaError(f"{name} holds no polygons. A boundary must be polygons.")
    out.attrs["notes"] = notes
    out.attrs["source"] = name
    return out


def _polygonal(g: Any) -> Any:
    t = shapely.get_type_id(g)
    if t in (3, 6):
        return g
    if t == 7:
        parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
        if not parts:
            return shapely.Polygon()
        return shapely.union_all(parts)
    return shapely.Polygon()


def _fill(g: Any) -> Any:
    if shapely.get_type_id(g) == 3:
        return shapely.Polygon(g.exterior)
    if shapely.get_type_id(g) == 6:
        return shapely.MultiPolygon([shapely.Polygon(p.exterior) for p in g.geoms])
    return g
