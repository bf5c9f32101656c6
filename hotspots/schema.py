"""Canonical columns and allowed values (the data contracts of DESIGN.md section 3).

Loaders produce these columns; the demo generator writes them; analysis reads them. Keep this
module the single place where a column name or category label is spelled.
"""

from __future__ import annotations

__all__ = [
    "ANALYSIS_EPSG",
    "INCIDENT_COLUMNS",
    "REFERRAL_COLUMNS",
    "TASK_COLUMNS",
    "ASB_CATEGORY",
    "OFFENCES",
    "ROUTES",
    "ADULT_FROM_AGE",
    "AGE_GROUPS",
    "OUTCOMES",
    "TASK_KINDS",
    "SCHEME_START",
    "POLICE_UK_COLUMNS",
    "POLICE_UK_ATTRIBUTION",
]

#: All distance work happens in British National Grid (metres).
ANALYSIS_EPSG = 27700

#: Incidents: one row per incident. ``occurred`` may be NaT when the source gives only a month.
INCIDENT_COLUMNS = ("incident_id", "month", "occurred", "category", "geometry")
#: Optional incident columns kept when present.
INCIDENT_OPTIONAL = ("weight", "lsoa_code", "location", "source")

#: Referrals into the scheme: person-level data, pseudonymised.
REFERRAL_COLUMNS = (
    "referral_id",
    "person_ref",
    "referred_at",
    "offence",
    "route",
    "age_group",
    "contacted_at",
    "task_booked_at",
    "outcome",
    "task_id",
    "reoffended",
    "victim_satisfied",
    "first_time_entrant",
    "geometry",
)

#: Reparative task sites.
TASK_COLUMNS = ("task_id", "kind", "site_name", "geometry")

#: police.uk's label for ASB rows (their ``Crime type``).
ASB_CATEGORY = "Anti-social behaviour"

#: Offence types the scheme accepts (lower-case canonical labels).
OFFENCES = (
    "anti-social behaviour",
    "harassment",
    "public order",
    "drunk and disorderly",
    "shop theft",
    "cannabis possession",
    "criminal damage",
)

#: Routes into the scheme.
ROUTES = (
    "community resolution",
    "conditional caution",
    "asb warning letter",
    "acceptable behaviour contract",
    "voluntary control order",
)

AGE_GROUPS = ("youth", "adult")
#: Age (whole years) from which a person is in the ``adult`` age group; younger is ``youth`` (youth justice: under 18).
ADULT_FROM_AGE = 18

OUTCOMES = ("completed", "refused", "in progress", "withdrawn")

TASK_KINDS = (
    "litter picking",
    "allotment",
    "food bank",
    "charity shop",
    "village hall",
    "bird and bat boxes",
    "workshop",
)

#: Start of the Derbyshire immediate justice scheme modelled by the demo data.
SCHEME_START = "2023-07-01"

#: Header of a data.police.uk street-level CSV.
POLICE_UK_COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

POLICE_UK_ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0"
