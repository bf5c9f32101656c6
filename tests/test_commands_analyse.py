"""``hotspots analyse``: raw files to a results folder; demo data, real police.uk data, errors."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from helpers import refuse_loading, run_cli
from PIL import Image

from hotspots.cli import build_parser
from hotspots.commands.analyse import ProgressBar, count_text, load_inputs, scaled, settings_from_args, trend_word
from hotspots.gazetteer import towns
from hotspots.schema import ASB_CATEGORY, POLICE_UK_ATTRIBUTION


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HOTSPOTS_OFFLINE", "1")


@pytest.fixture(scope="module")
def demo_run(demo_files, tmp_path_factory):
    import os

    os.environ["HOTSPOTS_OFFLINE"] = "1"
    out = tmp_path_factory.mktemp("results")
    code, stdout, stderr = run_cli(
        "analyse",
        demo_files["incidents"],
        "--referrals",
        demo_files["referrals"],
        "--tasks",
        demo_files["tasks"],
        "--out",
        out,
        "--dpi",
        "50",
        "--no-timestamp",
    )
    return code, stdout, stderr, out


@pytest.fixture()
def small_csv(tmp_path):
    """A few hundred incidents in London (outside the Derbyshire outline), two categories."""
    rng = np.random.default_rng(3)
    n_hot, n_bg = 400, 400
    x = np.r_[rng.normal(530000, 150, n_hot), rng.uniform(525000, 535000, n_bg)]
    y = np.r_[rng.normal(180000, 150, n_hot), rng.uniform(175000, 185000, n_bg)]
    months = pd.period_range("2022-01", "2023-12", freq="M").astype(str)
    df = pd.DataFrame(
        {
            "incident_id": [f"i{k}" for k in range(len(x))],
            "month": rng.choice(months, len(x)),
            "category": np.where(rng.random(len(x)) < 0.8, ASB_CATEGORY, "Burglary"),
            "easting": np.round(x),
            "northing": np.round(y),
        }
    )
    path = tmp_path / "london.csv"
    df.to_csv(path, index=False)
    return path, df


def analyse_without_images(inputs, out, *args: object) -> tuple[int, str, str]:
    """``hotspots analyse INPUTS --out OUT --no-images ARGS...``: (exit status, stdout, stderr)."""
    return run_cli("analyse", *inputs, "--out", out, "--no-images", *args)


# ----------------------------------------------------------------------------- demo files
def test_demo_run_writes_every_output(demo_run):
    code, stdout, _, out = demo_run
    assert code == 0, stdout
    assert (out / "hotspots.gpkg").is_file() and (out / "parameters.json").is_file()
    layers = {name for name, geom in pyogrio.list_layers(out / "hotspots.gpkg") if geom is not None}
    assert {"cells", "hotspot_areas", "referral_origins", "task_sites", "change_cells"} <= layers
    assert {p.stem for p in (out / "geojson").glob("*.geojson")} == layers
    assert {"kpis", "hotspot_areas", "change_areas"} <= {p.stem for p in (out / "csv").glob("*.csv")}
    for stem in ("briefing_density", "briefing_gistar", "briefing_scheme", "briefing_before_after"):
        with Image.open(out / "maps" / f"{stem}.png") as im:
            assert im.size[1] == int(7.5 * 50)
            assert np.asarray(im.convert("L")).std() > 10
    side = json.loads((out / "parameters.json").read_text())
    listed = {v["path"] for v in side["outputs"].values()}
    assert "hotspots.gpkg" in listed and "csv/kpis.csv" in listed


def test_demo_run_prints_load_reports_and_a_summary_that_matches_the_files(demo_run, demo_files):
    code, stdout, stderr, out = demo_run
    n_inc = len(pd.read_csv(demo_files["incidents"]))
    n_ref = len(pd.read_csv(demo_files["referrals"]))
    assert f"incidents.csv: read {n_inc:,}, kept {n_inc:,}, dropped 0" in stdout
    # the referral file's counts are people: printed once, in the summary, as parameters.json publishes them
    assert "referrals.csv: loaded; rows read, kept and dropped are in the summary" in stdout
    published = json.loads((out / "parameters.json").read_text())["inputs"]["referrals"]["report"]
    assert f"referral file: referrals.csv: read {published['rows_read']:,}, kept {published['rows_kept']:,}" in stdout
    assert published["rows_kept"] == n_ref
    areas = pd.read_csv(out / "csv" / "hotspot_areas.csv")
    assert f"hotspot areas: {len(areas)} " in stdout and len(areas) > 0
    # The top-5 table in the summary is the CSV's first five rows.
    block = stdout.split("top 5 hotspot areas:")[1].splitlines()[2:7]
    rows = [re.match(r"^\s+(\d+)\s+(.+?)\s+([\d,]+)\s{2,}", line).groups() for line in block]
    assert [(int(a), int(n.replace(",", ""))) for a, _, n in rows] == list(
        zip(areas["area_id"].head(5), areas["incidents"].head(5))
    )
    kp = pd.read_csv(out / "csv" / "kpis.csv", dtype=str)
    completed = f"completed (of concluded referrals) {kp['completed_pct'].iloc[-1]}%"
    assert f"referrals {int(kp['referrals'].iloc[-1]):,}; {completed}" in stdout
    # the 48-hour contact rate always, as in kpis.csv; contacted and booked next to it
    assert f"contacted within 48 h {kp['contacted_48h_pct'].iloc[-1]}%; contacted and booked within 48 h" in stdout
    # Progress bar on stderr, ending at 100 %.
    assert "Getis-Ord Gi*" in stderr and "100%" in stderr.splitlines()[-1]
    assert "Traceback" not in stderr


def test_demo_run_writes_and_prints_the_pooled_change(demo_run):
    code, stdout, _, out = demo_run
    assert code == 0
    cols = ["scope", "rate_ratio", "ci_low", "ci_high", "p_value", "verdict", "n_before", "n_after", "mde_fall"]
    summ = pd.read_csv(out / "csv" / "change_summary.csv")
    assert list(summ.columns) == cols
    assert list(summ["scope"]) == ["all hotspot areas", "elsewhere", "hotspots vs elsewhere"]
    assert set(summ["verdict"]) <= {"significant fall", "significant rise", "no significant change"}
    assert ((summ["ci_low"] < summ["rate_ratio"]) & (summ["rate_ratio"] < summ["ci_high"])).all()
    table = pyogrio.read_dataframe(out / "hotspots.gpkg", layer="change_summary", read_geometry=False)
    assert list(table.columns) == cols and list(table["scope"]) == list(summ["scope"])
    np.testing.assert_allclose(table["rate_ratio"], summ["rate_ratio"], rtol=1e-12)
    # One line per scope, in the order of the table, with the CSV's figures.
    block = stdout.split("pooled change ")[1].splitlines()[1:4]
    for line, r in zip(block, summ.itertuples()):
        p = "p < 0.001" if r.p_value < 0.0005 else f"p = {r.p_value:.3f}"
        assert line.strip() == (
            f"{r.scope}: rate ratio {r.rate_ratio:.2f} (95 % CI {r.ci_low:.2f}–{r.ci_high:.2f}), {p}, {r.verdict}"
        )
    assert "tables change_summary, displacement" in stdout
    # then what "all hotspot areas" pools beside the areas' incidents together (a reader dividing the
    # counts finds that ratio, said as such), and the smallest falls the rows without a change could detect
    pooled = stdout.split("pooled change ")[1].splitlines()
    hb, ha = (int(summ[c].iloc[0]) for c in ("n_before", "n_after"))
    assert pooled[4].strip().startswith("all hotspot areas pools each area's change") and f"{hb:,} -> {ha:,}" in pooled[4]
    quiet = summ[summ["verdict"] == "no significant change"]
    k = 5
    if len(quiet):
        assert pooled[5].strip() == "smallest falls these data could detect (80% power): " + ", ".join(
            f"{r.scope} {r.mde_fall:.0%}" for r in quiet.itertuples())
        k = 6
    # then the dispersion estimates and how they were obtained, one line, also as numbers in parameters.json
    disp = pooled[k].strip()
    fields = json.loads((out / "parameters.json").read_text(encoding="utf-8"))["results"]["change_summary"]["dispersion"]
    assert disp.startswith("dispersion (variation beyond Poisson") and f"cells kappa {fields['cells_kappa']:.3g}" in disp
    assert isinstance(fields["cells_tau2"], float) and fields["cells_tau2_from"] in ("placebo", "comparison", "given", "none")
    # then what qualifies those verdicts: the summary's notes, one line each
    after = stdout.split("pooled change ")[1].splitlines()[4:]
    notes = [line.strip()[2:] for line in after if line.startswith("    - ")]
    assert notes and any("hotspots were chosen from" in n for n in notes)


def test_demo_run_change_line_counts_every_hotspot_area(demo_run):
    """The change line names every class that occurs, so that its counts add up to the areas
    (it once left out the areas with too few incidents to test)."""
    code, stdout, _, out = demo_run
    ca = pd.read_csv(out / "csv" / "change_areas.csv")
    line = next(x for x in stdout.splitlines() if x.startswith("  change ") and " hotspot areas: " in x)
    assert f": {len(ca)} hotspot areas: " in line
    classes = "significant fall|no significant change|significant rise|too few incidents"
    found = [(k, int(n.replace(",", ""))) for k, n in re.findall(rf"({classes}) (\d+(?:,\d{{3}})*)", line.split(": ")[-1])]
    assert sum(n for _, n in found) == len(ca)
    assert {k: n for k, n in found if n} == ca["change_class"].value_counts().to_dict()


def test_demo_run_finds_the_planted_treated_hotspot(demo_run, demo_files):
    _, _, _, out = demo_run
    truth = json.loads(Path(demo_files["ground_truth"]).read_text())
    derby = next(h for h in truth["hotspots"] if h["id"] == "derby-centre")
    assert derby["treated"]
    areas = gpd.read_file(out / "hotspots.gpkg", layer="hotspot_areas")
    hit = areas[areas.contains(shapely.Point(derby["easting"], derby["northing"]))]
    assert len(hit) == 1
    assert hit["change_class"].iloc[0] == "significant fall"


def test_sidecar_command_reproduces_the_settings(demo_run, demo_files):
    _, _, _, out = demo_run
    side = json.loads((out / "parameters.json").read_text())
    # One shell line: the words as they were typed (full paths, --out), shell-quoted; it held only
    # the files' base names and no --out, so pasting it could not rerun the analysis.
    cmd = shlex.split(side["command"])
    assert cmd[:3] == ["hotspots", "analyse", str(demo_files["incidents"])]
    assert cmd[cmd.index("--out") + 1] == str(out) and cmd[cmd.index("--referrals") + 1] == str(demo_files["referrals"])
    assert side["working_directory"] == str(Path.cwd())
    args = build_parser().parse_args(cmd[1:])
    # The sidecar holds the settings used: those given, with the default periods chosen from the
    # data (hotspots.pipeline.prepare_inputs), which the same command on the same files chooses again.
    used = load_inputs(args, lambda s: None).settings
    assert json.loads(json.dumps(used.to_dict())) == side["settings"]
    assert settings_from_args(args).before is None and used.before == ("2022-07", "2023-06")


# ----------------------------------------------------------------------------- small data
def test_a_library_warning_kept_as_a_note_is_printed_once(small_csv, tmp_path):
    """A given bandwidth under the cell size: the library warns and keeps the same text as a note;
    the summary printed both ("warning: the bandwidth ..." and "the bandwidth ...")."""
    path, _ = small_csv
    periods = ("--before", "2022-01:2022-12", "--after", "2023-01:2023-12")
    code, stdout, _ = analyse_without_images(
        [path], tmp_path / "r", "--formats", "gpkg", *periods, "--cell-size", "250", "--bandwidth", "100"
    )
    assert code == 0, stdout
    assert stdout.count("the bandwidth (100 m) is smaller than the cell size (250 m)") == 1


def test_defaults_announced_for_data_outside_derbyshire(small_csv, tmp_path):
    path, df = small_csv
    periods = ("--before", "2022-01:2022-12", "--after", "2023-01:2023-12")
    code, stdout, _ = analyse_without_images([path], tmp_path / "r", "--formats", "gpkg", *periods, "--cell-size", "250")
    assert code == 0, stdout
    n_asb = int((df["category"] == ASB_CATEGORY).sum())
    assert f"kept the {n_asb:,} '{ASB_CATEGORY}' incidents of {len(df):,} loaded" in stdout
    # No boundary and far from Derbyshire: the footprint of the incidents (issue 13).
    assert "study area: the footprint of the incidents" in stdout
    side = json.loads((tmp_path / "r" / "parameters.json").read_text())
    assert side["inputs"]["study_area"]["source"].startswith("footprint of the incidents")
    assert side["used"]["incidents"] == n_asb
    assert side["settings"]["cell_size"] == 250
    # The automatic bandwidth came out under the 250 m cells: raised to one cell, said so, no warning.
    assert "bandwidth raised to the cell size (250 m)" in stdout and "warning: the bandwidth" not in stdout
    cells = gpd.read_file(tmp_path / "r" / "hotspots.gpkg", layer="cells")
    assert cells["count"].sum() == n_asb
    # The planted cluster at (530000, 180000) is a hotspot area.
    areas = gpd.read_file(tmp_path / "r" / "hotspots.gpkg", layer="hotspot_areas")
    assert areas.contains(shapely.Point(530000, 180000)).any()


def test_all_categories_and_quiet(small_csv, tmp_path):
    path, df = small_csv
    args = ("--formats", "csv", "--category", "all", "--quiet", "--cluster-method", "none")
    code, stdout, stderr = analyse_without_images([path], tmp_path / "r", *args)
    assert code == 0
    assert stdout.strip().startswith("hotspots analyse: wrote") and stdout.count("\n") == 1
    assert stderr == ""
    side = json.loads((tmp_path / "r" / "parameters.json").read_text())
    assert side["used"]["incidents"] == len(df)
    assert side["results"]["clusters"] is None


def test_a_single_month_says_once_why_there_is_no_change(small_csv, tmp_path):
    path, df = small_csv
    one = tmp_path / "one_month.csv"
    df.assign(month="2023-05").to_csv(one, index=False)
    code, stdout, _ = analyse_without_images([one], tmp_path / "r", "--formats", "csv", "--cluster-method", "none")
    assert code == 0
    notes = [line.strip()[2:] for line in stdout.splitlines() if line.startswith("    - ")]
    told = [n for n in notes if n.startswith("before/after periods: not chosen from the data")]
    assert len(told) == 1 and "single month" in told[0]
    assert len(notes) == len(set(notes))
    # the change line says why, not "give periods within the data's months" (there are none to give)
    change = [line for line in stdout.splitlines() if line.startswith("  change:")]
    assert change == ["  change: not computed; " + told[0]]


def test_given_periods_without_data_are_an_argument_error(small_csv, tmp_path):
    """Data of 2022-2023 asked for a before period in 2020: exit 2 before any analysis, naming the
    flag, the months the data hold and the fix (the run once went on and printed two notes that
    contradicted each other)."""
    path, _ = small_csv
    periods = ("--before", "2020-01:2020-06", "--after", "2023-01:2023-06")
    code, stdout, stderr = analyse_without_images([path], tmp_path / "r", *periods)
    assert code == 2 and "Summary" not in stdout
    assert stderr == (
        "hotspots analyse: error: `--before` (Jan 2020 – Jun 2020) holds no month of the data, which hold Jan 2022 – Dec 2023; "
        "give `--before` and `--after` within the data's months, or load the monthly files of Jan 2020 – Jun 2020.\n"
    )
    assert not (tmp_path / "r" / "parameters.json").exists()


def test_a_change_not_computed_is_told_with_its_own_reason(small_csv, tmp_path):
    # no burglary in the before period although the data (their ASB) hold it: the summary line gives
    # the change's own reason, not "the periods hold no data"
    path, df = small_csv
    months = pd.to_datetime(df["month"])
    no_early_burglary = tmp_path / "no_early_burglary.csv"
    df[~((df["category"] == "Burglary") & (months < "2022-07-01"))].to_csv(no_early_burglary, index=False)
    args = ("--formats", "csv", "--cluster-method", "none", "--category", "Burglary")
    code, stdout, _ = analyse_without_images(
        [no_early_burglary], tmp_path / "r", *args, "--before", "2022-01:2022-06", "--after", "2023-01:2023-06"
    )
    assert code == 0, stdout
    change = [line for line in stdout.splitlines() if line.startswith("  change")]
    assert change == [
        "  change: not computed: no incidents fall in the before period (before: Jan 2022 – Jun 2022); check the dates and "
        "the data's coverage."
    ]


def test_the_change_line_names_the_months_left_out_and_why(small_csv, tmp_path):
    # about 33 incidents a month; September 2023's file missing
    path, df = small_csv
    gap = tmp_path / "gap.csv"
    df[df["month"] != "2023-09"].to_csv(gap, index=False)
    args = ("--formats", "csv", "--cluster-method", "none", "--before", "2023-01:2023-06", "--after", "2023-07:2023-12")
    code, stdout, _ = analyse_without_images([gap], tmp_path / "r", *args)
    assert code == 0, stdout
    (line,) = [x for x in stdout.splitlines() if x.startswith("  change ")]
    assert line.startswith("  change Jan 2023 – Jun 2023 -> Jul 2023 – Dec 2023 (5 of 6 months counted; left out: Sep 2023, "
                           "no data): ")


def test_no_hotspot_areas_says_why_there_is_no_pooled_change(small_csv, tmp_path):
    # only the uniform background of the small file: no hotspot exists, none is found, and the
    # summary says what became of the change rather than leaving it out
    path, df = small_csv
    flat = tmp_path / "flat.csv"
    df.iloc[400:].to_csv(flat, index=False)
    code, stdout, _ = analyse_without_images([flat], tmp_path / "r", "--formats", "csv", "--cluster-method", "none")
    assert code == 0, stdout
    assert "  hotspot areas: 0 " in stdout
    change = [line for line in stdout.splitlines() if line.startswith("  change ")]
    assert len(change) == 1 and "no hotspot areas at these settings, so no change per area, pooled change" in change[0]
    assert not [line for line in stdout.splitlines() if line.startswith(("  pooled change", "  displacement"))]
    assert (tmp_path / "r" / "csv" / "change_cells.csv").exists()


def test_no_hotspot_areas_for_want_of_permutations_says_so_beside_the_count(small_csv, tmp_path):
    """A planted hotspot and 19 permutations: the smallest p (0.1) reaches no class, so "hotspot areas: 0"
    would read as "none exist" (Gwent's 2025 ASB with 999 permutations: 0 areas, the exact test 6, no
    word beside it). The library's note, naming the fix, is said once, under the count."""
    path, _ = small_csv
    code, stdout, _ = analyse_without_images([path], tmp_path / "r", "--formats", "csv", "--cluster-method", "none",
                                             "--permutations", "19")
    assert code == 0, stdout
    lines = stdout.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("  hotspot areas: 0 "))
    assert lines[k + 1].startswith("    none can be found at 95% confidence: with 19 permutations")
    assert "cannot be reached" in lines[k + 1] and "`--permutations 0`" in lines[k + 1]
    assert sum("cannot be reached" in line for line in lines) == 1
    notes = json.loads((tmp_path / "r" / "parameters.json").read_text())
    assert "cannot be reached" in json.dumps(notes)  # and in the parameters the run leaves


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "at least one INPUT"),
        (["--before", "2022-01:2022-12"], "both `--before` and `--after`"),
        (["--formats", "shp"], "`--formats`"),
        (["--alpha", "2"], "`--alpha`"),
        (["--study-area", "/nonexistent/area.geojson"], "area.geojson"),
    ],
)
def test_errors_are_one_line(small_csv, tmp_path, args, message):
    path, _ = small_csv
    inputs = [] if args == [] else [path]
    code, stdout, stderr = analyse_without_images(inputs, tmp_path / "r", *args)
    assert code == 2
    assert message in stderr and stderr.count("\n") == 1
    assert "Traceback" not in stderr


def test_out_must_be_a_folder_and_demo_excludes_inputs(small_csv, tmp_path):
    path, _ = small_csv
    f = tmp_path / "file"
    f.write_text("x")
    code, _, stderr = run_cli("analyse", path, "--out", f)
    assert code == 2 and "not a folder" in stderr
    code, _, stderr = run_cli("analyse", path, "--demo", "--out", tmp_path / "r")
    assert code == 2 and "not both" in stderr


def test_bad_period_is_a_one_line_error(small_csv, tmp_path):
    path, _ = small_csv
    code, _, stderr = run_cli("analyse", path, "--out", tmp_path / "r", "--period", "2022")
    assert code == 2
    assert stderr == (
        "hotspots analyse: error: `--period` must be two months FIRST:LAST written YYYY-MM:YYYY-MM "
        "(e.g. 2022-07:2023-06); got '2022'.\n"
    )


def test_a_period_without_incidents_is_named_by_its_flag_once(small_csv, tmp_path):
    path, _ = small_csv
    code, _, stderr = analyse_without_images([path], tmp_path / "r", "--period", "2026-01:2026-06", "--quiet")
    assert code == 2
    assert stderr == (
        "hotspots analyse: error: no incidents fall in the analysis period: Jan 2026 – Jun 2026; "
        "the data hold Jan 2022 – Dec 2023; widen `--period`.\n"
    )


def test_a_misspelt_category_lists_the_names_plainly_and_suggests_the_closest(small_csv, tmp_path):
    path, _ = small_csv
    code, _, stderr = analyse_without_images([path], tmp_path / "r", "--category", "Burglry", "--quiet")
    assert code == 2
    assert stderr == (
        "hotspots analyse: error: no incidents have the category 'Burglry' (`--category`); the data hold "
        "Anti-social behaviour, Burglary. Did you mean 'Burglary'?\n"
    )


@pytest.fixture()
def no_loading(monkeypatch):
    refuse_loading(monkeypatch)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--scheme-start", "2023-13-01"],
            "`--scheme-start` must be a date written YYYY-MM-DD (e.g. 2023-07-01); got '2023-13-01'.",
        ),
        (["--scheme-start", "July 2023"], "`--scheme-start` must be a date written YYYY-MM-DD"),
        (["--as-of", "31/12/2025"], "`--as-of` must be a date written YYYY-MM-DD"),
        (["--period", "2022-07:2023-13"], "`--period` must be two months FIRST:LAST"),
        (["--period", "2022-07-15:2023-06"], "`--period` must be two months FIRST:LAST"),
        (["--before", "2023-06:2022-07", "--after", "2023-07:2024-06"], "`--before` starts after it ends (2023-06 > 2022-07)"),
        (["--before", "2022-07:2023-06", "--after", "2023-01:2023-12"], "overlap"),
        (["--before", "2023-07:2024-06", "--after", "2022-07:2023-06"], "swap them: `--before` 2022-07:2023-06 and `--after`"),
        (["--after", "2023-07:2024-06"], "give both `--before` and `--after`"),
        (["--alpha", "2"], "`--alpha` must be a number above 0 and at most 0.2 (e.g. 0.05); got 2.0."),
        (["--alpha", "1"], "`--alpha` must be a number above 0 and at most 0.2 (e.g. 0.05); got 1.0."),  # one rule, real range
        (["--alpha", "abc"], "`--alpha` must be a number; got 'abc'."),
        (["--alpha", "0"], "`--alpha` must be a number above 0 and at most 0.2 (e.g. 0.05); got 0.0."),
        # 'significant at alpha 0.999 (0% confidence)' was accepted
        (["--alpha", "0.999"], "`--alpha` must be a number above 0 and at most 0.2 (e.g. 0.05); got 0.999. A larger level"),
        (["--crs", "EPSG:0"], "`--crs` 'EPSG:0' is not a coordinate reference system"),
        (["--cell-size", "-250"], "`--cell-size` must be a number of metres greater than 0; got -250.0."),
        (["--bandwidth", "nan"], "`--bandwidth` must be a finite number of metres at least 1 (e.g. 500); got nan."),
        # 1e-9 m wrote an all-zero density.tif
        (["--bandwidth", "1e-9"], "`--bandwidth` must be a number of metres at least 1 (e.g. 500); got 1e-09. A bandwidth under"),
        (["--permutations", "-1"], "`--permutations` must be a whole number from 0 to 99,999"),
        # loaded the data, then failed at Gi* asking for 27.6 GiB
        (["--permutations", "100000000"], "`--permutations` must be a whole number from 0 to 99,999 (e.g. 999, or 0 for"),
        (["--cell-size", "inf"], "`--cell-size` must be a finite number of metres greater than 0; got inf."),
        (["--seed", "nan"], "`--seed` must be a finite whole number; got 'nan'."),
        (["--permutations", "9.5"], "`--permutations` must be a whole number; got '9.5'."),
        (["--seed", "-3"], "`--seed` must be a whole number >= 0"),
        (["--min-confidence", "0.8"], "`--min-confidence` must be one of 0.9, 0.95, 0.99; got 0.8."),
        (["--min-samples", "0"], "`--min-samples` must be a whole number >= 1"),
        (["--ring", "-500"], "`--ring` must be a number of metres at least 0 (e.g. 500); got -500.0."),
        (["--threshold", "0"], "`--threshold` must be a whole number >= 1"),
        (["--dpi", "0"], "`--dpi` must be a number from 20 to 1,200 (e.g. 300); got 0.0."),
        (["--dpi", "many"], "`--dpi` must be a number; got 'many'."),
        # refused only on a later run with images
        (["--dpi", "5", "--no-images"], "`--dpi` must be a number from 20 to 1,200 (e.g. 300); got 5.0."),
        # reported after ~53 s of analysis, though the arguments alone show it
        (["--same-months", "--before", "2025-01:2025-03", "--after", "2025-10:2025-12"],
         "`--same-months` compares the calendar months both periods hold, and these share none"),
        (["--snap", "10"], "`--snap` must be a number of metres at least 50 (e.g. 250); got 10.0."),
        (["--basemap", "google"], "`--basemap` 'google' is not known"),
        (
            ["--referrals", "/nonexistent/referrals.csv"],
            "`--referrals` '/nonexistent/referrals.csv' does not exist; check the path.",
        ),
        (["--study-area", "/nonexistent/area.geojson"], "`--study-area` '/nonexistent/area.geojson' does not exist"),
        (["--kernel", "triangle"], "argument --kernel: invalid choice: 'triangle'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_every_argument_is_checked_before_loading(small_csv, tmp_path, no_loading, args, message):
    path, _ = small_csv
    code, stdout, stderr = run_cli("analyse", path, "--out", tmp_path / "r", *args)
    assert code == 2, stderr
    assert stderr.startswith("hotspots analyse: error: ") and stderr.count("\n") == 1, stderr
    assert message in stderr
    assert "usage:" not in stderr and "Traceback" not in stderr and stdout == ""
    # Flags, never the library's argument names.
    for name in ("first", "last", "date", "start", "end", "out_dir", "out_path", "size_in", "cell_size", "scheme_start"):
        assert f"`{name}`" not in stderr
    assert not (tmp_path / "r").exists()


def test_a_reversed_before_range_is_said_as_such_not_as_a_missing_flag(small_csv, tmp_path, no_loading):
    path, _ = small_csv
    args = ["--before", "2025-06:2025-01", "--after", "2025-07:2025-12"]
    code, _, stderr = run_cli("analyse", path, "--out", tmp_path / "r", *args)
    assert code == 2
    assert "`--before` starts after it ends (2025-06 > 2025-01)" in stderr
    assert "give both" not in stderr and "2 problems" not in stderr


def test_demo_run_prints_displacement_and_each_areas_ring(demo_run):
    code, stdout, _, out = demo_run
    assert code == 0
    # the areas' table has a ring column beside the change, as in csv/hotspot_areas.csv
    head = next(line for line in stdout.splitlines() if line.strip().startswith("#  place"))
    assert head.split()[:5] == ["#", "place", "incidents", "change", "ring"]
    areas = pd.read_csv(out / "csv" / "hotspot_areas.csv")
    assert {"ring_change_pct", "ring_change_class"} <= set(areas.columns)
    # then the displacement reading and its two rows, as csv/displacement.csv holds them
    rows = pd.read_csv(out / "csv" / "displacement.csv")
    assert list(rows["scope"]) == ["rings around hotspot areas", "rings vs beyond"]
    block = stdout.split("  displacement ")[1].splitlines()
    # the demo's 500 m cells: a 500 m ring is the band of touching cells, 500 m wide, and keeps its name
    assert "the 500 m rings around the hotspot areas" in block[0] and "wider than" not in block[0]
    # beside the rings' estimate, their incidents before and after: the counts csv/displacement.csv gives their row
    ring = rows.iloc[0]
    assert f"; incidents {int(ring['n_before']):,} -> {int(ring['n_after']):,})" in block[0]
    moved = json.loads((out / "parameters.json").read_text())["results"]["displacement"]
    assert moved["ring_m"] == 500 and moved["ring_reach_m"] == 707.1
    assert [line.strip().split(":")[0] for line in block[1:3]] == list(rows["scope"])


def test_demo_run_prints_the_emerging_hot_spots_and_each_areas_pattern(demo_run):
    code, stdout, _, out = demo_run
    assert code == 0
    # the reading's categories are those of csv/emerging.csv (39 months of demo data)
    rows = pd.read_csv(out / "csv" / "emerging.csv")
    line = next(x for x in stdout.splitlines() if x.startswith("  emerging hot spots, "))
    assert line.startswith("  emerging hot spots, 39 monthly steps (Jan 2022 – Mar 2025): ")
    # their own test, said plainly: "83 persistent hot spot cells" beside "hotspot areas: 0" is no contradiction
    assert line.endswith("emerging hot spots are a test of their own (each cell's months, judged by the exact count "
                         "test, false discovery rate over the whole cube), not the hotspot areas' Gi* over the whole "
                         "period: a cell can be a persistent hot spot where the map has no hotspot area, or the reverse")
    for cat, n in zip(rows["category"], rows["cells"]):
        if cat.endswith("hot spot"):
            assert f"{n:,} {cat.removesuffix(' hot spot')}" in line
    # each listed area's pattern is csv/hotspot_areas.csv's
    areas = pd.read_csv(out / "csv" / "hotspot_areas.csv").set_index("area_id")
    head = next(x for x in stdout.splitlines() if x.strip().startswith("#  place"))
    at = head.index("over the months")
    listed = stdout.split(head + "\n")[1].splitlines()[:5]
    for row in listed:
        pattern = areas.loc[int(row.split()[0]), "emerging"]
        want = "no pattern" if pattern == "no pattern detected" else pattern.removesuffix(" hot spot")
        assert row[at:].startswith(want + " ")  # the csv's words (shorter), never a bare "–"
    # the demo's planted falls read as diminishing hot spots in the areas that fell most
    assert areas.loc[1, "emerging"] == "diminishing hot spot"


def test_the_extract_date_reaches_the_settings_for_analyse_and_map():
    """The 6-month re-offending window was judged against the latest referral's time: `--as-of` gives the extract date."""
    for cmd in ("analyse", "map"):
        args = build_parser().parse_args([cmd, "x.csv", "--out", "o", "--as-of", "2025-12-31"])
        assert settings_from_args(args).as_of == "2025-12-31"
    assert settings_from_args(build_parser().parse_args(["analyse", "x.csv", "--out", "o"])).as_of is None


def test_ring_width_reaches_the_settings():
    args = build_parser().parse_args(["analyse", "x.csv", "--out", "o", "--ring", "300"])
    assert settings_from_args(args).ring_m == 300.0
    off = build_parser().parse_args(["analyse", "x.csv", "--out", "o", "--ring", "0"])
    assert settings_from_args(off).ring_m == 0.0
    assert settings_from_args(build_parser().parse_args(["analyse", "x.csv", "--out", "o"])).ring_m == 500.0


def test_missing_input_is_named_before_anything_runs(tmp_path, no_loading):
    code, _, stderr = run_cli("analyse", tmp_path / "nope.csv", "--out", tmp_path / "r")
    assert code == 2
    assert stderr == f"hotspots analyse: error: `INPUT` {str(tmp_path / 'nope.csv')!r} does not exist; check the path.\n"


def test_several_problems_are_reported_together_on_one_line(small_csv, tmp_path, no_loading):
    path, _ = small_csv
    code, _, stderr = run_cli("analyse", path, "--out", tmp_path / "r", "--alpha", "2", "--dpi", "0", "--period", "x")
    assert code == 2 and stderr.count("\n") == 1
    assert "3 problems: (1) `--alpha`" in stderr and "(2) `--period`" in stderr and "(3) `--dpi`" in stderr
    code, _, stderr = run_cli("analyse", path, "--out", tmp_path / "r", "--alpha", "0.5", "--cell-size", "-3", "--dpi", "5",
                              "--no-images")
    assert code == 2 and "3 problems:" in stderr and "(3) `--dpi` must be a number from 20 to 1,200" in stderr


def test_out_folder_is_created_only_inside_an_existing_folder(small_csv, tmp_path, no_loading):
    path, _ = small_csv
    code, _, stderr = run_cli("analyse", path, "--out", tmp_path / "a" / "b" / "results")
    assert code == 2 and "`--out`" in stderr and "does not exist" in stderr
    assert not (tmp_path / "a").exists()


# ----------------------------------------------------------------------------- progress bar
def test_progress_bar_lines_when_not_a_terminal():
    s = io.StringIO()
    bar = ProgressBar(s)
    inner = scaled(bar, 0.5, 1.0)
    inner("first", 0.0)
    inner("second", 0.5)
    inner("done", 1.0)
    lines = s.getvalue().splitlines()
    assert [re.search(r"(\d+)%", ln).group(1) for ln in lines] == ["50", "75", "100"]
    assert lines[0].startswith("[" + "#" * 14 + "." * 14 + "]")
    assert "second" in lines[1] and "done" in lines[2]


def test_progress_bar_redraws_one_line_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    s = Tty()
    bar = ProgressBar(s)
    bar("a long step name", 0.2)
    bar("b", 1.0)
    text = s.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    quiet = io.StringIO()
    ProgressBar(quiet, enabled=False)("x", 0.5)
    assert quiet.getvalue() == ""


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_derbyshire_police_uk_files_end_to_end(derbyshire_dir, tmp_path):
    out = tmp_path / "derbyshire"
    code, stdout, stderr = run_cli("analyse", derbyshire_dir, "--out", out, "--dpi", "40")
    assert code == 0, stderr
    files = sorted(derbyshire_dir.glob("*.csv"))
    raw = pd.concat([pd.read_csv(f) for f in files])
    n_asb = int(((raw["Crime type"] == ASB_CATEGORY) & raw["Longitude"].notna()).sum())
    side = json.loads((out / "parameters.json").read_text())
    assert side["data_source"]["kind"] == "police.uk"
    assert (
        side["data_source"]["attribution"].startswith(POLICE_UK_ATTRIBUTION) and "GeoNames" in side["data_source"]["attribution"]
    )
    assert sorted(side["inputs"]["incidents"]["files"]) == [f.name for f in files]
    assert side["inputs"]["incidents"]["report"]["rows_read"] == len(raw)
    # the incidents analysed are those in the study area's cells; the others are counted beside them
    assert side["used"]["incidents"] + side["results"]["incidents_outside_study_area"] == n_asb > 1000
    assert side["results"]["incidents_analysed"] == side["used"]["incidents"] > 0.95 * n_asb
    assert side["results"]["hotspot_areas"] > 0
    areas = gpd.read_file(out / "hotspots.gpkg", layer="hotspot_areas")
    assert len(areas) == side["results"]["hotspot_areas"]
    # Derby, the largest town, lies in a hotspot area of ASB.
    t = towns()
    derby = t.loc[t["name"] == "Derby", "geometry"].iloc[0]
    assert areas.contains(derby).any()
    cells = gpd.read_file(out / "hotspots.gpkg", layer="cells")
    assert 0.95 * n_asb <= cells["count"].sum() <= n_asb  # a few fall outside the built-in outline
    assert (out / "maps" / "briefing_gistar.png").stat().st_size > 10_000
    # No scheme start given (none is assumed for real data): the default periods are the data's two
    # halves (issue 13 item 5), announced, and the change is computed and drawn.
    assert "first and second halves of the data are compared, Jan 2025 – Jun 2025 and Jul 2025 – Dec 2025" in stdout
    assert side["settings"]["before"] == ["2025-01", "2025-06"] and side["settings"]["after"] == ["2025-07", "2025-12"]
    assert "change: not computed" not in stdout
    assert (out / "maps" / "briefing_before_after.png").exists()


def test_identifying_referral_columns_refused_unless_dropped(demo_files, tmp_path):
    ref = pd.read_csv(demo_files["referrals"])
    ref["Surname"] = "Zebedee-Quux"
    bad = tmp_path / "referrals.csv"
    ref.to_csv(bad, index=False)
    code, _, stderr = run_cli("analyse", demo_files["incidents"], "--referrals", bad, "--out", tmp_path / "r", "--no-images")
    assert code == 2 and "Surname" in stderr and "`--drop-identifying Surname`" in stderr and "Traceback" not in stderr
    assert "allow_identifying" not in stderr  # the fix that exists on the command line, not the Python one
    assert not (tmp_path / "r" / "parameters.json").exists()
    code, _, stderr = run_cli(
        "analyse",
        demo_files["incidents"],
        "--referrals",
        bad,
        "--drop-identifying",
        "Surname",
        "--out",
        tmp_path / "r",
        "--no-images",
        "--formats",
        "csv,gpkg",
        "--quiet",
    )
    assert code == 0, stderr
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert b"Zebedee-Quux" not in path.read_bytes(), path


# =============================================================================== exposure and outputs (issue 14)
def test_the_basemap_defaults_to_none_so_nothing_is_fetched():
    """No tile server is asked for the analysed area unless the user says so."""
    assert build_parser().parse_args(["analyse", "x.csv", "--out", "o"]).basemap == "none"
    assert build_parser().parse_args(["map", "x.csv", "--out", "o.png"]).basemap == "none"
    assert build_parser().parse_args(["analyse", "x.csv", "--out", "o", "--basemap", "auto"]).basemap == "auto"


def test_the_results_folder_lists_every_file_it_holds(demo_run):
    code, stdout, _, out = demo_run
    assert code == 0
    side = json.loads((out / "parameters.json").read_text())
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert side["files_written"] == on_disk
    assert any(f.startswith("maps/") for f in on_disk) and "hotspots.gpkg" in on_disk
    assert "basemap none" in stdout


def test_a_second_run_leaves_nothing_of_the_first_behind(demo_files, tmp_path):
    """The first run writes referral layers; the second has no referrals: none may stay behind."""
    out = tmp_path / "r"
    code, _, stderr = run_cli(
        "analyse",
        demo_files["incidents"],
        "--referrals",
        demo_files["referrals"],
        "--out",
        out,
        "--no-images",
        "--formats",
        "csv,geojson",
        "--quiet",
    )
    assert code == 0, stderr
    first = json.loads((out / "parameters.json").read_text())["files_written"]
    assert any("referral" in f for f in first)
    code, _, stderr = run_cli(
        "analyse", demo_files["incidents"], "--out", out, "--no-images", "--formats", "csv,geojson", "--quiet"
    )
    assert code == 0, stderr
    second = json.loads((out / "parameters.json").read_text())["files_written"]
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == second and not any("referral" in f for f in on_disk)


def test_a_referral_file_is_refused_as_incidents(demo_files, tmp_path):
    code, _, stderr = run_cli("analyse", demo_files["referrals"], "--out", tmp_path / "r", "--no-images")
    assert code == 2
    assert "looks like a referral file" in stderr and "`person_ref`" in stderr and "--referrals FILE" in stderr
    assert not (tmp_path / "r").exists()  # nothing written


def test_a_grid_too_big_for_memory_is_one_line_naming_the_flag(small_csv, tmp_path, monkeypatch):
    """`--cell-size 10` on Merseyside was killed by the kernel at 23.5 GB with nothing printed: the
    analysis's memory is estimated from the grid and months first and refused in the flag's words."""
    import hotspots.analysis_memory as am

    monkeypatch.setattr(am, "available_memory", lambda: 700 * 2**20)
    path, _ = small_csv
    code, stdout, stderr = analyse_without_images([path], tmp_path / "r", "--cell-size", "10")
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert code == 2 and len(errors) == 1 and stderr.splitlines()[-1] == errors[0], stderr
    assert re.search(r"^hotspots analyse: error: a grid of [\d,]+ cells of 10 m over 24 months needs about .* more than the "
                     r"700.0 MiB available: use `--cell-size` \d+ or more", errors[0])
    assert "Traceback" not in stderr and not (tmp_path / "r" / "parameters.json").exists()


def test_summary_marks_a_cut_place_name_with_an_ellipsis(small_csv, tmp_path, monkeypatch):
    # Northumbria's summary showed "Brinkburn Street, Newcastle upon" for "... Newcastle upon Tyne",
    # cut at 32 characters with nothing to say so.
    import hotspots.export._common as common

    original = common.area_summary

    def long_places(analysis):
        table = original(analysis)
        table["place"] = "Brinkburn Street, Newcastle upon Tyne"
        return table

    monkeypatch.setattr(common, "area_summary", long_places)
    path, _ = small_csv
    code, stdout, _ = analyse_without_images([path], tmp_path / "r", "--formats", "csv", "--cluster-method", "none")
    assert code == 0
    rows = [line for line in stdout.splitlines() if "Brinkburn" in line]
    # the town kept whole (it says where), the street cut with "…"
    assert rows and all("Brinkburn…, Newcastle upon Tyne " in line for line in rows)
    assert not any("Brinkburn Street" in line for line in rows)


def test_summary_counts_have_thousands_separators_and_no_pattern_is_said():
    # "referrals 2185" and "1526 of 2185"; the pattern column showed "–" where csv/hotspot_areas.csv
    # says "no pattern detected".
    assert count_text(2185) == "2,185" and count_text("1526") == "1,526" and count_text(12.0) == "12"
    assert count_text("<5") == "<5" and count_text("c") == "c" and count_text(7) == "7"
    assert trend_word("no pattern detected") == "no pattern"
    assert trend_word("persistent hot spot") == "persistent" and trend_word(None) == trend_word(float("nan")) == "–"


def test_same_calendar_months_option_reaches_the_settings_as_the_apps_checkbox():
    for command in ("analyse", "map"):
        args = build_parser().parse_args([command, "x.csv", "--out", "o", "--same-months"])
        assert settings_from_args(args).same_months is True
    assert settings_from_args(build_parser().parse_args(["analyse", "x.csv", "--out", "o"])).same_months is False


def test_summary_says_which_outcomes_the_completion_rate_leaves_out(demo_files, tmp_path):
    ref = pd.read_csv(demo_files["referrals"])
    ref.loc[ref.index[:3], "outcome"] = "see notes"  # not an outcome the loader knows
    ref.loc[ref.index[3:6], "outcome"] = "Did not complete"  # a usual spelling of one it knows
    path = tmp_path / "referrals.csv"
    ref.to_csv(path, index=False)
    code, stdout, stderr = run_cli("analyse", demo_files["incidents"], "--referrals", path, "--out", tmp_path / "r",
                                   "--no-images", "--formats", "csv")
    assert code == 0, stderr
    caveat = "fewer than 5 referral outcome(s) were not recognised ('see notes') and are left out of the completion rate"
    assert f"  warning: {caveat}" in stdout  # where the file is loaded
    assert f"    - completion rate: {caveat}" in stdout  # under the scheme KPIs
    assert "3 referral outcome" not in stdout and "('see notes', 'Did not complete')" not in stdout
    # a recognised spelling of a way of ending is read as its category, and said (values only) where the file is checked
    code, stdout, stderr = run_cli("load", path, "--kind", "referrals")
    assert code == 0 and "'Did not complete' read as 'refused'" in stdout, stderr


def test_keep_months_reach_the_settings_and_a_bad_month_is_named():
    args = build_parser().parse_args(["analyse", "x.csv", "--out", "o", "--keep-months", "2025-06, 2025-8"])
    assert settings_from_args(args).keep_months == ("2025-06", "2025-08")
    assert settings_from_args(build_parser().parse_args(["analyse", "x.csv", "--out", "o"])).keep_months == ()
    from hotspots import ParameterError
    from hotspots.commands.analyse import keep_months_arg

    with pytest.raises(ParameterError, match="'June' is not a month; write it as 'YYYY-MM'"):
        keep_months_arg("June")


def test_summary_of_undated_incidents_says_no_dates(small_csv, tmp_path):
    """A file without a Month column printed `incidents analysed: 432 ()`."""
    path, df = small_csv
    undated = tmp_path / "undated.csv"
    df.drop(columns=["month"]).to_csv(undated, index=False)
    code, stdout, _ = analyse_without_images([undated], tmp_path / "r", "--formats", "csv", "--cell-size", "250")
    assert code == 0, stdout
    n_asb = int((df["category"] == ASB_CATEGORY).sum())
    assert f"  incidents analysed: {n_asb:,} (no dates)\n" in stdout and "()" not in stdout


def test_the_sidecar_records_the_category_and_preparation_and_the_summary_counts_only_incidents_inside(small_csv, tmp_path):
    """parameters.json held no category and none of the preparation's notes (scheme start after the data: halves
    compared); the summary's "incidents analysed" counted the incidents outside a user's boundary too."""
    path, df = small_csv
    west = gpd.GeoDataFrame({"name": ["west"]}, geometry=[shapely.box(520000, 170000, 530000, 190000)], crs=27700)
    west.to_file(tmp_path / "west.geojson")
    code, stdout, stderr = analyse_without_images(
        [path], tmp_path / "r", "--formats", "csv", "--category", "Burglary", "--scheme-start", "2030-01-01",
        "--study-area", tmp_path / "west.geojson", "--cell-size", "250",
    )
    assert code == 0, stderr
    side = json.loads((tmp_path / "r" / "parameters.json").read_text())
    assert side["preparation"]["categories"] == ["Burglary"]
    notes = side["preparation"]["notes"]
    assert any("the scheme start (2030-01-01) lies after the data's months" in n and "compared in two halves" in n
               for n in notes)
    res = side["results"]
    burglary = df[df["category"] == "Burglary"]
    # analysed: those in the study area's cells (as the app's card counts them); the others beside them
    assert res["incidents_analysed"] + res["incidents_outside_study_area"] == len(burglary)
    east = int((burglary["easting"] > 530000).sum())
    assert abs(res["incidents_outside_study_area"] - east) <= 0.1 * east and east > 20
    inside = res["incidents_analysed"]
    assert f"  incidents analysed: {inside:,} (" in stdout
    assert f"; {res['incidents_outside_study_area']:,} more outside the study area (in no cell, not analysed)" in stdout


def test_referrals_of_another_area_are_warned_about_at_the_top_of_the_summary(small_csv, demo_files, tmp_path):
    # Cleveland's referrals and task sites with Durham's incidents: exit 0, "referrals from hotspot areas: 0 of 360",
    # and only the analyst's notes said why. Here: Derbyshire's demo referrals and sites with London incidents.
    path, _ = small_csv
    tasks = pd.read_csv(demo_files["tasks"])
    tasks.loc[tasks.index[0], "kind"] = "graffiti removal"  # kept as written, and said where the file is loaded
    tasks.to_csv(tmp_path / "tasks.csv", index=False)
    code, stdout, stderr = analyse_without_images([path], tmp_path / "r", "--referrals", demo_files["referrals"],
                                                  "--tasks", tmp_path / "tasks.csv", "--formats", "csv",
                                                  "--cluster-method", "none")
    assert code == 0, stderr
    assert "  warning: `kind` value(s) not among the known kinds: 'graffiti removal' (1 site)" in stdout
    lines = stdout.splitlines()
    top = lines[lines.index("Summary") + 1]
    assert top.startswith("  WARNING: More than half of the referrals' locations (100%) and ")
    assert "task sites lie outside the incidents' study area" in top and "another force or area" in top


def london_referrals(n: int, lost: int) -> pd.DataFrame:
    """A hand-made referral file of ``n`` rows near the ``small_csv`` hotspot, the first ``lost`` without a location."""
    from hotspots.privacy import pseudonymise

    rng = np.random.default_rng(5)
    df = pd.DataFrame({
        "referral_id": [f"IJ-{i:03d}" for i in range(n)],
        "person_ref": [pseudonymise(f"person{i}", "a-long-secret-salt-for-tests") for i in range(n)],
        "referred_at": [f"2023-{1 + i % 12:02d}-10" for i in range(n)],
        "offence": ["ASB"] * n,
        "route": ["CR"] * n,
        "easting": np.round(rng.normal(530000, 150, n)),
        "northing": np.round(rng.normal(180000, 150, n)),
    })
    df.loc[df.index[:lost], ["easting", "northing"]] = None
    return df


def test_a_referral_file_that_lost_most_rows_is_warned_about_at_the_load_the_summary_and_the_sidecar(small_csv, tmp_path):
    path, _ = small_csv
    refs = tmp_path / "refs.csv"
    london_referrals(60, 42).to_csv(refs, index=False)  # 70 % of the people have no location
    code, stdout, stderr = analyse_without_images([path], tmp_path / "r", "--referrals", refs, "--formats", "csv",
                                                  "--cluster-method", "none")
    assert code == 0, stderr
    warning = ("WARNING: more than half of the referral file's rows were dropped (mostly: no location): the scheme's "
               f"figures describe the referrals kept only; check the file with `hotspots load --kind referrals --report {refs}`")
    lines = stdout.splitlines()
    assert f"  {warning}" in lines[:lines.index("Summary")]  # where the file is loaded
    assert lines[lines.index("Summary") + 1] == f"  {warning}"  # first in the summary
    side = json.loads((tmp_path / "r" / "parameters.json").read_text())
    assert side["load_warnings"] == [warning.removeprefix("WARNING: ")]
    said = warning.removesuffix(f"{refs}`")  # the file's own path (pytest's tmp folder, e.g. "pytest-42") is not a count
    assert "42" not in said and "70" not in said  # coarse: no count of people, no exact share
    # a clean file: no such warning, nothing in the sidecar
    london_referrals(60, 0).to_csv(refs, index=False)
    args = build_parser().parse_args(["analyse", str(path), "--referrals", str(refs), "--out", "unused"])
    said: list[str] = []
    assert not load_inputs(args, said.append).load_warnings and not any("WARNING" in s for s in said)


def test_an_incident_file_that_lost_most_rows_is_warned_about_with_its_share(small_csv, tmp_path):
    path, df = small_csv
    df.loc[df.index[:520], "easting"] = None  # 520 of 800 without a location
    df.to_csv(path, index=False)
    args = build_parser().parse_args(["analyse", str(path), "--out", "unused", "--crs", "EPSG:27700"])
    said: list[str] = []
    inputs = load_inputs(args, said.append)
    text = ("65 % of the incident rows were dropped (no location: 520): the hotspots are found from the rows kept only; "
            f"check the file with `hotspots load --report --crs EPSG:27700 {path}`")  # the run's own options
    assert inputs.load_warnings == [text] and f"  WARNING: {text}" in said
