"""A sweep from experiment file to report: run every run (:func:`~loyaltysim.experiments.execution.run_sweep`),
then test the hypotheses and write the report (:func:`report_sweep`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from loyaltysim.analysis.hypotheses import check_hypotheses, evaluate
from loyaltysim.analysis.warmup import BATCH, sweep_stationarity_warnings, warn_each
from loyaltysim.config.errors import ConfigError
from loyaltysim.experiments.execution import run_sweep
from loyaltysim.experiments.results import SweepResults, load_results
from loyaltysim.experiments.spec import Experiment, load_experiment, validate_experiment
from loyaltysim.experiments.storage import write_parquet
from loyaltysim.reporting.render import write_report
from loyaltysim.reporting.sweep_report import build_report

__all__ = ["load_checked", "report_sweep", "sweep"]


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
    figure_formats: Sequence[str] | None = None,
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
    figure_formats
        Formats of the report's figures (default: the experiment's ``report.figure_formats``, else PNG).
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
        report_sweep(results.path, figure_formats=figure_formats)
    return results


def report_sweep(folder: str | Path, *, figure_formats: Sequence[str] | None = None) -> dict[str, Path]:
    """Evaluate a finished sweep's hypotheses (``hypotheses.parquet``) and write ``report.md``, ``report.html``
    and ``figures/``; returns the paths written.

    The hypotheses and report options come from the experiment recorded in ``manifest.json``;
    ``figure_formats`` (e.g. ``["png", "pdf"]``) replaces its ``report.figure_formats``.

    Raises
    ------
    ConfigError
        ``folder`` is no sweep results folder, no run finished, or a hypothesis cannot be evaluated on its
        tables (what is missing is named).
    """
    results = load_results(folder)
    folder = Path(folder)
    experiment = results.manifest.get("experiment", {})
    finished = results.runs[results.runs["status"] == "ok"] if len(results.runs) else results.runs
    if finished.empty:
        raise ConfigError("no finished runs to report on", source=folder)
    multiplicity = experiment.get("multiplicity", "holm")
    try:
        hypotheses = evaluate(experiment.get("hypotheses") or [], results.runs, results.curves, multiplicity=multiplicity)
    except ValueError as exc:  # e.g. a sweep made before the survey columns existed, or a cell with no runs
        raise ConfigError(f"hypotheses: {exc}", source=folder) from None
    write_parquet(hypotheses, folder / "hypotheses.parquet")
    options = experiment.get("report") or {}
    steady = _stationarity(results, finished)
    warn_each(steady or [])
    blocks = build_report(
        results.runs,
        results.curves,
        results.timeseries,
        results.manifest,
        hypotheses,
        heatmap=options.get("heatmap"),
        by=options.get("by"),
        stationarity=steady,
    )
    formats = figure_formats or options.get("figure_formats") or ["png"]
    return {"hypotheses": folder / "hypotheses.parquet", **write_report(blocks, folder, formats=formats)}


def _stationarity(results: SweepResults, finished: pd.DataFrame) -> list[str] | None:
    """Warnings about the design points' measurement windows, or None when they cannot be checked (the
    base scenario cannot be read back, or the kept time series are too short for MSER-5)."""
    try:
        burn_in = Experiment.model_validate(results.manifest["experiment"]).base_config().run.burn_in
    except (KeyError, ValueError, ConfigError, OSError):
        return None
    steps_kept = results.timeseries.groupby("run_id")["step"].nunique().min() if len(results.timeseries) else 0
    if steps_kept < 4 * BATCH:
        return None
    return sweep_stationarity_warnings(finished, results.timeseries, burn_in)
