"""The model: invariants, determinism, seeding, Mesa integration and stylized facts."""

import itertools

import mesa
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from loyaltysim import ConfigError, LoyaltyModel, load_config
from loyaltysim.config.schema import LINK_FUNCTIONS
from loyaltysim.model.agents import Firm
from loyaltysim.model.network import from_networkx

from .conftest import CONFIGS, small_config


def check_invariants(model: LoyaltyModel) -> None:
    s, k = model.state, model.market.k
    assert s.firm.shape == (s.n,) and s.firm.min() >= 0 and s.firm.max() < k
    for name in ("satisfaction", "loyalty", "trust"):
        values = getattr(s, name)
        assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() <= 1, name
    assert np.all((s.belief >= 0) & (s.belief <= 1))
    firms = model.firm_timeseries()
    last = firms[firms["step"] == model.steps]
    assert last["share"].sum() == pytest.approx(1.0)
    assert last["customers"].sum() == s.n
    assert_allclose(last["revenue"] - last["costs"], last["profit"])
    row = model.latest
    assert 0 <= row["churn_rate"] <= 1 and -100 <= row["nps"] <= 100
    assert row["switchers"] == sum(last["lost"]) == sum(last["won"])


@pytest.mark.parametrize("link", LINK_FUNCTIONS)
@pytest.mark.parametrize("network", ["watts_strogatz", "barabasi_albert", "erdos_renyi", "complete", "none"])
def test_invariants_hold_every_step(link, network):
    config = small_config(loyalty__link=link, network__type=network, customers__n=120, run__steps=15)
    model = LoyaltyModel(config)
    for _ in range(config.run.steps):
        model.step()
        check_invariants(model)
    assert not model.running


def test_feature_switches_keep_invariants():
    config = small_config(
        **{
            "strategy.kind": "adaptive_quality",
            "firms.0.loyalty_programme.enabled": True,
            "firms.1.service_recovery.enabled": True,
            "firms.2.enters_at": 10,
            "customers.segments": [{"name": "hunters", "share": 0.3, "price_sensitivity": 0.9}],
            "run.steps": 20,
        }
    )
    model = LoyaltyModel(config)
    for step in range(1, 21):
        model.step()
        check_invariants(model)
        if step < 10:
            assert model.firm_agents[2].customers == 0  # not in the market yet
    assert model.firm_agents[2].customers > 0
    assert set(model.customers()["segment"]) == {"default", "hunters"}


def test_same_seed_identical_tables_other_seed_differs():
    a = LoyaltyModel(small_config()).run()
    b = LoyaltyModel(small_config()).run()
    c = LoyaltyModel(small_config(run__seed=43)).run()
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    pd.testing.assert_frame_equal(a.firm_timeseries(), b.firm_timeseries())
    pd.testing.assert_frame_equal(a.customers(), b.customers())
    assert not a.timeseries().equals(c.timeseries())


def test_seed_zero_is_a_seed_and_rng_argument_wins():
    zero_a = LoyaltyModel(small_config(run__seed=0)).run(5)
    zero_b = LoyaltyModel(small_config(run__seed=0)).run(5)
    assert zero_a.timeseries().equals(zero_b.timeseries())
    via_rng = LoyaltyModel(small_config(run__seed=99), rng=0).run(5)
    assert via_rng.timeseries().equals(zero_a.timeseries())
    from_sequence = LoyaltyModel(small_config(), rng=np.random.SeedSequence(5)).run(3)
    assert len(from_sequence.timeseries()) == 3


def test_network_comes_from_the_model_rng():
    a, b = LoyaltyModel(small_config()), LoyaltyModel(small_config())
    c = LoyaltyModel(small_config(run__seed=7))
    assert np.array_equal(a.network.indices, b.network.indices)
    assert not np.array_equal(a.network.indices, c.network.indices)
    assert a.network.n_edges == 300 * 10 // 2  # watts-strogatz keeps n·k/2 edges


def test_prebuilt_and_file_networks(tmp_path):
    graph = nx.cycle_graph(50)
    model = LoyaltyModel(small_config(customers__n=50), network=from_networkx(graph))
    assert model.network.degree.tolist() == [2] * 50
    path = tmp_path / "ring.edgelist"
    nx.write_edgelist(graph, path, data=False)
    config = small_config(customers__n=50, network__type="file", network__path=str(path))
    assert LoyaltyModel(config).network.n_edges == 50
    graphml = tmp_path / "ring.graphml"
    nx.write_graphml(graph, graphml)
    assert LoyaltyModel(small_config(customers__n=50, network__type="file", network__path=str(graphml))).network.n_edges == 50


def test_mesa_shell():
    model = LoyaltyModel(small_config(run__steps=4)).run()
    assert isinstance(model, mesa.Model) and model.steps == 4
    firms = list(model.agents_by_type[Firm])
    assert [f.name for f in firms] == ["A", "B", "C", "D", "E"]
    table = model.datacollector.get_model_vars_dataframe()
    assert len(table) == 5 and np.isnan(table["churn_rate"].iloc[0])  # row 0: the market before the first period
    assert list(table["churn_rate"].iloc[1:]) == list(model.timeseries()["churn_rate"])  # row k: period k
    for name, reporter in model.datacollector.model_reporters.items():
        assert reporter.__name__ == name  # named, not lambdas
    firm_table = model.datacollector.get_agent_vars_dataframe()
    assert len(firm_table) == 5 * 5
    assert list(firm_table.loc[1:, "share"]) == list(model.firm_timeseries()["share"])
    start = firm_table.loc[0, "share"].to_numpy()
    assert start.sum() == pytest.approx(1.0) and (start > 0).all()  # the initial shares, not NaN


def test_users_reporters_are_collected_every_period():
    seen = []

    def customers_of_a(model):
        seen.append(model.steps)
        return int((model.state.firm == 0).sum())

    model = LoyaltyModel(small_config(run__steps=3), reporters={"customers_of_a": customers_of_a}).run()
    table = model.datacollector.get_model_vars_dataframe()
    assert seen[-4:] == [0, 1, 2, 3]  # step 0, then after every period (Mesa also calls it once to check it)
    assert list(table["customers_of_a"].iloc[1:]) == model.firm_timeseries().query("firm == 'A'")["customers"].tolist()


def test_keyword_parameters_like_mesa_batch_run():
    model = LoyaltyModel(customers__n=80, run__steps=3, loyalty__link="linear")
    assert model.config.customers.n == 80 and model.config.loyalty.link == "linear"
    results = mesa.batch_run(
        LoyaltyModel,
        parameters={"customers__n": 60, "run__seed": [1, 2], "run__steps": 3},
        iterations=1,
        max_steps=3,
        number_processes=1,
        display_progress=False,
    )
    assert {r["run__seed"] for r in results} == {1, 2}


def test_batch_run_rows_line_up_with_periods_and_carry_firm_reporters():
    from loyaltysim.outcomes import false_loyalty

    class Study(LoyaltyModel):
        def __init__(self, **parameters):
            super().__init__(reporters={"false_loyalty": false_loyalty}, **parameters)

    rows = mesa.batch_run(
        Study,
        parameters={"customers__n": 80, "run__seed": 5, "run__steps": 4},
        iterations=1,
        max_steps=4,
        data_collection_period=1,
        number_processes=1,
        display_progress=False,
    )
    alone = LoyaltyModel(customers__n=80, run__seed=5, run__steps=4).run()
    firms = alone.firm_timeseries().set_index(["step", "firm"])
    series = alone.timeseries().set_index("step")
    for row in rows:
        if row["Step"] == 0:
            continue
        assert row["churn_rate"] == series.loc[row["Step"], "churn_rate"]  # Step k holds period k
        assert row["share"] == firms.loc[(row["Step"], alone.market.names[row["AgentID"] - 1]), "share"]
    assert {row["Step"] for row in rows} == {0, 1, 2, 3} and all("share" in row for row in rows)
    assert isinstance(rows[-1]["false_loyalty"], dict)


def test_customers_table_and_panel():
    model = LoyaltyModel(small_config(run__panel_size=25, run__steps=6)).run()
    customers = model.customers()
    assert len(customers) == 300 and customers["customer"].is_unique
    panel = model.panel()
    assert len(panel) == 25 * 6 and set(panel["step"]) == set(range(1, 7))
    view = model.customer(3)
    assert view.index == 3 and view.firm in model.market.names


def test_over_promising_lowers_satisfaction():
    honest = LoyaltyModel(small_config(**{f"firms.{i}.promise": q for i, q in enumerate((0.55, 0.6, 0.65, 0.7, 0.75))})).run()
    overpromise = LoyaltyModel(small_config(**{f"firms.{i}.promise": 0.95 for i in range(5)})).run()
    assert overpromise.summary()["mean_satisfaction"] < honest.summary()["mean_satisfaction"] - 0.02


def test_switching_costs_reduce_churn():
    low = LoyaltyModel(small_config(**{"customers.switching_cost": 0.5})).run()
    high = LoyaltyModel(small_config(**{"customers.switching_cost": 10.0})).run()
    assert high.summary()["churn_rate"] < 0.5 * low.summary()["churn_rate"]


def test_a_quality_shock_hits_at_its_step_and_drives_customers_away():
    """A service failure at step 20: the firm's quality drops then (clipped at 0), not before; its customers'
    satisfaction falls and it loses share against the same market without the shock."""
    shock = {"firms.4.quality_shock": {"at": 20, "change": -0.9}}
    hit = LoyaltyModel(small_config(**shock, **{"run.steps": 40})).run()
    calm = LoyaltyModel(small_config(**{"run.steps": 40})).run()
    quality = hit.firm_timeseries().query("firm == 'E'").set_index("step")["quality"]
    assert quality[19] == 0.75 and quality[20] == 0.0 and quality[40] == 0.0  # 0.75 − 0.9, clipped
    assert (calm.firm_timeseries().query("firm == 'E'")["quality"] == 0.75).all()
    firm_e = hit.firm_timeseries().query("firm == 'E'").set_index("step")
    calm_e = calm.firm_timeseries().query("firm == 'E'").set_index("step")
    pd.testing.assert_series_equal(firm_e.loc[:19, "share"], calm_e.loc[:19, "share"])  # the same run until then
    assert firm_e.loc[25, "mean_satisfaction"] < calm_e.loc[25, "mean_satisfaction"] - 0.1
    assert firm_e.loc[40, "share"] < 0.5 * calm_e.loc[40, "share"]


@pytest.mark.parametrize("shock", [{"at": 0, "change": -0.1}, {"at": 5, "change": -1.5}, {"at": 5, "change": "big"}])
def test_a_bad_quality_shock_is_refused_naming_the_key(shock):
    with pytest.raises(ConfigError, match=r"firms\[0\] \(A\)\.quality_shock\.(at|change)"):
        small_config(**{"firms.0.quality_shock": shock})


def test_one_firm_nobody_can_leave():
    model = LoyaltyModel(small_config(firms=[{"name": "Solo"}], **{"switching.variety_seeking": 1.0})).run(10)
    assert model.summary()["churn_rate"] == 0.0 and model.firm_agents[0].share == 1.0


@pytest.fixture(scope="module")
def baseline_run():
    config = load_config(CONFIGS / "baseline.yaml", {"run.panel_size": 0})
    return LoyaltyModel(config).run()


def test_baseline_churn_falls_from_lowest_to_highest_band(baseline_run):
    summary = baseline_run.summary()
    bands = ["dissatisfied", "neutral", "satisfied", "highly_satisfied"]
    churn = [summary[f"churn_{band}"] for band in bands]
    assert all(a > b for a, b in itertools.pairwise(churn)), churn
    assert churn[0] > 5 * churn[-1]


def test_baseline_some_defectors_were_satisfied(baseline_run):
    summary = baseline_run.summary()
    assert 0.1 < summary["satisfied_defector_share"] < 0.9
    # and the arithmetic of the trap: satisfied customers are most customers
    ts = baseline_run.timeseries()
    assert (ts["share_satisfied"] + ts["share_highly_satisfied"]).iloc[-1] > 0.5


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("switching.consideration", "sometimes"),
        ("switching.tolerance_width", 0.0),
        ("switching.relational_share", 1.5),
        ("switching.offer_rate", -0.1),
        ("word_of_mouth.incident_weight", 1.2),
        ("customers.initial_tenure", -1.0),
        ("run.warm_start", "maybe"),
    ],
)
def test_a_bad_value_of_a_mechanism_key_is_refused_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        small_config(**{key: value})


def test_customers_who_do_not_compare_the_firms_stay():
    """With triggered consideration, no offers, no word of mouth and a tolerance nobody falls below, only the
    variety seekers compare, and only they leave; with consideration always, satisfied customers switch too."""
    quiet = {
        "customers.tolerance": 0.0,
        "switching.tolerance_width": 0.001,
        "switching.offer_rate": 0.0,
        "word_of_mouth.enabled": False,
        "switching.variety_seeking": 0.01,
        "switching.choice_noise": 3.0,
    }
    model = LoyaltyModel(small_config(customers__n=1000, run__steps=30, **quiet)).run()
    summary = model.summary()
    assert summary["consideration_rate"] == pytest.approx(0.01, abs=0.002)
    assert 0 < summary["churn_rate"] <= summary["consideration_rate"]
    always = LoyaltyModel(small_config(customers__n=1000, run__steps=30, **quiet, **{"switching.consideration": "always"})).run()
    assert always.summary()["consideration_rate"] == 1.0 and always.summary()["churn_rate"] > 2 * summary["churn_rate"]


def test_a_finished_model_is_freed_and_agents_are_numbered_as_mesa_numbers_them():
    """Mesa 3.3 kept every model alive in ``Agent._ids`` (a sweep worker grew by about 0.7 MB a run); the model
    is freed once nothing holds it, and each model's agents are still numbered from 1."""
    import gc
    import weakref

    from loyaltysim.model.agent_ids import AgentCounters

    assert isinstance(mesa.Agent._ids, AgentCounters)
    model = LoyaltyModel(rng=1, customers__n=120, run__steps=3).run()
    assert [firm.unique_id for firm in model.firm_agents] == list(range(1, model.market.k + 1))
    freed = weakref.ref(model)
    del model
    gc.collect()
    assert freed() is None
    again = LoyaltyModel(rng=1, customers__n=120, run__steps=3)
    assert [firm.unique_id for firm in again.firm_agents] == list(range(1, again.market.k + 1))
