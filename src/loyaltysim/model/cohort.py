"""The annual survey cohort: what customers answered at a survey wave, and who defected within the year after.

A researcher who surveys a firm's customers once a year and checks a year later who has left measures
defection by rating (Kotler's ladder; Jones & Sasser 1995), not the per-period churn of
:mod:`loyaltysim.model.metrics`. Waves fall every ``periods_per_year`` periods from the first period after
burn-in. At a wave every customer's rating, latent satisfaction band and response-bias half (bias < 0 or
≥ 0) are recorded with the period's outcome; a customer defects if it switches at least once in the year
that starts with that period's decision (the wave's period and the ``periods_per_year − 1`` after it). A
wave is tallied when its year ends, so only waves whose year ends within the run count. Per period this
costs one ``or`` over the customers; a tally, a few ``bincount``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from loyaltysim.model.engine import PeriodOutcome
from loyaltysim.model.scales import BANDS, N_BANDS, N_RATINGS, RATINGS, SATISFIED_BANDS, satisfaction_band

__all__ = ["SurveyCohort"]

BIAS_HALVES = ("low_bias", "high_bias")
"""The response-bias halves: bias < 0, bias ≥ 0."""
TOP_RATINGS = (4, 5)
"""Ratings of the customers who said they were satisfied."""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


@dataclass
class SurveyCohort:
    """Survey waves from ``first_wave`` on, every ``periods_per_year`` periods, and their tallies.

    The tallies have two columns, customers and defectors: ``by_rating`` (rating 1–5),
    ``by_band`` (latent band at the wave) and ``by_rating_bias`` (rating × response-bias half).
    """

    first_wave: int
    periods_per_year: int
    waves: int = 0
    by_rating: NDArray[np.int64] = field(default_factory=lambda: np.zeros((N_RATINGS, 2), dtype=np.int64))
    by_band: NDArray[np.int64] = field(default_factory=lambda: np.zeros((N_BANDS, 2), dtype=np.int64))
    by_rating_bias: NDArray[np.int64] = field(default_factory=lambda: np.zeros((N_RATINGS, 2, 2), dtype=np.int64))
    _wave: tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]] | None = field(default=None, repr=False)
    _defected: NDArray[np.bool_] | None = field(default=None, repr=False)
    _ends: int = field(default=-1, repr=False)

    def add(self, step: int, outcome: PeriodOutcome, response_bias: NDArray[np.float64]) -> None:
        """Record period ``step``: open a wave if one falls on it, note who switched, tally a wave whose year ends."""
        if step >= self.first_wave and (step - self.first_wave) % self.periods_per_year == 0:
            rating = outcome.rating.astype(np.int8)  # copies: the engine reuses its arrays
            self._wave = (rating, satisfaction_band(outcome.satisfaction), response_bias >= 0.0)
            self._defected = np.zeros(len(rating), dtype=np.bool_)
            self._ends = step + self.periods_per_year - 1
        if self._defected is None:
            return
        self._defected |= outcome.switched
        if step == self._ends:
            self._tally()

    def _tally(self) -> None:
        rating, band, high_bias = self._wave
        defected = self._defected
        for column, who in enumerate((np.ones_like(defected), defected)):
            self.by_rating[:, column] += np.bincount(rating[who] - 1, minlength=N_RATINGS)
            self.by_band[:, column] += np.bincount(band[who], minlength=N_BANDS)
            cell = (rating[who] - 1) * 2 + high_bias[who]
            self.by_rating_bias[:, :, column] += np.bincount(cell, minlength=2 * N_RATINGS).reshape(N_RATINGS, 2)
        self.waves += 1
        self._wave = self._defected = None

    def summary(self) -> dict[str, float]:
        """Defection within a year by wave rating, band and rating × bias half, the satisfaction trap,
        top-box leverage, and the raw counts (zero, with NaN rates, before any wave was tallied)."""
        row: dict[str, float] = {"cohort_waves": self.waves}
        for k, (customers, defectors) in zip(RATINGS, self.by_rating.tolist(), strict=True):
            row[f"cohort_rating_{k}_customers"], row[f"cohort_rating_{k}_defectors"] = customers, defectors
            row[f"defection_rating_{k}"] = _ratio(defectors, customers)
            for half, (half_customers, half_defectors) in zip(BIAS_HALVES, self.by_rating_bias[k - 1].tolist(), strict=True):
                row[f"cohort_rating_{k}_{half}_customers"] = half_customers
                row[f"cohort_rating_{k}_{half}_defectors"] = half_defectors
        for half, (customers, defectors) in zip(BIAS_HALVES, self.by_rating_bias[3].tolist(), strict=True):
            row[f"defection_rating_4_{half}"] = _ratio(defectors, customers)
        for name, (customers, defectors) in zip(BANDS, self.by_band.tolist(), strict=True):
            row[f"cohort_{name}_customers"], row[f"cohort_{name}_defectors"] = customers, defectors
            row[f"defection_{name}"] = _ratio(defectors, customers)
        defectors = int(self.by_rating[:, 1].sum())
        satisfied = int(self.by_rating[[k - 1 for k in TOP_RATINGS], 1].sum())
        row["cohort_satisfied_defector_share"] = _ratio(satisfied, defectors)
        row["cohort_satisfied_defector_share_latent"] = _ratio(int(self.by_band[list(SATISFIED_BANDS), 1].sum()), defectors)
        row["top_box_odds"] = _ratio(_staying_odds(self.by_rating[4]), _staying_odds(self.by_rating[3]))
        return row


def _staying_odds(tally: NDArray[np.int64]) -> float:
    """Odds of staying the year, stayers / defectors, of one tally row (customers, defectors)."""
    customers, defectors = tally.tolist()
    if customers == 0:
        return float("nan")
    return (customers - defectors) / defectors if defectors > 0 else float("inf")
