"""A sweep from experiment file to report: run every run (:func:`~loyaltysim.experiments.execution.run_sweep`),
then test the hypotheses and write the report (:func:`~loyaltysim.reporting.sweep_report.report_sweep`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loyaltysim.analysis.hypotheses import check_hypotheses
from loyaltysim.experiments.execution import run_sweep
from loyaltysim.experiments.results import SweepResults
from loyaltysim.experiments.spec import Experiment, load_experiment, validate_experiment
from loyaltysim.reporting.sweep_report import report_sweep

__all__ = ["load_checked", "sweep"]


def load_checked(experiment: str | Path | Experiment, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Load and validate an experiment, its hypotheses included (:class:`ConfigError` before any run)."""
    if isinstance(experiment, Experiment):
        source: str | Path = f"experiment {experiment.name}"
        experiment = validate_experiment(experiment.model_dump(), source=source)
    else:
        source = Path(experiment)
        experiment = load_experiment(source, overrides)
    check_hypotheses(experiment, source=source)
    return experiment


def sweep(
    experiment: str | Path | Experiment,
    *,
    overrides: Mapping[str, Any] | None = None,
    report: bool = True,
    **options: Any,
) -> SweepResults:
    """Run every run of an experiment, then write its report; return its tables.

    Parameters
    ----------
    experiment
        An experiment file or an :class:`~loyaltysim.experiments.spec.Experiment`.
    overrides
        ``--set`` values applied to the experiment file (only with a path).
    report
        At the end, evaluate the experiment's hypotheses and write ``hypotheses.parquet``,
        ``report.md``, ``report.html`` and ``figures/`` (not when every run failed).
    **options
        The options of :func:`~loyaltysim.experiments.execution.run_sweep`: ``out``, ``executor``,
        ``workers``, ``scheduler``, ``resume``, ``batch_size``, ``progress``.

    Returns
    -------
    SweepResults
        ``runs``, ``timeseries``, ``curves`` DataFrames sorted by ``run_id`` and the ``manifest``.
    """
    if not (isinstance(experiment, Experiment) and overrides):
        load_checked(experiment, overrides)  # hypotheses included, before any folder or run
    results = run_sweep(experiment, overrides=overrides, **options)
    runs = results.runs
    if report and len(runs) and (runs["status"] == "ok").any():
        report_sweep(results.path)
    return results
