"""The behavioural rules of the model (docs/ODD.md, section 7), each one small scalar function.

Read this file to see the theory; change a rule here and every part of the model follows. Each rule
computes one customer's (or one firm's) new value from plain numbers: nothing here keeps state, draws
random numbers or does I/O. ``p`` is the parameter record (:class:`loyaltysim.model.parameters.Parameters`)
whose fields are the config keys: ``p.satisfaction_loss_aversion`` is ``satisfaction.loss_aversion``, so
a rule can use a new config key without any other edit. A random draw a rule compares against is passed
in (the caller draws it; section 4 of the ODD fixes the order).

Every rule is compiled by numba (:func:`loyaltysim.model.jit.rule`) and called by the loops over
customers in :mod:`loyaltysim.model.kernels`; the readable per-customer reference model
(:mod:`loyaltysim.model.per_customer`) calls the same functions uncompiled (``rule.py_func``).

Scales: performance, expectation and belief on [0, 1]; satisfaction, loyalty and trust on [0, 1] with
0.5 neutral; utilities in arbitrary units.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from loyaltysim.model.jit import rule
from loyaltysim.model.parameters import Parameters, choice
from loyaltysim.model.scales import annualise, satisfaction_band  # noqa: F401  # where app.views still imports them

__all__ = [
    "NEUTRAL",
    "NOBODY",
    "NOT_DRAWN",
    "PULLED",
    "PUSHED",
    "RETENTION_CAP",
    "STARS",
    "VARIETY",
    "absorb_messages",
    "adapt_quality",
    "advertised_belief",
    "attitudinal_loyalty",
    "belief_weight",
    "benefit_quality",
    "benefit_switching_cost",
    "choose_firm",
    "consideration_probability",
    "considers",
    "disconfirmation",
    "expected_satisfaction",
    "experience_weight",
    "experienced_belief",
    "felt_value",
    "firm_economics",
    "habit",
    "identified_loyalty",
    "initial_utility",
    "is_complaint",
    "is_prompting",
    "leaving_reason",
    "lifetime_value",
    "likelihood_to_recommend",
    "link",
    "link_concave",
    "link_linear",
    "link_threshold",
    "link_zone_of_tolerance",
    "loyalty",
    "memory_weight",
    "message_reaches",
    "message_weight",
    "offer_probability",
    "offering_rival",
    "perceived_risk",
    "perceived_value",
    "performance",
    "platform_rating",
    "posting_probability",
    "posts_review",
    "power",
    "price_fairness",
    "purchase_units",
    "reactional_trigger",
    "reads_about",
    "recover",
    "relational_switching_cost",
    "relative_discount",
    "review_signal",
    "reviewed_belief",
    "settled_belief",
    "share_of_wallet",
    "shield",
    "sigmoid",
    "speaks_negatively",
    "start_relationship",
    "survey_rating",
    "talk_probability",
    "talked_satisfaction",
    "targeted_count",
    "transaction_satisfaction",
    "update_belief",
    "update_cumulative_satisfaction",
    "update_identification",
    "update_platform",
    "update_trust",
    "utility",
    "volume_economics",
    "win_back_probability",
]

NEUTRAL = 0.5
"""The neutral point of satisfaction and trust; a new relationship starts with this trust."""
NOT_DRAWN = math.inf
"""Stands for a random draw that was not made (its rule is off): never below a probability."""
LINEAR, THRESHOLD, ZONE_OF_TOLERANCE, CONCAVE = (
    choice("loyalty", "link", name) for name in ("linear", "threshold", "zone_of_tolerance", "concave")
)
ALWAYS = choice("switching", "consideration", "always")


# --- Arithmetic ------------------------------------------------------------------------------


@rule
def sigmoid(x: float) -> float:
    """Logistic ``1 / (1 + e^−x)``; arguments below −700 count as −700 (the value is ~1e−304 either way)."""
    return 1.0 / (1.0 + math.exp(-max(x, -700.0)))


@rule
def power(x: float, exponent: float) -> float:
    """``x ** exponent``, exactly as numpy computes it for the exponents 2, 0.5 and 1."""
    if exponent == 2.0:
        return x * x
    if exponent == 0.5:
        return math.sqrt(x)
    if exponent == 1.0:
        return x
    return x**exponent


# --- 7.1–7.3 Experience ----------------------------------------------------------------------


@rule
def performance(quality: float, fit: float, consistency: float, noise: float) -> float:
    """Experienced performance (7.1): the firm's quality, the customer's fit and noise, clipped to [0, 1]."""
    return min(max(quality + fit + consistency * noise, 0.0), 1.0)


@rule
def relative_discount(price: float, p: Parameters) -> float:
    """How far a price lies below the reference price, relative to it (negative above it)."""
    return (p.economics_reference_price - price) / p.economics_reference_price


@rule
def price_fairness(discount: float, price_sensitivity: float) -> float:
    """Felt fairness of a price (7.2): the customer's price sensitivity times the relative discount."""
    return price_sensitivity * discount


@rule
def disconfirmation(performance: float, expectation: float) -> float:
    """Expectation–disconfirmation (Oliver 1980): performance minus expectation."""
    return performance - expectation


@rule
def felt_value(gap: float, loss_aversion: float) -> float:
    """Gains count once, losses ``loss_aversion`` times (Anderson & Sullivan 1993; Mittal et al. 1998)."""
    return loss_aversion * gap if gap < 0.0 else gap


@rule(inline=False)
def transaction_satisfaction(performance: float, expectation: float, fairness: float, p: Parameters) -> float:
    """Satisfaction with one purchase, in (0, 1) (7.2).

    ``σ(sensitivity · [quality_weight · (performance − neutral) + v(performance − expectation) + fairness])``
    where ``v`` is :func:`felt_value`. Meeting a good expectation satisfies; exceeding it delights;
    falling short dissatisfies, and more strongly than an equal surplus pleases.
    """
    level = p.satisfaction_quality_weight * (performance - p.satisfaction_neutral_performance)
    gap = felt_value(disconfirmation(performance, expectation), p.satisfaction_loss_aversion)
    return sigmoid(p.satisfaction_sensitivity * (level + gap + fairness))


@rule
def is_complaint(transaction: float, recovery_enabled: bool) -> bool:
    """A dissatisfying purchase at a firm that handles complaints (7.3)."""
    return transaction < NEUTRAL and recovery_enabled


@rule
def recover(transaction: float, draw: float, success_rate: float, softening: float) -> float:
    """A complaint recovered (if ``draw`` < ``success_rate``) loses a share ``softening`` of its shortfall (7.3)."""
    return transaction + softening * (NEUTRAL - transaction) if draw < success_rate else transaction


# --- 7.4–7.6 Satisfaction, trust, beliefs ----------------------------------------------------


@rule
def experience_weight(base_weight: float, tenure: int, p: Parameters) -> float:
    """Weight of a new experience, shrinking with tenure in years (Bolton 1998): ``w / (1 + A · tenure)``."""
    return base_weight / (1.0 + p.satisfaction_tenure_anchoring * (tenure / p.periods_per_year))


@rule
def memory_weight(tenure: int, p: Parameters) -> float:
    """Weight of this period's purchase in cumulative satisfaction (7.4)."""
    return experience_weight(1.0 - p.satisfaction_memory, tenure, p)


@rule
def update_cumulative_satisfaction(cumulative: float, transaction: float, weight: float) -> float:
    """Exponential smoothing (7.4): ``(1 − w) · cumulative + w · transaction``."""
    return (1.0 - weight) * cumulative + weight * transaction


@rule
def update_trust(trust: float, transaction: float, p: Parameters) -> float:
    """Trust builds slowly with good purchases and falls ``loss_aversion`` times faster with bad ones (7.5)."""
    gap = transaction - trust
    rate = min(1.0, p.loyalty_trust_growth * p.satisfaction_loss_aversion) if gap < 0.0 else p.loyalty_trust_growth
    return trust + rate * gap


@rule
def update_belief(belief: float, signal: float, weight: float) -> float:
    """Move a belief a share ``weight`` of the way toward a signal (promise, experience, message)."""
    return belief + weight * (signal - belief)


@rule
def advertised_belief(belief: float, promise: float, p: Parameters) -> float:
    """A belief about a firm after its advertising (7.6): pulled toward the firm's promise."""
    return update_belief(belief, promise, p.expectations_advertising_weight)


@rule
def belief_weight(tenure: int, p: Parameters) -> float:
    """Weight of the experience in the belief about the current firm (7.6), shrinking with tenure."""
    return experience_weight(p.expectations_experience_weight, tenure, p)


@rule
def experienced_belief(belief: float, performance: float, weight: float) -> float:
    """The belief about the current firm after buying (7.6): pulled toward the performance experienced."""
    return update_belief(belief, performance, weight)


# --- 7.7 Loyalty -----------------------------------------------------------------------------


@rule
def link_linear(satisfaction: float) -> float:
    """Loyalty proportional to satisfaction."""
    return satisfaction


@rule
def link_threshold(satisfaction: float, p: Parameters) -> float:
    """Logistic around ``loyalty.threshold``, rescaled to map 0 → 0 and 1 → 1 (Oliver 1999; Jones & Sasser 1995)."""
    steepness, threshold = p.loyalty_steepness, p.loyalty_threshold
    low = sigmoid(-steepness * threshold)
    high = sigmoid(steepness * (1.0 - threshold))
    return (sigmoid(steepness * (satisfaction - threshold)) - low) / (high - low)


@rule
def link_zone_of_tolerance(satisfaction: float, p: Parameters) -> float:
    """Piecewise linear: flat (``zone_slope``) inside [zone_low, zone_high], steep outside; 0 → 0 and 1 → 1."""
    low, high = p.loyalty_zone_low, p.loyalty_zone_high
    inside_rise = p.loyalty_zone_slope * (high - low)
    outside_slope = (1.0 - inside_rise) / (1.0 - (high - low))
    at_low = outside_slope * low
    at_high = at_low + inside_rise
    if satisfaction <= 0.0:
        return 0.0
    if satisfaction >= 1.0:
        return 1.0
    if satisfaction < low:
        x0, x1, y0, y1 = 0.0, low, 0.0, at_low
    elif satisfaction < high:
        x0, x1, y0, y1 = low, high, at_low, at_high
    else:
        x0, x1, y0, y1 = high, 1.0, at_high, 1.0
    return (y1 - y0) / (x1 - x0) * (satisfaction - x0) + y0


@rule
def link_concave(satisfaction: float, p: Parameters) -> float:
    """Diminishing returns near the top: ``1 − (1 − s)^concavity``."""
    return 1.0 - power(1.0 - satisfaction, p.loyalty_concavity)


@rule(inline=False)
def link(satisfaction: float, p: Parameters) -> float:
    """The satisfaction → loyalty link chosen by ``loyalty.link`` (7.7)."""
    if p.loyalty_link == THRESHOLD:
        return link_threshold(satisfaction, p)
    if p.loyalty_link == ZONE_OF_TOLERANCE:
        return link_zone_of_tolerance(satisfaction, p)
    if p.loyalty_link == CONCAVE:
        return link_concave(satisfaction, p)
    return link_linear(satisfaction)


@rule
def habit(tenure: int, p: Parameters) -> float:
    """Inertia growing with tenure in years: ``1 − exp(−tenure / habit_years)``."""
    return 1.0 - math.exp(-(tenure / p.periods_per_year) / p.loyalty_habit_years)


@rule
def attitudinal_loyalty(linked: float, trust: float, habit_level: float, p: Parameters) -> float:
    """Loyalty = weighted mix of link(satisfaction), trust and habit (the weights add up to 1)."""
    return (
        (1.0 - p.loyalty_trust_weight - p.loyalty_habit_weight) * linked
        + p.loyalty_trust_weight * trust
        + p.loyalty_habit_weight * habit_level
    )


@rule(inline=False)
def loyalty(satisfaction: float, trust: float, habit_level: float, p: Parameters) -> float:
    """Attitudinal loyalty (7.7) from cumulative satisfaction (through the link), trust and habit."""
    return attitudinal_loyalty(link(satisfaction, p), trust, habit_level, p)


# --- 7.8 Word of mouth -----------------------------------------------------------------------


@rule
def talked_satisfaction(satisfaction: float, transaction: float, p: Parameters) -> float:
    """What a customer talks about (7.8): ``(1 − ι) · cumulative + ι · this purchase`` (ι = ``incident_weight``).

    A critical incident, good or bad, is what people tell others about (Keaveney 1995; Anderson 1998).
    """
    return (1.0 - p.word_of_mouth_incident_weight) * satisfaction + p.word_of_mouth_incident_weight * transaction


@rule
def talk_probability(satisfaction: float, talkativeness: float, p: Parameters) -> float:
    """Asymmetric U (Anderson 1998): extremes talk most, the dissatisfied ``negativity`` times more.

    ``talk_rate · talkativeness · |2s − 1|^extremity · (negativity if s < 0.5 else 1)``, clipped to [0, 1].
    """
    extremeness = power(abs(2.0 * satisfaction - 1.0), p.word_of_mouth_extremity)
    asymmetry = p.word_of_mouth_negativity if satisfaction < NEUTRAL else 1.0
    return min(max(p.word_of_mouth_talk_rate * talkativeness * extremeness * asymmetry, 0.0), 1.0)


@rule
def message_reaches(draw: float, p: Parameters) -> bool:
    """Whether a talk reaches one neighbour (chance ``reach``)."""
    return draw < p.word_of_mouth_reach


@rule
def speaks_negatively(satisfaction: float) -> bool:
    """A talker below neutral (talked-about) satisfaction complains; above, it praises."""
    return satisfaction < NEUTRAL


@rule
def is_prompting(negative: bool, about_current: bool) -> bool:
    """Whether a message can start its listener comparing (7.10): a complaint about the listener's own firm
    or praise of another."""
    return negative == about_current


@rule
def message_weight(negative: bool, p: Parameters) -> float:
    """Weight of a message: ``negative_weight`` for a complaint, 1 for praise."""
    return p.word_of_mouth_negative_weight if negative else 1.0


@rule
def absorb_messages(belief: float, weight_sum: float, weighted_signal_sum: float, p: Parameters) -> float:
    """A belief after all messages heard about one firm this period (``weight_sum`` > 0).

    Each message carries a signal (the talker's experienced performance) and a weight
    (:func:`message_weight`); the belief moves toward the weighted mean signal by
    ``min(1, influence · Σ weights)``.
    """
    pull = min(1.0, p.word_of_mouth_influence * weight_sum)
    return belief + pull * (weighted_signal_sum / weight_sum - belief)


# --- 7.9 Survey answers ----------------------------------------------------------------------


@rule
def survey_rating(satisfaction: float, bias: float, noise: float, p: Parameters) -> int:
    """What a 1–5 survey shows: satisfaction + response bias + noise, cut at ``rating_cutoffs``."""
    answer = satisfaction + bias + p.observation_rating_noise * noise
    rating = 1
    for cutoff in (
        p.observation_rating_cutoffs_0,
        p.observation_rating_cutoffs_1,
        p.observation_rating_cutoffs_2,
        p.observation_rating_cutoffs_3,
    ):
        if cutoff <= answer:
            rating += 1
    return rating


@rule
def likelihood_to_recommend(satisfaction: float, loyalty: float, bias: float, noise: float, p: Parameters) -> int:
    """The NPS question (0–10): ``10 · answer^curvature``, answer = mean(satisfaction, loyalty) + bias + noise."""
    answer = 0.5 * (satisfaction + loyalty) + bias + p.observation_rating_noise * noise
    return int(np.rint(10.0 * power(min(max(answer, 0.0), 1.0), p.observation_recommend_curvature)))


# --- 7.10 Choice -----------------------------------------------------------------------------


@rule
def reactional_trigger(satisfaction: float, tolerance: float, p: Parameters) -> float:
    """Chance that dissatisfaction alone starts a comparison: ``σ((tolerance − S) / tolerance_width)`` (Roos 1999)."""
    return sigmoid((tolerance - satisfaction) / p.switching_tolerance_width)


@rule
def shield(loyalty: float, p: Parameters) -> float:
    """How far a customer lets word of mouth and offers in: ``clip(1 − fortitude · L, 0, 1)`` (Oliver 1999)."""
    return min(max(1.0 - p.switching_fortitude * loyalty, 0.0), 1.0)


@rule
def offer_probability(rivals: int, p: Parameters) -> float:
    """Chance that at least one of ``rivals`` firms makes an offer: ``1 − (1 − offer_rate)^rivals``."""
    return 1.0 - (1.0 - p.switching_offer_rate) ** rivals


@rule(inline=False)
def offering_rival(active: NDArray[np.bool_], current: int, offer_draw: float, rival_draw: float, p: Parameters) -> int:
    """The rival that makes the customer an offer this period, or −1 (Keaveney 1995).

    With ``R`` firms other than ``current`` in the market, an offer comes if ``offer_draw`` <
    :func:`offer_probability`; it comes from the ``⌊rival_draw · R⌋``-th of them in firm order.
    """
    rivals = 0
    for j in range(len(active)):
        if active[j] and j != current:
            rivals += 1
    if rivals == 0 or not offer_draw < offer_probability(rivals, p):
        return -1
    pick = min(int(rival_draw * rivals), rivals - 1)
    for j in range(len(active)):
        if active[j] and j != current:
            if pick == 0:
                return j
            pick -= 1
    return -1


@rule
def consideration_probability(
    satisfaction: float, loyalty: float, tolerance: float, prompted: bool, offered: bool, p: Parameters
) -> float:
    """Chance that a customer compares the firms this period (7.10): 1 with ``consideration: always``, else

    ``1 − (1 − r)(1 − shield · wom_prompt · prompted)(1 − shield · offered)``, with the reactional trigger
    ``r`` (:func:`reactional_trigger`) and the :func:`shield` of loyalty against influential triggers.
    """
    if p.switching_consideration == ALWAYS:
        return 1.0
    guard = shield(loyalty, p)
    heard = guard * p.switching_wom_prompt if prompted else 0.0
    tempted = guard if offered else 0.0
    return 1.0 - (1.0 - reactional_trigger(satisfaction, tolerance, p)) * (1.0 - heard) * (1.0 - tempted)


@rule
def considers(variety_draw: float, consider_draw: float, probability: float, p: Parameters) -> bool:
    """Whether a customer compares the firms: a variety seeker always does; otherwise if ``consider_draw`` <
    ``probability`` (a probability of 1 needs no draw)."""
    return variety_draw < p.switching_variety_seeking or probability >= 1.0 or consider_draw < probability


@rule
def relational_switching_cost(switching_cost: float, trust: float, p: Parameters) -> float:
    """The switching cost felt (7.10): its relational share ρ scales with trust, ``κ · (1 − ρ + 2ρ · trust)``
    (Burnham et al. 2003): a trusted relationship is costlier to leave, a distrusted one cheaper."""
    share = p.switching_relational_share
    return switching_cost * (1.0 - share + 2.0 * share * trust)


@rule
def perceived_value(belief: float, fairness: float) -> float:
    """Perceived value of a firm: the performance expected from it plus the fairness of its price."""
    return belief + fairness


@rule
def utility(
    value: float,
    current: bool,
    loyalty: float,
    switching_cost: float,
    programme_switching_cost: float,
    offer: bool,
    p: Parameters,
) -> float:
    """Utility of a firm (7.10): its weighted value; the current firm adds loyalty and the switching costs,
    a rival that made an offer its ``offer_value``."""
    u = p.switching_value_weight * value
    if current:
        u += p.switching_loyalty_weight * loyalty + switching_cost + programme_switching_cost
    if offer:
        u += p.switching_offer_value
    return u


@rule(inline=False)
def choose_firm(utilities: NDArray[np.float64], current: int, variety_draw: float, choice_draw: float, p: Parameters) -> int:
    """The firm chosen for next period (7.10): logit choice with variety seeking.

    ``utilities`` has one entry per firm, −inf for firms not in the market; it is overwritten with the
    choice weights ``exp(U/μ − max U/μ)``. A variety seeker (``variety_draw`` < ``variety_seeking``)
    drops its current firm if another has a positive weight. ``choice_draw`` then picks the first firm
    whose cumulative weight exceeds ``choice_draw`` × the total (the last firm with a positive weight if
    rounding puts it at the very top).
    """
    weights = utilities
    top = -math.inf
    for j in range(len(weights)):
        if weights[j] != -math.inf and p.switching_choice_noise != 1.0:  # dividing by 1 changes nothing
            weights[j] = weights[j] / p.switching_choice_noise
        top = max(top, weights[j])
    alternatives = False
    for j in range(len(weights)):
        weights[j] = 1.0 if weights[j] == top else math.exp(weights[j] - top)  # exp(0) is exactly 1
        alternatives = alternatives or (j != current and weights[j] > 0.0)
    if alternatives and variety_draw < p.switching_variety_seeking:
        weights[current] = 0.0
    total = 0.0
    for weight in weights:
        total += weight
    target = choice_draw * total
    cumulative = 0.0
    chosen = -1
    for j in range(len(weights)):
        cumulative += weights[j]
        if weights[j] > 0.0:
            chosen = j
            if cumulative > target:
                break
    return chosen


# --- 7.11 Firm economics ---------------------------------------------------------------------


@rule
def firm_economics(
    purchases: int,
    won: int,
    lost: int,
    complaints: int,
    price: float,
    unit_cost: float,
    programme_cost: float,
    recovery_cost: float,
    p: Parameters,
) -> tuple[float, float]:
    """A firm's revenue and costs in a period (7.11): serving, keeping and winning customers, its loyalty
    programme and its complaint handling."""
    revenue = price * purchases
    costs = (
        unit_cost * purchases
        + p.economics_retention_cost * (purchases - lost)
        + p.economics_acquisition_cost * won
        + programme_cost * purchases
        + recovery_cost * complaints
    )
    return revenue, costs


# --- 7.12 A new relationship -----------------------------------------------------------------


@rule
def expected_satisfaction(expectation: float, fairness: float, p: Parameters) -> float:
    """Satisfaction with a purchase that meets the expectation exactly (7.12)."""
    return transaction_satisfaction(expectation, expectation, fairness, p)


@rule(inline=False)
def start_relationship(expectation: float, fairness: float, tenure: int, p: Parameters) -> tuple[float, float, float]:
    """Satisfaction, trust and loyalty of a relationship that starts with its expectation met (7.12).

    A customer who switches starts with ``tenure`` 0; the initial customers (section 5 of the ODD) with
    the tenure drawn for them.
    """
    satisfaction = expected_satisfaction(expectation, fairness, p)
    return satisfaction, NEUTRAL, loyalty(satisfaction, NEUTRAL, habit(tenure, p), p)


@rule
def settled_belief(quality: float, fit: float) -> float:
    """Warm start (ODD 5): the belief about one's own firm after a long relationship, its mean performance
    ``clip(quality + fit, 0, 1)``."""
    return min(max(quality + fit, 0.0), 1.0)


@rule
def initial_utility(share: float, promise: float, fit: float, fairness: float, p: Parameters) -> float:
    """Warm start (ODD 5): a firm's utility in the choice that placed a customer before the first period,
    ``value_weight · (promise + fit + fairness) + choice_noise · ln(initial_share)`` (−inf for share 0), so
    that the logit of :func:`choose_firm` picks firm j with probability ∝ share_j · exp(value_weight · (…) / choice_noise)."""
    if share <= 0.0:
        return -math.inf
    return p.switching_value_weight * (promise + fit + fairness) + p.switching_choice_noise * math.log(share)


# --- 7.13 Firm adaptation --------------------------------------------------------------------


@rule
def adapt_quality(
    quality: float, unit_cost: float, mean_satisfaction: float, target: float, adjustment: float, cost_per_quality: float
) -> tuple[float, float]:
    """Quality and unit cost of an adaptive firm after a period (7.13).

    Below the target satisfaction (a firm without customers, with NaN, is not) the firm raises its quality
    by ``adjustment`` (up to 1), and its unit cost by ``cost_per_quality`` per unit of quality.
    """
    if not mean_satisfaction < target:
        return quality, unit_cost
    step = min(adjustment, 1.0 - quality)
    return quality + step, unit_cost + cost_per_quality * step


# --- 7.14 Online reviews ---------------------------------------------------------------------

STARS = 5.0
"""The top of the rating scale (1–5): a fake or incentivised review gives it."""


@rule
def posting_probability(rating: int, p: Parameters) -> float:
    """Chance that a customer posts its survey rating to the platform (7.14): extremes post most (Hu, Pavlou &
    Zhang 2009), ``post_rate · (1 + extremity · |rating − 3| / 2)`` clipped to [0, 1]."""
    return min(p.reviews_post_rate * (1.0 + p.reviews_extremity * abs(rating - 3.0) / 2.0), 1.0)


@rule
def posts_review(draw: float, rating: int, p: Parameters) -> bool:
    """Whether a customer posts its rating this period (``draw`` uniform)."""
    return draw < posting_probability(rating, p)


@rule
def update_platform(
    rating_sum: float, count: float, posted_sum: float, posted: float, fake: float, p: Parameters
) -> tuple[float, float]:
    """A firm's platform after a period (7.14): older reviews weigh ``memory`` times less each period; this
    period's posts and the firm's ``fake`` 5-star reviews are added. Returns (weighted rating sum, weighted count)."""
    return (
        p.reviews_memory * rating_sum + (posted_sum + STARS * fake),
        p.reviews_memory * count + (posted + fake),
    )


@rule
def platform_rating(rating_sum: float, count: float) -> float:
    """The platform's average rating of a firm (NaN without reviews)."""
    return rating_sum / count if count > 0.0 else math.nan


@rule
def review_signal(average: float) -> float:
    """The performance a reader reads into an average rating: its place on the 1–5 scale, ``(average − 1) / 4``."""
    return (average - 1.0) / (STARS - 1.0)


@rule
def reviewed_belief(belief: float, rating_sum: float, count: float, p: Parameters) -> float:
    """A reader's belief about a firm after reading its reviews (7.14): pulled toward :func:`review_signal`
    of the average rating by ``weight · count / (count + credibility_count)`` (more reviews, more credible:
    Chevalier & Mayzlin 2006); unchanged without reviews."""
    if not count > 0.0:
        return belief
    pull = p.reviews_weight * count / (count + p.reviews_credibility_count)
    return update_belief(belief, review_signal(platform_rating(rating_sum, count)), pull)


@rule
def reads_about(reader: bool, tried: bool, p: Parameters) -> bool:
    """Whether a customer's belief about a firm follows the platform: a reader, about an untried firm (or any
    firm with ``all_firms``)."""
    return reader and (p.reviews_all_firms != 0.0 or not tried)


# --- 7.15 Perceived risk ---------------------------------------------------------------------


@rule
def perceived_risk(tried: bool, review_count: float, heard: float, trust: float, p: Parameters) -> float:
    """Utility penalty of choosing a firm (7.15): 0 for a firm tried before; for an untried one
    ``penalty · e^(−reviews / review_scale) · e^(−heard / word_of_mouth_scale) · (1 − trust_relief · trust)``:
    information (reviews, word of mouth heard) and a disposition to trust reduce it (Bauer 1960; Mitchell 1999;
    Gefen 2000; Pavlou 2003)."""
    if tried:
        return 0.0
    information = math.exp(-review_count / p.risk_review_scale - heard / p.risk_word_of_mouth_scale)
    return p.risk_penalty * information * (1.0 - p.risk_trust_relief * trust)


# --- 7.16 Identification ---------------------------------------------------------------------


@rule
def update_identification(identification: float, transaction: float, p: Parameters) -> float:
    """Identification with the firm after a purchase (7.16): a delighting purchase (transaction satisfaction
    ≥ ``delight_threshold``) moves it ``growth`` of the way toward 1; any other lets a share ``decay`` fade
    (Bhattacharya & Sen 2003: built by shared-value experiences, resilient to single disappointments)."""
    if transaction >= p.identification_delight_threshold:
        return identification + p.identification_growth * (1.0 - identification)
    return identification - p.identification_decay * identification


@rule
def identified_loyalty(loyalty: float, identification: float, p: Parameters) -> float:
    """Attitudinal loyalty with identification (7.16): a share ``weight`` of it is identification, the rest the
    mix of :func:`attitudinal_loyalty` (Oliver 1999: identification as the basis of ultimate loyalty)."""
    return (1.0 - p.identification_weight) * loyalty + p.identification_weight * identification


# --- 7.17 Firm practices: win-back, targeted relationship marketing, stickiness ----------------

PUSHED, VARIETY, PULLED = 0, 1, 2
"""Why a customer left its firm (7.17): pushed away (dissatisfaction, complaints heard, a better value
found on comparing), variety seeking, or pulled away by a rival's offer (Stauss & Friege 1999)."""
NOBODY = -1
"""``left_firm`` of a customer who has not left any firm yet."""
RETENTION_CAP = 0.99
"""Highest retention a firm's lifetime-value estimate uses (keeps ``r / (1 + d − r)`` finite)."""


@rule
def leaving_reason(variety_draw: float, took_offer: bool, p: Parameters) -> int:
    """Why a switcher left (7.17), as its consideration stage knows it: :data:`VARIETY` if it sought variety
    this period, else :data:`PULLED` if it moved to the rival that made it an offer, else :data:`PUSHED`."""
    if variety_draw < p.switching_variety_seeking:
        return VARIETY
    if took_offer:
        return PULLED
    return PUSHED


@rule
def win_back_probability(reason: int, satisfaction: float, offer: float, recovery: bool, p: Parameters) -> float:
    """Chance that a lost customer returns when its old firm contacts it (7.17), a logit:
    ``σ(base + offer_weight · offer / reference_price + satisfaction_weight · (S_left − 0.5) + shift)``,
    ``shift`` by the reason it left: ``dissatisfied_shift`` (times ``1 − recovery_repair`` if the contact
    recovers the service failure), ``variety_shift``, or 0 for a customer pulled away by an offer
    (Thomas, Blattberg & Fox 2004; Tokman, Davis & Lemon 2007; Stauss & Friege 1999)."""
    shift = 0.0
    if reason == PUSHED:
        shift = p.win_back_dissatisfied_shift * ((1.0 - p.win_back_recovery_repair) if recovery else 1.0)
    elif reason == VARIETY:
        shift = p.win_back_variety_shift
    x = (
        p.win_back_base
        + p.win_back_offer_weight * offer / p.economics_reference_price
        + p.win_back_satisfaction_weight * (satisfaction - NEUTRAL)
        + shift
    )
    return sigmoid(x)


@rule
def benefit_quality(quality: float, bonus: float) -> float:
    """Quality a targeted customer meets (7.17): the firm's plus its relationship bonus, at most 1
    (special-treatment benefits, Gwinner, Gremler & Bitner 1998)."""
    return min(quality + bonus, 1.0)


@rule
def benefit_switching_cost(programme_switching_cost: float, bonus: float) -> float:
    """Switching cost the current firm's programmes add (7.17): its loyalty programme's plus the targeted
    customer's relationship bonus."""
    return programme_switching_cost + bonus


@rule
def lifetime_value(margin: float, retention: float, p: Parameters) -> float:
    """A firm's estimate of a customer's lifetime value (7.17): ``m · r / (1 + d − r)`` with the period's
    margin ``m``, retention ``r`` (at most :data:`RETENTION_CAP`) and the discount rate per period ``d``
    (Gupta & Lehmann 2003)."""
    d = (1.0 + p.economics_annual_discount_rate) ** (1.0 / p.periods_per_year) - 1.0
    r = min(max(retention, 0.0), RETENTION_CAP)
    return margin * r / (1.0 + d - r)


@rule
def targeted_count(customers: int, share: float) -> int:
    """How many of its ``customers`` a firm targets: ``⌈share · customers⌉``."""
    return min(math.ceil(share * customers - 1e-9), customers)


@rule
def share_of_wallet(loyalty: float, satisfaction: float, p: Parameters) -> float:
    """Share of its category purchases a customer gives its firm (7.17):
    ``floor + (1 − floor) · a^curvature`` with attachment ``a = (1 − w) · L + w · S`` (Keiningham et al.
    2003; Cooil et al. 2007; Bowman & Narayandas 2004)."""
    w = p.stickiness_satisfaction_share
    attachment = min(max((1.0 - w) * loyalty + w * satisfaction, 0.0), 1.0)
    return p.stickiness_floor + (1.0 - p.stickiness_floor) * power(attachment, p.stickiness_curvature)


@rule
def purchase_units(loyalty: float, satisfaction: float, p: Parameters) -> float:
    """Purchases a customer makes from its firm in a period (7.17): its wallet times its :func:`share_of_wallet`
    with ``stickiness`` on, else one."""
    if not p.stickiness_enabled:
        return 1.0
    return p.stickiness_wallet * share_of_wallet(loyalty, satisfaction, p)


@rule
def volume_economics(units: float, purchases: int, price: float, unit_cost: float) -> tuple[float, float]:
    """Revenue and serving cost of the purchases beyond one per customer (7.17): a firm's 7.11 accounts
    count one purchase per customer; with stickiness it sells ``units`` in all."""
    extra = units - purchases
    return price * extra, unit_cost * extra
