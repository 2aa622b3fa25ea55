"""Numerical edge cases: degenerate markets and extreme parameters still run and keep every invariant."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from loyaltysim import LoyaltyModel
from loyaltysim.config.loading import load_config
from loyaltysim.config.schema import MAGNITUDE_LIMIT

from .test_properties import run_checked

SMALL = {"customers.n": 40, "run.steps": 8, "run.burn_in": 2, "network.degree": 4}
ONE_FIRM = [{"name": "Only", "quality": 0.6}]
ZERO_NOISE = {
    **{f"firms.{i}.consistency": 0.0 for i in range(5)},
    "observation.rating_noise": 0.0,
    "observation.response_bias": 0.0,
    "customers.fit": 0.0,
    "customers.initial_expectation": 0.6,
    "customers.switching_cost": 2.0,
    "customers.price_sensitivity": 0.3,
    "customers.talkativeness": 1.0,
}
BIG = MAGNITUDE_LIMIT

EDGE_CASES: dict[str, dict[str, object]] = {
    "one_customer": {"customers.n": 1, "network.degree": 0},
    "one_customer_complete_network": {"customers.n": 1, "network.type": "complete"},
    "two_customers": {"customers.n": 2, "network.type": "complete"},
    "one_firm": {"firms": ONE_FIRM},
    "one_customer_one_firm": {"customers.n": 1, "network.type": "none", "firms": ONE_FIRM},
    "one_firm_variety_seeking_1": {"firms": ONE_FIRM, "switching.variety_seeking": 1.0},
    "no_edges_none": {"network.type": "none"},
    "no_edges_erdos_renyi_0": {"network.type": "erdos_renyi", "network.degree": 0},
    "no_edges_watts_strogatz_0": {"network.type": "watts_strogatz", "network.degree": 0},
    "all_in_one_firm": {f"firms.{i}.initial_share": 0.0 for i in range(1, 5)},
    "only_one_firm_present_rest_enter_later": {**{f"firms.{i}.enters_at": 4 for i in range(1, 5)}},
    "entrant_after_the_end": {"firms.1.enters_at": 1000},
    "extreme_loss_aversion": {"satisfaction.loss_aversion": BIG},
    "extreme_loss_aversion_fast_trust": {"satisfaction.loss_aversion": BIG, "loyalty.trust_growth": 1.0},
    "zero_noise": ZERO_NOISE,
    "zero_noise_no_wom_identical_customers": {**ZERO_NOISE, "word_of_mouth.enabled": False},
    "extreme_satisfaction_sensitivity": {"satisfaction.sensitivity": BIG},
    "memory_almost_1": {"satisfaction.memory": 0.999999},
    "memory_0": {"satisfaction.memory": 0.0},
    "choice_noise_floor": {"switching.choice_noise": 1e-6},
    "choice_noise_huge": {"switching.choice_noise": BIG},
    "value_weight_huge": {"switching.value_weight": BIG},
    "switching_cost_huge": {"customers.switching_cost": BIG},
    "everyone_seeks_variety": {"switching.variety_seeking": 1.0},
    "free_switching_no_loyalty": {"customers.switching_cost": 0.0, "switching.loyalty_weight": 0.0},
    "loud_complete_network": {
        "network.type": "complete",
        "word_of_mouth.talk_rate": 1.0,
        "word_of_mouth.reach": 1.0,
        "word_of_mouth.influence": 1.0,
        "word_of_mouth.extremity": 0.0,
        "word_of_mouth.negative_weight": BIG,
        "customers.talkativeness": BIG,
    },
    "steepness_floor": {"loyalty.link": "threshold", "loyalty.steepness": 1e-6},
    "steepness_huge": {"loyalty.link": "threshold", "loyalty.steepness": BIG},
    "concavity_huge": {"loyalty.link": "concave", "loyalty.concavity": BIG},
    "narrow_zone": {"loyalty.link": "zone_of_tolerance", "loyalty.zone_low": 0.5, "loyalty.zone_high": 0.5 + 1e-12},
    "wide_zone": {"loyalty.link": "zone_of_tolerance", "loyalty.zone_low": 1e-9, "loyalty.zone_high": 1.0},
    "habit_years_floor": {"loyalty.habit_years": 1e-9, "loyalty.habit_weight": 0.5},
    "reference_price_floor": {"economics.reference_price": 1e-6},
    "prices_zero": {f"firms.{i}.price": 0.0 for i in range(5)},
    "prices_huge": {f"firms.{i}.price": BIG for i in range(5)},
    "price_sensitivity_huge": {"customers.price_sensitivity": BIG},
    "daily_periods": {"run.period": "day"},
    "yearly_periods": {"run.period": "year", "satisfaction.tenure_anchoring": BIG},
    "adaptive_full_adjustment": {
        "strategy.kind": "adaptive_quality",
        "strategy.adjustment": 1.0,
        "strategy.satisfaction_target": 1.0,
    },
    "recovery_everywhere": {
        **{f"firms.{i}.service_recovery": {"enabled": True, "success_rate": 1.0, "softening": 1.0} for i in range(5)},
    },
    "programmes_everywhere": {
        **{f"firms.{i}.loyalty_programme": {"enabled": True, "switching_cost": BIG} for i in range(5)},
    },
    "burn_in_longer_than_run": {"run.burn_in": 100},
    "panel_bigger_than_market": {"run.panel_size": 1000},
    "all_segments": {
        "customers.segments": [
            {"name": "a", "share": 0.5, "switching_cost": 0.0},
            {"name": "b", "share": 0.5, "price_sensitivity": {"dist": "uniform", "low": 0.0, "high": 3.0}},
        ]
    },
}


@pytest.mark.parametrize("overrides", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_case_runs_and_keeps_every_invariant(overrides):
    config = load_config(None, {**SMALL, **overrides})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow, 0/0 or invalid values in numpy fail the case
        model = run_checked(config)
    summary = model.summary()
    assert summary["steps"] == config.run.steps
    assert sum(summary[f"share_{name}"] for name in model.market.names) == pytest.approx(1.0)


def test_one_firm_keeps_everyone():
    model = run_checked(load_config(None, {**SMALL, "firms": ONE_FIRM, "switching.variety_seeking": 1.0}))
    assert model.timeseries()["switchers"].sum() == 0
    assert model.firm_timeseries()["share"].eq(1.0).all()


def test_all_customers_start_in_one_firm():
    model = LoyaltyModel(load_config(None, {**SMALL, **EDGE_CASES["all_in_one_firm"]}))
    assert np.all(model.state.firm == 0)


def test_zero_noise_identical_customers_stay_identical():
    # no noise, no word of mouth, identical attributes: customers who stayed put with the same
    # firm for the same time (tenure) have lived the same life, whatever the random draws.
    # 200 customers: with 5 firms × 24 initial tenures, 40 customers leave only 1–7 groups of two or more
    config = load_config(None, {**SMALL, **EDGE_CASES["zero_noise_no_wom_identical_customers"], "customers.n": 200})
    model = LoyaltyModel(config)
    ever_switched = np.zeros(config.customers.n, dtype=bool)
    for _ in range(config.run.steps):
        model.step()
        ever_switched |= model.last_outcome.switched
    s = model.state
    groups = 0
    for firm, tenure in {(int(f), int(t)) for f, t in zip(s.firm[~ever_switched], s.tenure[~ever_switched], strict=True)}:
        members = ~ever_switched & (s.firm == firm) & (s.tenure == tenure)
        groups += members.sum() > 1
        for name in ("satisfaction", "loyalty", "trust", "belief"):
            assert np.ptp(getattr(s, name)[members], axis=0).max() == 0.0, name
    assert groups >= 10  # the check compared real groups


def test_zero_discount_rate_makes_clv_an_undiscounted_perpetuity():
    # CLV = m·r / (1 + d − r): with d = 0 it is infinite exactly where retention is 1
    model = LoyaltyModel(load_config(None, {**SMALL, "economics.annual_discount_rate": 0.0}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.run()
    firms = model.firm_timeseries()
    infinite = ~np.isfinite(firms["clv"])
    assert infinite.any()
    assert (firms.loc[infinite, "retention_rate"] == 1.0).all()
    assert np.isfinite(firms.loc[firms["retention_rate"] < 1.0, "clv"]).all()


def test_entrant_after_the_end_never_gets_a_customer():
    model = run_checked(load_config(None, {**SMALL, "firms.1.enters_at": 1000}))
    assert model.firm_timeseries().query("firm == 'B'")["customers"].eq(0).all()


def test_documented_count_matches():
    from .conftest import ROOT

    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    assert f"\n{len(EDGE_CASES)} degenerate scenarios run" in text
