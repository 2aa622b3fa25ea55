"""Outcomes you define: the ``outcomes:`` of an experiment, computed in every run beside the built-in metrics.

Each outcome names an importable function of the model (``mypkg.metrics:false_loyalty``). ``per: run``
(the default) calls it once on the finished model: a column of ``runs.parquet``. ``per: period`` calls it
after every step (Mesa's DataCollector records it, as a model reporter): a column of
``timeseries.parquet``, and in ``runs.parquet`` its mean over the periods after burn-in. A function
returning a mapping gives one column per key, ``<outcome>_<key>`` (per firm: ``false_loyalty_A``).

Examples
--------
>>> spec = Outcome.model_validate("loyaltysim.outcomes:false_loyalty")
>>> spec.per, columns("x", {"A": 0.5, "B": 1.0})
('run', {'x_A': 0.5, 'x_B': 1.0})
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loyaltysim.config.references import resolve_reference

__all__ = ["Outcome", "columns", "period_table", "reporters", "run_values"]


class Outcome(BaseModel):
    """One outcome: ``{function: module:function, per: run | period, label?}``, or just ``module:function``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: str = Field(description="module:function of the model, returning a number or a mapping of numbers")
    per: Literal["run", "period"] = Field("run", description="run: on the finished model; period: after every step")
    label: str | None = Field(None, min_length=1, description="name shown in figures and reports")

    @model_validator(mode="before")
    @classmethod
    def _reference_means_function(cls, data: object) -> object:
        return {"function": data} if isinstance(data, str) else data

    @field_validator("function")
    @classmethod
    def _importable(cls, value: str) -> str:
        if not callable(resolve_reference(value)):
            raise ValueError(f"{value} is not a function")
        return value

    def resolve(self) -> Callable[[Any], Any]:
        """The function (imported now: in process pools and on Dask, each worker imports it itself)."""
        return resolve_reference(self.function)


def columns(name: str, value: Any) -> dict[str, float]:
    """An outcome's value as columns: ``{name: value}``, or ``{name_key: value}`` per key of a mapping.

    Raises
    ------
    TypeError
        A value that is neither a number nor a mapping of numbers.
    """
    items = value.items() if isinstance(value, Mapping) else [(None, value)]
    out = {}
    for key, item in items:
        if item is None:
            item = math.nan
        if isinstance(item, bool) or not isinstance(item, Real):
            raise TypeError(f"outcome {name}: expected a number or a mapping of numbers, got {item!r}")
        out[name if key is None else f"{name}_{key}"] = float(item)
    return out


def reporters(outcomes: Mapping[str, Outcome]) -> dict[str, Callable[[Any], Any]]:
    """The per-period outcomes as Mesa model reporters, name → function."""
    return {name: outcome.resolve() for name, outcome in outcomes.items() if outcome.per == "period"}


def period_table(model: Any, names: list[str]) -> pd.DataFrame:
    """The per-period outcomes the model's DataCollector recorded, one row per period (``step`` 1…T)."""
    records = model.datacollector.model_vars
    steps = range(1, model.steps + 1)  # row 0 of the collector is the market before the first period
    rows = [{"step": step} for step in steps]
    for name in names:
        for row, value in zip(rows, records[name][1:], strict=True):
            row.update(columns(name, value))
    return pd.DataFrame(rows)


def run_values(model: Any, outcomes: Mapping[str, Outcome], burn_in: int) -> dict[str, float]:
    """The runs-table columns of the outcomes: per run, the value on the finished model; per period, the mean
    over the periods after ``burn_in`` (NaN periods left out)."""
    values: dict[str, float] = {}
    per_period = [name for name, outcome in outcomes.items() if outcome.per == "period"]
    if per_period:
        table = period_table(model, per_period)
        after = table[table["step"] > burn_in].drop(columns="step")
        for column in after.columns:
            known = after[column].dropna()
            values[column] = float(np.mean(known)) if len(known) else math.nan
    for name, outcome in outcomes.items():
        if outcome.per == "run":
            values.update(columns(name, outcome.resolve()(model)))
    return values
