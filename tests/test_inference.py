"""Bayesian calibration procedures checked where the truth is known: ABC-SMC, rejection ABC and NPE
coverage on a linear-Gaussian simulator, SBC and coverage diagnostics, misspecification, identifiability,
Gaussian-process emulators, history matching and Sobol' indices on an emulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyaltysim.analysis.calibration import calibrate, load_calibration
from loyaltysim.analysis.inference.abc_smc import abc_smc
from loyaltysim.analysis.inference.diagnostics import (
    expected_coverage,
    identifiability,
    misspecification,
    rank_uniformity,
    sbc_ranks,
)
from loyaltysim.analysis.inference.emulated_sobol import compare_indices, emulated_sobol
from loyaltysim.analysis.inference.emulator import GaussianProcessEmulator, validate
from loyaltysim.analysis.inference.history_matching import history_matching, implausibility
from loyaltysim.analysis.inference.known_truth import LinearGaussianEvaluator
from loyaltysim.analysis.inference.posterior import Box, intervals, weighted_quantile
from loyaltysim.analysis.inference.settings import AbcSmcSettings, HistoryMatchingSettings

from .conftest import CONFIGS

NAMES = ["switching.loyalty_weight", "customers.switching_cost.mean"]
BOUNDS = {NAMES[0]: (0.0, 12.0), NAMES[1]: (1.0, 10.0)}
TOY = LinearGaussianEvaluator(NAMES, ["mean_satisfaction", "nps"], [[1.0, 0.0], [0.0, 1.0]], noise=[1.0, 0.8])
UNIT = Box(["a", "b"], np.zeros(2), np.ones(2))


def toy_calibration(folder: Path, observed: np.ndarray, *, seed: int, method: str, **settings: object) -> Path:
    """A calibration file of the two toy parameters with targets ``observed``."""
    path = folder / f"toy_{method}_{seed}.yaml"
    return TOY.calibration_file(
        path, base=CONFIGS / "baseline.yaml", bounds=BOUNDS, observed=observed, seed=seed, method=method, **settings
    )


def synthetic_truth(rep: int) -> tuple[np.ndarray, np.ndarray]:
    """Known parameters drawn from the prior and one simulated target vector (a seed no calibration uses)."""
    rng = np.random.default_rng(10_000 + rep)
    truth = np.array([rng.uniform(*BOUNDS[name]) for name in NAMES])
    return truth, TOY.simulate(truth[None, :], [int(rng.integers(2**31))])[0]


def covered(table: pd.DataFrame, truth: np.ndarray) -> np.ndarray:
    rows = table.set_index("parameter").loc[NAMES]
    return ((rows["low"] <= truth) & (truth <= rows["high"])).to_numpy()


# --- small pieces -------------------------------------------------------------------------------


def test_weighted_quantiles_and_intervals():
    values = np.arange(101.0)
    assert weighted_quantile(values, np.ones(101), 0.5) == pytest.approx(50.0)
    heavy = np.where(values >= 50, 1.0, 0.0)
    assert weighted_quantile(values, heavy, 0.5) == pytest.approx(75.0, abs=0.6)
    table = intervals(pd.DataFrame({"a": values}), np.ones(101), 0.9)
    assert table.loc[0, "low"] == pytest.approx(5.0, abs=0.6) and table.loc[0, "high"] == pytest.approx(95.0, abs=0.6)


def exact_draws(truths: np.ndarray, shrink: float, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Posterior draws for each truth's simulated data, from the exact posterior (shrink 1) or an overconfident one."""
    out = []
    for truth in truths:
        observed = TOY.simulate(truth[None, :], [int(rng.integers(2**31))])[0]
        low, high = np.array([b[0] for b in BOUNDS.values()]), np.array([b[1] for b in BOUNDS.values()])
        draws = TOY.exact_posterior(observed, low, high, 1, samples, rng)
        out.append(draws.mean(axis=0) + shrink * (draws - draws.mean(axis=0)))
    return np.array(out)


def test_sbc_and_coverage_accept_the_exact_posterior_and_reject_an_overconfident_one():
    rng = np.random.default_rng(5)
    truths = np.column_stack([rng.uniform(*BOUNDS[name], size=300) for name in NAMES])
    samples = 99
    exact = sbc_ranks(truths, exact_draws(truths, 1.0, samples, rng))
    overconfident = sbc_ranks(truths, exact_draws(truths, 0.5, samples, rng))
    assert (rank_uniformity(exact, samples, NAMES)["p_value"] > 0.001).all()
    assert (rank_uniformity(overconfident, samples, NAMES)["p_value"] < 1e-6).all()
    at90 = expected_coverage(exact, samples, NAMES).query("level == 0.9")["coverage"]
    assert at90.between(0.85, 0.95).all()
    assert (expected_coverage(overconfident, samples, NAMES).query("level == 0.9")["coverage"] < 0.7).all()


def test_misspecification_flags_targets_the_model_cannot_reach():
    rng = np.random.default_rng(1)
    simulated = rng.normal([0.2, 0.5], [0.02, 0.05], size=(500, 2))
    typical = misspecification(simulated, np.array([0.21, 0.48]), ["churn", "satisfaction"])
    assert not typical["flagged"] and typical["p_value"] > 0.1
    # each target alone is within range, together they are not (the simulations are independent):
    apart = misspecification(simulated, np.array([0.26, 0.35]), ["churn", "satisfaction"])
    assert apart["flagged"] and apart["p_value"] < 0.01
    far = misspecification(simulated, np.array([0.8, 0.5]), ["churn", "satisfaction"])
    assert far["flagged"]
    assert list(far["targets"].query("outside_simulated")["target"]) == ["churn"]


def test_identifiability_names_a_ridge_and_an_unconstrained_parameter():
    rng = np.random.default_rng(2)
    box = Box(["a", "b", "c", "d"], np.zeros(4), np.ones(4))
    s = rng.uniform(0.02, 0.98, 4000)  # a + b = 1 ± small: only the sum is identified
    particles = np.column_stack([s, 1.0 - s + rng.normal(0, 0.01, 4000), rng.uniform(0, 1, 4000), rng.normal(0.5, 0.02, 4000)])
    found = identifiability(particles, np.full(4000, 1 / 4000), box)
    identified = found["parameters"].set_index("parameter")["identified"]
    assert identified.to_dict() == {"a": False, "b": False, "c": False, "d": True}
    loose = found["directions"].query("not identified")["combination"].tolist()
    assert len(loose) == 2
    assert any("·a" in c and "·b" in c and "·c" not in c for c in loose)  # a − b: the ridge
    assert any(c.strip().endswith("·c") and "·a" not in c for c in loose)
    ridge = found["ridges"]
    assert list(zip(ridge["a"], ridge["b"], strict=True)) == [("a", "b")] and ridge["correlation"].iloc[0] < -0.9


def toy_simulator(noise: float = 0.02, seed: int = 0):
    """y = (a + b, a − b²) + noise, seeded by the batch name (so a replay gives the same values)."""

    def simulate(points: np.ndarray, batch: str) -> np.ndarray:
        rng = np.random.default_rng([seed, sum(map(ord, batch))])
        mean = np.column_stack([points[:, 0] + points[:, 1], points[:, 0] - points[:, 1] ** 2])
        return mean + noise * rng.standard_normal(mean.shape)

    return simulate


def test_abc_smc_shrinks_epsilon_concentrates_on_the_truth_and_replays_exactly():
    observed = np.array([0.9, 0.3 - 0.6**2])  # truth a = 0.3, b = 0.6
    settings = AbcSmcSettings(population=100, generations=4, batch_size=100)
    kwargs = {"scale": np.ones(2), "weight": np.ones(2), "settings": settings}
    first = abc_smc(toy_simulator(), UNIT, observed, rng=np.random.default_rng(3), **kwargs)
    again = abc_smc(toy_simulator(), UNIT, observed, rng=np.random.default_rng(3), **kwargs)
    np.testing.assert_array_equal(first.particles, again.particles)
    assert len(first.generations) == 4 and first.simulations == first.generations["proposals"].sum()
    assert (first.generations["acceptance"].iloc[1:] < 1).all()
    mean = np.average(first.particles, axis=0, weights=first.weights)
    np.testing.assert_allclose(mean, [0.3, 0.6], atol=0.08)
    assert np.sqrt(np.cov(first.particles.T, aweights=first.weights).diagonal()).max() < 0.1  # prior sd: 0.29
    capped = abc_smc(
        toy_simulator(), UNIT, observed, rng=np.random.default_rng(3), scale=np.ones(2), weight=np.ones(2),
        settings=AbcSmcSettings(population=100, generations=4, batch_size=100, max_simulations=350),
    )  # fmt: skip
    assert capped.simulations <= 350 and "budget" in capped.stopped


@pytest.mark.slow  # Gaussian-process fits: 5–25 s
def test_emulator_standardised_errors_on_held_out_runs():
    rng = np.random.default_rng(4)
    x = UNIT.sample(120, rng)
    y = np.column_stack([np.sin(3 * x[:, 0]) + x[:, 1], x[:, 0] * x[:, 1]]) + 0.02 * rng.standard_normal((120, 2))
    emulator = GaussianProcessEmulator(UNIT, ["s", "p"], seed=1).fit(x[:80], y[:80])
    table = validate(emulator, x[80:], y[80:]).set_index("output")
    assert (table["r2"] > 0.95).all()
    assert (table["within_2sd"] >= 0.85).all()
    assert table["standardised_sd"].between(0.6, 1.6).all() and table["standardised_mean"].abs().lt(0.5).all()
    draws = emulator.sample(x[80:90], 0, 200, rng)
    assert draws.shape == (200, 10)
    np.testing.assert_allclose(draws.mean(axis=0), emulator.predict(x[80:90])[0][:, 0], atol=0.02)


@pytest.mark.slow  # Gaussian-process fits: 5–25 s
def test_history_matching_rules_out_most_of_the_space_but_never_the_truth():
    truth = np.array([0.3, 0.6])
    observed = np.array([truth.sum(), truth[0] - truth[1] ** 2])
    settings = HistoryMatchingSettings(waves=3, points=30, candidates=2000)
    found = history_matching(toy_simulator(), UNIT, observed, np.full(2, 0.03), ["s", "d"], settings, np.random.default_rng(6))
    assert list(found.waves["wave"]) == [1, 2, 3]
    assert found.waves["nroy_after"].is_monotonic_decreasing and found.waves["nroy_after"].iloc[-1] < 0.15
    for emulator in found.emulators:
        assert implausibility(emulator, truth[None, :], observed, np.full(2, 0.03)).max() <= settings.cutoff
    assert found.nroy.min(axis=0)[0] <= truth[0] <= found.nroy.max(axis=0)[0]
    assert set(found.validation["wave"]) == {1, 2, 3}


@pytest.mark.slow  # Gaussian-process fits: 5–25 s
def test_sobol_indices_on_an_emulator_recover_known_values_with_their_uncertainty():
    # y = a + 0.5 b on the unit square: S1 = ST = 0.8 (a), 0.2 (b)
    rng = np.random.default_rng(7)
    x = UNIT.sample(60, rng)
    emulator = GaussianProcessEmulator(UNIT, ["y"], seed=2).fit(
        x, (x[:, 0] + 0.5 * x[:, 1] + 0.01 * rng.standard_normal(60))[:, None]
    )
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
    table = emulated_sobol(emulator, problem, samples=256, draws=30, seed=3)
    truth = {"a": 0.8, "b": 0.2}
    for row in table.itertuples():
        assert row.value == pytest.approx(truth[row.factor], abs=0.06), row
        assert row.emulator_low <= row.value <= row.emulator_high
    direct = table[["output", "factor", "index"]].assign(value=[truth[f] for f in table["factor"]], conf=0.02)
    assert compare_indices(table, direct)["agree"].all()
    wrong = direct.assign(value=1.0 - direct["value"])
    assert not compare_indices(table, wrong)["agree"].any()


# --- coverage on synthetic truths, through calibrate() ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("abc-smc", {"abc_smc": {"population": 150, "generations": 5, "batch_size": 150}}),
        ("abc", {"abc": {"samples": 1024, "accept": 0.05, "batch_size": 512}}),
    ],
)
def test_90_percent_intervals_cover_known_truths_in_about_90_percent_of_20_repetitions(tmp_path, method, settings):
    hits, widths = [], []
    for rep in range(20):
        truth, observed = synthetic_truth(rep)
        result = calibrate(
            load_calibration(toy_calibration(tmp_path, observed, seed=rep, method=method, **settings)), evaluator=TOY
        )
        hits.append(covered(result.intervals, truth))
        widths.append((result.intervals.set_index("parameter").loc[NAMES, ["low", "high"]].diff(axis=1)["high"]).to_numpy())
    coverage = np.mean(hits, axis=0)
    # 20 repetitions at a true 90%: 15 or more hits with probability 0.99
    assert (coverage >= 0.75).all(), coverage
    # and the intervals are informative: at most 1.6× the exact posterior's 90% width (3.29, 2.63), far below the prior's
    assert (np.mean(widths, axis=0) < 1.6 * 1.645 * 2 * np.array([1.0, 0.8])).all(), np.mean(widths, axis=0)


@pytest.mark.slow
def test_npe_is_calibrated_amortised_and_reused_for_new_targets_without_simulations(tmp_path, monkeypatch):
    from loyaltysim.workflows.calibration import run_calibration

    monkeypatch.chdir(tmp_path)

    truth, observed = synthetic_truth(0)
    settings = {"npe": {"simulations": 1000, "estimator": "mdn", "batch_size": 500, "validation": 0.2, "sbc_samples": 200}}
    path = toy_calibration(tmp_path, observed, seed=1, method="npe", **settings)
    first = run_calibration(load_calibration(path), tmp_path / "first", evaluator=TOY)
    assert (tmp_path / "first" / "npe" / "posterior.pkl").is_file()
    assert not (tmp_path / "sbi-logs").exists(), "training wrote TensorBoard logs into the current folder"
    # SBC on 200 held-out simulations: ranks uniform, 90% intervals cover about 90%
    assert (first.tables["sbc_uniformity"]["p_value"] > 0.001).all()
    assert first.tables["coverage"].query("level == 0.9")["coverage"].between(0.8, 0.97).all()
    # amortised: 20 synthetic truths, no new simulations
    hits = []
    for rep in range(20):
        truth, observed = synthetic_truth(rep)
        draws = first.amortised.sample(observed, 1000, seed=rep)
        low, high = np.quantile(draws, [0.05, 0.95], axis=0)
        order = [first.amortised.box.names.index(name) for name in NAMES]
        hits.append((low[order] <= truth) & (truth <= high[order]))
    assert (np.mean(hits, axis=0) >= 0.75).all()
    # reused from the results folder for new targets: only the check run is simulated
    batches = []

    def recording(batch: str, runs: pd.DataFrame) -> pd.DataFrame:
        batches.append(batch)
        return TOY(batch, runs)

    _, new_observed = synthetic_truth(1)
    reuse = {"npe": {**settings["npe"], "reuse": str(tmp_path / "first")}}
    again = calibrate(
        load_calibration(toy_calibration(tmp_path, new_observed, seed=1, method="npe", **reuse)), evaluator=recording
    )
    assert batches == ["check"] and again.details["simulated_points"] == 0 and again.details["reused"]
    assert len(again.evaluations) == 0
    pd.testing.assert_frame_equal(again.tables["coverage"], first.tables["coverage"])
    assert not np.allclose(again.posterior[NAMES].median(), first.posterior[NAMES].median())
