"""Result types of the loaders: data plus :class:`~hotspots.report.LoadReport`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd

from ..report import LoadReport

__all__ = ["IncidentSet", "ReferralSet", "TaskSet"]


@dataclass(frozen=True, eq=False, repr=False)
class _LoadedSet:
    data: gpd.GeoDataFrame
    report: LoadReport
    params: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        """``data, report = load_...(...)``."""
        yield self.data
        yield self.report

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.data):,} rows; {self.report.summary()})"


@dataclass(frozen=True, eq=False, repr=False)
class IncidentSet(_LoadedSet):
    """Incidents in EPSG:27700 and how they were loaded.

    ``data`` columns: ``incident_id`` (str, unique), ``month`` (``datetime64[ns]``, the first day
    of the month at midnight), ``occurred`` (``datetime64[ns]``, NaT when the source gives only a
    month, as police.uk does), ``category`` (str), optionally ``weight`` (float), ``lsoa_code``,
    ``location``, ``source`` (the file each row came from), ``in_study_area`` (bool, when a study
    area was given), and ``geometry`` (Point, British National Grid metres).
    ``params`` records the loader's options (filters, CRS decisions).
    """


@dataclass(frozen=True, eq=False, repr=False)
class ReferralSet(_LoadedSet):
    """Referrals into the scheme in EPSG:27700 (columns of ``hotspots.schema.REFERRAL_COLUMNS``)."""


@dataclass(frozen=True, eq=False, repr=False)
class TaskSet(_LoadedSet):
    """Reparative task sites in EPSG:27700 (columns of ``hotspots.schema.TASK_COLUMNS``)."""
