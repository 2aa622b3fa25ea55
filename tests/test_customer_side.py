"""Online reviews, perceived risk and identification (ODD 7.14–7.16): the rules with known values, a small
market whose platform is recounted by hand, and the config errors."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from loyaltysim import ConfigError, LoyaltyModel, load_config
from loyaltysim.model import parameters
from loyaltysim.model import rules as r

from .conftest import small_config


def params(**overrides: object) -> parameters.Parameters:
    return parameters.record(load_config(None, overrides))


P = params()

# --- reviews ---------------------------------------------------------------------------------


def test_extreme_ratings_are_posted_more_often():
    p = params(**{"reviews.post_rate": 0.1, "reviews.extremity": 2.0})
    chances = [r.posting_probability(rating, p) for rating in (1, 2, 3, 4, 5)]
    assert_allclose(chances, [0.3, 0.2, 0.1, 0.2, 0.3])
    assert r.posting_probability(5, params(**{"reviews.post_rate": 0.6, "reviews.extremity": 2.0})) == 1.0
    assert r.posts_review(0.29, 5, p) and not r.posts_review(0.31, 5, p)


def test_the_platform_weighs_recent_reviews_more_and_counts_fake_ones_as_five_stars():
    p = params(**{"reviews.memory": 0.5})
    assert r.update_platform(8.0, 2.0, 9.0, 3.0, 0.0, p) == (13.0, 4.0)
    assert r.update_platform(8.0, 2.0, 0.0, 0.0, 2.0, p) == (14.0, 3.0)
    assert r.platform_rating(13.0, 4.0) == 3.25
    assert math.isnan(r.platform_rating(0.0, 0.0))


def test_a_belief_moves_toward_the_average_rating_the_more_the_more_reviews():
    p = params(**{"reviews.weight": 0.4, "reviews.credibility_count": 10.0})
    assert r.review_signal(5.0) == 1.0 and r.review_signal(1.0) == 0.0 and r.review_signal(4.0) == 0.75
    few = r.reviewed_belief(0.5, 4.0 * 10.0, 10.0, p)  # average 4 → signal 0.75, pull 0.4 · 10/20
    many = r.reviewed_belief(0.5, 4.0 * 90.0, 90.0, p)
    assert few == pytest.approx(0.5 + 0.2 * 0.25)
    assert many == pytest.approx(0.5 + 0.36 * 0.25)
    assert r.reviewed_belief(0.5, 0.0, 0.0, p) == 0.5  # no reviews, no pull
    assert r.reads_about(True, False, p) and not r.reads_about(True, True, p) and not r.reads_about(False, False, p)
    assert r.reads_about(True, True, params(**{"reviews.all_firms": True}))


NO_NOISE = {"word_of_mouth.enabled": False, "switching.variety_seeking": 0.0}


def test_every_posted_rating_reaches_its_firms_platform():
    """Everyone posts every period (post_rate 1): the platform's count is the firm's purchases and its sum the
    ratings of its customers, recency-weighted over the periods; the firm rows report them."""
    config = small_config(
        customers__n=200, **{"reviews.enabled": True, "reviews.post_rate": 1.0, "reviews.memory": 0.8, **NO_NOISE}
    )
    model = LoyaltyModel(config)
    expected_sum, expected_count = np.zeros(5), np.zeros(5)
    for _ in range(3):
        model.step()
        outcome = model.last_outcome
        posted_sum = np.bincount(outcome.firm_before, weights=outcome.rating.astype(float), minlength=5)
        expected_sum = 0.8 * expected_sum + posted_sum
        expected_count = 0.8 * expected_count + outcome.purchases
    assert_allclose(model.market.review_count, expected_count, rtol=1e-12)
    assert_allclose(model.market.review_sum, expected_sum, rtol=1e-12)
    last = model.firm_timeseries().query("step == 3")
    assert_allclose(last["review_count"], expected_count, rtol=1e-12)
    assert_allclose(last["review_rating"], expected_sum / expected_count, rtol=1e-12)
    assert last["review_rating"].min() >= 1.0 and last["review_rating"].max() <= 5.0


def test_readers_beliefs_move_toward_the_platform_rating_and_non_readers_do_not():
    """Firm A posts 5-star reviews only (nobody else posts): a period later, readers who never bought from A
    believe the platform's 5 stars by the pull of the count; the others keep the advertised belief."""
    overrides = {
        **NO_NOISE,
        "reviews.enabled": True,
        "reviews.post_rate": 0.0,
        "reviews.reader_share": 0.5,
        "reviews.weight": 0.5,
        "reviews.credibility_count": 4.0,
        "firms.0.fake_reviews": 4.0,
    }
    model = LoyaltyModel(small_config(customers__n=300, **overrides))
    p = parameters.record(model.config)
    model.step()  # the platform has A's first four reviews
    assert model.market.review_count[0] == 4.0 and model.market.review_sum[0] == 20.0
    assert model.market.review_count[1:].sum() == 0.0
    before, firm = model.state.belief[:, 0].copy(), model.state.firm.copy()
    model.step()
    untried = (firm != 0) & ~model.state.tried[:, 0]
    readers, others = untried & model.state.reader, untried & ~model.state.reader
    assert readers.sum() > 20 and others.sum() > 20
    advertised = before + p.expectations_advertising_weight * (model.market.promise[0] - before)
    assert_allclose(model.state.belief[readers, 0], advertised[readers] + 0.25 * (1.0 - advertised[readers]), rtol=1e-12)
    assert_allclose(model.state.belief[others, 0], advertised[others], rtol=1e-12)


def test_a_firm_posts_fake_reviews_only_once_in_the_market():
    overrides = {**NO_NOISE, "reviews.enabled": True, "reviews.post_rate": 0.0, "reviews.memory": 0.5}
    model = LoyaltyModel(small_config(customers__n=100, **overrides, **{"firms.4.fake_reviews": 2.0, "firms.4.enters_at": 3}))
    counts = []
    for _ in range(4):
        model.step()
        counts.append(model.market.review_count[4])
    assert counts == [0.0, 0.0, 2.0, 3.0]  # enters at step 3: 2, then 0.5 · 2 + 2
    assert model.market.review_sum[4] == 15.0


def test_reviews_add_only_firm_columns_when_on():
    off = LoyaltyModel(small_config(customers__n=100, run__steps=2)).run().firm_timeseries()
    assert "review_rating" not in off and "review_count" not in off


# --- perceived risk --------------------------------------------------------------------------


def test_the_risk_penalty_falls_with_reviews_word_of_mouth_and_trust():
    p = params(**{"risk.penalty": 2.0, "risk.review_scale": 10.0, "risk.word_of_mouth_scale": 2.0, "risk.trust_relief": 0.5})
    assert r.perceived_risk(False, 0.0, 0.0, 0.0, p) == 2.0
    by_reviews = [r.perceived_risk(False, count, 0.0, 0.0, p) for count in (0.0, 5.0, 10.0, 50.0)]
    assert by_reviews[2] == pytest.approx(2.0 / math.e)
    assert all(a > b for a, b in itertools.pairwise(by_reviews))
    assert r.perceived_risk(False, 0.0, 2.0, 0.0, p) == pytest.approx(2.0 / math.e)
    assert r.perceived_risk(False, 0.0, 0.0, 1.0, p) == pytest.approx(1.0)
    assert r.perceived_risk(True, 0.0, 0.0, 0.0, p) == 0.0  # a firm already tried carries no risk


def test_perceived_risk_keeps_customers_from_untried_firms():
    """The same market with the risk of untried firms: fewer customers switch (to firms they never tried)."""
    overrides = {"customers.n": 400, "run.steps": 30, "switching.consideration": "always"}
    off = LoyaltyModel(small_config(**overrides)).run()
    on = LoyaltyModel(small_config(**overrides, **{"risk.enabled": True, "risk.penalty": 3.0})).run()
    assert on.timeseries()["switchers"].sum() < 0.8 * off.timeseries()["switchers"].sum()
    assert on.state.heard_about.sum() > 0  # word of mouth heard is remembered


# --- identification --------------------------------------------------------------------------


def test_identification_builds_slower_than_trust_and_fades_more_slowly():
    """From neutral, a run of delighting purchases (0.9): trust gets half way to 0.9 long before identification
    gets half way to 1; then a run of poor purchases (0.3): trust loses a larger share of its level per period."""
    trust, identity, trust_half, identity_half = r.NEUTRAL, 0.0, None, None
    for period in range(1, 200):
        trust, identity = r.update_trust(trust, 0.9, P), r.update_identification(identity, 0.9, P)
        trust_half = trust_half or (period if trust >= 0.7 else None)
        identity_half = identity_half or (period if identity >= 0.5 else None)
    assert trust_half is not None and identity_half is not None and identity_half > 2 * trust_half
    trust_lost = 1.0 - r.update_trust(trust, 0.3, P) / trust
    identity_lost = 1.0 - r.update_identification(identity, 0.3, P) / identity
    assert identity_lost == pytest.approx(P.identification_decay) and trust_lost > 10 * identity_lost


def test_identification_takes_its_share_of_loyalty():
    p = params(**{"identification.weight": 0.25})
    assert r.identified_loyalty(0.4, 1.0, p) == pytest.approx(0.55)
    assert r.identified_loyalty(0.4, 0.0, p) == pytest.approx(0.3)
    assert r.update_identification(0.5, 0.8, P) > 0.5 > r.update_identification(0.5, 0.79, P)  # the delight threshold


def test_identification_builds_among_delighted_customers_and_resets_with_a_new_firm():
    config = small_config(customers__n=300, run__steps=30, **{"identification.enabled": True})
    model = LoyaltyModel(config).run()
    state = model.state
    assert state.identification.max() > 0.2 and state.identification.min() >= 0.0
    assert_array_equal(state.identification[state.tenure == 0], 0.0)  # switchers start afresh


# --- the switches off, bad values ------------------------------------------------------------


def test_switched_off_the_new_state_takes_no_room():
    state = LoyaltyModel(small_config(customers__n=50)).state
    assert state.reader.size == state.tried.size == state.heard_about.size == state.identification.size == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reviews.memory", 1.0),
        ("reviews.post_rate", 1.5),
        ("reviews.credibility_count", 0.0),
        ("reviews.reader_share", -0.1),
        ("risk.penalty", -1.0),
        ("risk.review_scale", 0.0),
        ("risk.trust_relief", 2.0),
        ("identification.weight", 1.5),
        ("identification.growth", -0.1),
        ("firms.0.fake_reviews", -1.0),
        ("reviews.enabled", "maybe"),
    ],
)
def test_bad_values_are_refused_with_their_key(key, value):
    with pytest.raises(ConfigError, match=key.split(".")[-1]):
        load_config(None, {key: value})


def test_switched_off_the_model_is_the_one_before_them():
    """With reviews, risk and identification off (the defaults) a run gives what it gave before they existed:
    the values below were measured with main at f48cd73 (firm and tenure arrays hashed, state sums)."""
    import hashlib

    config = small_config(customers__n=300, run__steps=30, **{"firms.1.service_recovery.enabled": True, "firms.2.enters_at": 8})
    model = LoyaltyModel(config).run()
    state, series = model.state, model.timeseries()

    def digest(values: np.ndarray) -> str:
        return hashlib.sha256(values.astype(np.int64).tobytes()).hexdigest()

    assert digest(state.firm) == "4e950d2bffe813b00c06c6adb3678fe537eec446a31288b5e21ababb949bb15f"
    assert digest(state.tenure) == "7ea128b9bf6002eba9aaac3fa57924cc69b87700967461ff1860b5935baddc27"
    assert series["switchers"].tolist()[:10] == [4, 2, 2, 7, 2, 4, 3, 7, 6, 2]
    assert series["wom_negative"].tolist()[:10] == [60, 86, 45, 79, 76, 61, 107, 91, 36, 87]
    sums = [state.satisfaction.sum(), state.loyalty.sum(), state.belief.sum(), state.trust.sum()]
    assert_allclose(sums, [223.4929459057663, 210.39573584685624, 1023.8292898254405, 193.28562763147738], rtol=1e-12)
