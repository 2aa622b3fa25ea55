"""Posterior samples with weights, in search coordinates (log10 for log-scale parameters), and their summaries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Box", "Simulate", "intervals", "weighted_quantile"]

Simulate = Callable[[np.ndarray, str], np.ndarray]
"""``simulate(points, batch) -> summaries``: parameter points (n × d, search coordinates) → simulated
target metrics (n × k; NaN where a metric could not be measured). ``batch`` names the batch of runs; the
same name and points give the same values (deterministic seeds), which is what makes resuming possible."""


@dataclass(frozen=True)
class Box:
    """The prior: uniform over ``[low, high]`` in search coordinates."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray

    @property
    def width(self) -> np.ndarray:
        return self.high - self.low

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent prior draws (n × d)."""
        return self.low + rng.random((n, len(self.names))) * self.width

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point (row) lies inside the box."""
        return np.all((points >= self.low) & (points <= self.high), axis=1)

    def variance(self) -> np.ndarray:
        """The prior variance of each coordinate (uniform: width² / 12)."""
        return self.width**2 / 12.0


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantiles of ``values`` under normalised ``weights`` (the inverse of the weighted empirical CDF, interpolated)."""
    order = np.argsort(values)
    v, w = np.asarray(values, dtype=np.float64)[order], np.asarray(weights, dtype=np.float64)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, v)


def intervals(samples: pd.DataFrame, weights: np.ndarray, level: float) -> pd.DataFrame:
    """Per parameter (column of ``samples``): weighted median and central credible interval at ``level``."""
    tail = (1.0 - level) / 2.0
    rows = []
    for name in samples.columns:
        low, median, high = weighted_quantile(samples[name].to_numpy(), weights, np.array([tail, 0.5, 1.0 - tail]))
        rows.append({"parameter": name, "median": float(median), "low": float(low), "high": float(high), "level": level})
    return pd.DataFrame(rows)
