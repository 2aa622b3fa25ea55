"""Small runs (the sweep regime): build + 100 steps of 1,000 customers, wall time per run.

    python benchmarks/small_runs.py [--customers 1000] [--steps 100] [--repeats 20]

Each run builds the model (network included) from its config and runs every step with all
metrics and Mesa's DataCollector, as a sweep does (``model.run()``: its periods in one compiled
call). The baseline, timed in the same process and rounds: the same runs stepped period by period
from Python (``model.step()`` in a loop, how every run executed before runs were compiled whole);
the ratio is printed. Runs happen in one warm process (a sweep worker runs many); the one-off cost
of a fresh process is reported separately: importing loyaltysim, compiling the rules and kernels the
very first time (empty numba cache, as after an edit of the model's source), and loading them from
the cache afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load, workload

from loyaltysim import LoyaltyModel

FIRST_RUN = """
import json, time
t0 = time.perf_counter()
from loyaltysim import LoyaltyModel, load_config
t1 = time.perf_counter()
LoyaltyModel(customers__n=1000, run__steps=1).run()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_run": t2 - t1}))
"""


def stepped(model: LoyaltyModel) -> None:
    """The baseline: every period stepped from Python."""
    while model.running:
        model.step()


WAYS = {"run() (compiled whole run)": LoyaltyModel.run, "step() per period (baseline)": stepped}


def fresh_process(cache: str) -> dict[str, float]:
    """Import time and first (1-step) run time in a new interpreter using numba cache folder ``cache``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", FIRST_RUN], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"before: {load()}")
    config = workload(args.customers, steps=args.steps)
    print(f"build + {args.steps} steps of {args.customers:,} customers (baseline, Watts–Strogatz degree 10), warm process:")
    LoyaltyModel(config).run()  # warm up (kernels loaded, caches filled)
    stepped(LoyaltyModel(config))
    times: dict[str, dict[str, list[float]]] = {way: {"wall": [], "cpu": [], "build": []} for way in WAYS}
    for _ in range(args.repeats):
        for way, advance in WAYS.items():
            start, cpu = time.perf_counter(), time.process_time()
            model = LoyaltyModel(config)
            built = time.perf_counter()
            advance(model)
            times[way]["wall"].append(time.perf_counter() - start)
            times[way]["cpu"].append(time.process_time() - cpu)
            times[way]["build"].append(built - start)
    for way, measured in times.items():
        walls, cpus = measured["wall"], measured["cpu"]
        print(
            f"  {way:28s} wall median {1e3 * statistics.median(walls):6.1f} ms, best {1e3 * min(walls):6.1f} ms; "
            f"CPU median {1e3 * statistics.median(cpus):6.1f} ms (build median "
            f"{1e3 * statistics.median(measured['build']):.1f} ms wall), {args.repeats} runs"
        )
    (fast, slow) = (statistics.median(times[way]["wall"]) for way in WAYS)
    (fast_cpu, slow_cpu) = (statistics.median(times[way]["cpu"]) for way in WAYS)
    print(f"  ratio compiled / stepped: wall {fast / slow:.2f}, CPU {fast_cpu / slow_cpu:.2f} (target ≤ 10 ms wall)")
    with tempfile.TemporaryDirectory() as cache:
        cold = fresh_process(cache)
        warm = fresh_process(cache)
    print("fresh process (import, then a 1-step run of 1,000 customers):")
    print(f"  empty numba cache: import {cold['import']:.2f} s, first run {cold['first_run']:.2f} s (compiles the kernels)")
    print(f"  filled cache:      import {warm['import']:.2f} s, first run {warm['first_run']:.2f} s (loads them)")
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
