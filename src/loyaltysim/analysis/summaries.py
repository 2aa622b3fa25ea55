"""Descriptive summaries of a sweep's tables, by condition: what the report's figures show.

Each function takes the tidy sweep tables (``runs``, ``curves``, ``timeseries``) and returns a
tidy DataFrame with a ``condition`` column (the cell label of :func:`condition_labels`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import patsy
from scipy import stats

from loyaltysim.analysis.hypotheses import BAND_NAMES, factor_columns, fit_clustered

Naming = Callable[[str, Any], str]
"""How a condition label names one factor's value: ``name(factor, value) -> text``."""

__all__ = ["band_churn", "cell_means", "condition_labels", "fitted_retention", "share_trajectories"]


def condition_labels(runs: pd.DataFrame, by: Sequence[str] | None = None, *, name: Naming | None = None) -> pd.Series:
    """One label per run (indexed by run_id) naming its values of ``by`` (default: every factor).

    The labels are an ordered categorical, in the order of the factor values. ``name(factor, value)`` writes
    one factor's part (default ``factor=value``), e.g. with the labels of the experiment file.
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    columns = factor_columns(ok) if by is None else list(by)
    if not columns:
        only = pd.CategoricalDtype(["all runs"], ordered=True)
        return pd.Series("all runs", index=ok["run_id"].to_numpy(), name="condition", dtype=only)
    ok = ok.sort_values(columns, kind="stable")
    name = name or (lambda factor, value: f"{factor}={value}")
    labels = ok[columns].apply(lambda row: ", ".join(name(c, v) for c, v in row.items()), axis=1)
    order = pd.CategoricalDtype(labels.unique(), ordered=True)  # the factors' own order, not the labels' text order
    return pd.Series(labels.to_numpy(), index=ok["run_id"].to_numpy(), name="condition", dtype=order)


def cell_means(runs: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """Mean of ``metric`` over replicates for each (``x``, ``y``) cell: a ``y`` × ``x`` table."""
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    return ok.pivot_table(index=y, columns=x, values=metric, aggfunc="mean").sort_index(ascending=False)


def fitted_retention(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    name: Naming | None = None,
    spline_df: int = 4,
    points: int = 101,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per condition: a natural-spline logit of retention on satisfaction with a confidence band.

    The band is model-based with standard errors clustered by run. Returns condition,
    satisfaction, retention, low, high, and ``observed`` (pooled share staying, NaN between bins).
    """
    labels = condition_labels(runs, by, name=name)
    frames = []
    for condition, ids in labels.groupby(labels, sort=True, observed=True):
        data = curves[curves["run_id"].isin(ids.index) & (curves["customer_periods"] > 0)]
        s = 0.5 * (data["satisfaction_low"] + data["satisfaction_high"]).to_numpy()
        basis = patsy.dmatrix(f"cr(s, df={spline_df}, constraints='center')", {"s": s})
        endog = np.column_stack([data["customer_periods"] - data["switchers"], data["switchers"]]).astype(float)
        fit = fit_clustered(endog, np.asarray(basis), data["run_id"])
        grid = np.linspace(s.min(), s.max(), points)
        exog = patsy.build_design_matrices([basis.design_info], {"s": grid})[0]
        band = fit.get_prediction(np.asarray(exog)).summary_frame(alpha=1 - confidence)
        frames.append(
            pd.DataFrame(
                {
                    "condition": condition,
                    "satisfaction": grid,
                    "retention": band["mean"].to_numpy(),
                    "low": band["mean_ci_lower"].to_numpy(),
                    "high": band["mean_ci_upper"].to_numpy(),
                }
            )
        )
        pooled = data.groupby("satisfaction_low")[["customer_periods", "switchers"]].sum()
        mid = pooled.index.to_numpy() + 0.5 * (data["satisfaction_high"] - data["satisfaction_low"]).iloc[0]
        frames.append(
            pd.DataFrame(
                {
                    "condition": condition,
                    "satisfaction": mid,
                    "observed": 1.0 - pooled["switchers"].to_numpy() / pooled["customer_periods"].to_numpy(),
                    "customer_periods": pooled["customer_periods"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def band_churn(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    name: Naming | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per condition and Kotler band: churn per period (pooled) with a t-interval over replicate runs."""
    labels = condition_labels(runs, by, name=name)
    data = curves[curves["run_id"].isin(labels.index)].copy()
    mid = 0.5 * (data["satisfaction_low"] + data["satisfaction_high"])
    data["band"] = np.minimum(np.floor(mid * 5).astype(int), 4)
    per_run = data.groupby(["run_id", "band"], as_index=False)[["customer_periods", "switchers"]].sum()
    per_run["condition"] = labels.reindex(per_run["run_id"]).to_numpy()
    per_run["churn"] = per_run["switchers"] / per_run["customer_periods"].where(per_run["customer_periods"] > 0)
    rows = []
    per_run["condition"] = per_run["condition"].astype(labels.dtype)
    for (condition, band), group in per_run.groupby(["condition", "band"], sort=True, observed=True):
        values = group["churn"].dropna().to_numpy()
        pooled = group["switchers"].sum() / max(group["customer_periods"].sum(), 1)
        low = high = np.nan
        if len(values) >= 2 and np.ptp(values) > 0:
            low, high = stats.t.interval(confidence, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
        rows.append(
            {
                "condition": condition,
                "band": BAND_NAMES[band],
                "band_index": int(band),
                "churn": float(pooled),
                "low": float(low),
                "high": float(high),
                "customer_periods": int(group["customer_periods"].sum()),
                "runs": len(values),
            }
        )
    return pd.DataFrame(rows)


def share_trajectories(
    runs: pd.DataFrame,
    timeseries: pd.DataFrame,
    *,
    by: Sequence[str] | None = None,
    name: Naming | None = None,
    prefix: str = "market_share_",
) -> pd.DataFrame:
    """Per condition, firm and step: mean market share over replicates and its 2.5–97.5 % range.

    ``timeseries`` holds one ``<prefix><firm>`` column per firm. Empty if there is none.
    """
    columns = [c for c in timeseries.columns if c.startswith(prefix)]
    if not columns:
        return pd.DataFrame(columns=["condition", "firm", "step", "share", "low", "high"])
    labels = condition_labels(runs, by, name=name)
    long = timeseries[timeseries["run_id"].isin(labels.index)].melt(
        id_vars=["run_id", "step"], value_vars=columns, var_name="firm", value_name="share"
    )
    long["firm"] = long["firm"].str.removeprefix(prefix)
    long["condition"] = pd.Categorical(labels.reindex(long["run_id"]).to_numpy(), dtype=labels.dtype)
    grouped = long.dropna(subset=["share"]).groupby(["condition", "firm", "step"], sort=True, observed=True)["share"]
    summary = grouped.agg(share="mean", low=lambda v: v.quantile(0.025), high=lambda v: v.quantile(0.975))
    return summary.reset_index()
