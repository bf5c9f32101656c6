"""Tests for hotspots.io.tasks: reparative task sites."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import check_result, load_csv

from hotspots import SchemaError
from hotspots.io import TaskSet, load_any, load_tasks
from hotspots.schema import TASK_COLUMNS, TASK_KINDS


def sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task_id": ["T1", "T2", "T3", "T4", "T5", "T6", "T7"],
            "kind": ["Litter pick", "ALLOTMENTS", "foodbank", "charity shop", "community hall", "bird/bat boxes", "Workshop"],
            "site_name": ["Markeaton Park", "Allotment <b>A</b>", "Food bank", "Shop", "Hall", "Woods", "Shed"],
            "easting": [435000, 436000, 437000, 438000, 439000, 440000, 441000],
            "northing": [336000] * 7,
        }
    )


def check(result: TaskSet) -> None:
    check_result(result, "task_id")
    data, _ = result
    assert data["kind"].isin(TASK_KINDS).all()


def test_kinds_are_normalised(tmp_path: Path) -> None:
    result = load_csv(load_tasks, sites(), tmp_path / "tasks.csv")
    check(result)
    data, report = result
    assert list(data.columns) == list(TASK_COLUMNS)
    assert data["kind"].tolist() == list(TASK_KINDS)  # one site of each kind, most written another way
    assert data["site_name"].iloc[1] == "Allotment <b>A</b>"  # kept as text; escaping is the map's job
    assert shapely.get_coordinates(np.asarray(data.geometry.values))[0].tolist() == [435000, 336000]


def test_drops_duplicates_and_missing_kinds_and_keeps_unknown_kinds() -> None:
    df = sites()
    df.loc[1, "task_id"] = "T1"
    df.loc[2, "kind"] = " Graffiti removal "
    df.loc[3, "kind"] = ""
    df.loc[4, "easting"] = np.nan
    data, report = load_tasks(df)
    assert report.dropped == {"duplicate id": 1, "missing kind": 1, "no location": 1}
    assert data["task_id"].tolist() == ["T1", "T3", "T6", "T7"]
    # a site is never dropped for its kind (its referrals would read "task not found"): kept as written, announced
    assert data.set_index("task_id").loc["T3", "kind"] == "Graffiti removal"
    assert report.unrecognised == {"kind": {"Graffiti removal": 1}}
    assert any("'Graffiti removal' (1 site)" in w and "kept with their kind as written" in w for w in report.warnings)
    # a repeated id keeps its later row (an export's update), and says the dropped row differed
    assert data["kind"].iloc[0] == "allotment" and report.examples["duplicate id"] == ["DataFrame:row 1"]
    assert any("1 row(s) of the 1 row(s) dropped as 'duplicate id' differ from the row kept for their `task_id`" in w
               for w in report.warnings)


def test_unused_columns_are_named_and_empty_rows_counted() -> None:
    df = sites().astype(object)
    df["contact_phone_ext"] = "123"
    df.loc[2] = [None] * len(df.columns)
    data, report = load_tasks(df)
    assert report.dropped == {"empty row": 1} and len(data) == 6
    assert any(n.startswith("column(s) not used: `contact_phone_ext`") for n in report.notes)
    assert "123" not in " ".join(report.notes)  # names only, never values


def test_polygon_sites_and_derived_ids(tmp_path: Path) -> None:
    park = shapely.Polygon([(435000, 336000), (436000, 336000), (436000, 336100), (435000, 336100)])
    gdf = gpd.GeoDataFrame(
        {"type": ["litter", "food bank"], "name": ["Park", "FB"]}, geometry=[park, shapely.Point(437000, 336500)], crs=27700
    )
    p = tmp_path / "tasks.gpkg"
    gdf.to_file(p)
    data, report = load_tasks(p)
    check((data, report))
    assert data["task_id"].str.startswith("task-").all()
    assert shapely.contains_xy(park, *shapely.get_coordinates(np.asarray(data.geometry.values))[0])
    assert data["site_name"].tolist() == ["Park", "FB"]
    again, _ = load_any(p, kind="tasks")
    assert again["task_id"].tolist() == data["task_id"].tolist()


def test_missing_kind_column_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"`kind`.*columns=\{'kind'"):
        load_tasks(sites().drop(columns="kind"))


def test_a_referrals_file_given_as_task_sites_is_named_as_such() -> None:
    """The app's task box given the referral file said "cannot find column(s) for `kind`"."""
    refs = pd.DataFrame({"referral_id": ["R1"], "person_ref": ["p_0123456789abcdef"], "referred_at": ["2025-01-02"],
                         "route": ["CR"], "task_id": ["T1"], "longitude": [-1.47], "latitude": [52.92]})
    with pytest.raises(SchemaError, match="this looks like a referrals file") as e:
        load_tasks(refs)
    assert "`person_ref`" in str(e.value) and "cannot find column" not in str(e.value)
    with pytest.raises(SchemaError, match="cannot find column"):  # any other table without `kind`: as before
        load_tasks(pd.DataFrame({"site": ["A"], "longitude": [-1.47], "latitude": [52.92]}))
