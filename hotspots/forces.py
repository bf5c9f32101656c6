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

import numpy as np
import pandas as pd

from ._errors import ParameterError

__all__ = [
    "FAR_APART_KM", "FORCES", "FORCE_BOXES_KM", "NETWORK_FORCES", "Force", "detect_force", "far_apart_forces", "file_force",
    "force_id", "force_name", "network_force",
]

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

#: police.uk ids of the forces whose ground is a network, not an area: British Transport Police polices
#: the railways of Great Britain, so its incidents lie along lines and at stations hundreds of km apart
#: (Gloucester, Barnsley, King's Lynn: 3-4 a month each), and it has no force-area boundary to give.
#: :func:`hotspots.study_area.automatic_study_area` keeps every incident of such a force (no strays).
NETWORK_FORCES: frozenset[str] = frozenset({"btp"})


#: Where each force's incidents lie: a British National Grid box (km: easting min, northing min,
#: easting max, northing max) holding the middle 96 % of its street-level points (2nd to 98th
#: percentiles, police.uk 2025-01..03; Greater Manchester, the Metropolitan Police, West Midlands
#: and West Yorkshire from their counties' extents). It catches eastings and northings read the
#: wrong way round (:func:`hotspots.io.extent.swapped_for_force`), which put a force's points
#: elsewhere, often still on land (Cumbria's in Peterborough). British Transport Police (the whole
#: railway network) has none.
FORCE_BOXES_KM: dict[str, tuple[int, int, int, int]] = {
    "avon-and-somerset": (313, 114, 377, 184),
    "bedfordshire": (492, 220, 521, 254),
    "cambridgeshire": (514, 248, 559, 310),
    "cheshire": (337, 352, 393, 392),
    "city-of-london": (531, 180, 534, 182),
    "cleveland": (441, 513, 468, 535),
    "cumbria": (297, 468, 367, 561),
    "derbyshire": (402, 319, 453, 394),
    "devon-and-cornwall": (150, 30, 315, 135),
    "dorset": (346, 73, 418, 123),
    "durham": (408, 513, 445, 554),
    "dyfed-powys": (190, 199, 328, 308),
    "essex": (541, 177, 623, 232),
    "gloucestershire": (357, 196, 417, 234),
    "greater-manchester": (350, 381, 406, 421),
    "gwent": (311, 185, 351, 215),
    "hampshire": (424, 87, 487, 158),
    "hertfordshire": (499, 193, 549, 235),
    "humberside": (474, 405, 531, 468),
    "kent": (551, 135, 639, 175),
    "lancashire": (330, 406, 389, 464),
    "leicestershire": (436, 287, 483, 324),
    "lincolnshire": (481, 308, 557, 394),
    "merseyside": (326, 383, 357, 418),
    "metropolitan": (503, 155, 562, 201),
    "norfolk": (552, 282, 653, 342),
    "north-wales": (224, 332, 336, 384),
    "north-yorkshire": (398, 430, 505, 511),
    "northamptonshire": (456, 242, 500, 290),
    "northern-ireland": (40, 484, 164, 593),
    "northumbria": (402, 551, 441, 604),
    "nottinghamshire": (446, 333, 481, 391),
    "south-wales": (260, 168, 323, 208),
    "south-yorkshire": (430, 381, 466, 413),
    "staffordshire": (382, 299, 426, 357),
    "suffolk": (563, 234, 655, 295),
    "surrey": (484, 139, 538, 173),
    "sussex": (485, 98, 583, 140),
    "thames-valley": (433, 165, 502, 242),
    "warwickshire": (408, 247, 452, 301),
    "west-mercia": (330, 236, 408, 335),
    "west-midlands": (393, 268, 436, 304),
    "west-yorkshire": (392, 411, 456, 462),
    "wiltshire": (383, 128, 425, 191),
}

#: A force whose share of the incidents is below this is listed among the others, not named.
MIN_NAMED_SHARE = 0.05
#: The main force must hold this share of the incidents to be *the* force of the data.
MAIN_SHARE = 0.9
#: Forces whose incidents lie further apart than this (km, between the boxes holding the middle 96 % of
#: each force's incidents) are warned of by :func:`far_apart_forces`. Neighbours are 0-3 km apart
#: (Durham and Cleveland, Durham and North Yorkshire); Durham and Cumbria, across the empty Pennines, 43
#: km; Durham and Gwent 304 km.
FAR_APART_KM = 50.0
#: A force holding fewer than this share of the incidents is not weighed by :func:`far_apart_forces`.
FAR_APART_MIN_SHARE = 0.01

_FILE_FORCE = re.compile(r"^\d{4}-\d{2}-(?P<force>[a-z0-9-]+?)-street\.csv(\.gz)?$")
_WORDS = re.compile(r"[^a-z0-9]+")
_GENERIC_WORDS = {"police", "constabulary", "service", "force", "the", "of", "and"}


def _key(text: str) -> str:
    words = [w for w in _WORDS.split(str(text).lower().replace("&", " and ")) if w]
    return " ".join(w for w in words if w not in _GENERIC_WORDS)


_BY_KEY = {_key(name): fid for fid, name in FORCES.items()} | {_key(fid): fid for fid in FORCES}
_BY_KEY |= {"psni": "northern-ireland", "british transport": "btp", "met": "metropolitan", "gmp": "greater-manchester"}


def file_force(file_name: str) -> str | None:
    """The police.uk force id a monthly file's name gives (``2025-06-northern-ireland-street.csv.gz``
    -> ``"northern-ireland"``, in any case), else None."""
    m = _FILE_FORCE.match(str(file_name).lower())
    return m.group("force") if m else None


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


def _agrees(name: str, named: Force) -> bool:
    """True when the force ``name`` is the data's force or one of the forces they name together
    (``"A + B"``, each with at least :data:`MIN_NAMED_SHARE` of the incidents)."""
    return name == named.name or name in named.name.split(" + ")


def detect_force(incidents: Any, given: str | None = None) -> Force | None:
    """The force of ``incidents``: the name given, else police.uk's ``force`` column, else file names.

    Parameters
    ----------
    incidents : DataFrame
        Loaded incidents; read are ``force`` (from :func:`hotspots.io.load_police_uk`) and
        ``source`` (file names such as ``2025-01-leicestershire-street.csv``).
    given : str, optional
        A force named by the user (id or name; an unknown name is used as written). When the
        incidents name a force themselves (police.uk's "Falls within", or file names), the given
        one must be it (or one of the forces they name together): a contradicting name is refused.

    Returns
    -------
    Force or None
        None when nothing names a force (e.g. the synthetic demo or a user's own table).

    Raises
    ------
    ParameterError
        ``given`` is empty, or names another force than the incidents do (both named).

    Examples
    --------
    >>> detect_force(pd.DataFrame({"force": ["Leicestershire Police"] * 3})).id
    'leicestershire'
    >>> detect_force(pd.DataFrame({"x": [1]}), given="kent").name
    'Kent Police'
    """
    if given is not None:
        from .validation import shown

        text = str(given).strip()
        if not text:
            raise ParameterError(f"{shown('force')} is empty; give a police.uk force id or name (e.g. 'leicestershire'), "
                                 "or leave it out.")
        named = detect_force(incidents)
        name = force_name(text)
        if named is not None and named.source != "given" and not _agrees(name, named):
            # the files' own force wins over a name that contradicts them (Dorset's files titled "Cheshire Constabulary")
            raise ParameterError(
                f"{shown('force')} {text!r} ({name}) disagrees with the files, which name {named.name} for "
                f"{named.share:.1%} of the incidents ({named.source}). Leave {shown('force')} out to use the files' force, "
                f"or load {name}'s files."
            )
        share = named.share if named is not None else 1.0
        return Force(name, force_id(text), "given", share, named.others if named is not None else ())
    if not isinstance(incidents, pd.DataFrame) or len(incidents) == 0:
        return None
    if "force_source" in incidents.columns and "force" in incidents.columns and (incidents["force_source"] == "given").all():
        # a name the user gave (:func:`hotspots.preparation.prepare_inputs` writes it with its source)
        return Force(force_name(str(incidents["force"].iloc[0])), force_id(str(incidents["force"].iloc[0])), "given")
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


def network_force(incidents: Any) -> Force | None:
    """The force of ``incidents`` (:func:`detect_force`) when its ground is a network, not an area
    (:data:`NETWORK_FORCES`: British Transport Police), else None (any other force, several forces, or none named).

    Examples
    --------
    >>> network_force(pd.DataFrame({"force": ["British Transport Police"] * 3})).name
    'British Transport Police'
    >>> network_force(pd.DataFrame({"force": ["Dorset Police"] * 3})) is None
    True
    """
    found = detect_force(incidents)
    return found if found is not None and found.id in NETWORK_FORCES else None


def _box_gap_km(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    dx = max(0.0, a[0] - b[2], b[0] - a[2])
    dy = max(0.0, a[1] - b[3], b[1] - a[3])
    return float(np.hypot(dx, dy)) / 1000


def far_apart_forces(incidents: Any, gap_km: float = FAR_APART_KM) -> str:
    """A warning when the forces in ``incidents`` fall in groups far apart, else ``""``.

    Each force named in the ``force`` column (police.uk's "Falls within") with at least
    :data:`FAR_APART_MIN_SHARE` of the incidents is boxed by the 2nd to 98th percentiles of its
    points' coordinates (the strays police.uk's files hold across the country left out); forces
    whose boxes lie within ``gap_km`` of each other, directly or through others, form one group.
    Two groups or more (Durham and Gwent) make one grid, automatic bandwidth and cell size, and
    study area span the empty ground between them (a 780 x 294-cell grid, a 23.7 km bandwidth).

    Parameters
    ----------
    incidents : GeoDataFrame
        Loaded incidents in a projected CRS (metres), with a ``force`` column.
    gap_km : float
        Groups further apart than this are warned of.

    Returns
    -------
    str
        The warning (naming the groups, how far apart they lie, and the fix), or ``""``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame({"force": ["Durham Constabulary"] * 2 + ["Gwent Police"] * 2},
    ...                        geometry=gpd.points_from_xy([425e3, 426e3, 330e3, 331e3], [542e3, 543e3, 195e3, 196e3]),
    ...                        crs=27700)
    >>> far_apart_forces(pts)[:84]
    'the incidents lie in 2 groups of forces far apart: Durham Constabulary; Gwent Police'
    """
    import geopandas as gpd

    if not isinstance(incidents, gpd.GeoDataFrame) or "force" not in incidents.columns or len(incidents) < 2:
        return ""
    if incidents.crs is None or not incidents.crs.is_projected:
        return ""
    geom = incidents.geometry
    ok = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
    names = incidents["force"].fillna("").astype(str).str.strip().to_numpy(dtype=str)[ok]
    x, y = geom[ok].x.to_numpy(), geom[ok].y.to_numpy()
    forces, counts = np.unique(names, return_counts=True)
    order = np.argsort(-counts, kind="stable")  # the most incidents first (names alphabetical among equals)
    forces = [forces[i] for i in order if forces[i] and counts[i] >= FAR_APART_MIN_SHARE * len(names)]
    if len(forces) < 2:
        return ""
    boxes = []
    for f in forces:
        fx, fy = x[names == f], y[names == f]
        boxes.append((np.percentile(fx, 2), np.percentile(fy, 2), np.percentile(fx, 98), np.percentile(fy, 98)))
    group = list(range(len(forces)))  # union of forces within gap_km, through others too
    for i in range(len(forces)):
        for j in range(i):
            if _box_gap_km(boxes[i], boxes[j]) <= gap_km:
                old, new = group[i], group[j]
                group = [new if g == old else g for g in group]
    ids = sorted(set(group), key=group.index)
    if len(ids) < 2:
        return ""
    members = [[i for i in range(len(forces)) if group[i] == g] for g in ids]
    nearest = min(
        _box_gap_km(boxes[i], boxes[j]) for a in range(len(members)) for b in range(a) for i in members[a] for j in members[b]
    )
    shown = "; ".join(" + ".join(force_name(forces[i]) for i in m) for m in members)
    return (
        f"the incidents lie in {len(members)} groups of forces far apart: {shown} ({nearest:,.0f} km apart or more, "
        f"beyond {gap_km:,.0f} km). One analysis spans the empty ground between them: the grid, the automatic "
        "bandwidth and cell size, and the study area are set by the whole extent. Analyse each force's files "
        "separately (one folder per force)"
    )
