"""Are the hypothesis tests calibrated? Their size and power, checked by simulation.

For each built-in test, :data:`SCENARIOS` holds generators of synthetic sweep tables in which the
effect is absent by construction (a true null: the empirical rate of "supported" must stay within the
binomial band of the nominal level alpha) or present with a known size (power). :func:`rejection_rate`
runs one scenario ``reps`` times; :func:`binomial_band` gives the band a calibrated test's rate falls in
with probability 99%. ``benchmarks/hypothesis_calibration.py`` runs every scenario at length, adds the
model itself with an inert factor (``run.panel_size`` changes what is recorded, not what happens) and
the linear and threshold links, and prints the table quoted in ``docs/hypotheses.md``; the test suite
runs short versions.

Every scenario draws replicate runs with run-to-run noise, so the tests must treat runs, not customers,
as the units to keep their size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from loyaltysim.analysis import hypotheses

__all__ = ["SCENARIOS", "Scenario", "binomial_band", "rejection_rate"]

COST = "customers.switching_cost.mean"
OTHER = "switching.variety_seeking"
EDGES = np.linspace(0.0, 1.0, 21)
MIDDLE = 0.5 * (EDGES[:-1] + EDGES[1:])
MASS = np.diff(stats.beta(5, 2.5).cdf(EDGES))  # most customers satisfied, as in the model


@dataclass(frozen=True)
class Scenario:
    """A test, its options, and a generator of (runs, curves) for one simulated sweep."""

    test: str
    options: dict[str, Any]
    make: Callable[[np.random.Generator, float], tuple[pd.DataFrame, pd.DataFrame | None]]
    effect: float
    null: bool
    description: str
    rejects: Callable[[hypotheses.HypothesisResult], bool] | None = None

    def run(self, rng: np.random.Generator) -> list[hypotheses.HypothesisResult]:
        runs, curves = self.make(rng, self.effect)
        return hypotheses.TESTS[self.test](runs, curves, **self.options)


def binomial_band(reps: int, alpha: float, coverage: float = 0.99) -> tuple[float, float]:
    """The range of rejection rates a test of exact level ``alpha`` shows in ``reps`` runs with probability ``coverage``."""
    tail = (1.0 - coverage) / 2.0
    return float(stats.binom.ppf(tail, reps, alpha) / reps), float(stats.binom.isf(tail, reps, alpha) / reps)


def rejection_rate(scenario: Scenario, reps: int, seed: int = 0) -> float:
    """Share of ``reps`` simulated sweeps in which the test said "supported" (every cell counted)."""
    rng = np.random.default_rng(seed)
    hits = total = 0
    for _ in range(reps):
        for result in scenario.run(rng):
            total += 1
            hits += scenario.rejects(result) if scenario.rejects else result.verdict == "supported"
    return hits / total


# --- generators -------------------------------------------------------------------------------------


def _runs(levels: dict[str, list[Any]], replicates: int, *, common: bool = False) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([*levels.values(), range(replicates)], names=[*levels, "replicate"])
    runs = index.to_frame(index=False)
    runs.insert(0, "run_id", np.arange(len(runs)))
    runs.insert(1, "point_id", np.arange(len(runs)) // replicates)
    runs["seed"] = runs["replicate"] if common else runs["run_id"] + 1000
    runs["status"] = "ok"
    return runs


def _trap(rng: np.random.Generator, effect: float) -> tuple[pd.DataFrame, None]:
    runs = _runs({COST: [1.0]}, 5)
    runs["satisfied_defector_share"] = 0.5 + effect + rng.normal(0, 0.05, len(runs))
    runs["mean_satisfaction"] = 0.7
    return runs, None


def _difference(common: bool) -> Callable[[np.random.Generator, float], tuple[pd.DataFrame, None]]:
    def make(rng: np.random.Generator, effect: float) -> tuple[pd.DataFrame, None]:
        runs = _runs({COST: [1.0, 8.0], OTHER: [0.0, 0.01, 0.02]}, 5, common=common)
        block = runs[OTHER].map({0.0: 0.0, 0.01: 0.05, 0.02: 0.15})  # the other factor moves the metric a lot
        seed_noise = rng.normal(0, 0.02, 5)[runs["replicate"]] if common else rng.normal(0, 0.02, len(runs))
        runs["share_C"] = 0.2 + block + effect * (runs[COST] == 8.0) + seed_noise + rng.normal(0, 0.01, len(runs))
        return runs, None

    return make


def _regression(rng: np.random.Generator, effect: float) -> tuple[pd.DataFrame, None]:
    runs = _runs({COST: [1.0, 4.0, 8.0], OTHER: [0.0, 0.02]}, 4)
    x, z = runs[COST] / 8.0, runs[OTHER] / 0.02
    runs["share_C"] = 0.2 + 0.05 * x + 0.1 * z + effect * x * z + rng.normal(0, 0.02 * (1 + z), len(runs))
    return runs, None


def _binomial_curves(
    runs: pd.DataFrame, logit: Callable[[pd.Series], np.ndarray], rng: np.random.Generator, slope_sd: float = 0.5
) -> pd.DataFrame:
    """Binomial stays and switchers per satisfaction bin; each run has its own intercept and slope noise."""
    rows = []
    for _, run in runs.iterrows():
        trials = rng.multinomial(20_000, MASS)
        p_switch = expit(-(logit(run) + rng.normal(0, 0.15) + rng.normal(0, slope_sd) * (MIDDLE - 0.5)))
        switchers = rng.binomial(trials, p_switch)
        rows.append(
            pd.DataFrame(
                {
                    "run_id": run["run_id"],
                    "satisfaction_low": EDGES[:-1],
                    "satisfaction_high": EDGES[1:],
                    "customer_periods": trials,
                    "switchers": switchers,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _moderation(rng: np.random.Generator, effect: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = _runs({COST: [1.0, 4.0, 8.0], OTHER: [0.0, 0.02]}, 4)
    z = (runs[COST] - 13.0 / 3.0) / runs[COST].std()
    runs["z"] = z

    def logit(run: pd.Series) -> np.ndarray:  # the other factor changes the slope; the moderator by `effect`
        slope = 5.0 - 100.0 * run[OTHER] + effect * run["z"]
        return 2.0 + 0.3 * run["z"] + slope * (MIDDLE - 0.5)

    curves = _binomial_curves(runs, logit, rng)
    return runs.drop(columns="z"), curves


def _monotone(
    steps: tuple[float, float, float, float],
) -> Callable[[np.random.Generator, float], tuple[pd.DataFrame, pd.DataFrame]]:
    """Churn per band falls by ``steps`` (log odds); ``effect`` is added to every step."""

    def make(rng: np.random.Generator, effect: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        runs = _runs({COST: [1.0]}, 5)
        log_odds = np.concatenate([[-1.5], -1.5 - np.cumsum(np.array(steps) + effect)])
        band = np.minimum((MIDDLE * 5).astype(int), 4)
        return runs, _binomial_curves(runs, lambda run: -log_odds[band], rng, slope_sd=0.0)

    return make


def _intention(
    link: Callable[[np.ndarray], np.ndarray],
) -> Callable[[np.random.Generator, float], tuple[pd.DataFrame, pd.DataFrame]]:
    def make(rng: np.random.Generator, effect: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        runs = _runs({COST: [1.0]}, 8)
        rows = []
        for run_id in runs["run_id"]:
            s = np.clip(rng.beta(5, 2.5, 2000) + rng.normal(0, 0.01), 0, 1)
            answers = rng.binomial(10, np.clip(link(s), 0, 1)) / 10
            index = np.minimum((s * 20).astype(int), 19)
            frame = pd.DataFrame({"bin": index, "s": s, "y": answers}).groupby("bin")
            table = pd.DataFrame(
                {
                    "respondents": frame.size(),
                    "satisfaction_mean": frame["s"].mean(),
                    "intention_mean": frame["y"].mean(),
                    "intention_var": frame["y"].var(ddof=0),
                }
            ).reindex(range(20))
            table["respondents"] = table["respondents"].fillna(0).astype(int)
            table["run_id"] = run_id
            table["satisfaction_low"] = EDGES[:-1]
            table["satisfaction_high"] = EDGES[1:]
            rows.append(table.reset_index(drop=True))
        return runs, pd.concat(rows, ignore_index=True)

    return make


def _threshold_link(theta: float = 0.65, steepness: float = 12.0) -> Callable[[np.ndarray], np.ndarray]:
    low, high = expit(-steepness * theta), expit(steepness * (1 - theta))
    return lambda s: (expit(steepness * (s - theta)) - low) / (high - low)


def _covers(theta: float) -> Callable[[hypotheses.HypothesisResult], bool]:
    return lambda r: r.details["threshold_ci_low"] <= theta <= r.details["threshold_ci_high"]


def _significant(r: hypotheses.HypothesisResult) -> bool:
    return bool(r.p_value <= r.alpha)


DIFFERENCE = {"metric": "share_C", "factor": COST, "a": 1.0, "b": 8.0, "direction": "greater"}
REGRESSION = {
    "formula": "share_C ~ cost * variety",
    "coefficient": "cost:variety",
    "aliases": {"cost": COST, "variety": OTHER},
    "direction": "greater",
}

SCENARIOS: dict[str, Scenario] = {
    "satisfaction_trap/null": Scenario("satisfaction_trap", {}, _trap, 0.0, True, "share = level (0.5) exactly"),
    "satisfaction_trap/power": Scenario("satisfaction_trap", {}, _trap, 0.06, False, "share = level + 0.06 (1.2 sd), 5 runs"),
    "difference/null": Scenario(
        "difference", DIFFERENCE, _difference(False), 0.0, True, "no effect; the other factor moves the metric"
    ),
    "difference/power": Scenario(
        "difference", DIFFERENCE, _difference(False), 0.015, False, "effect 0.015 (0.7 sd), 3 blocks × 5 runs"
    ),
    "difference/null, common seeds": Scenario(
        "difference", DIFFERENCE, _difference(True), 0.0, True, "as above, seeds common: paired by seed"
    ),
    "difference/power, common seeds": Scenario(
        "difference", DIFFERENCE, _difference(True), 0.015, False, "effect 0.015, seed noise shared and paired out"
    ),
    "moderation/null": Scenario(
        "moderation",
        {"moderator": COST, "min_effect": 0.0},
        _moderation,
        0.0,
        True,
        "no interaction; the other factor changes the slope",
    ),
    "moderation/power": Scenario(
        "moderation",
        {"moderator": COST, "min_effect": 0.0},
        _moderation,
        -0.5,
        False,
        "slope falls by 0.5 per sd, 24 runs",
    ),
    "monotone_defection/null": Scenario(
        "monotone_defection",
        {},
        _monotone((0.8, 0.8, 0.0, 0.8)),
        0.0,
        True,
        "one flat step among falling ones (least favourable)",
    ),
    "monotone_defection/power": Scenario(
        "monotone_defection",
        {},
        _monotone((0.3, 0.3, 0.3, 0.3)),
        0.0,
        False,
        "every step falls by 0.3 log odds, 5 runs",
    ),
    "nonlinear_link/null": Scenario(
        "nonlinear_link", {}, _intention(lambda s: s), 0.0, True, "linear link: threshold reported", None
    ),
    "nonlinear_link/null, linearity p ≤ alpha": Scenario(
        "nonlinear_link",
        {},
        _intention(lambda s: s),
        0.0,
        True,
        "linear link: the linearity test rejects",
        _significant,
    ),
    "nonlinear_link/power": Scenario(
        "nonlinear_link", {}, _intention(_threshold_link()), 0.0, False, "threshold link θ = 0.65, steepness 12, 8 runs"
    ),
    "nonlinear_link/θ covered": Scenario(
        "nonlinear_link",
        {},
        _intention(_threshold_link()),
        0.0,
        False,
        "τ's 95% interval covers θ = 0.65",
        _covers(0.65),
    ),
    "regression/null": Scenario("regression", REGRESSION, _regression, 0.0, True, "no interaction; heteroskedastic noise"),
    "regression/power": Scenario("regression", REGRESSION, _regression, 0.06, False, "interaction 0.06, 24 runs"),
}
"""Simulated sweeps per test: ``<test>/null`` scenarios have no effect by construction."""
