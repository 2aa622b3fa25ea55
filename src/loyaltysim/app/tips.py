"""The claims of the app's "things to try", measured: does the named number move the promised way?

:func:`tip_effect` runs a preset with and without the tip's change (or reads the
untouched run at two periods) for several seeds and returns the differences, signed
so that a positive value is the promised direction. ``tests/test_app_tips.py`` holds
every tip to it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from loyaltysim.app.factory import TeachingModel
from loyaltysim.app.presets import Preset, Tip
from loyaltysim.model.scales import BANDS, SATISFIED_BANDS, annualise

__all__ = ["METRICS", "measure", "tip_effect"]

WINDOW = 6
"""Periods averaged for satisfaction and loyalty (one period is noisy)."""
CHURN_WINDOW = 24
"""Periods pooled for churn rates."""

PRACTICE_METRICS = ("win_backs", "targeted_retention", "untargeted_retention", "purchase_frequency", "share_of_wallet")
"""Market columns of the firm practices (ODD 7.17), averaged over :data:`CHURN_WINDOW` periods."""
METRICS = (
    "share:FIRM",
    "firm_satisfaction:FIRM",
    "mean_satisfaction",
    "mean_loyalty",
    "churn",
    "satisfied_churn",
    *PRACTICE_METRICS,
)
"""The names a :class:`~loyaltysim.app.presets.Tip` may use."""


def _window(table: pd.DataFrame, step: int, periods: int) -> pd.DataFrame:
    return table[(table["step"] > step - periods) & (table["step"] <= step)]


def measure(model: TeachingModel, metric: str, step: int) -> float:
    """The value of ``metric`` (one of :data:`METRICS`) at period ``step`` of ``model``'s run so far."""
    kind, _, firm = metric.partition(":")
    if kind == "share":
        firms = model.firm_timeseries()
        return float(firms[(firms["step"] == step) & (firms["firm"] == firm)]["share"].iloc[0])
    if kind == "firm_satisfaction":
        firms = _window(model.firm_timeseries(), step, WINDOW)
        return float(firms[firms["firm"] == firm]["mean_satisfaction"].mean())
    market = model.timeseries()
    if kind in ("mean_satisfaction", "mean_loyalty"):
        return float(_window(market, step, WINDOW)[kind].mean())
    rows = _window(market, step, CHURN_WINDOW)
    if kind in PRACTICE_METRICS:
        return float(rows[kind].mean())
    if kind == "churn":
        rate = rows["switchers"].sum() / rows["customers"].sum()
    elif kind == "satisfied_churn":
        satisfied = [BANDS[b] for b in SATISFIED_BANDS]
        customers = sum(rows[f"share_{band}"] * rows["customers"] for band in satisfied)
        switchers = sum(rows[f"churn_{band}"].fillna(0.0) * rows[f"share_{band}"] * rows["customers"] for band in satisfied)
        rate = switchers.sum() / customers.sum()
    else:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    return float(annualise(rate, model.config.periods_per_year))


def tip_effect(preset: Preset, tip: Tip, seeds: Iterable[int]) -> np.ndarray:
    """Per seed, how far ``tip.metric`` moved in the promised direction (positive: as promised)."""
    effects = []
    for seed in seeds:
        base = TeachingModel(config_path=str(preset.path), seed=seed).run(tip.at)
        if tip.change:
            changed = TeachingModel(config_path=str(preset.path), seed=seed, **tip.change).run(tip.at)
            before, after = measure(base, tip.metric, tip.at), measure(changed, tip.metric, tip.at)
        else:
            before, after = measure(base, tip.metric, tip.since), measure(base, tip.metric, tip.at)
        effects.append(tip.direction * (after - before))
    return np.array(effects)
