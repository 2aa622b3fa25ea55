"""The teaching app without a browser: controls → config, the model factory, the views, the CLI's bad input."""

import socket

import numpy as np
import pytest

pytest.importorskip("solara", reason="the app needs the viz extra")

from loyaltysim import ConfigError, LoyaltyModel, load_config
from loyaltysim.app import views
from loyaltysim.app.factory import TeachingModel, control_defaults, teaching_config
from loyaltysim.app.presets import PRESETS, preset_for
from loyaltysim.cli import main

from .conftest import CONFIGS

BASELINE = CONFIGS / "baseline.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


def test_app_module_imports_and_offers_every_preset():
    from loyaltysim.app import app

    choices = app.scenario_choices(str(CONFIGS / "near_monopoly.yaml"))
    assert next(iter(choices)) == "near_monopoly"
    assert set(choices) == set(PRESETS)
    params = app.model_params(str(BASELINE), load_config(BASELINE))
    assert params["config_path"] == str(BASELINE)
    assert params["n_customers"].value == 2000 and params["link"]["value"] == "threshold"
    assert params["seed"] == {"type": "InputText", "label": "seed", "value": "42"}


def test_custom_scenario_gets_a_generic_guide(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: " + str(BASELINE) + "\n")
    preset = preset_for(mine)
    assert preset.name == "custom:mine" and preset.path == mine.resolve() and preset.what_to_try


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
        ({"firm_quality": "1.5"}, "firms.0.quality"),
    ],
)
def test_bad_controls_are_named(controls, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
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


def test_band_churn_equals_the_pooled_counts():
    model = LoyaltyModel(load_config(BASELINE, {"customers.n": 400, "run.burn_in": 0, "run.seed": 2})).run(10)
    counts = model.totals.counts  # pooled by the engine's metrics over all 10 periods (no burn-in)
    expected = counts.band_switchers / np.where(counts.band_customers > 0, counts.band_customers, np.nan)
    np.testing.assert_allclose(views.band_churn(model), expected, rtol=1e-12)


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
