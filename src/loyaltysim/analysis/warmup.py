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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BATCH", "WarmUp", "mser5", "warm_up_table"]

BATCH = 5
"""Periods per batch (the "5" of MSER-5)."""


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


def warm_up_table(timeseries: pd.DataFrame, metrics: Iterable[str], *, by: str | None = None) -> pd.DataFrame:
    """MSER-5 of each metric (and each group of ``by``, e.g. ``run_id``): metric, truncation, settled.

    ``timeseries`` has one row per period (ordered by ``step``); metrics missing from it are skipped.
    """
    groups: Iterable[tuple[object, pd.DataFrame]] = timeseries.groupby(by) if by else [(None, timeseries)]
    rows: list[Mapping[str, object]] = []
    for key, frame in groups:
        ordered = frame.sort_values("step") if "step" in frame else frame
        for metric in metrics:
            if metric not in ordered:
                continue
            result = mser5(ordered[metric])
            row = {"metric": metric, "truncation": result.truncation, "settled": result.settled, "periods": result.periods}
            rows.append({by: key, **row} if by else row)
    return pd.DataFrame(rows)
