"""hotspots.validation: one rule and one message per kind of parameter, names mapped for the CLI."""

from __future__ import annotations

import datetime as dt
import doctest
import threading
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from hotspots import validation as v
from hotspots._errors import HotspotsError, InputError, ParameterError


def finite(value) -> str:
    """ "finite " for a float that is infinite or undefined (their messages ask for a finite number), else ""."""
    return "finite " if isinstance(value, float) and not np.isfinite(value) else ""


def message(func, *args, **kwargs) -> str:
    with pytest.raises(ParameterError) as exc:
        func(*args, **kwargs)
    return str(exc.value)


def test_docstring_examples():
    assert doctest.testmod(v, optionflags=doctest.ELLIPSIS).failed == 0


# ----------------------------------------------------------------------------- alpha
@pytest.mark.parametrize("good", [0.05, 0.5, 1e-9, np.float64(0.01), np.float32(0.1), Fraction(1, 20)])
def test_alpha_accepts_real_numbers_strictly_inside_0_1(good):
    out = v.alpha(good)
    assert isinstance(out, float) and out == pytest.approx(float(good))


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.0, -0.1, 2, float("nan"), float("inf"), "0.05", None, True, np.bool_(True), [0.05],
                                 np.array([0.05])])
def test_alpha_refuses_everything_else_with_one_message(bad):
    text = message(v.alpha, bad)
    assert text == f"`alpha` must be a {finite(bad)}number between 0 and 1, exclusive (e.g. 0.05); got {bad!r}."


def test_alpha_names_the_argument_given():
    assert message(v.alpha, 3, "min_alpha").startswith("`min_alpha` must be")


# ----------------------------------------------------------------------------- numbers
def test_number_bounds_and_messages():
    assert v.number(5, "x", low=0, high=10) == 5.0
    assert v.number(0, "x", low=0, high=10) == 0.0
    assert message(v.number, 0, "x", low=0, low_open=True) == "`x` must be a number greater than 0; got 0."
    assert message(v.number, 11, "x", low=0, high=10) == "`x` must be a number from 0 to 10; got 11."
    assert message(v.number, 10, "x", low=0, high=10, high_open=True) == "`x` must be a number at least 0 and below 10; got 10."
    assert message(v.number, 99, "x", high=10, high_open=True) == "`x` must be a number less than 10; got 99."
    assert v.number(None, "x", optional=True) is None
    assert message(v.number, None, "x") == "`x` must be a number; got None."
    assert message(v.number, "3", "x", optional=True) == "`x` must be a number; got '3'."


def test_positive_distance_and_non_negative():
    assert v.distance(150, "eps") == 150.0
    assert message(v.distance, 0, "eps") == "`eps` must be a number of metres greater than 0; got 0."
    assert message(v.distance, -5, "tolerance_m", zero=True) == "`tolerance_m` must be a number of metres at least 0; got -5."
    assert v.distance(0, "tolerance_m", zero=True) == 0.0
    assert v.distance(None, "cell_size", optional=True) is None
    assert message(v.positive, -1, "contact_hours",
                   unit="hours") == "`contact_hours` must be a number of hours greater than 0; got -1."
    assert v.non_negative(0, "x") == 0.0
    text = message(v.positive, float("inf"), "bandwidth_adjust")
    assert text.startswith("`bandwidth_adjust` must be a finite number greater than 0")


def test_fraction_is_inclusive():
    assert v.fraction(0, "share") == 0.0 and v.fraction(1, "share") == 1.0
    assert message(v.fraction, 1.01, "share") == "`share` must be a number from 0 to 1; got 1.01."


@pytest.mark.parametrize("good, expected", [(5, 5), (5.0, 5), (np.int64(7), 7), (np.float64(3.0), 3)])
def test_whole_accepts_whole_values(good, expected):
    out = v.whole(good, "n", low=1)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("bad", [0, 5.5, "5", True, None, float("nan"), float("inf")])
def test_whole_refuses(bad):
    assert message(v.whole, bad, "threshold", low=1,
                   example="5") == f"`threshold` must be a {finite(bad)}whole number >= 1 (e.g. 5); got {bad!r}."


def test_whole_ranges_and_units():
    assert message(v.whole, 41, "size", low=8, high=40,
                   unit="pixels") == "`size` must be a whole number of pixels from 8 to 40; got 41."
    assert message(v.whole, 3, "x", low=None, high=2) == "`x` must be a whole number <= 2; got 3."
    assert v.whole(-3, "x", low=None) == -3
    assert v.whole(None, "x", optional=True) is None


def test_seed():
    assert v.seed(0) == 0 and v.seed(None) is None and v.seed(np.int32(4)) == 4
    assert message(v.seed, -1) == "`seed` must be a whole number >= 0 (e.g. 0); got -1."
    assert message(v.seed, None, optional=False) == "`seed` must be a whole number >= 0 (e.g. 0); got None."
    assert message(v.seed, 1.5).startswith("`seed` must be a whole number")


def test_permutations_have_a_documented_maximum():
    # 100,000,000 permutations loaded the data, then asked numpy for 27.6 GiB at Gi*
    assert v.permutations(0) == 0 and v.permutations(v.MAX_PERMUTATIONS) == 99_999
    assert message(v.permutations, 100_000_000) == (
        "`permutations` must be a whole number from 0 to 99,999 (e.g. 999, or 0 for the exact count test); got 100000000.")
    assert message(v.permutations, 100_000).startswith("`permutations` must be a whole number from 0 to 99,999")
    assert message(v.permutations, -1).startswith("`permutations` must be a whole number from 0 to 99,999")


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_infinite_or_undefined_numbers_are_told_to_be_finite(bad):
    # '--cell-size inf' was told "must be a number of metres greater than 0; got inf"
    assert message(v.distance, bad, "cell_size").startswith("`cell_size` must be a finite number of metres greater than 0; got")
    assert message(v.significance, bad).startswith("`alpha` must be a finite number above 0")
    assert message(v.whole, bad, "n").startswith("`n` must be a finite whole number >= 0")
    assert message(v.bandwidth, bad).startswith("`bandwidth` must be a finite number of metres at least 1")


def test_finite_is_said_only_for_infinite_or_undefined_values():
    assert message(v.distance, -1.0, "ring") == "`ring` must be a number of metres greater than 0; got -1.0."
    assert message(v.parse_number, "inf", "seed", whole=True) == "`seed` must be a finite whole number; got 'inf'."
    assert message(v.parse_number, "abc", "seed", whole=True) == "`seed` must be a whole number; got 'abc'."
    assert message(v.choice, float("nan"), "min_confidence", (0.9, 0.95)).startswith("`min_confidence` must be one of")


def test_parse_number_from_text():
    assert v.parse_number(" 0.05 ", "alpha") == 0.05
    assert v.parse_number("1e3", "cell_size") == 1000.0
    assert v.parse_number("999", "permutations", whole=True) == 999
    assert v.parse_number(None, "x") is None and v.parse_number(3, "x") == 3
    assert message(v.parse_number, "abc", "alpha") == "`alpha` must be a number; got 'abc'."
    assert message(v.parse_number, "9.5", "n", whole=True) == "`n` must be a whole number; got '9.5'."


# ----------------------------------------------------------------------------- choices and flags
def test_choice():
    assert v.choice("quartic", "kernel", ("quartic", "gaussian")) == "quartic"
    assert message(v.choice, "Quartic", "kernel", ("quartic", "gaussian")) == (
        "`kernel` must be one of 'quartic', 'gaussian'; got 'Quartic'."
    )
    assert v.choice(0.95, "min_confidence", (0.9, 0.95, 0.99)) == 0.95
    assert message(v.choice, True, "x", (1, 2)).startswith("`x` must be one of 1, 2")
    assert message(v.choice, np.array([1, 2]), "x", ("a",)).startswith("`x` must be one of 'a'")
    assert v.choice(None, "kernel", ("quartic",), optional=True) is None


def test_flag():
    assert v.flag(True, "fdr") is True and v.flag(np.bool_(False), "fdr") is False
    for bad in (1, 0, "yes", None):
        assert message(v.flag, bad, "fdr") == f"`fdr` must be True or False; got {bad!r}."


# ----------------------------------------------------------------------------- months and dates
@pytest.mark.parametrize(
    "good, expected",
    [("2023-07", "2023-07"), (" 2023-7 ", "2023-07"), (dt.date(2023, 7, 15), "2023-07"), (pd.Timestamp("2023-07-31"), "2023-07"),
     (pd.Period("2023-07", "M"), "2023-07"), (np.datetime64("2023-07-09"), "2023-07")],
)
def test_month_accepts(good, expected):
    assert v.month(good, "month") == expected


@pytest.mark.parametrize("bad", ["2023-13", "2023-00", "2023", "July 2023", "2023-07-01", "2023/07", 202307, None])
def test_month_refuses(bad):
    assert message(v.month, bad, "start") == f"`start` must be a month written YYYY-MM (e.g. 2023-07); got {bad!r}."


def test_month_range():
    assert v.month_range("2022-07:2023-06", "period") == ("2022-07", "2023-06")
    assert v.month_range(("2022-7", pd.Timestamp("2023-06-30")), "period") == ("2022-07", "2023-06")
    assert v.month_range("2023-01:2023-01", "period") == ("2023-01", "2023-01")
    rule = "`--period` must be two months FIRST:LAST written YYYY-MM:YYYY-MM (e.g. 2022-07:2023-06); got "
    with v.argument_names({"period": "--period"}):
        for bad in ("2022", "2022-07:", "2022-07:2023-06:2024-01", "2022-07:2023-13", ("2022-07",), 5):
            assert message(v.month_range, bad, "period") == rule + f"{bad!r}."
        assert message(v.month_range, "2023-06:2022-07", "period") == (
            "`--period` starts after it ends (2023-06 > 2022-07); give the earlier month first."
        )
    assert v.month_range("2022-07:", "months", open_ends=True) == ("2022-07", None)
    assert v.month_range((None, "2023-01"), "months", open_ends=True) == (None, "2023-01")


def test_date():
    assert v.date("2023-07-01", "scheme_start") == dt.date(2023, 7, 1)
    assert v.date(pd.Timestamp("2023-07-01 12:00"), "d") == dt.date(2023, 7, 1)
    assert v.date(np.datetime64("2023-07-01"), "d") == dt.date(2023, 7, 1)
    assert v.date(None, "d", optional=True) is None
    for bad in ("2023-02-30", "2023-07", "01/07/2023", "soon", 20230701):
        assert message(v.date, bad, "scheme_start") == (
            f"`scheme_start` must be a date written YYYY-MM-DD (e.g. 2023-07-01); got {bad!r}."
        )


# ----------------------------------------------------------------------------- output paths
def test_output_file_never_needs_new_folders(tmp_path):
    assert v.output_file(tmp_path / "m.png", "out_path", suffixes=(".png", ".pdf")) == tmp_path / "m.png"
    assert v.output_file(tmp_path / "M.PDF", "out_path", suffixes=(".png", ".pdf")).suffix == ".PDF"
    text = message(v.output_file, tmp_path / "no" / "m.png", "out_path")
    assert "`out_path`" in text and "does not exist" in text and "create it first" in text
    assert not (tmp_path / "no").exists()
    assert "ending in .png or .pdf" in message(v.output_file, tmp_path / "m.jpg", "out_path", suffixes=(".png", ".pdf"))
    (tmp_path / "d.png").mkdir()
    assert "is a folder" in message(v.output_file, tmp_path / "d.png", "out_path", suffixes=(".png",))
    f = tmp_path / "file"
    f.write_text("x")
    assert "is not a folder" in message(v.output_file, f / "m.png", "out_path")
    assert message(v.output_file, "", "out_path") == "`out_path` must be a file path; got ''."


def test_output_folder(tmp_path):
    assert v.output_folder(tmp_path, "out_dir") == tmp_path
    assert v.output_folder(tmp_path / "new", "out_dir") == tmp_path / "new"
    assert not (tmp_path / "new").exists()
    assert "does not exist" in message(v.output_folder, tmp_path / "a" / "b", "out_dir")
    f = tmp_path / "file"
    f.write_text("x")
    assert "exists and is not a folder" in message(v.output_folder, f, "out_dir")
    assert "is not a folder" in message(v.output_folder, "/dev/null/x", "out_dir")
    assert message(v.output_folder, None, "out_dir") == "`out_dir` must be a folder path; got None."


# ----------------------------------------------------------------------------- names and collecting
def test_argument_names_nest_and_reset():
    assert v.shown("alpha") == "`alpha`"
    with v.argument_names({"alpha": "--alpha", "size_in": "--width/--height"}):
        assert message(v.alpha, 2).startswith("`--alpha` must be")
        with v.argument_names({"alpha": "Significance level"}):
            assert v.shown("alpha") == "`Significance level`" and v.shown("size_in") == "`--width/--height`"
        assert v.shown("alpha") == "`--alpha`"
        with pytest.raises(ParameterError):
            with v.argument_names({"x": "y"}):
                v.alpha(5)
        assert v.shown("x") == "`x`"
    assert v.shown("alpha") == "`alpha`"


def test_argument_names_are_per_thread():
    seen = []
    with v.argument_names({"alpha": "--alpha"}):
        t = threading.Thread(target=lambda: seen.append(v.shown("alpha")))
        t.start()
        t.join()
    assert seen == ["`alpha`"]


def test_collect_reports_every_problem_once():
    with pytest.raises(ParameterError) as exc:
        with v.collect() as problems:
            a = problems.check(v.alpha, 2)
            b = problems.check(v.whole, 5, "permutations")
            problems.check(v.distance, -1, "eps")
    assert a is None and b == 5
    text = str(exc.value)
    assert text.startswith("2 problems: (1) `alpha` must be") and "(2) `eps` must be" in text and "\n" not in text
    assert exc.value.problems == (problems.messages[0], problems.messages[1]) and len(problems) == 2


def test_collect_raises_one_problem_as_it_was_and_nothing_when_clean():
    with pytest.raises(InputError, match="^file gone$"):
        with v.collect() as problems:
            problems.add("file gone", InputError)
    with v.collect() as problems:
        assert problems.check(v.alpha, 0.1) == 0.1
    assert not problems


def test_collect_of_mixed_kinds_is_the_base_error():
    with pytest.raises(HotspotsError) as exc:
        with v.collect() as problems:
            problems.add("a", InputError)
            problems.check(v.alpha, 7)
    assert type(exc.value) is HotspotsError and "2 problems" in str(exc.value)


def test_collect_lets_other_exceptions_through():
    with pytest.raises(ZeroDivisionError):
        with v.collect() as problems:
            problems.check(lambda: 1 / 0)


def test_input_path(tmp_path):
    assert v.input_path(tmp_path, "INPUT") == tmp_path
    with pytest.raises(InputError) as exc:
        with v.argument_names({"referrals": "--referrals"}):
            v.input_path(tmp_path / "r.csv", "referrals")
    assert str(exc.value) == f"`--referrals` {str(tmp_path / 'r.csv')!r} does not exist; check the path."


def test_output_file_may_leave_folders_to_the_caller(tmp_path):
    assert v.output_file(tmp_path / "a" / "b" / "m.png", "out_path", new_folders=True) == tmp_path / "a" / "b" / "m.png"
    assert not (tmp_path / "a").exists()


def test_geodataframe():
    import geopandas as gpd
    import shapely

    from hotspots._errors import CRSError

    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=27700)
    assert v.geodataframe(gdf, "areas") is gdf
    assert message(v.geodataframe, pd.DataFrame(), "areas") == "`areas` must be a GeoDataFrame; got DataFrame."
    with pytest.raises(CRSError, match="^`areas` has no CRS; set it with"):
        v.geodataframe(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]), "areas")


def test_names_text_lists_every_name_or_says_how_many_more():
    from hotspots.validation import names_text

    assert names_text(["a", "b"]) == "a, b"
    assert names_text([f"c{k}" for k in range(14)], limit=12) == "c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 ... and 2 more"


def test_closest_name_suggests_a_near_spelling_only():
    from hotspots.validation import closest_name

    assert closest_name("Burglry", ["Anti-social behaviour", "Burglary"]) == "Burglary"
    assert closest_name("anti social behavior", ["Anti-social behaviour", "Drugs"]) == "Anti-social behaviour"
    assert closest_name("Arson", ["Drugs", "Shoplifting"]) is None


def test_setting_is_written_as_its_user_writes_it():
    from hotspots.validation import argument_names, setting

    assert setting("swap_xy") == "`swap_xy=True`"
    with argument_names({"crs": "--crs", "keep_holes": "--keep-holes"}):
        assert setting("crs", "EPSG:2157") == "`--crs EPSG:2157`"
        assert setting("keep_holes") == "`--keep-holes`"
        assert setting("swap_xy") == "`swap_xy=True` (in Python only; the command line has no such option)"


def test_python_only_is_said_once_for_several_settings():
    with v.argument_names({"crs": "--crs"}):
        assert v.setting("swap_xy", where=False) == "`swap_xy=True`"
        assert v.python_only("swap_xy", "x") == " (in Python only; the command line has no such options)"
        assert v.python_only("crs", "x") == ""  # one of them has a flag
    assert v.python_only("swap_xy") == ""  # Python: nothing to say


@pytest.mark.parametrize("bad", [0, 1, 0.5, -0.1, 2, float("nan")])
def test_significance_says_its_one_real_range_whatever_the_value(bad):
    """`--alpha 0`/`1` said "between 0 and 1, exclusive" while `--alpha 0.5` said "above 0 and at most 0.2"."""
    rule = f"`alpha` must be a {finite(bad)}number above 0 and at most 0.2 (e.g. 0.05); got {bad!r}."
    assert message(v.significance, bad).startswith(rule)


def test_bandwidth_under_a_metre_is_refused_with_why_and_a_metre_is_accepted():
    assert v.bandwidth(1) == 1.0 and v.bandwidth(None, optional=True) is None
    for bad in (1e-9, 0.5, 0, -3, float("inf")):
        rule = f"`bandwidth` must be a {finite(bad)}number of metres at least 1 (e.g. 500); got {bad!r}."
        assert message(v.bandwidth, bad).startswith(rule)
    assert "all zeros" in message(v.bandwidth, 1e-9)
