"""What a sensitivity analysis analyses: outputs (a metric over a window), one value per run, replicate means.

An output is a metric name and a window: ``churn_rate`` is the run's pooled value after burn-in,
``nps@final`` the last period, ``nps@last12`` the mean of the last 12 periods (from the time series).
:func:`output_values` reads them from a sweep's tables (one row per run), :func:`point_means`
averages the replicates of each design point (what SALib analyses) and :func:`variance_table`
says how much of each output's variance is seed noise.

Examples
--------
>>> [parse_output(o).label for o in ("nps", "nps@final", "nps@last12", {"metric": "nps", "window": 3})]
['nps', 'nps@final', 'nps@last12', 'nps@last3']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loyaltysim.config.errors import ConfigError, from_validation_error, suggest
from loyaltysim.experiments.spec import Experiment, probe_metrics

__all__ = [
    "DEFAULT_OUTPUTS",
    "Output",
    "check_outputs",
    "default_outputs",
    "output_values",
    "parse_output",
    "point_means",
    "variance_table",
]

DEFAULT_OUTPUTS = ("churn_rate", "satisfied_defector_share", "mean_satisfaction", "nps", "profit_per_period")


class Output(BaseModel):
    """One analysed output: a metric and the window it is read over.

    ``window``: ``run`` — the run's summary value (pooled over the periods after
    burn-in); ``final`` — the last step (``final_<metric>`` in runs.parquet, else the
    time series); an integer k — the mean of the last k steps of the time series.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1, description="metric name (runs.parquet or timeseries.parquet column)")
    window: Literal["run", "final"] | int = Field("run", description="run | final | k (mean of the last k steps)")

    @model_validator(mode="after")
    def _check(self) -> Output:
        if isinstance(self.window, int) and self.window < 1:
            raise ValueError(f"window: the last k steps need k ≥ 1, got {self.window}")
        return self

    @property
    def label(self) -> str:
        """Column name of this output: ``metric``, ``metric@final`` or ``metric@last<k>``."""
        if self.window == "run":
            return self.metric
        return f"{self.metric}@final" if self.window == "final" else f"{self.metric}@last{self.window}"


def parse_output(spec: str | Mapping[str, Any] | Output, *, source: str | None = None) -> Output:
    """An :class:`Output` from ``"nps"``, ``"nps@final"``, ``"nps@last12"`` or ``{metric, window}``."""
    if isinstance(spec, Output):
        return spec
    if isinstance(spec, str):
        metric, _, window = spec.partition("@")
        data: dict[str, Any] = {"metric": metric}
        if window == "final":
            data["window"] = "final"
        elif window.startswith("last") and window[4:].isdigit():
            data["window"] = int(window[4:])
        elif window:
            raise ConfigError(f"outputs: window of {spec!r} must be @final or @last<k> (e.g. @last12)", source=source)
    else:
        data = dict(spec)
    try:
        return Output.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, Output, source=source, prefix="outputs") from None


def default_outputs(columns: Iterable[str]) -> list[Output]:
    """The standard outputs (churn, satisfied defectors, satisfaction, NPS, profit) plus the first firm's share."""
    columns = list(columns)
    shares = [c for c in columns if c.startswith("share_")]
    return [Output(metric=m) for m in (*DEFAULT_OUTPUTS, *shares[:1]) if m in columns]


def _known(name: str, columns: Sequence[str], where: str) -> None:
    if name not in columns:
        choices = [c for c in columns if c not in ("run_id", "step", "point_id", "replicate")]
        raise ConfigError(f"outputs: unknown metric '{name}' in {where}{suggest(name, choices)}")


def output_values(runs: pd.DataFrame, outputs: Sequence[Output], timeseries: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per successful run (point_id, replicate) and one column per output label.

    ``runs`` has run_id, point_id, replicate, optional status and the summary metrics;
    ``timeseries`` (run_id, step, metrics) is needed for ``final`` metrics without a
    ``final_<metric>`` column and for ``last k`` windows.
    """
    if "status" in runs:
        runs = runs[runs["status"] == "ok"]
    table = runs[["run_id", "point_id", "replicate"]].reset_index(drop=True)
    for output in outputs:
        final_column = f"final_{output.metric}"
        if output.window == "run":
            _known(output.metric, list(runs.columns), "runs.parquet")
            values = runs[output.metric].to_numpy(dtype=float)
        elif output.window == "final" and (final_column in runs or timeseries is None):
            _known(final_column, list(runs.columns), "runs.parquet")
            values = runs[final_column].to_numpy(dtype=float)
        else:
            if timeseries is None:
                raise ConfigError(f"outputs: {output.label} needs the time series (timeseries.parquet)")
            _known(output.metric, list(timeseries.columns), "timeseries.parquet")
            window = _window_means(timeseries, output)
            values = table["run_id"].map(window).to_numpy(dtype=float)
        table[output.label] = values
    return table.drop(columns="run_id")


def _window_means(timeseries: pd.DataFrame, output: Output) -> pd.Series:
    """Mean of ``output.metric`` over each run's last k kept steps (k = 1 for ``final``)."""
    k = 1 if output.window == "final" else int(output.window)
    last = timeseries.groupby("run_id")["step"].transform("max")
    inside = timeseries[timeseries["step"] > last - k]
    counts = inside.groupby("run_id")["step"].nunique()
    if (counts < k).any():
        raise ConfigError(
            f"outputs: {output.label} needs each of the last {k} steps in the time series, but only "
            f"{int(counts.min())} were kept; collect it with timeseries: {{every: 1}}"
        )
    return inside.groupby("run_id")[output.metric].mean()


def point_means(values: pd.DataFrame, labels: Sequence[str], points: int) -> pd.DataFrame:
    """Mean of each output over the replicates of each design point (index 0..points-1).

    Raises ``ValueError`` when a design point has no successful run: SALib needs every point.
    """
    means = values.groupby("point_id")[list(labels)].mean().reindex(range(points))
    missing = means.index[means.isna().all(axis=1)]
    if len(missing):
        raise ValueError(f"design points without a successful run: {list(missing[:10])}; rerun them (--resume) first")
    return means


def variance_table(values: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """How much of each output's variance is seed noise (replicate spread within design points).

    Columns: output, points, replicates (per point, median), total_variance (over runs),
    noise_variance (mean within-point replicate variance), noise_share (noise / total),
    means_variance (variance of the point means that are analysed) and
    noise_share_of_means (noise / replicates / means_variance: the part of the analysed
    variance that is noise). Noise columns are NaN with one replicate per point.
    """
    rows = []
    grouped = values.groupby("point_id")
    replicates = float(grouped.size().median())
    for label in labels:
        total = float(values[label].var(ddof=1))
        noise = float(grouped[label].var(ddof=1).mean()) if replicates > 1 else math.nan
        means = float(grouped[label].mean().var(ddof=1))
        rows.append(
            {
                "output": label,
                "points": int(grouped.ngroups),
                "replicates": replicates,
                "total_variance": total,
                "noise_variance": noise,
                "noise_share": noise / total if total > 0 else math.nan,
                "means_variance": means,
                "noise_share_of_means": noise / replicates / means if means > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows)


def check_outputs(experiment: Experiment, outputs: list[Output] | None, *, source: str | None = None) -> list[Output]:
    """The outputs (None: :func:`default_outputs`), checked against the metrics a one-period probe run
    produces and the sweep keeps.

    Raises
    ------
    ConfigError
        An unknown metric (with a close match), or a window the kept time series cannot give.
    """
    summary, series = probe_metrics(experiment.base_config().to_dict(), experiment.outcomes)
    summary = [k for k in summary if experiment.metrics is None or k in experiment.metrics]
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
