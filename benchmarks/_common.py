"""Shared helpers of the benchmarks: the workload, machine load and peak memory."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from loyaltysim import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def workload(n: int, *, degree: int = 10, steps: int = 100) -> Config:
    """The benchmark scenario: baseline (5 firms, Watts–Strogatz, word of mouth on), ``n`` customers."""
    return load_config(
        ROOT / "configs" / "baseline.yaml",
        {"customers.n": n, "network.degree": degree, "run.steps": steps, "run.panel_size": 0},
    )


def load() -> str:
    """The machine's load averages (1, 5, 15 min) and core count, for the record."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
