"""Deterministic synthetic demo data for Derbyshire: ASB incidents, scheme referrals, task sites.

Nothing here is real data. :func:`generate_demo` builds, from one seed, a force-sized set of
anti-social behaviour (ASB) incidents around the towns of :mod:`hotspots.gazetteer`, with
town-centre and estate hotspots, seasonality and a long-term trend; a *planted* scheme effect on a
documented subset of hotspots (a fall from the scheme start, with a little displacement into a
ring around each treated hotspot); referrals into an immediate-justice scheme with the outcome
figures the force reports; and reparative task sites. The ground truth (which hotspots were
treated, by how much, their buffers, the expected counts) comes with the data so that tests can
check that an analysis recovers it. :func:`write_demo` writes it all to a folder.

Determinism: the same arguments give byte-for-byte identical files. Every random draw comes from
``numpy.random.default_rng(seed)`` (split into independent streams per stage); nothing depends on
the current date, dict/set iteration of unordered data, or the machine (beyond the installed
numpy/pyproj versions).

Model (all distances in metres, EPSG:27700)
--------------------------------------------
Incidents are the sum of independent Poisson processes ("components"), each with a daily rate
``rate × S(day) [× treatment]`` and a spatial kernel:

* **hotspots** (:data:`HOTSPOTS`): a town centre (Gaussian, sd 180–250 m) and 0–4 estates
  (sd 280–350 m, 1.2–3 km from the centre) per town;
* **town diffuse**: rate proportional to population, at the town's *micro-places* (one per 300
  residents, placed by a wide Gaussian around the town centre, sd ``clip(1500 (pop/20000)^0.3,
  1500, 3000)``); each place has a gamma weight (shape 0.3, mean 1), so that, as in real police
  data, a few street-level places take most incidents and most of a town is quiet; an incident
  picks a place by weight and lands within about 20 m (sd) of it;
* **rural background**: the same with 2,000 micro-places uniform over the study area;
* **displacement** (treated hotspots only): uniform in a ring ``[radius, radius + 400 m]``
  around the hotspot centre, rate ``displacement × removed`` (removed from the core).

``S(day)`` = seasonal cycle (peak mid-July, amplitude 25 %) × (1 + Halloween and bonfire-night
spikes) × day-of-week profile (Friday/Saturday high) × trend (``trend_per_year``, compounded,
1 at the middle of the period). The treatment multiplies a treated hotspot's rate by
``1 - effect × ramp``, the ramp rising linearly from 0 at the scheme start to 1 after
``ramp_days``; it applies to the hotspot's *core* (the Gaussian within the hotspot radius, 2 sd),
sampled as its own component, while the tail beyond the radius keeps its rate (so the ring does
not fall with the hotspot and planted displacement is visible). Points are resampled until they
fall inside the study area, then snapped to a
fixed lattice of "map points" (50 m spacing with a deterministic jitter), as police.uk moves each
crime to an anonymous map point; many incidents therefore share exact coordinates.
"""

from __future__ import annotations

from ._generate import DemoData, generate_demo
from ._model import (
    DEFAULT_TREATED,
    DEMO_SALT,
    FOLLOW_UP_MONTHS,
    HOTSPOTS,
    INCIDENT_FILE_COLUMNS,
    REFERRAL_FILE_COLUMNS,
    TASK_FILE_COLUMNS,
    Hotspot,
)
from ._write import write_demo

__all__ = [
    "DemoData",
    "Hotspot",
    "generate_demo",
    "write_demo",
    "HOTSPOTS",
    "DEFAULT_TREATED",
    "DEMO_SALT",
    "FOLLOW_UP_MONTHS",
    "INCIDENT_FILE_COLUMNS",
    "REFERRAL_FILE_COLUMNS",
    "TASK_FILE_COLUMNS",
]
