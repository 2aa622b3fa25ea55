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


def _pooled(rows: pd.DataFrame) -> dict[str, float]:
    purchases = rows["purchases"].sum()
    weights = rows["purchases"].to_numpy(dtype=float)
    satisfaction = rows["mean_satisfaction"].to_numpy(dtype=float)
    known = ~np.isnan(satisfaction) & (weights > 0)
    return {
        "mean_share": float(rows["share"].mean()),
        "won": float(rows["won"].mean()),
        "lost": float(rows["lost"].mean()),
        "retention_rate": float(1.0 - rows["lost"].sum() / purchases) if purchases > 0 else float("nan"),
        "mean_satisfaction": float(np.average(satisfaction[known], weights=weights[known])) if known.any() else float("nan"),
        "revenue": float(rows["revenue"].mean()),
        "profit": float(rows["profit"].mean()),
    }


def firm_run_metrics(firms: pd.DataFrame, burn_in: int) -> dict[str, Any]:
    """Each firm's run metrics but the final share (the model's summary has it), as ``<metric>_<firm>`` columns.

    ``firms`` is :meth:`~loyaltysim.model.loyalty_model.LoyaltyModel.firm_timeseries`; periods up to
    ``burn_in`` are left out, as in the market's run metrics.
    """
    after = firms[firms["step"] > burn_in]
    metrics: dict[str, Any] = {}
    for firm, rows in after.groupby("firm", sort=False):
        metrics.update({firm_column(name, str(firm)): value for name, value in _pooled(rows).items()})
    return metrics
