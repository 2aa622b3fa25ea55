"""Throughput of a large market on a machine whose cores are busy with other work: OpenMP's wait policy.

    python benchmarks/loaded_throughput.py [--customers 100000] [--rounds 5] [--steps 8]

Measures customer-steps per second of ``model.step()`` at ``--customers`` customers (baseline scenario),
each measurement in fresh processes (OpenMP reads its settings when numba starts its threads), with:

- the package's setting: ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep; ``loyaltysim.model.jit``),
- the baseline: ``OMP_WAIT_POLICY=ACTIVE`` (idle threads spin; OpenMP's usual behaviour),
- one thread (``NUMBA_NUM_THREADS=1``), for reference,

in three situations: an idle machine; two such runs at once, each with a thread per core (what a process
pool of parallel runs does to itself: twice as many threads as cores); one run beside a process that keeps
a core busy (a Python loop). Wall and CPU rates are medians over the rounds (summed over the runs at
once); the ratio passive / active is printed for each situation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load

MEASURE = """
import gc, statistics, sys, time
sys.path.insert(0, {here!r})
import numba
from _common import workload
from loyaltysim import LoyaltyModel
n, rounds, steps = {customers}, {rounds}, {steps}
model = LoyaltyModel(workload(n, steps=1 + rounds * steps))
model.step()
walls, cpus = [], []
for _ in range(rounds):
    gc.collect(); gc.disable()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    walls.append(n * steps / (time.perf_counter() - wall)); cpus.append(n * steps / (time.process_time() - cpu))
    gc.enable()
print(statistics.median(walls), statistics.median(cpus), numba.threading_layer(), numba.get_num_threads())
"""

PASSIVE, ACTIVE = "passive (the package's)", "active (baseline)"
SETTINGS = {
    PASSIVE: {"OMP_WAIT_POLICY": "PASSIVE"},
    ACTIVE: {"OMP_WAIT_POLICY": "ACTIVE"},
    "one thread": {"NUMBA_NUM_THREADS": "1"},
}


def measure(env: dict[str, str], args: argparse.Namespace, copies: int) -> tuple[float, float, str]:
    """Wall and CPU customer-steps per second of ``copies`` runs at once (summed), and how they ran."""
    here = str(Path(__file__).resolve().parent)
    code = MEASURE.format(here=here, customers=args.customers, rounds=args.rounds, steps=args.steps)
    runs = [
        subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
        for _ in range(copies)
    ]
    outputs = [run.communicate()[0].split() for run in runs]
    if any(run.returncode for run in runs):
        raise RuntimeError("a measuring process failed")
    wall, cpu = (sum(float(out[column]) for out in outputs) for column in (0, 1))
    return wall, cpu, f"{outputs[0][2]}, {outputs[0][3]} thread(s) each, {copies} run(s)"


def table(label: str, args: argparse.Namespace, copies: int = 1) -> dict[str, float]:
    print(f"\n{label} ({load()}):")
    rates = {}
    for name, env in SETTINGS.items():
        wall, cpu, how = measure(env, args, copies)
        rates[name] = wall
        print(f"  {name:<24} wall {wall / 1e6:6.2f} M customer-steps/s   CPU {cpu / 1e6:6.2f} M/s   ({how})")
    print(f"  passive / active: {rates[PASSIVE] / rates[ACTIVE]:.2f}×")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8, help="steps per round")
    args = parser.parse_args()
    print(f"{args.customers:,} customers, baseline scenario; {os.cpu_count()} cores")
    table("idle machine", args)
    table("two runs at once", args, copies=2)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        table("beside a busy process", args)
    finally:
        busy.kill()
        busy.wait()


if __name__ == "__main__":
    main()
