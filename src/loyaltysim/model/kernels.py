"""Compiled loops of one period (numba), used by :mod:`loyaltysim.model.engine` when numba is installed.

A period is two passes over blocks of customers (the blocks of :mod:`loyaltysim.model.streams`) with the
word of mouth between them: :func:`experience` (each block draws its random numbers, then its
customers' experience and talk decisions, then its talkers' delivery draws), :func:`send_messages`
(talkers in customer order add their messages to their listeners' sums) and :func:`respond` (each
customer absorbs what it heard, answers the survey, chooses and starts the next period). In the two
passes each customer's update reads only the start-of-period state, its own draws and what earlier
steps wrote, and per-firm sums are kept per block; so the blocks can run on all cores (the
``*_parallel`` builds, from :data:`PARALLEL_FROM` customers) with results identical to a serial run.
The arithmetic is the numpy path's, in the same order; the docking tests check both against the
per-customer reference model. Without numba (``pip install loyaltysim[fast]`` adds it)
:data:`AVAILABLE` is False and the engine uses numpy only.
"""

from __future__ import annotations

import types

import numpy as np

try:
    from numba import get_num_threads, njit, prange
except ImportError:  # pragma: no cover - exercised where numba is absent
    AVAILABLE = False
    prange = range
else:
    AVAILABLE = True

PARALLEL_FROM = 50_000
"""From this many customers the kernels run their blocks on all cores (same results, in any case)."""

__all__ = [
    "AVAILABLE",
    "PARALLEL_FROM",
    "experience",
    "experience_parallel",
    "respond",
    "respond_parallel",
    "send_messages",
    "send_messages_parallel",
    "threads",
]


def threads() -> int:
    """How many threads the parallel builds use (numba's setting; 1 without numba)."""
    return get_num_threads() if AVAILABLE else 1


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
    generators,
    block,
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
    indptr,
    indices,
    reach,
    recovery_row,
    talk_row,
    real,
    link,
    link_params,
    out_performance,
    out_satisfaction,
    out_loyalty,
    out_complaint,
    out_sent,
    out_listener,
):
    """Steps 1–4a of a period, block by block: each block draws its rows (performance noise, then the
    uniform rows: recovery at ``recovery_row``, talk at ``talk_row``, −1 if not drawn), then its customers'
    experience, satisfaction, trust, beliefs, loyalty and talk decisions, then its talkers' delivery
    draws: ``out_sent[i]`` is the number of messages customer ``i`` delivers, and their listeners are
    stored in order in ``out_listener``, each block's from ``indptr[first customer of the block]`` on.

    ``belief`` and ``trust`` are updated in place (each customer's own row only).
    """
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
    uniform_rows = (recovery_row >= 0) + (talk_row >= 0)
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
    for b in prange((n + block - 1) // block):  # blocks of customers, in parallel when compiled so
        a, z = b * block, min(n, (b + 1) * block)
        generator = generators[np.int64(b)]  # prange indices are unsigned in parallel builds
        noise = np.empty(z - a)
        for i in range(z - a):
            noise[i] = generator.standard_normal()
        uniform = np.empty((uniform_rows, z - a))
        for row in range(uniform_rows):
            for i in range(z - a):
                uniform[row, i] = generator.random()
        for i in range(a, z):
            f = firm[i]
            performance = quality[f] + fit[i, f] + consistency[f] * noise[i - a]
            performance = min(max(performance, 0.0), 1.0)
            fairness = price_sensitivity[i] * ((reference_price - price[f]) / reference_price)
            expectation = belief[i, f]
            transaction = _transaction(performance, expectation, fairness, sensitivity, loss_aversion, quality_weight, neutral)
            complaint = transaction < 0.5 and recovery_enabled[f]
            if complaint and recovery_row >= 0 and uniform[recovery_row, i - a] < recovery_success[f]:
                transaction = transaction + recovery_softening[f] * (0.5 - transaction)
            weight = memory_by_tenure[tenure[i]]
            s = (1.0 - weight) * satisfaction[i] + weight * transaction
            gap = transaction - trust[i]
            t = trust[i] + (trust_down if gap < 0.0 else trust_growth) * gap
            for j in range(k):
                belief[i, j] = belief[i, j] + advertising_weight * (promise[j] - belief[i, j])
            weight = experience_by_tenure[tenure[i]]
            belief[i, f] = belief[i, f] + weight * (performance - belief[i, f])
            out_performance[i] = performance
            out_satisfaction[i] = s
            trust[i] = t
            out_loyalty[i] = _loyalty(s, t, habit_by_tenure[tenure[i]], link, link_params, trust_weight, habit_weight)
            out_complaint[i] = complaint
            talks = False
            if talk_row >= 0:
                chance = (
                    talk_rate * talkativeness[i] * _power(np.abs(2.0 * s - 1.0), extremity) * (negativity if s < 0.5 else 1.0)
                )
                talks = uniform[talk_row, i - a] < min(max(chance, 0.0), 1.0)
            out_sent[i] = talks
        if talk_row >= 0:
            slot = indptr[a]  # the block's messages fill its own stretch of out_listener, in order
            for i in range(a, z):
                if out_sent[i]:
                    first = slot
                    for position in range(indptr[i], indptr[i + 1]):
                        if generator.random() < reach:
                            out_listener[slot] = indices[position]
                            slot += 1
                    out_sent[i] = slot - first


def _send_messages(
    block, parts, sent, listeners, indptr, firm, satisfaction, performance, negative_weight, heard, reached, counted
):
    """Word of mouth: each talker (in customer order) adds its delivered messages (see :func:`experience`)
    to its listeners' per-firm sums ``heard[listener, firm]`` = (weight, weighted signal) and flags them in
    ``reached``. The listeners are split into ``parts`` ranges, one work item each: every part goes through
    all messages in talker order and applies those to its own listeners, so each listener's sums run in
    talker order however many parts or threads there are. ``counted[part]`` = (positive, negative)
    messages applied by the part."""
    n = len(sent)
    for part in prange(parts):  # listener ranges, in parallel when compiled so
        low, high = n * part // parts, n * (part + 1) // parts
        for b in range((n + block - 1) // block):
            a, z = b * block, min(n, (b + 1) * block)
            slot = indptr[a]
            for t in range(a, z):
                if sent[t] == 0:
                    continue
                is_negative = satisfaction[t] < 0.5
                weight = negative_weight if is_negative else 1.0
                signal = weight * performance[t]
                f = firm[t]
                for m in range(slot, slot + sent[t]):
                    listener = listeners[m]
                    if low <= listener < high:
                        heard[listener, f, 0] += weight
                        heard[listener, f, 1] += signal
                        reached[listener] = True
                        counted[part, 1 if is_negative else 0] += 1
                slot += sent[t]


def _respond(
    generators,
    block,
    firm,
    tenure,
    belief,
    satisfaction,
    trust,
    loyalty,
    response_bias,
    switching_cost,
    price_sensitivity,
    price,
    programme_switching_cost,
    active,
    variety_row,
    heard,
    reached,
    influence,
    lived_satisfaction,
    lived_loyalty,
    complaint,
    real,
    cutoffs,
    settle_real,
    link,
    link_params,
    out_rating,
    out_recommend,
    out_firm,
    out_switched,
    tallies,
    satisfaction_sums,
    sums,
    counts,
):
    """Steps 4b–7 of a period, block by block: each block draws its rows (rating and recommendation
    noise, then the uniform rows: variety at ``variety_row`` (−1 if not drawn), then choice); then for
    each customer: absorb the messages heard (the per-firm sums of :func:`send_messages` if ``heard``
    has rows; those and the ``reached`` flags are zeroed again after use), answer the survey, choose
    next period's firm, and start the next period (``satisfaction``, ``trust``, ``loyalty``, ``tenure``
    in place).

    Per block, each summed in customer order: ``tallies[b]`` = purchases, won, lost, complaints by firm;
    ``satisfaction_sums[b]`` the customers' satisfaction by firm; ``sums[b]`` = the sums of
    satisfaction, squared satisfaction, loyalty, and expectation of the firm bought from next;
    ``counts[b]`` customers (column 0) and switchers (column 1) by satisfaction band, rating and
    satisfaction bin, then promoters and detractors (the rows of ``engine.COUNT_ROWS``).
    """
    reference_price, noise_sd, curvature, value_weight, loyalty_weight, choice_noise, variety_seeking = (
        real[0],
        real[1],
        real[2],
        real[3],
        real[4],
        real[5],
        real[6],
    )
    sensitivity, loss_aversion, quality_weight, neutral, trust_weight, habit_weight, new_habit = (
        settle_real[1],
        settle_real[2],
        settle_real[3],
        settle_real[4],
        settle_real[5],
        settle_real[6],
        settle_real[7],
    )
    n, k = belief.shape
    discount = (reference_price - price) / reference_price  # relative discount of each firm's price
    bands, ratings = 5, 5
    curve_bins = counts.shape[1] - bands - ratings - 1
    listen = heard.shape[0] > 0
    uniform_rows = 1 + (variety_row >= 0)
    for b in prange((n + block - 1) // block):  # blocks of customers, in parallel when compiled so
        a, z = b * block, min(n, (b + 1) * block)
        generator = generators[np.int64(b)]  # prange indices are unsigned in parallel builds
        noise = np.empty((2, z - a))
        for row in range(2):
            for i in range(z - a):
                noise[row, i] = generator.standard_normal()
        uniform = np.empty((uniform_rows, z - a))
        for row in range(uniform_rows):
            for i in range(z - a):
                uniform[row, i] = generator.random()
        weights = np.empty(k)
        for i in range(a, z):
            f = firm[i]
            if listen and reached[i]:
                reached[i] = False
                for j in range(k):
                    weight = heard[i, j, 0]
                    if weight > 0.0:
                        pull = min(1.0, influence * weight)
                        belief[i, j] = belief[i, j] + pull * (heard[i, j, 1] / weight - belief[i, j])
                        heard[i, j, 0] = 0.0
                        heard[i, j, 1] = 0.0
            s = lived_satisfaction[i]
            answer = s + response_bias[i] + noise_sd * noise[0, i - a]
            rating = 1
            for c in cutoffs:
                if c <= answer:
                    rating += 1
            out_rating[i] = rating
            answer = 0.5 * (s + lived_loyalty[i]) + response_bias[i] + noise_sd * noise[1, i - a]
            out_recommend[i] = int(np.rint(10.0 * _power(min(max(answer, 0.0), 1.0), curvature)))
            top = -np.inf
            for j in range(k):
                u = value_weight * (belief[i, j] + price_sensitivity[i] * discount[j])
                if j == f:
                    u += loyalty_weight * lived_loyalty[i] + switching_cost[i] + programme_switching_cost[f]
                if not active[j]:
                    u = -np.inf
                elif choice_noise != 1.0:  # dividing by 1 changes nothing
                    u = u / choice_noise
                weights[j] = u
                top = max(top, u)
            alternatives = False
            for j in range(k):
                weights[j] = 1.0 if weights[j] == top else np.exp(weights[j] - top)  # exp(0) is exactly 1
                alternatives = alternatives or (j != f and weights[j] > 0.0)
            if variety_row >= 0 and alternatives and uniform[variety_row, i - a] < variety_seeking:
                weights[f] = 0.0
            total = 0.0
            for j in range(k):
                total += weights[j]
            target = uniform[uniform_rows - 1, i - a] * total
            cumulative = 0.0
            g = -1
            for j in range(k):
                cumulative += weights[j]
                if weights[j] > 0.0:
                    g = j
                    if cumulative > target:
                        break
            out_firm[i] = g
            # 7. the firms' tallies, then the next period's state (a mover starts afresh)
            tallies[b, 0, f] += 1
            satisfaction_sums[b, f] += s
            if complaint[i]:
                tallies[b, 3, f] += 1
            if g == f:
                out_switched[i] = False
                satisfaction[i] = s
                loyalty[i] = lived_loyalty[i]
                tenure[i] = tenure[i] + 1
            else:
                tallies[b, 1, g] += 1
                tallies[b, 2, f] += 1
                out_switched[i] = True
                expectation = belief[i, g]
                fairness = price_sensitivity[i] * discount[g]
                fresh = _transaction(expectation, expectation, fairness, sensitivity, loss_aversion, quality_weight, neutral)
                satisfaction[i] = fresh
                trust[i] = 0.5
                loyalty[i] = _loyalty(fresh, 0.5, new_habit, link, link_params, trust_weight, habit_weight)
                tenure[i] = 0
            sums[b, 0] += s
            sums[b, 1] += s * s
            sums[b, 2] += lived_loyalty[i]
            sums[b, 3] += belief[i, g]
            moved = 0 if g == f else 1
            row = min(int(s * bands), bands - 1)
            counts[b, row, 0] += 1
            counts[b, row, 1] += moved
            row = bands + rating - 1
            counts[b, row, 0] += 1
            counts[b, row, 1] += moved
            row = bands + ratings + min(int(s * curve_bins), curve_bins - 1)
            counts[b, row, 0] += 1
            counts[b, row, 1] += moved
            if out_recommend[i] >= 9:
                counts[b, bands + ratings + curve_bins, 0] += 1
            elif out_recommend[i] <= 6:
                counts[b, bands + ratings + curve_bins, 1] += 1


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
    _compile_parallel = njit(cache=True, error_model="numpy", parallel=True)
    _power = _compile(_power)
    _sigmoid = _compile(_sigmoid)
    _transaction = _compile(_transaction)
    _link = _compile(_link)
    _loyalty = _compile(_loyalty)
    experience = _compile(_experience)
    send_messages = _compile(_send_messages)
    send_messages_parallel = _compile_parallel(_as_parallel_variant(_send_messages))
    respond = _compile(_respond)
    experience_parallel = _compile_parallel(_as_parallel_variant(_experience))
    respond_parallel = _compile_parallel(_as_parallel_variant(_respond))
else:  # pragma: no cover
    experience = experience_parallel = send_messages = send_messages_parallel = respond = respond_parallel = None
