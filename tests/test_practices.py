"""The firm practices of ODD 7.17: win-back, targeted relationship marketing, stickiness.

Their rules with values, the practices' behaviour in runs, their bad config values, and the model with
every practice off: bit for bit what main computed before they existed (``tests/data/main_outputs.npz``,
written by ``tests/data/make_main_outputs.py`` with main's sources, f48cd73).
"""

import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from loyaltysim import ConfigError, LoyaltyModel
from loyaltysim.model import parameters, rules

from .conftest import ROOT, SWITCHES, small_config

P = parameters.record(small_config())
FIXTURE = ROOT / "tests" / "data" / "main_outputs.npz"


def sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- with every practice off, the model is main's -------------------------------------------------


@pytest.mark.parametrize(
    "name, switches", [("baseline", {}), ("everything", {**SWITCHES["everything"], **SWITCHES["loud word of mouth"]})]
)
def test_without_practices_the_outputs_are_mains_bit_for_bit(name, switches):
    expected = np.load(FIXTURE, allow_pickle=True)
    model = LoyaltyModel(small_config(customers__n=200, run__steps=30, **switches)).run()
    assert model.practices is None
    ts = model.timeseries()
    assert_array_equal(np.array(ts.columns), expected[f"{name}/timeseries_columns"])  # no new columns
    assert_array_equal(ts.to_numpy(dtype=float), expected[f"{name}/timeseries"])
    assert_array_equal(model.firm_timeseries().drop(columns="firm").to_numpy(dtype=float), expected[f"{name}/firms"])
    for field in ("firm", "tenure", "belief", "satisfaction", "trust", "loyalty"):
        assert_array_equal(getattr(model.state, field), expected[f"{name}/state_{field}"], err_msg=field)


# --- the rules ------------------------------------------------------------------------------------


def test_leaving_reason_follows_the_trigger():
    p = P._replace(switching_variety_seeking=0.2)
    assert rules.leaving_reason.py_func(0.1, True, p) == rules.VARIETY  # a variety seeker, even if it took an offer
    assert rules.leaving_reason.py_func(0.5, True, p) == rules.PULLED
    assert rules.leaving_reason.py_func(0.5, False, p) == rules.PUSHED
    assert rules.leaving_reason.py_func(rules.NOT_DRAWN, False, p) == rules.PUSHED


def test_win_back_probability_by_reason_offer_satisfaction_and_recovery():
    f = rules.win_back_probability.py_func  # defaults: base −2, offer weight 1.5 per reference price 10, …
    assert f(rules.PULLED, 0.5, 0.0, False, P) == pytest.approx(sigma(-2.0))
    assert f(rules.PULLED, 0.5, 5.0, False, P) == pytest.approx(sigma(-2.0 + 0.75))
    assert f(rules.PULLED, 0.7, 5.0, False, P) == pytest.approx(sigma(-2.0 + 0.75 + 4.0 * 0.2))
    assert f(rules.PUSHED, 0.5, 5.0, False, P) == pytest.approx(sigma(-2.0 + 0.75 - 1.5))
    assert f(rules.PUSHED, 0.5, 5.0, True, P) == pytest.approx(sigma(-2.0 + 0.75 - 1.5 * 0.2))
    assert f(rules.VARIETY, 0.5, 5.0, True, P) == pytest.approx(sigma(-2.0 + 0.75 - 0.5))  # recovery repairs dissatisfaction only
    assert f(rules.PUSHED, 0.2, 0.0, False, P) < f(rules.VARIETY, 0.2, 0.0, False, P) < f(rules.PULLED, 0.2, 0.0, False, P)


def test_share_of_wallet_and_purchases():
    on = P._replace(stickiness_enabled=1.0)  # defaults: wallet 1.5, floor 0.2, satisfaction share 0.5, curvature 2
    assert rules.share_of_wallet.py_func(1.0, 1.0, on) == pytest.approx(1.0)
    assert rules.share_of_wallet.py_func(0.0, 0.0, on) == pytest.approx(0.2)
    assert rules.share_of_wallet.py_func(0.4, 0.6, on) == pytest.approx(0.2 + 0.8 * 0.25)
    assert rules.share_of_wallet.py_func(1.2, 1.0, on) == pytest.approx(1.0)  # attachment clipped to [0, 1]
    assert rules.purchase_units.py_func(0.4, 0.6, on) == pytest.approx(1.5 * 0.4)
    assert rules.purchase_units.py_func(0.4, 0.6, P) == 1.0  # stickiness off: one purchase each
    assert rules.volume_economics.py_func(12.5, 10, 10.0, 6.0) == pytest.approx((25.0, 15.0))


def test_targeting_and_benefit_rules():
    assert [rules.targeted_count.py_func(n, share) for n, share in ((10, 0.2), (10, 0.25), (4, 0.25), (0, 0.3), (3, 1.0))] == [
        2,
        3,
        1,
        0,
        3,
    ]
    assert rules.benefit_quality.py_func(0.7, 0.1) == pytest.approx(0.8)
    assert rules.benefit_quality.py_func(0.95, 0.1) == 1.0
    assert rules.benefit_switching_cost.py_func(1.0, 0.5) == 1.5
    d = 1.1 ** (1 / 12) - 1  # monthly periods, 10 % a year
    assert rules.lifetime_value.py_func(3.0, 0.9, P) == pytest.approx(3.0 * 0.9 / (1 + d - 0.9))
    assert rules.lifetime_value.py_func(3.0, 1.0, P) == pytest.approx(3.0 * 0.99 / (1 + d - 0.99))  # retention capped


# --- the practices in a run -----------------------------------------------------------------------


def _run(steps: int = 30, **switches) -> LoyaltyModel:
    return LoyaltyModel(small_config(run__steps=steps, **switches)).run()


def test_switchers_record_why_they_left():
    pushed = LoyaltyModel(small_config(**{"switching.variety_seeking": 0.0, "switching.offer_rate": 0.0}))
    pushed.run(10)
    assert (pushed.state.left_firm >= 0).sum() > 0
    assert set(pushed.state.left_reason[pushed.state.left_firm >= 0]) == {rules.PUSHED}
    varied = LoyaltyModel(small_config(**{"switching.variety_seeking": 1.0}))
    varied.run(3)
    assert set(varied.state.left_reason[varied.state.left_firm >= 0]) == {rules.VARIETY}
    offered = LoyaltyModel(
        small_config(**{"switching.variety_seeking": 0.0, "switching.offer_rate": 0.3, "switching.offer_value": 5.0})
    )
    offered.run(3)
    reasons = offered.state.left_reason[offered.state.left_firm >= 0]
    assert set(reasons) == {rules.PUSHED, rules.PULLED}
    assert_allclose(offered.state.left_satisfaction[offered.state.left_firm < 0], 0.0)


def test_win_back_contacts_the_customers_lost_within_the_window_and_books_its_cost():
    policy = {"enabled": True, "window": 1, "cost_per_contact": 0.5, "offer": 5.0}
    model = _run(**{f"firms.{j}.win_back": policy for j in range(5)})
    firms = model.firm_timeseries()
    # window 1: each firm contacts exactly the customers it lost in the period, once
    assert_array_equal(firms["win_back_contacts"], firms["lost"])
    assert_allclose(firms["win_back_cost"], 0.5 * firms["win_back_contacts"] + 5.0 * firms["win_backs"])
    assert firms["win_backs"].sum() > 0
    assert (firms["win_backs"] <= firms["win_back_contacts"]).all()
    # customers won back are counted with the firm that won them
    assert (firms.groupby("step")["customers"].sum() == model.config.customers.n).all()
    assert (firms["profit"] == firms["revenue"] - firms["costs"]).all()


def test_a_longer_window_contacts_more():
    short = _run(**{"firms.0.win_back": {"enabled": True, "window": 1}})
    long = _run(**{"firms.0.win_back": {"enabled": True, "window": 6}})
    assert long.timeseries()["win_back_contacts"].sum() > short.timeseries()["win_back_contacts"].sum()


def test_service_recovery_wins_back_more_of_the_same_contacts():
    """Same seed: in the first period the same customers are contacted with the same draws, and recovery
    only raises the chance of the dissatisfied."""
    base = {f"firms.{j}.win_back": {"enabled": True, "offer": 10.0} for j in range(5)}
    plain = _run(1, **base, **{"switching.variety_seeking": 0.0, "switching.offer_rate": 0.0})
    repaired = _run(
        1,
        **{key: {**value, "service_recovery": True} for key, value in base.items()},
        **{"switching.variety_seeking": 0.0, "switching.offer_rate": 0.0},
    )
    first, second = plain.timeseries().iloc[0], repaired.timeseries().iloc[0]
    assert first["win_back_contacts"] == second["win_back_contacts"] > 0
    assert second["win_backs"] >= first["win_backs"]
    assert second["win_back_cost"] == pytest.approx(
        first["win_back_cost"] + 1.0 * first["win_back_contacts"] + 10.0 * (second["win_backs"] - first["win_backs"])
    )


def test_targeting_gives_the_benefit_to_the_top_customers_by_revenue():
    model = LoyaltyModel(small_config(**{"firms.4.targeting": {"enabled": True, "share": 0.25, "every": 4, "size": 0.1}}))
    model.run(5)  # targets chosen after periods 1 and 5
    members = np.flatnonzero(model.state.firm == 4)
    targeted = members[model.state.benefit_quality[members] > 0]
    assert len(targeted) == math.ceil(0.25 * len(members))
    assert_allclose(model.state.benefit_quality[targeted], 0.1)
    spend = model.practices.spend
    others = np.setdiff1d(members, targeted)
    assert spend[targeted].min() >= spend[others].max()
    assert not model.state.benefit_quality[model.state.firm != 4].any()
    row = model.firm_timeseries().iloc[-1]
    assert row["targeting_cost"] == pytest.approx(0.5 * row["targeted"])


def test_targeted_customers_are_retained_better():
    model = _run(60, **{"firms.0.targeting": {"enabled": True, "benefit": "switching_cost", "size": 3.0, "share": 0.3}})
    ts = model.timeseries().iloc[10:]
    assert ts["targeted_retention"].mean() > ts["untargeted_retention"].mean()


def test_spread_gives_everyone_the_share_of_the_benefit_at_the_same_budget():
    policy = {"enabled": True, "share": 0.2, "size": 0.1, "cost_per_customer": 1.0, "spread": True}
    model = LoyaltyModel(small_config(**{"firms.2.targeting": policy}))
    model.run(1)
    members = model.state.firm == 2
    assert_allclose(model.state.benefit_quality[members], 0.02)
    model.run(1)
    row = model.firm_timeseries().iloc[-3]  # firm C in period 2
    assert row["firm"] == "C"
    assert row["targeting_cost"] == pytest.approx(0.2 * row["targeted"])


def test_a_switcher_leaves_its_benefits_behind():
    model = LoyaltyModel(
        small_config(**{f"firms.{j}.targeting": {"enabled": True, "share": 1.0, "every": 100} for j in range(5)})
    )
    model.run(1)
    assert (model.state.benefit_quality > 0).all()
    model.run(5)
    moved = model.state.tenure < 5
    assert moved.any()
    assert not model.state.benefit_quality[moved].any()


def test_stickiness_makes_revenue_follow_purchases():
    model = _run(20, **{"stickiness.enabled": True})
    firms, ts = model.firm_timeseries(), model.timeseries()
    assert_allclose(firms["revenue"], firms["price"] * firms["units"])
    assert ((ts["share_of_wallet"] > 0.2) & (ts["share_of_wallet"] < 1.0)).all()
    bands = ts[[f"share_of_wallet_b{b}" for b in range(5)]].mean()
    assert bands.dropna().is_monotonic_increasing  # more satisfied customers give a larger share
    assert_allclose(ts["purchase_frequency"], 1.5 * ts["share_of_wallet"])


def test_practices_add_their_columns_only_when_on():
    assert "units" not in _run(2).firm_timeseries()
    assert {"win_back_rate", "win_back_revenue"} <= set(_run(2, **{"firms.0.win_back.enabled": True}).timeseries())


# --- bad values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("firms.0.win_back.window", 0, r"firms\[0\] \(A\)\.win_back\.window"),
        ("firms.0.win_back.cost_per_contact", -1.0, r"win_back\.cost_per_contact"),
        ("firms.1.targeting.share", 0.0, r"targeting\.share"),
        ("firms.1.targeting.by", "profit", r"targeting\.by: expected one of revenue, clv"),
        ("firms.1.targeting.benefit", "trust", r"targeting\.benefit"),
        ("firms.1.targeting.colour", 1, r"colour"),
        ("stickiness.wallet", 0.0, r"stickiness\.wallet"),
        ("stickiness.curvature", 20.0, r"stickiness\.curvature"),
        ("win_back.recovery_repair", 1.5, r"win_back\.recovery_repair"),
    ],
)
def test_bad_practice_values_are_refused_naming_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        small_config(**{key: value})


def test_the_run_summary_pools_the_practices_after_burn_in():
    model = _run(30, **{"firms.3.win_back": {"enabled": True, "window": 3}, "firms.4.targeting.enabled": True})
    ts, summary = model.timeseries(), model.summary()
    kept = ts[ts["step"] > model.config.run.burn_in]
    assert summary["win_back_rate"] == pytest.approx(kept["win_backs"].sum() / kept["win_back_contacts"].sum())
    assert summary["win_back_cost_per_period"] == pytest.approx(kept["win_back_cost"].mean())
    assert summary["targeting_cost_per_period"] == pytest.approx(kept["targeting_cost"].mean())
    firm = model.firm_timeseries()
    e = firm[(firm["firm"] == "E") & (firm["step"] > model.config.run.burn_in)]
    assert summary["targeted_retention"] == pytest.approx(
        1 - (e["targeted"] * (1 - e["targeted_retention"])).sum() / e["targeted"].sum()
    )
    assert "purchase_frequency" not in summary


@pytest.mark.parametrize(
    "preset, expected",
    [
        ("win_back", r"\*\*Win-back\*\*: (\d+) of (\d+) lost customers contacted came back"),
        ("targeting", r"\*\*Targeted\*\* customers: (\d+); stayed: "),
        ("stickiness", r"\*\*Purchases\*\* per customer: (\d\.\d\d); share of wallet: (\d+)%"),
    ],
)
def test_the_app_headline_shows_the_practice_numbers(preset, expected):
    pytest.importorskip("solara", reason="the app needs the viz extra")
    from loyaltysim.app.components import headline_lines
    from loyaltysim.app.factory import TeachingModel
    from loyaltysim.app.presets import PRESETS

    model = TeachingModel(config_path=str(PRESETS[preset].path), n_customers=400, seed=2)
    model.run(8)
    lines = headline_lines(model.snapshot, 12)
    assert len(lines) == 4
    found = re.search(expected, lines[3])
    assert found, lines[3]
    latest = model.timeseries().iloc[-1]
    if preset == "win_back":
        assert (int(found[1]), int(found[2])) == (latest["win_backs"], latest["win_back_contacts"])
        firms = model.firm_timeseries()
        shares = model.snapshot.share[-1]
        assert_allclose(shares, firms[firms["step"] == 8]["share"])  # the customers won back counted with C
    elif preset == "targeting":
        assert int(found[1]) == latest["targeted"]
    else:
        assert float(found[1]) == pytest.approx(latest["purchase_frequency"], abs=0.005)
        assert int(found[2]) == round(100 * latest["share_of_wallet"])
    baseline = TeachingModel(config_path=str(PRESETS["baseline"].path), n_customers=400, seed=2).run(3)
    assert len(headline_lines(baseline.snapshot, 12)) == 3
