"""The teaching app without a browser: controls → config, the model factory, the views, the CLI's bad input."""

import re
import socket

import numpy as np
import pytest

pytest.importorskip("solara", reason="the app needs the viz extra")

from loyaltysim import ConfigError, LoyaltyModel, load_config
from loyaltysim.app import views
from loyaltysim.app.components import headline_lines
from loyaltysim.app.controls import controls_for, pending_changes
from loyaltysim.app.factory import TeachingModel, control_defaults, teaching_config
from loyaltysim.app.presets import PRESETS, preset_for
from loyaltysim.app.snapshot import events_of
from loyaltysim.cli import main

from .conftest import CONFIGS

BASELINE = CONFIGS / "baseline.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


def test_app_module_imports_and_offers_every_preset():
    from loyaltysim.app import app

    choices = app.scenario_choices(str(CONFIGS / "near_monopoly.yaml"))
    assert next(iter(choices)) == "near_monopoly"
    assert set(choices) == set(PRESETS)
    assert {preset.file for preset in PRESETS.values()} == {path.name for path in CONFIGS.glob("*.yaml")}


def test_controls_show_the_scenario_values_and_widen_their_range():
    config = load_config(CONFIGS / "near_monopoly.yaml", {"customers.n": 8000})
    controls = {control.key: control for control in controls_for(config)}
    start = control_defaults(config)
    assert controls["firm_quality"].label == "Incumbent: quality"
    assert controls["n_customers"].high == 8000 and controls["n_customers"].shown(start["n_customers"]) == "8000"
    assert controls["switching_cost"].shown(9.0) == "9" and controls["wom_influence"].shown(0.1) == "0.1"
    assert controls["link"].choices == ("linear", "threshold", "zone_of_tolerance", "concave")


def test_pending_changes_wait_for_reset():
    applied = control_defaults(load_config(BASELINE))
    assert pending_changes(dict(applied), applied) == []
    assert pending_changes({**applied, "switching_cost": 5.0000, "seed": "42"}, applied) == []  # same values, other types
    assert pending_changes({**applied, "switching_cost": 7.5, "link": "linear"}, applied) == ["switching_cost", "link"]


def test_custom_scenario_gets_a_generic_guide(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: " + str(BASELINE) + "\n")
    preset = preset_for(mine)
    assert preset.name == "custom:mine" and preset.path == mine.resolve() and preset.notice and not preset.tips


def test_string_controls_are_coerced():
    config = teaching_config(
        load_config(BASELINE),
        n_customers="500",
        n_firms="3",
        switching_cost="2.5",
        loss_aversion="3",
        wom_influence="0.2",
        wom_negativity="4",
        link="linear",
        network="barabasi_albert",
        firm_quality="0.8",
        firm_price="12",
        firm_promise="0.9",
        seed="0",
    )
    assert config.customers.n == 500
    assert [f.name for f in config.firms] == ["A", "B", "C"]
    assert config.customers.switching_cost.mean == 2.5
    assert config.customers.switching_cost.sd == pytest.approx(1.25)  # the baseline's coefficient of variation (2.5 / 5)
    assert config.satisfaction.loss_aversion == 3.0
    assert (config.word_of_mouth.influence, config.word_of_mouth.negativity) == (0.2, 4.0)
    assert (config.loyalty.link, config.network.type) == ("linear", "barabasi_albert")
    assert (config.firms[0].quality, config.firms[0].price, config.firms[0].promise) == (0.8, 12.0, 0.9)
    assert config.run.seed == 0  # 0 is a seed
    assert config.run.panel_size == 0


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_untouched_controls_rebuild_the_scenario(name):
    base = load_config(PRESETS[name].path)
    assert teaching_config(base, **control_defaults(base)) == teaching_config(base)
    assert teaching_config(base) == load_config(PRESETS[name].path, {"run.panel_size": 0})


def test_more_firms_than_the_scenario_adds_identical_entrants():
    base = load_config(CONFIGS / "near_monopoly.yaml")
    firms = teaching_config(base, n_firms=4).firms
    assert [f.name for f in firms] == ["Incumbent", "Rival", "A", "B"]
    assert firms[2].quality == firms[3].quality == pytest.approx((0.5 + 0.55) / 2)
    assert firms[2].price == pytest.approx((11.0 + 10.5) / 2)


def test_zero_switching_cost_is_constant():
    cost = teaching_config(load_config(BASELINE), switching_cost="0").customers.switching_cost
    assert (cost.dist, cost.mean) == ("constant", 0.0)


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"seed": "abc"}, "seed: expected a number, got 'abc'"),
        ({"n_customers": "12.5"}, "n_customers: expected a whole number"),
        ({"n_firms": "9"}, "n_firms: expected 1 to 8, got 9"),
        ({"link": "cubic"}, "loyalty.link"),
        ({"firm_quality": "1.5"}, "firms[0] (A).quality"),
    ],
)
def test_bad_controls_are_named(controls, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        teaching_config(load_config(BASELINE), **controls)


def test_teaching_model_equals_the_core_model_and_falls_back_on_bad_input():
    app_model = TeachingModel(config_path=str(BASELINE), n_customers="300", seed="3", link="concave").run(5)
    core = LoyaltyModel(
        load_config(BASELINE, {"customers.n": 300, "run.seed": 3, "loyalty.link": "concave", "run.panel_size": 0})
    )
    assert app_model.notice == ""
    assert app_model.timeseries().equals(core.run(5).timeseries())
    fallback = TeachingModel(config_path=str(BASELINE), n_customers="300", seed="-1")
    assert "run.seed" in fallback.notice and "scenario as loaded" in fallback.notice
    assert fallback.config.customers.n == 2000


@pytest.fixture
def small_model():
    return TeachingModel(config_path=str(BASELINE), n_customers=400, seed=5)


def test_network_sample_is_connected_bounded_and_fixed(small_model):
    sample = views.network_sample(small_model.network)
    assert len(sample.nodes) == views.NETWORK_SAMPLE == len(np.unique(sample.nodes))
    assert sample.positions.shape == (views.NETWORK_SAMPLE, 2)
    assert sample.segments.shape == (len(sample.edges), 2, 2)
    assert len(sample.segments) > len(sample.nodes) - 1  # breadth-first from one node: at least a spanning tree
    again = views.network_sample(small_model.network)
    np.testing.assert_array_equal(sample.positions, again.positions)
    empty = TeachingModel(config_path=str(BASELINE), n_customers=120, network="none")
    assert len(views.network_sample(empty.network).nodes) == 120


@pytest.mark.parametrize("name", list(views.VIEW_CLASSES))
def test_views_render_png_that_changes_with_the_model(small_model, name):
    before = views.view_png(small_model, name)
    small_model.run(3)
    after = views.view_png(small_model, name)
    assert before.startswith(PNG) and after.startswith(PNG)
    assert before != after


def test_band_churn_equals_the_pooled_counts(tmp_path):
    scenario = tmp_path / "no_burn_in.yaml"
    scenario.write_text(f"extends: {BASELINE}\nrun: {{burn_in: 0}}\n")
    model = TeachingModel(config_path=str(scenario), n_customers=400, seed=2).run(10)
    counts = model.totals.counts  # pooled by the engine's metrics over all 10 periods (no burn-in)
    expected = counts.band_switchers / np.where(counts.band_customers > 0, counts.band_customers, np.nan)
    np.testing.assert_allclose(views.band_churn(model.snapshot), expected, rtol=1e-12)


def test_snapshot_holds_the_periods_so_far_and_matches_the_tables(small_model):
    first = small_model.snapshot
    assert first.step == 0 and first.share.shape == (0, 5) and first.satisfaction is None
    small_model.run(7)
    snap = small_model.snapshot
    assert snap.step == 7 and list(snap.periods) == list(range(1, 8))
    firms = small_model.firm_timeseries().pivot(index="step", columns="firm", values="share")
    np.testing.assert_allclose(snap.share, firms[list(snap.names)].to_numpy())
    market = small_model.timeseries()
    np.testing.assert_array_equal(snap.switchers, market["switchers"])
    np.testing.assert_array_equal(snap.customers, market["customers"])
    assert first.share.shape == (0, 5)  # an earlier snapshot never changes
    assert snap.talked.any() and snap.talked.dtype == bool  # customers passed word of mouth this period
    silent = TeachingModel(config_path=str(BASELINE), n_customers=300, wom_influence=0, network="none").run(2)
    assert not silent.snapshot.talked.any()


def test_views_read_consistent_snapshots_while_another_thread_steps():
    """The crash of issue 19: views read the tables while Play appended to them. Now views read frozen snapshots."""
    import threading

    model = TeachingModel(config_path=str(BASELINE), n_customers=300, seed=1)
    errors: list[BaseException] = []

    def play():
        try:
            model.run(60)
        except BaseException as exc:
            errors.append(exc)

    player = threading.Thread(target=play)
    player.start()
    frames = 0
    while player.is_alive() or frames < 3:
        snap = model.snapshot
        assert len(snap.periods) == snap.step == len(snap.share) == len(snap.switchers)
        for name in views.VIEW_CLASSES:
            assert views.view_png(model, name).startswith(PNG)
        frames += 1
    player.join()
    assert errors == [] and model.snapshot.step == 60 and frames >= 3


def test_time_axes_fit_the_data_and_mark_shocks_and_entries():
    eight = TeachingModel(config_path=str(CONFIGS / "fierce_competition.yaml"), n_customers=400, seed=1).run(12)
    view = views.MarketShareView(eight.config, eight.network, eight.snapshot)
    view.png(eight.snapshot)
    low, high = view.ax.get_ylim()
    assert high <= 0.3 and low <= eight.snapshot.share.min() and high >= eight.snapshot.share.max()  # 8 firms: not a flat band
    failure = TeachingModel(config_path=str(CONFIGS / "service_failure.yaml"), n_customers=300)
    assert [(e.step, e.firm, e.kind, e.change) for e in events_of(failure.config)] == [(24, "E", "shock", -0.25)]
    entry = load_config(CONFIGS / "market_entry.yaml")
    assert [(e.step, e.firm, e.kind) for e in events_of(entry)] == [(24, "New", "entry")]
    view = views.FirmSatisfactionView(failure.config, failure.network, failure.snapshot)
    texts = [t.get_text().strip() for t in view.ax.texts]
    assert "E: quality -0.25" in texts and any(line.get_xdata()[0] == 24 for line in view.ax.lines)


def test_nice_range_holds_the_data_inside_the_unit_interval():
    assert views.nice_range(0.11, 0.14) == (0.05, 0.2)
    assert views.nice_range(0.0, 1.0) == (0.0, 1.0)
    low, high = views.nice_range(0.5, 0.5)
    assert low < 0.5 < high


@pytest.mark.parametrize("name", list(views.VIEW_CLASSES))
def test_view_text_is_readable_on_a_projector(small_model, name):
    small_model.run(2)
    view = views.VIEW_CLASSES[name](small_model.config, small_model.network, small_model.snapshot)
    view.png(small_model.snapshot)
    texts = [t for t in view.figure.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")) if t.get_text()]
    assert texts
    smallest = min(t.get_fontsize() * views.DPI / 72 for t in texts)
    assert smallest >= 14


def test_headline_gives_counts_and_a_smoothed_value():
    model = TeachingModel(config_path=str(CONFIGS / "near_monopoly.yaml"), n_customers=500, seed=3)
    assert "Press" in headline_lines(model.snapshot, 12)[0]
    model.run(15)
    snap = model.snapshot
    switched, satisfied, mean = headline_lines(snap, 12)
    assert f"this period: {snap.switchers[-1]} of {snap.customers[-1]}" in switched
    assert f"last 12 periods: {snap.satisfied_switchers[-12:].sum()} of {snap.switchers[-12:].sum()}" in satisfied
    assert f"{np.mean(snap.mean_satisfaction[-12:]):.3f}" in mean


def test_app_refuses_a_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("customers:\n  n: lots\n")
    assert main(["app", str(bad), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "customers.n" in err and "Traceback" not in err


def test_app_refuses_a_port_in_use(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", str(BASELINE), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "in use" in err and "Traceback" not in err
