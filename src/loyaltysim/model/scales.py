"""The scales results are reported on: Kotler's satisfaction bands, the "satisfied" cut-off, survey
ratings, promoters and detractors, and annualised rates. Every table, test and figure takes them from here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BANDS",
    "BAND_EDGES",
    "DETRACTORS_UP_TO",
    "N_BANDS",
    "N_RATINGS",
    "PROMOTERS_FROM",
    "RATINGS",
    "SATISFIED",
    "SATISFIED_BANDS",
    "annualise",
    "satisfaction_band",
]

BANDS = ("highly_dissatisfied", "dissatisfied", "neutral", "satisfied", "highly_satisfied")
"""Kotler's five bands of cumulative satisfaction, 0.2 wide, from the bottom."""
N_BANDS = len(BANDS)
BAND_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""Lower edge of each band, then the top of the scale."""
SATISFIED_BANDS = (3, 4)
"""The bands of customers who count as satisfied (satisfied defectors, the satisfaction trap)."""
SATISFIED = BAND_EDGES[SATISFIED_BANDS[0]]
"""Cumulative satisfaction from which a customer counts as satisfied (0.6)."""
RATINGS = (1, 2, 3, 4, 5)
"""The answers of the satisfaction survey."""
N_RATINGS = len(RATINGS)
PROMOTERS_FROM = 9
"""Likelihood to recommend (0–10) from which a customer is a promoter (Net Promoter Score)."""
DETRACTORS_UP_TO = 6
"""Likelihood to recommend up to which a customer is a detractor."""


def satisfaction_band(satisfaction: ArrayLike) -> NDArray[np.int8]:
    """The band of each satisfaction value: 0 = highly dissatisfied … 4 = highly satisfied."""
    return np.minimum((np.asarray(satisfaction) * N_BANDS).astype(np.int8), N_BANDS - 1)


def annualise(rate_per_period: ArrayLike, periods_per_year: int) -> NDArray[np.float64]:
    """A per-period rate as the share lost over a year: ``1 − (1 − r)^periods_per_year``."""
    return 1.0 - (1.0 - np.asarray(rate_per_period, dtype=np.float64)) ** periods_per_year
