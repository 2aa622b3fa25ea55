"""Warm-up detection: where does a simulated time series stop depending on its start? (MSER-5)

A run starts from an initial state that is not the market's steady state; its first periods are a
transient that run-level results must leave out (``run.burn_in``). MSER-5 (White 1997; White,
Cobb & Spratt 2000; Law 2015, ch. 9) picks the truncation point that minimises the marginal
standard error of the mean of what is left: the series is cut into batches of five periods and, for
each candidate cut ``d`` (in batches, at most half of them),

    MSER(d) = Σ_{i>d} (Y_i − Ȳ_d)² / (m − d)²

where ``Y_i`` are the batch means, ``m`` their number and ``Ȳ_d`` the mean after the cut. A cut in
the second half of the series means the series has not settled within it (no steady state found).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "BATCH",
    "KEY_METRICS",
    "StationarityWarning",
    "WarmUp",
    "mser5",
    "stationarity_warnings",
    "warm_up",
    "warn_each",
]

BATCH = 5
"""Periods per batch (the "5" of MSER-5)."""
KEY_METRICS = ("churn_rate", "mean_satisfaction", "nps")
"""The market series whose warm-up decides whether a measurement window is stationary."""


class StationarityWarning(UserWarning):
    """A measurement window that still depends on the run's start: run-level results depend on run length."""


@dataclass(frozen=True)
class WarmUp:
    """The MSER-5 truncation point of one series.

    Attributes
    ----------
    truncation
        Periods to discard from the start (a multiple of :data:`BATCH`).
    settled
        False when the best cut lies at the limit (half the series): no steady state was found.
    periods
        Length of the series analysed.
    """

    truncation: int
    settled: bool
    periods: int


def mser5(values: Iterable[float]) -> WarmUp:
    """MSER-5 truncation point of a series (NaN periods are left out before batching).

    Raises
    ------
    ValueError
        If fewer than four batches (20 periods) remain.
    """
    series = np.asarray(list(values), dtype=np.float64)
    series = series[np.isfinite(series)]
    batches = len(series) // BATCH
    if batches < 4:
        raise ValueError(f"MSER-5 needs at least {4 * BATCH} periods, got {len(series)}")
    means = series[: batches * BATCH].reshape(batches, BATCH).mean(axis=1)
    limit = batches // 2
    statistic = np.array([np.sum((means[d:] - means[d:].mean()) ** 2) / (batches - d) ** 2 for d in range(limit + 1)])
    best = int(np.argmin(statistic))
    return WarmUp(truncation=best * BATCH, settled=best < limit, periods=len(series))


def warm_up(timeseries: pd.DataFrame, metric: str) -> WarmUp | None:
    """MSER-5 of one metric of a time series with a ``step`` column (rows kept every k steps are fine),
    the truncation counted in steps from the first row; None when fewer than 20 rows have a value."""
    ordered = timeseries.sort_values("step")
    values = ordered[metric].to_numpy(dtype=np.float64)
    steps = ordered["step"].to_numpy()[np.isfinite(values)]
    if len(steps) < 4 * BATCH:
        return None
    result = mser5(values)
    return WarmUp(truncation=int(steps[result.truncation] - steps[0]), settled=result.settled, periods=result.periods)


def stationarity_warnings(
    timeseries: pd.DataFrame, burn_in: int, *, metrics: Iterable[str] = KEY_METRICS, where: str = ""
) -> list[str]:
    """One warning per metric whose warm-up (MSER-5) outlasts the burn-in or does not end in the first
    half of the run, i.e. whose run-level values after the burn-in still depend on the start.

    ``where`` prefixes each warning (e.g. a design point); metrics missing or too short are not checked.
    """
    found = []
    for metric in metrics:
        result = warm_up(timeseries, metric) if metric in timeseries else None
        if result is None:
            continue
        if not result.settled:
            found.append(f"{where}{metric} has no steady state within the run (MSER-5): it still drifts in its second half")
        elif result.truncation > burn_in:
            found.append(
                f"{where}{metric} settles after about {result.truncation} periods (MSER-5), later than the burn-in of "
                f"{burn_in}: raise run.burn_in to at least {result.truncation}"
            )
    return found


def sweep_stationarity_warnings(runs: pd.DataFrame, timeseries: pd.DataFrame, burn_in: int, *, limit: int = 5) -> list[str]:
    """:func:`stationarity_warnings` of each design point's mean series over its finished replicates.

    ``runs`` has ``run_id``, ``point_id`` (and ``run.burn_in`` when it is a factor, used per point);
    ``timeseries`` has ``run_id`` and ``step``. At most ``limit`` warnings, then a count of the rest.
    """
    points = runs.loc[runs["status"] == "ok"] if "status" in runs else runs
    metrics = [m for m in KEY_METRICS if m in timeseries]
    if points.empty or not metrics:
        return []
    merged = timeseries.merge(points[["run_id", "point_id"]], on="run_id")
    means = merged.groupby(["point_id", "step"], as_index=False)[metrics].mean()
    burn_ins = points.groupby("point_id")["run.burn_in"].first() if "run.burn_in" in points else None
    found = []
    for point, series in means.groupby("point_id"):
        point_burn_in = int(burn_ins[point]) if burn_ins is not None else burn_in
        found += stationarity_warnings(series, point_burn_in, metrics=metrics, where=f"design point {point}: ")
    if len(found) > limit:
        found = [*found[:limit], f"… and {len(found) - limit} more series of the design points are not stationary"]
    return found


def warn_each(messages: Iterable[str]) -> None:
    """Issue a :class:`StationarityWarning` per message (the command line prints them as ``warning: …``)."""
    for message in messages:
        warnings.warn(message, StationarityWarning, stacklevel=2)
