"""Which police force the incidents belong to: from police.uk's columns, the file names, or a name given.

police.uk street-level files name the force in every row: ``Falls within`` (the force whose
area the crime falls in) and ``Reported by`` (the force that reported it; the same in the
street files). :func:`hotspots.io.load_police_uk` keeps it as the ``force`` column and
:func:`detect_force` reads it back as a :class:`Force`, for titles, captions, the app and the
parameters sidecar. A name the user gives (``--force``) always wins.

:data:`FORCES` lists the 45 forces police.uk publishes, by their police.uk id (the
``leicestershire`` of ``2025-01-leicestershire-street.csv`` and of the API's
``/api/leicestershire/neighbourhoods``) with the name police.uk writes in ``Falls within``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._errors import ParameterError

__all__ = ["FORCES", "Force", "detect_force", "force_id", "force_name"]

#: police.uk force id -> the force's name as police.uk writes it (``Falls within``; the API's
#: ``/api/forces`` gives the same names).
FORCES: dict[str, str] = {
    "avon-and-somerset": "Avon and Somerset Constabulary",
    "bedfordshire": "Bedfordshire Police",
    "btp": "British Transport Police",
    "cambridgeshire": "Cambridgeshire Constabulary",
    "cheshire": "Cheshire Constabulary",
    "city-of-london": "City of London Police",
    "cleveland": "Cleveland Police",
    "cumbria": "Cumbria Constabulary",
    "derbyshire": "Derbyshire Constabulary",
    "devon-and-cornwall": "Devon & Cornwall Police",
    "dorset": "Dorset Police",
    "durham": "Durham Constabulary",
    "dyfed-powys": "Dyfed-Powys Police",
    "essex": "Essex Police",
    "gloucestershire": "Gloucestershire Constabulary",
    "greater-manchester": "Greater Manchester Police",
    "gwent": "Gwent Police",
    "hampshire": "Hampshire Constabulary",
    "hertfordshire": "Hertfordshire Constabulary",
    "humberside": "Humberside Police",
    "kent": "Kent Police",
    "lancashire": "Lancashire Constabulary",
    "leicestershire": "Leicestershire Police",
    "lincolnshire": "Lincolnshire Police",
    "merseyside": "Merseyside Police",
    "metropolitan": "Metropolitan Police Service",
    "norfolk": "Norfolk Constabulary",
    "north-wales": "North Wales Police",
    "north-yorkshire": "North Yorkshire Police",
    "northamptonshire": "Northamptonshire Police",
    "northern-ireland": "Police Service of Northern Ireland",
    "northumbria": "Northumbria Police",
    "nottinghamshire": "Nottinghamshire Police",
    "south-wales": "South Wales Police",
    "south-yorkshire": "South Yorkshire Police",
    "staffordshire": "Staffordshire Police",
    "suffolk": "Suffolk Constabulary",
    "surrey": "Surrey Police",
    "sussex": "Sussex Police",
    "thames-valley": "Thames Valley Police",
    "warwickshire": "Warwickshire Police",
    "west-mercia": "West Mercia Police",
    "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police",
    "wiltshire": "Wiltshire Police",
}

#: A force whose share of the incidents is below this is listed among the others, not named.
MIN_NAMED_SHARE = 0.05
#: The main force must hold this share of the incidents to be *the* force of the data.
MAIN_SHARE = 0.9

_FILE_FORCE = re.compile(r"^\d{4}-\d{2}-(?P<force>[a-z0-9-]+?)-street\.csv(\.gz)?$")
_WORDS = re.compile(r"[^a-z0-9]+")
_GENERIC_WORDS = {"police", "constabulary", "service", "force", "the", "of", "and"}


def _key(text: str) -> str:
    words = [w for w in _WORDS.split(str(text).lower().replace("&", " and ")) if w]
    return " ".join(w for w in words if w not in _GENERIC_WORDS)


_BY_KEY = {_key(name): fid for fid, name in FORCES.items()} | {_key(fid): fid for fid in FORCES}
_BY_KEY |= {"psni": "northern-ireland", "british transport": "btp", "met": "metropolitan", "gmp": "greater-manchester"}


def force_id(name: Any) -> str | None:
    """The police.uk id of a force given by id or name (any case, with or without "Police").

    Examples
    --------
    >>> force_id("Leicestershire Police"), force_id("leicestershire"), force_id("Devon and Cornwall")
    ('leicestershire', 'leicestershire', 'devon-and-cornwall')
    >>> force_id("Atlantis Constabulary") is None
    True
    """
    if name is None:
        return None
    text = str(name).strip()
    if text.lower() in FORCES:
        return text.lower()
    return _BY_KEY.get(_key(text))


def force_name(name_or_id: Any) -> str:
    """police.uk's name of a force given by id or name; an unknown name comes back as given."""
    fid = force_id(name_or_id)
    return FORCES[fid] if fid else str(name_or_id).strip()


@dataclass(frozen=True)
class Force:
    """The police force of a set of incidents.

    Attributes
    ----------
    name : str
        ``"Leicestershire Police"``; several forces' names joined with " + " when the data mix
        forces and none holds :data:`MAIN_SHARE` of the incidents.
    id : str or None
        police.uk id (``"leicestershire"``), when known and one force.
    source : str
        Where the name came from: ``"given"``, ``"police.uk 'Falls within'"`` or ``"file names"``.
    share : float
        Share of the incidents that carry the name (1.0 when given).
    others : tuple of str
        Other forces present in the data (each with at least one incident).
    """

    name: str
    id: str | None
    source: str
    share: float = 1.0
    others: tuple[str, ...] = ()

    def describe(self) -> str:
        """The announcement, e.g. ``"force: Leicestershire Police (police.uk 'Falls within' of 100% of incidents)"``."""
        if self.source == "given":
            return f"force: {self.name} (as given)"
        text = f"force: {self.name} (from {self.source}, {self.share:.1%} of incidents)"
        if self.others:
            shown = ", ".join(self.others[:3]) + (" ..." if len(self.others) > 3 else "")
            text += f"; also present: {shown}"
        return text

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "source": self.source,
            "share_of_incidents": round(self.share, 4),
            "others": list(self.others),
        }


def _from_counts(counts: pd.Series, source: str) -> Force | None:
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    if len(counts) == 0:
        return None
    total = float(counts.sum())
    top = str(counts.index[0])
    share = float(counts.iloc[0]) / total
    if share >= MAIN_SHARE:
        return Force(force_name(top), force_id(top), source, share, tuple(force_name(o) for o in counts.index[1:]))
    named = [str(k) for k, v in counts.items() if v / total >= MIN_NAMED_SHARE]
    rest = [force_name(k) for k in counts.index if str(k) not in named]
    return Force(" + ".join(force_name(n) for n in named), None, source, float(counts[named].sum()) / total, tuple(rest))


def detect_force(incidents: Any, given: str | None = None) -> Force | None:
    """The force of ``incidents``: the name given, else police.uk's ``force`` column, else file names.

    Parameters
    ----------
    incidents : DataFrame
        Loaded incidents; read are ``force`` (from :func:`hotspots.io.load_police_uk`) and
        ``source`` (file names such as ``2025-01-leicestershire-street.csv``).
    given : str, optional
        A force named by the user (id or name; an unknown name is used as written).

    Returns
    -------
    Force or None
        None when nothing names a force (e.g. the synthetic demo or a user's own table).

    Examples
    --------
    >>> detect_force(pd.DataFrame({"force": ["Leicestershire Police"] * 3})).id
    'leicestershire'
    >>> detect_force(pd.DataFrame({"x": [1]}), given="kent").name
    'Kent Police'
    """
    if given is not None:
        text = str(given).strip()
        if not text:
            raise ParameterError("`force` is empty; give a police.uk force id or name (e.g. 'leicestershire'), or leave it out.")
        return Force(force_name(text), force_id(text), "given")
    if not isinstance(incidents, pd.DataFrame) or len(incidents) == 0:
        return None
    if "force" in incidents.columns:
        named = incidents["force"].dropna().astype(str).str.strip()
        named = named[named.str.len() > 0]
        if len(named):
            return _from_counts(named.value_counts(), "police.uk 'Falls within'")
    if "source" in incidents.columns:
        files = incidents["source"].dropna().astype(str).str.split(r"[/\\:]").str[-1]
        ids = files.str.extract(_FILE_FORCE)["force"].dropna()
        ids = ids[ids.isin(FORCES.keys())]
        if len(ids):
            return _from_counts(ids.value_counts(), "file names")
    return None
