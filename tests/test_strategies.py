"""Firm strategies: Firm subclasses whose step() runs after each period, chosen by kind in the config."""

import math
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pytest

from loyaltysim import ConfigError, LoyaltyModel
from loyaltysim.model.agents import STRATEGIES, AdaptiveQualityFirm, Firm, register_strategy

from .conftest import small_config


class PriceCutter(Firm):
    """Cuts its price by ``options.cut`` each period its customers' satisfaction is below ``options.floor``."""

    def step(self) -> None:
        if self.in_market and self.mean_satisfaction < self.strategy.options["floor"]:
            self.price = self.price * (1.0 - self.strategy.options["cut"])


class Diary(Firm):
    """Writes down when it steps and what it saw."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[int, float]] = []

    def step(self) -> None:
        self.seen.append((self.model.steps, self.mean_satisfaction))


def test_no_strategy_by_default_and_firms_keep_their_quality():
    model = LoyaltyModel(small_config(run__steps=10)).run()
    assert all(type(agent) is Firm for agent in model.firm_agents)
    assert model.firm_timeseries().groupby("firm")["quality"].nunique().eq(1).all()


def test_adaptive_quality_raises_quality_and_cost_while_below_target():
    config = small_config(run__steps=10, **{"strategy.kind": "adaptive_quality", "strategy.satisfaction_target": 1.0})
    model = LoyaltyModel(config).run()
    assert all(isinstance(agent, AdaptiveQualityFirm) for agent in model.firm_agents)
    start = np.array([firm.quality for firm in config.firms])
    expected = np.minimum(start + 10 * config.strategy.adjustment, 1.0)  # never on target: up every period
    np.testing.assert_allclose(model.market.quality, expected, atol=1e-12)
    raised = model.market.quality - start
    unit_cost = np.array([firm.unit_cost for firm in config.firms])
    np.testing.assert_allclose(model.market.unit_cost, unit_cost + config.strategy.quality_unit_cost * raised, atol=1e-12)


def test_a_firms_own_strategy_overrides_the_markets():
    config = small_config(run__steps=8, **{"firms.2.strategy": {"kind": "adaptive_quality", "satisfaction_target": 1.0}})
    model = LoyaltyModel(config).run()
    assert [type(agent).__name__ for agent in model.firm_agents] == ["Firm", "Firm", "AdaptiveQualityFirm", "Firm", "Firm"]
    changed = model.market.quality != np.array([firm.quality for firm in config.firms])
    assert changed.tolist() == [False, False, True, False, False]


def test_firms_step_once_after_each_period_and_see_its_outcome():
    register_strategy("diary", Diary)
    try:
        model = LoyaltyModel(small_config(run__steps=3, **{"strategy.kind": "diary"})).run()
    finally:
        del STRATEGIES["diary"]
    firm = model.firm_agents[1]
    assert [step for step, _ in firm.seen] == [1, 2, 3]
    assert firm.seen[-1][1] == model.firm_timeseries().query("firm == 'B'")["mean_satisfaction"].iloc[-1]


def test_a_strategy_named_module_class_with_options():
    options = {"kind": "tests.test_strategies:PriceCutter", "options": {"floor": 2.0, "cut": 0.1}}
    model = LoyaltyModel(small_config(run__steps=3, **{"firms.0.strategy": options})).run()
    assert model.firm_agents[0].price == pytest.approx(model.config.firms[0].price * 0.9**3)
    assert model.firm_agents[1].price == model.config.firms[1].price


def _price_after_a_run(kind: str) -> float:
    model = LoyaltyModel(small_config(run__steps=2, **{"strategy.kind": kind, "strategy.options": {"floor": 2.0, "cut": 0.5}}))
    return model.run().firm_agents[0].price


@pytest.mark.slow
def test_a_module_class_strategy_works_in_a_fresh_worker_process():
    """A reference is imported by whichever process builds the model, as in sweeps' process pools."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        price = pool.submit(_price_after_a_run, "tests.test_strategies:PriceCutter").result(timeout=300)
    assert price == pytest.approx(small_config().firms[0].price * 0.25)


def test_unknown_strategies_are_config_errors_naming_the_key():
    with pytest.raises(
        ConfigError, match=r"strategy\.kind: unknown strategy 'adaptive_qualty' \(did you mean 'adaptive_quality'\?\)"
    ):
        LoyaltyModel(small_config(**{"strategy.kind": "adaptive_qualty"}))
    with pytest.raises(ConfigError, match=r"firms\.1\.strategy\.kind: cannot import 'no_such_module'"):
        LoyaltyModel(small_config(**{"firms.1.strategy": {"kind": "no_such_module:Firm"}}))
    with pytest.raises(ConfigError, match=r"is not a subclass of loyaltysim\.model\.agents\.Firm"):
        LoyaltyModel(small_config(**{"strategy.kind": "math:sqrt"}))
    with pytest.raises(ConfigError, match=r"strategy\.kind: .*expected a strategy name"):
        small_config(**{"strategy.kind": "not a name"})


def test_register_strategy_checks_what_it_is_given():
    with pytest.raises(TypeError, match=r"subclass of loyaltysim\.model\.agents\.Firm"):
        register_strategy("sqrt", math.sqrt)
    with pytest.raises(ValueError, match="built in"):
        register_strategy("adaptive_quality", Diary)
    assert "sqrt" not in STRATEGIES


def test_firm_properties_read_and_write_the_market_arrays():
    model = LoyaltyModel(small_config(**{"firms.3.enters_at": 5}))
    firm, late = model.firm_agents[0], model.firm_agents[3]
    assert math.isnan(firm.mean_satisfaction)  # before the first period
    firm.price, firm.quality, firm.unit_cost = 12.5, 0.9, 7.0
    assert (model.market.price[0], model.market.quality[0], model.market.unit_cost[0]) == (12.5, 0.9, 7.0)
    model.step()
    assert firm.in_market and not late.in_market
    assert firm.mean_satisfaction == model.last_outcome.satisfaction_by_firm[0]
