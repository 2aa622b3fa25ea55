"""The validation scorecard from start to written results: run the validation scenarios, measure the facts.

Each scenario is a shipped preset (or the baseline with a documented change), run for ``replicates``
seeds through the sweep engine's executors. Replicate r of every scenario uses the same seed
(common random numbers), so comparisons between scenarios (barriers, captive markets) are paired.
:func:`run_validation` then measures every fact of :data:`~loyaltysim.analysis.validation.FACTS` and writes
``scorecard.parquet``, ``runs.parquet``, ``validation.md`` and ``validation.html``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from loyaltysim.analysis.validation import FACTS, Runs, scorecard
from loyaltysim.config.loading import SHIPPED_CONFIGS, load_config, validate_config
from loyaltysim.experiments.execution import execute, process_pool, resolve_executor
from loyaltysim.experiments.spec import Experiment, RunSpec, derive_seed
from loyaltysim.experiments.storage import new_output_dir, staged_output, write_json, write_parquet
from loyaltysim.reporting.validation_report import write_validation_report

__all__ = ["REPLICATES", "SCENARIOS", "Scenario", "run_scenarios", "run_validation"]

REPLICATES = 8
"""Default replicates per scenario: about four minutes on two cores at the presets' sizes."""


@dataclass(frozen=True)
class Scenario:
    """A validation scenario: a shipped config file, changed by ``overrides`` (dotted paths)."""

    name: str
    file: str
    what: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def config(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The scenario's config as a plain dict, with the caller's ``overrides`` applied last."""
        return load_config(SHIPPED_CONFIGS / self.file, {**self.overrides, **(overrides or {})}).to_dict()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("baseline", "baseline.yaml", "an ordinary competitive market (configs/baseline.yaml)"),
    Scenario(
        "competitive", "fierce_competition.yaml", "eight similar firms, low switching costs (configs/fierce_competition.yaml)"
    ),
    Scenario(
        "captive",
        "near_monopoly.yaml",
        "an incumbent with four customers in five, one small rival, high switching costs (configs/near_monopoly.yaml)",
    ),
    Scenario(
        "low_barriers",
        "baseline.yaml",
        "the baseline with low switching costs (mean 0.5, sd 0.25 instead of 5 and 2.5)",
        {"customers.switching_cost.mean": 0.5, "customers.switching_cost.sd": 0.25},
    ),
)
"""The scenarios the facts of :data:`~loyaltysim.analysis.validation.FACTS` are measured on."""

_EXPERIMENT = Experiment(name="validation", timeseries={"every": 1})
"""What each run keeps: every summary metric and every period's market row (for the warm-up check)."""


def run_scenarios(
    scenarios: Sequence[Scenario] = SCENARIOS,
    *,
    replicates: int = REPLICATES,
    seed: int = 42,
    overrides: Mapping[str, Any] | None = None,
    executor: str | Executor = "process",
    workers: int | None = None,
) -> dict[str, Runs]:
    """Run every scenario ``replicates`` times; replicate r uses the same seed in every scenario.

    Raises
    ------
    RuntimeError
        If a run fails (the scorecard is measured on complete sets of replicates only).
    """
    choice, workers = resolve_executor(executor, workers, None)
    pool = process_pool(workers) if choice == "process" else None
    specs = [RunSpec(rep, 0, rep, derive_seed(seed, 0, rep), {}) for rep in range(replicates)]
    results = {}
    try:
        for scenario in scenarios:
            base = scenario.config(overrides)
            tables: dict[str, list[pd.DataFrame]] = {"runs": [], "failures": [], "timeseries": []}
            for batch in execute(base, specs, _EXPERIMENT, executor=pool or choice, workers=workers):
                for name, frames in tables.items():
                    if len(batch[name]):
                        frames.append(batch[name])
            if tables["failures"]:
                failure = pd.concat(tables["failures"]).iloc[0]
                raise RuntimeError(f"scenario {scenario.name}: run {failure['run_id']} failed: {failure['error']}")
            runs = pd.concat(tables["runs"], ignore_index=True).sort_values("run_id", ignore_index=True)
            results[scenario.name] = Runs(
                runs, pd.concat(tables["timeseries"], ignore_index=True), validate_config(base, source=scenario.file)
            )
    finally:
        if pool is not None:
            pool.shutdown()
    return results


def run_validation(
    out: str | Path | None = None,
    *,
    replicates: int = REPLICATES,
    seed: int = 42,
    overrides: Mapping[str, Any] | None = None,
    executor: str = "process",
    workers: int | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Run the validation scenarios, measure every fact, write the scorecard and its report.

    Returns the scorecard (one row per fact, :func:`~loyaltysim.analysis.validation.scorecard`) and the
    results folder (default ``results/validation``, or ``validation-2``, … if taken).
    """
    clock = time.perf_counter()
    results = run_scenarios(replicates=replicates, seed=seed, overrides=overrides, executor=executor, workers=workers)
    card = scorecard(results, FACTS)
    folder = new_output_dir(out, name="validation")
    with staged_output(folder) as staging:
        write_parquet(card, staging / "scorecard.parquet")
        runs = pd.concat([r.runs.assign(scenario=name) for name, r in results.items()], ignore_index=True)
        write_parquet(runs, staging / "runs.parquet")
        settings = {"replicates": replicates, "seed": seed, "overrides": dict(overrides or {})}
        write_json({**settings, "seconds": round(time.perf_counter() - clock, 1)}, staging / "validation.json")
        write_validation_report(card, SCENARIOS, settings, staging)
    return card, folder
