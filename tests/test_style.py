"""hotspots.style: one set of class colours and number formats; user text drawn literally by matplotlib."""

from __future__ import annotations

import doctest
import io
import re

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from hotspots import style
from hotspots.schema import TASK_KINDS

HEX = re.compile(r"#[0-9a-f]{6}")


def test_docstring_examples():
    assert doctest.testmod(style).failed == 0


def test_every_colour_is_a_lowercase_hex_colour():
    for name in style.__all__:
        value = getattr(style, name)
        values = value.values() if isinstance(value, dict) else [value]
        for v in values:
            c = v[0] if isinstance(v, tuple) else v
            if isinstance(c, str) and c.startswith("#"):
                assert HEX.fullmatch(c), (name, c)


def test_class_colours_cover_the_classes_the_methods_produce():
    assert list(style.GI_CLASS_COLOURS) == ["hot 99%", "hot 95%", "hot 90%", "cold 90%", "cold 95%", "cold 99%"]
    assert set(style.GI_CLASS_LABELS) == set(style.GI_CLASS_COLOURS)
    assert set(style.HOT_CLASSES.values()) <= set(style.GI_CLASS_COLOURS)
    assert set(style.CHANGE_CLASS_COLOURS) == {"significant fall", "no significant change", "significant rise",
                                               "too few incidents"}
    assert set(style.CHANGE_CLASS_LABELS) == set(style.CHANGE_CLASS_COLOURS)
    assert set(style.CHANGE_AREA_EDGES) <= set(style.CHANGE_CLASS_COLOURS)
    assert set(style.TASK_KIND_COLOURS) == set(TASK_KINDS)


def test_hot_is_red_cold_is_blue_and_stronger_with_confidence():
    def rgb(c):
        return to_rgba(c)[:3]

    for conf in ("90%", "95%", "99%"):
        r, _, b = rgb(style.GI_CLASS_COLOURS[f"hot {conf}"])
        assert r > b
        r, _, b = rgb(style.GI_CLASS_COLOURS[f"cold {conf}"])
        assert b > r
    hot = [sum(rgb(style.GI_CLASS_COLOURS[f"hot {c}"])) for c in ("90%", "95%", "99%")]
    cold = [sum(rgb(style.GI_CLASS_COLOURS[f"cold {c}"])) for c in ("90%", "95%", "99%")]
    assert hot == sorted(hot, reverse=True) and cold == sorted(cold, reverse=True)  # darker with confidence
    assert rgb(style.CHANGE_CLASS_COLOURS["significant fall"])[2] > rgb(style.CHANGE_CLASS_COLOURS["significant fall"])[0]
    assert rgb(style.CHANGE_CLASS_COLOURS["significant rise"])[0] > rgb(style.CHANGE_CLASS_COLOURS["significant rise"])[2]


def test_maps_and_briefings_use_the_same_class_colours():
    from hotspots.export import briefing
    from hotspots.maps import scheme_layers

    for c, colour in briefing.GI_COLOURS.items():
        assert scheme_layers.GI_CLASS_COLOURS[c] == colour == style.GI_CLASS_COLOURS[c]
    for c, colour in briefing.CHANGE_COLOURS.items():
        assert scheme_layers.CHANGE_CLASS_COLOURS[c] == colour == style.CHANGE_CLASS_COLOURS[c]


@pytest.mark.parametrize("text",
                         ["ASB $x^{2}$", r"$\undefinedcmd{x}$", "$" + r"\sqrt{" * 50 + "x" + "}" * 50 + "$", "a $ b", "\\$"])
def test_plain_text_is_drawn_literally(text):
    for kwargs, shown in (({**style.PLAIN_TEXT}, text), ({}, None)):
        fig = Figure(figsize=(4, 1))
        FigureCanvasAgg(fig)
        drawn = text if kwargs else style.plain_text(text)
        t = fig.text(0.05, 0.5, drawn, **kwargs)
        fig.savefig(io.BytesIO(), format="png")  # would raise on a mathtext parse error
        assert not t._preprocess_math(t.get_text())[1]  # not drawn as maths
        if shown is not None:
            assert t.get_text() == shown


def test_change_text():
    assert style.change_text(-31.6, "significant fall") == "−32% ↓"
    assert style.change_text(12.4, "significant rise") == "+12% ↑"
    assert style.change_text(0.2, "no significant change") == "+0.2%"


def test_change_text_never_shows_a_signed_zero():
    # Bryant Road, Bootle (Merseyside 2025): 397 -> 403 incidents over a longer after period, rate
    # ratio 0.99856, was shown "−0%" in the CLI summary and the briefing table.
    assert style.change_text(100 * (0.99856 - 1)) == "−0.1%"
    assert style.change_text(style.percent_change([0.99856])[0]) == "−0.1%"
    assert style.change_text(-0.04) == style.change_text(0.04) == style.change_text(-0.0) == "0%"
    assert style.change_text(-0.5) == "−0.5%" and style.change_text(0.5) == "+0.5%"  # half to even would give ±0
    assert style.change_text(-0.51) == "−1%" and style.change_text(1.5) == "+2%"
    assert str(style.percent_change([0.9996])[0]) == "0.0"  # not -0.0 (shown "-0.0" by "+.1f" formats)
    assert style.signed_text(-0.04, 1) == "0.0" and style.signed_text(-2.26, 1) == "−2.3"
    for missing in (None, float("nan"), float("inf"), "c", "x"):
        assert style.change_text(missing) == "–"


def test_percent_change_is_nan_where_no_change_is_defined():
    import numpy as np

    got = style.percent_change([0.5, 1.2345, float("inf"), float("nan"), None, "x"])
    assert got[:2].tolist() == [-50.0, 23.4]
    assert np.isnan(got[2:]).all()  # before 0 (infinite ratio), missing, not a number
    assert style.change_text(got[2]) == "–"
    # a change too small to test shows no per cent (a ring of 1 incident then 0 read "−100.0, too few
    # incidents" beside rings of 0 and 0 shown as "–"; Dyfed-Powys 2025)
    judged = style.percent_change([0.0, 1.97, 0.8], ["too few incidents", "too few incidents", "significant fall"])
    assert np.isnan(judged[:2]).all() and judged[2] == -20.0


def test_too_few_to_show_a_change_is_one_rule_by_the_counts():
    """North Yorkshire's top-5 table: rings of 6 -> 0, 7 -> 0 and 5 -> 0 read −100% (tested: 5 or
    more) while 3 -> 0 read "–": under MIN_PERCENT_TOTAL incidents no per cent is shown."""
    import numpy as np

    assert style.MIN_PERCENT_TOTAL == 20
    got = style.percent_change([0.0, 0.0, 0.0, 0.0, 0.5, 0.5], ["no significant change"] * 6,
                               [6, 7, 5, 20, 13, None], [0, 0, 0, 0, 7, 3])
    assert np.isnan(got[:3]).all() and got[3] == -100.0 and got[4] == -50.0 and np.isnan(got[5])
    assert [style.change_text(v) for v in got[:5]] == ["–", "–", "–", "−100%", "−50%"]


def test_why_a_change_in_per_cent_is_blank_is_one_rule_for_cells_areas_and_rings():
    """Essex's change-per-hotspot CSV: areas 7 -> 1, 6 -> 2, 4 -> 2 and a ring 5 -> 0 had a blank % beside "no
    significant change", a ring 0 -> 0 a blank % beside "too few incidents": every blank now says why."""
    import numpy as np

    rr = [0.14, 0.33, 0.5, 0.0, float("nan"), 0.5, 0.6, float("inf"), None]
    cls = ["no significant change"] * 3 + ["no significant change", "too few incidents", "no significant change",
                                           "significant fall", "significant rise", None]
    nb, na = [7, 6, 4, 5, 0, 10, 100, 0, None], [1, 2, 2, 0, 0, 5, 60, 30, None]
    notes = style.percent_change_note(rr, cls, nb, na)
    assert notes[:4].tolist() == [style.FEW_FOR_PERCENT_NOTE] * 4 and notes[5] == style.FEW_FOR_PERCENT_NOTE
    assert notes[4] == style.NOT_TESTED_NOTE and notes[6] is None
    assert notes[7] == style.NO_RATIO_NOTE and notes[8] == style.NOT_COMPUTED_NOTE
    # the per cent is blank exactly where a note says why
    pct = style.percent_change(rr, cls, nb, na)
    assert (np.isnan(pct) == np.array([n is not None for n in notes])).all() and pct[6] == -40.0
    assert style.blank_percent_legend(notes[:5]) == f"–: {style.NOT_TESTED_NOTE}; or {style.FEW_FOR_PERCENT_NOTE}."
    assert style.blank_percent_legend([None, None]) == ""


def test_tick_label():
    assert [style.tick_label(v) for v in (0, 0.5, 7.25, 10, 12.5, 99.96, 100, 12345.6, -3)] == [
        "0", "0.5", "7.25", "10", "12.5", "100", "100", "12,346", "-3",
    ]


def test_file_size_and_metres():
    assert [style.file_size(n) for n in (0, 999, 1000, 1_234_567, 3e9, 5e12)] == [
        "0 bytes", "999 bytes", "1.0 kB", "1.2 MB", "3.0 GB", "5,000.0 GB",
    ]
    assert [style.metres_text(m) for m in (0, 999, 1000, 1250, 2000)] == ["0 m", "999 m", "1 km", "1.2 km", "2 km"]


def test_shorten_ends_a_cut_name_with_an_ellipsis():
    name = "Brinkburn Street, Newcastle upon Tyne"
    assert style.shorten(name, 24) == "Brinkburn Street…"  # the town too long to keep whole: cut between words
    assert style.shorten(name, 32) == "Brinkburn…, Newcastle upon Tyne"  # the town kept, the street cut between words
    assert style.shorten(name, len(name)) == name and style.shorten("High Street", 32) == "High Street"
    assert style.shorten("Abcdefghijklmnopqrstuvwxyz", 10) == "Abcdefghi…"  # inside a long word
    assert style.shorten("Abc, Defghijkl", 6) == "Abc…"  # no dangling comma before the ellipsis
    assert all(len(style.shorten(name, n)) <= n for n in range(1, 40))
    # a place label keeps its town when the town is short enough, and shortens the street instead
    assert style.shorten("Captain Cook Square, Middlesbrough", 32) == "Captain Cook…, Middlesbrough"
    assert style.shorten("Wembley Street, Stockton-on-Tees", 30) == "Wembley…, Stockton-on-Tees"
    # a cut inside brackets leaves none open: "Covent Garden (Lu…, London" (British Transport Police, 33 characters)
    assert style.shorten("Covent Garden (Lu Station), London", 33) == "Covent Garden…, London"
    assert all(len(style.shorten("Captain Cook Square, Middlesbrough", n)) <= n for n in range(1, 40))


def test_keep_units_joins_a_number_to_its_unit_with_a_no_break_space():
    """"27 %" wrapped between "27" and "%" on the scheme briefing: numbers and units stay together."""
    nb = style.NBSP
    assert style.keep_units("27 % of the 60 referrals") == f"27{nb}% of the 60 referrals"
    assert style.keep_units("within 2,000 m of the harm; 3.8 km² at 300 dpi") == (
        f"within 2,000{nb}m of the harm; 3.8{nb}km² at 300{nb}dpi")
    # words that only begin with a unit's letters, and numbers without a unit, are left alone
    assert style.keep_units("5 more in 2 months, 1 in 5 minutes") == "5 more in 2 months, 1 in 5 minutes"
    # the wrappers break at ordinary spaces only: the pair never splits
    import textwrap

    lines = textwrap.wrap(style.keep_units("Reparation local (within 2,000 m of the harm): 27 % of the 60"), 50)
    assert all(not line.endswith("27") for line in lines) and any(f"27{nb}%" in line for line in lines)


def test_join_notes_keeps_every_reason_of_a_row_and_the_legend_still_finds_them():
    """Nottinghamshire's area 12 (18 -> 4): a blank per cent and a fall the choice of hotspot months predicts."""
    caveat = "expected from how hotspots were chosen"
    got = style.join_notes([style.FEW_FOR_PERCENT_NOTE, None, None], [caveat, caveat, None])
    assert got.tolist() == [f"{style.FEW_FOR_PERCENT_NOTE}; {caveat}", caveat, None]
    assert style.blank_percent_legend(got) == f"–: {style.FEW_FOR_PERCENT_NOTE}."
    assert style.blank_percent_legend(got[1:]) == ""
