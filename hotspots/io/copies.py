"""Files loaded twice, and ids read twice: decided per file, never by dropping identical rows one by one.

A month loaded twice (a second download, a copy re-saved from Excel with its columns reordered or
its coordinates rounded) is a whole *file* that repeats another: most of its Crime IDs were read
from a file of the same force and month, or its content is identical. All its rows go,
anti-social behaviour included (ASB rows have no Crime ID, so no id can match them). Identical ASB
rows in genuinely different files (a month split in two) are separate incidents and stay.

* :func:`file_signature` -- what a file is compared by (kept in its part's ``attrs``);
* :func:`find_copies` -- which files copy an earlier one, and why;
* :func:`repeated_ids` -- rows repeating an id from another file: with ``by_incident`` (police.uk)
  only a repeat with the same month and category is the same incident; others are kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._common import content_keys, norm_key

__all__ = [
    "COPY_SHARE", "OTHER_MONTH_COPY_SHARE", "FileSignature", "file_signature", "find_copies", "copy_reason", "repeated_ids",
    "distinct_ids",
]

#: A file whose Crime IDs were read from an earlier file of the same month and force for more than
#: this share is a copy of that file.
COPY_SHARE = 0.5
#: A file whose rows with a Crime ID (the same id, crime type and location) were read from an earlier
#: file of the same force but another month for more than this share is a copy saved under another
#: month. Ids alone do
#: not tell: Northern Ireland's monthly files give 85-100 % of their ids again to other crimes (other
#: places and types) in other months (police.uk 2025).
OTHER_MONTH_COPY_SHARE = 0.9

_POLICE_NAME = re.compile(r"^(?:.*/)?\d{4}-\d{2}-[a-z0-9-]+-street\.csv(?:\.gz)?$", re.IGNORECASE)


class FileSignature(dict):
    """A file's signature (:func:`file_signature`), kept in its part's ``attrs``. pandas deep-copies
    ``attrs`` on every operation on a frame; a signature holds every Crime ID of the file, so it is
    never copied (it is not changed once made) and compares by identity."""

    def __deepcopy__(self, memo: dict[int, Any]) -> FileSignature:
        return self

    __eq__ = object.__eq__  # type: ignore[assignment]
    __ne__ = object.__ne__  # type: ignore[assignment]
    __hash__ = object.__hash__  # type: ignore[assignment]


def file_signature(
    frame: pd.DataFrame, given_ids: pd.Series, main_month: int | None, force: pd.Series | None, row_keys: pd.Series | None = None
) -> FileSignature:
    """What :func:`find_copies` compares files by, computed on every row as read (before any filter).

    Parameters
    ----------
    frame : DataFrame
        The file's rows as read.
    given_ids : Series
        The ids the file gives (NA where a row has none; ASB rows of police.uk files).
    main_month : int or None
        The file's commonest month, ``year * 12 + month - 1``.
    force : Series, optional
        The force of each row (police.uk's "Falls within").
    row_keys : Series of str, optional
        What each row is apart from its month (Crime ID, crime type and location, as the loaders give
        it), to find a month's file saved under another month; rows without an id count for nothing.

    Returns
    -------
    FileSignature
        A dict of ``given_ids`` (frozenset of str), ``main_month``, ``main_force`` (normalised, or None),
        ``row_keys`` (frozenset of the ``row_keys`` of the rows with an id; empty without them) and
        ``digest`` (a hash of the rows whatever the order of the rows and columns; None for a file with
        ids and a month, which :func:`find_copies` compares by its ids).
    """
    ids = frozenset(str(x) for x in pd.unique(given_ids.dropna().to_numpy(dtype=object)))
    main_force = None
    if force is not None and force.notna().any():
        main_force = norm_key(force.dropna().value_counts().index[0])
    keys = frozenset(row_keys[given_ids.notna().to_numpy()].astype(str)) if ids and row_keys is not None else frozenset()
    if ids and main_month is not None:  # identical content has the same ids, month and force: no need to hash it
        return FileSignature(given_ids=ids, main_month=main_month, main_force=main_force, row_keys=keys, digest=None)
    cols = sorted((c for c in frame.columns if frame[c].dtype.name != "geometry"), key=lambda c: (norm_key(c), str(c)))
    h = hashlib.sha1(str(len(frame)).encode())
    if len(frame) and cols:
        try:
            rows = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
        except TypeError:  # unhashable cells (lists from a GeoJSON property): hash their text
            rows = pd.util.hash_pandas_object(content_keys(frame[cols]), index=False).to_numpy()
        h.update("\x1f".join(norm_key(c) for c in cols).encode())
        h.update(np.sort(rows).tobytes())
    return FileSignature(given_ids=ids, main_month=main_month, main_force=main_force, row_keys=keys, digest=h.hexdigest())


def find_copies(signatures: Sequence[Mapping[str, Any]], names: Sequence[str] = ()) -> dict[int, tuple[int, str]]:
    """Which files copy an earlier file: ``{index: (index of the file copied, why)}``.

    Files named as police.uk names them (``2025-06-kent-street.csv``, given in ``names``) come
    first, then the others in their order, then files without a main month (every row out of range).
    File ``j`` copies an earlier file ``i`` (not itself a copy, and with a main month) when their
    content is identical, or when both are of the same force and more than :data:`COPY_SHARE` of
    ``j``'s ids are among ``i``'s with the same main month, or more than :data:`OTHER_MONTH_COPY_SHARE`
    of its rows with an id (the same ``row_keys``) with another (a month's file saved
    under another month's name and Month).

    Examples
    --------
    >>> a = {"given_ids": frozenset("abc"), "main_month": 1, "main_force": "kent", "digest": "x"}
    >>> b = {**a, "given_ids": frozenset("abd"), "digest": "y"}
    >>> find_copies([a, b]), find_copies([a, {**b, "main_month": 2}])
    ({1: (0, '2 of its 3 Crime IDs are in it')}, {})
    >>> c = {**a, "row_keys": frozenset({1, 2, 3})}
    >>> find_copies([c, {**c, "main_month": 2, "digest": "y"}])[1][1]
    'all 3 of its rows with a Crime ID are in it (id, crime type and location), under another month'
    >>> find_copies([c, {**c, "main_month": 2, "row_keys": frozenset({4, 5, 6}), "digest": "z"}])  # ids given to other crimes
    {}
    >>> find_copies([a, {**a, "digest": "x"}], ["2025-06-kent-street (1).csv", "2025-06-kent-street.csv"])
    {0: (1, 'the same rows')}
    """
    out: dict[int, tuple[int, str]] = {}
    # a file with police.uk's own name (2025-06-kent-street.csv) is the original of a copy with another name
    # and a file with no month left (all out of range: 2027-06 saved in 2026) is never the original of one with months
    order = sorted(range(len(signatures)), key=lambda k: (signatures[k].get("main_month", 0) is None,
                                                          not _POLICE_NAME.match(str(names[k]) if names else ""), k))
    for pos, j in enumerate(order):
        sj = signatures[j]
        if "digest" not in sj:
            continue
        for i in order[:pos]:
            si = signatures[i]
            if i in out or "digest" not in si:
                continue
            if si["digest"] is not None and si["digest"] == sj["digest"]:
                out[j] = (i, "the same rows")
                break
            if si["main_force"] != sj["main_force"] or si["main_month"] is None:
                continue
            ids = sj["given_ids"]
            if ids:
                shared = len(ids & si["given_ids"])
                if si["main_month"] == sj["main_month"] and shared > COPY_SHARE * len(ids):
                    out[j] = (i, f"{shared:,} of its {len(ids):,} Crime IDs are in it")
                    break
            rows = sj.get("row_keys") or frozenset()
            if rows and si["main_month"] != sj["main_month"]:  # Northern Ireland gives ids again, to other rows
                shared = len(rows & (si.get("row_keys") or frozenset()))
                if shared > OTHER_MONTH_COPY_SHARE * len(rows):
                    share = f"all {shared:,} of its" if shared == len(rows) else f"{shared:,} of its {len(rows):,}"
                    out[j] = (i, f"{share} rows with a Crime ID are in it (id, crime type and location), under another month")
                    break
    return out


def copy_reason(original: str, why: str = "") -> str:
    """The drop reason of the rows of a copy of the file named ``original``, ``why`` as
    :func:`find_copies` gives it (a copy under another month says so)."""
    if why.endswith("under another month"):
        return f"copy of {original} (its rows, under another month)"
    return f"copy of {original} (same month loaded twice)"


def repeated_ids(
    df: pd.DataFrame, id_col: str, alive: np.ndarray, *, by_incident: bool, keep_last: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (still ``alive``) repeating an id read from an earlier row.

    Ids a loader derived from a row's content (column ``_given`` False) are never dropped: two
    identical ASB rows in two files get the same derived id and are two incidents (``other``).
    With ``by_incident`` (police.uk Crime IDs), a repeat is the same incident only with the same
    ``month`` and ``category``: Northern Ireland's files give a Crime ID to other crimes in other
    months. ``keep_last`` (referrals, task sites: a later export updates a record): the last row of
    an id is kept and the earlier ones are the repeats.

    Returns
    -------
    dup : ndarray of bool
        The repeats to drop.
    other : ndarray of bool
        Rows repeating an id with another month or category: other incidents, kept (give them ids of
        their own with :func:`distinct_ids`).
    """
    given = df["_given"].to_numpy(dtype=bool) if "_given" in df.columns else np.ones(len(df), dtype=bool)
    alive = np.asarray(alive, dtype=bool)
    dup = np.zeros(len(df), dtype=bool)
    other = np.zeros(len(df), dtype=bool)
    if not alive.any():
        return dup, other
    # only the rows of ids seen twice can repeat (cheap on millions of rows)
    cand = np.flatnonzero(alive)
    cand = cand[df[id_col].iloc[cand].duplicated(keep=False).to_numpy()]
    if not cand.size:
        return dup, other
    sub = df.iloc[cand]
    keys = [id_col] + ([c for c in ("month", "category") if c in df.columns] if by_incident else [])
    which = "last" if keep_last else "first"
    same = sub[keys].duplicated(keep=which).to_numpy() & given[cand]
    dup[cand] = same
    # an id derived in two files from identical rows (ASB at one map point) names two incidents
    other[cand] = sub[id_col].duplicated(keep=which).to_numpy() & ~same
    return dup, other


def distinct_ids(ids: pd.Series, other: np.ndarray) -> pd.Series:
    """``ids`` with the ``other`` rows (an id given again to another incident) made distinct:
    ``<id>#2``, ``<id>#3``, ... in the order read, so that every kept incident has its own id.

    Examples
    --------
    >>> distinct_ids(pd.Series(["a", "a", "b", "a"]), np.array([False, True, False, True])).tolist()
    ['a', 'a#2', 'b', 'a#3']
    """
    if not other.any():
        return ids
    out = ids.astype(object).copy()
    occurrence = ids.groupby(ids, sort=False).cumcount().to_numpy() + 1
    out[other] = [f"{i}#{k}" for i, k in zip(ids[other].tolist(), occurrence[other].tolist())]
    return out.astype(ids.dtype)
