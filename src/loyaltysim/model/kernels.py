"""The compiled loops of a period (numba): they call the rules of :mod:`loyaltysim.model.rules` in order.

:func:`period` runs a period in three passes with the word of mouth between the first and the last:
the blocks of customers (those of :mod:`loyaltysim.model.streams`) each draw their random numbers and
live their customers' experience and talk decisions, then their talkers' delivery draws
(:func:`_experience_block`); ranges of listeners receive the messages in talker order
(:func:`_send_to_range`); the blocks again, each customer absorbing what it heard, answering the
survey, choosing and starting the next period (:func:`_respond_block`). In each pass a customer's
update reads only the start-of-period state, its own draws and what earlier passes wrote, and per-firm
sums are kept per block; so the work items can run on all cores (:func:`period_parallel`, from
:data:`PARALLEL_FROM` customers) with results identical to a serial run. The loops only orchestrate:
every behavioural value comes from a rule, and the per-customer reference model
(:mod:`loyaltysim.model.per_customer`) calls the same rules uncompiled.

Arguments are grouped and named: the customers' arrays (``state.arrays()``, read as a
:data:`Customers` record whose fields are those of ``CustomerState``), the firms' arrays
(``market.arrays()``, a :data:`Firms` record), the parameter values (``parameters.pack(config)``, read
as a ``parameters.Parameters`` record whose fields are the config keys), the period's work arrays (a
:class:`Period`) and the layout of the draws (a :class:`Draws`). They arrive as plain tuples and one
float array, which numba's dispatcher checks quickly (a named tuple of 40 floats takes three times as
long per call), and are rebuilt as records inside compiled code, where that costs nothing. A period is
one call: every array is checked once per period, not once per pass. (numba's parallel loops lose
writes made through a record's arrays inside the loop body (numba issues 5872, 7135), so each work
item is a function of its own, which receives the records as arguments.)
"""

from __future__ import annotations

import math
import types
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import get_num_threads, prange

from loyaltysim.model import rules
from loyaltysim.model.jit import compiled
from loyaltysim.model.parameters import Parameters, as_tuple
from loyaltysim.model.scales import DETRACTORS_UP_TO, N_BANDS, N_RATINGS, PROMOTERS_FROM
from loyaltysim.model.state import CUSTOMER_ARRAYS, MARKET_ARRAYS

__all__ = [
    "COUNT_ROWS",
    "CURVE_BINS",
    "PARALLEL_FROM",
    "Customers",
    "Draws",
    "Firms",
    "Period",
    "period",
    "period_parallel",
    "start_relationships",
    "threads",
    "warm_start",
]

Array = np.ndarray
Arrays = tuple[np.ndarray, ...]
Generators = Sequence[np.random.Generator]
"""A numba typed list of the blocks' generators (``CustomerStreams.typed()``)."""

PARALLEL_FROM = 50_000
"""From this many customers the kernels run their blocks on all cores (same results, in any case)."""

CURVE_BINS = 20
"""Fine satisfaction bins of the satisfaction → retention curve (1/CURVE_BINS wide)."""
RATING_ROWS = N_BANDS
CURVE_ROWS = RATING_ROWS + N_RATINGS
NPS_ROW = CURVE_ROWS + CURVE_BINS
WOM_ROWS = NPS_ROW + 1
CONSIDERATION_ROWS = WOM_ROWS + N_BANDS
COUNT_ROWS = CONSIDERATION_ROWS + N_BANDS
"""Rows of the period's counts (``Period.counts``), two columns each: customers and switchers by latent
satisfaction band (rows 0–4, 0.2 wide), by rating 1–5 (from :data:`RATING_ROWS`) and by fine satisfaction
bin (from :data:`CURVE_ROWS`); promoters and detractors (:data:`NPS_ROW`); messages delivered, positive and
negative, by the sender's band (from :data:`WOM_ROWS`); customers who considered alternatives and
customers who received an offer, by band (from :data:`CONSIDERATION_ROWS`)."""

Customers = namedtuple("Customers", CUSTOMER_ARRAYS)  # type: ignore[misc]  # fields: CustomerState's arrays
Firms = namedtuple("Firms", MARKET_ARRAYS)  # type: ignore[misc]  # fields: Market's arrays


class Draws(NamedTuple):
    """Which random rows a period draws: customers per stream, and the row of each optional uniform (−1: not drawn)."""

    block: int
    recovery_row: int
    talk_row: int
    variety_row: int
    consider_row: int
    offer_row: int
    """The first of the two offer rows (any offer?, which rival?)."""
    review_row: int
    """Whether to post one's rating to the review platform (7.14)."""


class Period(NamedTuple):
    """The work arrays of one period, which the passes of :func:`period` read and write (per customer, per
    firm, per block of customers or per range of listeners, as each says)."""

    performance: np.ndarray
    """Experienced performance, per customer."""
    satisfaction: np.ndarray
    """Cumulative satisfaction after the purchase (S'), per customer."""
    felt: np.ndarray
    """What each customer talks about (7.8): cumulative satisfaction mixed with this purchase's."""
    loyalty: np.ndarray
    """Attitudinal loyalty after the purchase (L'), per customer."""
    complaint: np.ndarray
    """Whether the purchase was a complaint, per customer."""
    sent: np.ndarray
    """Messages each customer delivered (0 if it did not talk)."""
    listeners: np.ndarray
    """The listeners of the delivered messages, each block's from ``indptr`` of its first customer on."""
    heard: np.ndarray
    """Per (listener, firm): (sum of message weights, sum of weight × signal); zero between periods."""
    reached: np.ndarray
    """Per listener: whether any message reached it; False between periods."""
    prompted: np.ndarray
    """Per listener: whether a message that can start a comparison reached it (7.10); False between periods."""
    messages: np.ndarray
    """Per range of listeners of the word of mouth: (positive, negative) messages delivered."""
    active: np.ndarray
    """Per firm: whether it is in the market this period."""
    rating: np.ndarray
    """Survey rating (1–5), per customer."""
    recommend: np.ndarray
    """Likelihood to recommend (0–10), per customer."""
    new_firm: np.ndarray
    """The firm each customer buys from next period."""
    switched: np.ndarray
    """Whether each customer changed firm."""
    block_tallies: np.ndarray
    """Per block: purchases, won, lost, complaints by firm. The four block arrays are zero between periods."""
    block_satisfaction: np.ndarray
    """Per block: the customers' satisfaction summed by firm."""
    block_sums: np.ndarray
    """Per block: sums of satisfaction, its square, loyalty, and the expectation of the firm bought from next."""
    block_counts: np.ndarray
    """Per block: the period's counts by the rows of :data:`COUNT_ROWS`."""
    firm_tallies: np.ndarray
    """Per firm, over all blocks: purchases, won, lost, complaints (zero on entry)."""
    firm_accounts: np.ndarray
    """Per firm: revenue, costs, mean satisfaction of its customers (NaN without customers)."""
    means: np.ndarray
    """Mean satisfaction, its standard deviation, mean loyalty, mean expectation of the firm bought from next."""
    counts: np.ndarray
    """``block_counts`` summed over the blocks (zero on entry), by the rows of :data:`COUNT_ROWS`."""
    block_reviews: np.ndarray
    """Per block: the ratings posted to the review platform by firm, (sum, number); zero between periods."""
    tenure_rules: np.ndarray
    """The rules that depend on tenure only (memory weight, belief weight, habit) by tenure, rows 0–2, for
    tenures below ``tenure_rules_known[0]``; kept between periods while the parameters stay."""
    tenure_rules_known: np.ndarray
    """How many tenures (from 0) ``tenure_rules`` holds (one int64)."""


def threads() -> int:
    """How many threads the parallel builds use (numba's setting)."""
    return get_num_threads()


def _band(satisfaction: float) -> int:
    """The latent satisfaction band (0 = highly dissatisfied … 4 = highly satisfied), as ``scales.satisfaction_band``."""
    return min(int(satisfaction * N_BANDS), N_BANDS - 1)


def _discounts(market: Firms, p: Parameters) -> Array:
    """Each firm's relative discount (a rule of the firm's price alone, computed once per period)."""
    discount = np.empty(len(market.price))
    for j in range(len(market.price)):
        discount[j] = rules.relative_discount(market.price[j], p)
    return discount


def _period(
    generators: Generators,
    layout: tuple[int, ...],
    customers: Arrays,
    firms: Arrays,
    values: Array,
    network: tuple[Array, Array],
    work: Arrays,
) -> None:
    """Steps 1–7 of a period in three passes, each over its work items in parallel in the parallel build:
    the blocks' experience (:func:`_experience_block`), then, if customers talk, the listener ranges'
    word of mouth (:func:`_send_to_range`), then the blocks' response (:func:`_respond_block`).

    Writes the period's work arrays; updates the customers' state in place (``belief``, ``trust``, then
    ``satisfaction``, ``loyalty`` and ``tenure`` for the next period; ``firm`` is left to the caller,
    from ``new_firm``).
    """
    state = Customers(*customers)  # one record per line: numba's parallel loops must see each built
    market = Firms(*firms)
    p = Parameters(*as_tuple(values))
    period = Period(*work)
    draws = Draws(*layout)
    by_tenure = _tenure_rules(state, p, period)
    discount = _discounts(market, p)
    for b in prange(len(generators)):  # blocks of customers
        _experience_block(np.int64(b), generators, draws, state, market, p, network, period, discount, by_tenure)
    if draws.talk_row >= 0:
        for part in prange(period.messages.shape[0]):  # ranges of listeners
            _send_to_range(np.int64(part), draws.block, state, p, network[0], period)
    for b in prange(len(generators)):  # blocks of customers
        _respond_block(np.int64(b), generators, draws, state, market, p, period, discount)
    _settle(market, p, period)


def _tenure_rules(state: Customers, p: Parameters, period: Period) -> Array:
    """The rules that depend on tenure only, once per tenure value up to the longest tenure: ``period.tenure_rules``,
    extended where it stops short (or a table of this period's own if the longest tenure exceeds its size)."""
    longest = 0
    for i in range(len(state.tenure)):
        longest = max(longest, state.tenure[i])
    kept = longest < period.tenure_rules.shape[1]
    table = period.tenure_rules if kept else np.empty((3, longest + 1))
    known = period.tenure_rules_known[0] if kept else 0
    for tenure in range(known, longest + 1):
        table[0, tenure] = rules.memory_weight(tenure, p)
        table[1, tenure] = rules.belief_weight(tenure, p)
        table[2, tenure] = rules.habit(tenure, p)
    if kept:
        period.tenure_rules_known[0] = max(known, longest + 1)
    return table


def _settle(market: Firms, p: Parameters, period: Period) -> None:
    """The period's totals, the blocks' sums added in block order: each firm's tallies, economics (7.11) and
    mean satisfaction, and the market's means and counts. The block arrays are zeroed again."""
    blocks, k = period.block_satisfaction.shape
    tallies = period.firm_tallies
    for j in range(k):
        satisfaction = 0.0
        for b in range(blocks):
            satisfaction += period.block_satisfaction[b, j]
            for row in range(4):
                tallies[row, j] += period.block_tallies[b, row, j]
        period.firm_accounts[0, j], period.firm_accounts[1, j] = rules.firm_economics(
            tallies[0, j],
            tallies[1, j],
            tallies[2, j],
            tallies[3, j],
            market.price[j],
            market.unit_cost[j],
            market.programme_cost[j],
            market.recovery_cost[j],
            p,
        )
        period.firm_accounts[2, j] = satisfaction / tallies[0, j] if tallies[0, j] > 0 else math.nan
    n = len(period.satisfaction)
    totals = np.zeros(4)
    for b in range(blocks):  # loops, not array expressions: numba compiles these far faster
        for column in range(4):
            totals[column] += period.block_sums[b, column]
            period.block_sums[b, column] = 0.0
        for row in range(period.counts.shape[0]):
            for column in range(2):
                period.counts[row, column] += period.block_counts[b, row, column]
                period.block_counts[b, row, column] = 0
        for j in range(k):
            period.block_satisfaction[b, j] = 0.0
            for row in range(4):
                period.block_tallies[b, row, j] = 0
    if p.reviews_enabled != 0.0:
        _publish_reviews(market, p, period)
    mean = totals[0] / n
    period.means[0] = mean
    period.means[1] = math.sqrt(max(totals[1] / n - mean * mean, 0.0))
    period.means[2] = totals[2] / n
    period.means[3] = totals[3] / n


def _publish_reviews(market: Firms, p: Parameters, period: Period) -> None:
    """The review platform after the period (7.14): each firm's posts, added in block order, and its fake
    reviews if it is in the market; the block sums are zeroed again."""
    blocks, k = period.block_reviews.shape[0], period.block_reviews.shape[2]
    for j in range(k):
        posted_sum, posted = 0.0, 0.0
        for b in range(blocks):
            posted_sum += period.block_reviews[b, 0, j]
            posted += period.block_reviews[b, 1, j]
            period.block_reviews[b, 0, j] = 0.0
            period.block_reviews[b, 1, j] = 0.0
        fake = market.fake_reviews[j] if period.active[j] else 0.0
        market.review_sum[j], market.review_count[j] = rules.update_platform(
            market.review_sum[j], market.review_count[j], posted_sum, posted, fake, p
        )


def _experience_block(
    b: int,
    generators: Generators,
    draws: Draws,
    state: Customers,
    market: Firms,
    p: Parameters,
    network: tuple[Array, Array],
    period: Period,
    discount: Array,
    by_tenure: Array,
) -> None:
    """Block ``b`` of the first pass of :func:`period`: it draws its rows (performance noise, then the uniform rows at
    ``draws.recovery_row`` and ``draws.talk_row``), then its customers' experience, satisfaction, trust,
    beliefs (with the review platform, 7.14, if on), loyalty (with identification, 7.16, if on) and talk
    decisions, then its talkers' delivery draws."""
    indptr, indices = network
    n, k = state.belief.shape
    a, z = b * draws.block, min(n, (b + 1) * draws.block)
    generator = generators[b]
    noise = np.empty(z - a)
    for i in range(z - a):
        noise[i] = generator.standard_normal()
    uniform = np.empty(((draws.recovery_row >= 0) + (draws.talk_row >= 0), z - a))
    for row in range(uniform.shape[0]):
        for i in range(z - a):
            uniform[row, i] = generator.random()
    reviews, identification = p.reviews_enabled != 0.0, p.identification_enabled != 0.0
    tracks_tried = state.tried.shape[0] > 0
    for i in range(a, z):
        f, tenure = state.firm[i], state.tenure[i]
        quality = rules.benefit_quality(market.quality[f], state.benefit_quality[i])
        performance = rules.performance(quality, state.fit[i, f], market.consistency[f], noise[i - a])
        fairness = rules.price_fairness(discount[f], state.price_sensitivity[i])
        transaction = rules.transaction_satisfaction(performance, state.belief[i, f], fairness, p)
        complaint = rules.is_complaint(transaction, market.recovery_enabled[f])
        if complaint:  # then some firm recovers complaints, so the recovery row was drawn
            draw = uniform[draws.recovery_row, i - a]
            transaction = rules.recover(transaction, draw, market.recovery_success[f], market.recovery_softening[f])
        satisfaction = rules.update_cumulative_satisfaction(state.satisfaction[i], transaction, by_tenure[0, tenure])
        trust = rules.update_trust(state.trust[i], transaction, p)
        for j in range(k):
            state.belief[i, j] = rules.advertised_belief(state.belief[i, j], market.promise[j], p)
        if tracks_tried:
            state.tried[i, f] = True
        if reviews and state.reader[i]:
            _read_reviews(i, state, market, p)
        state.belief[i, f] = rules.experienced_belief(state.belief[i, f], performance, by_tenure[1, tenure])
        state.trust[i] = trust
        period.performance[i] = performance
        period.satisfaction[i] = satisfaction
        period.loyalty[i] = rules.loyalty(satisfaction, trust, by_tenure[2, tenure], p)
        if identification:
            state.identification[i] = rules.update_identification(state.identification[i], transaction, p)
            period.loyalty[i] = rules.identified_loyalty(period.loyalty[i], state.identification[i], p)
        period.complaint[i] = complaint
        felt = rules.talked_satisfaction(satisfaction, transaction, p)
        period.felt[i] = felt
        talks = False
        if draws.talk_row >= 0:
            talks = uniform[draws.talk_row, i - a] < rules.talk_probability(felt, state.talkativeness[i], p)
        period.sent[i] = talks
    if draws.talk_row >= 0:
        slot = indptr[a]  # the block's messages fill its own stretch of the listeners, in order
        for i in range(a, z):
            if period.sent[i]:
                first = slot
                for position in range(indptr[i], indptr[i + 1]):
                    if rules.message_reaches(generator.random(), p):
                        period.listeners[slot] = indices[position]
                        slot += 1
                period.sent[i] = slot - first
                negative = rules.speaks_negatively(period.felt[i])
                period.block_counts[b, WOM_ROWS + _band(period.satisfaction[i]), 1 if negative else 0] += slot - first


def _read_reviews(i: int, state: Customers, market: Firms, p: Parameters) -> None:
    """Reader ``i``'s beliefs about the firms it reads about move toward their average ratings (7.14)."""
    for j in range(len(market.review_count)):
        if rules.reads_about(state.reader[i], state.tried[i, j], p):
            state.belief[i, j] = rules.reviewed_belief(state.belief[i, j], market.review_sum[j], market.review_count[j], p)


def _send_to_range(part: int, block: int, state: Customers, p: Parameters, indptr: Array, period: Period) -> None:
    """Range ``part`` of the word of mouth of :func:`period`: it goes through all messages in talker order and applies
    those to its own listeners, so each listener's sums run in talker order however many ranges or
    threads there are. ``messages[part]`` = (positive, negative) messages applied."""
    n, parts = len(period.sent), period.messages.shape[0]
    low, high = n * part // parts, n * (part + 1) // parts
    for b in range((n + block - 1) // block):
        slot = indptr[b * block]
        for talker in range(b * block, min(n, (b + 1) * block)):
            if period.sent[talker] == 0:
                continue
            negative = rules.speaks_negatively(period.felt[talker])
            weight = rules.message_weight(negative, p)
            signal = weight * period.performance[talker]
            f = state.firm[talker]
            for m in range(slot, slot + period.sent[talker]):
                listener = period.listeners[m]
                if low <= listener < high:
                    period.heard[listener, f, 0] += weight
                    period.heard[listener, f, 1] += signal
                    period.reached[listener] = True
                    if rules.is_prompting(negative, f == state.firm[listener]):
                        period.prompted[listener] = True
                    period.messages[part, 1 if negative else 0] += 1
            slot += period.sent[talker]


def _respond_block(
    b: int, generators: Generators, draws: Draws, state: Customers, market: Firms, p: Parameters, period: Period, discount: Array
) -> None:
    """Block ``b`` of the last pass of :func:`period`: it draws its rows (rating and recommendation noise, then the
    uniform rows: variety, consider, the two offer rows and review at their ``draws`` rows if drawn, then choice);
    then for each customer: absorb the messages heard (``heard``, ``reached`` and ``prompted`` are zeroed again
    after use), answer the survey and perhaps post the rating (7.14), get a rival's offer or not, decide whether
    to compare the firms and, if so, choose next period's firm (7.10, with perceived risk, 7.15, if on), and
    start the next period."""
    n, k = state.belief.shape
    a, z = b * draws.block, min(n, (b + 1) * draws.block)
    generator = generators[b]
    noise = np.empty((2, z - a))
    for row in range(2):
        for i in range(z - a):
            noise[row, i] = generator.standard_normal()
    rows = 1 + (draws.variety_row >= 0) + (draws.consider_row >= 0) + 2 * (draws.offer_row >= 0) + (draws.review_row >= 0)
    uniform = np.empty((rows, z - a))
    for row in range(uniform.shape[0]):
        for i in range(z - a):
            uniform[row, i] = generator.random()
    listen = period.heard.shape[0] > 0
    risk, identification = p.risk_enabled != 0.0, p.identification_enabled != 0.0
    utilities = np.empty(k)
    for i in range(a, z):
        f = state.firm[i]
        prompted = False
        if listen and period.reached[i]:
            period.reached[i] = False
            prompted, period.prompted[i] = period.prompted[i], False
            for j in range(k):
                weight = period.heard[i, j, 0]
                if weight > 0.0:
                    state.belief[i, j] = rules.absorb_messages(state.belief[i, j], weight, period.heard[i, j, 1], p)
                    if risk:
                        state.heard_about[i, j] += weight
                    period.heard[i, j, 0] = 0.0
                    period.heard[i, j, 1] = 0.0
        s, loyalty, bias = period.satisfaction[i], period.loyalty[i], state.response_bias[i]
        rating = rules.survey_rating(s, bias, noise[0, i - a], p)
        recommend = rules.likelihood_to_recommend(s, loyalty, bias, noise[1, i - a], p)
        period.rating[i], period.recommend[i] = rating, recommend
        if draws.review_row >= 0 and rules.posts_review(uniform[draws.review_row, i - a], rating, p):
            period.block_reviews[b, 0, f] += rating
            period.block_reviews[b, 1, f] += 1.0
        offer = -1
        if draws.offer_row >= 0:
            any_offer, rival = uniform[draws.offer_row, i - a], uniform[draws.offer_row + 1, i - a]
            offer = rules.offering_rival(period.active, f, any_offer, rival, p)
        chance = rules.consideration_probability(s, loyalty, state.tolerance[i], prompted, offer >= 0, p)
        variety = uniform[draws.variety_row, i - a] if draws.variety_row >= 0 else rules.NOT_DRAWN
        consider = uniform[draws.consider_row, i - a] if draws.consider_row >= 0 else rules.NOT_DRAWN
        considered = rules.considers(variety, consider, chance, p)
        g = f
        if considered:
            cost = rules.relational_switching_cost(state.switching_cost[i], state.trust[i], p)
            programme = rules.benefit_switching_cost(market.programme_switching_cost[f], state.benefit_switching[i])
            for j in range(k):
                if period.active[j]:
                    fairness = rules.price_fairness(discount[j], state.price_sensitivity[i])
                    value = rules.perceived_value(state.belief[i, j], fairness)
                    utilities[j] = rules.utility(value, j == f, loyalty, cost, programme, j == offer, p)
                    if risk:
                        utilities[j] -= rules.perceived_risk(
                            state.tried[i, j], market.review_count[j], state.heard_about[i, j], state.trust[i], p
                        )
                else:
                    utilities[j] = -math.inf
            g = rules.choose_firm(utilities, f, variety, uniform[rows - 1, i - a], p)
        period.new_firm[i] = g
        # 7. the firms' tallies, then the next period's state (a mover starts afresh)
        period.block_tallies[b, 0, f] += 1
        period.block_satisfaction[b, f] += s
        if period.complaint[i]:
            period.block_tallies[b, 3, f] += 1
        if g == f:
            period.switched[i] = False
            state.satisfaction[i] = s
            state.loyalty[i] = loyalty
            state.tenure[i] = state.tenure[i] + 1
        else:
            period.block_tallies[b, 1, g] += 1
            period.block_tallies[b, 2, f] += 1
            period.switched[i] = True
            state.left_firm[i] = f  # 7.17: who left, why, and how satisfied
            state.left_reason[i] = rules.leaving_reason(variety, g == offer, p)
            state.left_satisfaction[i] = s
            fairness = rules.price_fairness(discount[g], state.price_sensitivity[i])
            started = rules.start_relationship(state.belief[i, g], fairness, np.int64(0), p)
            state.satisfaction[i], state.trust[i], state.loyalty[i] = started
            state.tenure[i] = 0
            if identification:  # identification is with a brand: none yet with the new one
                state.identification[i] = 0.0
                state.loyalty[i] = rules.identified_loyalty(state.loyalty[i], 0.0, p)
        period.block_sums[b, 0] += s
        period.block_sums[b, 1] += s * s
        period.block_sums[b, 2] += loyalty
        period.block_sums[b, 3] += state.belief[i, g]
        moved = 0 if g == f else 1
        band = _band(s)  # the rows of COUNT_ROWS
        period.block_counts[b, band, 0] += 1
        period.block_counts[b, band, 1] += moved
        row = RATING_ROWS + rating - 1
        period.block_counts[b, row, 0] += 1
        period.block_counts[b, row, 1] += moved
        row = CURVE_ROWS + min(int(s * CURVE_BINS), CURVE_BINS - 1)
        period.block_counts[b, row, 0] += 1
        period.block_counts[b, row, 1] += moved
        period.block_counts[b, NPS_ROW, 0] += recommend >= PROMOTERS_FROM
        period.block_counts[b, NPS_ROW, 1] += recommend <= DETRACTORS_UP_TO
        period.block_counts[b, CONSIDERATION_ROWS + band, 0] += considered
        period.block_counts[b, CONSIDERATION_ROWS + band, 1] += offer >= 0


def _start_relationships(customers: Arrays, firms: Arrays, values: Array) -> None:
    """Every customer's relationship with its first firm starts with its expectation met (7.12), as old as
    its tenure: sets ``satisfaction``, ``trust`` and ``loyalty``."""
    state = Customers(*customers)
    market = Firms(*firms)
    p = Parameters(*as_tuple(values))
    discount = _discounts(market, p)
    for i in range(len(state.firm)):
        f = state.firm[i]
        fairness = rules.price_fairness(discount[f], state.price_sensitivity[i])
        state.satisfaction[i], state.trust[i], state.loyalty[i] = rules.start_relationship(
            state.belief[i, f],
            fairness,
            np.int64(state.tenure[i]),
            p,  # int64 as in the loop: one specialisation
        )


def _warm_start(customers: Arrays, firms: Arrays, values: Array, choice_draw: Array) -> None:
    """The warm start (ODD 5): each customer's supplier chosen by the logit of 7.10 over
    :func:`rules.initial_utility` with its draw ``choice_draw[i]``, its beliefs the firms' promises and,
    about its supplier, :func:`rules.settled_belief`. Sets ``firm`` and ``belief``."""
    state = Customers(*customers)
    market = Firms(*firms)
    p = Parameters(*as_tuple(values))
    discount = _discounts(market, p)
    n, k = state.belief.shape
    utilities = np.empty(k)
    for i in range(n):
        for j in range(k):
            fairness = rules.price_fairness(discount[j], state.price_sensitivity[i])
            utilities[j] = rules.initial_utility(market.initial_share[j], market.promise[j], state.fit[i, j], fairness, p)
            state.belief[i, j] = market.promise[j]
        f = rules.choose_firm(utilities, -1, rules.NOT_DRAWN, choice_draw[i], p)
        state.firm[i] = f
        state.belief[i, f] = rules.settled_belief(market.quality[f], state.fit[i, f])


def _as_parallel_variant(func: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of ``func`` under its own name, so numba caches its parallel build apart from the serial one.

    numba's on-disk cache is keyed by the function's qualified name and signature, not by ``parallel=``:
    compiling one function both ways would let whichever build was cached first serve both.
    """
    clone = types.FunctionType(func.__code__, func.__globals__, f"{func.__name__}_parallel", func.__defaults__)
    clone.__qualname__ = f"{func.__qualname__}_parallel"
    clone.__doc__ = func.__doc__
    return clone


# --- the compiled builds ---------------------------------------------------------------------

_band = compiled(_band, inline=True, from_python=False)
_discounts = compiled(_discounts, from_python=False)
_publish_reviews = compiled(_publish_reviews, from_python=False)
_read_reviews = compiled(_read_reviews, from_python=False)
_experience_block = compiled(_experience_block, from_python=False)
_send_to_range = compiled(_send_to_range, from_python=False)
_respond_block = compiled(_respond_block, from_python=False)
_settle = compiled(_settle, from_python=False)
_tenure_rules = compiled(_tenure_rules, from_python=False)
period = compiled(_period)
period_parallel = compiled(_as_parallel_variant(_period), parallel=True)
start_relationships = compiled(_start_relationships)
warm_start = compiled(_warm_start)
