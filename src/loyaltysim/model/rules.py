"""The behavioural rules of the model, as pure functions.

Every function takes numbers or numpy arrays (one element per customer) and
returns new values; nothing here keeps state, draws random numbers or does I/O.
They work on scalars too, which is how the per-customer reference model uses
them. Read this file to see the theory; ``engine.py`` calls these in order.

Scales: performance, expectation and belief on [0, 1]; satisfaction, loyalty
and trust on [0, 1] with 0.5 neutral.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LINKS",
    "absorb_messages",
    "annualise",
    "attitudinal_loyalty",
    "disconfirmation",
    "experience_weight",
    "felt_value",
    "habit",
    "likelihood_to_recommend",
    "link_concave",
    "link_linear",
    "link_threshold",
    "link_zone_of_tolerance",
    "price_fairness",
    "satisfaction_band",
    "survey_rating",
    "talk_probability",
    "transaction_satisfaction",
    "update_belief",
    "update_cumulative_satisfaction",
    "update_trust",
]

Array = NDArray[np.float64]


def _sigmoid(x: ArrayLike) -> Array:
    """Logistic ``1 / (1 + e^−x)``; arguments below −700 count as −700 (the value is ~1e−304 either way)."""
    return 1.0 / (1.0 + np.exp(-np.maximum(np.asarray(x, dtype=np.float64), -700.0)))


# --- 1. Experience ---------------------------------------------------------------------------


def price_fairness(price: ArrayLike, reference_price: float, price_sensitivity: ArrayLike) -> Array:
    """Felt fairness of a price: positive below the reference price, negative above.

    ``price_sensitivity · ((reference − price) / reference)``: sensitivity times the relative discount.
    """
    return np.asarray(price_sensitivity) * ((reference_price - np.asarray(price)) / reference_price)


def disconfirmation(performance: ArrayLike, expectation: ArrayLike) -> Array:
    """Expectation–disconfirmation (Oliver 1980): performance minus expectation."""
    return np.asarray(performance, dtype=np.float64) - np.asarray(expectation, dtype=np.float64)


def felt_value(gap: ArrayLike, loss_aversion: float) -> Array:
    """Gains count once, losses ``loss_aversion`` times (Anderson & Sullivan 1993; Mittal et al. 1998)."""
    gap = np.asarray(gap, dtype=np.float64)
    return np.where(gap < 0.0, loss_aversion * gap, gap)


def transaction_satisfaction(
    performance: ArrayLike,
    expectation: ArrayLike,
    fairness: ArrayLike,
    *,
    sensitivity: float,
    loss_aversion: float,
    quality_weight: float,
    neutral_performance: float,
) -> Array:
    """Satisfaction with one purchase, in (0, 1).

    ``σ(sensitivity · [quality_weight · (performance − neutral) + v(performance − expectation) + fairness])``
    where ``v`` is :func:`felt_value`. Meeting a good expectation satisfies; exceeding it delights;
    falling short dissatisfies, and more strongly than an equal surplus pleases.
    """
    level = quality_weight * (np.asarray(performance) - neutral_performance)
    gap = felt_value(disconfirmation(performance, expectation), loss_aversion)
    return _sigmoid(sensitivity * (level + gap + np.asarray(fairness)))


def experience_weight(base_weight: float, tenure_years: ArrayLike, tenure_anchoring: float) -> Array:
    """Weight of a new experience, shrinking with tenure (Bolton 1998): ``w / (1 + a · tenure)``."""
    return base_weight / (1.0 + tenure_anchoring * np.asarray(tenure_years, dtype=np.float64))


def update_cumulative_satisfaction(cumulative: ArrayLike, transaction: ArrayLike, weight: ArrayLike) -> Array:
    """Exponential smoothing: ``(1 − w) · cumulative + w · transaction``."""
    weight = np.asarray(weight)
    return (1.0 - weight) * np.asarray(cumulative) + weight * np.asarray(transaction)


def update_belief(belief: ArrayLike, signal: ArrayLike, weight: ArrayLike) -> Array:
    """Move a belief a share ``weight`` of the way toward a signal (experience, promise, message)."""
    belief = np.asarray(belief, dtype=np.float64)
    return belief + np.asarray(weight) * (np.asarray(signal) - belief)


# --- 2. Loyalty ------------------------------------------------------------------------------


def link_linear(satisfaction: ArrayLike) -> Array:
    """Loyalty proportional to satisfaction."""
    return np.asarray(satisfaction, dtype=np.float64)


def link_threshold(satisfaction: ArrayLike, *, threshold: float, steepness: float) -> Array:
    """Logistic around ``threshold``, rescaled to map 0 → 0 and 1 → 1 (Oliver 1999; Jones & Sasser 1995)."""
    low = _sigmoid(-steepness * threshold)
    high = _sigmoid(steepness * (1.0 - threshold))
    return (_sigmoid(steepness * (np.asarray(satisfaction) - threshold)) - low) / (high - low)


def link_zone_of_tolerance(satisfaction: ArrayLike, *, low: float, high: float, slope: float) -> Array:
    """Piecewise linear: flat (``slope``) inside [low, high], steep outside; 0 → 0 and 1 → 1."""
    inside_rise = slope * (high - low)
    outside_slope = (1.0 - inside_rise) / (1.0 - (high - low))
    knots_x = (0.0, low, high, 1.0)
    knots_y = (0.0, outside_slope * low, outside_slope * low + inside_rise, 1.0)
    return np.interp(np.asarray(satisfaction, dtype=np.float64), knots_x, knots_y)


def link_concave(satisfaction: ArrayLike, *, concavity: float) -> Array:
    """Diminishing returns near the top: ``1 − (1 − s)^k``."""
    return 1.0 - (1.0 - np.asarray(satisfaction, dtype=np.float64)) ** concavity


LINKS = {
    "linear": link_linear,
    "threshold": link_threshold,
    "zone_of_tolerance": link_zone_of_tolerance,
    "concave": link_concave,
}


def update_trust(trust: ArrayLike, transaction: ArrayLike, *, growth: float, loss_aversion: float) -> Array:
    """Trust builds slowly with good transactions and falls ``loss_aversion`` times faster with bad ones."""
    trust = np.asarray(trust, dtype=np.float64)
    gap = np.asarray(transaction) - trust
    rate = np.where(gap < 0.0, min(1.0, growth * loss_aversion), growth)
    return trust + rate * gap


def habit(tenure_years: ArrayLike, habit_years: float) -> Array:
    """Inertia growing with tenure: ``1 − exp(−tenure / habit_years)``."""
    return 1.0 - np.exp(-np.asarray(tenure_years, dtype=np.float64) / habit_years)


def attitudinal_loyalty(
    linked: ArrayLike, trust: ArrayLike, habit_level: ArrayLike, *, trust_weight: float, habit_weight: float
) -> Array:
    """Loyalty = weighted mix of link(satisfaction), trust and habit (weights add to 1)."""
    return (
        (1.0 - trust_weight - habit_weight) * np.asarray(linked)
        + trust_weight * np.asarray(trust)
        + habit_weight * np.asarray(habit_level)
    )


# --- 3. Word of mouth ------------------------------------------------------------------------


def talk_probability(
    satisfaction: ArrayLike,
    talkativeness: ArrayLike,
    *,
    talk_rate: float,
    extremity: float,
    negativity: float,
) -> Array:
    """Asymmetric U (Anderson 1998): extremes talk most, the dissatisfied ``negativity`` times more.

    ``talk_rate · talkativeness · |2s − 1|^extremity · (negativity if s < 0.5 else 1)``, clipped to [0, 1].
    """
    satisfaction = np.asarray(satisfaction, dtype=np.float64)
    extremeness = np.abs(2.0 * satisfaction - 1.0) ** extremity
    asymmetry = np.where(satisfaction < 0.5, negativity, 1.0)
    return np.clip(talk_rate * np.asarray(talkativeness) * extremeness * asymmetry, 0.0, 1.0)


def absorb_messages(belief: ArrayLike, weight_sum: ArrayLike, weighted_signal_sum: ArrayLike, influence: float) -> Array:
    """Update beliefs from all messages heard this period at once.

    Each message carries a signal (the sender's experienced performance) and a
    weight (``negative_weight`` for complaints, 1 for praise). The belief moves
    toward the weighted mean signal by ``min(1, influence · Σ weights)``.
    Where nothing was heard the belief is unchanged.
    """
    belief = np.asarray(belief, dtype=np.float64)
    weight_sum = np.asarray(weight_sum, dtype=np.float64)
    heard = weight_sum > 0.0
    mean_signal = np.divide(weighted_signal_sum, weight_sum, out=belief.copy(), where=heard)
    pull = np.minimum(1.0, influence * weight_sum)
    return belief + pull * (mean_signal - belief)


# --- 4. Observation --------------------------------------------------------------------------


def survey_rating(satisfaction: ArrayLike, bias: ArrayLike, noise: ArrayLike, cutoffs: ArrayLike) -> NDArray[np.int8]:
    """What a 1–5 survey shows: latent satisfaction + response bias + noise, cut at ``cutoffs``."""
    answer = np.asarray(satisfaction) + np.asarray(bias) + np.asarray(noise)
    return (1 + np.searchsorted(np.asarray(cutoffs), answer, side="right")).astype(np.int8)


def likelihood_to_recommend(
    satisfaction: ArrayLike, loyalty: ArrayLike, bias: ArrayLike, noise: ArrayLike, *, curvature: float
) -> NDArray[np.int8]:
    """The NPS question (0–10): ``10 · answer^curvature``, answer = mean(satisfaction, loyalty) + bias + noise."""
    answer = 0.5 * (np.asarray(satisfaction) + np.asarray(loyalty)) + np.asarray(bias) + np.asarray(noise)
    return np.rint(10.0 * np.clip(answer, 0.0, 1.0) ** curvature).astype(np.int8)


def satisfaction_band(satisfaction: ArrayLike) -> NDArray[np.int8]:
    """Kotler's five bands, 0 = highly dissatisfied … 4 = highly satisfied, in steps of 0.2."""
    return np.minimum((np.asarray(satisfaction) * 5.0).astype(np.int8), 4)


def annualise(rate_per_period: ArrayLike, periods_per_year: int) -> Array:
    """Turn a per-period rate into the share lost over a year: ``1 − (1 − r)^periods``."""
    return 1.0 - (1.0 - np.asarray(rate_per_period, dtype=np.float64)) ** periods_per_year
