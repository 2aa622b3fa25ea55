"""Every "thing to try" in the app's Info panels does what it says, over several seeds.

A tip names the controls it changes, the number it says will move and the direction;
here the number must move that way for every seed, and by a visible amount on average
(the tip's margin: 0.02 of a share, a satisfaction or an annual churn rate). The model's
mechanisms may change (issue 16), so the checks are directions with margins, not values.
"""

import numpy as np
import pytest

pytest.importorskip("solara", reason="the app needs the viz extra")

from loyaltysim.app import factory, tips
from loyaltysim.app.presets import PRESETS, Preset, Tip

SEEDS = range(1, 6)
CASES = [pytest.param(preset, tip, id=f"{name}-{i}") for name, preset in PRESETS.items() for i, tip in enumerate(preset.tips)]


@pytest.mark.parametrize(("preset", "tip"), CASES)
def test_tip_names_a_known_metric_and_real_controls(preset: Preset, tip: Tip):
    kind, _, firm = tip.metric.partition(":")
    assert any(known.partition(":")[0] == kind for known in tips.METRICS)
    config = factory.teaching_config(factory.load_config(preset.path), **tip.change)  # the change is a valid control setting
    if firm:
        assert firm in [f.name for f in config.firms]
    assert set(tip.change) <= set(factory.control_defaults(config))
    assert tip.direction in (-1, 1) and tip.margin > 0 and tip.at <= config.run.steps
    assert tip.change or tip.since < tip.at


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "tip"), CASES)
def test_tip_moves_its_metric_the_promised_way(preset: Preset, tip: Tip):
    effects = tips.tip_effect(preset, tip, SEEDS)
    assert (effects > 0).all(), f"{tip.metric} moved the wrong way for some seeds: {np.round(effects, 3)}"
    assert effects.mean() >= tip.margin, f"{tip.metric} moved by {effects.mean():.3f} on average, less than {tip.margin}"


def test_every_preset_with_a_file_has_tips():
    assert all(preset.tips and preset.path.is_file() for preset in PRESETS.values())


def test_measure_reads_the_model_tables():
    model = factory.TeachingModel(config_path=str(PRESETS["baseline"].path), n_customers=300, seed=1).run(30)
    firms, market = model.firm_timeseries(), model.timeseries()
    assert tips.measure(model, "share:E", 30) == pytest.approx(firms.query("step == 30 and firm == 'E'")["share"].item())
    assert tips.measure(model, "mean_loyalty", 30) == pytest.approx(market["mean_loyalty"].iloc[-6:].mean())
    rate = market["switchers"].iloc[-24:].sum() / market["customers"].iloc[-24:].sum()
    assert tips.measure(model, "churn", 30) == pytest.approx(1 - (1 - rate) ** 12)
    with pytest.raises(ValueError, match="unknown metric 'nps'"):
        tips.measure(model, "nps", 30)


def test_a_false_tip_is_caught():
    """The check can fail: a tip promising the opposite of a strong effect (dear switching raising churn)."""
    tip = Tip("", "churn", +1, at=24, change={"switching_cost": 12})
    effects = tips.tip_effect(PRESETS["baseline"], tip, range(1, 3))
    assert (effects < 0).all()
