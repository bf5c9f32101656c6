"""Tests for hotspots.change_model: which between-period variance the coarser units (hotspot
areas) are judged with when the finer units' (cells') estimate is offered."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

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


def test_the_estimate_that_knows_more_about_tau2_is_used():
    # Poisson areas (720 incidents a year each) offered the cells' estimate of 0 from 60 groups
    # of noisy cells (typical total variance 0.08: tau2 anywhere up to 0.05): 30 busy areas bound
    # tau2 far more tightly, so their own estimate and its narrow confidence distribution are
    # kept (pure Poisson 15 % falls found 74.4 -> 79.8 %). Counted by independent units alone,
    # as when the cells' spread is not known, the cells' would be used.
    panel = _panel(np.random.default_rng(6))
    noisy = Overdispersion(
        kappa=0.0, tau2=0.0, tau2_units=400, tau2_source="placebo periods", tau2_groups=60,
        tau2_total_var=0.08, tau2_draws=tuple(np.linspace(0.0, 0.05, 32)),
    )
    d = fit_change_model(panel, tau2_fallback=noisy, unit_word="areas").dispersion
    assert "finer" not in d.tau2_source and d.tau2_units == 30
    assert max(d.tau2_draws, default=d.tau2) < 0.02
    unknown = dataclasses.replace(noisy, tau2_total_var=0.0)
    used = fit_change_model(panel, tau2_fallback=unknown, unit_word="areas").dispersion
    assert used.tau2_source == "placebo periods, from the finer units"
    # cells about as busy as the areas, twice as many groups: theirs knows more, and is used
    busy = dataclasses.replace(noisy, tau2_total_var=0.002, tau2_draws=tuple(np.linspace(0.0, 0.002, 32)))
    assert fit_change_model(panel, tau2_fallback=busy, unit_word="areas").dispersion.tau2_source == (
        "placebo periods, from the finer units"
    )


def test_ruling_out_keeps_its_stated_error_rate():
    # when the areas' true between-period variance is the cells' value, each side of the check
    # wrongly drops it about as often as its level (0.10 below, 0.05 above) says
    from hotspots.dispersion import FINER_TAU2_CHECK_ALPHA, FINER_TAU2_UPPER_ALPHA

    rng = np.random.default_rng(3)
    sources = [fit_change_model(_panel(rng, tau2=0.02), tau2_fallback=CELLS).dispersion.tau2_source for _ in range(300)]
    assert FINER_TAU2_CHECK_ALPHA == 0.10 and FINER_TAU2_UPPER_ALPHA == 0.05
    assert 0.04 <= np.mean(["scatter less" in s for s in sources]) <= 0.17
    assert 0.015 <= np.mean(["scatter more" in s for s in sources]) <= 0.10


def test_scatter_beyond_model_p_is_the_upper_tail_at_the_models_tau2():
    from hotspots.change_model import scatter_beyond_model_p
    from hotspots.dispersion import tau2_too_small_p

    panel = _panel(np.random.default_rng(6), tau2=0.03)
    model = fit_change_model(panel, unit_word="areas")
    b, a = panel.totals(BEFORE), panel.totals(AFTER)
    phi = model.dispersion.phi((a + b) / 24)  # 12 months before, 12 after
    want = tau2_too_small_p(b, a, model.w_before, model.w_after, phi, model.dispersion.tau2)
    assert want is not None and scatter_beyond_model_p(panel, model) == want
    # judged as if they did not vary (tau2 0), the same areas scatter far beyond the model
    assert scatter_beyond_model_p(panel, fit_change_model(panel, tau2=0.0)) < 0.001


@pytest.mark.realdata
@pytest.mark.parametrize("force", ["devon-and-cornwall", "west-mercia"])
def test_real_hotspot_areas_scatter_as_their_model_says(police_uk_dir, force):
    # Real police.uk ASB, Jan-Jun vs Jul-Dec 2025, default analysis: the cells' tau2 was 0 here
    # (their large month-to-month kappa takes up their between-period variation) and the areas
    # borrowed it, though their own log rate ratios scattered far more than it allows (upper-tail
    # p 4e-5 and 1e-6; 11 of 50 and 6 of 36 areas called significant changes). The areas' model
    # must now fit their own scatter: their own estimate is kept, because it rules the cells' out
    # or because it knows more about tau2 than the cells' (their counts are larger).
    from benchmarks.calibration import half_year_analysis
    from hotspots.change_model import scatter_beyond_model_p

    if not (police_uk_dir / "national_2025_gz").is_dir() or (an := half_year_analysis(force)) is None:
        pytest.skip(f"a year of {force}'s national police.uk files not found")
    areas = an.change_areas
    d = areas.dispersion
    assert an.change_cells.dispersion.tau2 == 0.0  # the cells' value the areas used to borrow
    assert scatter_beyond_model_p(areas.panel, areas.model) > 0.05
    assert d.tau2 > 0.01 and "finer units" not in d.tau2_source.split(";")[0]
    assert areas.table["significant"].mean() < 0.1


# ----------------------------------------------------------------------------- placebo adjustment
def test_areas_keeping_their_own_tau2_take_the_finer_units_share_that_reverses():
    # areas whose levels vary independently from year to year (tau2 = 0.08) offered cells that
    # vary less (tau2 = 0.02) but reverse half of it (covariance of consecutive changes -0.01):
    # the areas keep their own tau2, and half of it reverses for them too (the share is how
    # levels vary over time, which hundreds of cells estimate better than 30 areas)
    cells = Overdispersion(kappa=0.0, tau2=0.02, tau2_units=400, tau2_source="placebo periods", tau2_groups=60,
                           change_cov=-0.01, change_cov_units=400)
    panel = _panel(np.random.default_rng(6), tau2=0.08)
    model = fit_change_model(panel, tau2_fallback=cells, unit_word="areas", placebo_baseline=True)
    d = model.dispersion
    assert model.placebo_adjusted and "scatter more than it allows" in d.tau2_source
    assert d.tau2 > 0.04
    assert d.change_cov == pytest.approx(-d.tau2 / 2) and d.change_cov_units == 400
    assert any("share of tau2 that reverses" in n for n in model.notes)
    # cells that do not reverse (random walk): no reversal assumed for the areas either
    walk = Overdispersion(kappa=0.0, tau2=0.02, tau2_units=400, tau2_source="placebo periods", tau2_groups=60,
                          change_cov=0.0, change_cov_units=400)
    assert fit_change_model(panel, tau2_fallback=walk, placebo_baseline=True).dispersion.change_cov == 0.0


def test_a_tau2_from_the_compared_periods_themselves_is_said_to_lean_towards_no_change():
    # the same places with and without the placebo year: only the comparison of before with
    # after itself (where real changes count as variation) carries the note
    panel = _panel(np.random.default_rng(8), tau2=0.06)
    keep = panel.label != PLACEBO
    two_years = MonthlyPanel(panel.counts[:, keep], panel.month[keep], panel.label[keep], panel.exposure[keep],
                             panel.reference[keep])
    with_placebo, without = fit_change_model(panel), fit_change_model(two_years)
    assert with_placebo.dispersion.tau2_source.startswith("placebo periods")
    assert without.dispersion.tau2_source.startswith("this comparison") and without.dispersion.tau2 > 0
    said = [n for n in without.notes if "compared periods themselves" in n]
    assert len(said) == 1 and "no significant change" in said[0]
    assert not any("compared periods themselves" in n for n in with_placebo.notes)
    # a tau2 given by hand is not estimated from anything: nothing to say
    assert not any("compared periods themselves" in n for n in fit_change_model(two_years, tau2=0.03).notes)


def _model(tau2: float = 0.0, cov: float = 0.0, tau2_groups: int = 0, adjusted: bool = True):
    from hotspots.change_model import ChangeModel

    d = Overdispersion(kappa=0.0, tau2=tau2, tau2_units=500, tau2_source="placebo periods", tau2_groups=tau2_groups,
                       change_cov=cov, change_cov_units=500 if cov else 0)
    return ChangeModel(d, 365.0, 365.0, False, 12, 12, (), 365.0 if adjusted else 0.0, adjusted)


def test_placebo_adjusted_change_by_hand():
    from hotspots.change_model import placebo_adjusted_changes

    # Poisson (phi = 1, tau2 = 0), equal exposures. Unit 1: placebo 100, before 100, after 80;
    # unit 2: 100, 125, 100. Placebo changes x = (0, log 1.25); Var x = (0.02, 0.018); their
    # weighted mean xbar = (0 / 0.02 + log1.25 / 0.018) / (1 / 0.02 + 1 / 0.018).
    p_, b, a = np.array([100, 100]), np.array([100, 125]), np.array([80, 100])
    out = placebo_adjusted_changes(p_, b, a, _model())
    vx = np.array([0.02, 1 / 125 + 1 / 100])
    x = np.array([0.0, np.log(1.25)])
    xbar = (x / vx).sum() / (1 / vx).sum()
    cov = -1 / b
    beta = cov / vx
    assert out["beta"] == pytest.approx(beta)
    assert beta[0] == pytest.approx(-0.5)
    y = np.log(a / b)
    assert out["estimate"] == pytest.approx(y - beta * (x - xbar))
    # variance with the after count expected under no change (= before count here) ...
    assert out["variance_null"] == pytest.approx(2 / b - cov**2 / vx)
    # ... which for unit 1 is the variance of log A - (log B + log P) / 2 with A expected at 100:
    # 1/100 + 1/400 + 1/400 = 1.5 / 100 (a two-year baseline)
    assert out["variance_null"][0] == pytest.approx(1.5 / 100)
    assert out["variance"] == pytest.approx(1 / b + 1 / a - cov**2 / vx)


def test_placebo_adjusted_change_with_reversing_levels():
    from hotspots.change_model import placebo_adjusted_changes

    # levels varying around a stable mean, tau2 = 0.03 (c = -tau2 / 2): a place that rose into
    # "before" by 20 % is expected to fall back; its adjusted change is smaller than counted
    p_, b, a = np.array([1000, 1000]), np.array([1200, 1000]), np.array([1000, 1000])
    out = placebo_adjusted_changes(p_, b, a, _model(tau2=0.03, cov=-0.015))
    assert out["estimate"][0] > np.log(1000 / 1200)
    assert out["variance_null"][0] < 1 / 1200 + 1 / 1200 + 0.03
    # too few incidents in the placebo or before period: not adjusted
    out = placebo_adjusted_changes(np.array([5, 100]), np.array([100, 100]), np.array([90, 90]), _model())
    assert np.isnan(out["estimate"][0]) and np.isfinite(out["estimate"][1])


def test_the_adjusted_variance_moves_with_tau2_by_its_slope():
    from hotspots.change_model import placebo_adjusted_changes

    # the covariance is a share rho of tau2 and moves with it: the null variance's derivative
    # with respect to tau2 (numerically, tau2 +- 1e-6 with c = rho tau2) is tau2_slope
    p_, b, a = np.array([40, 400, 4000, 30]), np.array([50, 500, 5000, 60]), np.array([45, 450, 4500, 20])
    for tau2, rho in ((0.03, -0.5), (0.02, -0.2), (0.05, 0.0), (0.01, 0.5)):
        out = placebo_adjusted_changes(p_, b, a, _model(tau2=tau2, cov=rho * tau2))
        h = 1e-6
        up = placebo_adjusted_changes(p_, b, a, _model(tau2=tau2 + h, cov=rho * (tau2 + h)))["variance_null"]
        down = placebo_adjusted_changes(p_, b, a, _model(tau2=tau2 - h, cov=rho * (tau2 - h)))["variance_null"]
        assert out["tau2_slope"] == pytest.approx((up - down) / (2 * h), rel=1e-5)
        assert (out["tau2_slope"] >= 0.75 - 1e-12).all()
    # levels that vary independently, sampling noise negligible: 1 - rho^2 = 3/4
    big = np.array([10**9])
    out = placebo_adjusted_changes(big, big, big, _model(tau2=0.03, cov=-0.015))
    assert out["tau2_slope"][0] == pytest.approx(0.75, rel=1e-6)


def test_the_adjusted_test_counts_only_the_tau2_share_it_depends_on():
    from hotspots.change_model import placebo_adjusted_changes, unit_change_tests

    # tau2 from 12 separate groups (11 degrees of freedom); the adjusted change's z is judged on a
    # t distribution with 11 (v0 / (tau2_slope tau2))^2 degrees of freedom, by hand
    model = _model(tau2=0.03, cov=-0.015, tau2_groups=12)
    assert model.dispersion.tau2_df == pytest.approx(11)
    p_, b, a = np.array([300, 1000]), np.array([330, 900]), np.array([200, 950])
    adj = placebo_adjusted_changes(p_, b, a, model)
    v0 = adj["variance_null"]
    df = 11 * (v0 / (0.03 * adj["tau2_slope"])) ** 2
    z = adj["estimate"] / np.sqrt(v0)
    out = unit_change_tests(b, a, model, alpha=0.05, n_placebo=p_)
    assert out["p_value"].to_numpy() == pytest.approx(2 * stats.t.sf(np.abs(z), df))
    # more degrees of freedom than if all of tau2 were the noisy part (the old reference)
    assert (out["p_value"].to_numpy() < 2 * stats.t.sf(np.abs(z), 11 * (v0 / 0.03) ** 2)).all()


def _calibration(rng, *, sd_year: float, walk: bool, fall: float, units: int = 4000):
    from hotspots.change_model import unit_change_tests

    steps = rng.normal(0.0, sd_year, (units, 3))
    levels = np.cumsum(steps, axis=1) if walk else steps
    mu = rng.uniform(15, 100, units)[:, None] * 12 * np.exp(levels)
    mu[:, 2] *= 1.0 - fall
    n = rng.poisson(mu)
    var_step = sd_year**2 * (1 if walk else 2)
    model = _model(tau2=var_step, cov=0.0 if walk else -sd_year**2, tau2_groups=0)
    plain = unit_change_tests(n[:, 1], n[:, 2], model, alpha=0.05)
    adj = unit_change_tests(n[:, 1], n[:, 2], model, alpha=0.05, n_placebo=n[:, 0])
    return (plain["p_value"] < 0.05).mean(), (adj["p_value"] < 0.05).mean(), adj


@pytest.mark.parametrize("walk", [False, True])
def test_placebo_adjustment_holds_its_error_rate_and_finds_more(walk):
    rng = np.random.default_rng(7 + walk)
    # no change: 5 % of units flagged either way (4,000 units: +-0.7 points)
    plain0, adj0, t0 = _calibration(rng, sd_year=0.12, walk=walk, fall=0.0)
    assert 0.035 < plain0 < 0.065 and 0.035 < adj0 < 0.065
    assert "rate_ratio_adjusted" in t0 and t0["rate_ratio_adjusted"].notna().all()
    # 30 % falls: found more often than by the before/after comparison alone when levels reverse
    plain, adj, _ = _calibration(rng, sd_year=0.12, walk=walk, fall=0.30)
    if walk:  # changes do not reverse: only the shared before count's noise is taken out
        assert plain - 0.01 < adj < plain + 0.06
    else:
        assert adj > plain + 0.05
    # Poisson counts: the placebo year doubles the baseline
    plain_p, adj_p, _ = _calibration(rng, sd_year=0.0, walk=False, fall=0.15)
    assert adj_p > plain_p + 0.05


def test_unit_change_tests_without_placebo_adjustment_have_no_adjusted_column():
    from hotspots.change_model import unit_change_tests

    out = unit_change_tests(np.array([100, 200]), np.array([80, 220]), _model(adjusted=False), alpha=0.05,
                            n_placebo=np.array([100, 200]))
    assert "rate_ratio_adjusted" not in out


def _with_draws(model, draws):
    import dataclasses

    return dataclasses.replace(model, dispersion=dataclasses.replace(model.dispersion, tau2_draws=tuple(draws)))


def test_unit_tests_average_the_p_value_over_tau2_draws():
    from hotspots.change_model import unit_change_tests
    from hotspots.count_tests import overdispersed_rate_test

    # an estimate of 0 is judged over its draws (equally likely values of tau2)
    draws = np.array([0.0, 0.0, 0.01, 0.02, 0.05])
    plain = _model(tau2=0.0, adjusted=False)
    model = _with_draws(plain, draws)
    b, a = np.array([150, 190, 50]), np.array([110, 200, 30])  # at most EXACT_INTERVAL_MAX incidents: exact intervals
    point = unit_change_tests(b, a, plain, alpha=0.05)  # no draws: tau2 taken as known to be 0
    out = unit_change_tests(b, a, model, alpha=0.05)
    # by hand: the conditional test's z at 0, rescaled to each draw's variance
    n = a + b
    v = 1.0 / (n * 0.25)  # phi 1, equal periods: n p q = n / 4
    z = stats.norm.isf(overdispersed_rate_test(b, a, 365.0, 365.0, tau2=0.0)["p_value"].to_numpy() / 2)
    p = np.mean([2 * stats.norm.sf(z * np.sqrt(v / (v + t))) for t in draws], axis=0)
    np.testing.assert_allclose(out["p_value"].to_numpy(), p, rtol=1e-9)
    # a draw of 0.05 widens every interval beyond the point estimate's
    assert (out["rate_ratio_low"] < point["rate_ratio_low"]).all() and (out["rate_ratio_high"] > point["rate_ratio_high"]).all()
    # the interval inverts the same averaged test: the ratio at its upper end, tested in place of 1
    # (the after period's weight times it) and averaged over the draws as above, has p = 0.05
    hi = out["rate_ratio_high"].to_numpy()
    p_hi = np.array([overdispersed_rate_test([bb], [aa], 365.0, 365.0 * h)["p_value"].iloc[0] for bb, aa, h in zip(b, a, hi)])
    z_hi = stats.norm.isf(p_hi / 2)
    tails = np.mean([2 * stats.norm.sf(z_hi * np.sqrt(v / (v + t))) for t in draws], axis=0)
    np.testing.assert_allclose(tails, 0.05, rtol=1e-6)
    # a positive estimate keeps its t reference (tau2_df): draws beside it change nothing
    pos = _model(tau2=0.004, tau2_groups=12, adjusted=False)
    pd.testing.assert_frame_equal(unit_change_tests(b, a, _with_draws(pos, draws), alpha=0.05),
                                  unit_change_tests(b, a, pos, alpha=0.05))


def test_adjusted_tests_average_each_draws_adjusted_change():
    import dataclasses

    from hotspots.change_model import placebo_adjusted_changes, unit_change_tests

    base = _model(tau2=0.0)
    draws = np.array([0.0, 0.005, 0.02, 0.03, 0.06])
    model = _with_draws(base, draws)
    p_, b, a = np.array([300, 1000]), np.array([330, 900]), np.array([200, 950])
    out = unit_change_tests(b, a, model, alpha=0.05, n_placebo=p_)
    ps = []
    for t in draws:  # no reversal estimated with tau2 at 0: only the shared before count's noise
        d = dataclasses.replace(model.dispersion, tau2=t, change_cov=0.0)
        adj = placebo_adjusted_changes(p_, b, a, dataclasses.replace(model, dispersion=d))
        ps.append(2 * stats.norm.sf(np.abs(adj["estimate"]) / np.sqrt(adj["variance_null"])))
    np.testing.assert_allclose(out["p_value"].to_numpy(), np.mean(ps, axis=0), rtol=1e-9)
    # the estimate shown is the point estimate's
    point = placebo_adjusted_changes(p_, b, a, base)
    np.testing.assert_allclose(out["rate_ratio_adjusted"].to_numpy(), np.exp(point["estimate"]))


def test_fitted_models_carry_tau2_draws_from_where_tau2_came_from():
    # the areas' own placebo estimate: draws from the areas' placebo comparison
    own = fit_change_model(_panel(np.random.default_rng(2), tau2=0.02), unit_word="areas").dispersion
    assert len(own.tau2_draws) == 32 and list(own.tau2_draws) == sorted(own.tau2_draws)
    assert own.tau2_draws[0] <= own.tau2 <= own.tau2_draws[-1]
    # borrowing the cells' estimate borrows their draws; a tau2 given by hand has none
    cells = Overdispersion(kappa=0.0, tau2=0.02, tau2_units=400, tau2_source="placebo periods", tau2_groups=60,
                           tau2_draws=tuple(np.linspace(0.01, 0.03, 32)))
    used = fit_change_model(_panel(np.random.default_rng(2), tau2=0.02), tau2_fallback=cells, unit_word="areas")
    assert used.dispersion.tau2_source == "placebo periods, from the finer units"
    assert used.dispersion.tau2_draws == cells.tau2_draws
    assert fit_change_model(_panel(np.random.default_rng(2)), tau2=0.02).dispersion.tau2_draws == ()


def test_minimum_detectable_fall_allows_for_tau2_draws():
    from scipy import optimize

    from hotspots.change_model import minimum_detectable_fall, mixture_minimum_detectable_fall, unit_change_tests

    # (counts above EXACT_MDE_MAX: smaller ones take their test's exact power, test_detectable_fall)
    b, a = np.array([3000, 1000, 500]), np.array([2200, 1100, 300])
    plain = _model(tau2=0.0, adjusted=False)
    draws = np.array([0.0, 0.0, 0.01, 0.02, 0.05])
    known = unit_change_tests(b, a, plain, alpha=0.05)["mde_fall"].to_numpy()
    unsure = unit_change_tests(b, a, _with_draws(plain, draws), alpha=0.05)["mde_fall"].to_numpy()
    assert (unsure > known).all()
    # by hand: the mixture's critical value plus 0.84 of its standard deviation, on the log scale
    v0 = 1.0 / b + 1.0 / b  # equal periods: the after count expected under no change is b
    v = v0[:, None] + draws[None, :]
    crit = np.array([
        optimize.brentq(lambda c, r=r: np.mean(2 * stats.norm.sf(c / np.sqrt(r))) - 0.05, 0, 10)
        for r in v
    ])
    np.testing.assert_allclose(unsure, 1 - np.exp(-(crit + stats.norm.ppf(0.8) * np.sqrt(v.mean(axis=1)))), rtol=1e-6)
    # one value: the usual formula
    one = mixture_minimum_detectable_fall(v0[:, None], 0.05)
    np.testing.assert_allclose(one, minimum_detectable_fall(np.sqrt(v0), 0.05), rtol=1e-9)


def test_minimum_detectable_fall_uses_the_tests_t_reference():
    # tau2 from 6 separate groups (5 degrees of freedom): the fall shown beside "no significant
    # change" is one the t-referenced test finds with 80 % power, not the normal's smaller one
    from hotspots.change_model import effective_df, minimum_detectable_fall, unit_change_tests

    m = _model(tau2=0.03, tau2_groups=6, adjusted=False)
    df = m.dispersion.tau2_df
    assert df == pytest.approx(5.0)
    b, a = np.array([2000, 500]), np.array([2000, 500])
    out = unit_change_tests(b, a, m, alpha=0.05)
    v0 = 2.0 / b + 0.03
    df_u = effective_df(v0, [(0.03, df)])
    by_hand = 1 - np.exp(-(stats.t.isf(0.025, df_u) + stats.t.ppf(0.8, df_u)) * np.sqrt(v0))
    np.testing.assert_allclose(out["mde_fall"], by_hand, rtol=1e-9)
    assert (out["mde_fall"].to_numpy() > minimum_detectable_fall(np.sqrt(v0), 0.05)).all()
    # a fall of that size, observed at its expected count, is significant; one observed just short
    # of the t critical value is not (the normal's critical value would call it)
    hit = unit_change_tests(b, np.round(b * (1 - out["mde_fall"].to_numpy())), m, alpha=0.05)["p_value"]
    assert (hit < 0.05).all()
    short = np.round(b * np.exp(-0.95 * stats.t.isf(0.025, df_u) * np.sqrt(v0)))
    assert (np.log(short / b) < -1.96 * np.sqrt(v0)).all()
    assert (unit_change_tests(b, short, m, alpha=0.05)["p_value"] > 0.05).all()


def test_seasonal_levels_give_each_other_year_one_level():
    from hotspots.change_model import OTHER, seasonal_levels

    # 2023 loaded, before Jan-Jun 2024, after Jul-Dec 2024, the placebo Jul-Dec 2023, 2025 after it
    month = 2023 * 12 + np.arange(36)
    label = np.r_[np.full(6, OTHER), np.full(6, PLACEBO), np.full(6, BEFORE), np.full(6, AFTER), np.full(12, OTHER)]
    lev = seasonal_levels(month, label)
    # before and after one level each, distinct
    assert len(set(lev[12:18])) == 1 and len(set(lev[18:24])) == 1 and lev[12] != lev[18]
    # the placebo and the other months of 2023 share one level; 2025 has its own
    assert len(set(lev[:12])) == 1 and len(set(lev[24:])) == 1 and lev[0] != lev[24]
    assert not set(lev[:12]) & {lev[12], lev[18]} and not set(lev[24:]) & {lev[12], lev[18]}


def test_seasonal_levels_split_a_period_that_runs_into_the_next_year():
    from hotspots.change_model import OTHER, seasonal_levels

    # before Jan-Jun 2023, after Jul 2023-Jun 2024 (the default around a July scheme start in data
    # from January 2023), Jul-Dec 2024 other: the after period gets one level per 12-month block
    month = 2023 * 12 + np.arange(24)
    label = np.r_[np.full(6, BEFORE), np.full(12, AFTER), np.full(6, OTHER)]
    lev = seasonal_levels(month, label)
    assert len(set(lev[6:12])) == 1 and len(set(lev[12:18])) == 1 and lev[6] != lev[12]
    assert len({lev[0], lev[6], lev[12], lev[18]}) == 4
    # so every level holds one half of the year: January-June against July-December is not
    # identified (one level for the whole after period took its change of year for season)
    from hotspots.dispersion import fit_seasonal

    rng = np.random.default_rng(3)
    step = np.where(month >= 2024 * 12, 1.15, 1.0)  # a 15 % rise in January 2024, no season
    totals = rng.poisson(2_000 * step).astype(float)
    fit = fit_seasonal(totals, month % 12 + 1, lev, np.full(24, 30.0))
    assert not fit.identified
    one = np.where(label == AFTER, 99, lev)  # the old rule: one level for the after period
    old = fit_seasonal(totals, month % 12 + 1, one, np.full(24, 30.0))
    assert old.identified and abs(np.log(old.factors[0] / old.factors[6]) - np.log(1.15)) < 0.05


def _half_year_panel(rng, *, units=40, monthly=40.0, amp=0.25, noise=0.06):
    """2023 and 2024, before Jan-Jun 2024, after Jul-Dec 2024 (placebo Jul-Dec 2023), a season
    peaking in July shared by every unit, no change. The study area's totals (the reference the
    season is estimated from: the units and the rest of the area) vary 6 % more than Poisson from
    month to month."""
    month = 2023 * 12 + np.arange(24)
    label = np.r_[np.full(6, 0), np.full(6, PLACEBO), np.full(6, BEFORE), np.full(6, AFTER)]
    season = 1 + amp * np.cos(2 * np.pi * (month % 12 - 6) / 12)
    counts = rng.poisson(monthly * season * np.ones((units, 1)))
    rest = rng.poisson(3000 * season * np.exp(rng.normal(0, noise, 24)))
    return MonthlyPanel(counts, month, label, np.full(24, 30.0), counts.sum(axis=0) + rest)


def test_a_loaded_year_separates_a_half_year_comparisons_season():
    from hotspots.change_model import unit_change_tests

    model = fit_change_model(_half_year_panel(np.random.default_rng(5)), unit_word="areas")
    assert model.seasonal_identified and model.seasonal_variance > 0
    assert any("estimated from the study area's monthly totals" in n and "uncertain by" in n for n in model.notes)
    # the season (Jul-Dec 1.087 x Jan-Jun) is in the exposure weights, not in the rate ratios
    assert model.w_after / model.w_before == pytest.approx(1.087, abs=0.03)
    # every unit's variance holds the factors' uncertainty
    b, a = np.array([240.0, 2400.0]), np.array([260.0, 2600.0])
    out = unit_change_tests(b, a, model, alpha=0.05)
    bare = unit_change_tests(b, a, dataclasses.replace(model, seasonal_variance=0.0), alpha=0.05)
    lw = np.log(out["rate_ratio_high"] / out["rate_ratio_low"])
    lw0 = np.log(bare["rate_ratio_high"] / bare["rate_ratio_low"])
    assert (lw > lw0).all() and (out["p_value"] >= bare["p_value"]).all()
    # most for the busiest unit, whose own noise is smallest
    assert lw[1] / lw0[1] > lw[0] / lw0[0]


def test_half_year_comparisons_with_a_loaded_year_hold_their_level():
    # 400 study areas with a July peak and no change; a busy Poisson place (1,000 incidents a
    # month, judged as Poisson) in an area whose other monthly totals vary 6 % more than Poisson:
    # the season's estimate from the earlier year is more uncertain than the place's own counts.
    # Flagged at about the nominal rate with the factors' uncertainty, far more often without it.
    from hotspots.change_model import unit_change_tests

    rng = np.random.default_rng(8)
    poisson = Overdispersion(kappa=0.0, tau2=0.0, tau2_units=0, tau2_source="given")
    p, p_bare = [], []
    for _ in range(400):
        panel = _half_year_panel(rng, units=1, monthly=1000.0)
        model = dataclasses.replace(fit_change_model(panel, unit_word="areas", tau2=0.0), dispersion=poisson)
        b, a = panel.totals(BEFORE), panel.totals(AFTER)
        p.append(unit_change_tests(b, a, model, alpha=0.05)["p_value"].iloc[0])
        bare = dataclasses.replace(model, seasonal_variance=0.0)
        p_bare.append(unit_change_tests(b, a, bare, alpha=0.05)["p_value"].iloc[0])
    rate, rate_bare = np.mean(np.asarray(p) < 0.05), np.mean(np.asarray(p_bare) < 0.05)
    assert 0.02 < rate < 0.08 and rate_bare > 0.2


def test_a_tau2_from_the_compared_periods_takes_the_same_pretest():
    # two years of Poisson places (no placebo): DerSimonian-Laird's estimate is positive about
    # half the time by chance; where Cochran's Q is not significant at 0.10 it is estimated as 0
    # and the tests average over how large it could be, as with a placebo comparison
    from hotspots.dispersion import estimate_tau2, heterogeneity_p

    rng = np.random.default_rng(31)
    seen = 0
    for _ in range(40):
        panel = _panel(rng, units=20)
        keep = panel.label != PLACEBO
        two = MonthlyPanel(panel.counts[:, keep], panel.month[keep], panel.label[keep], panel.exposure[keep],
                           panel.reference[keep])
        B, A = two.totals(BEFORE), two.totals(AFTER)
        d = fit_change_model(two).dispersion
        phi = d.phi((A + B) / 24)
        dl, _ = estimate_tau2(B, A, 360.0, 360.0, phi, variance="expected")
        q_p = heterogeneity_p(B, A, 360.0, 360.0, phi)
        assert d.tau2_source.startswith("this comparison")
        if dl > 0 and q_p > 0.10:
            seen += 1
            assert d.tau2 == 0 and "Cochran's Q p" in d.tau2_source and d.tau2_test_draws.size > 0
            # its draws come from the same comparison, where real changes count as variation
            assert any("compared periods themselves" in n for n in fit_change_model(two).notes)
        elif dl > 0:
            assert d.tau2 == pytest.approx(dl, rel=0.2) and d.tau2_test_draws.size == 0
    assert seen >= 3


def _two_years(rng: np.random.Generator, *, units: int = 30, monthly: float = 60.0, fall: float = 0.3) -> MonthlyPanel:
    """A before and an after year of Poisson counts; the first half of the units fall by ``fall``."""
    year = np.repeat(np.arange(2), 12)
    eff = np.where(np.arange(units) < units // 2, 1.0 - fall, 1.0)
    counts = rng.poisson(monthly * np.where(year[None, :] == 1, eff[:, None], 1.0))
    return MonthlyPanel(
        counts=counts,
        month=2023 * 12 + np.arange(24),
        label=np.array([BEFORE, AFTER])[year],
        exposure=np.full(24, 30.0),
        reference=counts.sum(axis=0).astype(float) * 10,
    )


def test_a_finer_one_group_comparison_tau2_does_not_override_two_groups():
    # two years, half the (Poisson) areas fall 30 %: their own comparison tells the two groups
    # apart (within them tau2 is about 0); the cells' one-group estimate of the same comparison,
    # which counts the falls as scatter, would hide them (0.25 * 0.36^2 = 0.03)
    from hotspots.dispersion import TWO_GROUPS_SOURCE

    panel = _two_years(np.random.default_rng(8))
    cells_one = Overdispersion(kappa=0.0, tau2=0.03, tau2_units=400, tau2_source="this comparison", tau2_groups=60)
    d = fit_change_model(panel, tau2_fallback=cells_one, unit_word="areas").dispersion
    assert d.tau2_source.endswith(TWO_GROUPS_SOURCE) and d.tau2 < 0.005
    # the cells' own two-group fit, or a placebo estimate (no effect in it), is still taken
    cells_two = dataclasses.replace(cells_one, tau2=0.001, tau2_source="this comparison" + TWO_GROUPS_SOURCE)
    d2 = fit_change_model(panel, tau2_fallback=cells_two, unit_word="areas").dispersion
    assert d2.tau2 == pytest.approx(0.001) and d2.tau2_source.endswith("from the finer units")
    placebo = dataclasses.replace(cells_one, tau2_source="placebo periods")
    d3 = fit_change_model(panel, tau2_fallback=placebo, unit_word="areas").dispersion
    assert d3.tau2 == pytest.approx(0.03) and "finer units" in d3.tau2_source
    # what it changes: the falls are found, not lost in the one-group scatter
    from hotspots.change_model import unit_change_tests

    b, a = (panel.counts[:, panel.label == x].sum(axis=1) for x in (BEFORE, AFTER))
    own = fit_change_model(panel, tau2_fallback=cells_one, unit_word="areas")
    one = fit_change_model(panel, tau2=0.03, unit_word="areas")
    found = [(unit_change_tests(b, a, m, alpha=0.05)["p_value"].to_numpy()[:15] < 0.05).mean() for m in (own, one)]
    assert found[0] >= 0.9 and found[1] <= 0.7  # 15 of 15 against 9 of 15


def test_the_monthly_panel_has_no_slot_for_a_missing_month():
    import datetime as dt

    from hotspots.change_model import monthly_panel

    month = np.repeat(2024 * 12 + np.arange(12), 3)  # 3 incidents a month in unit 0, 2024
    unit = np.zeros(month.size, dtype=np.int64)
    label = np.where(month % 12 < 6, BEFORE, AFTER)
    periods = {BEFORE: (dt.date(2024, 1, 1), dt.date(2024, 6, 30)), AFTER: (dt.date(2024, 7, 1), dt.date(2024, 12, 31))}
    full = monthly_panel(unit, 1, month, np.ones(month.size, bool), label, periods, True)
    july = 2024 * 12 + 6
    keep = month != july
    gap = monthly_panel(unit[keep], 1, month[keep], np.ones(keep.sum(), bool), label[keep], periods, True, missing=(july,))
    assert july in full.month and july not in gap.month
    assert full.exposure[full.label == AFTER].sum() == 184 and gap.exposure[gap.label == AFTER].sum() == 153
    assert gap.totals(AFTER)[0] == 15 and gap.totals(BEFORE)[0] == 18


@pytest.mark.parametrize("kind", ["known", "t", "draws"])
def test_unit_intervals_exclude_one_exactly_when_the_p_value_is_significant(kind):
    from hotspots.change_model import unit_change_tests

    # small count pairs under each reference the tests use (tau2 known, estimated with df, averaged over
    # its draws): Sussex's cells had 0.309 (0.096-0.991) beside p = 0.057 with the Wald interval
    model = {
        "known": _model(tau2=0.02, adjusted=False),
        "t": _model(tau2=0.02, tau2_groups=6, adjusted=False),
        "draws": _with_draws(_model(tau2=0.0, adjusted=False), [0.0, 0.01, 0.03, 0.08, 0.2]),
    }[kind]
    b, a = (g.ravel() for g in np.meshgrid(np.arange(0, 26), np.arange(0, 26)))
    for alpha in (0.05, 0.1):
        out = unit_change_tests(b, a, model, alpha=alpha)
        p, lo, hi = (out[c].to_numpy() for c in ("p_value", "rate_ratio_low", "rate_ratio_high"))
        tested = np.isfinite(p)
        assert tested.sum() == b.size - 1  # all but 0 and 0
        clear = tested & (np.abs(p - alpha) > 1e-7)
        np.testing.assert_array_equal(((lo > 1) | (hi < 1))[clear], (p < alpha)[clear])
        assert clear.sum() > 600 and ((lo > 1) | (hi < 1))[clear].sum() > 100  # both kinds of case occur


def test_shared_shocks_add_to_each_units_variance_as_a_known_shift():
    # the study area's month shocks (shock_variance) and the seasonal factors' uncertainty
    # (seasonal_variance, here without df) are one shared shift: the same tests either way
    from hotspots.change_model import ChangeModel, unit_change_tests

    d = Overdispersion(kappa=0.0, tau2=0.02, tau2_units=500, tau2_source="placebo periods")
    base = ChangeModel(d, 182.0, 183.0, False, 6, 6)
    shock = dataclasses.replace(base, shock_variance=0.01)
    season = dataclasses.replace(base, seasonal_variance=0.01)
    assert shock.shared_variance == season.shared_variance == 0.01
    b, a = np.array([400, 100, 20]), np.array([330, 70, 10])
    with_shock = unit_change_tests(b, a, shock, alpha=0.05)
    pd.testing.assert_frame_equal(with_shock, unit_change_tests(b, a, season, alpha=0.05))
    # a busy unit's log ratio of 400 -> 330: variance 1/400 + 1/330 + 0.02 (+ 0.01), normal reference
    z = abs(np.log((330 / 183) / (400 / 182)))
    for model, extra in ((base, 0.0), (shock, 0.01)):
        p = unit_change_tests(b[:1], a[:1], model, alpha=0.05)["p_value"].iloc[0]
        assert p == pytest.approx(2 * stats.norm.sf(z / np.sqrt(1 / 400 + 1 / 330 + 0.02 + extra)), rel=0.05)
