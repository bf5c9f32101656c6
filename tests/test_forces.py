"""Tests for hotspots.forces: the force of a set of incidents."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from hotspots._errors import ParameterError
from hotspots.forces import FAR_APART_KM, FORCES, Force, detect_force, far_apart_forces, force_id, force_name


def test_forces_table():
    assert len(FORCES) == 45
    assert FORCES["leicestershire"] == "Leicestershire Police"
    assert FORCES["northern-ireland"] == "Police Service of Northern Ireland"
    assert all(k == k.lower() and " " not in k for k in FORCES)


@pytest.mark.parametrize(
    "text, fid",
    [
        ("leicestershire", "leicestershire"),
        ("Leicestershire Police", "leicestershire"),
        ("LEICESTERSHIRE", "leicestershire"),
        ("Devon & Cornwall Police", "devon-and-cornwall"),
        ("devon and cornwall", "devon-and-cornwall"),
        ("Police Service of Northern Ireland", "northern-ireland"),
        ("PSNI", "northern-ireland"),
        ("Metropolitan Police Service", "metropolitan"),
        ("Wiltshire Police", "wiltshire"),
        ("Atlantis Constabulary", None),
        (None, None),
    ],
)
def test_force_id(text, fid):
    assert force_id(text) == fid


def test_force_name_keeps_unknown_names():
    assert force_name("kent") == "Kent Police"
    assert force_name("  Atlantis Constabulary ") == "Atlantis Constabulary"


def test_detect_from_falls_within_column():
    df = pd.DataFrame({"force": ["Leicestershire Police"] * 99 + ["Nottinghamshire Police"]})
    f = detect_force(df)
    assert f == Force("Leicestershire Police", "leicestershire", "police.uk 'Falls within'", 0.99, ("Nottinghamshire Police",))
    assert "99.0% of incidents" in f.describe() and "also present: Nottinghamshire Police" in f.describe()
    assert f.record()["id"] == "leicestershire"


def test_mixed_forces_are_joined():
    df = pd.DataFrame({"force": ["Derbyshire Constabulary"] * 60 + ["Leicestershire Police"] * 38 + ["Kent Police"] * 2})
    f = detect_force(df)
    assert f.name == "Derbyshire Constabulary + Leicestershire Police" and f.id is None
    assert f.share == pytest.approx(0.98) and f.others == ("Kent Police",)


def test_detect_from_file_names_then_none():
    df = pd.DataFrame(
        {"source": ["2025-01-west-mercia-street.csv.gz", "data/2025-02-west-mercia-street.csv"], "force": [None, ""]}
    )
    f = detect_force(df)
    assert f.id == "west-mercia" and f.source == "file names" and f.name == "West Mercia Police"
    assert detect_force(pd.DataFrame({"source": ["my_asb.csv"]})) is None
    assert detect_force(pd.DataFrame()) is None


def test_given_names_the_force_when_the_data_do_not_or_agree():
    df = pd.DataFrame({"x": [1, 2, 3]})
    f = detect_force(df, given="Rutland Police")
    assert f.name == "Rutland Police" and f.id is None and f.source == "given"
    assert f.describe() == "force: Rutland Police (as given)"
    assert detect_force(df, given="northern-ireland").name == "Police Service of Northern Ireland"
    with pytest.raises(ParameterError, match="force"):
        detect_force(df, given=" ")
    leics = pd.DataFrame({"force": ["Leicestershire Police"] * 3})
    agreed = detect_force(leics, given="leicestershire")
    assert agreed.name == "Leicestershire Police" and agreed.source == "given" and agreed.record()["source"] == "given"
    # one of the forces mixed data name together
    mixed = pd.DataFrame({"force": ["Durham Constabulary"] * 5 + ["Cleveland Police"] * 5})
    assert detect_force(mixed, given="cleveland").name == "Cleveland Police"


def test_a_given_force_the_files_contradict_is_refused_naming_both():
    """`hotspots analyse dorset_1m --force cheshire` titled Dorset's map "Cheshire Constabulary",
    its record saying the name came from police.uk's "Falls within" (100 % Dorset Police)."""
    dorset = pd.DataFrame({"force": ["Dorset Police"] * 4})
    with pytest.raises(ParameterError) as e:
        detect_force(dorset, given="cheshire")
    msg = str(e.value)
    assert "`force` 'cheshire' (Cheshire Constabulary) disagrees with the files" in msg
    assert "which name Dorset Police for 100.0% of the incidents (police.uk 'Falls within')" in msg and "Leave `force` out" in msg
    files = pd.DataFrame({"source": ["2025-01-dorset-street.csv"] * 2})
    with pytest.raises(ParameterError, match=r"name Dorset Police for 100.0% of the incidents \(file names\)"):
        detect_force(files, given="Kent Police")
    # the name given, written with its source (prepare_inputs), reads back as given
    marked = pd.DataFrame({"force": ["Rutland Police"] * 2, "force_source": ["given"] * 2})
    assert detect_force(marked).source == "given" and detect_force(marked).name == "Rutland Police"


@pytest.mark.realdata
def test_every_national_file_names_a_known_force(police_uk_dir):
    import gzip

    files = sorted((police_uk_dir / "national_2025_gz" / "2025-01").glob("*.csv.gz"))
    if not files:
        pytest.skip("national set absent")
    for p in files:
        fid = p.name[len("2025-01-") : -len("-street.csv.gz")]
        with gzip.open(p, "rt") as fh:
            fh.readline()
            falls_within = next(iter(pd.read_csv(fh, header=None, nrows=1).iloc[0, [3]]))
        assert force_id(falls_within) == fid, (p.name, falls_within)


def _forces_at(groups: dict[str, tuple[float, float, float, float]], n: int = 100) -> gpd.GeoDataFrame:
    """``n`` incidents for each force, evenly over its box (x0, y0, x1, y1; BNG metres)."""
    rows = []
    for name, (x0, y0, x1, y1) in groups.items():
        t = np.linspace(0, 1, n)
        rows.append(pd.DataFrame({"force": name, "x": x0 + t * (x1 - x0), "y": y0 + t[::-1] * (y1 - y0)}))
    df = pd.concat(rows, ignore_index=True)
    return gpd.GeoDataFrame(df[["force"]], geometry=gpd.points_from_xy(df.x, df.y), crs=27700)


def test_forces_far_apart_are_warned_of_and_neighbours_are_not():
    """Durham + Gwent (Jan-Jun) was analysed as one force on a 780 x 294-cell grid with a 23.7 km bandwidth, with no
    warning. Boxes as measured on police.uk's 2025-03 files (km): Durham 408-444 x 513-554, Gwent 311-351 x 185-214,
    Cleveland 442-467 x 514-535, Cumbria 297-366 x 468-561 (43 km from Durham across the Pennines)."""
    durham, gwent = (408e3, 513e3, 444e3, 554e3), (311e3, 185e3, 351e3, 214e3)
    cleveland, cumbria = (442e3, 514e3, 467e3, 535e3), (297e3, 468e3, 366e3, 561e3)
    assert FAR_APART_KM == 50
    warning = far_apart_forces(_forces_at({"Durham Constabulary": durham, "Gwent Police": gwent}))
    # nearest corners: Durham's (408, 513) and Gwent's (351, 214), each box shrunk by 2 % a side (2nd-98th
    # percentiles): (408.7, 513.8) and (350.2, 213.4): hypot(58.5, 300.4) = 306 km
    assert warning.startswith("the incidents lie in 2 groups of forces far apart: Durham Constabulary; Gwent Police "
                              "(306 km apart or more, beyond 50 km).")
    assert "automatic bandwidth and cell size" in warning and "Analyse each force's files separately" in warning
    assert far_apart_forces(_forces_at({"Durham Constabulary": durham, "Cleveland Police": cleveland})) == ""
    assert far_apart_forces(_forces_at({"Durham Constabulary": durham, "Cumbria Constabulary": cumbria})) == ""
    # neighbours chain into one group; Gwent stays apart from them
    three = far_apart_forces(_forces_at({"Durham Constabulary": durham, "Cleveland Police": cleveland, "Gwent Police": gwent}))
    assert "2 groups of forces far apart: Cleveland Police + Durham Constabulary; Gwent Police" in three
    # strays (police.uk's files hold a few incidents recorded across the country) and tiny shares do not count
    one = _forces_at({"Durham Constabulary": durham})
    strays = _forces_at({"Durham Constabulary": gwent}, n=2)
    assert far_apart_forces(pd.concat([one, strays], ignore_index=True)) == ""
    assert far_apart_forces(pd.concat([one, _forces_at({"Gwent Police": gwent}, n=1)], ignore_index=True)) == ""
    assert far_apart_forces(one.drop(columns="force")) == "" and far_apart_forces(one.to_crs(4326)) == ""
    # missing names (police.uk rows with an empty 'Falls within') are no force
    blank = pd.concat([one, _forces_at({"": gwent}), _forces_at({"Gwent Police": gwent}).assign(force=pd.NA)], ignore_index=True)
    assert far_apart_forces(blank) == ""


def test_a_network_force_is_told_from_the_files_or_the_name_given():
    from hotspots.forces import NETWORK_FORCES, network_force

    assert NETWORK_FORCES == {"btp"} and set(NETWORK_FORCES) <= set(FORCES)
    btp = network_force(pd.DataFrame({"force": ["British Transport Police"] * 4}))
    assert btp is not None and btp.id == "btp" and btp.name == "British Transport Police"
    given = pd.DataFrame({"force": ["British Transport Police"], "force_source": ["given"]})
    assert network_force(given).id == "btp"
    assert network_force(pd.DataFrame({"force": ["Dorset Police"] * 4})) is None
    assert network_force(pd.DataFrame({"x": [1]})) is None
    # a mix in which no force holds 90% is no network force's data
    assert network_force(pd.DataFrame({"force": ["British Transport Police"] * 5 + ["Kent Police"] * 5})) is None
