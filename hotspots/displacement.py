"""Displacement and diffusion of benefit: the Weighted Displacement Quotient (WDQ).

Did ASB fall in the treated area, and did it move next door? Bowers & Johnson (2003) compare
three areas — the response (target) area R, a buffer D around it, and a control area C — before
(b) and after (a) the scheme. With counts ``Rb, Ra, Db, Da, Cb, Ca``:

* success measure ``Ra/Ca − Rb/Cb``: below 0 the target improved relative to the control;
* buffer displacement measure ``Da/Ca − Db/Cb``: above 0 the buffer worsened relative to the
  control (possible displacement), below 0 it improved (possible diffusion of benefit);
* ``WDQ = buffer measure / success measure``. Only meaningful when the success measure is below
  0: WDQ > 0 diffusion of benefit (> 1: the buffer gained more than the target); WDQ < 0
  displacement (below −1: displacement outweighs the gain in the target area); 0 neither.
  When the success measure is 0 or more the scheme did not work relative to the control, so
  there is nothing to be displaced and the WDQ is reported as not interpretable (NaN);
* total net effect ``TNE = [Rb·(Ca/Cb) − Ra] + [Db·(Ca/Cb) − Da]`` (Guerette 2009): incidents
  prevented in target and buffer together, after allowing for the control area's trend; positive
  is a net reduction;
* gross effect ``GE = Rb − Ra`` and net effect ``NE = Rb/Cb − Ra/Ca`` (Guerette 2009).

Formulas as in Guerette (2009), *Analyzing Crime Displacement and Diffusion*, POP Center Tool
Guide No. 10, Appendix B. The WDQ has no significance test; Wheeler & Ratcliffe (2018) propose the
weighted displacement difference for that. Period lengths cancel in every ratio above (each ratio
compares two areas over the same period), so before and after may differ in length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from . import validation
from ._errors import CRSError, ParameterError
from .area_hits import polygon_in
from .change import OVERLAP_TOLERANCE_M2, Period, split_periods
from .grid import points_xy

__all__ = ["WDQResult", "wdq", "wdq_areas"]


@dataclass(frozen=True)
class WDQResult:
    """Weighted Displacement Quotient and its companions.

    Attributes
    ----------
    Rb, Ra, Db, Da, Cb, Ca : float
        Counts in the response (target), buffer and control areas, before and after.
    success_measure : float
        ``Ra/Ca − Rb/Cb``; below 0 is success.
    buffer_measure : float
        ``Da/Ca − Db/Cb``; above 0 possible displacement, below 0 possible diffusion.
    wdq : float
        ``buffer_measure / success_measure``; NaN when the success measure is >= 0.
    total_net_effect : float
        ``[Rb·(Ca/Cb) − Ra] + [Db·(Ca/Cb) − Da]``; incidents prevented net (positive = fewer).
    gross_effect : float
        ``Rb − Ra``.
    net_effect : float
        ``Rb/Cb − Ra/Ca``.
    interpretation : str
        Plain-language reading of the numbers.
    params : dict
        Periods, buffer distance and area sizes when computed from incidents.
    """

    Rb: float
    Ra: float
    Db: float
    Da: float
    Cb: float
    Ca: float
    success_measure: float
    buffer_measure: float
    wdq: float
    total_net_effect: float
    gross_effect: float
    net_effect: float
    interpretation: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def interpretable(self) -> bool:
        """True when the success measure is below 0, so the WDQ means something."""
        return not np.isnan(self.wdq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "Rb": self.Rb, "Ra": self.Ra, "Db": self.Db, "Da": self.Da, "Cb": self.Cb, "Ca": self.Ca,
            "success_measure": self.success_measure, "buffer_measure": self.buffer_measure, "wdq": self.wdq,
            "total_net_effect": self.total_net_effect, "gross_effect": self.gross_effect,
            "net_effect": self.net_effect, "interpretation": self.interpretation,
        }


def _interpret(success: float, buffer: float, q: float, tne: float) -> str:
    net = (
        f"Total net effect: {tne:+.1f} incidents "
        + ("(a net reduction in target and buffer together, allowing for the control area's trend)." if tne > 0
           else "(no net reduction in target and buffer together, allowing for the control area's trend)." if tne < 0
           else "(no net change).")
    )
    if success >= 0:
        return (
            f"The target area did not improve relative to the control area (success measure {success:+.3f} >= 0), "
            "so the WDQ is not interpretable: there is no gain to be displaced or to spread. " + net
        )
    if q > 1:
        what = "diffusion of benefit larger than the gain in the target area itself: the buffer improved even more."
    elif q > 0:
        what = "diffusion of benefit: the buffer improved as well, relative to the control area."
    elif q == 0:
        what = "neither displacement nor diffusion of benefit: the buffer changed as the control area did."
    elif q >= -1:
        what = "some displacement into the buffer, smaller than the gain in the target area (the scheme still gained)."
    else:
        what = "displacement into the buffer outweighs the gain in the target area."
    # the caveat leads: read alone, "diffusion of benefit ... net reduction" contradicted the tested
    # reading beside it ("no sign of displacement", p = 0.93) for a tester
    return (
        "Descriptive only, not a test of chance (with few incidents, or places that vary from year to year, these ratios "
        "swing on their own; the tested reading is the pooled rings-vs-beyond change, or hotspots.wdd on the same "
        f"counts): the target area improved relative to the control area (success measure {success:+.3f}). WDQ {q:+.2f}: "
        f"{what} " + net
    )


def wdq(Rb: float, Ra: float, Db: float, Da: float, Cb: float, Ca: float) -> WDQResult:
    """Weighted Displacement Quotient from counts (Bowers & Johnson 2003).

    Parameters
    ----------
    Rb, Ra : float
        Incidents in the response (target) area before and after.
    Db, Da : float
        Incidents in the buffer (possible displacement) area before and after.
    Cb, Ca : float
        Incidents in the control area before and after; both must be > 0.

    Returns
    -------
    WDQResult

    Examples
    --------
    Target halves (100 → 50), buffer rises by half (100 → 150), control flat (100 → 100):
    all the gain moved next door.

    >>> r = wdq(100, 50, 100, 150, 100, 100)
    >>> r.success_measure, r.buffer_measure, r.wdq, r.total_net_effect
    (-0.5, 0.5, -1.0, 0.0)
    """
    vals = {"Rb": Rb, "Ra": Ra, "Db": Db, "Da": Da, "Cb": Cb, "Ca": Ca}
    for k, v in vals.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"`{k}` must be a count (number >= 0); got {v!r}.") from None
        if not np.isfinite(f) or f < 0:
            raise ParameterError(f"`{k}` must be a count (number >= 0); got {v!r}.")
        vals[k] = f
    if vals["Cb"] == 0 or vals["Ca"] == 0:
        raise ParameterError(
            f"the control area has {vals['Cb']:g} incident(s) before and {vals['Ca']:g} after; the WDQ divides by both, "
            "so both must be > 0. Choose a larger control area or longer periods."
        )
    rb, ra, db, da, cb, ca = (vals[k] for k in ("Rb", "Ra", "Db", "Da", "Cb", "Ca"))
    success = ra / ca - rb / cb
    buffer = da / ca - db / cb
    q = buffer / success if success < 0 else float("nan")
    tne = (rb * (ca / cb) - ra) + (db * (ca / cb) - da)
    return WDQResult(
        Rb=rb, Ra=ra, Db=db, Da=da, Cb=cb, Ca=ca, success_measure=success, buffer_measure=buffer, wdq=q,
        total_net_effect=tne, gross_effect=rb - ra, net_effect=rb / cb - ra / ca,
        interpretation=_interpret(success, buffer, q, tne),
    )


def wdq_areas(
    incidents: gpd.GeoDataFrame,
    target: Any,
    control: Any,
    before: Period,
    after: Period,
    *,
    buffer: Any = None,
    buffer_distance: float | None = None,
) -> WDQResult:
    """WDQ from incidents, a target area, a buffer around it and a control area.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points (British National Grid) with ``occurred`` and/or ``month`` columns.
    target : polygon or GeoSeries/GeoDataFrame
        The response area (e.g. the treated hotspot areas, dissolved).
    control : polygon or GeoSeries/GeoDataFrame
        A comparable area away from target and buffer; must not overlap either (touching, or an
        overlap under :data:`hotspots.change.OVERLAP_TOLERANCE_M2` (1 m²) from polygon arithmetic, is fine).
    before, after : Period
        Non-overlapping periods.
    buffer : polygon or GeoSeries/GeoDataFrame, optional
        The possible displacement area; must not overlap the target.
    buffer_distance : float, optional
        Instead of ``buffer``: a ring this many metres wide around the target
        (``target.buffer(d) − target``). Give exactly one of ``buffer`` and ``buffer_distance``.

    Returns
    -------
    WDQResult
        With counts and ``params`` recording periods, areas (km²) and the buffer rule.
    """
    if (buffer is None) == (buffer_distance is None):
        raise ParameterError("give exactly one of `buffer` (a polygon) and `buffer_distance` (metres).")
    if not isinstance(incidents, gpd.GeoDataFrame) or incidents.crs is None:
        raise CRSError("`incidents` must be a GeoDataFrame with a CRS (British National Grid, EPSG:27700).")
    crs = pyproj.CRS(incidents.crs)
    if crs.is_geographic:
        raise CRSError("`incidents` are in degrees; convert them with `incidents.to_crs(27700)` so distances are metres.")
    tgt = polygon_in(target, crs, "target")
    ctrl = polygon_in(control, crs, "control")
    if buffer_distance is not None:
        d = validation.distance(buffer_distance, "buffer_distance")
        buf = shapely.difference(shapely.buffer(tgt, d), tgt)
        rule = f"ring of {d:g} m around the target"
    else:
        buf = polygon_in(buffer, crs, "buffer")
        if shapely.area(shapely.intersection(buf, tgt)) > OVERLAP_TOLERANCE_M2:
            raise ParameterError("the `buffer` overlaps the `target`; the buffer must surround the target, not include it.")
        rule = "given polygon"
    for name, geom in (("target", tgt), ("buffer", buf)):
        if shapely.area(shapely.intersection(ctrl, geom)) > OVERLAP_TOLERANCE_M2:
            raise ParameterError(
                f"the `control` area overlaps the {name}; a control must lie apart from target and buffer "
                "(e.g. `control.difference(target.buffer(d))`)."
            )
    sp = split_periods(incidents, before, after, same_months=False)
    xy = points_xy(incidents, crs, name="incidents")

    def _count(geom: BaseGeometry) -> tuple[int, int]:
        shapely.prepare(geom)
        inside = shapely.intersects_xy(geom, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, dtype=bool)
        return int((inside & sp.in_before).sum()), int((inside & sp.in_after).sum())

    # A point on the shared target/buffer edge counts in the target only.
    rb, ra = _count(tgt)
    shapely.prepare(tgt)
    on_target = shapely.intersects_xy(tgt, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, dtype=bool)
    shapely.prepare(buf)
    in_buf = (shapely.intersects_xy(buf, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, dtype=bool)) & ~on_target
    db, da = int((in_buf & sp.in_before).sum()), int((in_buf & sp.in_after).sum())
    cb, ca = _count(ctrl)
    res = wdq(rb, ra, db, da, cb, ca)
    params = {
        "before": [before.start.isoformat(), before.end.isoformat()],
        "after": [after.start.isoformat(), after.end.isoformat()],
        "buffer": rule,
        "buffer_distance_m": None if buffer_distance is None else float(buffer_distance),
        "target_km2": tgt.area / 1e6,
        "buffer_km2": buf.area / 1e6,
        "control_km2": ctrl.area / 1e6,
        "notes": list(sp.notes),
    }
    return WDQResult(**{**res.__dict__, "params": params})
