"""One purchase period for all customers at once: draws, the compiled kernels, the period's outcome.

Synchronous: every customer reacts to the state at the start of the period.
Random numbers come from the run's :class:`~loyaltysim.model.streams.CustomerStreams` (one generator
per block of customers) in a fixed layout (:func:`draw_layout`; the compiled kernels draw them block by
block, and :func:`draw_experience`, one uniform per neighbour of each talker, and :func:`draw_response`
draw the same numbers with numpy for the per-customer reference model, :mod:`loyaltysim.model.per_customer`).

Order within a period:

0. scheduled quality shocks (firms' quality changes);
1. purchase and experience (performance, price fairness, service recovery);
2. satisfaction (transaction, cumulative), trust, beliefs (experience, advertising);
3. attitudinal loyalty;
4. word of mouth to network neighbours;
5. survey answers (rating 1–5, likelihood to recommend 0–10), posted to the review platform if on;
6. switching decision: offers, consideration, choice;
7. firm economics, then the new relationships start.

Steps 1–7 run in the compiled loops of :mod:`loyaltysim.model.kernels`, which call the rules of
:mod:`loyaltysim.model.rules`; the firms adapt afterwards (``Firm.step``, :mod:`loyaltysim.model.agents`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from loyaltysim.config.schema import Config
from loyaltysim.model import kernels, parameters
from loyaltysim.model.network import Network
from loyaltysim.model.state import CustomerState, Market
from loyaltysim.model.streams import CustomerStreams

__all__ = [
    "COUNT_ROWS",
    "ExperienceDraws",
    "PeriodOutcome",
    "ResponseDraws",
    "advance",
    "draw_experience",
    "draw_layout",
    "draw_response",
    "outcome",
    "parameter_values",
    "period_work",
]

F64 = NDArray[np.float64]
COUNT_ROWS, CURVE_BINS = kernels.COUNT_ROWS, kernels.CURVE_BINS


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
    """The random numbers of a period's survey and choice (steps 5–6), one entry per customer.

    A uniform row whose rule is switched off for the whole run is not drawn (None)."""

    rating_noise: F64
    recommend_noise: F64
    variety: F64 | None
    consider: F64 | None
    offer: F64 | None
    rival: F64 | None
    choice: F64
    review: F64 | None = None
    """Whether to post one's rating to the review platform (``reviews.enabled``); drawn before ``choice``."""


def draw_layout(config: Config, market: Market, network: Network) -> dict[str, bool]:
    """Which optional uniform rows a run draws: recovery (a firm recovers complaints),
    talk (word of mouth on a network with edges), variety (variety seeking above 0), consider
    (``switching.consideration: triggered``), offers (two rows: ``switching.offer_rate`` above 0), review
    (``reviews.enabled``: whether to post one's rating)."""
    return {
        "recovery": bool(market.recovery_enabled.any()),
        "talk": bool(config.word_of_mouth.enabled and len(network.indices)),
        "variety": config.switching.variety_seeking > 0,
        "consider": config.switching.consideration == "triggered",
        "offers": config.switching.offer_rate > 0,
        "review": config.reviews.enabled,
    }


def draw_experience(streams: CustomerStreams, *, recovery: bool = True, talk: bool = True) -> ExperienceDraws:
    """The period's first draws, each block from its own stream: the performance-noise row, then the
    uniform rows switched on (recovery, talk)."""
    (noise,) = streams.normal_rows(1)
    uniform = iter(streams.uniform_rows(recovery + talk))
    return ExperienceDraws(noise, *(next(uniform) if on else None for on in (recovery, talk)))


def draw_response(
    streams: CustomerStreams, *, variety: bool = True, consider: bool = True, offers: bool = True, review: bool = False
) -> ResponseDraws:
    """The period's last draws (after the word-of-mouth deliveries), each block from its own stream:
    rating and recommendation noise rows, then the uniform rows: variety, consider, offer and rival,
    review (each if on), choice."""
    rating, recommend = streams.normal_rows(2)
    uniform = iter(streams.uniform_rows(1 + variety + consider + 2 * offers + review))
    variety_row, consider_row = (next(uniform) if on else None for on in (variety, consider))
    offer_row, rival_row = (next(uniform) if offers else None for _ in range(2))
    review_row = next(uniform) if review else None
    return ResponseDraws(rating, recommend, variety_row, consider_row, offer_row, rival_row, next(uniform), review_row)


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
    promoters (recommend ≥ 9) and detractors (≤ 6); messages (positive, negative) by the sender's band;
    customers who considered alternatives and who got an offer, by band (``kernels.COUNT_ROWS``)."""


def advance(
    state: CustomerState, market: Market, config: Config, network: Network, streams: CustomerStreams, step: int
) -> PeriodOutcome:
    """Advance the customer state (in place) by one period: quality shocks, then steps 1–7."""
    draws, period = period_work(state, market, config, network, streams, step)
    market.apply_shocks(step)
    (kernels.period_parallel if state.n >= kernels.PARALLEL_FROM else kernels.period)(
        streams.typed(),
        tuple(draws),
        state.arrays(),
        market.arrays(),
        parameter_values(state, config),
        (network.indptr, network.indices),
        tuple(period),
    )
    firm_before, state.firm = state.firm, period.new_firm
    return outcome(period, firm_before)


def period_work(
    state: CustomerState,
    market: Market,
    config: Config,
    network: Network,
    streams: CustomerStreams,
    step: int,
    periods: int = 1,
) -> tuple[kernels.Draws, kernels.Period]:
    """The draw layout and the work arrays of ``periods`` periods from ``step`` (the arrays the kernels sum
    into, and the tenure rules, are kept between periods in ``state.scratch``)."""
    if streams.n != state.n:
        raise ValueError(f"the streams are for {streams.n} customers but the state has {state.n}")
    n, k = state.n, market.k
    layout = draw_layout(config, market, network)
    draws = kernels.Draws(
        block=streams.block,
        recovery_row=0 if layout["recovery"] else -1,
        talk_row=int(layout["recovery"]) if layout["talk"] else -1,
        variety_row=0 if layout["variety"] else -1,
        consider_row=int(layout["variety"]) if layout["consider"] else -1,
        offer_row=int(layout["variety"]) + int(layout["consider"]) if layout["offers"] else -1,
        review_row=int(layout["variety"]) + int(layout["consider"]) + 2 * int(layout["offers"]) if layout["review"] else -1,
    )
    parallel = n >= kernels.PARALLEL_FROM
    blocks = len(streams.generators)
    listeners = n if layout["talk"] else 0  # the message sums cost O(messages) per period, not O(customers × firms)
    period = kernels.Period(
        performance=_buffer(state, "performance", (n,)),
        satisfaction=np.empty(n),
        felt=_buffer(state, "felt", (n,)),
        loyalty=np.empty(n),
        complaint=_buffer(state, "complaint", (n,), np.bool_),
        sent=_buffer(state, "sent", (n,), np.int32),
        listeners=_buffer(state, "listeners", (len(network.indices) if layout["talk"] else 0,), np.int32),
        heard=_buffer(state, "heard", (listeners, k, 2)),
        reached=_buffer(state, "reached", (listeners,), np.bool_),
        prompted=_buffer(state, "prompted", (listeners,), np.bool_),
        messages=np.zeros((kernels.threads() if parallel else 1, 2), dtype=np.int64),
        active=market.active(step),
        rating=np.empty(n, dtype=np.int8),
        recommend=np.empty(n, dtype=np.int8),
        new_firm=np.empty(n, dtype=np.int32),
        switched=np.empty(n, dtype=np.bool_),
        block_tallies=_buffer(state, "block_tallies", (blocks, 4, k), np.int64),
        block_satisfaction=_buffer(state, "block_satisfaction", (blocks, k)),
        block_sums=_buffer(state, "block_sums", (blocks, 4)),
        block_counts=_buffer(state, "block_counts", (blocks, COUNT_ROWS, 2), np.int64),
        firm_tallies=np.zeros((4, k), dtype=np.int64),
        firm_accounts=np.empty((3, k)),
        means=np.empty(4),
        counts=np.zeros((COUNT_ROWS, 2), dtype=np.int64),
        block_reviews=_buffer(state, "block_reviews", (blocks if layout["review"] else 0, 2, k)),
        **_tenure_rules(state, config, periods),
    )
    return draws, period


def _tenure_rules(state: CustomerState, config: Config, periods: int) -> dict[str, np.ndarray]:
    """``Period.tenure_rules`` and its count, kept in ``state.scratch`` for the config: wide enough for the
    longest tenure after ``periods`` more periods, so the kernel fills each tenure once per run. It grows by
    half again at least, keeping the tenures already filled (a stepped run asks for one more each period)."""
    wanted = int(state.tenure.max(initial=0)) + periods + 1
    cached = state.scratch.get("tenure_rules")
    if cached is None or cached[0] is not config:
        cached = (config, np.empty((3, 0)), np.zeros(1, dtype=np.int64))
    _, table, known = cached
    if table.shape[1] < wanted:
        grown = np.empty((3, max(wanted, table.shape[1] * 3 // 2)))
        grown[:, : known[0]] = table[:, : known[0]]
        table = grown
    state.scratch["tenure_rules"] = (config, table, known)
    return {"tenure_rules": table, "tenure_rules_known": known}


def parameter_values(state: CustomerState, config: Config) -> F64:
    """``parameters.pack(config)``, computed once per config (kept with the state)."""
    cached = state.scratch.get("parameters")
    if cached is None or cached[0] is not config:
        cached = state.scratch["parameters"] = (config, parameters.pack(config))
    return cached[1]


def _buffer(state: CustomerState, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """A work buffer kept between periods (in ``state.scratch``), zero when made. The kernel overwrites some;
    those it sums into (``heard``, ``reached``, the ``block_*`` arrays) it zeroes again after use."""
    buffer = state.scratch.get(name)
    if buffer is None or buffer.shape != shape:
        buffer = state.scratch[name] = np.zeros(shape, dtype=dtype)
    return buffer


def outcome(period: kernels.Period, firm_before: NDArray[np.int32]) -> PeriodOutcome:
    """The period's outcome: the kernel's results for the customers, the firms and the market."""
    purchases, won, lost, _ = period.firm_tallies
    revenue, costs, satisfaction_by_firm = period.firm_accounts
    mean_satisfaction, sd_satisfaction, mean_loyalty, mean_expectation = period.means.tolist()
    messages_positive, messages_negative = period.messages.sum(axis=0).tolist()
    return PeriodOutcome(
        firm_before=firm_before,
        satisfaction=period.satisfaction,
        loyalty=period.loyalty,
        rating=period.rating,
        recommend=period.recommend,
        switched=period.switched,
        messages_positive=messages_positive,
        messages_negative=messages_negative,
        purchases=purchases,
        won=won,
        lost=lost,
        revenue=revenue,
        costs=costs,
        satisfaction_by_firm=satisfaction_by_firm,
        mean_satisfaction=mean_satisfaction,
        sd_satisfaction=sd_satisfaction,
        mean_loyalty=mean_loyalty,
        mean_expectation=mean_expectation,
        counts=period.counts,
    )
