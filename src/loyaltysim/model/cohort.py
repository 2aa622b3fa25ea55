"""The annual survey cohort: what customers answered at a survey wave, and who defected within the year after.

A researcher who surveys a firm's customers once a year and checks a year later who has left measures
defection by rating (Kotler's ladder; Jones & Sasser 1995), not the per-period churn of
:mod:`loyaltysim.model.metrics`. Waves fall every ``periods_per_year`` periods from the first period after
burn-in. At a wave every customer's rating, latent satisfaction band and response-bias half (bias < 0 or
≥ 0) are recorded with the period's outcome; a customer defects if it switches at least once in the year
that starts with that period's decision (the wave's period and the ``periods_per_year − 1`` after it). A
wave is tallied when its year ends, so only waves whose year ends within the run count. Per period this
costs one ``or`` over the customers (compiled, :func:`record_period`); a tally, one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from loyaltysim.model.engine import PeriodOutcome
from loyaltysim.model.jit import compiled
from loyaltysim.model.scales import BANDS, N_BANDS, N_RATINGS, RATINGS, SATISFIED_BANDS

__all__ = ["SurveyCohort", "record_period"]

BIAS_HALVES = ("low_bias", "high_bias")
"""The response-bias halves: bias < 0, bias ≥ 0."""
TOP_RATINGS = (4, 5)
"""Ratings of the customers who said they were satisfied."""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def _record_period(
    step: int,
    rating: NDArray[np.int8],
    satisfaction: NDArray[np.float64],
    switched: NDArray[np.bool_],
    response_bias: NDArray[np.float64],
    cohort: tuple[NDArray, ...],
) -> None:
    """Period ``step`` of the cohort (the arrays of :meth:`SurveyCohort.arrays`): open a wave if one falls on it
    (each customer's rating, latent band and bias half), note who switched, tally a wave whose year ends."""
    settings, wave_rating, wave_band, high_bias, defected, by_rating, by_band, by_rating_bias = cohort
    first_wave, periods_per_year = settings[0], settings[1]
    n = len(rating)
    if step >= first_wave and (step - first_wave) % periods_per_year == 0:
        for i in range(n):
            wave_rating[i] = rating[i]
            wave_band[i] = min(int(satisfaction[i] * N_BANDS), N_BANDS - 1)  # scales.satisfaction_band
            high_bias[i] = response_bias[i] >= 0.0
            defected[i] = False
        settings[3] = step + periods_per_year - 1
    if settings[3] < 0:
        return
    for i in range(n):
        defected[i] = defected[i] or switched[i]
    if step == settings[3]:
        for i in range(n):
            r, d = wave_rating[i] - 1, np.int64(defected[i])
            by_rating[r, 0] += 1
            by_rating[r, 1] += d
            by_band[wave_band[i], 0] += 1
            by_band[wave_band[i], 1] += d
            by_rating_bias[r, np.int64(high_bias[i]), 0] += 1
            by_rating_bias[r, np.int64(high_bias[i]), 1] += d
        settings[2] += 1
        settings[3] = -1


record_period = compiled(_record_period)


@dataclass
class SurveyCohort:
    """Survey waves from ``first_wave`` on, every ``periods_per_year`` periods, and their tallies.

    The tallies have two columns, customers and defectors: ``by_rating`` (rating 1–5),
    ``by_band`` (latent band at the wave) and ``by_rating_bias`` (rating × response-bias half).
    A period is recorded by the compiled :func:`record_period`, from :meth:`add` or from a run's compiled loop.
    """

    first_wave: int
    periods_per_year: int
    by_rating: NDArray[np.int64] = field(default_factory=lambda: np.zeros((N_RATINGS, 2), dtype=np.int64))
    by_band: NDArray[np.int64] = field(default_factory=lambda: np.zeros((N_BANDS, 2), dtype=np.int64))
    by_rating_bias: NDArray[np.int64] = field(default_factory=lambda: np.zeros((N_RATINGS, 2, 2), dtype=np.int64))
    _settings: NDArray[np.int64] = field(default=None, repr=False)
    """first wave, periods per year, waves tallied, last step of the open wave's year (−1: none open)."""
    _wave: tuple[NDArray, ...] = field(default=(), repr=False)
    """Per customer at the open wave: rating, latent band, bias ≥ 0, defected since."""

    def __post_init__(self) -> None:
        self._settings = np.array([self.first_wave, self.periods_per_year, 0, -1], dtype=np.int64)

    @property
    def waves(self) -> int:
        """Waves tallied so far."""
        return int(self._settings[2])

    def arrays(self, n: int) -> tuple[NDArray, ...]:
        """The cohort's arrays for ``n`` customers, as :func:`record_period` takes them."""
        if not self._wave or len(self._wave[0]) != n:
            self._wave = (np.zeros(n, np.int8), np.zeros(n, np.int8), np.zeros(n, np.bool_), np.zeros(n, np.bool_))
        return (self._settings, *self._wave, self.by_rating, self.by_band, self.by_rating_bias)

    def add(self, step: int, outcome: PeriodOutcome, response_bias: NDArray[np.float64]) -> None:
        """Record period ``step``: open a wave if one falls on it, note who switched, tally a wave whose year ends."""
        cohort = self.arrays(len(outcome.rating))
        record_period(step, outcome.rating, outcome.satisfaction, outcome.switched, response_bias, cohort)

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
