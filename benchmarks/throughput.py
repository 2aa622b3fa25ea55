"""Throughput: customer-steps per second of the engine vs a per-agent Mesa implementation.

    python benchmarks/throughput.py [--customers 100000] [--rounds 7] [--steps 30] [--mesa-steps 1]

Workload: baseline scenario (5 firms, Watts–Strogatz mean degree 10, word of mouth on). All models
are built first (not timed) and stepped once to warm up. Then the measurement runs in rounds; each
round times ``--steps`` steps of the engine and ``--mesa-steps`` steps of the
Mesa baseline (``benchmarks/mesa_per_agent.py``), back to back, so each round's ratio compares runs
made under the same machine load. The table gives the best and the median round: on a shared machine
the best round is the closest to the code's own speed, the median what a user typically gets. Wall
time and the process's CPU time (all threads) are both reported.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load, workload
from mesa_per_agent import MesaMarket

from loyaltysim import LoyaltyModel
from loyaltysim.model import kernels

ENGINE = "loyaltysim engine"
MESA = "Mesa, one Agent per customer"


def timed_steps(model, steps: int) -> tuple[float, float]:
    """Wall and CPU seconds for ``steps`` steps, with the cyclic garbage collector paused (as ``timeit``
    does: otherwise collections triggered by one model scan the other models' objects too)."""
    gc.collect()
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            model.step()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=30, help="engine steps per round")
    parser.add_argument("--mesa-steps", type=int, default=1, help="Mesa steps per round")
    args = parser.parse_args()
    n = args.customers
    print(f"workload: baseline, {n:,} customers, Watts–Strogatz degree 10, word of mouth on")
    rounds = f"{args.rounds} rounds of {args.steps} engine steps, {args.mesa_steps} Mesa step(s)"
    print(f"engine threads: {kernels.threads()}; {rounds}; garbage collector off while timing (as timeit does)")
    print(f"before: {load()}")
    steps_needed = 1 + args.rounds * args.steps
    models = {ENGINE: LoyaltyModel(workload(n, steps=steps_needed)), MESA: MesaMarket(workload(n), seed=1)}
    for model in models.values():  # warm-up (compiles or loads the kernels)
        model.step()
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            steps = args.mesa_steps if name == MESA else args.steps
            wall, cpu = timed_steps(model, steps)
            rates[name].append((n * steps / wall, n * steps / cpu))
    print(f"after:  {load()}")
    header = f"{'best: s/step':>12} {'customer-steps/s':>17} {'median: s/step':>15} {'customer-steps/s':>17} {'CPU (median)':>13}"
    print(f"\n{'implementation':<30} {header}")
    for name, measured in rates.items():
        walls = [wall for wall, _ in measured]
        best, median = max(walls), statistics.median(walls)
        cpu = statistics.median(c for _, c in measured)
        print(f"{name:<30} {n / best:>12.4f} {best:>17,.0f} {n / median:>15.4f} {median:>17,.0f} {cpu:>13,.0f}")
    ratios = [engine / mesa for (engine, _), (mesa, _) in zip(rates[ENGINE], rates[MESA], strict=True)]
    spread = f"range {min(ratios):,.0f}–{max(ratios):,.0f}×"
    print(f"{ENGINE}: {statistics.median(ratios):,.0f}× the Mesa implementation (median of the rounds' ratios; {spread})")


if __name__ == "__main__":
    main()
