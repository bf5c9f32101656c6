"""``hotspots map``: one briefing image straight from input files."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import refuse_loading, run_cli
from PIL import Image

from hotspots.schema import ASB_CATEGORY


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HOTSPOTS_OFFLINE", "1")



@pytest.fixture(scope="module")
def incidents_csv(tmp_path_factory):
    """Two years of incidents in Leicester-sized made-up town: a hotspot that halves in year two."""
    rng = np.random.default_rng(7)
    months_a = pd.period_range("2022-01", "2022-12", freq="M").astype(str)
    months_b = pd.period_range("2023-01", "2023-12", freq="M").astype(str)
    parts = []
    for months, n_hot in ((months_a, 600), (months_b, 300)):
        x = np.r_[rng.normal(458000, 120, n_hot), rng.uniform(452000, 464000, 500)]
        y = np.r_[rng.normal(304000, 120, n_hot), rng.uniform(298000, 310000, 500)]
        parts.append(pd.DataFrame({"month": rng.choice(months, len(x)), "easting": np.round(x), "northing": np.round(y)}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "incident_id", [f"i{k}" for k in range(len(df))])
    df["category"] = ASB_CATEGORY
    path = tmp_path_factory.mktemp("data") / "town.csv"
    df.to_csv(path, index=False)
    return path


def test_single_layer_png(incidents_csv, tmp_path):
    out = tmp_path / "m.png"
    code, stdout, stderr = run_cli("map", incidents_csv, "--out", out, "--layer", "gistar", "--dpi", "40", "--cell-size", "200")
    assert code == 0, stderr
    with Image.open(out) as im:
        assert im.size == (440, 300)
        assert np.asarray(im.convert("L")).std() > 10
    assert re.search(r"m\.png\s+\(440 x 300 px at 40 dpi, 1 map panel, basemap none", stdout)
    assert "Getis-Ord Gi*" in stderr  # progress


def test_size_options(incidents_csv, tmp_path):
    out = tmp_path / "m.png"
    code, _, stderr = run_cli("map", incidents_csv, "--out", out, "--dpi", "30", "--width", "8", "--height", "6",
                              "--cell-size", "200", "--quiet", "--title", "My title")
    assert code == 0, stderr
    assert stderr == ""
    with Image.open(out) as im:
        assert im.size == (240, 180)


def test_before_after_pdf(incidents_csv, tmp_path):
    out = tmp_path / "ba.pdf"
    code, stdout, stderr = run_cli("map", incidents_csv, "--out", out, "--before-after", "--dpi", "40", "--cell-size", "200",
                                   "--before", "2022-01:2022-12", "--after", "2023-01:2023-12")
    assert code == 0, stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    # a PDF page has no pixels: its size in millimetres and inches (13.33 in wide; at most 7.5 in high, shorter
    # when the maps and legend leave the bottom blank)
    said = re.search(r"ba\.pdf  \(339 x (\d+) mm \(13\.33 x ([\d.]+) in\), 3 map panels,", stdout)
    assert said and int(said[1]) <= 190 and float(said[2]) <= 7.5 and " px" not in stdout.splitlines()[-1]
    code, stdout, _ = run_cli("map", incidents_csv, "--out", tmp_path / "ba2.png", "--before-after", "--no-change",
                              "--height", "7.5", "--dpi", "30", "--cell-size", "200",
                              "--before", "2022-01:2022-12", "--after", "2023-01:2023-12")
    assert code == 0 and "(400 x 225 px at 30 dpi, 2 map panels," in stdout
    with Image.open(tmp_path / "ba2.png") as im:
        assert im.size == (400, 225)  # 16:9: the height asked for is kept


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "m.jpg"], "`--out` must be a file path ending in .png or .pdf"),
        (["--out", "m.png", "--before-after", "--before", "2030-01:2030-06", "--after", "2030-07:2030-12"],
         "`--before` (Jan 2030 – Jun 2030) and `--after` (Jul 2030 – Dec 2030) hold no month of the data"),
    ],
)
def test_errors(incidents_csv, tmp_path, args, message):
    args = [tmp_path / a if a.endswith((".png", ".jpg")) else a for a in args]
    code, _, stderr = run_cli("map", incidents_csv, "--cell-size", "200", "--dpi", "30", *args)
    assert code == 2
    assert message in stderr.splitlines()[-1]
    assert "Traceback" not in stderr


@pytest.fixture()
def no_loading(monkeypatch):
    refuse_loading(monkeypatch)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dpi", "10"], "`--dpi` must be a number from 20 to 1,200 (e.g. 300); got 10.0."),
        (["--width", "100"], "`--width/--height` must be a number from 3 to 60; got 100.0."),
        (["--height", "tall"], "`--height` must be a number; got 'tall'."),
        (["--width", "60", "--height", "60", "--dpi", "1200"],
         "would have over 200 million pixels; lower `--dpi` or `--width/--height`."),
        (["--before", "2022-01:2022-12", "--after", "2022-06:2023-12"], "overlap"),
        (["--basemap", "ftp://x/{z}/{x}/{y}"], "`--basemap` 'ftp://x/{z}/{x}/{y}' is not known"),
        (["--layer", "scheme"], "`--layer scheme` needs `--referrals FILE`"),
        (["--no-change"], "`--no-change` leaves out the change panel of `--before-after`; add `--before-after`"),
        (["--crs", "nonsense"], "`--crs` 'nonsense' is not a coordinate reference system"),
        (["--layer", "clusters", "--cluster-method", "none"], "`--layer clusters` draws the point clusters, which "
         "`--cluster-method none` leaves out"),
        (["--before-after", "--same-months", "--before", "2022-01:2022-06", "--after", "2022-07:2022-12"],
         "`--same-months` compares the calendar months both periods hold, and these share none"),
        (["--before-after", "--no-change", "--same-months", "--before", "2022-01:2022-06", "--after", "2022-07:2022-12"],
         "`--same-months` compares the calendar months both periods hold, and these share none"),
    ],
)
def test_every_argument_is_checked_before_loading(incidents_csv, tmp_path, no_loading, args, message):
    code, stdout, stderr = run_cli("map", incidents_csv, "--out", tmp_path / "m.png", *args)
    assert code == 2
    assert stderr.startswith("hotspots map: error: ") and stderr.count("\n") == 1 and message in stderr, stderr
    assert "`size_in`" not in stderr and "`out_path`" not in stderr and "`dpi`" not in stderr
    assert not (tmp_path / "m.png").exists() and stdout == ""


def test_out_in_a_missing_folder_creates_nothing(incidents_csv, tmp_path, no_loading):
    out = tmp_path / "nonexistent" / "dir" / "m.png"
    code, _, stderr = run_cli("map", incidents_csv, "--out", out)
    assert code == 2
    assert stderr == (
        f"hotspots map: error: `--out` {str(out)!r} is in a folder that does not exist ({str(out.parent)!r}); "
        "create it first or choose another place.\n"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_out_must_not_be_a_folder(incidents_csv, tmp_path, no_loading):
    (tmp_path / "m.png").mkdir()
    code, _, stderr = run_cli("map", incidents_csv, "--out", tmp_path / "m.png")
    assert code == 2 and "is a folder; give a file path" in stderr


def test_the_layer_choices_are_the_briefings_layers():
    # the command line keeps its own tuple so that `--help` does not import matplotlib
    from hotspots.commands.map import LAYER_CHOICES
    from hotspots.export._layers import LAYERS

    assert LAYER_CHOICES == LAYERS and "emerging" in LAYERS


def test_emerging_layer_with_too_few_months_is_refused_before_the_analysis(incidents_csv, tmp_path, monkeypatch):
    # six months of data: refused in command-line words once the months are known, and the analysis never runs
    import hotspots.commands.map as map_command

    six = pd.read_csv(incidents_csv)
    six = six[six["month"].between("2022-01", "2022-06")]
    path = tmp_path / "six.csv"
    six.to_csv(path, index=False)

    def refuse(*args, **kwargs):
        raise AssertionError("the analysis ran before the months were checked")

    monkeypatch.setattr(map_command, "run_analysis", refuse)
    code, _, stderr = run_cli("map", path, "--out", tmp_path / "m.png", "--layer", "emerging", "--quiet")
    assert code == 2, stderr
    assert stderr.startswith("hotspots map: error: `--layer emerging` needs more months: the data hold 6 month(s) "
                             "(Jan 2022 – Jun 2022), and a trend needs at least 10 monthly steps")
    assert "another `--layer`" in stderr and "`layer=" not in stderr


@pytest.mark.parametrize("no_change", [[], ["--no-change"]])
def test_same_months_with_periods_from_the_data_is_refused_with_or_without_the_change_panel(
    incidents_csv, tmp_path, monkeypatch, no_change
):
    """`--before-after --no-change --same-months` drew Jan-Jun against Jul-Dec (no shared calendar month) while the
    change path refused the same request after the whole analysis: both refuse it, before the analysis."""
    import hotspots.commands.map as map_command

    one_year = pd.read_csv(incidents_csv)
    path = tmp_path / "one.csv"
    one_year[one_year["month"].between("2022-01", "2022-12")].to_csv(path, index=False)

    def refuse(*args, **kwargs):
        raise AssertionError("the analysis ran before the periods were checked")

    monkeypatch.setattr(map_command, "run_analysis", refuse)
    code, _, stderr = run_cli("map", path, "--out", tmp_path / "m.png", "--before-after", "--same-months", "--scheme-start",
                              "2022-07-01", "--quiet", *no_change)
    assert code == 2, stderr
    assert "`--same-months` compares the calendar months both periods hold, and these share none" in stderr
    assert "Jan 2022 – Jun 2022" in stderr and not (tmp_path / "m.png").exists()


def test_a_change_layer_without_change_gives_the_analysis_own_reason(incidents_csv, tmp_path):
    """`map --layer change --same-months` over one year said "give `--before`/`--after` periods that hold data"
    though both held data: the reason is the one `analyse` states (no shared calendar month)."""
    one_year = pd.read_csv(incidents_csv)
    path = tmp_path / "one.csv"
    one_year[one_year["month"].between("2022-01", "2022-12")].to_csv(path, index=False)
    code, _, stderr = run_cli("map", path, "--out", tmp_path / "x.png", "--layer", "change", "--same-months",
                              "--scheme-start", "2022-07-01", "--quiet")
    assert code == 2, stderr
    assert "`--layer change` needs before/after change, which was not computed: `--same-months` compares the calendar " \
           "months both periods hold, and these share none" in stderr
    assert "periods that hold data" not in stderr and not (tmp_path / "x.png").exists()
