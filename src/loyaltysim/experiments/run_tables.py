"""What one finished run contributes to a sweep's tables, beside its identity and factor values.

- :func:`run_metrics`: the runs-table metrics: the model's summary, each firm's run metrics
  (:mod:`~loyaltysim.experiments.firm_results`) and the experiment's own outcomes
  (:mod:`~loyaltysim.experiments.reporters`);
- :func:`period_metrics`: the time-series columns: market metrics, each firm's share and the per-period outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loyaltysim.experiments.firm_results import firm_run_metrics
from loyaltysim.experiments.reporters import Outcome, period_table, run_values

if TYPE_CHECKING:
    from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["period_metrics", "run_metrics"]


def run_metrics(model: LoyaltyModel, outcomes: Mapping[str, Outcome]) -> dict[str, Any]:
    """Summary metrics, per-firm run metrics (``<metric>_<firm>``) and the outcomes' values, by column name."""
    burn_in = model.config.run.burn_in
    return {
        **model.summary(),
        **firm_run_metrics(model.firm_timeseries_columns(), burn_in),
        **run_values(model, outcomes, burn_in),
    }


def period_metrics(model: LoyaltyModel, outcomes: Mapping[str, Outcome], keep: NDArray[np.bool_] | None = None) -> pd.DataFrame:
    """One row per step (those where ``keep`` is true, default all): market metrics, each firm's market share
    ``market_share_<firm>`` and the per-period outcomes."""
    columns = model.timeseries_columns()
    names = model.market.names
    shares = model.firm_timeseries_columns()["share"].reshape(len(columns["step"]), len(names))  # a row per step × firm
    columns.update({f"market_share_{name}": shares[:, j] for j, name in enumerate(names)})
    table = pd.DataFrame(columns if keep is None else {key: value[keep] for key, value in columns.items()})
    per_period = [name for name, outcome in outcomes.items() if outcome.per == "period"]
    return table.merge(period_table(model, per_period), on="step", how="left") if per_period else table
