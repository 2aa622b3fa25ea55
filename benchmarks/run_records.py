"""What recording a sweep run costs beyond simulating it: read-back of the factors, the config hash, per-firm
metrics and rows, and a per-period outcome.

Times, in one process and alternating, (a) the bare run: ``LoyaltyModel(config).run()`` and its summary, time
series and retention curve, as a sweep recorded them before; (b) ``run_one`` of the sweep engine, which adds the
recording; (c) ``run_one`` with the shipped per-period outcome ``false_loyalty``. Prints the median of the rounds and
the ratio of each to (a), measured in the same run. The bare run leaves out the end-of-run survey and the
market-share pivot a sweep run made before this recording existed, so the ratio is an upper bound of its cost.
Measured on a shared 2-core machine (5 rounds, load 1.7): 85 ms bare, 127 ms run_one (1.49), 140 ms with
false_loyalty (1.65) for 1,000 customers × 100 periods.

    python benchmarks/run_records.py [CUSTOMERS] [ROUNDS]     # default 1000 customers, 7 rounds
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import load, workload

from loyaltysim import LoyaltyModel
from loyaltysim.experiments.execution import run_one
from loyaltysim.experiments.spec import Experiment, RunSpec, run_config

FALSE_LOYALTY = {"function": "loyaltysim.outcomes:false_loyalty", "per": "period"}


def bare(base: dict, spec: RunSpec) -> None:
    model = LoyaltyModel(run_config(base, spec)).run()
    model.summary()
    model.timeseries()
    model.totals.retention_curve()


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    base = workload(customers).to_dict()
    spec = RunSpec(0, 0, 0, base["run"]["seed"], {"switching.loyalty_weight": 3.0})
    plain = Experiment(name="plain", factors={"switching.loyalty_weight": [3.0]})
    with_outcome = Experiment(name="outcome", factors={"switching.loyalty_weight": [3.0]}, outcomes={"fl": FALSE_LOYALTY})
    cases = {
        "bare run": lambda: bare(base, spec),
        "run_one": lambda: run_one(base, spec, plain),
        "run_one + false_loyalty": lambda: run_one(base, spec, with_outcome),
    }
    for case in cases.values():  # compile and warm up
        case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            clock = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - clock)
    print(f"{customers} customers × 100 periods, 5 firms; {rounds} rounds, medians; {load()}")
    baseline = statistics.median(times["bare run"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:26s} {median * 1e3:8.1f} ms   ratio to the bare run {median / baseline:5.3f}")


if __name__ == "__main__":
    main()
