"""Scaling and memory: time per step and peak memory against customers and mean degree.

    python benchmarks/scaling.py [--max-customers 10000000] [--steps 50] [--out benchmarks/results]

Every point runs in a fresh process (so its peak resident memory is its own): build the model
(network included), run ``--steps`` steps of the baseline workload, report build time, time per
step (after a warm-up step) and peak RSS. Two series: customers 10⁴ … ``--max-customers`` at mean
degree 10, and mean degree 2 … 40 at 100,000 customers. Prints a table, writes
``scaling.json`` and ``scaling.png`` (time and memory against N and degree).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, load, peak_rss_mb, workload

CUSTOMERS = (10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000)
DEGREES = (2, 4, 10, 20, 40)


def point(n: int, degree: int, steps: int) -> dict[str, float]:
    """Measure one point in this process."""
    from loyaltysim import LoyaltyModel, engine

    start = time.perf_counter()
    model = LoyaltyModel(workload(n, degree=degree, steps=steps + 1))
    built = time.perf_counter()
    model.step()
    warm = time.perf_counter()
    model.run(steps)
    done = time.perf_counter()
    return {
        "customers": n,
        "degree": degree,
        "edges": model.network.n_edges,
        "steps": steps,
        "kernel": engine.KERNEL,
        "build_s": built - start,
        "step_s": (done - warm) / steps,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure(n: int, degree: int, steps: int) -> dict[str, float]:
    """Measure one point in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--point", str(n), str(degree), str(steps)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def figure(by_customers: list[dict], by_degree: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 7), constrained_layout=True)
    n = [p["customers"] for p in by_customers]
    d = [p["degree"] for p in by_degree]
    series = [
        (axes[0, 0], n, [p["step_s"] for p in by_customers], "customers", "time per step (s)"),
        (axes[0, 1], n, [p["peak_rss_mb"] / 1024 for p in by_customers], "customers", "peak memory (GB)"),
        (axes[1, 0], d, [p["step_s"] for p in by_degree], "mean degree (100,000 customers)", "time per step (s)"),
        (axes[1, 1], d, [p["peak_rss_mb"] / 1024 for p in by_degree], "mean degree (100,000 customers)", "peak memory (GB)"),
    ]
    for ax, x, y, xlabel, ylabel in series:
        ax.plot(x, y, "o-", color="#0072B2", label="measured")
        ax.plot(x, [y[0] * xi / x[0] for xi in x], "--", color="#555555", label="linear from first point")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
    fig.suptitle("loyaltysim: time per step and peak memory (baseline workload)")
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", nargs=3, type=int, metavar=("CUSTOMERS", "DEGREE", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--max-customers", type=int, default=10_000_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--degree-steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.point:
        print(json.dumps(point(*args.point)))
        return
    print(f"before: {load()}")
    header = (
        f"{'customers':>11} {'degree':>6} {'edges':>11} {'build s':>8} {'s/step':>8} {'ns/customer-step':>17} {'peak RSS MB':>12}"
    )

    def show(p: dict) -> None:
        per = 1e9 * p["step_s"] / p["customers"]
        print(
            f"{p['customers']:>11,} {p['degree']:>6} {p['edges']:>11,} {p['build_s']:>8.2f} {p['step_s']:>8.4f} {per:>17.1f} "
            f"{p['peak_rss_mb']:>12,.0f}",
            flush=True,
        )

    print(header)
    by_customers = []
    for n in (n for n in CUSTOMERS if n <= args.max_customers):
        by_customers.append(measure(n, 10, args.steps))
        show(by_customers[-1])
    print(header)
    by_degree = []
    for degree in DEGREES:
        by_degree.append(measure(100_000, degree, args.degree_steps))
        show(by_degree[-1])
    print(f"after:  {load()}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(json.dumps({"by_customers": by_customers, "by_degree": by_degree}, indent=2))
    figure(by_customers, by_degree, args.out / "scaling.png")
    print(f"wrote {args.out / 'scaling.json'} and {args.out / 'scaling.png'}")


if __name__ == "__main__":
    main()
