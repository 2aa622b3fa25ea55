"""Per-firm results of a run: the rows of ``firms.parquet`` and each firm's run metrics in ``runs.parquet``.

A firm's run metric is a column ``<metric>_<firm>`` of the runs table (``profit_A``, ``won_B``), pooled over
the periods after burn-in like the market's; ``share_<firm>`` (the final share) was there before. A
hypothesis names one as ``metric: profit, firm: A``.

Examples
--------
>>> firm_column("profit", "A")
'profit_A'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FIRM_METRICS", "firm_column", "firm_run_metrics"]

FIRM_METRICS = {
    "share": "market share at the end of the run",
    "mean_share": "mean market share per period",
    "won": "customers won per period",
    "lost": "customers lost per period",
    "retention_rate": "share of the firm's customers kept per period (pooled)",
    "mean_satisfaction": "mean satisfaction of the firm's buyers, purchase-weighted",
    "revenue": "revenue per period",
    "profit": "profit per period (revenue − costs)",
}
"""Per-firm run metrics (after burn-in; rates per period, as the model's period says): name → meaning."""


def firm_column(metric: str, firm: str) -> str:
    """The runs-table column of a firm's run metric."""
    return f"{metric}_{firm}"


def _pooled(rows: dict[str, np.ndarray]) -> dict[str, float]:
    """A firm's run metrics from its rows after burn-in (column name → values)."""
    purchases = rows["purchases"].sum()
    weights = rows["purchases"].astype(float)
    satisfaction = rows["mean_satisfaction"].astype(float)
    known = ~np.isnan(satisfaction) & (weights > 0)
    return {
        "mean_share": float(np.mean(rows["share"])),
        "won": float(np.mean(rows["won"])),
        "lost": float(np.mean(rows["lost"])),
        "retention_rate": float(1.0 - rows["lost"].sum() / purchases) if purchases > 0 else float("nan"),
        "mean_satisfaction": float(np.average(satisfaction[known], weights=weights[known])) if known.any() else float("nan"),
        "revenue": float(np.mean(rows["revenue"])),
        "profit": float(np.mean(rows["profit"])),
    }


_POOLED = ("purchases", "mean_satisfaction", "share", "won", "lost", "revenue", "profit")
"""The firm table's columns :func:`_pooled` reads."""


def firm_run_metrics(firms: pd.DataFrame | Mapping[str, np.ndarray], burn_in: int) -> dict[str, Any]:
    """Each firm's run metrics but the final share (the model's summary has it), as ``<metric>_<firm>`` columns.

    ``firms`` is :meth:`~loyaltysim.model.loyalty_model.LoyaltyModel.firm_timeseries` (or its columns); periods
    up to ``burn_in`` are left out, as in the market's run metrics.
    """
    after = np.asarray(firms["step"]) > burn_in
    firm = np.asarray(firms["firm"])[after]
    columns = {name: np.asarray(firms[name])[after] for name in _POOLED}
    metrics: dict[str, Any] = {}
    for name in pd.unique(firm):  # in order of appearance
        rows = firm == name
        pooled = _pooled({column: values[rows] for column, values in columns.items()})
        metrics.update({firm_column(metric, str(name)): value for metric, value in pooled.items()})
    return metrics
