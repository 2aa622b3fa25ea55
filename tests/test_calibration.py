"""Calibration: metric bookkeeping, loss, identifiability (known parameters recovered), ABC, resume, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from loyaltysim import ConfigError, LoyaltyModel, load_config
from loyaltysim.analysis.calibration import (
    FINAL_METRICS,
    POOLED_METRICS,
    Target,
    calibrate,
    load_calibration,
    measure,
    target_loss,
)
from loyaltysim.cli import main
from loyaltysim.experiments import execution

from .conftest import CONFIGS, ROOT, small_config

pytestmark = pytest.mark.slow

SMALL = {"customers.n": 300, "run.steps": 36, "run.burn_in": 6, "run.panel_size": 0}
# Two parameters the targets pin down separately: variety seeking sets the churn floor of the highly
# satisfied, the neutral point shifts satisfaction. (switching.loyalty_weight is NOT a good partner
# for variety seeking at this size: raising both together leaves these churn targets almost unchanged.)
TRUE = {"switching.variety_seeking": 0.01, "satisfaction.neutral_performance": 0.5}
BOUNDS = {"switching.variety_seeking": (0.0, 0.03), "satisfaction.neutral_performance": (0.3, 0.7)}


def calibrate_cli(*args: str) -> int:
    """``loyaltysim calibrate --executor serial ARGS`` (no process pool: fast for tiny runs)."""
    return main(["calibrate", "--executor", "serial", *args])


def write_calibration(folder: Path, **changes: object) -> Path:
    """A small valid calibration file (two free parameters, three targets), with top-level keys replaced."""
    spec = {
        "name": "test",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": SMALL,
        "parameters": {name: {"low": low, "high": high} for name, (low, high) in BOUNDS.items()},
        "targets": [
            {"metric": "churn_rate", "per": "period", "value": 0.03, "tolerance": 0.003},
            {"metric": "churn_highly_satisfied", "per": "period", "value": 0.01, "tolerance": 0.003},
            {"metric": "satisfied_defector_share", "value": 0.28, "tolerance": 0.03},
        ],
        "replicates": 2,
        "check_replicates": 2,
        "seed": 3,
        "differential_evolution": {"generations": 5, "popsize": 6},
        "abc": {"samples": 32, "accept": 0.25, "batch_size": 16},
    }
    spec.update(changes)
    path = folder / "calibration.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_metric_lists_match_what_a_run_reports():
    summary = LoyaltyModel(small_config(run__steps=8, run__burn_in=2)).run().summary()
    assert set(POOLED_METRICS) <= set(summary)
    assert {f"final_{m}" for m in FINAL_METRICS} <= set(summary)


def test_measure_states_rates_per_period_or_per_year():
    summary = {"churn_satisfied": 0.1, "retention_rate": 0.9, "final_hhi": 0.3, "nps": 12.0}
    monthly = Target(metric="churn_satisfied", per="period", value=0.0)
    yearly = Target(metric="churn_satisfied", per="year", value=0.0)
    assert measure(summary, monthly, 12) == pytest.approx(0.1)
    assert measure(summary, yearly, 12) == pytest.approx(1 - 0.9**12)
    assert measure(summary, Target(metric="retention_rate", per="year", value=0.0), 12) == pytest.approx(0.9**12)
    assert measure(summary, Target(metric="hhi", window="final", value=0.0), 12) == pytest.approx(0.3)
    assert np.isnan(measure({}, monthly, 12))


def test_loss_is_weighted_and_tolerance_scaled():
    targets = [Target(metric="nps", value=10.0, tolerance=2.0), Target(metric="mean_satisfaction", value=0.5, weight=3.0)]
    simulated = np.array([[14.0, 0.6], [10.0, 0.5], [np.nan, 0.5]])
    np.testing.assert_allclose(target_loss(simulated, targets), [4.0 + 3 * 0.01, 0.0, (10.0 / 2.0) ** 2])


def observed_targets() -> list[dict]:
    """Targets measured on runs of the TRUE parameters, with seeds the calibration never uses."""
    seeds = np.random.SeedSequence(2024).generate_state(4)
    summaries = [
        LoyaltyModel(load_config(CONFIGS / "baseline.yaml", {**SMALL, **TRUE, "run.seed": int(s)})).run().summary() for s in seeds
    ]
    specs = [
        {"metric": "churn_rate", "per": "period", "tolerance": 0.003},
        {"metric": "churn_highly_satisfied", "per": "period", "tolerance": 0.003},
        {"metric": "mean_satisfaction", "tolerance": 0.01},
    ]
    for spec in specs:
        spec["value"] = float(np.mean([measure(s, Target(**spec, value=0.0), 12) for s in summaries]))
    return specs


def test_differential_evolution_recovers_known_parameters(tmp_path):
    calibration = load_calibration(write_calibration(tmp_path, targets=observed_targets()))
    result = calibrate(calibration)
    for name, (low, high) in BOUNDS.items():
        assert abs(result.best[name] - TRUE[name]) <= 0.15 * (high - low), (name, result.best[name])
    assert result.details["generations"] == 5
    assert len(result.evaluations) == 6 * 2 * 6  # initial population + 5 generations of popsize × parameters
    assert result.evaluations["loss"].min() == result.best_loss
    assert set(result.fit["metric"]) == {"churn_rate", "churn_highly_satisfied", "mean_satisfaction"}
    assert np.isfinite(result.fit["fitted"]).all()


def test_abc_gives_a_posterior_sample_and_credible_intervals(tmp_path):
    calibration = load_calibration(write_calibration(tmp_path, method="abc", targets=observed_targets()))
    result = calibrate(calibration)
    assert len(result.evaluations) == 32 and result.details["accepted"] == 8
    assert (result.posterior["loss"] <= result.details["epsilon"]).all()
    intervals = result.intervals.set_index("parameter")
    assert (intervals["low"] <= intervals["median"]).all() and (intervals["median"] <= intervals["high"]).all()
    for name, (low, high) in BOUNDS.items():
        assert low <= intervals.loc[name, "low"] and intervals.loc[name, "high"] <= high
    # the accepted sample concentrates: narrower than the prior box for the well-identified variety seeking
    width = intervals.loc["switching.variety_seeking", "high"] - intervals.loc["switching.variety_seeking", "low"]
    assert width < 0.75 * (BOUNDS["switching.variety_seeking"][1] - BOUNDS["switching.variety_seeking"][0])
    assert (
        intervals.loc["switching.variety_seeking", "low"]
        <= TRUE["switching.variety_seeking"]
        <= intervals.loc["switching.variety_seeking", "high"]
    )


def one_parameter(tmp_path: Path, **changes: object) -> Path:
    """A tiny one-parameter calibration (150 customers, 20 periods)."""
    spec = {
        "parameters": {"switching.variety_seeking": {"low": 0.0, "high": 0.03}},
        "targets": [{"metric": "churn_rate", "per": "year", "value": 0.3, "tolerance": 0.03}],
        "differential_evolution": {"generations": 2, "popsize": 4},
        "overrides": {**SMALL, "customers.n": 150, "run.steps": 20},
    }
    return write_calibration(tmp_path, **(spec | changes))


def test_cli_writes_every_output_and_the_calibrated_config_runs(tmp_path, capsys):
    out = tmp_path / "out"
    assert calibrate_cli(str(one_parameter(tmp_path)), "--out", str(out)) == 0
    assert "results written to" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {
        "evaluations.parquet",
        "runs.parquet",
        "fit.csv",
        "calibrated.yaml",
        "report.md",
        "report.html",
        "manifest.json",
    } <= names
    assert {p.name for p in (out / "figures").iterdir()} == {"loss_history.png", "parameter_loss.png", "fit.png"}
    best = pd.read_parquet(out / "evaluations.parquet").sort_values("loss").iloc[0]["switching.variety_seeking"]
    calibrated = load_config(out / "calibrated.yaml")
    assert calibrated.switching.variety_seeking == best and calibrated.customers.n == 150
    text = (out / "report.md").read_text()
    assert text.startswith("# Calibration: test") and "| `switching.variety_seeking` |" in text
    assert all(f"](figures/{name})" in text for name in ("loss_history.png", "parameter_loss.png", "fit.png"))
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 3
    fit = pd.read_csv(out / "fit.csv")
    assert fit.loc[0, "per"] == "year" and fit.loc[0, "target"] == 0.3
    assert main(["run", str(out / "calibrated.yaml"), "--out", str(tmp_path / "run"), "--no-figures", "--quiet"]) == 0


def test_cli_abc_writes_the_posterior_sample_intervals_and_figure(tmp_path):
    out = tmp_path / "out"
    path = one_parameter(
        tmp_path,
        method="abc",
        parameters={"switching.variety_seeking": {"low": 0.001, "high": 0.03, "log": True}},
        abc={"samples": 16, "accept": 0.25, "batch_size": 8},
    )
    assert calibrate_cli(str(path), "--out", str(out), "--quiet") == 0
    assert {p.name for p in (out / "batches").glob("*.parquet")} == {
        "abc_0000.parquet",
        "abc_0001.parquet",
        "check.parquet",
        "predictive.parquet",
    }
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert len(posterior) == 4 and posterior["switching.variety_seeking"].between(0.001, 0.03).all()
    intervals = pd.read_csv(out / "intervals.csv")
    assert intervals.loc[0, "level"] == 0.9
    assert (out / "figures" / "posterior.png").is_file()
    assert "credible interval" in (out / "report.md").read_text()
    figures = {"loss_history.png", "parameter_loss.png", "fit.png", "posterior.png", "pairs.png", "predictive.png"}
    assert {p.name for p in (out / "figures").iterdir()} == figures
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(figures)


def test_set_changes_calibration_keys_and_base_config_values(tmp_path):
    path = one_parameter(tmp_path)
    cal = load_calibration(path, {"replicates": 3, "differential_evolution.generations": 1, "customers.n": 120})
    assert cal.spec.replicates == 3 and cal.spec.differential_evolution.generations == 1
    assert cal.base.customers.n == 120 and cal.base.run.steps == 20  # the file's own overrides still apply
    with pytest.raises(ConfigError, match="replicates"):
        load_calibration(path, {"replicates": 0})


def test_shipped_kotler_calibration_runs_at_reduced_size():
    reduced = {"customers.n": 120, "run.steps": 14, "run.burn_in": 2, "replicates": 1, "check_replicates": 1}
    reduced |= {"differential_evolution.generations": 1, "differential_evolution.popsize": 2}
    cal = load_calibration(ROOT / "experiments" / "calibrate_kotler.yaml", reduced)
    assert [t.per for t in cal.spec.targets] == ["year"] * 5 and cal.base.run.period == "month"
    assert [t.value for t in cal.spec.targets] == [0.8, 0.4, 0.2, 0.1, 0.015]
    result = calibrate(cal)
    assert len(result.evaluations) == 2 * 2 * len(cal.names)
    assert result.calibrated_config().customers.n == 120


def test_shipped_bayesian_kotler_calibration_runs_at_reduced_size():
    reduced = {"customers.n": 120, "run.steps": 14, "run.burn_in": 2, "check_replicates": 1, "predictive.draws": 2}
    reduced |= {"abc_smc.population": 8, "abc_smc.generations": 2, "abc_smc.batch_size": 8}
    cal = load_calibration(ROOT / "experiments" / "calibrate_kotler_bayes.yaml", reduced)
    kotler = load_calibration(ROOT / "experiments" / "calibrate_kotler.yaml")
    assert cal.spec.targets == kotler.spec.targets and cal.spec.parameters == kotler.spec.parameters
    assert cal.spec.method == "abc-smc"
    result = calibrate(cal)
    assert len(result.posterior) == 8 and set(result.checks) == {"identifiability", "misspecification"}
    assert len(result.tables["predictive"]) == 5


def test_resume_reuses_finished_batches_and_gives_the_same_result(tmp_path):
    path, out = one_parameter(tmp_path), tmp_path / "out"
    assert calibrate_cli(str(path), "--out", str(out), "--quiet") == 0
    first = pd.read_parquet(out / "evaluations.parquet")
    kept = out / "batches" / "de_0000.parquet"
    stamp = kept.stat().st_mtime_ns
    (out / "batches" / "de_0002.parquet").unlink()  # interrupted before the last generation finished
    (out / "evaluations.parquet").unlink()
    assert calibrate_cli(str(path), "--out", str(out), "--quiet") == 2  # never overwritten without --resume
    assert calibrate_cli(str(path), "--out", str(out), "--resume", "--quiet") == 0
    assert kept.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(pd.read_parquet(out / "evaluations.parquet"), first)


def test_process_pool_gives_the_same_calibration_and_a_batch_resumes_from_its_finished_runs(tmp_path):
    path = one_parameter(tmp_path)
    serial, pool = tmp_path / "serial", tmp_path / "pool"
    assert main(["calibrate", str(path), "--out", str(serial), "--executor", "serial", "--quiet"]) == 0
    assert main(["calibrate", str(path), "--out", str(pool), "--executor", "process", "--workers", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(serial / "evaluations.parquet"), pd.read_parquet(pool / "evaluations.parquet"))
    # interrupted inside a generation: its batch file is missing but the engine's chunks of finished runs remain
    (pool / "batches" / "de_0001.parquet").unlink()
    chunks = sorted((pool / "batches" / "de_0001" / "chunks").iterdir())
    for extra in chunks[1:]:
        shutil.rmtree(extra)
    kept = chunks[0]
    assert main(["calibrate", str(path), "--out", str(pool), "--executor", "serial", "--resume", "--quiet"]) == 0
    assert kept.is_dir()
    chunk_runs = pd.concat(pd.read_parquet(c / "runs.parquet") for c in (pool / "batches" / "de_0001" / "chunks").iterdir())
    points = (pd.read_parquet(serial / "evaluations.parquet")["batch"] == "de_0001").sum()
    assert sorted(chunk_runs["run_id"]) == list(range(2 * points))  # every run of the generation, none run twice
    pd.testing.assert_frame_equal(pd.read_parquet(serial / "evaluations.parquet"), pd.read_parquet(pool / "evaluations.parquet"))


def test_one_process_pool_serves_every_generation_and_is_stopped_at_the_end(tmp_path, monkeypatch):
    """The workers start once per calibration, not once per generation, and do not outlive it."""
    from loyaltysim.analysis import calibration as calibration_module

    started = []

    def counting_pool(workers):
        pool = execution.process_pool(workers)
        started.append(pool)
        return pool

    monkeypatch.setattr(calibration_module, "process_pool", counting_pool)
    result = calibrate(load_calibration(one_parameter(tmp_path)), executor="process", workers=2)
    assert len(set(result.evaluations["batch"])) >= 3  # the first generation, the next one, the check run
    assert len(started) == 1
    with pytest.raises(RuntimeError, match="shutdown"):
        started[0].submit(int, 1)  # stopped when the calibration ended


BAYESIAN_SMALL = {
    "abc_smc": {"population": 12, "generations": 2, "batch_size": 12},
    "npe": {
        "simulations": 40,
        "estimator": "mdn",
        "max_epochs": 5,
        "sbc_samples": 40,
        "posterior_samples": 200,
        "batch_size": 20,
    },
    "history_matching": {"waves": 2, "points": 12, "candidates": 300},
    "predictive": {"draws": 3},
}


def two_parameters(tmp_path: Path, method: str) -> Path:
    """The small two-parameter calibration, run by ``method`` at the smallest useful size."""
    return write_calibration(tmp_path, method=method, overrides={**SMALL, "customers.n": 120, "run.steps": 16}, **BAYESIAN_SMALL)


def test_abc_smc_writes_the_posterior_its_checks_and_resumes_to_the_same_posterior(tmp_path, capsys):
    path, out = two_parameters(tmp_path, "abc-smc"), tmp_path / "out"
    assert calibrate_cli(str(path), "--out", str(out)) == 0
    assert "parameter" in capsys.readouterr().out  # the credible intervals are printed
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert len(posterior) == 12 and posterior["weight"].sum() == pytest.approx(1.0)
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["generation"]) == [0, 1] and generations.loc[1, "acceptance"] <= 1
    for name in ("identifiability.csv", "identifiability_directions.csv", "misspecification.csv", "predictive.csv"):
        assert (out / name).is_file(), name
    assert len(pd.read_csv(out / "predictive.csv")) == 3  # one row per target
    report = (out / "report.md").read_text()
    for heading in ("## Identifiability", "## Misspecification check", "## Posterior predictive check", "## ABC-SMC generations"):
        assert heading in report
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["checks"]) >= {"misspecification", "identified", "predictive_inside"}
    assert {"pairs.png", "predictive.png"} <= {p.name for p in (out / "figures").iterdir()}
    # interrupted in generation 1: the same posterior after --resume
    (out / "batches" / "smc_01_0000.parquet").unlink()
    (out / "posterior.parquet").unlink()
    assert calibrate_cli(str(path), "--out", str(out), "--resume", "--quiet") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), posterior)


def test_abc_smc_gives_the_same_posterior_on_a_process_pool(tmp_path):
    path = two_parameters(tmp_path, "abc-smc")
    serial = calibrate(load_calibration(path))
    pool = calibrate(load_calibration(path), executor="process", workers=2)
    pd.testing.assert_frame_equal(serial.posterior, pool.posterior)


def test_npe_saves_its_posterior_and_reuses_it_for_new_targets(tmp_path):
    path, out = two_parameters(tmp_path, "npe"), tmp_path / "out"
    assert calibrate_cli(str(path), "--out", str(out), "--quiet") == 0
    assert (out / "npe" / "posterior.pkl").is_file()
    assert len(pd.read_parquet(out / "sbc_ranks.parquet")) == 4  # 10% of 40 simulations held out
    assert {"sbc_ranks.png", "coverage.png", "pairs.png"} <= {p.name for p in (out / "figures").iterdir()}
    assert "## Neural posterior estimation" in (out / "report.md").read_text()
    again = tmp_path / "again"
    new_targets = ["--set", "targets.0.value=0.05", "--set", f"npe.reuse={out}"]
    assert calibrate_cli(str(path), "--out", str(again), "--quiet", *new_targets) == 0
    assert {p.name for p in (again / "batches").glob("*.parquet")} == {"check.parquet", "predictive.parquet"}
    assert "no training runs" in (again / "report.md").read_text()
    # a posterior trained for other targets is refused before anything runs
    other = write_calibration(tmp_path, method="npe", npe={"reuse": str(out)})
    assert calibrate_cli(str(other), "--out", str(tmp_path / "other")) == 2


def test_history_matching_writes_waves_validation_and_the_nroy_region(tmp_path):
    out = tmp_path / "out"
    assert calibrate_cli(str(two_parameters(tmp_path, "history-matching")), "--out", str(out), "--quiet") == 0
    waves = pd.read_csv(out / "waves.csv")
    assert list(waves["wave"]) == [1, 2] and (waves["nroy_after"] <= waves["nroy_before"]).all()
    bounds = pd.read_csv(out / "nroy_bounds.csv")
    assert list(bounds["parameter"]) == list(BOUNDS)
    assert set(pd.read_csv(out / "emulator_validation.csv")["wave"]) == {1, 2}
    assert "## History matching" in (out / "report.md").read_text()


def test_a_method_without_its_packages_exits_2_with_the_install_hint(tmp_path, capsys, monkeypatch):
    from loyaltysim.analysis import calibration as calibration_module

    monkeypatch.setitem(calibration_module.NEEDS, "npe", ("torch", "not_an_installed_package"))
    out = tmp_path / "out"
    assert calibrate_cli(str(two_parameters(tmp_path, "npe")), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "method: npe needs the inference extra (not_an_installed_package not installed)" in err
    assert "pip install 'loyaltysim[inference]'" in err and "Traceback" not in err
    assert not out.exists()


def test_resume_refuses_a_changed_calibration(tmp_path, capsys):
    out = tmp_path / "out"
    assert calibrate_cli(str(one_parameter(tmp_path)), "--out", str(out), "--quiet") == 0
    changed = one_parameter(tmp_path, seed=4)
    assert calibrate_cli(str(changed), "--out", str(out), "--resume", "--quiet") == 2
    assert "different calibration" in capsys.readouterr().err


BAD = [
    (
        {"targets": [{"metric": "churn_satisfed", "per": "year", "value": 0.1}]},
        "targets.0.metric: unknown pooled metric 'churn_satisfed' (did you mean 'churn_satisfied'?)",
    ),
    (
        {"parameters": {"switching.loyalty_weight": {"low": 5.0, "high": 2.0}}},
        "parameters.switching.loyalty_weight: bounds inverted",
    ),
    ({"parameters": {}}, "parameters: no free parameters"),
    (
        {"parameters": {"switching.loyality_weight": {"low": 0, "high": 1}}},
        "'switching.loyality_weight' is not a config key (did you mean 'loyalty_weight'?)",
    ),
    ({"parameters": {"run.steps": {"low": 10, "high": 20}}}, "only real-valued config keys"),
    (
        {"parameters": {"switching.variety_seeking": {"low": 0.0, "high": 1.5}}},
        "parameters.switching.variety_seeking.high: 1.5 is not a valid value",
    ),
    ({"parameters": {"switching.value_weight": {"low": 0.0, "high": 2.0, "log": True}}}, "log: true needs low > 0"),
    (
        {"targets": [{"metric": "churn_satisfied", "value": 0.1}]},
        "targets.0.per: churn_satisfied is a rate; say whether value is per period (one month)",
    ),
    ({"targets": [{"metric": "nps", "per": "year", "value": 10}]}, "targets.0.per: only churn and retention rates take per"),
    ({"targets": [{"metric": "nps", "value": 10, "tolerance": -1}]}, "targets.0.tolerance"),
    ({"method": "abc", "abc": {"samples": 100}}, "abc.samples: the Sobol sampler needs a power of 2"),
    ({"method": "nelder_mead"}, "method:"),
    ({"replicate": 3}, "unknown key 'replicate' (did you mean 'replicates'?)"),
    ({"base": "missing.yaml"}, "base: scenario file not found"),
    ({"method": "abc-smc", "abc_smc": {"populaton": 10}}, "unknown key 'populaton' (did you mean 'population'?)"),
    ({"method": "abc-smc", "abc_smc": {"population": 2}}, "abc_smc.population"),
    ({"method": "npe", "npe": {"reuse": "nowhere"}}, "npe.reuse: no trained posterior at"),
    ({"method": "history-matching", "history_matching": {"cutoff": 0}}, "history_matching.cutoff"),
]


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_calibration_files_exit_2_with_a_clear_message(tmp_path, capsys, changes, message):
    path = write_calibration(tmp_path, **changes)
    out = tmp_path / "out"
    assert calibrate_cli(str(path), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and message in err, err
    assert "Traceback" not in err
    assert not out.exists()  # no results folder on bad input
