"""Text from data made safe and private for the screen: markdown escaping and small counts of
people in running text."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["md_text", "person_text"]


# A count of people in running text: "3 referral(s) ...", "2 `person_ref` value(s) ...", "4 rows".
_PERSON_COUNT = re.compile(
    r"(?<![\w.,/\-–])(\d[\d,]*)(?=\s+(?:referrals?|referral\(s\)|people|persons?|person\(s\)|individuals?|offenders?"
    r"|rows?\b|row\(s\)|`[^`]+`\s+values?|`[^`]+`\s+value\(s\)|values?\b|value\(s\)))"
)


def person_text(text: str, threshold: int | None = None) -> str:
    """``text`` with every count of people from 1 to ``threshold − 1`` shown as ``"<5"``.

    For library notes and load-report messages about referrals shown on screen (``"3
    referral(s) have a re-offending flag..."`` becomes ``"<5 referral(s) ..."``). A count is a
    whole number followed by a word for people, rows or values.
    """
    from ..privacy import SUPPRESSION_THRESHOLD, suppress_count

    t = SUPPRESSION_THRESHOLD if threshold is None else int(threshold)

    def repl(m: re.Match) -> str:
        n = int(m.group(1).replace(",", ""))
        return str(suppress_count(n, t)) if 0 < n < t else m.group(1)

    return _PERSON_COUNT.sub(repl, str(text))


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
