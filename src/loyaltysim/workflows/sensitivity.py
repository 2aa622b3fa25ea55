"""A sensitivity study of the model: an experiment file run through the sweep engine, then analysed with SALib.

The study file is an experiment file (see :mod:`loyaltysim.experiments.spec`) whose ``design``
is ``sobol``, ``morris`` or ``fast`` and whose factors are ranges (or lists, sampled as
categories), plus an optional ``sensitivity:`` section::

    sensitivity:
      outputs: [churn_rate, satisfied_defector_share, mean_satisfaction@last12, share_A]
      num_resamples: 200     # bootstrap resamples of the confidence intervals
      conf_level: 0.95
      convergence: true      # re-analyse nested subsets of the sample

The runs go through :func:`loyaltysim.sweep` (process pool, Dask, checkpoints,
``resume``); the design matrix SALib analyses is the one the sweep sampled
(:func:`loyaltysim.experiments.spec.sample_design`, seeded by the experiment's seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loyaltysim.analysis.sensitivity import (
    METHODS,
    Output,
    SensitivityResult,
    analyse_runs,
    check_samples,
    default_outputs,
    parse_output,
)
from loyaltysim.config.errors import ConfigError, from_validation_error

__all__ = ["IncompleteStudyError", "SensitivitySettings", "load_study", "run_study", "sensitivity"]


class IncompleteStudyError(RuntimeError):
    """Some runs of the study failed: SALib needs every design point (rerun with ``resume=True``)."""


class SensitivitySettings(BaseModel):
    """The ``sensitivity:`` section of a study file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outputs: list[str | dict[str, Any]] | None = Field(
        None, min_length=1, description="metrics to analyse: 'nps', 'nps@final', 'nps@last12' or {metric, window}"
    )
    num_resamples: int = Field(200, ge=10, description="bootstrap resamples for the confidence intervals")
    conf_level: float = Field(0.95, gt=0, lt=1, description="confidence level of the intervals")
    convergence: bool = Field(True, description="re-analyse nested subsets of the sample (convergence figure)")


def load_study(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    method: str | None = None,
    samples: int | None = None,
) -> tuple[Any, SensitivitySettings, list[Output]]:
    """Read and check a study file: the experiment, its sensitivity settings and the outputs.

    ``method`` and ``samples`` replace the file's ``design`` and ``samples``. Everything is
    checked before anything runs: the experiment (factor paths, ranges, sample size), the
    method, and the output names and windows against a one-period probe run.

    Raises
    ------
    ConfigError
        Naming the file and key path.
    """
    from loyaltysim.config.loading import apply_overrides, read_yaml
    from loyaltysim.experiments.spec import _apply_experiment_overrides, validate_experiment

    path = Path(path)
    data = read_yaml(path)
    raw = data.pop("sensitivity", None) or {}
    data.setdefault("name", path.stem)
    source = str(path)
    if method is not None:
        data["design"] = method
        for option, owner in (("second_order", "sobol"), ("levels", "morris"), ("harmonics", "fast")):
            if method != owner:  # the file's options of another method do not apply to the one asked for
                data.pop(option, None)
    if samples is not None:
        data["samples"] = samples
    if overrides:
        ours = {k.removeprefix("sensitivity."): v for k, v in overrides.items() if k.startswith("sensitivity.")}
        raw = apply_overrides(raw, ours) if ours else raw
        data = _apply_experiment_overrides(data, {k: v for k, v in overrides.items() if not k.startswith("sensitivity.")})
        source = f"{path} with --set {', '.join(f'{k}={v}' for k, v in overrides.items())}"
    design = data.get("design", "grid")
    if design not in METHODS:
        raise ConfigError(f"design: a sensitivity analysis needs sobol, morris or fast, got {design!r}", source=source)
    if isinstance(data.get("base"), str) and not Path(data["base"]).is_absolute():
        data["base"] = str((path.parent / data["base"]).resolve())
    try:
        settings = SensitivitySettings.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_error(exc, SensitivitySettings, source=source, prefix="sensitivity") from None
    experiment = validate_experiment(data, source=source)
    problem = {"num_vars": len(experiment.factors), "names": list(experiment.factors)}
    check_samples(
        problem, design, experiment.samples, levels=experiment.levels or 4, harmonics=experiment.harmonics or 4, source=source
    )
    outputs = [parse_output(o, source=source) for o in settings.outputs] if settings.outputs else None
    return experiment, settings, _check_outputs(experiment, outputs, source)


def _check_outputs(experiment: Any, outputs: list[Output] | None, source: str) -> list[Output]:
    """The outputs, checked against the metrics a (one-period probe) run produces and the sweep keeps."""
    from loyaltysim.config.errors import suggest
    from loyaltysim.config.loading import apply_overrides, validate_config
    from loyaltysim.model.loyalty_model import LoyaltyModel

    base = experiment.base_config().to_dict()
    probe = LoyaltyModel(validate_config(apply_overrides(base, {"run.steps": 1, "run.burn_in": 0, "run.panel_size": 0}))).run()
    summary = [k for k in probe.summary() if experiment.metrics is None or k in experiment.metrics]
    series = [c for c in probe.timeseries().columns if c != "step"]
    if experiment.timeseries.metrics is not None:
        series = [c for c in series if c in experiment.timeseries.metrics]
    if outputs is None:
        return default_outputs(summary)
    for output in outputs:
        if output.window == "run" or (output.window == "final" and f"final_{output.metric}" in summary):
            name, known, where = (output.metric if output.window == "run" else f"final_{output.metric}"), summary, "run summary"
        else:
            name, known, where = output.metric, series, "time series"
            if output.window != "final" and experiment.timeseries.every != 1:
                raise ConfigError(
                    f"sensitivity.outputs: {output.label} averages the last {output.window} steps; keep every step "
                    "with timeseries: {every: 1}",
                    source=source,
                )
        if name not in known:
            raise ConfigError(f"sensitivity.outputs: unknown metric '{name}' in the {where}{suggest(name, known)}", source=source)
    return outputs


def run_study(
    path: str | Path,
    *,
    method: str | None = None,
    samples: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    figures: bool = True,
) -> tuple[SensitivityResult, Path]:
    """Run a study through the sweep engine, analyse it and write the results; returns (result, folder)."""
    from loyaltysim.experiments.spec import sample_design
    from loyaltysim.reporting.sensitivity_report import write_result
    from loyaltysim.workflows.sweep import sweep

    experiment, settings, outputs = load_study(path, overrides, method=method, samples=samples)
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
    design = sample_design(experiment)
    folder = Path(results.path) if results.path is not None else Path(out or Path("results") / experiment.name)
    result = analyse_runs(
        design.problem,
        design.samples,
        results.runs,
        experiment.design,
        outputs=outputs,
        timeseries=results.timeseries,
        second_order=experiment.design == "sobol" and experiment.second_order is not False,
        levels=experiment.levels or 4,
        harmonics=experiment.harmonics or 4,
        num_resamples=settings.num_resamples,
        conf_level=settings.conf_level,
        seed=experiment.seed,
        convergence=settings.convergence,
    )
    write_result(result, folder, figures=figures)
    return result, folder


def sensitivity(path: str | Path, **options: Any) -> pd.DataFrame:
    """Run a sensitivity study (see :func:`run_study` for the options) and return its indices.

    Returns the tidy table method, output, factor, index, value, conf (also written to
    ``indices.parquet`` in the results folder, with figures and ``sensitivity.md``).
    """
    return run_study(path, **options)[0].indices
