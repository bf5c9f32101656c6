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


def test_ruling_out_keeps_its_stated_error_rate():
    # when the areas' true between-period variance is the cells' value, the check wrongly drops it
    # about as often as its level (FINER_TAU2_CHECK_ALPHA = 0.10) says
    from hotspots.dispersion import FINER_TAU2_CHECK_ALPHA

    rng = np.random.default_rng(3)
    dropped = [
        "not used" in fit_change_model(_panel(rng, tau2=0.02), tau2_fallback=CELLS).dispersion.tau2_source for _ in range(300)
    ]
    assert FINER_TAU2_CHECK_ALPHA == 0.10
    assert 0.04 <= np.mean(dropped) <= 0.17
