"""Each behavioural rule with known values."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from loyaltysim.model import rules as b


def test_price_fairness_is_relative_to_reference_price():
    assert_allclose(b.price_fairness([8.0, 10.0, 12.0], 10.0, 0.5), [0.1, 0.0, -0.1])


def test_disconfirmation_is_performance_minus_expectation():
    assert_allclose(b.disconfirmation([0.7, 0.5], [0.6, 0.6]), [0.1, -0.1])


def test_losses_weigh_more_than_gains():
    assert_allclose(b.felt_value([0.1, -0.1, 0.0], 2.5), [0.1, -0.25, 0.0])


def test_transaction_satisfaction_known_value_and_asymmetry():
    kwargs = dict(sensitivity=10.0, loss_aversion=2.0, quality_weight=0.5, neutral_performance=0.5)
    met = b.transaction_satisfaction(0.5, 0.5, 0.0, **kwargs)
    assert met == pytest.approx(0.5)
    above = b.transaction_satisfaction(0.6, 0.5, 0.0, **kwargs)  # 10 · (0.05 + 0.1) = 1.5
    below = b.transaction_satisfaction(0.4, 0.5, 0.0, **kwargs)  # 10 · (−0.05 − 0.2) = −2.5
    assert above == pytest.approx(1 / (1 + np.exp(-1.5)))
    assert below == pytest.approx(1 / (1 + np.exp(2.5)))
    assert (0.5 - below) > (above - 0.5)  # a shortfall hurts more than an equal surplus pleases


def test_experience_weight_shrinks_with_tenure():
    assert_allclose(b.experience_weight(0.3, [0.0, 1.0, 3.0], 0.5), [0.3, 0.2, 0.12])


def test_cumulative_satisfaction_smoothing():
    assert_allclose(b.update_cumulative_satisfaction([0.5, 0.8], [1.0, 0.0], [0.25, 0.5]), [0.625, 0.4])


def test_update_belief_moves_toward_signal():
    assert_allclose(b.update_belief([0.4, 0.8], [0.6, 0.6], 0.5), [0.5, 0.7])


@pytest.mark.parametrize(
    "link,options",
    [
        (b.link_linear, {}),
        (b.link_threshold, {"threshold": 0.6, "steepness": 10.0}),
        (b.link_zone_of_tolerance, {"low": 0.3, "high": 0.7, "slope": 0.2}),
        (b.link_concave, {"concavity": 3.0}),
    ],
)
def test_links_map_unit_interval_onto_itself_monotonically(link, options):
    grid = np.linspace(0, 1, 501)
    values = link(grid, **options)
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert values[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(values) >= -1e-12)


def test_link_shapes():
    # threshold: steepest at the threshold, flat far from it
    t = b.link_threshold(np.array([0.1, 0.2, 0.55, 0.65, 0.9, 1.0]), threshold=0.6, steepness=20.0)
    assert (t[3] - t[2]) > 10 * (t[1] - t[0])
    # zone of tolerance: slope inside the zone is `slope`, steeper outside
    z = b.link_zone_of_tolerance(np.array([0.4, 0.5, 0.1, 0.2]), low=0.3, high=0.7, slope=0.2)
    assert (z[1] - z[0]) / 0.1 == pytest.approx(0.2)
    assert (z[3] - z[2]) / 0.1 == pytest.approx((1 - 0.2 * 0.4) / 0.6)
    # concave: diminishing returns near the top
    c = b.link_concave(np.array([0.1, 0.2, 0.8, 0.9]), concavity=3.0)
    assert (c[1] - c[0]) > 10 * (c[3] - c[2])
    assert b.link_concave(0.5, concavity=3.0) == pytest.approx(0.875)


def test_trust_builds_slowly_and_falls_fast():
    up = b.update_trust(0.5, 0.9, growth=0.1, loss_aversion=2.0)
    down = b.update_trust(0.5, 0.1, growth=0.1, loss_aversion=2.0)
    assert up == pytest.approx(0.54)
    assert down == pytest.approx(0.42)


def test_habit_and_loyalty_mix():
    assert b.habit(2.0, 2.0) == pytest.approx(1 - np.exp(-1))
    assert b.attitudinal_loyalty(0.8, 0.4, 0.2, trust_weight=0.25, habit_weight=0.25) == pytest.approx(0.55)


def test_talk_probability_is_an_asymmetric_u():
    s = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    p = b.talk_probability(s, 1.0, talk_rate=0.4, extremity=1.0, negativity=2.0)
    assert_allclose(p, [0.8, 0.4, 0.0, 0.2, 0.4])
    assert np.all(b.talk_probability(s, 10.0, talk_rate=1.0, extremity=1.0, negativity=2.0) <= 1.0)


def test_absorb_messages_weighted_and_bounded():
    belief = np.array([0.5, 0.5, 0.5])
    weight = np.array([0.0, 1.0, 30.0])
    signal = np.array([0.0, 0.9, 30 * 0.1])
    out = b.absorb_messages(belief, weight, signal, influence=0.1)
    assert_allclose(out, [0.5, 0.5 + 0.1 * 0.4, 0.1])  # unheard unchanged; many messages capped at full pull


def test_survey_rating_and_recommendation():
    cut = (0.2, 0.4, 0.6, 0.8)
    assert b.survey_rating(np.array([0.1, 0.3, 0.5, 0.7, 0.9]), 0.0, 0.0, cut).tolist() == [1, 2, 3, 4, 5]
    assert b.survey_rating(0.55, 0.1, 0.0, cut) == 4  # response bias shifts the answer
    assert b.likelihood_to_recommend(1.0, 1.0, 0.0, 0.0, curvature=0.5) == 10
    assert b.likelihood_to_recommend(0.36, 0.36, 0.0, 0.0, curvature=0.5) == 6
    assert b.likelihood_to_recommend(0.0, 0.0, -0.2, 0.0, curvature=0.5) == 0


def test_bands_and_annualise():
    assert b.satisfaction_band(np.array([0.0, 0.19, 0.2, 0.59, 0.6, 0.99, 1.0])).tolist() == [0, 0, 1, 2, 3, 4, 4]
    assert b.annualise(0.1, 12) == pytest.approx(1 - 0.9**12)
