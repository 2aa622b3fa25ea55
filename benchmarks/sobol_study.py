"""Wall time of a full Sobol' study: 8 factors, base N = 256, second order → 256 × 18 = 4,608 runs.

Each run: 1,000 customers × 100 periods of the baseline scenario (final time-series row
only). The study is one ``loyaltysim sensitivity`` call end to end (SALib sampling, the
sweep engine's process pool with checkpoints, SALib analysis, figures, report).

    python benchmarks/sobol_study.py [N] [WORKERS]     # default N = 256, 2 workers

Target: ≤ 60 s on 2 cores (issue 20). The baseline printed next to it is the serial
throughput of the same runs measured in this process (a few runs of the study's first
design points), so the ratio is the parallel speed-up obtained; machine load
(``uptime``) is printed before and after because other processes share the cores.
CPU time of this process and its workers is measured too: on a loaded machine,
CPU seconds / workers is what the study would take on otherwise idle cores.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FACTORS = yaml.safe_load((ROOT / "experiments" / "sensitivity_churn.yaml").read_text())["factors"]


def study_file(folder: Path, samples: int) -> Path:
    data = {
        "name": "sobol_benchmark",
        "base": str(ROOT / "configs" / "baseline.yaml"),
        "overrides": {"customers.n": 1000, "run.steps": 100, "run.panel_size": 0},
        "factors": FACTORS,
        "design": "sobol",
        "samples": samples,
        "second_order": True,
        "replicates": 1,
        "seed": 3,
        "timeseries": "final_only",
        "sensitivity": {"outputs": ["churn_rate", "satisfied_defector_share", "mean_satisfaction", "nps", "share_A"]},
    }
    path = folder / "sobol_benchmark.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def serial_rate(path: Path, runs: int = 16) -> float:
    """Runs per second of the study's first design points, one after another in this process."""
    from loyaltysim.analysis.sensitivity import load_study
    from loyaltysim.experiments.execution import run_one
    from loyaltysim.experiments.spec import plan_runs

    experiment = load_study(path)[0]
    base = experiment.base_config().to_dict()
    specs = plan_runs(experiment)[:runs]
    clock = time.perf_counter()
    for spec in specs:
        run_one(base, spec, experiment)
    return runs / (time.perf_counter() - clock)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished child processes (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    # imported here, not at the top: the pool's workers (spawned) import this script as their main module, and
    # should import what a worker of the `loyaltysim sensitivity` command does, not the analysis and figures
    from loyaltysim.workflows.sensitivity import run_study

    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print(f"{os.cpu_count()} cores; before: {uptime()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = study_file(Path(tmp), samples)
        baseline = serial_rate(path)
        cpu_before = _cpu_seconds()
        clock = time.perf_counter()
        result, _ = run_study(path, out=Path(tmp) / "out", workers=workers, progress=False)
        wall = time.perf_counter() - clock
        cpu = _cpu_seconds() - cpu_before
        runs = int(result.variance["points"].max())
    print(f"after: {uptime()}")
    rate = runs / wall
    print(f"Sobol' study: 8 factors, N = {samples}, {runs} runs of 1,000 customers × 100 periods, {workers} workers")
    print(f"wall time {wall:.1f} s ({wall / 60:.2f} min; target ≤ 60 s), {rate:.2f} runs/s")
    print(
        f"CPU time {cpu:.1f} s (this process and its workers) = {cpu / runs * 1000:.0f} ms per run; "
        f"CPU / {workers} workers = {cpu / workers / 60:.2f} min"
    )
    print(f"baseline serial in-process {baseline:.2f} runs/s → speed-up {rate / baseline:.2f}× with {workers} workers")
    print(result.ranking("churn_rate")[["factor", "value", "conf"]].head(3).to_string(index=False))


if __name__ == "__main__":
    main()
