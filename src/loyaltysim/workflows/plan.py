"""A dry run of a sweep: check the whole experiment file and describe its design, running and writing nothing.

``loyaltysim sweep EXPERIMENT --plan`` and ``loyaltysim validate EXPERIMENT`` print :func:`plan_sweep`'s
description: the factors, points, replicates and runs, and an estimate of the time from a short timed
probe (the first planned run, a few periods).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loyaltysim.config.loading import apply_overrides, validate_config
from loyaltysim.experiments.reporters import reporters
from loyaltysim.experiments.spec import Experiment, plan_runs, run_config, sample_design
from loyaltysim.workflows.sweep import load_checked

__all__ = ["SweepPlan", "plan_sweep"]

PROBE_PERIODS = 6
"""Periods of the timed probe run (after one untimed period, which compiles the kernels)."""


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep would run: its design and an estimate of the time."""

    experiment: Experiment
    points: int
    runs: int
    steps: int
    customers: int
    seconds_per_period: float
    workers: int

    @property
    def estimated_seconds(self) -> float:
        """Runs × periods × the probe's seconds per period, shared by the workers (start-up not included)."""
        return self.runs * self.steps * self.seconds_per_period / self.workers

    def describe(self, source: str | Path) -> str:
        """The plan as a few lines of text."""
        e = self.experiment
        lines = [f"{source}: valid experiment {e.name!r} (nothing was run or written)"]
        for name, factor in e.factors.items():
            paths = f" → {', '.join(factor.paths)}" if factor.paths else ""
            lines.append(f"  factor {name}{paths}: {factor.describe()}")
        for path, expression in e.derived.items():
            lines.append(f"  derived {path} = {expression}")
        for name, outcome in e.outcomes.items():
            lines.append(f"  outcome {name}: {outcome.function} (per {outcome.per})")
        lines.append(f"  hypotheses: {len(e.hypotheses)}")
        size = f", samples {e.samples}" if e.samples else ""
        lines.append(
            f"  design {e.design}{size}: {self.points} points × {e.replicates} replicates = {self.runs} runs "
            f"of {self.steps} periods × {self.customers} customers"
        )
        lines.append(
            f"  estimated time: {_duration(self.estimated_seconds)} on {self.workers} workers "
            f"({self.seconds_per_period * 1e3:.2f} ms per period, timed on a {PROBE_PERIODS}-period probe run)"
        )
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {math.ceil(seconds)} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def _probe_seconds_per_period(experiment: Experiment, base: Mapping[str, Any], spec: Any) -> float:
    """Seconds per period of the first planned run (a short run: one untimed period, then the timed ones)."""
    from loyaltysim.model.loyalty_model import LoyaltyModel

    config = run_config(base, spec).to_dict()
    short = validate_config(apply_overrides(config, {"run.steps": PROBE_PERIODS + 1, "run.panel_size": 0}))
    model = LoyaltyModel(short, reporters=reporters(experiment.outcomes))
    model.step()
    clock = time.perf_counter()
    model.run()
    return (time.perf_counter() - clock) / PROBE_PERIODS


def plan_sweep(
    experiment: str | Path | Experiment, overrides: Mapping[str, Any] | None = None, *, workers: int | None = None
) -> SweepPlan:
    """Check an experiment completely (factors, linked and derived values, outcomes, hypotheses, report options)
    and plan its runs, without running the sweep or writing anything.

    Raises
    ------
    ConfigError
        Whatever :func:`~loyaltysim.workflows.sweep.sweep` would refuse before its first run.
    """
    checked = load_checked(experiment, overrides)
    specs = plan_runs(checked, sample_design(checked))
    base = checked.base_config().to_dict()
    first = run_config(base, specs[0])
    return SweepPlan(
        experiment=checked,
        points=len({spec.point_id for spec in specs}),
        runs=len(specs),
        steps=first.run.steps,
        customers=first.customers.n,
        seconds_per_period=_probe_seconds_per_period(checked, base, specs[0]),
        workers=workers or os.cpu_count() or 1,
    )
