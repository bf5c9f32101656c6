"""Tests for hotspots.change_model: which between-period variance the coarser units (hotspot
areas) are judged with when the finer units' (cells') estimate is offered."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots.change_model import AFTER, BEFORE, PLACEBO, MonthlyPanel, fit_change_model
from hotspots.dispersion import Overdispersion


def _panel(rng: np.random.Generator, *, units: int = 30, tau2: float = 0.0, monthly: float = 60.0) -> MonthlyPanel:
    """A placebo year, a before year and an after year of monthly counts; each unit's log rate
    moves between years by a normal step of variance ``tau2 / 2`` (so that the log rate ratio
    of two years varies by ``tau2``)."""
    year = np.repeat(np.arange(3), 12)
    label = np.array([PLACEBO, BEFORE, AFTER])[year]
    steps = rng.normal(0.0, np.sqrt(tau2 / 2), (units, 3))
    mu = monthly * np.exp(steps[:, year])
    counts = rng.poisson(mu)
    return MonthlyPanel(
        counts=counts,
        month=2022 * 12 + np.arange(36),
        label=label,
        exposure=np.full(36, 30.0),
        reference=counts.sum(axis=0).astype(float) * 10,
    )


CELLS = Overdispersion(kappa=0.0, tau2=0.02, tau2_units=400, tau2_source="placebo periods", tau2_groups=60)


def test_a_finer_tau2_the_areas_rule_out_is_not_used():
    # Poisson areas (720 incidents a year each: sampling variance of a log ratio ~0.003) offered
    # cells' tau2 = 0.02: with it the areas' placebo ratios would scatter about 8 x more than they do
    model = fit_change_model(_panel(np.random.default_rng(1)), tau2_fallback=CELLS, unit_word="areas")
    d = model.dispersion
    assert d.tau2 < 0.005
    assert "not used" in d.tau2_source and "0.02" in d.tau2_source
    assert "lower-tail p" in d.how


def test_a_finer_tau2_the_areas_agree_with_is_used():
    # the same areas varying between years as much as the cells say: the cells' estimate (more
    # independent groups, also from placebo periods) is used, as before
    model = fit_change_model(_panel(np.random.default_rng(2), tau2=0.02), tau2_fallback=CELLS, unit_word="areas")
    d = model.dispersion
    assert d.tau2 == pytest.approx(0.02)
    assert d.tau2_source == "placebo periods, from the finer units"
    assert d.tau2_groups == 60


def test_a_smaller_finer_tau2_the_areas_scatter_beyond_is_not_used():
    # areas varying between years by tau2 = 0.03 offered cells' tau2 = 0 (on real police.uk data
    # the cells' large month-to-month dispersion takes up their between-period variation): the
    # areas keep their own estimate instead of being judged as if they did not vary
    cells0 = Overdispersion(kappa=0.1, tau2=0.0, tau2_units=400, tau2_source="placebo periods", tau2_groups=60)
    panel = _panel(np.random.default_rng(4), tau2=0.03)
    d = fit_change_model(panel, tau2_fallback=cells0, unit_word="areas").dispersion
    own = fit_change_model(panel, unit_word="areas").dispersion
    assert d.tau2 == own.tau2 > 0.01 and d.tau2_units == own.tau2_units == 30
    assert "scatter more than it allows" in d.tau2_source and "upper-tail p" in d.how
    # Poisson areas offered the same: it agrees with them, and is used (more groups behind it)
    same = fit_change_model(_panel(np.random.default_rng(5)), tau2_fallback=cells0, unit_word="areas").dispersion
    assert same.tau2 == 0.0 and "not used" not in same.tau2_source


def test_ruling_out_keeps_its_stated_error_rate():
    # when the areas' true between-period variance is the cells' value, each side of the check
    # wrongly drops it about as often as its level (0.10 below, 0.05 above) says
    from hotspots.dispersion import FINER_TAU2_CHECK_ALPHA, FINER_TAU2_UPPER_ALPHA

    rng = np.random.default_rng(3)
    sources = [fit_change_model(_panel(rng, tau2=0.02), tau2_fallback=CELLS).dispersion.tau2_source for _ in range(300)]
    assert FINER_TAU2_CHECK_ALPHA == 0.10 and FINER_TAU2_UPPER_ALPHA == 0.05
    assert 0.04 <= np.mean(["scatter less" in s for s in sources]) <= 0.17
    assert 0.015 <= np.mean(["scatter more" in s for s in sources]) <= 0.10


@pytest.mark.realdata
@pytest.mark.parametrize("force", ["devon-and-cornwall", "west-mercia"])
def test_real_hotspot_areas_scatter_as_their_model_says(police_uk_dir, force):
    # Real police.uk ASB, Jan-Jun vs Jul-Dec 2025, default analysis: the cells' tau2 was 0 here
    # (their large month-to-month kappa takes up their between-period variation) and the areas
    # borrowed it, though their own log rate ratios scattered far more than it allows (upper-tail
    # p 4e-5 and 1e-6; 11 of 50 and 6 of 36 areas called significant changes). The areas' model
    # must now fit their own scatter.
    import warnings

    from hotspots.change_model import AFTER, BEFORE
    from hotspots.dispersion import tau2_too_small_p
    from hotspots.io import load_police_uk
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    files = sorted((police_uk_dir / "national_2025_gz").glob(f"*/2025-*-{force}-street.csv.gz"))
    if len(files) < 12:
        pytest.skip(f"a year of {force}'s national police.uk files not found")
    loaded = load_police_uk(files, categories=["Anti-social behaviour"])
    settings = Settings(before=("2025-01", "2025-06"), after=("2025-07", "2025-12"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep = prepare_inputs(loaded.data, settings=settings)
        an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    areas = an.change_areas
    m, d = areas.model, areas.dispersion
    b, a = areas.panel.totals(BEFORE), areas.panel.totals(AFTER)
    phi = d.phi((a + b) / (m.months_before + m.months_after))
    assert an.change_cells.dispersion.tau2 == 0.0  # the cells' value the areas used to borrow
    assert tau2_too_small_p(b, a, m.w_before, m.w_after, phi, d.tau2) > 0.05
    assert d.tau2 > 0.01 and "scatter more than it allows" in d.tau2_source
    assert areas.table["significant"].mean() < 0.1
