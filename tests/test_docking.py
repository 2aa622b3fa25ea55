"""Docking: the compiled engine and the per-customer reference model are the same model.

Both call the same rules (compiled, and uncompiled), so this checks the orchestration: the order of the
steps, the random draws, the word of mouth, the sums per block. Same config, same seed → the same
choices, ratings and counts, and the same continuous state to 1e-12, every step, across link functions,
network types and feature switches, with the serial and the parallel build.
"""

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from loyaltysim import LoyaltyModel
from loyaltysim.config.schema import LINK_FUNCTIONS
from loyaltysim.model import engine, kernels
from loyaltysim.model.per_customer import ReferenceModel
from loyaltysim.model.scales import satisfaction_band
from loyaltysim.model.streams import BLOCK, CustomerStreams

from .conftest import SWITCHES, small_config

STEPS = 50
TOLERANCE = 1e-12
MECHANISMS = {
    "cold start": {"run.warm_start": False},
    "consideration always": {"switching.consideration": "always"},
    "no offers": {"switching.offer_rate": 0.0},
    "many offers, always": {"switching.consideration": "always", "switching.offer_rate": 0.2, "switching.offer_value": 3.0},
    "prompting word of mouth": {
        **SWITCHES["loud word of mouth"],
        "switching.wom_prompt": 1.0,
        "switching.fortitude": 0.3,
        "switching.offer_rate": 0.1,
    },
    "no relational cost": {"switching.relational_share": 0.0},
    "no incidents in word of mouth": {"word_of_mouth.incident_weight": 0.0},
    "only incidents in word of mouth": {**SWITCHES["loud word of mouth"], "word_of_mouth.incident_weight": 1.0},
    "all relational cost": {"switching.relational_share": 1.0, "customers.switching_cost": 8.0},
    "earlier model": {
        "run.warm_start": False,
        "switching.consideration": "always",
        "switching.offer_rate": 0.0,
        "switching.relational_share": 0.0,
        "word_of_mouth.incident_weight": 0.0,
    },
}
"""The mechanisms of issue 16 switched to their earlier behaviour or turned up (the defaults are on)."""
REVIEWS = {"reviews.enabled": True, "reviews.post_rate": 0.3, "reviews.weight": 0.3, "reviews.credibility_count": 2.0}
CUSTOMER_SIDE = {
    "reviews": REVIEWS,
    "reviews, some readers, all firms, fake reviews": {
        **REVIEWS,
        "reviews.reader_share": 0.5,
        "reviews.all_firms": True,
        "firms.1.fake_reviews": 3.0,
        "firms.3.fake_reviews": 2.0,
        "firms.3.enters_at": 12,
        "switching.consideration": "always",
    },
    "perceived risk": {"risk.enabled": True, "risk.penalty": 4.0, **SWITCHES["loud word of mouth"]},
    "risk with reviews": {**REVIEWS, "risk.enabled": True, "risk.penalty": 4.0, "risk.review_scale": 3.0},
    "identification": {"identification.enabled": True, "identification.delight_threshold": 0.6, "identification.growth": 0.2},
    "all three, market entry": {
        **REVIEWS,
        "risk.enabled": True,
        "identification.enabled": True,
        "identification.delight_threshold": 0.6,
        "firms.2.enters_at": 10,
        "switching.variety_seeking": 0.05,
    },
}
"""The customer side of issue 22: online reviews, perceived risk, identification (off by default)."""
PRACTICES = {
    "win-back": {"firms.0.win_back.enabled": True, "firms.3.win_back": {"enabled": True, "window": 2, "offer": 20.0}},
    "win-back with recovery, variety and offers": {
        "firms.1.win_back": {"enabled": True, "service_recovery": True, "window": 6},
        "switching.variety_seeking": 0.1,
        "switching.offer_rate": 0.1,
    },
    "targeting by revenue, quality": {"firms.4.targeting": {"enabled": True, "every": 3, "size": 0.2}},
    "targeting by clv, switching cost": {
        "firms.2.targeting": {"enabled": True, "by": "clv", "benefit": "switching_cost", "size": 2.0, "every": 1},
        "stickiness.enabled": True,
    },
    "targeting spread": {"firms.2.targeting": {"enabled": True, "spread": True, "share": 0.3, "size": 0.2}},
    "stickiness": {"stickiness": {"enabled": True, "curvature": 0.7, "floor": 0.1}},
    "every practice": {
        "firms.0.win_back.enabled": True,
        "firms.1.targeting": {"enabled": True, "by": "clv"},
        "firms.2.win_back": {"enabled": True, "service_recovery": True},
        "firms.2.targeting": {"enabled": True, "benefit": "switching_cost", "size": 1.0},
        "stickiness.enabled": True,
        "switching.variety_seeking": 0.05,
        **SWITCHES["loud word of mouth"],
    },
}
"""The firm practices of ODD 7.17 (off by default), alone and together."""
PRACTICE_STATE = ("left_firm", "left_reason", "left_satisfaction", "benefit_quality", "benefit_switching")


def dock(config, steps: int = STEPS, block: int | None = None) -> LoyaltyModel:
    """Step the engine and the reference side by side and compare everything after each step.

    ``block``: customers per random stream (default: the engine's), to cover several blocks."""
    model = LoyaltyModel(config)
    if block is not None:
        model.streams = CustomerStreams.spawn(model.rng, config.customers.n, block)
    reference = ReferenceModel.copy_of(model)
    for _ in range(steps):
        practised = _practised(model)
        model.step()
        record = reference.step()
        outcome, state, expected = model.last_outcome, model.state, reference.state_arrays()
        step = model.steps
        for name in ("rating", "recommend", "switched", "purchases", "won", "lost"):
            assert_array_equal(getattr(outcome, name), getattr(record, name), err_msg=f"{name}, step {step}")
        assert (outcome.messages_positive, outcome.messages_negative) == (record.messages_positive, record.messages_negative)
        for name in ("satisfaction", "loyalty", "satisfaction_by_firm"):
            assert_allclose(getattr(outcome, name), getattr(record, name), rtol=0, atol=TOLERANCE, err_msg=f"{name}, step {step}")
        assert_array_equal(state.firm, expected["firm"], err_msg=f"firm, step {step}")
        assert_array_equal(state.tenure, expected["tenure"], err_msg=f"tenure, step {step}")
        for name in ("belief", "satisfaction", "trust", "loyalty"):
            assert_allclose(getattr(state, name), expected[name], rtol=0, atol=TOLERANCE, err_msg=f"{name}, step {step}")
        assert_array_equal(outcome.counts, recount(record), err_msg=f"counts, step {step}")
        assert_allclose(model.market.quality, reference.market.quality, rtol=0, atol=TOLERANCE)
        for name in ("tried", "heard_about", "identification"):  # empty while their switch is off
            if getattr(state, name).size:
                assert_allclose(getattr(state, name), expected[name], rtol=0, atol=TOLERANCE, err_msg=f"{name}, step {step}")
        for name in ("review_sum", "review_count"):
            assert_array_equal(getattr(model.market, name), getattr(reference.market, name), err_msg=f"{name}, step {step}")
        assert_allclose(model.market.unit_cost, reference.market.unit_cost, rtol=0, atol=TOLERANCE)
        for name in PRACTICE_STATE:
            assert_allclose(getattr(state, name), expected[name], rtol=0, atol=TOLERANCE, err_msg=f"{name}, step {step}")
        if model.practices is not None:
            for name, values in reference.practised.items():
                assert_allclose(getattr(practised[0], name), values, rtol=0, atol=TOLERANCE, err_msg=f"{name}, step {step}")
    return model


def _practised(model: LoyaltyModel) -> list:
    """Catches what the model's practices report in the next step (``practised[0]``)."""
    caught: list = []
    if model.practices is not None:
        apply = model.practices.apply

        def catch(*args):
            caught[:] = [apply(*args)]
            return caught[0]

        model.practices.apply = catch
    return caught


def recount(record) -> np.ndarray:
    """The period's counts (``kernels.COUNT_ROWS``) recounted from the reference model's per-customer record."""
    band = satisfaction_band(record.satisfaction)
    counts = np.zeros((kernels.COUNT_ROWS, 2), dtype=np.int64)
    for rows, category in ((0, band), (kernels.RATING_ROWS, record.rating - 1)):
        np.add.at(counts[:, 0], rows + category, 1)
        np.add.at(counts[:, 1], rows + category, record.switched)
    curve = kernels.CURVE_ROWS + np.minimum((record.satisfaction * kernels.CURVE_BINS).astype(int), kernels.CURVE_BINS - 1)
    np.add.at(counts[:, 0], curve, 1)
    np.add.at(counts[:, 1], curve, record.switched)
    counts[kernels.NPS_ROW] = (record.recommend >= 9).sum(), (record.recommend <= 6).sum()
    np.add.at(counts, (kernels.WOM_ROWS + band, record.negative.astype(int)), record.sent)
    np.add.at(counts[:, 0], kernels.CONSIDERATION_ROWS + band, record.considered)
    np.add.at(counts[:, 1], kernels.CONSIDERATION_ROWS + band, record.offered)
    return counts


@pytest.mark.parametrize("link", LINK_FUNCTIONS)
def test_every_link_function(link):
    model = dock(small_config(customers__n=120, loyalty__link=link))
    assert model.totals.counts.switchers > 0  # the comparison covered switching


@pytest.mark.parametrize("network", ["watts_strogatz", "barabasi_albert", "erdos_renyi", "complete", "none"])
def test_every_network_type(network):
    dock(small_config(customers__n=90, network__type=network, network__degree=6))


def test_network_from_file(tmp_path):
    path = tmp_path / "friends.edgelist"
    nx.write_edgelist(nx.random_regular_graph(4, 80, seed=3), path, data=False)
    dock(small_config(customers__n=80, network__type="file", network__path=str(path)))


@pytest.mark.parametrize("switches", SWITCHES.values(), ids=SWITCHES.keys())
def test_feature_switches(switches):
    dock(small_config(customers__n=100, **switches))


@pytest.mark.parametrize("switches", MECHANISMS.values(), ids=MECHANISMS.keys())
def test_mechanism_switches(switches):
    model = dock(small_config(customers__n=100, **switches))
    assert model.totals.counts.switchers > 0


@pytest.mark.parametrize("switches", CUSTOMER_SIDE.values(), ids=CUSTOMER_SIDE.keys())
def test_customer_side_switches(switches):
    model = dock(small_config(customers__n=100, **switches))
    assert model.totals.counts.switchers > 0


@pytest.mark.parametrize("switches", PRACTICES.values(), ids=PRACTICES.keys())
def test_firm_practices(switches):
    model = dock(small_config(customers__n=120, **switches), steps=40)
    columns = model.timeseries().columns
    if any(key.endswith("win_back.enabled") or key.endswith("win_back") for key in switches):
        assert model.timeseries()["win_backs"].sum() > 0  # the comparison covered customers won back
    assert ("purchase_frequency" in columns) == ("stickiness.enabled" in switches or "stickiness" in switches)


@pytest.mark.parametrize("build", ["serial", "parallel"])
def test_practices_over_several_random_blocks(build, monkeypatch):
    """The benefits read and the leaving reasons written by the kernels, with blocks of 16 customers (on threads)."""
    monkeypatch.setattr(kernels, "PARALLEL_FROM", 0 if build == "parallel" else 10**9)
    dock(small_config(customers__n=100, **PRACTICES["every practice"]), steps=30, block=16)


@pytest.mark.parametrize(
    "switches",
    [SWITCHES["loud word of mouth"], SWITCHES["everything"], CUSTOMER_SIDE["all three, market entry"]],
    ids=["loud", "everything", "reviews, risk, identification"],
)
@pytest.mark.parametrize("build", ["serial", "parallel"])
def test_several_random_blocks(build, switches, monkeypatch):
    """Blocks of 16 customers: each block's own stream, messages across blocks, per-block firm sums;
    also with the blocks spread over threads."""
    monkeypatch.setattr(kernels, "PARALLEL_FROM", 0 if build == "parallel" else 10**9)
    dock(small_config(customers__n=100, **switches), block=16)


def test_docking_detects_a_different_rule(monkeypatch):
    """The comparison can fail: a reference with a slightly different rule is caught within a few steps."""
    from loyaltysim.model import per_customer

    original = per_customer.Customer.listen

    def louder(self, config):
        self.heard_weight = [1.01 * w for w in self.heard_weight]
        original(self, config)

    monkeypatch.setattr(per_customer.Customer, "listen", louder)
    with pytest.raises(AssertionError):
        dock(small_config(customers__n=100), steps=10)


def test_streams_for_another_population_are_refused():
    model = LoyaltyModel(small_config(customers__n=50))
    other = CustomerStreams.spawn(np.random.default_rng(1), 60)
    with pytest.raises(ValueError, match="streams are for 60 customers but the state has 50"):
        engine.advance(model.state, model.market, model.config, model.network, other, 1)


def test_a_block_size_below_one_is_refused():
    with pytest.raises(ValueError, match="block must be at least 1"):
        CustomerStreams.spawn(np.random.default_rng(1), 10, block=0)


def test_parallel_kernels_give_identical_results(monkeypatch):
    """Large markets run the kernels on all cores: bit for bit the same run as the serial build, whatever
    the number of threads."""
    import numba

    from loyaltysim.model import kernels

    runs = []
    threads = numba.get_num_threads()
    for parallel_from, n_threads in ((10**9, threads), (0, 1), (0, threads)):
        monkeypatch.setattr(kernels, "PARALLEL_FROM", parallel_from)
        numba.set_num_threads(n_threads)
        try:
            runs.append(LoyaltyModel(small_config(customers__n=3 * BLOCK + 7, run__steps=15)).run())
        finally:
            numba.set_num_threads(threads)
    serial = runs[0]
    for parallel in runs[1:]:
        for name in ("firm", "tenure", "belief", "satisfaction", "trust", "loyalty"):
            assert_array_equal(getattr(serial.state, name), getattr(parallel.state, name), err_msg=name)
        assert serial.timeseries().equals(parallel.timeseries())


def test_parallel_builds_are_cached_apart_from_serial_ones():
    """numba's disk cache is keyed by qualified name: the parallel variant needs its own, or one build serves both."""
    from loyaltysim.model import kernels

    serial, parallel = kernels.period, kernels.period_parallel
    assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")
    assert parallel.py_func.__qualname__ != serial.py_func.__qualname__


def test_rows_of_switched_off_rules_are_not_drawn():
    """The draw layout, per block: the performance-noise row and the uniform rows whose rule is on (then the
    deliveries); later the two survey-noise rows, variety if on, and choice."""
    streams = CustomerStreams.spawn(np.random.default_rng(1), 10, block=4)
    twins = streams.copy()
    first = engine.draw_experience(streams, recovery=False, talk=True)
    last = engine.draw_response(streams, variety=False, consider=True, offers=True)
    assert first.recovery is None and last.variety is None
    for generator, (a, z) in zip(twins.generators, twins.bounds, strict=True):
        assert_array_equal(first.performance_noise[a:z], generator.standard_normal(z - a))
        assert_array_equal(first.talk[a:z], generator.random(z - a))
        noise = generator.standard_normal((2, z - a))
        assert_array_equal(last.rating_noise[a:z], noise[0])
        assert_array_equal(last.recommend_noise[a:z], noise[1])
        uniform = generator.random((4, z - a))
        for name, row in zip(("consider", "offer", "rival", "choice"), uniform, strict=True):
            assert_array_equal(getattr(last, name)[a:z], row, err_msg=name)
    fewer = engine.draw_response(streams.copy(), variety=True, consider=False, offers=False)
    assert fewer.consider is None and fewer.offer is None and fewer.rival is None
    assert [g.random() for g in streams.generators] == [g.random() for g in twins.generators]  # nothing else consumed


def test_blocks_draw_from_independent_streams():
    """Each block has its own generator: the blocks' numbers differ, and a block's numbers do not depend
    on how many customers come after it."""
    small = engine.draw_experience(CustomerStreams.spawn(np.random.default_rng(7), 10, block=4))
    large = engine.draw_experience(CustomerStreams.spawn(np.random.default_rng(7), 12, block=4))
    assert_array_equal(small.talk[:8], large.talk[:8])
    assert not np.array_equal(small.talk[:4], small.talk[4:8])


def test_deliveries_are_drawn_by_the_talkers_block():
    streams = CustomerStreams.spawn(np.random.default_rng(3), 10, block=4)
    twins = streams.copy()
    degree = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    talkers = np.array([1, 2, 9])  # blocks 0, 0, 2
    delivery = streams.deliveries(talkers, degree)
    expected = np.concatenate([twins.generators[0].random(5), twins.generators[1].random(0), twins.generators[2].random(10)])
    assert_array_equal(delivery, expected)


UNCOMPILED = """
import sys
from loyaltysim import LoyaltyModel
from tests.conftest import SWITCHES, small_config
config = small_config(customers__n=150, run__steps=8, **SWITCHES["everything"], **SWITCHES["loud word of mouth"])
LoyaltyModel(config).run().timeseries().to_parquet(sys.argv[1])
"""


@pytest.mark.slow
def test_kernels_run_uncompiled_give_the_same_run(tmp_path):
    """With NUMBA_DISABLE_JIT the very same kernels and rules run as Python: the same numbers, to the last bit."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    out = tmp_path / "timeseries.parquet"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", UNCOMPILED, str(out)], cwd=root, env=env, check=True)
    config = small_config(customers__n=150, run__steps=8, **SWITCHES["everything"], **SWITCHES["loud word of mouth"])
    pd.testing.assert_frame_equal(LoyaltyModel(config).run().timeseries(), pd.read_parquet(out), check_exact=True)


def test_period_means_and_counts_match_the_outcome_arrays():
    """The means and counts the engine sums per block are those of the period's customer arrays."""
    from loyaltysim.model.metrics import PeriodCounts
    from loyaltysim.model.scales import satisfaction_band

    model = LoyaltyModel(small_config(customers__n=100, **SWITCHES["everything"]))
    model.streams = CustomerStreams.spawn(model.rng, 100, 16)
    for _ in range(12):
        model.step()
        out, row = model.last_outcome, model.latest
        assert_allclose(row["mean_satisfaction"], out.satisfaction.mean(), rtol=1e-12)
        assert_allclose(row["sd_satisfaction"], out.satisfaction.std(), rtol=1e-9)
        assert_allclose(row["mean_loyalty"], out.loyalty.mean(), rtol=1e-12)
        assert_allclose(row["mean_expectation"], model.state.expectation.mean(), rtol=1e-12)
        counts = PeriodCounts.of(out)
        band = satisfaction_band(out.satisfaction)
        assert_array_equal(counts.band_customers, np.bincount(band, minlength=5))
        assert_array_equal(counts.band_switchers, np.bincount(band[out.switched], minlength=5))
        assert_array_equal(counts.rating_customers, np.bincount(out.rating - 1, minlength=5))
        assert counts.switchers == out.switched.sum() and counts.customers == 100
        assert counts.curve_customers.sum() == 100 and counts.curve_switchers.sum() == out.switched.sum()
        assert (counts.promoters, counts.detractors) == ((out.recommend >= 9).sum(), (out.recommend <= 6).sum())
