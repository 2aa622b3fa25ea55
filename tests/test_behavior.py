"""Each behavioural rule with known values (the compiled rules, as the kernels call them)."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from loyaltysim import load_config
from loyaltysim.model import parameters
from loyaltysim.model import rules as r


def params(**overrides: object) -> parameters.Parameters:
    """The parameter record of the default config with dotted overrides (``"loyalty.link": "linear"``)."""
    return parameters.record(load_config(None, overrides))


P = params()


def test_the_record_names_every_numeric_config_key():
    config = load_config(None, {"satisfaction.loss_aversion": 2.5, "loyalty.link": "concave", "word_of_mouth.enabled": False})
    p = parameters.record(config)
    assert p.satisfaction_loss_aversion == 2.5 and p.periods_per_year == 12
    assert p.loyalty_link == parameters.choice("loyalty", "link", "concave") == 3
    assert p.word_of_mouth_enabled == 0.0
    assert (p.observation_rating_cutoffs_0, p.observation_rating_cutoffs_3) == (0.2, 0.8)
    assert list(parameters.pack(config)) == list(p)
    assert "customers_n" not in parameters.FIELDS  # only the sections the rules read


def test_performance_is_clipped_to_the_unit_interval():
    assert r.performance(0.6, 0.05, 0.1, 1.0) == pytest.approx(0.75)
    assert r.performance(0.9, 0.2, 0.1, 1.0) == 1.0
    assert r.performance(0.1, -0.2, 0.1, -1.0) == 0.0


def test_price_fairness_is_relative_to_reference_price():
    discounts = [r.relative_discount(price, P) for price in (8.0, 10.0, 12.0)]
    assert_allclose([r.price_fairness(d, 0.5) for d in discounts], [0.1, 0.0, -0.1])


def test_disconfirmation_and_loss_aversion():
    assert r.disconfirmation(0.7, 0.6) == pytest.approx(0.1)
    assert_allclose([r.felt_value(gap, 2.5) for gap in (0.1, -0.1, 0.0)], [0.1, -0.25, 0.0])


def test_transaction_satisfaction_known_value_and_asymmetry():
    p = params(**{"satisfaction.sensitivity": 10.0, "satisfaction.loss_aversion": 2.0})
    assert r.transaction_satisfaction(0.5, 0.5, 0.0, p) == pytest.approx(0.5)
    above = r.transaction_satisfaction(0.6, 0.5, 0.0, p)  # 10 · (0.05 + 0.1) = 1.5
    below = r.transaction_satisfaction(0.4, 0.5, 0.0, p)  # 10 · (−0.05 − 0.2) = −2.5
    assert above == pytest.approx(1 / (1 + math.exp(-1.5)))
    assert below == pytest.approx(1 / (1 + math.exp(2.5)))
    assert (0.5 - below) > (above - 0.5)  # a shortfall hurts more than an equal surplus pleases
    assert r.expected_satisfaction(0.7, 0.0, p) == r.transaction_satisfaction(0.7, 0.7, 0.0, p)


def test_complaints_and_their_recovery():
    assert r.is_complaint(0.3, True) and not r.is_complaint(0.3, False) and not r.is_complaint(0.6, True)
    assert r.recover(0.2, 0.1, 0.7, 0.5) == pytest.approx(0.35)  # half the shortfall below 0.5 removed
    assert r.recover(0.2, 0.9, 0.7, 0.5) == 0.2  # not recovered


def test_experience_weights_shrink_with_tenure():
    p = params(**{"satisfaction.tenure_anchoring": 0.5, "satisfaction.memory": 0.7, "expectations.experience_weight": 0.3})
    assert_allclose([r.belief_weight(tenure, p) for tenure in (0, 12, 36)], [0.3, 0.2, 0.12])
    assert r.memory_weight(12, p) == pytest.approx(0.3 / 1.5)


def test_smoothing_and_belief_updates():
    assert r.update_cumulative_satisfaction(0.5, 1.0, 0.25) == pytest.approx(0.625)
    assert r.update_belief(0.4, 0.6, 0.5) == pytest.approx(0.5)
    p = params(**{"expectations.advertising_weight": 0.1})
    assert r.advertised_belief(0.5, 0.9, p) == pytest.approx(0.54)
    assert r.experienced_belief(0.8, 0.6, 0.5) == pytest.approx(0.7)


def test_trust_builds_slowly_and_falls_fast():
    p = params(**{"loyalty.trust_growth": 0.1, "satisfaction.loss_aversion": 2.0})
    assert r.update_trust(0.5, 0.9, p) == pytest.approx(0.54)
    assert r.update_trust(0.5, 0.1, p) == pytest.approx(0.42)


LINK_PARAMETERS = {
    "linear": {},
    "threshold": {"loyalty.threshold": 0.6, "loyalty.steepness": 10.0},
    "zone_of_tolerance": {"loyalty.zone_low": 0.3, "loyalty.zone_high": 0.7, "loyalty.zone_slope": 0.2},
    "concave": {"loyalty.concavity": 3.0},
}


@pytest.mark.parametrize("link", LINK_PARAMETERS)
def test_links_map_unit_interval_onto_itself_monotonically(link):
    p = params(**{"loyalty.link": link, **LINK_PARAMETERS[link]})
    values = np.array([r.link(s, p) for s in np.linspace(0, 1, 501)])
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert values[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(values) >= -1e-12)


def test_link_shapes():
    t = params(**{"loyalty.threshold": 0.6, "loyalty.steepness": 20.0})
    linked = [r.link_threshold(s, t) for s in (0.1, 0.2, 0.55, 0.65)]
    assert (linked[3] - linked[2]) > 10 * (linked[1] - linked[0])  # steepest at the threshold
    z = params(**{"loyalty.zone_low": 0.3, "loyalty.zone_high": 0.7, "loyalty.zone_slope": 0.2})
    assert (r.link_zone_of_tolerance(0.5, z) - r.link_zone_of_tolerance(0.4, z)) / 0.1 == pytest.approx(0.2)
    assert (r.link_zone_of_tolerance(0.2, z) - r.link_zone_of_tolerance(0.1, z)) / 0.1 == pytest.approx((1 - 0.2 * 0.4) / 0.6)
    c = params(**{"loyalty.concavity": 3.0})
    assert r.link_concave(0.5, c) == pytest.approx(0.875)
    assert (r.link_concave(0.2, c) - r.link_concave(0.1, c)) > 10 * (r.link_concave(0.9, c) - r.link_concave(0.8, c))
    assert r.link_linear(0.37) == 0.37


def test_habit_and_loyalty_mix():
    p = params(
        **{"loyalty.habit_years": 2.0, "loyalty.trust_weight": 0.25, "loyalty.habit_weight": 0.25, "loyalty.link": "linear"}
    )
    assert r.habit(24, p) == pytest.approx(1 - math.exp(-1))
    assert r.attitudinal_loyalty(0.8, 0.4, 0.2, p) == pytest.approx(0.55)
    assert r.loyalty(0.8, 0.4, 0.2, p) == pytest.approx(0.55)


def test_a_new_relationship_starts_with_its_expectation_met():
    p = params(**{"loyalty.link": "linear", "loyalty.trust_weight": 0.2, "loyalty.habit_weight": 0.1})
    satisfaction, trust, loyalty = r.start_relationship(0.7, 0.05, 0, p)
    assert satisfaction == r.expected_satisfaction(0.7, 0.05, p) and trust == r.NEUTRAL
    assert loyalty == pytest.approx(0.7 * satisfaction + 0.2 * 0.5)  # no habit at tenure 0
    assert r.start_relationship(0.7, 0.05, 24, p)[2] > loyalty  # an older relationship has habit


def test_talk_probability_is_an_asymmetric_u():
    p = params(**{"word_of_mouth.talk_rate": 0.4, "word_of_mouth.extremity": 1.0, "word_of_mouth.negativity": 2.0})
    assert_allclose([r.talk_probability(s, 1.0, p) for s in (0.0, 0.25, 0.5, 0.75, 1.0)], [0.8, 0.4, 0.0, 0.2, 0.4])
    assert r.talk_probability(0.0, 10.0, p) == 1.0


def test_messages_reach_weigh_and_are_absorbed():
    p = params(**{"word_of_mouth.reach": 0.5, "word_of_mouth.negative_weight": 3.0, "word_of_mouth.influence": 0.1})
    assert r.message_reaches(0.49, p) and not r.message_reaches(0.5, p)
    assert r.speaks_negatively(0.4) and not r.speaks_negatively(0.5)
    assert (r.message_weight(True, p), r.message_weight(False, p)) == (3.0, 1.0)
    assert r.absorb_messages(0.5, 1.0, 0.9, p) == pytest.approx(0.5 + 0.1 * 0.4)
    assert r.absorb_messages(0.5, 30.0, 30 * 0.1, p) == pytest.approx(0.1)  # many messages: capped at full pull


def test_survey_rating_and_recommendation():
    p = params(**{"observation.rating_noise": 0.1})
    assert [r.survey_rating(s, 0.0, 0.0, p) for s in (0.1, 0.3, 0.5, 0.7, 0.9)] == [1, 2, 3, 4, 5]
    assert r.survey_rating(0.55, 0.1, 0.0, p) == 4  # response bias shifts the answer
    assert r.survey_rating(0.55, 0.0, 1.0, p) == 4  # noise · rating_noise
    assert r.likelihood_to_recommend(1.0, 1.0, 0.0, 0.0, P) == 10
    assert r.likelihood_to_recommend(0.36, 0.36, 0.0, 0.0, P) == 6
    assert r.likelihood_to_recommend(0.0, 0.0, -0.2, 0.0, P) == 0


def test_utility_adds_loyalty_and_switching_costs_to_the_current_firm():
    p = params(**{"switching.value_weight": 10.0, "switching.loyalty_weight": 4.0})
    assert r.perceived_value(0.6, 0.05) == pytest.approx(0.65)
    assert r.utility(0.65, False, 0.5, 3.0, 1.0, False, p) == pytest.approx(6.5)
    assert r.utility(0.65, True, 0.5, 3.0, 1.0, False, p) == pytest.approx(6.5 + 2.0 + 3.0 + 1.0)


def test_choice_is_a_logit_over_the_firms_in_the_market():
    p = params(**{"switching.choice_noise": 1.0, "switching.variety_seeking": 0.1})
    utilities = np.array([0.0, math.log(3.0), -math.inf])  # weights 1 : 3 : 0
    assert r.choose_firm(utilities.copy(), 0, r.NOT_DRAWN, 0.2, p) == 0
    assert r.choose_firm(utilities.copy(), 0, r.NOT_DRAWN, 0.3, p) == 1
    assert r.choose_firm(utilities.copy(), 0, r.NOT_DRAWN, 0.999999, p) == 1  # never the firm not in the market
    assert r.choose_firm(utilities.copy(), 0, 0.05, 0.2, p) == 1  # a variety seeker drops its current firm
    assert r.choose_firm(np.array([0.0, -math.inf]), 0, 0.05, 0.9, p) == 0  # … unless there is no other
    noisy = params(**{"switching.choice_noise": 2.0})
    weights = np.array([0.0, 2.0 * math.log(3.0)])
    r.choose_firm(weights, 0, r.NOT_DRAWN, 0.5, noisy)
    assert_allclose(weights, [1 / 3, 1.0])  # exp(U/μ − max U/μ)


def test_adaptive_firms_raise_quality_below_target():
    assert r.adapt_quality(0.6, 5.0, 0.5, 0.65, 0.01, 5.0) == pytest.approx((0.61, 5.05))
    assert r.adapt_quality(0.995, 5.0, 0.5, 0.65, 0.01, 5.0) == pytest.approx((1.0, 5.025))  # up to 1
    assert r.adapt_quality(0.6, 5.0, 0.7, 0.65, 0.01, 5.0) == (0.6, 5.0)  # on target
    assert r.adapt_quality(0.6, 5.0, math.nan, 0.65, 0.01, 5.0) == (0.6, 5.0)  # no customers


def test_the_uncompiled_rules_give_the_same_numbers():
    p = params(**{"loyalty.link": "threshold"})
    for s in np.linspace(0, 1, 41):
        assert r.loyalty.py_func(s, 0.4, 0.3, p) == r.loyalty(s, 0.4, 0.3, p)
        assert r.talk_probability.py_func(s, 1.3, p) == r.talk_probability(s, 1.3, p)
        assert r.transaction_satisfaction.py_func(s, 0.6, 0.02, p) == r.transaction_satisfaction(s, 0.6, 0.02, p)


def test_consideration_is_triggered_by_dissatisfaction_word_of_mouth_or_offers():
    """p = 1 − (1 − σ((ϑ − S)/w)) (1 − shield · ω · prompted) (1 − shield · offered), shield = clip(1 − φ L, 0, 1)."""
    p = params(**{"switching.tolerance_width": 0.05, "switching.wom_prompt": 0.3, "switching.fortitude": 1.0})
    assert r.reactional_trigger(0.55, 0.55, p) == 0.5
    assert r.reactional_trigger(0.80, 0.55, p) == pytest.approx(1 / (1 + math.exp(5.0)))
    quiet = r.consideration_probability(0.8, 0.6, 0.55, False, False, p)
    assert quiet == pytest.approx(1 / (1 + math.exp(5.0)))
    prompted = r.consideration_probability(0.8, 0.6, 0.55, True, False, p)
    assert prompted == pytest.approx(1 - (1 - quiet) * (1 - 0.4 * 0.3))
    offered = r.consideration_probability(0.8, 0.6, 0.55, False, True, p)
    assert offered == pytest.approx(1 - (1 - quiet) * (1 - 0.4))
    assert r.consideration_probability(0.8, 1.0, 0.55, True, True, p) == pytest.approx(quiet)  # full loyalty shields
    assert r.shield(1.5, p) == 0.0 and r.shield(-0.2, p) == 1.0
    always = params(**{"switching.consideration": "always"})
    assert r.consideration_probability(0.99, 1.0, 0.0, False, False, always) == 1.0


def test_variety_seekers_and_certain_triggers_compare_without_a_draw():
    p = params(**{"switching.variety_seeking": 0.1})
    assert r.considers(0.05, r.NOT_DRAWN, 0.0, p)  # variety seeker
    assert r.considers(r.NOT_DRAWN, r.NOT_DRAWN, 1.0, p)  # consideration: always
    assert r.considers(0.5, 0.2, 0.3, p) and not r.considers(0.5, 0.4, 0.3, p)


def test_a_rival_offers_with_the_chance_of_at_least_one_offer():
    p = params(**{"switching.offer_rate": 0.1})
    assert r.offer_probability(3, p) == pytest.approx(1 - 0.9**3)
    active = np.array([True, False, True, True, True])  # current firm 2: rivals 0, 3, 4
    assert r.offering_rival(active, 2, 0.27, 0.0, p) == 0  # 0.27 < 1 − 0.9³ = 0.271
    assert r.offering_rival(active, 2, 0.28, 0.0, p) == -1
    assert [r.offering_rival(active, 2, 0.0, u, p) for u in (0.2, 0.5, 0.9, 1.0)] == [0, 3, 4, 4]
    assert r.offering_rival(np.array([False, True]), 1, 0.0, 0.5, p) == -1  # no rival in the market


def test_the_relational_switching_cost_grows_with_trust():
    p = params(**{"switching.relational_share": 0.6})
    assert r.relational_switching_cost(5.0, 0.5, p) == pytest.approx(5.0)
    assert r.relational_switching_cost(5.0, 0.0, p) == pytest.approx(2.0)
    assert r.relational_switching_cost(5.0, 1.0, p) == pytest.approx(8.0)
    assert r.relational_switching_cost(5.0, 0.1, params(**{"switching.relational_share": 0.0})) == 5.0
    offered = params(**{"switching.offer_value": 2.0})
    assert r.utility(0.65, False, 0.5, 3.0, 1.0, True, offered) == pytest.approx(
        r.utility(0.65, False, 0.5, 3.0, 1.0, False, offered) + 2.0
    )


def test_the_warm_start_places_customers_by_value_and_share():
    p = params(**{"switching.value_weight": 12.0, "switching.choice_noise": 2.0})
    assert r.initial_utility(0.0, 0.7, 0.0, 0.0, p) == -math.inf
    assert r.initial_utility(2.0, 0.7, 0.1, -0.05, p) == pytest.approx(12.0 * 0.75 + 2.0 * math.log(2.0))
    assert r.settled_belief(0.9, 0.2) == 1.0 and r.settled_belief(0.6, -0.1) == pytest.approx(0.5)


def test_customers_talk_about_the_incident_mixed_with_their_satisfaction():
    p = params(**{"word_of_mouth.incident_weight": 0.7})
    assert r.talked_satisfaction(0.8, 0.2, p) == pytest.approx(0.3 * 0.8 + 0.7 * 0.2)
    assert r.speaks_negatively(r.talked_satisfaction(0.8, 0.2, p))  # a bad purchase of a satisfied customer
    assert r.talked_satisfaction(0.8, 0.2, params(**{"word_of_mouth.incident_weight": 0.0})) == 0.8
