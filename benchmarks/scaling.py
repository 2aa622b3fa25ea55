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
    from loyaltysim import LoyaltyModel

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


def linear_fit(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Least-squares ``y ≈ a + b·x``: returns a, b and R²."""
    import numpy as np

    b, a = np.polyfit(x, y, 1)
    residual = np.asarray(y) - (a + b * np.asarray(x))
    r2 = 1.0 - float(residual @ residual) / float(np.sum((np.asarray(y) - np.mean(y)) ** 2))
    return float(a), float(b), r2


def power_fit(x: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares ``log y ≈ log c + α·log x``: returns c and the exponent α (1 = linear)."""
    import numpy as np

    alpha, log_c = np.polyfit(np.log(x), np.log(y), 1)
    return float(np.exp(log_c)), float(alpha)


def figure(by_customers: list[dict], by_degree: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 7), constrained_layout=True)
    n, on_n = [p["customers"] for p in by_customers], "customers (mean degree 10)"
    e, on_e = [p["edges"] for p in by_degree], "edges (100,000 customers, degree 2–40)"
    series = [
        (axes[0, 0], n, [p["step_s"] for p in by_customers], on_n, "time per step (s)"),
        (axes[0, 1], n, [p["peak_rss_mb"] / 1024 for p in by_customers], on_n, "peak memory (GB)"),
        (axes[1, 0], e, [p["step_s"] for p in by_degree], on_e, "time per step (s)"),
        (axes[1, 1], e, [p["peak_rss_mb"] / 1024 for p in by_degree], on_e, "peak memory (GB)"),
    ]
    for ax, x, y, xlabel, ylabel in series:
        ax.plot(x, y, "o", color="#0072B2", label="measured")
        if ax is axes[0, 0]:
            c, alpha = power_fit(x, y)
            ax.plot(x, [c * xi**alpha for xi in x], "--", color="#555555", label=f"power fit c·x^α, α = {alpha:.2f}")
        else:
            a, b, r2 = linear_fit(x, y)
            ax.plot(x, [a + b * xi for xi in x], "--", color="#555555", label=f"linear fit a + b·x (R² = {r2:.3f})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
    for ax in axes[1]:
        ax.set_ylim(bottom=0)
    fig.suptitle("loyaltysim: time per step and peak memory (baseline workload, one fresh process per point)")
    fig.savefig(path, dpi=120)


def report_fits(by_customers: list[dict], by_degree: list[dict]) -> None:
    for label, points, key in (("customers", by_customers, "customers"), ("edges", by_degree, "edges")):
        x = [p[key] for p in points]
        if key == "customers":
            print(f"time per step ∝ customers^{power_fit(x, [p['step_s'] for p in points])[1]:.2f} (1 = linear)")
        a, b, r2 = linear_fit(x, [p["step_s"] for p in points])
        print(f"time per step ≈ {a:.4f} s + {b * 1e9:.1f} ns × {label}   (R² = {r2:.3f})")
        a, b, r2 = linear_fit(x, [p["peak_rss_mb"] for p in points])
        print(f"peak memory   ≈ {a:.0f} MB + {b * 1e6:.1f} MB per million {label}   (R² = {r2:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", nargs=3, type=int, metavar=("CUSTOMERS", "DEGREE", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--max-customers", type=int, default=10_000_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--degree-steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--replot", action="store_true", help="redraw the figure from OUT/scaling.json, measure nothing")
    args = parser.parse_args()
    if args.point:
        print(json.dumps(point(*args.point)))
        return
    if args.replot:
        saved = json.loads((args.out / "scaling.json").read_text())
        report_fits(saved["by_customers"], saved["by_degree"])
        figure(saved["by_customers"], saved["by_degree"], args.out / "scaling.png")
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
    report_fits(by_customers, by_degree)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(json.dumps({"by_customers": by_customers, "by_degree": by_degree}, indent=2))
    figure(by_customers, by_degree, args.out / "scaling.png")
    print(f"wrote {args.out / 'scaling.json'} and {args.out / 'scaling.png'}")


if __name__ == "__main__":
    main()
