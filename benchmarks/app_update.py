"""Server-side cost of one visible update of the teaching app, at 2,000 customers.

One update = ``model.step()`` (with its snapshot) + redrawing every view's animated artists over its
cached background + encoding it as PNG (exactly what the page does per step). Prints the median wall and CPU time of each
part over several steps, the whole update, and its ratio to a bare model step and to
an empty matplotlib figure saved with ``savefig`` (what a view would cost at least
if it were rebuilt each step), measured in the same run.

    .venv/bin/python benchmarks/app_update.py [--customers 2000] [--steps 30] [--config configs/baseline.yaml]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

from matplotlib.figure import Figure

from loyaltysim.app import views
from loyaltysim.app.factory import TeachingModel


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--config", default="configs/baseline.yaml")
    args = parser.parse_args()

    model = TeachingModel(config_path=args.config, n_customers=args.customers)
    first_build = timed(lambda: [views.view_png(model, name) for name in views.VIEW_CLASSES])
    for _ in range(args.warmup):
        model.step()
        for name in views.VIEW_CLASSES:
            views.view_png(model, name)
    parts: dict[str, list[tuple[float, float]]] = {
        "model.step": [],
        **{name: [] for name in views.VIEW_CLASSES},
        "update": [],
        "empty_figure": [],
    }
    for _ in range(args.steps):
        wall, cpu = timed(model.step)
        parts["model.step"].append((wall, cpu))
        total_wall, total_cpu = wall, cpu
        for name in views.VIEW_CLASSES:
            wall, cpu = timed(lambda name=name: views.view_png(model, name))
            parts[name].append((wall, cpu))
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        parts["update"].append((total_wall, total_cpu))
        parts["empty_figure"].append(timed(lambda: png(Figure(figsize=views.FIGSIZE, dpi=views.DPI))))

    print(f"{args.customers} customers, {args.steps} steps after {args.warmup} warm-up; load average {os.getloadavg()[0]:.2f}")
    print(f"first draw of the views (once per model): {first_build[0] * 1000:.0f} ms wall, {first_build[1] * 1000:.0f} ms CPU")
    print(f"{'part':<22}{'wall ms':>10}{'CPU ms':>10}   (medians)")
    medians = {}
    for name, samples in parts.items():
        wall = statistics.median(w for w, _ in samples) * 1000
        cpu = statistics.median(c for _, c in samples) * 1000
        medians[name] = (wall, cpu)
        print(f"{name:<22}{wall:>10.1f}{cpu:>10.1f}")
    update, step, empty = medians["update"], medians["model.step"], medians["empty_figure"]
    print(f"update / model.step: {update[1] / step[1]:.1f}× CPU; update / empty figure: {update[1] / empty[1]:.1f}× CPU")
    print(f"update ≤ 200 ms: {'yes' if update[0] <= 200 else 'no'} (wall), {'yes' if update[1] <= 200 else 'no'} (CPU)")


if __name__ == "__main__":
    main()
