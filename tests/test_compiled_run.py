"""A run's periods in compiled code (model/compiled_run.py) give the results of stepping them, bit for bit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyaltysim import LoyaltyModel
from loyaltysim.model import compiled_run, engine, parameters, rules
from loyaltysim.model.agents import AdaptiveQualityFirm
from tests.conftest import SWITCHES, small_config
from tests.run_digests import CASES, config_of, digests, sweep_digests

STORED = json.loads((Path(__file__).parent / "data" / "run_digests.json").read_text())


def same(a: object, b: object) -> bool:
    """Equal values of the same type, NaN equal to NaN."""
    nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return type(a) is type(b) and (a == b or nan)


@pytest.mark.parametrize("case", list(CASES))
def test_runs_match_the_code_before_compiled_runs(case):
    """Timeseries, firm table and summary of every case equal those the code before this change wrote (stored)."""
    found, stored = digests(LoyaltyModel(config_of(CASES[case])).run()), STORED[case]
    assert found["timeseries"] == stored["timeseries"]
    assert found["firms"] == stored["firms"]
    assert found["summary"].keys() == stored["summary"].keys()
    assert [key for key, value in found["summary"].items() if not same(value, stored["summary"][key])] == []


def test_a_sweep_s_tables_match_the_code_before_compiled_runs():
    """Every table a sweep's run contributes (runs, timeseries, firms, curves) equals what the code before wrote."""
    found, stored = sweep_digests(), STORED["sweep"]
    assert len(found) == len(stored) == 6
    for run, expected in zip(found, stored, strict=True):
        assert run == expected


def stepped(config) -> LoyaltyModel:
    model = LoyaltyModel(config)
    while model.running:
        model.step()
    return model


def assert_same_run(a: LoyaltyModel, b: LoyaltyModel) -> None:
    """Same tables, summary, DataCollector, customer state, last outcome and firms."""
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries(), check_exact=True)
    pd.testing.assert_frame_equal(a.firm_timeseries(), b.firm_timeseries(), check_exact=True)
    assert len(a.last_firm_rows) == len(b.last_firm_rows) == a.market.k
    pairs = [(a.summary(), b.summary()), (a.latest, b.latest), *zip(a.last_firm_rows, b.last_firm_rows, strict=True)]
    for found, expected in pairs:
        assert list(found) == list(expected)
        assert [k for k, v in found.items() if not same(v, expected[k])] == []
    for frame in ("get_model_vars_dataframe", "get_agent_vars_dataframe"):
        pd.testing.assert_frame_equal(getattr(a.datacollector, frame)(), getattr(b.datacollector, frame)(), check_exact=True)
    pd.testing.assert_frame_equal(a.customers(), b.customers(), check_exact=True)
    for name in ("firm_before", "satisfaction", "loyalty", "rating", "recommend", "switched", "counts", "revenue"):
        np.testing.assert_array_equal(getattr(a.last_outcome, name), getattr(b.last_outcome, name))
    np.testing.assert_array_equal(a.market.quality, b.market.quality)
    assert (a.steps, a.running) == (b.steps, b.running)


COMPILED = ["none", "loud word of mouth", "service recovery", "market entry", "quality shocks", "segments", "variety seeking"]
CUSTOMER_SIDE = {
    "reviews, risk, identification": {
        "reviews.enabled": True,
        "reviews.all_firms": True,
        "firms.3.fake_reviews": 2.0,
        "risk.enabled": True,
        "identification.enabled": True,
        **SWITCHES["market entry"],
    }
}


@pytest.mark.parametrize("switch", COMPILED + list(CUSTOMER_SIDE))
def test_a_compiled_run_equals_stepping(switch):
    """Also with the review platform (its ratings in the firm table), perceived risk and identification."""
    overrides = SWITCHES.get(switch, CUSTOMER_SIDE.get(switch, {}))
    config = small_config(**{"run.steps": 25, "run.seed": 9, **overrides})
    model = LoyaltyModel(config)
    assert compiled_run.eligible(model)
    assert_same_run(model.run(), stepped(config))


def test_runs_mixed_with_steps_and_in_chunks_equal_stepping():
    """A few steps, a compiled stretch, a step, the rest with a progress bar (chunks): as stepping all."""
    config = small_config(**{"run.steps": 30, "run.burn_in": 3, **SWITCHES["quality shocks"]})
    model = LoyaltyModel(config)
    model.step()
    model.step()
    model.run(9)
    model.step()
    model.run(progress=True)
    assert_same_run(model, stepped(config))
    assert model.cohort.waves == 2


def test_the_cohort_waves_straddle_compiled_calls():
    """A wave opened in one compiled call and tallied in the next counts as in a stepped run."""
    config = small_config(**{"run.steps": 30, "run.burn_in": 4})
    model = LoyaltyModel(config).run(10)
    assert model.cohort.waves == 0
    model.run()
    assert model.summary()["cohort_waves"] == stepped(config).summary()["cohort_waves"] == 2


def test_the_tenure_rules_are_kept_for_the_run_and_equal_the_rules():
    """The rules that depend on tenure only are computed once per tenure value for the whole run, with the config."""
    config = small_config(**{"run.steps": 20})
    model = LoyaltyModel(config).run()
    kept_for, table, known = model.state.scratch["tenure_rules"]
    assert kept_for is model.config
    assert known[0] >= model.state.tenure.max() > 20
    p = parameters.record(model.config)
    expected = [[rule.py_func(t, p) for t in range(known[0])] for rule in (rules.memory_weight, rules.belief_weight, rules.habit)]
    np.testing.assert_array_equal(table[:, : known[0]], np.array(expected))


def test_a_stepped_run_keeps_its_tenure_rules_and_fills_each_tenure_once():
    """Stepping asks for one tenure more each period: the table grows by half again, keeping what it holds."""
    config = small_config(**{"run.steps": 12})
    model = LoyaltyModel(config)
    tables = []
    for _ in range(12):
        model.step()
        tables.append(model.state.scratch["tenure_rules"][1])
    assert len({id(table) for table in tables}) <= 2
    known = model.state.scratch["tenure_rules"][2][0]
    p = parameters.record(model.config)
    expected = [[rule.py_func(t, p) for t in range(known)] for rule in (rules.memory_weight, rules.belief_weight, rules.habit)]
    np.testing.assert_array_equal(tables[-1][:, :known], np.array(expected))
    assert_same_run(model, LoyaltyModel(config).run())


def test_a_period_whose_tenure_table_is_too_small_makes_its_own(monkeypatch):
    """A table shorter than the longest tenure is left alone: the period computes a table of its own, same run."""
    config = small_config(**{"run.steps": 6})
    expected = stepped(config)
    short = {"tenure_rules": np.zeros((3, 1)), "tenure_rules_known": np.zeros(1, dtype=np.int64)}
    monkeypatch.setattr(engine, "_tenure_rules", lambda *args: short)
    assert_same_run(stepped(config), expected)
    assert short["tenure_rules_known"][0] == 0 and not short["tenure_rules"].any()


@pytest.mark.parametrize(
    "why",
    ["adaptive firms", "one adaptive firm", "panel", "reporters", "an extra agent", "firm practices"],
)
def test_models_that_need_python_between_periods_are_stepped(why, monkeypatch):
    overrides = SWITCHES.get(why, {"run.panel_size": 20} if why == "panel" else {})
    if why == "firm practices":
        overrides = {"firms.0.win_back.enabled": True, "stickiness.enabled": True}
    config = small_config(**{"run.steps": 12, **overrides})
    model = LoyaltyModel(config, reporters={"firms": lambda m: len(m.firm_agents)} if why == "reporters" else None)
    if why == "an extra agent":
        AdaptiveQualityFirm(model, 0, "copy")
    assert not compiled_run.eligible(model)
    monkeypatch.setattr(compiled_run, "run_periods", lambda *a: pytest.fail("compiled run of a model that needs Python"))
    model.run()
    assert model.steps == 12 and len(model.timeseries()) == 12
    if why in ("adaptive firms", "one adaptive firm", "firm practices"):
        assert_same_run(model, stepped(config))


def test_a_large_market_steps_with_the_parallel_kernel(monkeypatch):
    monkeypatch.setattr(compiled_run.kernels, "PARALLEL_FROM", 100)
    assert not compiled_run.eligible(LoyaltyModel(small_config(**{"customers.n": 150})))


def test_tables_handed_out_are_copies():
    model = LoyaltyModel(small_config(**{"run.steps": 6})).run()
    table, firms = model.timeseries(), model.firm_timeseries()
    table["churn_rate"] = -1.0
    table.loc[0, "nps"] = 1e9
    firms.loc[0, "profit"] = 1e9
    assert (model.timeseries()["churn_rate"] >= 0).all() and model.timeseries().loc[0, "nps"] < 1e9
    assert model.firm_timeseries().loc[0, "profit"] < 1e9
    model.step()  # a new period: the tables grow
    assert len(model.timeseries()) == 7 and len(model.firm_timeseries()) == 7 * model.market.k
