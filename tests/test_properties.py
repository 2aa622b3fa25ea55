"""Property-based tests: any valid configuration keeps the model's invariants, every step.

Hypothesis draws small scenarios over every link function, network type and
feature switch (word of mouth, loyalty programmes, service recovery, adaptive
firms, late entrants, segments, distributions of customer attributes). After
each step the state must be consistent: customers conserved and each at one
active firm, shares summing to 1, every bounded quantity in its range, nothing
NaN or infinite, and the money adding up firm by firm and in total. A second
run with the same seed must give identical tables.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from loyaltysim import LoyaltyModel
from loyaltysim.config.loading import validate_config
from loyaltysim.config.schema import LINK_FUNCTIONS, Config
from loyaltysim.model.metrics import BANDS, PeriodCounts

EXAMPLES = int(os.environ.get("LOYALTYSIM_PROPERTY_EXAMPLES", "40"))  # raise it for a deeper hunt
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

unit = st.floats(0.0, 1.0)


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _spread(high: float) -> st.SearchStrategy[float]:
    """A standard deviation: exactly 0, or not so small that its square underflows."""
    return st.just(0.0) | _floats(1e-6, high)


@st.composite
def distributions(draw: st.DrawFn, *, low: float, high: float) -> object:
    """A per-customer attribute: a number, or any distribution family with valid parameters."""
    family = draw(st.sampled_from(["number", "constant", "normal", "lognormal", "gamma", "beta", "uniform"]))
    if family == "number":
        return draw(_floats(low, high))
    if family == "uniform":
        a, b = sorted(draw(st.tuples(_floats(low, high), _floats(low, high))))
        return {"dist": "uniform", "low": a, "high": b}
    if family == "beta":
        mean = draw(_floats(0.05, 0.95))
        return {"dist": "beta", "mean": mean, "sd": draw(_spread(0.99)) * np.sqrt(mean * (1 - mean))}
    mean = draw(_floats(max(low, 0.01) if family in ("lognormal", "gamma") else low, high))
    spec = {"dist": family, "mean": mean, "sd": draw(_spread(2.0 * max(abs(mean), 0.1)))}
    if draw(st.booleans()):
        spec["low"], spec["high"] = low, high
    return spec


@st.composite
def firms(draw: st.DrawFn, steps: int) -> list[dict]:
    k = draw(st.integers(1, 4))
    result = []
    for i in range(k):
        result.append(
            {
                "name": f"F{i}",
                "quality": draw(unit),
                "consistency": draw(_floats(0.0, 0.4)),
                "price": draw(_floats(0.0, 25.0)),
                "promise": draw(unit),
                "unit_cost": draw(_floats(0.0, 15.0)),
                "initial_share": draw(_floats(0.0, 3.0)),
                "enters_at": 0 if i == 0 else draw(st.integers(0, steps + 1)),
                "loyalty_programme": {
                    "enabled": draw(st.booleans()),
                    "switching_cost": draw(_floats(0.0, 5.0)),
                    "cost_per_member": draw(_floats(0.0, 2.0)),
                },
                "service_recovery": {
                    "enabled": draw(st.booleans()),
                    "success_rate": draw(unit),
                    "softening": draw(unit),
                    "cost": draw(_floats(0.0, 5.0)),
                },
            }
        )
    result[0]["initial_share"] = draw(_floats(0.01, 3.0))  # someone must hold the market at step 0
    return result


@st.composite
def networks(draw: st.DrawFn, n: int) -> dict:
    kind = draw(st.sampled_from(["none", "complete", "watts_strogatz", "barabasi_albert", "erdos_renyi"]))
    if kind == "watts_strogatz":
        return {"type": kind, "degree": 2 * draw(st.integers(0, (n - 1) // 2)), "rewiring": draw(unit)}
    if kind == "barabasi_albert" and n >= 3:
        return {"type": kind, "degree": draw(st.integers(2, n - 1))}
    if kind == "erdos_renyi":
        return {"type": kind, "degree": draw(st.integers(0, n - 1))}
    return {"type": "none" if kind == "barabasi_albert" else kind}


@st.composite
def segments(draw: st.DrawFn) -> list[dict]:
    count = draw(st.integers(0, 2))
    shares = [draw(_floats(0.05, 0.5)) for _ in range(count)]
    return [
        {
            "name": f"seg{i}",
            "share": share,
            "switching_cost": draw(st.none() | distributions(low=0.0, high=10.0)),
            "price_sensitivity": draw(st.none() | distributions(low=0.0, high=2.0)),
            "talkativeness": draw(st.none() | distributions(low=0.0, high=3.0)),
            "initial_expectation": draw(st.none() | distributions(low=0.0, high=1.0)),
            "response_bias": draw(st.none() | distributions(low=-0.2, high=0.2)),
            "tolerance": draw(st.none() | distributions(low=0.0, high=1.0)),
        }
        for i, share in enumerate(shares)
    ]


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """A small valid scenario with every switch drawn at random."""
    n = draw(st.integers(1, 60))
    steps = draw(st.integers(1, 12))
    zone_low = draw(_floats(0.0, 0.98))
    zone_high = min(1.0, zone_low + draw(_floats(0.01, 0.99)))
    trust_weight = draw(_floats(0.0, 0.5))
    cutoffs = sorted(draw(st.lists(_floats(0.0, 1.0), min_size=4, max_size=4, unique=True)))
    data = {
        "run": {
            "steps": steps,
            "seed": draw(st.integers(0, 2**63)),
            "period": draw(st.sampled_from(["day", "week", "month", "quarter", "year"])),
            "burn_in": draw(st.integers(0, steps)),
            "panel_size": draw(st.integers(0, 5)),
            "warm_start": draw(st.booleans()),
        },
        "customers": {
            "n": n,
            "initial_expectation": draw(distributions(low=0.0, high=1.0)),
            "switching_cost": draw(distributions(low=0.0, high=20.0)),
            "price_sensitivity": draw(distributions(low=0.0, high=2.0)),
            "talkativeness": draw(distributions(low=0.0, high=3.0)),
            "fit": draw(_floats(0.0, 0.5)),
            "tolerance": draw(distributions(low=0.0, high=1.0)),
            "initial_tenure": draw(_floats(0.0, 30.0)),
            "segments": draw(segments()),
        },
        "satisfaction": {
            "sensitivity": draw(_floats(0.01, 50.0)),
            "loss_aversion": draw(_floats(1.0, 50.0)),
            "quality_weight": draw(_floats(0.0, 3.0)),
            "neutral_performance": draw(unit),
            "memory": draw(_floats(0.0, 0.999)),
            "tenure_anchoring": draw(_floats(0.0, 5.0)),
        },
        "expectations": {"experience_weight": draw(unit), "advertising_weight": draw(unit)},
        "loyalty": {
            "link": draw(st.sampled_from(LINK_FUNCTIONS)),
            "threshold": draw(unit),
            "steepness": draw(_floats(0.01, 100.0)),
            "zone_low": zone_low,
            "zone_high": zone_high,
            "zone_slope": draw(unit),
            "concavity": draw(_floats(1.0, 20.0)),
            "trust_weight": trust_weight,
            "trust_growth": draw(unit),
            "habit_weight": draw(_floats(0.0, 1.0 - trust_weight)),
            "habit_years": draw(_floats(0.01, 20.0)),
        },
        "switching": {
            "value_weight": draw(_floats(0.0, 50.0)),
            "loyalty_weight": draw(_floats(0.0, 20.0)),
            "choice_noise": draw(_floats(0.01, 20.0)),
            "variety_seeking": draw(unit),
            "consideration": draw(st.sampled_from(["triggered", "always"])),
            "tolerance_width": draw(_floats(1e-6, 1.0)),
            "wom_prompt": draw(unit),
            "offer_rate": draw(unit),
            "offer_value": draw(_floats(0.0, 20.0)),
            "fortitude": draw(_floats(0.0, 5.0)),
            "relational_share": draw(unit),
        },
        "word_of_mouth": {
            "enabled": draw(st.booleans()),
            "talk_rate": draw(unit),
            "extremity": draw(_floats(0.0, 6.0)),
            "negativity": draw(_floats(0.0, 6.0)),
            "negative_weight": draw(_floats(0.0, 6.0)),
            "reach": draw(unit),
            "influence": draw(unit),
            "incident_weight": draw(unit),
        },
        "network": draw(networks(n)),
        "firms": draw(firms(steps)),
        "economics": {
            "reference_price": draw(_floats(0.5, 30.0)),
            "acquisition_cost": draw(_floats(0.0, 20.0)),
            "retention_cost": draw(_floats(0.0, 5.0)),
            # a zero discount rate with full retention makes CLV infinite (see docs/robustness.md)
            "annual_discount_rate": draw(_floats(0.01, 1.0)),
        },
        "strategy": {
            "kind": draw(st.sampled_from(["none", "adaptive_quality"])),
            "satisfaction_target": draw(unit),
            "adjustment": draw(unit),
            "quality_unit_cost": draw(_floats(0.0, 20.0)),
        },
        "observation": {
            "response_bias": draw(distributions(low=-0.2, high=0.2)),
            "rating_noise": draw(_floats(0.0, 0.3)),
            "recommend_curvature": draw(_floats(0.05, 1.0)),
            "rating_cutoffs": cutoffs,
        },
    }
    return validate_config(data, source="hypothesis")


def _in_unit_interval(values: np.ndarray, name: str) -> None:
    assert np.all(np.isfinite(values)), f"{name} has NaN or inf"
    assert np.all((values >= 0.0) & (values <= 1.0)), f"{name} leaves [0, 1]: {values.min()}..{values.max()}"


def check_step(model: LoyaltyModel, firm_before: np.ndarray, unit_cost_before: np.ndarray) -> None:
    """Every invariant of the state and the step's outputs, right after ``model.step()``."""
    config, market, s, step = model.config, model.market, model.state, model.steps
    n, k = s.n, market.k

    # customers: each belongs to exactly one firm that is in the market
    assert s.firm.shape == (n,) and s.firm.dtype.kind == "i"
    assert s.firm.min() >= 0 and s.firm.max() < k
    assert np.all(market.enters_at[s.firm] <= step), "a customer is at a firm that has not entered yet"
    assert np.all(s.tenure >= 0)

    # every state array finite and in range
    for name in ("satisfaction", "loyalty", "trust", "belief"):
        _in_unit_interval(getattr(s, name), name)
    for name in ("fit", "switching_cost", "price_sensitivity", "talkativeness", "response_bias", "tolerance"):
        assert np.all(np.isfinite(getattr(s, name))), name
    for name in ("switching_cost", "price_sensitivity", "talkativeness"):
        assert np.all(getattr(s, name) >= 0), name
    _in_unit_interval(market.quality, "firm quality")
    assert np.all(np.isfinite(market.unit_cost)) and np.all(market.unit_cost >= unit_cost_before)

    # the period's outcome
    out = model.last_outcome
    _in_unit_interval(out.satisfaction, "decision satisfaction")
    _in_unit_interval(out.loyalty, "decision loyalty")
    assert set(np.unique(out.rating)) <= {1, 2, 3, 4, 5}
    assert out.recommend.min() >= 0 and out.recommend.max() <= 10
    assert np.array_equal(out.firm_before, firm_before)
    assert np.array_equal(out.switched, s.firm != firm_before)

    # consideration: only customers who compared the firms switch; offers only if rivals make them
    counts = PeriodCounts.of(out)
    assert np.all(counts.band_switchers <= counts.considered) and np.all(counts.considered <= counts.band_customers)
    assert np.all(counts.offered <= counts.band_customers)
    assert config.switching.offer_rate > 0 or counts.offered.sum() == 0
    assert config.switching.consideration == "triggered" or np.array_equal(counts.considered, counts.band_customers)
    assert [counts.wom_positive.sum(), counts.wom_negative.sum()] == [out.messages_positive, out.messages_negative]

    # firms: purchases, flows and shares add up
    rows = pd.DataFrame(model.last_firm_rows)
    purchases = np.bincount(firm_before, minlength=k)
    assert rows["purchases"].tolist() == purchases.tolist()
    assert rows["customers"].tolist() == np.bincount(s.firm, minlength=k).tolist()
    assert np.array_equal(rows["customers"], rows["purchases"] - rows["lost"] + rows["won"])
    assert rows["won"].sum() == rows["lost"].sum() == int(out.switched.sum())
    assert rows["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert [agent.share for agent in model.firm_agents] == pytest.approx(rows["share"].tolist())

    # money: revenue = price × purchases; costs = their parts; revenue − costs = profit, per firm and in total
    assert_allclose(rows["revenue"], market.price * purchases, rtol=1e-12)
    econ = config.economics
    base_costs = (
        unit_cost_before * purchases
        + econ.retention_cost * (purchases - rows["lost"].to_numpy())
        + econ.acquisition_cost * rows["won"].to_numpy()
        + market.programme_cost * purchases
    )
    recovery = rows["costs"].to_numpy() - base_costs
    assert_allclose(recovery[~market.recovery_enabled | (market.recovery_cost == 0)], 0.0, atol=1e-9)
    # the number of recovery attempts, read back from the costs where one attempt is not lost in their rounding
    countable = market.recovery_enabled & (market.recovery_cost > 1e-9 * np.maximum(1.0, np.abs(base_costs)))
    attempts = recovery[countable] / market.recovery_cost[countable]
    assert_allclose(attempts, np.rint(attempts), atol=1e-6)
    assert np.all((attempts > -1e-6) & (attempts <= purchases[countable] + 1e-6))
    assert_allclose(rows["revenue"] - rows["costs"], rows["profit"], rtol=1e-12, atol=1e-9)
    for column in ("revenue", "costs", "profit", "clv", "quality", "price"):
        assert np.all(np.isfinite(rows[column])), column
    bought = purchases > 0
    assert rows["retention_rate"].isna().tolist() == (~bought).tolist()
    assert rows["mean_satisfaction"].isna().tolist() == (~bought).tolist()
    assert rows["retention_rate"][bought].between(0, 1).all()

    # the market row
    row = model.latest
    assert row["step"] == step and row["customers"] == n and row["switchers"] == int(out.switched.sum())
    assert row["revenue"] == pytest.approx(rows["revenue"].sum(), rel=1e-12, abs=1e-9)
    assert row["profit"] == pytest.approx(rows["profit"].sum(), rel=1e-12, abs=1e-9)
    assert row["hhi"] == pytest.approx(float((rows["share"] ** 2).sum())) and 1.0 / k - 1e-12 <= row["hhi"] <= 1.0 + 1e-12
    assert sum(row[f"share_{band}"] for band in BANDS) == pytest.approx(1.0)
    for name in ("churn_rate", "retention_rate", "annualised_churn", "promoter_share", "detractor_share", "mean_rating"):
        assert np.isfinite(row[name]), name
    for name in ("churn_rate", "retention_rate", "annualised_churn", "promoter_share", "detractor_share"):
        assert 0.0 <= row[name] <= 1.0, name
    assert -100.0 <= row["nps"] <= 100.0 and 1.0 <= row["mean_rating"] <= 5.0
    assert np.isnan(row["satisfied_defector_share"]) == (row["switchers"] == 0)
    for band in BANDS:  # a band's churn is undefined exactly when nobody is in it
        assert np.isnan(row[f"churn_{band}"]) == (row[f"share_{band}"] == 0), band
    for name, value in row.items():
        if not (name.startswith("churn_") or name == "satisfied_defector_share"):
            assert np.isfinite(value), name


def run_checked(config: Config) -> LoyaltyModel:
    model = LoyaltyModel(config)
    for _ in range(config.run.steps):
        firm_before, unit_cost_before = model.state.firm.copy(), model.market.unit_cost.copy()
        model.step()
        check_step(model, firm_before, unit_cost_before)
    assert not model.running
    return model


@SETTINGS
@given(configs())
def test_any_valid_config_keeps_the_invariants_every_step(config):
    model = run_checked(config)
    summary = model.summary()
    assert sum(summary[f"share_{name}"] for name in model.market.names) == pytest.approx(1.0)
    if config.run.steps > config.run.burn_in:
        assert summary["periods"] == config.run.steps - config.run.burn_in
        assert 0.0 <= summary["churn_rate"] <= 1.0 and 0.0 <= summary["mean_satisfaction"] <= 1.0
        curve = model.totals.retention_curve()
        assert curve["customer_periods"].sum() == summary["periods"] * config.customers.n
    if config.run.panel_size:
        panel = model.panel()
        assert len(panel) == config.run.steps * min(config.run.panel_size, config.customers.n)


@settings(max_examples=max(EXAMPLES // 2, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_same_seed_gives_identical_output(config):
    first, second = LoyaltyModel(config).run(), LoyaltyModel(config).run()
    pd.testing.assert_frame_equal(first.timeseries(), second.timeseries())
    pd.testing.assert_frame_equal(first.firm_timeseries(), second.firm_timeseries())
    pd.testing.assert_frame_equal(first.customers(), second.customers())
    pd.testing.assert_frame_equal(first.panel(), second.panel())
    assert first.summary().keys() == second.summary().keys()
    for key, value in first.summary().items():
        assert value == second.summary()[key] or (np.isnan(value) and np.isnan(second.summary()[key])), key


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda m: m.state.satisfaction.__setitem__(0, np.nan),
        lambda m: m.state.loyalty.__setitem__(0, 1.5),
        lambda m: m.state.belief.__setitem__((0, 0), -0.1),
        lambda m: m.state.firm.__setitem__(0, m.market.k),
        lambda m: m.last_firm_rows[0].__setitem__("profit", m.last_firm_rows[0]["profit"] + 1.0),
        lambda m: m.last_firm_rows[0].__setitem__("customers", m.last_firm_rows[0]["customers"] + 1),
    ],
    ids=["nan_satisfaction", "loyalty_above_1", "negative_belief", "unknown_firm", "profit_off_by_1", "customer_lost"],
)
def test_the_checker_catches_a_corrupted_state(corrupt):
    config = validate_config({"customers": {"n": 30}, "network": {"degree": 4}, "run": {"steps": 2}})
    model = LoyaltyModel(config)
    firm_before, unit_cost_before = model.state.firm.copy(), model.market.unit_cost.copy()
    model.step()
    check_step(model, firm_before, unit_cost_before)
    corrupt(model)
    with pytest.raises(AssertionError):
        check_step(model, firm_before, unit_cost_before)
