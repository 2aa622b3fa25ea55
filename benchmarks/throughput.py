"""Throughput: customer-steps per second of the engine vs a per-agent Mesa implementation.

    python benchmarks/throughput.py [--customers 100000] [--steps 20] [--mesa-steps 2]

Workload: baseline scenario (5 firms, Watts–Strogatz mean degree 10, word of mouth on). Both
models are built first (not timed) and stepped once to warm up; then the timed steps run. The
engine is measured with every kernel available (numba, numpy) and the Mesa baseline
(``benchmarks/mesa_per_agent.py``) in the same run. Wall time and the process's CPU time are
both reported: on a shared machine, wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load, workload
from mesa_per_agent import MesaMarket

from loyaltysim import LoyaltyModel, engine


def timed_steps(model, steps: int) -> tuple[float, float]:
    """Wall and CPU seconds for ``steps`` steps (after one warm-up step)."""
    model.step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--mesa-steps", type=int, default=2)
    args = parser.parse_args()
    n = args.customers
    print(f"workload: baseline, {n:,} customers, Watts–Strogatz degree 10, word of mouth on")
    print(f"before: {load()}")
    rows = []
    for kernel in engine.KERNELS:
        engine.KERNEL = kernel
        model = LoyaltyModel(workload(n, steps=args.steps + 10))
        wall, cpu = timed_steps(model, args.steps)
        rows.append((f"loyaltysim engine ({kernel})", args.steps, wall, cpu))
    mesa_model = MesaMarket(workload(n), seed=1)
    wall, cpu = timed_steps(mesa_model, args.mesa_steps)
    rows.append(("Mesa, one Agent per customer", args.mesa_steps, wall, cpu))
    print(f"after:  {load()}")
    print(f"\n{'implementation':<32} {'steps':>5} {'s/step':>9} {'customer-steps/s (wall)':>24} {'(CPU)':>12}")
    rates = {}
    for name, steps, wall, cpu in rows:
        rates[name] = (n * steps / wall, n * steps / cpu)
        print(f"{name:<32} {steps:>5} {wall / steps:>9.4f} {rates[name][0]:>24,.0f} {rates[name][1]:>12,.0f}")
    mesa_wall, mesa_cpu = rates["Mesa, one Agent per customer"]
    for name, (wall_rate, cpu_rate) in rates.items():
        if name.startswith("loyaltysim"):
            print(f"{name}: {wall_rate / mesa_wall:,.0f}× the Mesa implementation (wall), {cpu_rate / mesa_cpu:,.0f}× (CPU)")


if __name__ == "__main__":
    main()
