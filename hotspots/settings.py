"""The settings of an analysis: :class:`Settings`, every tuning knob with its default, and which
of them each step of :mod:`hotspots.pipeline` reads (:data:`HOTSPOT_SETTINGS`,
:data:`CHANGE_SETTINGS`, :data:`DISPLACEMENT_SETTINGS`, :data:`CLUSTER_SETTINGS`, :data:`LINKAGE_SETTINGS`:
cache keys for the app). Re-exported by :mod:`hotspots.pipeline`, where the CLI and the app take them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ._errors import ParameterError
from .periods import Period, parse_period, periods_around
from .schema import SCHEME_START
from .validation import shown

__all__ = ["Settings", "HOTSPOT_SETTINGS", "CHANGE_SETTINGS", "DISPLACEMENT_SETTINGS", "CLUSTER_SETTINGS", "LINKAGE_SETTINGS"]

#: The settings each step reads; the others do not change its result (see :meth:`Settings.only`).
#: :func:`hotspot_stage`:
HOTSPOT_SETTINGS = (
    "cell_size", "bandwidth", "kernel", "bandwidth_rule", "distance", "alpha", "fdr", "permutations", "seed", "min_confidence",
    "period",
)  # fmt: skip
#: :func:`area_change` and :func:`cell_change`, besides the hotspot stage's:
CHANGE_SETTINGS = ("before", "after", "scheme_start", "alpha", "fdr", "same_months", "missing_months")
#: the displacement rings (:func:`ring_change`), besides the change's:
DISPLACEMENT_SETTINGS = ("ring_m",)
#: point clusters (:func:`hotspots.clustering.clusters` on the incidents analysed: the hotspot stage's, those of the
#: analysis period in the study area's cells, which its grid decides), besides the hotspot stage's:
CLUSTER_SETTINGS = HOTSPOT_SETTINGS + ("cluster_method", "eps", "min_samples")
#: referral linkage (:func:`hotspots.linkage.link_referrals`) and the scheme's protected
#: figures, besides the hotspot stage's:
LINKAGE_SETTINGS = ("near_m", "threshold", "unsafe_threshold", "as_of")


# =============================================================================== settings
@dataclass(frozen=True)
class Settings:
    """Every tuning knob of an analysis, with its default. Hashable (used as a cache key).

    Attributes
    ----------
    cell_size : float or None
        Grid cell side in metres; None = automatic (:func:`choose_cell_size`, announced).
    bandwidth : float or None
        KDE bandwidth in metres; None = ``bandwidth_rule``.
    kernel : {"quartic", "gaussian", "epanechnikov"}
    bandwidth_rule : {"arcgis", "sfhotspot"}
        Rule for the automatic bandwidth. The default here is ArcGIS's (about 2 km on force-wide
        demo data, 400 m within one town): sfhotspot's normal-reference rule spreads multi-town
        force data over ~6 km and hides street-level hotspots.
    distance : float or None
        Gi* neighbourhood distance band in metres; None = automatic (incremental spatial
        autocorrelation, see :func:`hotspots.neighbours.auto_distance`).
    alpha : float
        Significance level for Gi* classes and change tests.
    fdr : bool
        Benjamini–Hochberg false discovery rate control over Gi*'s cells and the change test's
        cells. Hotspot areas are tested one by one without it (a handful of areas, judged with the
        overdispersed test; the pooled verdict of :func:`pooled_change` answers for all of them),
        the rule whose error rates the calibration suite measures.
    permutations : int
        Gi* conditional permutations; 0 (the default) judges each cell by the exact count test
        (:func:`hotspots.gistar.gi_star`'s ``inference="auto"``), which holds its error rate on sparse counts.
    seed : int
        Seed for every random step.
    min_confidence : float or None
        Lowest Gi* confidence that makes a cell part of a hotspot area (0.90, 0.95 or 0.99).
        None (default): the cells significant at ``alpha`` (``alpha = 0.05``: 95 % confidence),
        the one level the Gi* classes, the hotspot areas and every caption then share
        (:func:`hotspots.areas.hotspot_areas`).
    cluster_method : {"dbscan", "hdbscan", "none"}
    eps : float
        DBSCAN neighbourhood radius, metres.
    min_samples : int
        DBSCAN/HDBSCAN core size.
    period : tuple of two "YYYY-MM" or None
        Months (inclusive) whose incidents define the hotspots; None = all.
    before, after : tuple of two "YYYY-MM" or None
        Change periods (inclusive months); None = :func:`choose_periods` (with the data) or 12
        months either side of ``scheme_start`` (without).
    scheme_start : str or None
        When the force's scheme started (``"YYYY-MM-DD"``). None (the default): not known, and the
        periods come from the data's months alone (:func:`choose_periods`), except on the
        synthetic demo data, which take their own scheme start
        (:data:`hotspots.schema.SCHEME_START`). No force's date is assumed for another's data.
    same_months : bool
        Compare only the calendar months both change periods contain (seasonality).
    missing_months : tuple of "YYYY-MM" or None
        Months the data do not cover (a monthly file not loaded or not published, or published in
        part), left out of the change periods. None = found in the analysed incidents by the change
        tests; :func:`prepare_inputs` fills it from every category loaded and the analysed one
        (:mod:`hotspots.coverage`).
    keep_months : tuple of "YYYY-MM"
        Months to keep in the change although they hold far fewer rows than their force's typical
        month (:func:`hotspots.coverage.force_months` takes such a month as published in part and
        leaves it out); for a month the user knows is complete (e.g. a real collapse in reports).
    ring_m : float
        Width of the ring around each hotspot area where displaced harm would show, metres (cells
        whose centres lie this close to an area cell's centre; at least the touching cells): the
        rings' change against the rest beyond them (:mod:`hotspots.displacement_rings`). 0: no
        displacement rows.
    near_m : float
        Distance within which reparation counts as "local" to the harm, metres.
    as_of : str or None
        The referral extract's date (``"YYYY-MM-DD"``): re-offending follow-up windows count when
        they ended by it. None: the first day of the month of the latest date in the referrals,
        said in the window text (:func:`hotspots.kpis.extract_date`).
    threshold : int
        Person-level counts below this are suppressed in displayed/exported tables.
    unsafe_threshold : bool
        Allow a threshold below 3 (it protects nobody; every output then says so). See
        :func:`hotspots.disclosure.check_threshold`.
    """

    cell_size: float | None = None
    bandwidth: float | None = None
    kernel: str = "quartic"
    bandwidth_rule: str = "arcgis"
    distance: float | None = None
    alpha: float = 0.05
    fdr: bool = True
    permutations: int = 0
    seed: int = 0
    min_confidence: float | None = None
    cluster_method: str = "dbscan"
    eps: float = 150.0
    min_samples: int = 20
    period: tuple[str, str] | None = None
    before: tuple[str, str] | None = None
    after: tuple[str, str] | None = None
    scheme_start: str | None = None
    same_months: bool = False
    missing_months: tuple[str, ...] | None = None
    keep_months: tuple[str, ...] = ()
    ring_m: float = 500.0
    near_m: float = 2000.0
    threshold: int = 5
    unsafe_threshold: bool = False
    as_of: str | None = None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def only(self, *names: str) -> Settings:
        """These settings with every field not in ``names`` at its default.

        The settings a step reads (:data:`HOTSPOT_SETTINGS`, :data:`CHANGE_SETTINGS`,
        :data:`CLUSTER_SETTINGS`, :data:`LINKAGE_SETTINGS`) as a hashable value: equal for any two
        settings that give the step the same result (a cache key).
        """
        unknown = sorted(set(names) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ParameterError(f"{', '.join(map(repr, unknown))} are not settings; choose from {list(self.to_dict())}.")
        return Settings(**{n: getattr(self, n) for n in names})

    def change_periods(self) -> tuple[Period, Period]:
        """The before and after periods these settings ask for.

        Without ``before``/``after``: 12 months either side of ``scheme_start`` (without looking
        at the data; :func:`choose_periods` fills them from the data), or of the demo's scheme
        start when none is known (a placeholder for data that cannot give periods, whose change is
        then not computed).

        Raises
        ------
        ParameterError
            When the periods overlap, or the after period starts before the before period (the
            change would be read backwards: the message says to swap them).
        """
        default_before, default_after = periods_around(self.scheme_start or SCHEME_START)
        before = parse_period(self.before, "before") if self.before else default_before
        after = parse_period(self.after, "after") if self.after else default_after
        if before.overlaps(after):
            raise ParameterError(
                f"the before period ({before.describe(label=False)}) and the after period ({after.describe(label=False)}) "
                "overlap; choose two separate ranges of months."
            )
        if after.start < before.start:
            # read backwards, a fall would pass for a rise (and the placebo and seasonal model assume "after" is later)
            b, a = (f"{p.start:%Y-%m}:{p.end:%Y-%m}" for p in (before, after))
            raise ParameterError(
                f"the after period ({after.describe(label=False)}) comes before the before period "
                f"({before.describe(label=False)}), so the change would be read backwards; swap them: "
                f"{shown('before')} {a} and {shown('after')} {b}."
            )
        return before, after
