"""Exception classes used across :mod:`hotspots`.

Every error a user can cause subclasses :class:`HotspotsError`, itself a :class:`ValueError`, so
callers can catch one type. Messages name the column, row or argument at fault and the fix, with
names in backticks.
"""

from __future__ import annotations

__all__ = [
    "HotspotsError",
    "InputError",
    "LimitError",
    "SchemaError",
    "CRSError",
    "PrivacyError",
    "ParameterError",
]


class HotspotsError(ValueError):
    """Base class for every error raised on purpose by :mod:`hotspots`."""


class InputError(HotspotsError):
    """An input file or table cannot be read (missing, empty, not a data format, bad encoding)."""


class SchemaError(InputError):
    """A table lacks a required column, or a column holds values of the wrong type."""


class CRSError(HotspotsError):
    """Coordinates or coordinate reference systems are missing, inconsistent or unusable."""


class PrivacyError(HotspotsError):
    """Input holds personal data that must not enter the system (names, dates of birth, addresses)."""


class ParameterError(HotspotsError):
    """An analysis argument is out of range or inconsistent with the data."""


class LimitError(HotspotsError):
    """An input is larger than the load limits allow (rows, columns, unpacked size, memory, time).

    Not an :class:`InputError`: a load that reaches a limit is refused as a whole (the loaders
    never skip it as one unreadable file and go on with the rest).
    """
