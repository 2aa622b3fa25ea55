"""Compiled loops of one period (numba), used by :mod:`loyaltysim.engine` when numba is installed.

Each kernel runs the rules of :mod:`loyaltysim.behavior` for one customer at a time, in customer
order, reading the period's pre-drawn random numbers: the same arithmetic as the numpy path, in the
same order. The docking tests check that both give the per-customer reference model's results.
Without numba (``pip install loyaltysim[fast]`` adds it) :data:`AVAILABLE` is False and the engine
uses numpy only.
"""

from __future__ import annotations

import types

import numpy as np

try:
    from numba import njit, prange
except ImportError:  # pragma: no cover - exercised where numba is absent
    AVAILABLE = False
    prange = range
else:
    AVAILABLE = True

CHUNK = 4096  # customers per parallel work item
PARALLEL_FROM = 50_000
"""From this many customers the per-customer kernels run on all cores (same results, in any case)."""

__all__ = [
    "AVAILABLE",
    "PARALLEL_FROM",
    "choose",
    "choose_parallel",
    "count_period",
    "experience",
    "experience_parallel",
    "settle",
    "spread_word_of_mouth",
]

LINK_CODES = {"linear": 0, "threshold": 1, "zone_of_tolerance": 2, "concave": 3}


def _power(x: float, exponent: float) -> float:
    """``x ** exponent``, with numpy's exact shortcuts for the exponents 1, 2 and 0.5."""
    if exponent == 2.0:
        return x * x
    if exponent == 0.5:
        return np.sqrt(x)
    if exponent == 1.0:
        return x
    return x**exponent


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-max(x, -700.0)))


def _transaction(performance, expectation, fairness, sensitivity, loss_aversion, quality_weight, neutral):
    level = quality_weight * (performance - neutral)
    gap = performance - expectation
    if gap < 0.0:
        gap = loss_aversion * gap
    return _sigmoid(sensitivity * (level + gap + fairness))


def _link(s, code, p0, p1, p2, p3, p4, p5):
    """Link function by code; p0…p5 are its constants (see :func:`link_constants`)."""
    if code == 0:
        return s
    if code == 1:  # threshold: p0 steepness, p1 threshold, p2 low, p3 high
        return (_sigmoid(p0 * (s - p1)) - p2) / (p3 - p2)
    if code == 2:  # zone of tolerance, as np.interp over knots (0, p0, p1, 1) → (0, p2, p3, 1)
        if s <= 0.0:
            return 0.0
        if s >= 1.0:
            return 1.0
        if s < p0:
            x0, x1, y0, y1 = 0.0, p0, 0.0, p2
        elif s < p1:
            x0, x1, y0, y1 = p0, p1, p2, p3
        else:
            x0, x1, y0, y1 = p1, 1.0, p3, 1.0
        return (y1 - y0) / (x1 - x0) * (s - x0) + y0
    return 1.0 - _power(1.0 - s, p4)  # concave


def _loyalty(s, trust, habit, link, lp, trust_weight, habit_weight):
    linked = _link(s, link, lp[0], lp[1], lp[2], lp[3], lp[4], lp[5])
    return (1.0 - trust_weight - habit_weight) * linked + trust_weight * trust + habit_weight * habit


def _experience(
    firm,
    tenure,
    belief,
    fit,
    satisfaction,
    trust,
    price_sensitivity,
    talkativeness,
    quality,
    consistency,
    price,
    promise,
    recovery_enabled,
    recovery_success,
    recovery_softening,
    performance_noise,
    recovery_draw,
    talk_draw,
    real,
    link,
    link_params,
    out_belief,
    out_performance,
    out_satisfaction,
    out_trust,
    out_loyalty,
    out_complaint,
    out_talk,
):
    """Steps 1–4a of a period for every customer: experience, satisfaction, trust, beliefs, loyalty, talk."""
    (
        reference_price,
        sensitivity,
        loss_aversion,
        quality_weight,
        neutral,
        memory_weight,
        tenure_anchoring,
        periods_per_year,
        trust_growth,
        experience_weight,
        advertising_weight,
        trust_weight,
        habit_weight,
        habit_years,
        talk_rate,
        extremity,
        negativity,
    ) = (
        real[0],
        real[1],
        real[2],
        real[3],
        real[4],
        real[5],
        real[6],
        real[7],
        real[8],
        real[9],
        real[10],
        real[11],
        real[12],
        real[13],
        real[14],
        real[15],
        real[16],
    )
    n, k = belief.shape
    trust_down = min(1.0, trust_growth * loss_aversion)
    # Everything that depends on tenure only, once per tenure value (the same arithmetic per customer).
    longest = 0
    for i in range(n):
        longest = max(longest, tenure[i])
    memory_by_tenure = np.empty(longest + 1)
    experience_by_tenure = np.empty(longest + 1)
    habit_by_tenure = np.empty(longest + 1)
    for years_index in range(longest + 1):
        tenure_years = years_index / periods_per_year
        memory_by_tenure[years_index] = memory_weight / (1.0 + tenure_anchoring * tenure_years)
        experience_by_tenure[years_index] = experience_weight / (1.0 + tenure_anchoring * tenure_years)
        habit_by_tenure[years_index] = 1.0 - np.exp(-tenure_years / habit_years)
    use_recovery = len(recovery_draw) > 0
    use_talk = len(talk_draw) > 0
    for chunk in prange((n + CHUNK - 1) // CHUNK):  # chunks of customers, in parallel when compiled so
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            f = firm[i]
            performance = quality[f] + fit[i, f] + consistency[f] * performance_noise[i]
            performance = min(max(performance, 0.0), 1.0)
            fairness = price_sensitivity[i] * (reference_price - price[f]) / reference_price
            expectation = belief[i, f]
            transaction = _transaction(performance, expectation, fairness, sensitivity, loss_aversion, quality_weight, neutral)
            complaint = transaction < 0.5 and recovery_enabled[f]
            if complaint and use_recovery and recovery_draw[i] < recovery_success[f]:
                transaction = transaction + recovery_softening[f] * (0.5 - transaction)
            weight = memory_by_tenure[tenure[i]]
            s = (1.0 - weight) * satisfaction[i] + weight * transaction
            gap = transaction - trust[i]
            t = trust[i] + (trust_down if gap < 0.0 else trust_growth) * gap
            for j in range(k):
                b = belief[i, j]
                out_belief[i, j] = b + advertising_weight * (promise[j] - b)
            b = out_belief[i, f]
            weight = experience_by_tenure[tenure[i]]
            out_belief[i, f] = b + weight * (performance - b)
            out_performance[i] = performance
            out_satisfaction[i] = s
            out_trust[i] = t
            out_loyalty[i] = _loyalty(s, t, habit_by_tenure[tenure[i]], link, link_params, trust_weight, habit_weight)
            out_complaint[i] = complaint
            if use_talk:
                chance = (
                    talk_rate * talkativeness[i] * _power(np.abs(2.0 * s - 1.0), extremity) * (negativity if s < 0.5 else 1.0)
                )
                out_talk[i] = talk_draw[i] < min(max(chance, 0.0), 1.0)


def _spread(
    talkers,
    indptr,
    indices,
    delivery,
    reach,
    negative_weight,
    influence,
    satisfaction,
    performance,
    firm,
    belief,
    weight_sum,
    signal_sum,
):
    """Word of mouth: each talker's messages (one delivery draw per neighbour, CSR order), then absorption.

    ``weight_sum`` and ``signal_sum`` are zero on entry and left zero on exit. Returns (positive, negative).
    """
    positive = 0
    negative = 0
    edge = 0
    for t in talkers:
        is_negative = satisfaction[t] < 0.5
        weight = negative_weight if is_negative else 1.0
        signal = weight * performance[t]
        f = firm[t]
        for position in range(indptr[t], indptr[t + 1]):
            if delivery[edge] < reach:
                listener = indices[position]
                weight_sum[listener, f] += weight
                signal_sum[listener, f] += signal
                if is_negative:
                    negative += 1
                else:
                    positive += 1
            edge += 1
    edge = 0
    for t in talkers:
        f = firm[t]
        for position in range(indptr[t], indptr[t + 1]):
            if delivery[edge] < reach:
                listener = indices[position]
                heard = weight_sum[listener, f]
                if heard > 0.0:
                    b = belief[listener, f]
                    pull = min(1.0, influence * heard)
                    belief[listener, f] = b + pull * (signal_sum[listener, f] / heard - b)
                weight_sum[listener, f] = 0.0
                signal_sum[listener, f] = 0.0
            edge += 1
    return positive, negative


def _choose(
    firm,
    belief,
    satisfaction,
    loyalty,
    response_bias,
    switching_cost,
    price_sensitivity,
    price,
    programme_switching_cost,
    active,
    rating_noise,
    recommend_noise,
    variety_draw,
    choice_draw,
    real,
    cutoffs,
    out_rating,
    out_recommend,
    out_firm,
):
    """Steps 5–6 for every customer: survey answers, then the logit choice of next period's firm."""
    reference_price, noise_sd, curvature, value_weight, loyalty_weight, choice_noise, variety_seeking = (
        real[0],
        real[1],
        real[2],
        real[3],
        real[4],
        real[5],
        real[6],
    )
    n, k = belief.shape
    use_variety = len(variety_draw) > 0
    for chunk in prange((n + CHUNK - 1) // CHUNK):  # chunks of customers, in parallel when compiled so
        weights = np.empty(k)
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            f = firm[i]
            s = satisfaction[i]
            answer = s + response_bias[i] + noise_sd * rating_noise[i]
            rating = 1
            for c in cutoffs:
                if c <= answer:
                    rating += 1
            out_rating[i] = rating
            answer = 0.5 * (s + loyalty[i]) + response_bias[i] + noise_sd * recommend_noise[i]
            out_recommend[i] = int(np.rint(10.0 * _power(min(max(answer, 0.0), 1.0), curvature)))
            top = -np.inf
            for j in range(k):
                fairness = price_sensitivity[i] * (reference_price - price[j]) / reference_price
                u = value_weight * (belief[i, j] + fairness)
                if j == f:
                    u += loyalty_weight * loyalty[i] + switching_cost[i] + programme_switching_cost[f]
                if not active[j]:
                    u = -np.inf
                elif choice_noise != 1.0:  # dividing by 1 changes nothing
                    u = u / choice_noise
                weights[j] = u
                top = max(top, u)
            alternatives = False
            for j in range(k):
                weights[j] = np.exp(weights[j] - top)
                alternatives = alternatives or (j != f and weights[j] > 0.0)
            if use_variety and alternatives and variety_draw[i] < variety_seeking:
                weights[f] = 0.0
            total = 0.0
            for j in range(k):
                total += weights[j]
            target = choice_draw[i] * total
            cumulative = 0.0
            chosen = -1
            for j in range(k):
                cumulative += weights[j]
                if weights[j] > 0.0:
                    chosen = j
                    if cumulative > target:
                        break
            out_firm[i] = chosen


def _settle(
    firm,
    new_firm,
    satisfaction,
    trust,
    loyalty,
    tenure,
    complaint,
    belief,
    price_sensitivity,
    price,
    real,
    link,
    link_params,
    out_switched,
    out_satisfaction,
    out_trust,
    out_loyalty,
    out_tenure,
    purchases,
    won,
    lost,
    complaints,
    satisfaction_sum,
):
    """Step 7 for every customer: the firms' tallies (in customer order), then the next period's state.

    A customer who switched starts the new relationship with its expectation met, trust 0.5, tenure 0.
    """
    reference_price, sensitivity, loss_aversion, quality_weight, neutral, trust_weight, habit_weight, new_habit = (
        real[0],
        real[1],
        real[2],
        real[3],
        real[4],
        real[5],
        real[6],
        real[7],
    )
    for i in range(len(firm)):
        f, g = firm[i], new_firm[i]
        purchases[f] += 1
        satisfaction_sum[f] += satisfaction[i]
        if complaint[i]:
            complaints[f] += 1
        if g == f:
            out_switched[i] = False
            out_satisfaction[i] = satisfaction[i]
            out_trust[i] = trust[i]
            out_loyalty[i] = loyalty[i]
            out_tenure[i] = tenure[i] + 1
        else:
            won[g] += 1
            lost[f] += 1
            out_switched[i] = True
            expectation = belief[i, g]
            fairness = price_sensitivity[i] * (reference_price - price[g]) / reference_price
            s = _transaction(expectation, expectation, fairness, sensitivity, loss_aversion, quality_weight, neutral)
            out_satisfaction[i] = s
            out_trust[i] = 0.5
            out_loyalty[i] = _loyalty(s, 0.5, new_habit, link, link_params, trust_weight, habit_weight)
            out_tenure[i] = 0


def _count_period(satisfaction, switched, rating, recommend, bands, curve_bins, band, rating_table, curve):
    """A period's counts for the metrics: customers and switchers by satisfaction band, rating and
    fine satisfaction bin (``[:, 0]`` customers, ``[:, 1]`` switchers). Returns (switchers, promoters, detractors)."""
    switchers = 0
    promoters = 0
    detractors = 0
    for i in range(len(satisfaction)):
        s = satisfaction[i]
        moved = 1 if switched[i] else 0
        switchers += moved
        b = min(int(s * bands), bands - 1)
        c = min(int(s * curve_bins), curve_bins - 1)
        r = rating[i] - 1
        band[b, 0] += 1
        band[b, 1] += moved
        curve[c, 0] += 1
        curve[c, 1] += moved
        rating_table[r, 0] += 1
        rating_table[r, 1] += moved
        if recommend[i] >= 9:
            promoters += 1
        elif recommend[i] <= 6:
            detractors += 1
    return switchers, promoters, detractors


def _as_parallel_variant(func):
    """A copy of ``func`` under its own name, so numba caches its parallel build apart from the serial one.

    numba's on-disk cache is keyed by the function's qualified name and signature, not by ``parallel=``:
    compiling one function both ways would let whichever build was cached first serve both.
    """
    clone = types.FunctionType(func.__code__, func.__globals__, f"{func.__name__}_parallel", func.__defaults__)
    clone.__qualname__ = f"{func.__qualname__}_parallel"
    clone.__doc__ = func.__doc__
    return clone


if AVAILABLE:
    _compile = njit(cache=True, error_model="numpy")
    _power = _compile(_power)
    _sigmoid = _compile(_sigmoid)
    _transaction = _compile(_transaction)
    _link = _compile(_link)
    _loyalty = _compile(_loyalty)
    experience = _compile(_experience)
    spread_word_of_mouth = _compile(_spread)
    choose = _compile(_choose)
    _compile_parallel = njit(cache=True, error_model="numpy", parallel=True)
    experience_parallel = _compile_parallel(_as_parallel_variant(_experience))
    choose_parallel = _compile_parallel(_as_parallel_variant(_choose))
    settle = _compile(_settle)
    count_period = _compile(_count_period)
else:  # pragma: no cover
    experience = experience_parallel = spread_word_of_mouth = choose = choose_parallel = settle = count_period = None
