"""Make user-supplied text safe to show in Leaflet popups, tooltips, legends and layer names.

Leaflet renders popup, tooltip and layer-control content as HTML by design, and folium pastes
some of it into JavaScript *template literals* (`` `...` ``): a raw ``<img onerror=...>`` runs
script, and a raw backtick, ``${`` or trailing backslash breaks (or hijacks) the generated
JavaScript. Every string that comes from data goes through :func:`escape_html` (or
:func:`display_value`, which formats and then escapes) before it reaches folium.

The escaped text is plain HTML text: it contains no ``<``, ``>``, ``&`` (other than entities),
quotes, backticks, ``$``, backslashes or curly braces, so it is inert as HTML text, inside a
quoted HTML attribute, inside a JavaScript string or template literal, and inside ``<script>``
(it cannot hold ``</script>``). The browser shows it literally.

Curly braces: folium (through branca) renders each element's generated script *again* as a
Jinja2 template when the page is built, so ``{{ ... }}`` or ``{% ... %}`` in data would be
evaluated on the server (template injection: ``{{ 7*7 }}`` would show as ``49``, and Jinja
expressions can reach Python objects). :func:`escape_html` turns braces into character
references and :func:`js_json` writes them as ``\\u007b``/``\\u007d`` inside JSON strings, so
data never holds template syntax.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError

__all__ = ["escape_html", "display_value", "format_value", "css_colour", "is_escaped", "js_json"]

# Characters html.escape leaves alone but that matter inside JavaScript template literals (and
# backslash, which would escape the closing backtick). Replaced by numeric character references,
# which the browser shows as the original character.
_EXTRA = {"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"}
_EXTRA_RE = re.compile(r"[`$\\{}]")
# C0 controls (except tab) and DEL: newlines would end a Jinja-rendered JS line in some folium
# templates; NUL and friends have no business in a label.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")
_UNSAFE_RE = re.compile(r"[<>\"'`$\\{}\x00-\x08\x0a-\x1f\x7f]|&(?!(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);)")


def escape_html(value: Any) -> str:
    """Text safe to place in HTML and in folium's generated JavaScript.

    Parameters
    ----------
    value : any
        Converted with ``str`` first; ``None`` becomes ``""``.

    Returns
    -------
    str
        ``html.escape(text, quote=True)`` with, in addition, backtick, dollar sign, backslash and
        curly braces replaced by numeric character references, and control characters (newlines
        included) replaced by spaces.

    Examples
    --------
    >>> escape_html('<script>window.__pwned=1</script>')
    '&lt;script&gt;window.__pwned=1&lt;/script&gt;'
    >>> escape_html('`${x}`')
    '&#96;&#36;&#123;x&#125;&#96;'
    """
    if value is None:
        return ""
    text = _CONTROL_RE.sub(" ", str(value))
    text = html.escape(text, quote=True)
    return _EXTRA_RE.sub(lambda m: _EXTRA[m.group(0)], text)


def is_escaped(text: str) -> bool:
    """True when ``text`` holds nothing that :func:`escape_html` would have replaced.

    Used by tests and by layers to check that pre-built HTML fragments are inert.
    """
    return _UNSAFE_RE.search(text) is None


def display_value(value: Any, fmt: str | None = None) -> str:
    """Format one table value for a popup or tooltip, then escape it.

    Parameters
    ----------
    value : any
        Missing values (``None``, ``NaN``, ``NaT``, ``pd.NA``) become ``""``; booleans ``"yes"`` /
        ``"no"``; whole numbers get thousands separators (``1,234``); other floats two decimals
        (``0.25``); dates and times ISO 8601 (``2023-07-01``, or with the time when it is not
        midnight); everything else ``str(value)``.
    fmt : str, optional
        A ``format`` spec (e.g. ``",.1f"`` or ``".0%"``) used for numbers instead of the default.

    Returns
    -------
    str
        Escaped text (see :func:`escape_html`).
    """
    return escape_html(format_value(value, fmt))


def format_value(value: Any, fmt: str | None = None) -> str:
    """Format one table value as :func:`display_value` does, *without* escaping.

    For text that is put into the page with ``textContent`` (never parsed as HTML).
    """
    t = type(value)  # fast paths for the common exact types (this runs once per table cell)
    if t is str:
        return value
    if t is int and fmt is None:
        return format(value, ",")
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (Integral, np.integer)):
        return format(int(value), fmt if fmt is not None else ",")
    if isinstance(value, (Real, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if fmt is not None:
            text = format(v, fmt)
            if text[:1] in "+-" and not any(ch in "123456789" for ch in text):
                return text[1:]  # no signed zero at the precision shown ("+0.0", "-0.0": style.signed_text's rule)
            return text
        if v.is_integer() and abs(v) < 1e15:
            return format(int(v), ",")
        return format(v, ",.2f")
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        ts = pd.Timestamp(value)
        if ts.hour == ts.minute == ts.second == ts.microsecond == 0:
            return ts.strftime("%Y-%m-%d")
        return ts.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    return str(value)


def js_json(obj: Any) -> str:
    """JSON for pasting into a ``<script>``: ``<``, ``>``, ``&``, ``'`` and U+2028/9 as ``\\uXXXX``.

    The same rules as Jinja's ``tojson`` filter, so ``</script>`` in data cannot end the script;
    and curly braces inside strings as ``\\u007b``/``\\u007d``, so data cannot hold Jinja
    template syntax (see the module docs).
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    if "{" in text or "}" in text:
        text = _JSON_STRING_RE.sub(_escape_braces, text)
    return text


# A JSON string literal (json.dumps output: escapes are backslash + one char or \uXXXX).
_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')


def _escape_braces(m: re.Match) -> str:
    return m.group(0).replace("{", "\\u007b").replace("}", "\\u007d")


_HEX_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def css_colour(colour: Any, *, name: str = "colour") -> str:
    """Check that ``colour`` is a hexadecimal CSS colour (``#rgb``, ``#rrggbb`` or with alpha).

    Colours end up inside ``style`` attributes and CSS, so only this strict form is accepted
    (a name such as ``red`` can be converted first with ``matplotlib.colors.to_hex``).

    Raises
    ------
    ParameterError
        When ``colour`` is anything else; the message names the argument.
    """
    if isinstance(colour, str) and _HEX_RE.fullmatch(colour):
        return colour.lower()
    raise ParameterError(
        f"`{name}` must be a hexadecimal colour such as '#d7301f'; got {colour!r}. Convert names with "
        "`matplotlib.colors.to_hex('red')`."
    )
