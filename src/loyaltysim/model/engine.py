"""One purchase period for all customers at once (vectorised over arrays).

Synchronous: every customer reacts to the state at the start of the period.
Random numbers come from the run's :class:`~loyaltysim.model.streams.CustomerStreams` (one generator
per block of customers) in a fixed layout (:func:`draw_experience`, one uniform per neighbour of
each talker, :func:`draw_response`), so a per-customer loop consuming the same numbers
(:mod:`loyaltysim.model.per_customer`) gives the same results.

Order within a period:

0. scheduled quality shocks (firms' quality changes);
1. purchase and experience (performance, price fairness, service recovery);
2. satisfaction (transaction, cumulative), trust, beliefs (experience, advertising);
3. attitudinal loyalty;
4. word of mouth to network neighbours;
5. survey answers (rating 1–5, likelihood to recommend 0–10);
6. switching decision;
7. firm economics, then the new relationships start.

Two interchangeable implementations: compiled loops (:mod:`loyaltysim.model.kernels`, when numba is
installed) and numpy array operations. :data:`KERNEL` picks the default; both are docked
against the reference model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from loyaltysim.config.schema import Config
from loyaltysim.model import kernels, rules
from loyaltysim.model.network import Network
from loyaltysim.model.state import CustomerState, Market, expected_satisfaction, link_of, loyalty_of, satisfaction_options
from loyaltysim.model.streams import CustomerStreams

__all__ = [
    "KERNEL",
    "KERNELS",
    "ExperienceDraws",
    "PeriodOutcome",
    "ResponseDraws",
    "advance",
    "draw_experience",
    "draw_layout",
    "draw_response",
]

F64 = NDArray[np.float64]
N_BANDS, N_RATINGS, CURVE_BINS = 5, 5, 20
COUNT_ROWS = N_BANDS + N_RATINGS + CURVE_BINS + 1
"""Rows of :attr:`PeriodOutcome.counts`: satisfaction bands (0.2 wide), ratings 1–5, fine satisfaction
bins (1/CURVE_BINS wide; the satisfaction → retention curve), then (promoters, detractors)."""
KERNELS = ("numba", "numpy") if kernels.AVAILABLE else ("numpy",)
KERNEL = os.environ.get("LOYALTYSIM_KERNEL", KERNELS[0])
"""Default implementation of a period: "numba" when available, else "numpy" (env ``LOYALTYSIM_KERNEL``)."""


@dataclass(frozen=True)
class ExperienceDraws:
    """The random numbers of a period's first half (steps 1–4a), one entry per customer.

    A uniform row whose rule is switched off for the whole run is not drawn (None).
    """

    performance_noise: F64
    recovery: F64 | None
    talk: F64 | None


@dataclass(frozen=True)
class ResponseDraws:
    """The random numbers of a period's survey and choice (steps 5–6), one entry per customer."""

    rating_noise: F64
    recommend_noise: F64
    variety: F64 | None
    choice: F64


def draw_layout(config: Config, market: Market, network: Network) -> dict[str, bool]:
    """Which optional uniform rows a run draws: recovery (a firm recovers complaints),
    talk (word of mouth on a network with edges), variety (variety seeking above 0)."""
    return {
        "recovery": bool(market.recovery_enabled.any()),
        "talk": bool(config.word_of_mouth.enabled and len(network.indices)),
        "variety": config.switching.variety_seeking > 0,
    }


def draw_experience(streams: CustomerStreams, *, recovery: bool = True, talk: bool = True) -> ExperienceDraws:
    """The period's first draws, each block from its own stream: the performance-noise row, then the
    uniform rows switched on (recovery, talk)."""
    (noise,) = streams.normal_rows(1)
    uniform = iter(streams.uniform_rows(recovery + talk))
    return ExperienceDraws(noise, *(next(uniform) if on else None for on in (recovery, talk)))


def draw_response(streams: CustomerStreams, *, variety: bool = True) -> ResponseDraws:
    """The period's last draws (after the word-of-mouth deliveries), each block from its own stream:
    rating and recommendation noise rows, then the uniform rows: variety (if on), choice."""
    rating, recommend = streams.normal_rows(2)
    uniform = streams.uniform_rows(1 + variety)
    return ResponseDraws(rating, recommend, uniform[0] if variety else None, uniform[-1])


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
    mean_satisfaction: float
    sd_satisfaction: float
    mean_loyalty: float
    mean_expectation: float
    """Mean over customers of the expectation of the firm each buys from next period."""
    counts: NDArray[np.int64]
    """(:data:`COUNT_ROWS`, 2): customers and switchers by satisfaction band, rating and satisfaction bin;
    last row: promoters (recommend ≥ 9) and detractors (≤ 6)."""


class _Experienced(NamedTuple):
    """Steps 1–3 (and the talk decision) of a period, for every customer."""

    performance: F64
    satisfaction: F64
    trust: F64
    loyalty: F64
    belief: F64
    complaint: NDArray[np.bool_]
    talk: NDArray[np.bool_]


def advance(
    state: CustomerState,
    market: Market,
    config: Config,
    network: Network,
    streams: CustomerStreams,
    step: int,
    *,
    kernel: str | None = None,
) -> PeriodOutcome:
    """Advance the customer state (in place) and the adaptive firms by one period.

    ``kernel`` is "numba" or "numpy" (default :data:`KERNEL`); both give the same results.
    """
    kernel = kernel or KERNEL
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if streams.n != state.n:
        raise ValueError(f"the streams are for {streams.n} customers but the state has {state.n}")
    market.apply_shocks(step)
    active = market.active(step)
    period = (_period_compiled if kernel == "numba" else _period)(state, market, config, network, streams, active)
    if config.strategy.adaptive:
        _adapt_firms(market, config, period.satisfaction_by_firm, active)
    return period


def _period(
    state: CustomerState, market: Market, config: Config, network: Network, streams: CustomerStreams, active: NDArray[np.bool_]
) -> PeriodOutcome:
    """One period with numpy array operations over all customers."""
    layout = draw_layout(config, market, network)
    draws = draw_experience(streams, recovery=layout["recovery"], talk=layout["talk"])
    firm = state.firm

    # 1–3. Experience, satisfaction, trust, beliefs, loyalty; who talks
    lived = _experience(state, market, config, draws)

    # 4. Word of mouth
    positive = negative = 0
    if draws.talk is not None:
        talkers = np.flatnonzero(lived.talk)
        delivery = streams.deliveries(talkers, network.degree)
        positive, negative = _spread_word_of_mouth(state, lived.belief, talkers, delivery, lived, firm, network, config)

    # 5–6. Survey answers at the moment of the decision, then switching
    response = draw_response(streams, variety=layout["variety"])
    rating, recommend, new_firm = _choose(state, market, config, lived, active, response)

    # 7. Economics, and the next period's state
    tally, following = _settle(state, market, config, lived, new_firm, streams.block)
    state.firm = new_firm
    state.belief = lived.belief
    state.tenure = following.tenure
    state.satisfaction = following.satisfaction
    state.trust = following.trust
    state.loyalty = following.loyalty
    block_of = np.arange(state.n) // streams.block
    sums = np.stack(
        [
            np.bincount(block_of, weights=values)
            for values in (lived.satisfaction, lived.satisfaction * lived.satisfaction, lived.loyalty, state.expectation)
        ],
        axis=1,
    )
    return _outcome(
        market,
        config,
        tally,
        firm_before=firm,
        satisfaction=lived.satisfaction,
        loyalty=lived.loyalty,
        rating=rating,
        recommend=recommend,
        switched=following.switched,
        messages_positive=positive,
        messages_negative=negative,
        **_means(sums, state.n),
        counts=_count(lived.satisfaction, following.switched, rating, recommend),
    )


def _means(sums: F64, n: int) -> dict[str, float]:
    """The period's means from per-block sums (columns: satisfaction, its square, loyalty, expectation)."""
    satisfaction, square, loyalty, expectation = (float(total) / n for total in sums.sum(axis=0))
    return {
        "mean_satisfaction": satisfaction,
        "sd_satisfaction": float(np.sqrt(max(square - satisfaction * satisfaction, 0.0))),
        "mean_loyalty": loyalty,
        "mean_expectation": expectation,
    }


def _count(
    satisfaction: F64, switched: NDArray[np.bool_], rating: NDArray[np.int8], recommend: NDArray[np.int8]
) -> NDArray[np.int64]:
    """The period's :attr:`PeriodOutcome.counts`."""
    rows = np.concatenate(
        [
            rules.satisfaction_band(satisfaction).astype(np.int64),
            N_BANDS + rating.astype(np.int64) - 1,
            N_BANDS + N_RATINGS + np.minimum((satisfaction * CURVE_BINS).astype(np.int64), CURVE_BINS - 1),
        ]
    )
    moved = np.tile(switched, 3)
    counts = np.zeros((COUNT_ROWS, 2), dtype=np.int64)
    counts[:-1, 0] = np.bincount(rows, minlength=COUNT_ROWS - 1)
    counts[:-1, 1] = np.bincount(rows[moved], minlength=COUNT_ROWS - 1)
    counts[-1] = (recommend >= 9).sum(), (recommend <= 6).sum()
    return counts


def _outcome(market: Market, config: Config, tally: _Tally, **customers: Any) -> PeriodOutcome:
    """The period's outcome: the customers' results (keywords) and the firms' economics from their tallies."""
    econ = config.economics
    revenue = market.price * tally.purchases
    costs = (
        market.unit_cost * tally.purchases
        + econ.retention_cost * (tally.purchases - tally.lost)
        + econ.acquisition_cost * tally.won
        + market.programme_cost * tally.purchases
        + market.recovery_cost * tally.complaints
    )
    satisfaction_by_firm = np.divide(
        tally.satisfaction_sum, tally.purchases, out=np.full(market.k, np.nan), where=tally.purchases > 0
    )
    return PeriodOutcome(
        purchases=tally.purchases,
        won=tally.won,
        lost=tally.lost,
        revenue=revenue,
        costs=costs,
        satisfaction_by_firm=satisfaction_by_firm,
        **customers,
    )


class _Tally(NamedTuple):
    """Per-firm counts of a period."""

    purchases: NDArray[np.int64]
    won: NDArray[np.int64]
    lost: NDArray[np.int64]
    complaints: NDArray[np.int64]
    satisfaction_sum: F64


class _Following(NamedTuple):
    """The customers' state for the next period (and who switched)."""

    switched: NDArray[np.bool_]
    satisfaction: F64
    trust: F64
    loyalty: F64
    tenure: NDArray[np.int32]


# --- numpy implementation -------------------------------------------------------------------


def _experience(state: CustomerState, market: Market, config: Config, draws: ExperienceDraws) -> _Experienced:
    sat, exp_cfg, wom = config.satisfaction, config.expectations, config.word_of_mouth
    rows = np.arange(state.n)
    firm = state.firm
    performance = np.clip(
        market.quality[firm] + state.fit[rows, firm] + market.consistency[firm] * draws.performance_noise, 0.0, 1.0
    )
    fairness = rules.price_fairness(market.price[firm], config.economics.reference_price, state.price_sensitivity)
    expectation = state.belief[rows, firm]
    transaction = rules.transaction_satisfaction(
        performance,
        expectation,
        fairness,
        **satisfaction_options(config),
    )
    complaint = (transaction < 0.5) & market.recovery_enabled[firm]
    if draws.recovery is not None:
        recovered = complaint & (draws.recovery < market.recovery_success[firm])
        transaction = np.where(recovered, transaction + market.recovery_softening[firm] * (0.5 - transaction), transaction)
    tenure_years = state.tenure / config.periods_per_year
    satisfaction = rules.update_cumulative_satisfaction(
        state.satisfaction,
        transaction,
        rules.experience_weight(1.0 - sat.memory, tenure_years, sat.tenure_anchoring),
    )
    trust = rules.update_trust(state.trust, transaction, growth=config.loyalty.trust_growth, loss_aversion=sat.loss_aversion)
    belief = rules.update_belief(state.belief, market.promise[None, :], exp_cfg.advertising_weight)
    belief[rows, firm] = rules.update_belief(
        belief[rows, firm],
        performance,
        rules.experience_weight(exp_cfg.experience_weight, tenure_years, sat.tenure_anchoring),
    )
    loyalty = loyalty_of(config, satisfaction, trust, state.tenure)
    talk = np.zeros(state.n, dtype=bool)
    if draws.talk is not None:
        talk = draws.talk < rules.talk_probability(
            satisfaction, state.talkativeness, talk_rate=wom.talk_rate, extremity=wom.extremity, negativity=wom.negativity
        )
    return _Experienced(performance, satisfaction, trust, loyalty, belief, complaint, talk)


def _spread_word_of_mouth(
    state: CustomerState,
    belief: F64,
    talkers: NDArray[np.int64],
    delivery: F64,
    lived: _Experienced,
    firm: NDArray[np.int32],
    network: Network,
    config: Config,
) -> tuple[int, int]:
    """Talkers tell each neighbour (if its delivery draw is below ``reach``) about their firm;
    listeners update their beliefs (in place). Returns the numbers of positive and negative messages."""
    wom = config.word_of_mouth
    k = belief.shape[1]
    starts, ends = network.indptr[talkers], network.indptr[talkers + 1]
    counts = ends - starts
    speaker = np.repeat(talkers, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    listener = network.indices[np.repeat(starts, counts) + offsets]
    delivered = delivery < wom.reach
    speaker, listener = speaker[delivered], listener[delivered]
    is_negative = lived.satisfaction[speaker] < 0.5
    weight = np.where(is_negative, wom.negative_weight, 1.0)
    slot = listener.astype(np.int64) * k + firm[speaker]
    size = belief.size
    weight_sum = np.bincount(slot, weights=weight, minlength=size)  # sums in message order
    signal_sum = np.bincount(slot, weights=weight * lived.performance[speaker], minlength=size)
    flat = belief.reshape(-1)
    flat[:] = rules.absorb_messages(flat, weight_sum, signal_sum, wom.influence)
    n_negative = int(is_negative.sum())
    return len(speaker) - n_negative, n_negative


def _choose(
    state: CustomerState,
    market: Market,
    config: Config,
    lived: _Experienced,
    active: NDArray[np.bool_],
    draws: ResponseDraws,
) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.int32]]:
    """Survey answers, then the logit choice among active firms (the current firm carries loyalty and
    switching cost; a variety seeker drops its current firm if another has positive weight)."""
    sw, obs = config.switching, config.observation
    rows = np.arange(state.n)
    firm, belief, loyalty = state.firm, lived.belief, lived.loyalty
    rating = rules.survey_rating(
        lived.satisfaction, state.response_bias, obs.rating_noise * draws.rating_noise, obs.rating_cutoffs
    )
    recommend = rules.likelihood_to_recommend(
        lived.satisfaction,
        loyalty,
        state.response_bias,
        obs.rating_noise * draws.recommend_noise,
        curvature=obs.recommend_curvature,
    )
    value = belief + rules.price_fairness(
        market.price[None, :], config.economics.reference_price, state.price_sensitivity[:, None]
    )
    utility = sw.value_weight * value
    utility[rows, firm] += sw.loyalty_weight * loyalty + state.switching_cost + market.programme_switching_cost[firm]
    utility = np.where(active[None, :], utility / sw.choice_noise, -np.inf)
    weights = np.exp(utility - utility.max(axis=1, keepdims=True))
    if draws.variety is not None:
        others = weights > 0.0
        others[rows, firm] = False
        seekers = np.flatnonzero((draws.variety < sw.variety_seeking) & others.any(axis=1))
        weights[seekers, firm[seekers]] = 0.0
    cumulative = np.cumsum(weights, axis=1)
    target = draws.choice * cumulative[:, -1]
    chosen = (cumulative <= target[:, None]).sum(axis=1)
    overflow = np.flatnonzero(chosen == market.k)  # rounding put the target at the very top
    if len(overflow):
        chosen[overflow] = market.k - 1 - np.argmax(weights[overflow, ::-1] > 0.0, axis=1)
    return rating, recommend, chosen.astype(np.int32)


def _settle(
    state: CustomerState, market: Market, config: Config, lived: _Experienced, new_firm: NDArray[np.int32], block: int
) -> tuple[_Tally, _Following]:
    """Firms' tallies; new relationships start with their expectation met, neutral trust and no tenure.

    Satisfaction is summed by firm within each block of ``block`` customers, then over the blocks in order
    (as the compiled kernels sum it)."""
    k, firm = market.k, state.firm
    switched = new_firm != firm
    blocks = -(-state.n // block)
    slot = np.arange(state.n) // block * k + firm
    by_block = np.bincount(slot, weights=lived.satisfaction, minlength=blocks * k).reshape(blocks, k)
    tally = _Tally(
        purchases=np.bincount(firm, minlength=k),
        won=np.bincount(new_firm[switched], minlength=k),
        lost=np.bincount(firm[switched], minlength=k),
        complaints=np.bincount(firm[lived.complaint], minlength=k),
        satisfaction_sum=by_block.sum(axis=0),
    )
    following = _Following(
        switched=switched,
        satisfaction=lived.satisfaction.copy(),  # the outcome keeps the values at the decision
        trust=lived.trust.copy(),
        loyalty=lived.loyalty.copy(),
        tenure=np.where(switched, 0, state.tenure + 1).astype(np.int32),
    )
    movers = np.flatnonzero(switched)
    if len(movers):
        following.satisfaction[movers] = expected_satisfaction(
            config, market, lived.belief[movers], new_firm[movers], state.price_sensitivity[movers]
        )
        following.trust[movers] = 0.5
        following.loyalty[movers] = loyalty_of(
            config, following.satisfaction[movers], following.trust[movers], following.tenure[movers]
        )
    return tally, following


# --- compiled implementation (numba) --------------------------------------------------------


class _Constants(NamedTuple):
    """The config's numbers as the compiled kernels read them (computed once per config)."""

    experience: F64
    link: int
    link_params: F64
    choose: F64
    cutoffs: F64
    settle: F64


def _constants(state: CustomerState, config: Config) -> _Constants:
    cached = state.scratch.get("constants")
    if cached is not None and cached[0] is config:
        return cached[1]
    sat, exp_cfg, lo, wom, sw, obs = (
        config.satisfaction,
        config.expectations,
        config.loyalty,
        config.word_of_mouth,
        config.switching,
        config.observation,
    )
    reference_price = config.economics.reference_price
    constants = _Constants(
        experience=np.array(
            [
                reference_price,
                sat.sensitivity,
                sat.loss_aversion,
                sat.quality_weight,
                sat.neutral_performance,
                1.0 - sat.memory,
                sat.tenure_anchoring,
                config.periods_per_year,
                lo.trust_growth,
                exp_cfg.experience_weight,
                exp_cfg.advertising_weight,
                lo.trust_weight,
                lo.habit_weight,
                lo.habit_years,
                wom.talk_rate,
                wom.extremity,
                wom.negativity,
            ]
        ),
        link=kernels.LINK_CODES[lo.link],
        link_params=_link_constants(config),
        choose=np.array(
            [
                reference_price,
                obs.rating_noise,
                obs.recommend_curvature,
                sw.value_weight,
                sw.loyalty_weight,
                sw.choice_noise,
                sw.variety_seeking,
            ]
        ),
        cutoffs=np.asarray(obs.rating_cutoffs, dtype=np.float64),
        settle=np.array(
            [
                reference_price,
                sat.sensitivity,
                sat.loss_aversion,
                sat.quality_weight,
                sat.neutral_performance,
                lo.trust_weight,
                lo.habit_weight,
                float(rules.habit(0.0, lo.habit_years)),
            ]
        ),
    )
    state.scratch["constants"] = (config, constants)
    return constants


def _scratch(state: CustomerState, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """A work buffer kept between periods (contents undefined on return)."""
    buffer = state.scratch.get(name)
    if buffer is None or buffer.shape != shape:
        buffer = state.scratch[name] = np.empty(shape, dtype=dtype)
    return buffer


def _zeroed_message_sums(state: CustomerState, shape: tuple[int, int, int]) -> tuple[F64, NDArray[np.bool_]]:
    """Per-(listener, firm) message (weight, signal) sums and per-listener "reached" flags, kept between
    periods and zero between uses (the kernels zero what they used), so a period costs O(messages), not
    O(customers × firms)."""
    sums = state.scratch.get("message_sums")
    if sums is None or sums[0].shape != shape:
        sums = state.scratch["message_sums"] = (np.zeros(shape), np.zeros(shape[0], dtype=np.bool_))
    return sums


def _period_compiled(
    state: CustomerState, market: Market, config: Config, network: Network, streams: CustomerStreams, active: NDArray[np.bool_]
) -> PeriodOutcome:
    """One period with the compiled kernels: two passes over the blocks of customers, word of mouth between."""
    n, k = state.n, market.k
    constants = _constants(state, config)
    layout = draw_layout(config, market, network)
    recovery_row = 0 if layout["recovery"] else -1
    talk_row = int(layout["recovery"]) if layout["talk"] else -1
    performance = _scratch(state, "performance", (n,))
    complaint = _scratch(state, "complaint", (n,), np.bool_)
    sent = _scratch(state, "sent", (n,), np.int32)
    listeners = _scratch(state, "listeners", (len(network.indices) if layout["talk"] else 0,), np.int32)
    satisfaction, loyalty = np.empty(n), np.empty(n)
    parallel = n >= kernels.PARALLEL_FROM
    (kernels.experience_parallel if parallel else kernels.experience)(
        streams.typed(),
        streams.block,
        state.firm,
        state.tenure,
        state.belief,
        state.fit,
        state.satisfaction,
        state.trust,
        state.price_sensitivity,
        state.talkativeness,
        market.quality,
        market.consistency,
        market.price,
        market.promise,
        market.recovery_enabled,
        market.recovery_success,
        market.recovery_softening,
        network.indptr,
        network.indices,
        config.word_of_mouth.reach,
        recovery_row,
        talk_row,
        constants.experience,
        constants.link,
        constants.link_params,
        performance,
        satisfaction,
        loyalty,
        complaint,
        sent,
        listeners,
    )
    heard, reached = _zeroed_message_sums(state, (n, k, 2) if layout["talk"] else (0, k, 2))
    positive = negative = 0
    if layout["talk"]:
        parts = kernels.threads() if parallel else 1
        counted = np.zeros((parts, 2), dtype=np.int64)
        (kernels.send_messages_parallel if parallel else kernels.send_messages)(
            streams.block,
            parts,
            sent,
            listeners,
            network.indptr,
            state.firm,
            satisfaction,
            performance,
            config.word_of_mouth.negative_weight,
            heard,
            reached,
            counted,
        )
        positive, negative = (int(total) for total in counted.sum(axis=0))
    blocks = len(streams.generators)
    rating, recommend = np.empty(n, dtype=np.int8), np.empty(n, dtype=np.int8)
    new_firm, switched = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.bool_)
    tallies, satisfaction_sums = np.zeros((blocks, 4, k), dtype=np.int64), np.zeros((blocks, k))
    sums = np.zeros((blocks, 4))
    counts = np.zeros((blocks, COUNT_ROWS, 2), dtype=np.int64)
    (kernels.respond_parallel if parallel else kernels.respond)(
        streams.typed(),
        streams.block,
        state.firm,
        state.tenure,
        state.belief,
        state.satisfaction,
        state.trust,
        state.loyalty,
        state.response_bias,
        state.switching_cost,
        state.price_sensitivity,
        market.price,
        market.programme_switching_cost,
        active,
        0 if layout["variety"] else -1,
        heard,
        reached,
        config.word_of_mouth.influence,
        satisfaction,
        loyalty,
        complaint,
        constants.choose,
        constants.cutoffs,
        constants.settle,
        constants.link,
        constants.link_params,
        rating,
        recommend,
        new_firm,
        switched,
        tallies,
        satisfaction_sums,
        sums,
        counts,
    )
    firm_before = state.firm
    state.firm = new_firm
    purchases, won, lost, complaints = tallies.sum(axis=0)
    tally = _Tally(purchases, won, lost, complaints, satisfaction_sums.sum(axis=0))
    return _outcome(
        market,
        config,
        tally,
        firm_before=firm_before,
        satisfaction=satisfaction,
        loyalty=loyalty,
        rating=rating,
        recommend=recommend,
        switched=switched,
        messages_positive=positive,
        messages_negative=negative,
        **_means(sums, n),
        counts=counts.sum(axis=0),
    )


def _link_constants(config: Config) -> F64:
    """The six constants the compiled link function reads (see ``kernels._link``)."""
    lo = config.loyalty
    constants = np.zeros(6)
    if lo.link == "threshold":
        low = float(rules._sigmoid(-lo.steepness * lo.threshold))  # as in rules.link_threshold
        high = float(rules._sigmoid(lo.steepness * (1.0 - lo.threshold)))
        constants[:4] = lo.steepness, lo.threshold, low, high
    elif lo.link == "zone_of_tolerance":
        link = link_of(config)
        constants[:4] = lo.zone_low, lo.zone_high, float(link(lo.zone_low)), float(link(lo.zone_high))
    elif lo.link == "concave":
        constants[4] = lo.concavity
    return constants


def _adapt_firms(market: Market, config: Config, satisfaction_by_firm: F64, active: NDArray[np.bool_]) -> None:
    """Adaptive firms raise quality (and unit cost) while their customers' satisfaction is below target."""
    strategy = config.strategy
    below = active & (satisfaction_by_firm < strategy.satisfaction_target)
    step_up = np.where(below, np.minimum(strategy.adjustment, 1.0 - market.quality), 0.0)
    market.quality = market.quality + step_up
    market.unit_cost = market.unit_cost + strategy.quality_unit_cost * step_up
