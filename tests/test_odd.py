"""An independent oracle: docs/ODD.md's equations, computed customer by customer, match the engine.

``reference_period`` is written from section 7 of docs/ODD.md with plain Python loops and the ``math``
module; it does not import the model's rules (a test below checks), so a rule that drifts from the ODD
fails here even though the engine and the per-customer reference model share it. It consumes the same
random numbers in the order the ODD's *Stochasticity* paragraph gives, so one period of
:func:`loyaltysim.model.engine.advance` (and the firms' adaptation after it) and of this loop must agree.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from loyaltysim import LoyaltyModel
from loyaltysim.config.schema import LINK_FUNCTIONS
from loyaltysim.model.streams import BLOCK, CustomerStreams

from .conftest import SWITCHES, small_config
from .test_docking import CUSTOMER_SIDE, MECHANISMS


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(x, -700.0)))


def _link(config, s: float) -> float:
    lo = config.loyalty
    if lo.link == "linear":
        return s
    if lo.link == "threshold":
        th, g = lo.threshold, lo.steepness
        return (_sigmoid(g * (s - th)) - _sigmoid(-g * th)) / (_sigmoid(g * (1 - th)) - _sigmoid(-g * th))
    if lo.link == "concave":
        return 1 - (1 - s) ** lo.concavity
    low, high, z = lo.zone_low, lo.zone_high, lo.zone_slope
    outside = (1 - z * (high - low)) / (1 - (high - low))
    if s <= low:
        return outside * s
    if s <= high:
        return outside * low + z * (s - low)
    return outside * low + z * (high - low) + outside * (s - high)


def _transaction(config, performance: float, expectation: float, fairness: float) -> float:
    sat = config.satisfaction
    gap = performance - expectation
    felt = gap if gap >= 0 else sat.loss_aversion * gap
    return _sigmoid(sat.sensitivity * (sat.quality_weight * (performance - sat.neutral_performance) + felt + fairness))


def reference_period(state, market, config, network, generators, block, t):
    """One period, customer by customer, from docs/ODD.md section 7; block b of ``block`` customers
    draws from ``generators[b]`` (section 4, *Stochasticity*)."""
    n, k = len(state.firm), len(market.names)
    bounds = [(a, min(a + block, n)) for a in range(0, n, block)]
    P, pref = config.periods_per_year, config.economics.reference_price
    sat, lo, wom, sw, obs = config.satisfaction, config.loyalty, config.word_of_mouth, config.switching, config.observation
    talking = wom.enabled and len(network.indices) > 0
    for j in range(k):  # 7.0: a quality shock scheduled for this period
        if market.shock_at[j] == t:
            market.quality[j] = min(max(market.quality[j] + market.shock_change[j], 0.0), 1.0)
    rows = {"recovery": bool(any(market.recovery_enabled)), "talk": talking, "variety": sw.variety_seeking > 0}
    rows |= {"consider": sw.consideration == "triggered", "offers": sw.offer_rate > 0}
    rv, risk, ident = config.reviews, config.risk, config.identification  # 7.14–7.16
    rows["review"] = rv.enabled
    tried = [list(row) for row in state.tried] if (rv.enabled or risk.enabled) else None
    heard_about = [list(row) for row in state.heard_about] if risk.enabled else None
    identity = list(state.identification) if ident.enabled else None
    first = [  # section 4, step 1: each block its z^P row, then the uniform rows switched on (recovery, talk)
        (g.standard_normal(z - a), g.random((rows["recovery"] + rows["talk"], z - a)))
        for g, (a, z) in zip(generators, bounds, strict=True)
    ]
    zP = np.concatenate([noise for noise, _ in first])
    uniform = iter(np.concatenate([u for _, u in first], axis=1))
    UR, UT = (next(uniform) if rows[name] else None for name in ("recovery", "talk"))
    perf, trans, S, T, L, complaint = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [False] * n
    belief = [[float(b) for b in row] for row in state.belief]
    for i in range(n):
        c = state.firm[i]
        quality = min(market.quality[c] + state.benefit_quality[i], 1.0)  # 7.17: a targeted customer's quality bonus
        perf[i] = min(max(quality + state.fit[i][c] + market.consistency[c] * zP[i], 0.0), 1.0)  # 7.1
        fairness = state.price_sensitivity[i] * ((pref - market.price[c]) / pref)  # 7.2
        s = _transaction(config, perf[i], belief[i][c], fairness)
        complaint[i] = s < 0.5 and bool(market.recovery_enabled[c])  # 7.3
        if complaint[i] and UR[i] < market.recovery_success[c]:
            s += market.recovery_softening[c] * (0.5 - s)
        trans[i] = s
        y = state.tenure[i] / P
        w = (1 - sat.memory) / (1 + sat.tenure_anchoring * y)  # 7.4
        S[i] = (1 - w) * state.satisfaction[i] + w * s
        rate = lo.trust_growth if s >= state.trust[i] else min(1.0, lo.trust_growth * sat.loss_aversion)  # 7.5
        T[i] = state.trust[i] + rate * (s - state.trust[i])
        for j in range(k):  # 7.6
            belief[i][j] += config.expectations.advertising_weight * (market.promise[j] - belief[i][j])
        if tried is not None:
            tried[i][c] = True
        if rv.enabled and state.reader[i]:  # 7.14: a reader reads the platform as it stood after the last period
            for j in range(k):
                count = market.review_count[j]
                if (rv.all_firms or not tried[i][j]) and count > 0:
                    pull = rv.weight * count / (count + rv.credibility_count)
                    belief[i][j] += pull * ((market.review_sum[j] / count - 1) / 4 - belief[i][j])
        we = config.expectations.experience_weight / (1 + sat.tenure_anchoring * y)
        belief[i][c] += we * (perf[i] - belief[i][c])
        habit = 1 - math.exp(-y / lo.habit_years)  # 7.7
        L[i] = (1 - lo.trust_weight - lo.habit_weight) * _link(config, S[i]) + lo.trust_weight * T[i] + lo.habit_weight * habit
        if identity is not None:  # 7.16
            delighted = s >= ident.delight_threshold
            identity[i] += ident.growth * (1 - identity[i]) if delighted else -ident.decay * identity[i]
            L[i] = (1 - ident.weight) * L[i] + ident.weight * identity[i]
    prompted = [False] * n
    if talking:  # 7.8
        talkers = []
        felt = [(1 - wom.incident_weight) * S[i] + wom.incident_weight * trans[i] for i in range(n)]
        for i in range(n):
            extreme = abs(2 * felt[i] - 1) ** wom.extremity * (wom.negativity if felt[i] < 0.5 else 1.0)
            if UT[i] < min(max(wom.talk_rate * state.talkativeness[i] * extreme, 0.0), 1.0):
                talkers.append(i)
        pairs = [(i, int(listener)) for i in talkers for listener in sorted(network.neighbours(i))]
        reach = np.concatenate(  # each block draws for its talkers' pairs, in order
            [g.random(sum(1 for i, _ in pairs if a <= i < z)) for g, (a, z) in zip(generators, bounds, strict=True)]
        )
        heard: dict[tuple[int, int], list[float]] = {}
        for (i, listener), u in zip(pairs, reach, strict=True):
            if u < wom.reach:
                negative = felt[i] < 0.5
                weight = wom.negative_weight if negative else 1.0
                about_own = state.firm[i] == state.firm[listener]  # 7.10: a complaint about its firm, praise of another
                prompted[listener] = prompted[listener] or (negative and about_own) or (not negative and not about_own)
                total = heard.setdefault((listener, int(state.firm[i])), [0.0, 0.0])
                total[0] += weight
                total[1] += weight * perf[i]
        for (listener, j), (weight_sum, signal_sum) in heard.items():
            b = belief[listener][j]
            belief[listener][j] = b + min(1.0, wom.influence * weight_sum) * (signal_sum / weight_sum - b)
            if heard_about is not None:  # 7.15: all word of mouth heard about j
                heard_about[listener][j] += weight_sum
    optional = rows["variety"] + rows["consider"] + 2 * rows["offers"] + rows["review"]
    last = [  # section 4, step 3: each block its z^R and z^N rows, then variety, consider, offer, rival (if on), choice
        (g.standard_normal((2, z - a)), g.random((1 + optional, z - a))) for g, (a, z) in zip(generators, bounds, strict=True)
    ]
    zR, zN = np.concatenate([noise for noise, _ in last], axis=1)
    uniform = iter(np.concatenate([u for _, u in last], axis=1))
    UV, UK = (next(uniform) if rows[name] else None for name in ("variety", "consider"))
    UO, UQ = (next(uniform) if rows["offers"] else None for _ in range(2))
    UP = next(uniform) if rows["review"] else None
    UC = next(uniform)
    rating, recommend, new_firm = [0] * n, [0] * n, [0] * n
    posted_sum, posted = [0.0] * k, [0.0] * k
    for i in range(n):
        c = state.firm[i]
        answer = S[i] + state.response_bias[i] + obs.rating_noise * zR[i]  # 7.9
        rating[i] = 1 + sum(cut <= answer for cut in obs.rating_cutoffs)
        nps_answer = 0.5 * (S[i] + L[i]) + state.response_bias[i] + obs.rating_noise * zN[i]
        recommend[i] = round(10 * min(max(nps_answer, 0.0), 1.0) ** obs.recommend_curvature)
        if UP is not None and UP[i] < min(1.0, rv.post_rate * (1 + rv.extremity * abs(rating[i] - 3) / 2)):  # 7.14
            posted_sum[c] += rating[i]
            posted[c] += 1
        rivals = [j for j in range(k) if market.enters_at[j] <= t and j != c]  # 7.10: an offer?
        offer = -1
        if UO is not None and rivals and UO[i] < 1 - (1 - sw.offer_rate) ** len(rivals):
            offer = rivals[min(int(UQ[i] * len(rivals)), len(rivals) - 1)]
        if sw.consideration == "always":  # consideration
            chance = 1.0
        else:
            reactional = _sigmoid((state.tolerance[i] - S[i]) / sw.tolerance_width)
            shield = min(max(1 - sw.fortitude * L[i], 0.0), 1.0)
            chance = 1 - (1 - reactional) * (1 - shield * sw.wom_prompt * prompted[i]) * (1 - shield * (offer >= 0))
        variety = UV is not None and UV[i] < sw.variety_seeking
        if not (variety or chance >= 1 or UK[i] < chance):
            new_firm[i] = c
            continue
        cost = state.switching_cost[i] * (1 - sw.relational_share + 2 * sw.relational_share * T[i])
        utility = []  # choice
        for j in range(k):
            value = belief[i][j] + state.price_sensitivity[i] * ((pref - market.price[j]) / pref)
            programme = market.programme_switching_cost[c] + state.benefit_switching[i]  # 7.17: a targeted customer's bonus
            bonus = sw.loyalty_weight * L[i] + cost + programme if j == c else 0.0
            bonus += sw.offer_value if j == offer else 0.0
            if risk.enabled and not tried[i][j]:  # 7.15
                information = math.exp(-market.review_count[j] / risk.review_scale - heard_about[i][j] / risk.word_of_mouth_scale)
                bonus -= risk.penalty * information * (1 - risk.trust_relief * T[i])
            utility.append(sw.value_weight * value + bonus if market.enters_at[j] <= t else -math.inf)
        top = max(utility)
        weights = [math.exp(u / sw.choice_noise - top / sw.choice_noise) for u in utility]
        if variety and any(w > 0 for j, w in enumerate(weights) if j != c):
            weights[c] = 0.0
        cumulative = list(itertools.accumulate(weights))
        above = [j for j in range(k) if cumulative[j] > UC[i] * cumulative[-1]]
        new_firm[i] = above[0] if above else max(j for j in range(k) if weights[j] > 0)
    econ = config.economics
    costs = []
    for j in range(k):  # 7.11
        buyers = [i for i in range(n) if state.firm[i] == j]
        lost = sum(new_firm[i] != j for i in buyers)
        won = sum(1 for i in range(n) if new_firm[i] == j and state.firm[i] != j)
        complaints = sum(complaint[i] for i in buyers)
        costs.append(
            market.unit_cost[j] * len(buyers)
            + econ.retention_cost * (len(buyers) - lost)
            + econ.acquisition_cost * won
            + market.programme_cost[j] * len(buyers)
            + market.recovery_cost[j] * complaints
        )
    quality, unit_cost = list(market.quality), list(market.unit_cost)  # 7.13
    for j in range(k):
        strategy = config.firms[j].strategy or config.strategy
        buyers = [S[i] for i in range(n) if state.firm[i] == j]
        below = bool(buyers) and sum(buyers) / len(buyers) < strategy.satisfaction_target
        if strategy.kind == "adaptive_quality" and market.enters_at[j] <= t and below:
            step = min(strategy.adjustment, 1 - quality[j])
            quality[j] += step
            unit_cost[j] += strategy.quality_unit_cost * step
    start_S, start_T, start_L = list(S), list(T), list(L)  # 7.12
    for i in range(n):
        c_new = new_firm[i]
        if c_new != state.firm[i]:
            fairness = state.price_sensitivity[i] * ((pref - market.price[c_new]) / pref)
            start_S[i] = _transaction(config, belief[i][c_new], belief[i][c_new], fairness)
            start_T[i] = 0.5
            start_L[i] = (1 - lo.trust_weight - lo.habit_weight) * _link(config, start_S[i]) + lo.trust_weight * 0.5
            if identity is not None:  # identification with the new brand starts at 0
                identity[i] = 0.0
                start_L[i] *= 1 - ident.weight
    review_sum, review_count = list(market.review_sum), list(market.review_count)
    if rv.enabled:  # 7.14: the platform after the period
        for j in range(k):
            fake = market.fake_reviews[j] if market.enters_at[j] <= t else 0.0  # a firm in the market
            review_sum[j] = rv.memory * review_sum[j] + (posted_sum[j] + 5 * fake)
            review_count[j] = rv.memory * review_count[j] + (posted[j] + fake)
    return {
        "tried": tried,
        "heard_about": heard_about,
        "identification": identity,
        "review_sum": review_sum,
        "review_count": review_count,
        "satisfaction": S,
        "loyalty": L,
        "rating": rating,
        "recommend": recommend,
        "new_firm": new_firm,
        "costs": costs,
        "quality": quality,
        "unit_cost": unit_cost,
        "belief": belief,
        "start_satisfaction": start_S,
        "start_trust": start_T,
        "start_loyalty": start_L,
    }


CASES = {
    **{f"link {link}": {"loyalty.link": link} for link in LINK_FUNCTIONS},
    **SWITCHES,
    **MECHANISMS,
    **CUSTOMER_SIDE,
    "zone, recovery, programme": {
        "loyalty.link": "zone_of_tolerance",
        "firms.2.loyalty_programme.enabled": True,
        "firms.2.service_recovery.enabled": True,
        "firms.0.service_recovery.enabled": True,
        "switching.variety_seeking": 0.05,
    },
    "concave, entry, adaptive, shocks": {
        "loyalty.link": "concave",
        "firms.4.enters_at": 6,
        "strategy.kind": "adaptive_quality",
        "word_of_mouth.talk_rate": 1.0,
        "network.type": "erdos_renyi",
        "firms.1.quality_shock": {"at": 7, "change": -0.3},
        "firms.3.quality_shock": {"at": 8, "change": 0.9},
    },
}
"""Every link function, every feature switch of the docking tests, and combinations."""


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("block", [BLOCK, 64], ids=["one block", "three blocks"])
def test_engine_matches_the_odd_equations(overrides, block):
    """Periods 6–11 (switching is rare with triggered consideration), and the period of each firm's entry or
    quality shock and the one after."""
    config = small_config(**{"customers.n": 150, **overrides})
    model = LoyaltyModel(config)
    if block != BLOCK:
        model.streams = CustomerStreams.spawn(model.rng, 150, block)
    events = {firm.enters_at for firm in config.firms} | {firm.quality_shock.at or 0 for firm in config.firms}
    checked = set(range(6, 12)) | {t + later for t in events - {0} for later in (0, 1)}
    switched = False
    for t in sorted(checked):
        model.run(t - 1 - model.steps)
        state, market = copy.deepcopy(model.state), copy.deepcopy(model.market)
        generators = copy.deepcopy(model.streams.generators)
        model.step()
        ref = reference_period(state, market, config, model.network, generators, block, model.steps)
        out = model.last_outcome
        np.testing.assert_allclose(out.satisfaction, ref["satisfaction"], rtol=1e-10)
        np.testing.assert_allclose(out.loyalty, ref["loyalty"], rtol=1e-10)
        np.testing.assert_array_equal(out.rating, ref["rating"])
        np.testing.assert_array_equal(out.recommend, ref["recommend"])
        np.testing.assert_array_equal(model.state.firm, ref["new_firm"])
        np.testing.assert_allclose(out.costs, ref["costs"], rtol=1e-10)
        np.testing.assert_allclose(model.state.belief, ref["belief"], rtol=1e-10)
        np.testing.assert_allclose(model.state.satisfaction, ref["start_satisfaction"], rtol=1e-10)
        np.testing.assert_allclose(model.state.trust, ref["start_trust"], rtol=1e-10)
        np.testing.assert_allclose(model.state.loyalty, ref["start_loyalty"], rtol=1e-10)
        np.testing.assert_allclose(model.market.quality, ref["quality"], rtol=1e-12)
        np.testing.assert_allclose(model.market.unit_cost, ref["unit_cost"], rtol=1e-12)
        np.testing.assert_allclose(model.market.review_sum, ref["review_sum"], rtol=1e-12)
        np.testing.assert_allclose(model.market.review_count, ref["review_count"], rtol=1e-12)
        for name in ("tried", "heard_about", "identification"):
            if ref[name] is not None:
                np.testing.assert_allclose(getattr(model.state, name), ref[name], rtol=1e-10, err_msg=name)
        # both consumed the same random numbers, so every block's stream is still in step
        assert [g.bit_generator.state for g in model.streams.generators] == [g.bit_generator.state for g in generators]
        switched = switched or out.switched.any()
    assert switched  # the comparison covers switchers, not only stayers


def test_relationship_benefits_enter_experience_and_choice():
    """7.17: a targeted customer meets the firm's quality plus its bonus (7.1) and its firm's programmes add its
    switching-cost bonus (7.10); benefits set by hand, so no practice runs after the period."""
    config = small_config(**{"customers.n": 150, "switching.consideration": "always", "firms.0.loyalty_programme.enabled": True})
    model = LoyaltyModel(config)
    model.run(3)
    draw = np.random.default_rng(5)
    model.state.benefit_quality[:] = draw.choice([0.0, 0.1, 0.5], size=150)
    model.state.benefit_switching[:] = draw.choice([0.0, 1.0, 4.0], size=150)
    state, market = copy.deepcopy(model.state), copy.deepcopy(model.market)
    generators = copy.deepcopy(model.streams.generators)
    model.step()
    ref = reference_period(state, market, config, model.network, generators, BLOCK, model.steps)
    np.testing.assert_allclose(model.last_outcome.satisfaction, ref["satisfaction"], rtol=1e-10)
    np.testing.assert_array_equal(model.state.firm, ref["new_firm"])
    without = LoyaltyModel(config).run(4)  # the benefits changed the period
    assert not np.allclose(without.last_outcome.satisfaction, model.last_outcome.satisfaction)


def test_the_oracle_does_not_use_the_models_rules():
    """Written from the ODD alone: this module imports nothing of loyaltysim.model but the streams."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in imported if name.startswith("loyaltysim.model")} == {"loyaltysim.model.streams"}


def _start_loyalty(config, satisfaction: float, trust: float, tenure_years: float) -> float:
    lo = config.loyalty
    habit = 1 - math.exp(-tenure_years / lo.habit_years)
    return (
        (1 - lo.trust_weight - lo.habit_weight) * _link(config, satisfaction) + lo.trust_weight * trust + lo.habit_weight * habit
    )


def test_the_warm_start_follows_section_5():
    """Beliefs are the promises and, about the own firm, clip(quality + fit); the supplier follows
    P(j) ∝ share_j · exp(w_V · (promise_j + fit_ij + fairness_ij) / μ); tenure is geometric with mean
    `customers.initial_tenure` years; the relationship starts with its expectation met."""
    n = 4000
    config = small_config(
        **{"customers.n": n, "customers.initial_tenure": 1.5, "firms.0.initial_share": 3.0, "firms.4.enters_at": 5}
    )
    state, market = LoyaltyModel(config).state, LoyaltyModel(config).market
    k, pref, sw = len(market.names), config.economics.reference_price, config.switching
    expected_counts, variance = np.zeros(k), np.zeros(k)
    for i in range(n):
        c = state.firm[i]
        fairness = [state.price_sensitivity[i] * (pref - market.price[j]) / pref for j in range(k)]
        beliefs = [market.promise[j] for j in range(k)]
        beliefs[c] = min(max(market.quality[c] + state.fit[i][c], 0.0), 1.0)
        np.testing.assert_allclose(state.belief[i], beliefs, rtol=0, atol=1e-15)
        weights = [
            config.firms[j].initial_share
            * math.exp(sw.value_weight * (market.promise[j] + state.fit[i][j] + fairness[j]) / sw.choice_noise)
            if config.firms[j].enters_at == 0
            else 0.0
            for j in range(k)
        ]
        chances = np.array(weights) / sum(weights)
        expected_counts += chances
        variance += chances * (1 - chances)
        s = _transaction(config, beliefs[c], beliefs[c], fairness[c])
        assert state.satisfaction[i] == pytest.approx(s, rel=1e-12) and state.trust[i] == 0.5
        assert state.loyalty[i] == pytest.approx(
            _start_loyalty(config, s, 0.5, state.tenure[i] / config.periods_per_year), rel=1e-12
        )
    counts = np.bincount(state.firm, minlength=k)
    assert counts[4] == 0  # not in the market at step 0
    z = (counts[:4] - expected_counts[:4]) / np.sqrt(variance[:4])
    assert np.all(np.abs(z) < 4.5), z
    mean = 1.5 * config.periods_per_year  # geometric on {0, 1, …}: P(τ = t) = h (1 − h)^t, h = 1 / (1 + mean)
    sd = math.sqrt(mean * (1 + mean))
    assert abs(state.tenure.mean() - mean) < 4.5 * sd / math.sqrt(n)
    h = 1 / (1 + mean)
    assert abs((state.tenure == 0).mean() - h) < 4.5 * math.sqrt(h * (1 - h) / n)


def test_the_cold_start_follows_section_5():
    """Every belief is the clipped initial expectation, tenure uniform over two years."""
    config = small_config(**{"customers.n": 2000, "run.warm_start": False})
    state = LoyaltyModel(config).state
    assert np.all(state.belief == state.belief[:, :1])
    assert state.tenure.min() == 0 and state.tenure.max() == 2 * config.periods_per_year - 1
