"""Privacy of person-level data: pseudonymous references and identifying columns.

Referral data is about people. Only a salted hash of a person's identifier ever enters the
system (:func:`pseudonymise`); files carrying names, dates of birth or addresses are refused
(:func:`identifying_columns`). Counts of people are protected by :mod:`hotspots.disclosure`
(the one disclosure-control module; its threshold, markers and :func:`suppress_count` are
re-exported here).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from .disclosure import SUPPRESSED, SUPPRESSION_THRESHOLD, suppress_count

__all__ = [
    "pseudonymise",
    "identifying_columns",
    "suppress_count",
    "SUPPRESSION_THRESHOLD",
    "SUPPRESSED",
    "PERSON_REF_PATTERN",
    "PERSON_COUNT",
    "POSTCODE_PATTERN",
    "postcode_like",
    "postcode_columns",
]

#: What a pseudonymous person reference looks like: ``p_`` and 16 hex digits.
PERSON_REF_PATTERN = re.compile(r"^p_[0-9a-f]{16}$")

#: A count of people in running text (group 1: the number): "3 referral(s) ...", "2 `person_ref` value(s) ...", "4 rows",
#: "the 12 referrals' dates". Read by ``hotspots.app_support.person_text`` (small counts shown as "<5") and
#: :meth:`hotspots.publication.SchemePublication.text` (each count as the analysis publishes it).
PERSON_COUNT = re.compile(
    r"(?<![\w.,/\-–])(\d[\d,]*)(?=\s+(?:referrals?|referral\(s\)|people|persons?|person\(s\)|individuals?|offenders?"
    r"|rows?\b|row\(s\)|`[^`]+`\s+values?|`[^`]+`\s+value\(s\)|values?\b|value\(s\)))"
)

# Column names that suggest direct identifiers. Matched against a normalised name
# (lower case, non-letters removed), so "Date of Birth", "DOB", "date_of_birth" all match.
_IDENTIFYING = {
    "name": re.compile(
        r"^(full|first|last|given|sur|family|middle|fore|maiden|previous|other|birth|offender|person|subject|client|suspect)?names?\d*$"
        r"|^nameof[a-z]+$|^(alias|aliases|nickname|knownas|aka)$"
    ),
    "date of birth": re.compile(r"^(dob|dateofbirth|birthdate|birthday|dateborn|yob|yearofbirth|birthyear)[a-z0-9]*$|^born$"),
    "address": re.compile(
        r"^(home|street|postal|residential|correspondence|offender|person)?address(line\d*|\d*)?$"
        r"|^(home)?(postcode|postalcode|zip|zipcode)$|^(house|flat)(number|no|name)$"
    ),
    "contact details": re.compile(
        r"^(e?mail|emailaddress)\d*$|^(phone|telephone|tel|mobile|mobilephone|cellphone|landline)(number|no|num)?\d*$"
        r"|^contact(number|no|num|phone|telephone|details)$"
    ),
    "national identifier": re.compile(
        r"^(nino|ni(number|no)|nationalinsurance(number|no)?|pncid|pnc(number|no)?|croid|cro(number|no)?|nhsnumber"
        r"|passport(number|no)?|driv(ing|ers?)licen[cs]e(number|no)?)$"
    ),
}


#: A full UK postcode ("L1 8JQ", "CH41 5DS", "sw1a1aa"): outward code, optional space, inward code.
POSTCODE_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}$", re.IGNORECASE)


def postcode_like(values: Iterable[object]) -> list[bool]:
    """Whether each value is a full UK postcode (:data:`POSTCODE_PATTERN`; spaces around it ignored).

    Examples
    --------
    >>> postcode_like(["L1 8JQ", "ch41 5ds", "Bold Street", None])
    [True, True, False, False]
    """
    return [isinstance(v, str) and bool(POSTCODE_PATTERN.match(v.strip())) for v in values]


def postcode_columns(frame: Any, *, share: float = 0.5) -> list[str]:
    """Columns of ``frame`` (a DataFrame) whose filled values are mostly UK postcodes.

    A postcode next to a referral record is personal data whatever the column is called
    (``location_text``, ``notes``): such columns are treated as identifying.

    Parameters
    ----------
    frame : pandas.DataFrame
    share : float
        Fraction (0-1) of a column's non-blank text values that must look like postcodes.

    Returns
    -------
    list of str
        The columns' names, in the frame's order.
    """
    out = []
    for col in frame.columns:
        s = frame[col]
        if not (s.dtype == object or str(s.dtype).startswith("str")):
            continue
        vals = [v for v in s.tolist() if isinstance(v, str) and v.strip()]
        if vals and sum(postcode_like(vals)) >= share * len(vals):
            out.append(str(col))
    return out


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def identifying_columns(columns: Iterable[str]) -> dict[str, str]:
    """Columns whose names look like direct personal identifiers.

    Parameters
    ----------
    columns : iterable of str

    Returns
    -------
    dict
        ``{column name: kind}`` for each suspicious column, kind being e.g. ``"name"`` or
        ``"date of birth"``. Empty when nothing looks identifying.

    Examples
    --------
    >>> identifying_columns(["referral_id", "Surname", "DOB", "offence"])
    {'Surname': 'name', 'DOB': 'date of birth'}
    """
    found: dict[str, str] = {}
    for col in columns:
        key = _normalise(col)
        for kind, pattern in _IDENTIFYING.items():
            if pattern.match(key):
                found[str(col)] = kind
                break
    return found


def pseudonymise(identifier: str, salt: str) -> str:
    """A stable pseudonymous reference for a person: ``p_`` + 16 hex digits of HMAC-SHA256.

    The same identifier and salt always give the same reference; without the salt the
    identifier cannot be recovered or checked by brute force over likely identifiers.

    Parameters
    ----------
    identifier : str
        The force's own identifier for the person (never stored).
    salt : str
        A secret held by the force, at least 16 characters.

    Examples
    --------
    >>> pseudonymise("12345", "a-long-secret-salt")
    'p_...'  # doctest: +SKIP
    """
    if not isinstance(salt, str) or len(salt) < 16:
        raise ValueError("`salt` must be a secret string of at least 16 characters.")
    digest = hmac.new(salt.encode("utf-8"), str(identifier).encode("utf-8"), hashlib.sha256).hexdigest()
    return "p_" + digest[:16]
