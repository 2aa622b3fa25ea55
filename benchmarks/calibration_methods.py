"""Bayesian calibration methods checked on known truths: coverage, and the budget for equal accuracy.

    python benchmarks/calibration_methods.py coverage [--repetitions 50] [--methods abc abc-smc npe]
    python benchmarks/calibration_methods.py budget [--truths 5] [--accuracy 0.25] [--methods abc abc-smc npe]

Both use the known-truth simulator (:class:`loyaltysim.analysis.inference.known_truth.LinearGaussianEvaluator`)
through :func:`loyaltysim.analysis.calibration.calibrate`, exactly as a real calibration runs: three
parameters, two of them identified by the targets and one that changes nothing (the identifiability
report must name it). Its exact posterior is known, so:

``coverage``
    For each method, ``--repetitions`` synthetic truths drawn from the prior, one simulated target
    vector each; the share of 90% intervals that cover the truth (at a true 90%, 50 repetitions
    give 82–96% with 90% probability), the mean interval width next to the exact posterior's, and
    how often the identifiability report calls each parameter identified. NPE is trained once and
    reused for every truth (it is amortised); its held-out SBC coverage is printed too.
``budget``
    Simulations and wall time each method needs to reach the same accuracy: the mean (over
    parameters and ``--truths`` truths) Wasserstein-1 distance between its marginals and the exact
    posterior's, in units of the exact posterior sd. Budgets grow until the accuracy is reached.
    NPE is trained once per budget and asked about every truth (the training does not depend on
    the targets); its training time counts in full as the cost of one calibration.
    Wall time = the algorithm's own time (measured) + simulations × the wall time of one run of
    the model at the Kotler calibration's size (measured in the same process), i.e. what the
    method would cost on the real model, serially.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import wasserstein_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load

from loyaltysim import LoyaltyModel, load_config
from loyaltysim.analysis.calibration import calibrate, load_calibration
from loyaltysim.analysis.inference.known_truth import LinearGaussianEvaluator

NAMES = ["switching.loyalty_weight", "customers.switching_cost.mean", "satisfaction.memory"]
BOUNDS = {NAMES[0]: (0.0, 12.0), NAMES[1]: (1.0, 10.0), NAMES[2]: (0.3, 0.9)}
TOY = LinearGaussianEvaluator(NAMES, ["mean_satisfaction", "nps"], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], noise=[1.0, 0.8])
TOY_2D = LinearGaussianEvaluator(NAMES[:2], ["mean_satisfaction", "nps"], [[1.0, 0.0], [0.0, 1.0]], noise=[1.0, 0.8])
"""The identified part of the toy: its exact posterior is the reference for the accuracy."""
LOW = np.array([b[0] for b in BOUNDS.values()])
HIGH = np.array([b[1] for b in BOUNDS.values()])
FULL = {
    "abc": {"abc": {"samples": 4096, "accept": 0.025, "batch_size": 1024}},
    "abc-smc": {"abc_smc": {"population": 200, "generations": 6, "batch_size": 200}},
    "npe": {"npe": {"simulations": 2000, "batch_size": 1000, "validation": 0.1, "sbc_samples": 500}},
}


def truth_and_targets(rep: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(50_000 + rep)
    truth = LOW + rng.random(3) * (HIGH - LOW)
    return truth, TOY.simulate(truth[None, :], [int(rng.integers(2**31))])[0]


def run(folder: Path, method: str, rep: int, observed: np.ndarray, settings: dict, **extra: object):
    path = TOY.calibration_file(
        folder / f"{method}_{rep}.yaml", base=ROOT / "configs" / "baseline.yaml", bounds=BOUNDS, observed=observed,
        seed=rep, method=method, **settings, **extra,
    )  # fmt: skip
    return calibrate(load_calibration(path), evaluator=TOY)


def exact_width() -> np.ndarray:
    return 2 * 1.645 * TOY.sd


def coverage(repetitions: int, methods: list[str]) -> None:
    print(f"coverage of 90% intervals, {repetitions} synthetic truths per method ({load()})")
    print("method | covered (loyalty_weight, switching_cost, memory) | width / exact | identified as such | sims/rep | s/rep")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for method in methods:
            hits, widths, flags, sims, times = [], [], [], [], []
            trained = None
            for rep in range(repetitions):
                truth, observed = truth_and_targets(rep)
                start = time.perf_counter()
                if method == "npe" and trained is not None:
                    draws = trained.amortised.sample(observed, 4000, seed=rep)
                    order = [trained.amortised.box.names.index(n) for n in NAMES]
                    low, high = np.quantile(draws[:, order], [0.05, 0.95], axis=0)
                    flags.append(flags[0])
                else:
                    result = run(folder, method, rep, observed, FULL[method])
                    table = result.intervals.set_index("parameter").loc[NAMES]
                    low, high = table["low"].to_numpy(), table["high"].to_numpy()
                    found = result.checks["identifiability"]["parameters"].set_index("parameter").loc[NAMES, "identified"]
                    flags.append(found.to_numpy())
                    sims.append(result.details.get("simulated_points", result.details["points"]))
                    trained = result if method == "npe" else None
                times.append(time.perf_counter() - start)
                hits.append((low <= truth) & (truth <= high))
                widths.append((high - low)[:2] / exact_width())
            cov = np.mean(hits, axis=0)
            print(
                f"{method:8} | {cov[0]:.2f}, {cov[1]:.2f}, {cov[2]:.2f} | {np.mean(widths, axis=0)[0]:.2f}, "
                f"{np.mean(widths, axis=0)[1]:.2f} | {np.mean(flags, axis=0).round(2).tolist()} | "
                f"{statistics.median(sims):.0f} | {statistics.median(times):.2f}"
            )
            if method == "npe":
                sbc = trained.tables["coverage"].query("level == 0.9")
                held_out = dict(zip(sbc["parameter"], sbc["coverage"].round(3), strict=True))
                print(f"  npe held-out SBC coverage at 0.9: {held_out}")
                print(
                    f"  npe: one training of {sims[0]} simulations ({times[0]:.1f} s), then {repetitions - 1} truths reusing it"
                )


def model_run_seconds(rounds: int = 3) -> float:
    """Median wall time of one run at the Kotler calibration's size (1,000 customers, 96 months), warm process."""
    config = load_config(ROOT / "configs" / "baseline.yaml", {"customers.n": 1000, "run.steps": 96, "run.panel_size": 0})
    LoyaltyModel(config).run()  # compile / warm up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        LoyaltyModel(config).run().summary()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def accuracy(samples: np.ndarray, weights: np.ndarray, observed: np.ndarray, rng: np.random.Generator) -> float:
    """Mean W1 distance of the identified parameters' marginals to the exact posterior, in exact-posterior sds."""
    reference = TOY_2D.exact_posterior(observed, LOW[:2], HIGH[:2], 1, 20_000, rng)
    return float(
        np.mean(
            [wasserstein_distance(samples[:, j], reference[:, j], u_weights=weights) / reference[:, j].std() for j in range(2)]
        )
    )


LADDERS = {
    "abc": [{"abc": {"samples": n, "accept": 100 / n, "batch_size": 1024}} for n in (512, 1024, 2048, 4096, 8192, 16384)],
    "abc-smc": [{"abc_smc": {"population": 100, "generations": g, "batch_size": 100}} for g in (2, 3, 4, 5, 6, 8, 10)],
    "npe": [{"npe": {"simulations": n, "batch_size": 500, "sbc_samples": 100}} for n in (100, 200, 400, 800, 1600, 3200)],
}


def budget(truths: int, target: float, methods: list[str]) -> None:
    per_run = model_run_seconds()
    print(f"budget for equal accuracy (mean W1 / exact sd ≤ {target}, {truths} truths; {load()})")
    print(f"one model run (1,000 customers × 96 months, warm, serial): {per_run:.3f} s (median of 3)")
    print("method   | budget setting | accuracy | simulations | algorithm s | projected serial wall time on the model")
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            for settings in LADDERS[method]:
                errors, sims, seconds = [], [], []
                trained = None
                for rep in range(truths):
                    _, observed = truth_and_targets(rep)
                    if trained is not None:  # npe: one training serves every truth (its cost per calibration is counted once)
                        draws = trained.amortised.sample(observed, 4000, seed=rep)
                        order = [trained.amortised.box.names.index(n) for n in NAMES[:2]]
                        errors.append(accuracy(draws[:, order], None, observed, np.random.default_rng(rep)))
                        continue
                    start = time.perf_counter()
                    result = run(Path(tmp), method, rep, observed, settings)
                    seconds.append(time.perf_counter() - start)
                    sample = result.posterior[NAMES[:2]].to_numpy()
                    weights = result.posterior["weight"].to_numpy() if "weight" in result.posterior else None
                    errors.append(accuracy(sample, weights, observed, np.random.default_rng(rep)))
                    sims.append(result.details.get("simulated_points", result.details["points"]))
                    trained = result if method == "npe" else None
                reached = statistics.mean(errors) <= target
                mean_sims, mean_s = statistics.mean(sims), statistics.mean(seconds)
                print(
                    f"{method:8} | {settings} | {statistics.mean(errors):.3f} | {mean_sims:.0f} | {mean_s:.1f} | "
                    f"{(mean_s + mean_sims * per_run) / 60:.1f} min{'  ← reached' if reached else ''}"
                )
                if reached:
                    break
            else:
                print(f"{method:8} | not reached within its ladder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("coverage")
    c.add_argument("--repetitions", type=int, default=50)
    c.add_argument("--methods", nargs="+", default=list(FULL), choices=list(FULL))
    b = sub.add_parser("budget")
    b.add_argument("--truths", type=int, default=5)
    b.add_argument("--accuracy", type=float, default=0.25)
    b.add_argument("--methods", nargs="+", default=list(LADDERS), choices=list(LADDERS))
    args = parser.parse_args()
    if args.what == "coverage":
        coverage(args.repetitions, args.methods)
    else:
        budget(args.truths, args.accuracy, args.methods)


if __name__ == "__main__":
    main()
