"""Checks for arguments, one per kind of parameter, with the same rule and message everywhere.

Every library function, the command line and the app check their arguments with these
functions, so that a significance level is "a real number between 0 and 1" in
:func:`~hotspots.gistar.gi_star`, :func:`~hotspots.change.change_cells` and ``--alpha`` alike.
Each check returns the value in its canonical type (``float``, ``int``, ``"YYYY-MM"``, ...) or
raises a :class:`~hotspots._errors.ParameterError` whose message names the argument in
backticks, states the rule, repeats the value received and, where it helps, the fix:

>>> alpha("0.05")
Traceback (most recent call last):
...
hotspots._errors.ParameterError: `alpha` must be a number between 0 and 1, exclusive (e.g. 0.05); got '0.05'.

**Names.** Messages name the Python argument, unless the caller maps names to what its user
typed. The command line maps every argument to its flag with :func:`argument_names`, so that a
bad value reaching a library function from ``hotspots analyse --alpha 2`` reads "`--alpha` must
be ..."; the mapping holds for the current thread or task only (a :class:`contextvars.ContextVar`).

**Several problems at once.** Inside ``with collect() as problems:``, ``problems.check(func,
...)`` records a failed check instead of raising, and the block raises one error listing them all
when it ends (osmnx's pattern, for forms and command lines with many arguments).

**Text.** Checks take values of the right type only: ``alpha("0.05")`` is refused, as a string
that looks like a number is usually a caller's mistake. Text typed by a user (the command line, a
form) is converted first with :func:`parse_number`, which names the argument when it is not a
number.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from ._errors import CRSError, HotspotsError, InputError, ParameterError

__all__ = [
    "argument_names",
    "shown",
    "setting",
    "python_only",
    "problem",
    "names_text",
    "counted",
    "closest_name",
    "Problems",
    "collect",
    "parse_number",
    "number",
    "alpha",
    "significance",
    "fraction",
    "positive",
    "non_negative",
    "distance",
    "whole",
    "permutations",
    "seed",
    "choice",
    "flag",
    "month",
    "month_range",
    "date",
    "geodataframe",
    "input_path",
    "output_file",
    "output_folder",
]

T = TypeVar("T")

_NAMES: ContextVar[Mapping[str, str]] = ContextVar("hotspots_argument_names", default=MappingProxyType({}))


# =============================================================================== names and messages
@contextmanager
def argument_names(names: Mapping[str, str]) -> Iterator[None]:
    """Show arguments under other names in messages raised inside the block.

    Parameters
    ----------
    names : mapping
        Python argument name → name the user knows, e.g. ``{"alpha": "--alpha"}``. Nested
        blocks add to (and override) the outer mapping.

    Examples
    --------
    >>> with argument_names({"alpha": "--alpha"}):
    ...     shown("alpha")
    '`--alpha`'
    >>> shown("alpha")
    '`alpha`'
    """
    token = _NAMES.set(MappingProxyType({**_NAMES.get(), **dict(names)}))
    try:
        yield
    finally:
        _NAMES.reset(token)


def shown(name: str) -> str:
    """``name`` as messages show it: in backticks, mapped by :func:`argument_names` if it is mapped."""
    return f"`{_NAMES.get().get(name, name)}`"


def python_only(*names: str) -> str:
    """``" (in Python only; the command line has no such option)"`` when on the command line (inside
    :func:`argument_names`) none of ``names`` has a flag, else ``""``: for a message that suggests
    several such settings with ``setting(..., where=False)`` and says it once.

    Examples
    --------
    >>> with argument_names({"crs": "--crs"}):
    ...     python_only("swap_xy", "x")
    ' (in Python only; the command line has no such options)'
    >>> python_only("swap_xy")
    ''
    """
    mapped = _NAMES.get()
    if not mapped or any(n in mapped for n in names):
        return ""
    return f" (in Python only; the command line has no such option{'s' if len(names) > 1 else ''})"


def setting(name: str, value: Any = True, *, app: str | None = None, where: bool = True) -> str:
    """A setting as its user would write it, in backticks, for the fix a message suggests.

    In Python ``name=value`` (``swap_xy=True``); on the command line (inside
    :func:`argument_names`) the flag with its value (``--crs EPSG:2157``, or the bare flag for
    ``True``), or, for a setting the command line does not offer, the Python form followed by
    "(in Python only; the command line has no such option)".

    Examples
    --------
    >>> setting("crs", "EPSG:2157")
    "`crs='EPSG:2157'`"
    >>> with argument_names({"crs": "--crs", "keep_holes": "--keep-holes"}):
    ...     setting("crs", "EPSG:2157"), setting("keep_holes"), setting("swap_xy")
    ('`--crs EPSG:2157`', '`--keep-holes`', '`swap_xy=True` (in Python only; the command line has no such option)')

    ``app`` names the app's control for the setting, put before the Python form outside the command
    line (the app and Python share messages): ``setting("keep_holes", app="Keep the boundary's
    holes")`` is '"Keep the boundary's holes" in the app, `keep_holes=True` in Python'. With
    ``where=False`` a setting the command line lacks is not followed by "(in Python only; ...)":
    the message says it once for all (:func:`python_only`).
    """
    names = _NAMES.get()
    python = f"`{name}={value!r}`"
    if not names:
        return python if app is None else f'"{app}" in the app, {python} in Python'

    flag = names.get(name)
    if flag is None:
        return f"{python} (in Python only; the command line has no such option)" if where else python
    return f"`{flag}`" if value is True else f"`{flag} {value}`"


def problem(name: str, rule: str, value: Any, fix: str = "") -> str:
    """The standard message: ``"`name` must be <rule>; got <value>. <fix>"``."""
    text = f"{shown(name)} must be {rule}; got {value!r}."
    return f"{text} {fix}" if fix else text


def names_text(names: Any, limit: int = 12) -> str:
    """Names for a message, plain and comma-separated: all of them, or the first ``limit`` and
    "... and N more".

    Examples
    --------
    >>> names_text(["Burglary", "Drugs"])
    'Burglary, Drugs'
    >>> names_text("abcde", limit=3)
    'a, b, c ... and 2 more'
    """
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} ... and {len(names) - limit} more"


def counted(n: float, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in the number it takes: "1 incident", "2,185 incidents",
    "1 field"; ``plural`` when adding "s" is wrong ("1 study area"... "2 people").

    Examples
    --------
    >>> counted(1, "incident"), counted(12_000, "field"), counted(2, "person", "people")
    ('1 incident', '12,000 fields', '2 people')
    """
    word = noun if n == 1 else (plural or f"{noun}s")
    return f"{n:,.0f} {word}" if float(n).is_integer() else f"{n:,} {word}"


def closest_name(name: Any, names: Any, key: Callable[[Any], str] | None = None) -> str | None:
    """The one of ``names`` closest to ``name`` (a likely misspelling), or None when none is close.

    Names are compared by ``key`` (default: lower case); :func:`difflib.get_close_matches` with
    its default cutoff (0.6) judges "close".

    Examples
    --------
    >>> closest_name("Burglry", ["Anti-social behaviour", "Burglary", "Drugs"])
    'Burglary'
    >>> closest_name("Arson", ["Drugs"]) is None
    True
    """
    import difflib

    key = key or (lambda n: str(n).lower())
    by_key: dict[str, str] = {}
    for n in names:
        by_key.setdefault(key(n), str(n))
    hit = difflib.get_close_matches(key(name), list(by_key), n=1)
    return by_key[hit[0]] if hit else None


def _fail(name: str, rule: str, value: Any, fix: str = "") -> ParameterError:
    if rule.startswith(("a number", "a whole number")) and _not_finite(value):  # inf, nan, '1e400': "a finite number"
        rule = "a finite " + rule[2:]
    return ParameterError(problem(name, rule, value, fix))


def _not_finite(value: Any) -> bool:
    """Whether ``value`` is, or is text for, an infinite or undefined number (``inf``, ``-inf``, ``nan``)."""
    if _is_bool(value):
        return False
    try:
        return not math.isfinite(float(value if _is_real(value) else str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return False


# =============================================================================== collecting problems
class Problems:
    """Failed checks recorded by :func:`collect` (see the module docstring)."""

    def __init__(self) -> None:
        self.errors: list[HotspotsError] = []

    def check(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``func(*args, **kwargs)``; on a :class:`HotspotsError`, record it and return None."""
        try:
            return func(*args, **kwargs)
        except HotspotsError as exc:
            self.errors.append(exc)
            return None

    def add(self, message: str, error: type[HotspotsError] = ParameterError) -> None:
        """Record a problem found by the caller's own test."""
        self.errors.append(error(message))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    @property
    def messages(self) -> list[str]:
        return [str(e) for e in self.errors]

    def raise_if_any(self) -> None:
        """Raise one error holding every recorded problem (nothing when there is none).

        One problem is raised as it was; several as one error of their common type (else
        :class:`HotspotsError`) whose message lists them on one line, with the list in
        ``error.problems``.
        """
        if not self.errors:
            return
        if len(self.errors) == 1:
            raise self.errors[0]
        kinds = {type(e) for e in self.errors}
        cls = kinds.pop() if len(kinds) == 1 else HotspotsError
        err = cls(f"{len(self.errors)} problems: " + " ".join(f"({i}) {m}" for i, m in enumerate(self.messages, 1)))
        err.problems = tuple(self.messages)  # type: ignore[attr-defined]
        raise err


@contextmanager
def collect() -> Iterator[Problems]:
    """Collect failed checks made with ``problems.check(...)`` and raise them together at the end.

    Examples
    --------
    >>> with collect() as problems:  # doctest: +ELLIPSIS
    ...     a = problems.check(alpha, 2)
    ...     n = problems.check(whole, -1, "permutations")
    Traceback (most recent call last):
    ...
    hotspots._errors.ParameterError: 2 problems: (1) `alpha` must be ...; got 2. (2) `permutations` must be ...; got -1.
    """
    problems = Problems()
    yield problems
    problems.raise_if_any()


# =============================================================================== numbers
def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not _is_bool(value)


def parse_number(value: Any, name: str, *, whole: bool = False) -> Any:
    """A number from text a user typed (``"0.05"``, ``" 250 "``, ``"1e3"``); numbers pass through.

    With ``whole=True`` the text must be a whole number (``"999"``, not ``"9.5"``). Ranges are
    checked afterwards by the check for the argument (:func:`alpha`, :func:`positive`, ...).
    None passes through (an argument not given).
    """
    if value is None or _is_real(value):
        return value
    text = str(value).strip()
    try:
        if whole:
            return int(text)
        out = float(text)
    except ValueError:
        raise _fail(name, "a whole number" if whole else "a number", value) from None
    return out


def _bound_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    def g(v: float) -> str:
        return f"{v:,g}"

    if low is not None and high is not None:
        if low_open and high_open:
            return f"between {g(low)} and {g(high)}, exclusive"
        if not low_open and not high_open:
            return f"from {g(low)} to {g(high)}"
        return f"{'above' if low_open else 'at least'} {g(low)} and {'below' if high_open else 'at most'} {g(high)}"
    if low is not None:
        return f"{'greater than' if low_open else 'at least'} {g(low)}"
    if high is not None:
        return ("less than " if high_open else "at most ") + g(high)
    return ""


def number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str | None = None,
    example: str | None = None,
    optional: bool = False,
) -> float | None:
    """A finite real number (not a bool, not text) within optional bounds, as ``float``.

    Parameters
    ----------
    value : Any
    name : str
        Argument name for messages.
    low, high : float, optional
        Bounds; inclusive unless ``low_open`` / ``high_open``.
    unit : str, optional
        Unit named in the message ("metres").
    example : str, optional
        A valid value shown in the message ("0.05").
    optional : bool
        Accept None (returned as None). Messages do not mention None: it means "automatic"
        or "not given", which the caller's documentation explains.
    """
    if value is None and optional:
        return None
    what = "a number" + (f" of {unit}" if unit else "")
    bounds = _bound_text(low, high, low_open, high_open)
    rule = what + (f" {bounds}" if bounds else "") + (f" (e.g. {example})" if example else "")
    if not _is_real(value):
        raise _fail(name, rule, value)
    v = float(value)
    if not math.isfinite(v):
        raise _fail(name, rule, value)
    if low is not None and (v < low or (low_open and v == low)):
        raise _fail(name, rule, value)
    if high is not None and (v > high or (high_open and v == high)):
        raise _fail(name, rule, value)
    return v


def alpha(value: Any, name: str = "alpha") -> float:
    """A significance level: a real number strictly between 0 and 1 (e.g. 0.05)."""
    return number(value, name, low=0.0, high=1.0, low_open=True, high_open=True, example="0.05")  # type: ignore[return-value]


#: Largest significance level :func:`significance` accepts for a hotspot analysis.
MAX_ALPHA = 0.2


def significance(value: Any, name: str = "alpha") -> float:
    """A significance level for calling hotspots and change: above 0 and at most :data:`MAX_ALPHA`.

    :func:`alpha` accepts any level strictly between 0 and 1 (the tests themselves are defined
    there); an analysis someone will act on is not: at 0.999 every cell is "significant at 0%
    confidence". The command line checks ``--alpha`` with this (the app offers 0.01, 0.05, 0.10).

    Examples
    --------
    >>> significance(0.1)
    0.1
    >>> significance(0.999)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hotspots._errors.ParameterError: `alpha` must be a number above 0 and at most 0.2 (e.g. 0.05); got 0.999. ...
    """
    rule = f"a number above 0 and at most {MAX_ALPHA:g} (e.g. 0.05)"
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) <= 0:  # the real range, said once
        raise _fail(name, rule, value)
    v = float(value)
    if v >= 1:
        raise _fail(name, rule, value)
    if v > MAX_ALPHA:
        raise _fail(
            name, rule, value,
            f"A larger level calls hotspots on evidence little better than chance ({1 - v:.1%} confidence): use 0.01, "
            "0.05 or 0.1.",
        )
    return v


#: Smallest bandwidth (metres) a kernel density estimate accepts: below it every cell centre lies
#: beyond the kernel of every point and the surface is all zeros (``--bandwidth 1e-9``).
MIN_BANDWIDTH_M = 1.0


def bandwidth(value: Any, name: str = "bandwidth", *, optional: bool = False) -> float | None:
    """A KDE bandwidth in metres: a finite number of at least :data:`MIN_BANDWIDTH_M`.

    Examples
    --------
    >>> bandwidth(250)
    250.0
    >>> bandwidth(1e-9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hotspots._errors.ParameterError: `bandwidth` must be a number of metres at least 1 (e.g. 500); got 1e-09. ...
    """
    small = _is_real(value) and 0 < float(value) < MIN_BANDWIDTH_M
    if small:  # the rule as number() says it, with why
        raise _fail(name, f"a number of metres at least {MIN_BANDWIDTH_M:g} (e.g. 500)", value,
                    "A bandwidth under a metre puts no kernel over any cell centre: the density would be all zeros. Use "
                    "hundreds of metres, or leave it automatic.")
    return number(value, name, low=MIN_BANDWIDTH_M, unit="metres", example="500", optional=optional)


def fraction(value: Any, name: str, *, example: str | None = None) -> float:
    """A share or proportion: a real number from 0 to 1 inclusive."""
    return number(value, name, low=0.0, high=1.0, example=example)  # type: ignore[return-value]


def positive(value: Any, name: str, *, unit: str | None = None, example: str | None = None, optional: bool = False) -> Any:
    """A finite real number greater than 0 (None too, when ``optional``)."""
    return number(value, name, low=0.0, low_open=True, unit=unit, example=example, optional=optional)


def non_negative(value: Any, name: str, *, unit: str | None = None, example: str | None = None, optional: bool = False) -> Any:
    """A finite real number, 0 or more (None too, when ``optional``)."""
    return number(value, name, low=0.0, unit=unit, example=example, optional=optional)


def distance(value: Any, name: str, *, zero: bool = False, example: str | None = None, optional: bool = False) -> Any:
    """A distance in metres: finite and greater than 0 (or 0 or more with ``zero=True``)."""
    return number(value, name, low=0.0, low_open=not zero, unit="metres", example=example, optional=optional)


def whole(
    value: Any,
    name: str,
    *,
    low: int | None = 0,
    high: int | None = None,
    unit: str | None = None,
    example: str | None = None,
    optional: bool = False,
) -> Any:
    """A whole number (an ``int``, or a float such as ``5.0`` holding one) in ``low..high``, as ``int``.

    ``low`` defaults to 0; give ``low=1`` for counts that must be positive, ``low=None`` for no
    lower bound. Bools are refused.
    """
    if value is None and optional:
        return None
    what = "a whole number" + (f" of {unit}" if unit else "")
    if low is not None and high is not None:
        what += f" from {low:,} to {high:,}"
    elif low is not None:
        what += f" >= {low:,}"
    elif high is not None:
        what += f" <= {high:,}"
    rule = what + (f" (e.g. {example})" if example else "")
    ok = _is_real(value) and math.isfinite(float(value)) and float(value) == math.floor(float(value))
    if not ok:
        raise _fail(name, rule, value)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise _fail(name, rule, value)
    return v


#: Most conditional permutations a Gi* analysis accepts (``--permutations``, the app, :func:`~hotspots.gi_star`).
#: Each permutation draws a neighbourhood's worth of values (8 bytes each) at once: 99,999 permutations of a 37-cell
#: neighbourhood take 30 MB, 100,000,000 take 28 GiB. 99,999 already resolves p down to 0.00002.
MAX_PERMUTATIONS = 99_999


def permutations(value: Any, name: str = "permutations") -> int:
    """A number of Gi* conditional permutations: a whole number from 0 to :data:`MAX_PERMUTATIONS`.

    The command line checks ``--permutations`` with this before reading any data; the app offers
    0 to 999; :func:`~hotspots.gi_star` checks its ``permutations`` with it too.

    Examples
    --------
    >>> permutations(999)
    999
    >>> permutations(100_000_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hotspots._errors.ParameterError: `permutations` must be a whole number from 0 to 99,999 (e.g. 999, or 0 for the exact ...
    """
    return whole(value, name, low=0, high=MAX_PERMUTATIONS, example="999, or 0 for the exact count test")


def seed(value: Any, name: str = "seed", *, optional: bool = True) -> int | None:
    """A random seed: a whole number >= 0 (None, when ``optional``, for fresh entropy)."""
    return whole(value, name, low=0, example="0", optional=optional)


# =============================================================================== choices and flags
def choice(value: Any, name: str, options: Collection[Any], *, optional: bool = False) -> Any:
    """One of ``options`` (compared with ``==``; text is matched exactly)."""
    if value is None and optional:
        return None
    listed = list(options)
    try:
        hit = any(_is_bool(value) == _is_bool(o) and bool(value == o) for o in listed)
    except (TypeError, ValueError):  # an array compared with a string
        hit = False
    if not hit:
        text = ", ".join(repr(o) for o in listed)
        raise _fail(name, f"one of {text}", value)
    return value


def flag(value: Any, name: str) -> bool:
    """True or False (Python or numpy bool); anything else, including 0/1 and "yes", is refused."""
    if _is_bool(value):
        return bool(value)
    raise _fail(name, "True or False", value)


# =============================================================================== months and dates
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH_RULE = "a month written YYYY-MM (e.g. 2023-07)"


def month(value: Any, name: str, *, optional: bool = False) -> Any:
    """A calendar month as ``"YYYY-MM"``.

    Accepts ``"2023-07"`` (or ``"2023-7"``, surrounding spaces ignored), and objects with a
    ``year`` and ``month`` (``datetime.date``, ``pandas.Timestamp``, ``pandas.Period``) or a
    ``numpy.datetime64``. Dates written with a day (``"2023-07-01"``) are refused: a month is
    asked for.
    """
    if value is None and optional:
        return None
    rule = _MONTH_RULE
    if isinstance(value, np.datetime64):
        value = str(value.astype("datetime64[M]"))
    if isinstance(value, str):
        m = _MONTH.fullmatch(value.strip())
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
        raise _fail(name, rule, value)
    y, mo = getattr(value, "year", None), getattr(value, "month", None)
    if isinstance(y, int) and isinstance(mo, int) and 1 <= mo <= 12:
        return f"{y:04d}-{mo:02d}"
    raise _fail(name, rule, value)


def month_range(value: Any, name: str, *, open_ends: bool = False) -> tuple[Any, Any]:
    """First and last month (inclusive) as ``("YYYY-MM", "YYYY-MM")``, first <= last.

    Accepts ``"2022-07:2023-06"`` or a pair of anything :func:`month` accepts. With
    ``open_ends=True`` either end may be None (or empty in the text form) for "no limit".
    """
    rule = "two months FIRST:LAST written YYYY-MM:YYYY-MM (e.g. 2022-07:2023-06)"
    pair: Any = value
    if isinstance(value, str):
        pair = [p.strip() or None for p in value.split(":")]
    try:
        first, last = pair
    except (TypeError, ValueError):
        raise _fail(name, rule, value) from None
    if (first is None or last is None) and not open_ends:
        raise _fail(name, rule, value)
    try:
        a = month(first, name, optional=open_ends)
        b = month(last, name, optional=open_ends)
    except ParameterError:
        raise _fail(name, rule, value) from None
    if a is not None and b is not None and a > b:
        raise ParameterError(f"{shown(name)} starts after it ends ({a} > {b}); give the earlier month first.")
    return a, b


def date(value: Any, name: str, *, optional: bool = False) -> Any:
    """A calendar day as :class:`datetime.date`: ``"YYYY-MM-DD"`` text, a date, datetime or Timestamp."""
    if value is None and optional:
        return None
    rule = "a date written YYYY-MM-DD (e.g. 2023-07-01)"
    if isinstance(value, np.datetime64):
        value = str(value.astype("datetime64[D]"))
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(name, rule, value)


# =============================================================================== tables
def geodataframe(value: Any, name: str) -> Any:
    """A GeoDataFrame with a CRS (a :class:`CRSError` when the CRS is missing); returned as it is."""
    import geopandas as gpd

    if not isinstance(value, gpd.GeoDataFrame):
        raise ParameterError(f"{shown(name)} must be a GeoDataFrame; got {type(value).__name__}.")
    if value.crs is None:
        raise CRSError(f"{shown(name)} has no CRS; set it with `.set_crs(27700)` (or the CRS it is in).")
    return value


# =============================================================================== output paths
def _as_path(value: Any, name: str, rule: str) -> Path:
    if isinstance(value, (str, Path)) and str(value).strip():
        return Path(value)
    raise _fail(name, rule, value)


def _parent_folder(path: Path, name: str) -> None:
    parent = path.parent
    if not parent.exists():
        raise ParameterError(
            f"{shown(name)} {str(path)!r} is in a folder that does not exist ({str(parent)!r}); create it first or choose "
            "another place."
        )
    if not parent.is_dir():
        raise ParameterError(f"{shown(name)} {str(path)!r}: {str(parent)!r} is not a folder; choose a path inside a folder.")


def input_path(value: Any, name: str) -> Path:
    """A file or folder to read, which must exist (an :class:`InputError` otherwise)."""
    path = _as_path(value, name, "a file or folder path")
    if not path.exists():
        raise InputError(f"{shown(name)} {str(path)!r} does not exist; check the path.")
    return path


def output_file(value: Any, name: str, *, suffixes: Collection[str] | None = None, new_folders: bool = False) -> Path:
    """A file to write: not a folder; its folder must exist unless ``new_folders``.

    Parameters
    ----------
    suffixes : collection of str, optional
        Allowed suffixes, lower case with the dot (``(".png", ".pdf")``); compared
        case-insensitively.
    new_folders : bool
        The caller creates missing folders (a library call writing inside a results folder);
        the command line never does, so that a typo cannot scatter folders over the file system.
    """
    listed = list(suffixes or [])
    ends = ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else "".join(listed)
    rule = "a file path" + (f" ending in {ends}" if ends else "")
    path = _as_path(value, name, rule)
    if suffixes is not None and path.suffix.lower() not in {s.lower() for s in suffixes}:
        raise _fail(name, rule, str(value), "The format follows the suffix.")
    if path.is_dir():
        raise ParameterError(f"{shown(name)} {str(path)!r} is a folder; give a file path" + (f" ({rule})." if ends else "."))
    if not new_folders:
        _parent_folder(path, name)
    return path


def output_folder(value: Any, name: str) -> Path:
    """A folder to write into: an existing folder, or a new one whose parent folder exists.

    Only the named folder itself may be created by the caller, never its parents, so a typo
    cannot scatter folders over the file system.
    """
    path = _as_path(value, name, "a folder path")
    if path.exists():
        if not path.is_dir():
            raise ParameterError(f"{shown(name)} {str(path)!r} exists and is not a folder; give a folder path.")
        return path
    _parent_folder(path, name)
    return path
