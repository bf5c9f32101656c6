"""Text from data made safe and private for the screen: markdown escaping and small counts of
people in running text."""

from __future__ import annotations

import re
from typing import Any

from ..privacy import PERSON_COUNT as _PERSON_COUNT  # a count of people in running text (one pattern)
from ..validation import MIN_BANDWIDTH_M

__all__ = ["md_text", "person_text", "app_wording", "note_text", "CONTROL_LABELS", "CONTROL_RANGES"]

# One of a singular noun ("1 row", "1 referral"), which a suppressed count makes plural.
_PLURAL = {"row": "rows", "referral": "referrals", "value": "values", "person": "people", "individual": "individuals",
           "offender": "offenders"}
_ONE = re.compile(r"(?<![\w.,/\-–])1\s+(row|referral|value|person|individual|offender)\b(?![(s])")
#: A count already shown as "<5" before a singular noun ("in <5 row", from a text published elsewhere first).
_SMALL_ONE = re.compile(r"<(\d+)\s+(row|referral|value|person|individual|offender)\b(?![(s])")


def person_text(text: str, threshold: int | None = None) -> str:
    """``text`` with every count of people from 1 to ``threshold − 1`` shown as ``"<5"`` (a count of
    1 before a singular noun as ``"fewer than 5 rows"``, which reads right).

    For library notes and load-report messages about referrals shown on screen (``"3
    referral(s) have a re-offending flag..."`` becomes ``"<5 referral(s) ..."``). A count is a
    whole number followed by a word for people, rows or values.
    """
    from ..privacy import SUPPRESSION_THRESHOLD, suppress_count

    t = SUPPRESSION_THRESHOLD if threshold is None else int(threshold)

    def repl(m: re.Match) -> str:
        n = int(m.group(1).replace(",", ""))
        return str(suppress_count(n, t)) if 0 < n < t else m.group(1)

    if t > 1:  # "in 1 row" would read "in <5 row": the noun goes plural
        text = _ONE.sub(lambda m: f"fewer than {t} {_PLURAL[m.group(1)]}", str(text))
    text = _SMALL_ONE.sub(lambda m: f"fewer than {m.group(1)} {_PLURAL[m.group(2)]}", str(text))
    return _PERSON_COUNT.sub(repl, text)


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:&=\"'")


def md_text(value: Any) -> str:
    """Text from data made literal for Streamlit markdown (``st.markdown``, ``st.error``, ...).

    Every ASCII punctuation character that markdown, Streamlit's extensions (``:red[...]``,
    emoji shortcodes, ``$`` maths) or HTML could act on is backslash-escaped (CommonMark shows
    an escaped character literally), and line breaks become spaces. So a file name such as
    ``![x](http://host/x.png)`` or ``<img onerror=...>`` shows as text and loads nothing.
    """
    if value is None:
        return ""
    text = " ".join(str(value).splitlines())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


#: The lowest and highest value each number box of the app takes. Streamlit refuses a value typed
#: outside with a red "!" alone (1 or 50,000 in "Cell size"), so each box's label says its range
#: (:data:`CONTROL_LABELS`: "Cell size (m, 50–5,000)").
CONTROL_RANGES = {
    "cell_size": (50, 5000),
    "bandwidth": (int(MIN_BANDWIDTH_M), 20000),
    "distance": (1, 20000),
    "seed": (0, 2**31 - 1),
    "eps": (10, 5000),
    "min_samples": (2, 1000),
    "near_m": (100, 20000),
    "ring_m": (0, 5000),
}


def _ranged(name: str, label: str) -> str:
    """``label`` with the range of its number box: "Cell size (m)" → "Cell size (m, 50–5,000)"."""
    if name not in CONTROL_RANGES:
        return label
    lo, hi = CONTROL_RANGES[name]
    span = f"{lo:,}–{hi:,}"
    return f"{label[:-1]}, {span})" if label.endswith(")") else f"{label} ({span})"


#: The library's parameter names → the app's controls, by their labels (for the library's notes
#: and errors, which name parameters as the command line and Python do); number boxes say their
#: range (:data:`CONTROL_RANGES`).
CONTROL_LABELS = {
    "cell_size": "Cell size (m)",
    "bandwidth": "Bandwidth (m)",
    "bandwidth_rule": "Bandwidth rule",
    "kernel": "Kernel",
    "distance": "Distance band (m)",
    "alpha": "Significance level (alpha)",
    "fdr": "False discovery rate control (Benjamini–Hochberg)",
    "permutations": "Permutations (0 = exact count test)",
    "seed": "Random seed",
    "min_confidence": "Minimum Gi* confidence for hotspot areas",
    "eps": "DBSCAN radius eps (m)",
    "min_samples": "Core size (min samples)",
    "near_m": "Local reparation within (m)",
    "same_months": "Compare the same calendar months only",
    "period": "Hotspot period",
    "before": "Before period",
    "after": "After period",
    "ring_m": "Displacement ring around hotspot areas (m)",
    "crs": "Coordinates",
}
CONTROL_LABELS = {name: _ranged(name, label) for name, label in CONTROL_LABELS.items()}
#: Command-line and Python wording that has no control in the app, in the app's words ("" drops it).
_PHRASES = {
    "`--scheme-start` on the command line; ": "",
    "; give `--scheme-start` if these referrals are a later extract": "",
    " (`points_outside_area='include'`)": "",
    " (`points_outside_area='exclude'`)": "",
    "; in Python, name them with `x='...'`, `y='...'`.": "; or name them in the Data tab's \"Column mapping for tables that "
    "are not police.uk files\".",
}
_PARAMETER = re.compile(r"`(\w+)(?:=([^`]*))?`")


def app_wording(text: Any) -> str:
    """A library note or error in the app's words: parameters named by the app's controls
    (:data:`CONTROL_LABELS`: ```distance=283``` → ``"Distance band (m)" set to 283``,
    ```same_months=True``` → ``"Compare the same calendar months only" on``), command-line options the app has no
    control for left out. Anything else is unchanged."""

    def control(m: re.Match) -> str:
        name, value = m.group(1), m.group(2)
        if name not in CONTROL_LABELS:
            return m.group(0)
        label = f'"{CONTROL_LABELS[name]}"'
        if value is None:
            return label
        if value in ("True", "False"):
            return f"{label} {'on' if value == 'True' else 'off'}"
        return f"{label} set to {value.strip(chr(39) + chr(34))}"

    text = "" if text is None else str(text)
    for phrase, words in _PHRASES.items():
        text = text.replace(phrase, words)
    return _PARAMETER.sub(control, text)


def note_text(text: Any) -> str:
    """A library note or error for the screen: in the app's words (:func:`app_wording`), made literal (:func:`md_text`)."""
    return md_text(app_wording(text))
