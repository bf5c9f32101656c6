"""Tests for hotspots.forces: the force of a set of incidents."""

from __future__ import annotations

import pandas as pd
import pytest

from hotspots._errors import ParameterError
from hotspots.forces import FORCES, Force, detect_force, force_id, force_name


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


def test_given_wins():
    df = pd.DataFrame({"force": ["Leicestershire Police"] * 3})
    f = detect_force(df, given="Rutland Police")
    assert f.name == "Rutland Police" and f.id is None and f.source == "given"
    assert f.describe() == "force: Rutland Police (as given)"
    assert detect_force(df, given="northern-ireland").name == "Police Service of Northern Ireland"
    with pytest.raises(ParameterError, match="force"):
        detect_force(df, given=" ")


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
