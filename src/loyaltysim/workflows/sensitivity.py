"""A sensitivity study of the model: an experiment file run through the sweep engine, then analysed with SALib.

The study file is an experiment file (see :mod:`loyaltysim.experiments.spec`) whose ``design``
is ``sobol``, ``morris`` or ``fast`` and whose factors are ranges or distributions (lists are
sampled as categories), with an optional ``sensitivity:`` section (outputs, bootstrap resamples,
confidence level, convergence; :class:`~loyaltysim.experiments.spec.SensitivitySpec`).

The runs go through :func:`loyaltysim.sweep` (process pool, Dask, checkpoints,
``resume``); the design matrix SALib analyses is the one the sweep sampled
(:func:`loyaltysim.experiments.spec.sample_design`, seeded by the experiment's seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from loyaltysim.analysis.sensitivity import SensitivityResult, analyse_study, load_study
from loyaltysim.experiments.execution import ExecutorChoice
from loyaltysim.reporting.sensitivity_report import write_result
from loyaltysim.workflows.sweep import sweep

__all__ = ["IncompleteStudyError", "run_study", "sensitivity"]


class IncompleteStudyError(RuntimeError):
    """Some runs of the study failed: SALib needs every design point (rerun with ``resume=True``)."""


def run_study(
    path: str | Path,
    *,
    method: str | None = None,
    samples: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    executor: ExecutorChoice = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    figures: bool = True,
) -> tuple[SensitivityResult, Path]:
    """Run a study through the sweep engine, analyse it and write the results; returns (result, folder)."""
    experiment, outputs = load_study(path, overrides, method=method, samples=samples)
    results = sweep(
        experiment, out=out, executor=executor, workers=workers, scheduler=scheduler, resume=resume, progress=progress
    )
    failed = results.failed
    if len(failed):
        first = failed.iloc[0]
        raise IncompleteStudyError(
            f"{len(failed)} of {len(results.runs)} runs failed (first: run {first['run_id']}: {first['error']}); "
            "the analysis needs every design point: fix the cause and rerun with --resume"
        )
    folder = Path(results.path) if results.path is not None else Path(out or Path("results") / experiment.name)
    result = analyse_study(experiment, results.runs, results.timeseries, outputs)
    write_result(result, folder, figures=figures)
    return result, folder


def sensitivity(path: str | Path, **options: Any) -> pd.DataFrame:
    """Run a sensitivity study (see :func:`run_study` for the options) and return its indices.

    Returns the tidy table method, output, factor, index, value, conf (also written to
    ``indices.parquet`` in the results folder, with figures and ``sensitivity.md``).
    """
    return run_study(path, **options)[0].indices
