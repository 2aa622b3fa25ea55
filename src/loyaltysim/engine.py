"""One purchase period for all customers at once (vectorised over arrays).

Synchronous: every customer reacts to the state at the start of the period.
Random numbers are drawn as whole arrays, in a fixed order, from the model's
generator (:func:`draw_period`, then one uniform per edge of each talker), so a
per-customer loop consuming the same numbers gives identical results.

Order within a period:

1. purchase and experience (performance, price fairness, service recovery);
2. satisfaction (transaction, cumulative), trust, beliefs (experience, advertising);
3. attitudinal loyalty;
4. word of mouth to network neighbours;
5. survey answers (rating 1–5, likelihood to recommend 0–10);
6. switching decision;
7. firm economics, then the new relationships start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import behavior
from .config import Config
from .network import Network
from .population import CustomerState, Market, expected_satisfaction, loyalty_of

__all__ = ["PeriodDraws", "PeriodOutcome", "advance", "draw_period"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class PeriodDraws:
    """Random numbers of one period, one entry per customer (edge uniforms are drawn later)."""

    performance_noise: F64
    rating_noise: F64
    recommend_noise: F64
    recovery: F64
    talk: F64
    variety: F64
    choice: F64


def draw_period(rng: np.random.Generator, n: int) -> PeriodDraws:
    """Draw a period's customer-level random numbers: 3 normal rows, then 4 uniform rows."""
    normal = rng.standard_normal((3, n))
    uniform = rng.random((4, n))
    return PeriodDraws(*normal, *uniform)


@dataclass(frozen=True)
class PeriodOutcome:
    """What happened in one period: inputs to the metrics."""

    firm_before: NDArray[np.int32]
    satisfaction: F64
    loyalty: F64
    rating: NDArray[np.int8]
    recommend: NDArray[np.int8]
    switched: NDArray[np.bool_]
    messages_positive: int
    messages_negative: int
    purchases: NDArray[np.int64]
    won: NDArray[np.int64]
    lost: NDArray[np.int64]
    revenue: F64
    costs: F64
    satisfaction_by_firm: F64


def advance(
    state: CustomerState,
    market: Market,
    config: Config,
    network: Network,
    rng: np.random.Generator,
    step: int,
) -> PeriodOutcome:
    """Advance the customer state (in place) and the adaptive firms by one period."""
    n, k = state.n, market.k
    rows = np.arange(n)
    sat, exp_cfg, wom = config.satisfaction, config.expectations, config.word_of_mouth
    ppy = config.periods_per_year
    draws = draw_period(rng, n)
    firm = state.firm
    active = market.active(step)

    # 1. Experience
    performance = np.clip(
        market.quality[firm] + state.fit[rows, firm] + market.consistency[firm] * draws.performance_noise, 0.0, 1.0
    )
    fairness = behavior.price_fairness(market.price[firm], config.economics.reference_price, state.price_sensitivity)
    expectation = state.belief[rows, firm]
    transaction = behavior.transaction_satisfaction(
        performance,
        expectation,
        fairness,
        sensitivity=sat.sensitivity,
        loss_aversion=sat.loss_aversion,
        quality_weight=sat.quality_weight,
        neutral_performance=sat.neutral_performance,
    )
    complaint = (transaction < 0.5) & market.recovery_enabled[firm]
    recovered = complaint & (draws.recovery < market.recovery_success[firm])
    transaction = np.where(recovered, transaction + market.recovery_softening[firm] * (0.5 - transaction), transaction)

    # 2. Satisfaction, trust, beliefs
    tenure_years = state.tenure / ppy
    satisfaction = behavior.update_cumulative_satisfaction(
        state.satisfaction,
        transaction,
        behavior.experience_weight(1.0 - sat.memory, tenure_years, sat.tenure_anchoring),
    )
    trust = behavior.update_trust(state.trust, transaction, growth=config.loyalty.trust_growth, loss_aversion=sat.loss_aversion)
    belief = behavior.update_belief(state.belief, market.promise[None, :], exp_cfg.advertising_weight)
    belief[rows, firm] = behavior.update_belief(
        belief[rows, firm],
        performance,
        behavior.experience_weight(exp_cfg.experience_weight, tenure_years, sat.tenure_anchoring),
    )

    # 3. Loyalty
    loyalty = loyalty_of(config, satisfaction, trust, state.tenure)

    # 4. Word of mouth
    positive = negative = 0
    if wom.enabled and len(network.indices):
        talk = draws.talk < behavior.talk_probability(
            satisfaction,
            state.talkativeness,
            talk_rate=wom.talk_rate,
            extremity=wom.extremity,
            negativity=wom.negativity,
        )
        belief, positive, negative = _spread_word_of_mouth(belief, talk, satisfaction, performance, firm, network, rng, config)

    # 5. Survey answers, at the moment of the decision
    rating = behavior.survey_rating(
        satisfaction,
        state.response_bias,
        config.observation.rating_noise * draws.rating_noise,
        config.observation.rating_cutoffs,
    )
    recommend = behavior.likelihood_to_recommend(
        satisfaction,
        loyalty,
        state.response_bias,
        config.observation.rating_noise * draws.recommend_noise,
        curvature=config.observation.recommend_curvature,
    )

    # 6. Switching
    new_firm = _choose_firm(state, market, config, belief, loyalty, firm, active, draws)
    switched = new_firm != firm

    # 7. Economics
    purchases = np.bincount(firm, minlength=k)
    won = np.bincount(new_firm[switched], minlength=k)
    lost = np.bincount(firm[switched], minlength=k)
    econ = config.economics
    revenue = market.price * purchases
    costs = (
        market.unit_cost * purchases
        + econ.retention_cost * (purchases - lost)
        + econ.acquisition_cost * won
        + market.programme_cost * purchases
        + market.recovery_cost * np.bincount(firm[complaint], minlength=k)
    )
    satisfaction_by_firm = np.divide(
        np.bincount(firm, weights=satisfaction, minlength=k),
        purchases,
        out=np.full(k, np.nan),
        where=purchases > 0,
    )
    outcome = PeriodOutcome(
        firm_before=firm,
        satisfaction=satisfaction,
        loyalty=loyalty,
        rating=rating,
        recommend=recommend,
        switched=switched,
        messages_positive=positive,
        messages_negative=negative,
        purchases=purchases,
        won=won,
        lost=lost,
        revenue=revenue,
        costs=costs,
        satisfaction_by_firm=satisfaction_by_firm,
    )

    # New relationships start with their expectation met, neutral trust and no tenure.
    state.firm = new_firm.astype(np.int32)
    state.belief = belief
    state.tenure = np.where(switched, 0, state.tenure + 1).astype(np.int32)
    state.satisfaction = satisfaction.copy()  # the outcome keeps the values at the decision
    state.trust = trust.copy()
    state.loyalty = loyalty.copy()
    movers = np.flatnonzero(switched)
    if len(movers):
        state.satisfaction[movers] = expected_satisfaction(
            config, market, belief[movers], state.firm[movers], state.price_sensitivity[movers]
        )
        state.trust[movers] = 0.5
        state.loyalty[movers] = loyalty_of(config, state.satisfaction[movers], state.trust[movers], state.tenure[movers])
    if config.strategy.adaptive:
        _adapt_firms(market, config, satisfaction_by_firm, active)
    return outcome


def _spread_word_of_mouth(
    belief: F64,
    talk: NDArray[np.bool_],
    satisfaction: F64,
    performance: F64,
    firm: NDArray[np.int32],
    network: Network,
    rng: np.random.Generator,
    config: Config,
) -> tuple[F64, int, int]:
    """Talkers tell each neighbour (with chance ``reach``) about their firm; listeners update beliefs."""
    wom = config.word_of_mouth
    k = belief.shape[1]
    talkers = np.flatnonzero(talk)
    starts, ends = network.indptr[talkers], network.indptr[talkers + 1]
    counts = ends - starts
    speaker = np.repeat(talkers, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    listener = network.indices[np.repeat(starts, counts) + offsets]
    delivered = rng.random(len(listener)) < wom.reach
    speaker, listener = speaker[delivered], listener[delivered]
    is_negative = satisfaction[speaker] < 0.5
    weight = np.where(is_negative, wom.negative_weight, 1.0)
    slot = listener.astype(np.int64) * k + firm[speaker]
    size = belief.size
    weight_sum = np.bincount(slot, weights=weight, minlength=size)
    signal_sum = np.bincount(slot, weights=weight * performance[speaker], minlength=size)
    updated = behavior.absorb_messages(belief.ravel(), weight_sum, signal_sum, wom.influence).reshape(belief.shape)
    n_negative = int(is_negative.sum())
    return updated, len(speaker) - n_negative, n_negative


def _choose_firm(
    state: CustomerState,
    market: Market,
    config: Config,
    belief: F64,
    loyalty: F64,
    firm: NDArray[np.int32],
    active: NDArray[np.bool_],
    draws: PeriodDraws,
) -> NDArray[np.int64]:
    """Logit choice among active firms; the current firm carries loyalty and switching cost."""
    sw = config.switching
    n = state.n
    rows = np.arange(n)
    value = belief + behavior.price_fairness(
        market.price[None, :], config.economics.reference_price, state.price_sensitivity[:, None]
    )
    utility = sw.value_weight * value
    utility[rows, firm] += sw.loyalty_weight * loyalty + state.switching_cost + market.programme_switching_cost[firm]
    utility = np.where(active[None, :], utility / sw.choice_noise, -np.inf)
    weights = np.exp(utility - utility.max(axis=1, keepdims=True))
    seeks_variety = draws.variety < sw.variety_seeking
    alternatives_exist = (weights.sum(axis=1) - weights[rows, firm]) > 0.0
    seekers = np.flatnonzero(seeks_variety & alternatives_exist)
    weights[seekers, firm[seekers]] = 0.0
    cumulative = np.cumsum(weights, axis=1)
    target = draws.choice * cumulative[:, -1]
    return np.minimum((cumulative <= target[:, None]).sum(axis=1), market.k - 1)


def _adapt_firms(market: Market, config: Config, satisfaction_by_firm: F64, active: NDArray[np.bool_]) -> None:
    """Adaptive firms raise quality (and unit cost) while their customers' satisfaction is below target."""
    strategy = config.strategy
    below = active & (satisfaction_by_firm < strategy.satisfaction_target)
    step_up = np.where(below, np.minimum(strategy.adjustment, 1.0 - market.quality), 0.0)
    market.quality = market.quality + step_up
    market.unit_cost = market.unit_cost + strategy.quality_unit_cost * step_up
