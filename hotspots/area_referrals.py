"""Each hotspot area's referral figures as published: one rule for every table of the areas
(``csv/hotspot_areas.csv``, the GeoPackage layer, the map's popups, the app's download)."""

from __future__ import annotations

from typing import Any

__all__ = ["AREA_REFERRAL_COLUMNS", "area_referral_figures"]


#: The referral figures of each hotspot area in every table of the areas (``csv/hotspot_areas.csv``, the
#: GeoPackage's layer, the map's popups, the app's download): column -> (published table, its column).
AREA_REFERRAL_COLUMNS = {
    "referrals": ("referrals_by_hotspot", "referrals"),
    "reparation_local_pct": ("referrals_by_hotspot", "local_pct"),
    "completed_pct": ("hotspot", "completed_pct"),
    "not_reoffended_pct": ("hotspot", "not_reoffended_pct"),
}


def area_referral_figures(pub: Any, area_ids: Any) -> dict[str, list[Any]]:
    """Each hotspot area's referral figures as published: the one rule of every area table.

    The app's ``hotspot_areas.csv`` had ``local_reparation_pct``, ``completed_pct`` and
    ``not_reoffended_pct`` where the command line's had ``reparation_local_pct`` alone.

    Parameters
    ----------
    pub : SchemePublication or None
        The protected publication (:func:`hotspots.publication.scheme_publication`); None gives no columns.
    area_ids : sequence
        The areas' ids, in the table's order.

    Returns
    -------
    dict
        :data:`AREA_REFERRAL_COLUMNS` that the publication has -> one value per area, as published
        (``"<5"``, ``"c"`` or ``"x"`` where hidden); ``referrals`` 0 for an area no referral names.
    """
    if pub is None or pub.referrals_by_hotspot is None:
        return {}
    keys = [str(a) for a in area_ids]
    out: dict[str, list[Any]] = {}
    for col, (table, src) in AREA_REFERRAL_COLUMNS.items():
        t = pub.referrals_by_hotspot if table == "referrals_by_hotspot" else pub.kpis.get(table)
        if t is None or src not in t.columns or "hotspot" not in t.columns:
            continue
        lookup = dict(zip(t["hotspot"].astype(str), t[src].astype(object)))
        out[col] = [lookup.get(k, 0 if col == "referrals" else None) for k in keys]
    return out
