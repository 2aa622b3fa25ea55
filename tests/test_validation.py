"""The validation scorecard: each fact's measure on tables where the answer is known, and the command."""

import numpy as np
import pandas as pd
import pytest

from loyaltysim import load_config
from loyaltysim.analysis.validation import FACTS, Runs, scorecard
from loyaltysim.cli import main
from loyaltysim.model.scales import BANDS, RATINGS

CONFIG = load_config()
FACT = {fact.key: fact for fact in FACTS}


def runs(columns: dict[str, list[float]], timeseries: pd.DataFrame | None = None, config=CONFIG) -> Runs:
    return Runs(pd.DataFrame(columns), pd.DataFrame() if timeseries is None else timeseries, config)


def replicated(values, noise=0.005, replicates=6, seed=0):
    """Columns ``name → values + noise`` over replicates, from a mapping of name → value."""
    rng = np.random.default_rng(seed)
    return {name: list(value + rng.normal(0, noise, replicates)) for name, value in values.items()}


def cohort(defection_by_band, customers=1000.0, **extra):
    """Cohort counts by band and rating that give the annual defection rates asked for."""
    columns = {}
    for key, rate in zip([*BANDS, *(f"rating_{r}" for r in RATINGS)], defection_by_band * 2, strict=True):
        columns[f"cohort_{key}_customers"] = customers
        columns[f"cohort_{key}_defectors"] = rate * customers
    return replicated({**columns, **extra}, noise=0.0)


def measure(key, results):
    return FACT[key].measure(results)


def test_a_falling_ladder_holds_and_a_reversal_fails_naming_the_step():
    ladder = dict(zip((f"defection_rating_{r}" for r in RATINGS), (0.6, 0.4, 0.25, 0.1, 0.03), strict=True))
    assert measure("defection_falls_rated", {"baseline": runs(replicated(ladder))}).holds
    ladder["defection_rating_1"] = 0.3  # rating 1 defects less than rating 2
    result = measure("defection_falls_rated", {"baseline": runs(replicated(ladder))})
    assert not result.holds and "weakest step between 1 and 2" in result.detail
    assert result.estimate == pytest.approx(-0.1, abs=0.01) and result.ci_high < 0
    # a fall smaller than the replicates' noise is not evidence of a fall
    ladder = dict(zip((f"defection_rating_{r}" for r in RATINGS), (0.6, 0.4, 0.25, 0.245, 0.03), strict=True))
    noisy = measure("defection_falls_rated", {"baseline": runs(replicated(ladder, noise=0.02, replicates=4))})
    assert not noisy.holds and "between 3 and 4" in noisy.detail and noisy.ci_low < 0


def test_barriers_hold_when_they_matter_at_the_bottom_and_fail_when_they_act_alike():
    high = cohort([0.40, 0.30, 0.20, 0.10, 0.05])
    low_differs_at_bottom = cohort([0.80, 0.60, 0.30, 0.12, 0.06])  # −0.35 at the bottom, −0.01 at the top
    low_uniform = cohort([0.60, 0.50, 0.40, 0.30, 0.25])  # barriers cut 0.2 everywhere
    held = measure("barriers_matter_when_dissatisfied", {"baseline": runs(high), "low_barriers": runs(low_differs_at_bottom)})
    assert held.holds and held.estimate == pytest.approx(0.01 / 0.35)
    assert "0.350 (50%)" in held.detail and "0.010 (17%)" in held.detail
    failed = measure("barriers_matter_when_dissatisfied", {"baseline": runs(high), "low_barriers": runs(low_uniform)})
    assert not failed.holds and failed.estimate == pytest.approx(1.0)
    # no effect at the bottom at all: fails (no barrier effect to speak of)
    assert not measure("barriers_matter_when_dissatisfied", {"baseline": runs(high), "low_barriers": runs(high)}).holds


def test_word_of_mouth_u_and_volume():
    shares = {f"band_share_{band}": s for band, s in zip(BANDS, (0.05, 0.1, 0.25, 0.35, 0.25), strict=True)}
    u = {f"wom_sent_{band}": s for band, s in zip(BANDS, (0.5, 0.3, 0.1, 0.2, 0.3), strict=True)}
    result = measure("word_of_mouth_u", {"baseline": runs(replicated({**shares, **u}, noise=0.0))})
    assert result.holds and result.estimate == pytest.approx((0.05 * 0.5 + 0.1 * 0.3) / 0.15 / ((0.35 * 0.2 + 0.25 * 0.3) / 0.6))
    rising = {f"wom_sent_{band}": s for band, s in zip(BANDS, (0.1, 0.15, 0.2, 0.3, 0.4), strict=True)}
    assert not measure("word_of_mouth_u", {"baseline": runs(replicated({**shares, **rising}, noise=0.0))}).holds
    volume = measure("word_of_mouth_volume", {"baseline": runs(replicated({"wom_negative_share": 0.25}, noise=0.0))})
    assert volume.holds and volume.estimate == pytest.approx(3.0)
    assert not measure("word_of_mouth_volume", {"baseline": runs(replicated({"wom_negative_share": 0.076}, noise=0.0))}).holds


def test_asymmetric_disconfirmation_grows_with_loss_aversion():
    def ratio(loss_aversion):
        config = load_config(None, {"satisfaction.loss_aversion": loss_aversion})
        return measure("asymmetric_disconfirmation", {"baseline": runs({}, config=config)}).estimate

    assert ratio(1.0) < ratio(2.0) < ratio(3.0)
    assert ratio(2.0) > 1


def test_steady_state_holds_when_the_transient_ends_within_the_burn_in():
    rng = np.random.default_rng(1)
    steps = np.arange(1, 121)
    frames = []
    for run_id in range(4):
        settled = 0.02 + 0.03 * np.exp(-steps / 3) + rng.normal(0, 0.001, steps.size)
        frames.append(pd.DataFrame({"run_id": run_id, "step": steps, "churn_rate": settled}))
    config = load_config(None, {"run.burn_in": 24, "run.steps": 120})
    assert measure("steady_state", {"baseline": runs({}, pd.concat(frames), config)}).holds
    drifting = pd.concat(frame.assign(churn_rate=0.05 - 0.0003 * steps) for frame in frames)
    result = measure("steady_state", {"baseline": runs({}, drifting, config)})
    assert not result.holds and result.estimate > 24


def test_a_missing_scenario_or_metric_is_reported_not_measured():
    card = scorecard({"baseline": runs({"annualised_churn": [0.2, 0.18, 0.22]})})
    assert list(card["fact"]) == [fact.key for fact in FACTS]
    row = card.set_index("fact").loc["annual_churn"]
    assert row["holds"] and row["estimate"] == pytest.approx(0.2) and row["ci_low"] < 0.2 < row["ci_high"]
    trap = card.set_index("fact").loc["satisfaction_trap"]
    assert trap["holds"] is None and "scenario 'competitive' was not run" in trap["detail"]
    ladder = card.set_index("fact").loc["defection_falls_rated"]
    assert ladder["holds"] is None and "defection_rating_1" in ladder["detail"]


@pytest.mark.slow
def test_facts_command_writes_the_scorecard_and_report(tmp_path, capsys):
    out = tmp_path / "facts"
    sets = ["--set", "customers.n=150", "--set", "run.steps=48", "--set", "run.burn_in=12"]
    assert main(["facts", "--replicates", "2", "--executor", "serial", "--out", str(out), *sets]) == 0
    card = pd.read_parquet(out / "scorecard.parquet")
    assert list(card["fact"]) == [fact.key for fact in FACTS]
    assert card.set_index("fact").loc["asymmetric_disconfirmation", "holds"]
    report = (out / "validation.md").read_text(encoding="utf-8")
    assert all(fact.statement in report for fact in FACTS)
    assert (out / "validation.html").is_file()
    assert set(pd.read_parquet(out / "runs.parquet")["scenario"]) == {"baseline", "competitive", "captive", "low_barriers"}
    assert "facts hold" in capsys.readouterr().out


def test_facts_command_bad_override_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "facts"
    assert main(["facts", "--replicates", "2", "--out", str(out), "--set", "customers.n=-5"]) == 2
    assert "customers.n" in capsys.readouterr().err and not out.exists()


def test_the_facts_marked_calibrated_are_the_targets_of_the_shipped_calibration():
    import yaml

    from .conftest import ROOT

    targets = {t["metric"] for t in yaml.safe_load((ROOT / "experiments" / "calibrate_defaults.yaml").read_text())["targets"]}
    metric_of = {"defection_falls_rated": "defection_rating_1", "word_of_mouth_volume": "wom_negative_share"}
    metric_of["annual_churn"] = "annualised_churn"
    assert {fact.key for fact in FACTS if fact.calibrated} == {key for key, metric in metric_of.items() if metric in targets}
    assert all(metric in targets for metric in metric_of.values())
