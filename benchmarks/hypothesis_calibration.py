"""Size and power of the hypothesis tests, checked by simulation: the table in docs/hypotheses.md.

    python benchmarks/hypothesis_calibration.py [--reps 400] [--model-reps 100] [--seed 1] [--parts synthetic,inert,links]

Three parts, each printed as a Markdown table row per scenario:

1. **Synthetic sweeps** (:data:`loyaltysim.analysis.hypothesis_power.SCENARIOS`): for each test, tables
   where the effect is absent by construction (type I error: the share of "supported" must lie within
   the 99% binomial band of alpha = 0.05, or below it for the conservative tests) and where it has a known
   size (power).
2. **The model with an inert factor**: ``run.panel_size`` (0, 4 or 8) changes what is recorded, not what
   happens, so every difference, moderation and regression on it is a true null. Each replicate sweep has
   3 levels × 4 runs of 300 customers over 36 periods, independent seeds.
3. **The model's links**: 8 runs of 1,000 customers over 60 periods with the linear link (the negative
   control: a threshold reported is a type I error) and the threshold link (power, and how often τ's 95%
   interval covers the configured θ = 0.65).

Each hypothesis is evaluated alone (no multiplicity adjustment: the rates are per test). About 10
minutes on 2 cores with the defaults; ``--reps 100 --model-reps 30`` for a quick look.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load

from loyaltysim import LoyaltyModel
from loyaltysim.analysis import hypotheses
from loyaltysim.analysis.hypothesis_power import SCENARIOS, binomial_band, rejection_rate
from loyaltysim.experiments.survey import intention_bins

ALPHA = 0.05
INERT = "run.panel_size"
CLEAN = {
    "customers.switching_cost": 5.0,
    "customers.price_sensitivity": 0.3,
    "loyalty.trust_weight": 0.0,
    "loyalty.habit_weight": 0.0,
    "word_of_mouth.enabled": False,
    "switching.variety_seeking": 0.0,
}


def row(part: str, scenario: str, kind: str, rate: float, reps: int) -> str:
    low, high = binomial_band(reps, ALPHA)
    if kind == "size":
        band = f"[{low:.3f}, {high:.3f}]"
        verdict = "ok" if rate <= high else "TOO HIGH"
        if rate < low:
            verdict = "ok (conservative)"
    else:
        band, verdict = "", ""
    return f"| {part} | {scenario} | {kind} | {rate:.3f} | {reps} | {band} | {verdict} |"


def _model(overrides: dict, seed: int) -> LoyaltyModel:
    return LoyaltyModel(rng=seed, **{key.replace(".", "__"): value for key, value in overrides.items()}).run()


def inert_sweep(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """3 levels of an inert factor × 4 replicates, independent seeds: the runs and curves tables."""
    runs, curves = [], []
    for point, level in enumerate((0, 4, 8)):
        for replicate in range(4):
            seed = int(rng.integers(2**62))
            model = _model({"customers.n": 300, "run.steps": 36, INERT: level}, seed)
            run_id = point * 4 + replicate
            runs.append({"run_id": run_id, "point_id": point, "replicate": replicate, INERT: level, "seed": seed, "status": "ok"})
            runs[-1].update(model.summary())
            curves.append(model.totals.retention_curve().assign(run_id=run_id))
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)


def link_sweep(link: str, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs, curves = [], []
    for run_id in range(8):
        seed = int(rng.integers(2**62))
        model = _model({"customers.n": 1000, "run.steps": 60, "loyalty.link": link, **CLEAN}, seed)
        runs.append({"run_id": run_id, "status": "ok", **model.summary()})
        survey = intention_bins(model.customers(), seed)
        curves.append(model.totals.retention_curve().merge(survey, on="satisfaction_low").assign(run_id=run_id))
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)


INERT_TESTS: dict[str, tuple[str, dict]] = {
    "difference: churn_rate at 8 vs 0 (two-sided)": (
        "difference",
        {"metric": "churn_rate", "factor": INERT, "a": 0, "b": 8, "min_effect": 0.0},
    ),
    "difference: share_A at 8 vs 0 (greater)": (
        "difference",
        {"metric": "share_A", "factor": INERT, "a": 0, "b": 8, "direction": "greater", "min_effect": 0.0},
    ),
    "moderation: the inert factor weakens the slope": ("moderation", {"moderator": INERT, "min_effect": 0.0}),
    "regression: churn_rate ~ run_panel_size (two-sided)": (
        "regression",
        {"formula": "churn_rate ~ run_panel_size", "coefficient": "run_panel_size"},
    ),
}


def model_rates(reps: int, seed: int, make: Callable, tests: dict[str, tuple[str, dict, Callable | None]]) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(tests, 0)
    for _ in range(reps):
        runs, curves = make(rng)
        for name, (test, options, rejects) in tests.items():
            (result,) = hypotheses.TESTS[test](runs, curves, **options)
            hits[name] += rejects(result) if rejects else result.verdict == "supported"
    return {name: count / reps for name, count in hits.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400, help="simulated sweeps per synthetic scenario (400)")
    parser.add_argument("--model-reps", type=int, default=100, help="simulated sweeps of the model per scenario (100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--parts", default="synthetic,inert,links", help="which parts to run: synthetic, inert, links (default all)"
    )
    parser.add_argument("--only", default="", help="synthetic part: only the scenarios whose name contains this text")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    warnings.simplefilter("ignore")
    clock = time.perf_counter()
    print(f"# hypothesis calibration: alpha = {ALPHA}, 99% binomial band; {load()}")
    print("| data | scenario | checks | rate of 'supported' | sweeps | band (size) | |")
    print("|---|---|---|---:|---:|---|---|")
    for name, scenario in SCENARIOS.items() if "synthetic" in parts else ():
        if args.only not in name:
            continue
        kind = "size" if scenario.null else ("coverage of θ" if "covered" in name else "power")
        rate = rejection_rate(scenario, args.reps, seed=args.seed)
        label = f"`{scenario.test}`: {scenario.description}"
        if scenario.rejects is not None and "linearity" in name:
            label += " (rate of p ≤ alpha)"
        print(row("synthetic", label, kind, rate, args.reps), flush=True)
    inert = {name: (test, options, None) for name, (test, options) in INERT_TESTS.items()}
    if "inert" in parts:
        for name, rate in model_rates(args.model_reps, args.seed, inert_sweep, inert).items():
            print(row("model, inert factor", name, "size", rate, args.model_reps), flush=True)
    if "links" not in parts:
        print(f"\n{time.perf_counter() - clock:.0f} s")
        return

    def covers(result: hypotheses.HypothesisResult) -> bool:
        return result.details["threshold_ci_low"] <= 0.65 <= result.details["threshold_ci_high"]

    def linearity(result: hypotheses.HypothesisResult) -> bool:
        return result.p_value <= ALPHA

    linear = {
        "`nonlinear_link`, linear link: threshold reported": ("nonlinear_link", {}, None),
        "`nonlinear_link`, linear link: linearity rejected (p ≤ alpha)": ("nonlinear_link", {}, linearity),
    }
    for name, rate in model_rates(args.model_reps, args.seed, lambda rng: link_sweep("linear", rng), linear).items():
        print(row("model, linear link", name, "size", rate, args.model_reps), flush=True)
    threshold = {
        "`nonlinear_link`, threshold link θ = 0.65: threshold reported": ("nonlinear_link", {}, None),
        "`nonlinear_link`, threshold link: τ's 95% interval covers θ": ("nonlinear_link", {}, covers),
    }
    for name, rate in model_rates(args.model_reps, args.seed, lambda rng: link_sweep("threshold", rng), threshold).items():
        kind = "coverage of θ" if "covers" in name else "power"
        print(row("model, threshold link", name, kind, rate, args.model_reps), flush=True)
    print(f"\n{time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
