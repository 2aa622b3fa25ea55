"""The run-level measurements of issue 16 against brute-force recounts: the annual survey cohort (from a panel
of every customer), word of mouth and consideration by band (from the period counts)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from loyaltysim import LoyaltyModel
from loyaltysim.model import kernels
from loyaltysim.model.cohort import SurveyCohort
from loyaltysim.model.scales import BANDS, satisfaction_band

from .conftest import SWITCHES, small_config

N = 200


def cohort_recount(model: LoyaltyModel) -> dict[str, float]:
    """The cohort tallies from the full panel: waves every year from the first period after burn-in, each
    customer's rating and band at the wave, defected = switched in the wave's period or the 11 after it."""
    panel = model.panel().sort_values(["step", "customer"])
    steps = model.steps
    ppy, first = model.config.periods_per_year, model.config.run.burn_in + 1
    switched = panel.pivot(index="step", columns="customer", values="switched").to_numpy()
    high_bias = model.state.response_bias >= 0
    out: dict[str, float] = {"cohort_waves": 0}
    cells = [*(f"cohort_rating_{k}" for k in range(1, 6)), *(f"cohort_{band}" for band in BANDS)]
    cells += [f"cohort_rating_{k}_{half}_bias" for k in range(1, 6) for half in ("low", "high")]
    keys = [f"{cell}_{what}" for cell in cells for what in ("customers", "defectors")]
    out.update(dict.fromkeys(keys, 0))
    for wave in range(first, steps - ppy + 2, ppy):
        at = panel[panel.step == wave]
        rating, band = at.rating.to_numpy(), satisfaction_band(at.satisfaction.to_numpy())
        defected = switched[wave - 1 : wave - 1 + ppy].any(axis=0)
        out["cohort_waves"] += 1
        for i in range(len(rating)):
            half = "high" if high_bias[i] else "low"
            for key in (f"cohort_rating_{rating[i]}", f"cohort_rating_{rating[i]}_{half}_bias", f"cohort_{BANDS[band[i]]}"):
                out[f"{key}_customers"] += 1
                out[f"{key}_defectors"] += int(defected[i])
    return out


@pytest.mark.parametrize("switches", [{}, SWITCHES["variety seeking"]], ids=["baseline", "variety seeking"])
def test_the_survey_cohort_matches_a_recount_from_the_panel(switches):
    config = small_config(customers__n=N, run__steps=50, run__burn_in=3, run__panel_size=N, **switches)
    model = LoyaltyModel(config).run()
    summary, expected = model.summary(), cohort_recount(model)
    assert expected["cohort_waves"] == 3  # waves at 4, 16, 28 end by 50; the one at 40 ends after the run
    assert {key: summary[key] for key in expected} == expected
    assert sum(expected[f"cohort_rating_{k}_defectors"] for k in range(1, 6)) > 0  # the recount covers defectors
    for k in range(1, 6):
        customers, defectors = expected[f"cohort_rating_{k}_customers"], expected[f"cohort_rating_{k}_defectors"]
        assert (
            summary[f"defection_rating_{k}"] == pytest.approx(defectors / customers)
            if customers
            else math.isnan(summary[f"defection_rating_{k}"])
        )
    all_defectors = sum(expected[f"cohort_rating_{k}_defectors"] for k in range(1, 6))
    top = expected["cohort_rating_4_defectors"] + expected["cohort_rating_5_defectors"]
    assert summary["cohort_satisfied_defector_share"] == pytest.approx(top / all_defectors)
    latent = expected["cohort_satisfied_defectors"] + expected["cohort_highly_satisfied_defectors"]
    assert summary["cohort_satisfied_defector_share_latent"] == pytest.approx(latent / all_defectors)
    low = expected["cohort_rating_4_low_bias_defectors"] / expected["cohort_rating_4_low_bias_customers"]
    assert summary["defection_rating_4_low_bias"] == pytest.approx(low)


def test_top_box_odds_on_a_known_tally():
    """Odds of staying a year, rating 5 vs 4: (90/10) / (60/40) = 6."""
    cohort = SurveyCohort(first_wave=1, periods_per_year=12)
    cohort.by_rating[3] = 100, 40
    cohort.by_rating[4] = 100, 10
    assert cohort.summary()["top_box_odds"] == pytest.approx(6.0)
    cohort.by_rating[4] = 100, 0  # nobody rated 5 left: infinite leverage, not NaN
    assert cohort.summary()["top_box_odds"] == math.inf


def test_a_wave_whose_year_ends_after_the_run_is_not_counted():
    model = LoyaltyModel(small_config(customers__n=N, run__steps=15, run__burn_in=4)).run()
    summary = model.summary()
    assert summary["cohort_waves"] == 0 and summary["cohort_rating_3_customers"] == 0
    assert math.isnan(summary["defection_rating_3"]) and math.isnan(summary["top_box_odds"])
    model.run(1)  # the wave at step 5 ends with step 16
    assert model.summary()["cohort_waves"] == 1
    assert sum(model.summary()[f"cohort_{band}_customers"] for band in BANDS) == N


def test_band_rates_are_the_pooled_counts():
    """Band occupancy, messages per customer-period by the sender's band, the negative share and
    consideration, from the periods after burn-in."""
    config = small_config(customers__n=N, run__steps=30, run__burn_in=10, **SWITCHES["loud word of mouth"])
    model = LoyaltyModel(config)
    counts = np.zeros((len(BANDS), 4), dtype=np.int64)  # customers, positive, negative, considered
    messages = np.zeros(2, dtype=np.int64)
    for _ in range(30):
        model.step()
        out = model.last_outcome
        band = satisfaction_band(out.satisfaction)
        if model.steps > 10:
            counts[:, 0] += np.bincount(band, minlength=5)
            counts[:, 1:3] += out.counts[kernels.WOM_ROWS : kernels.CONSIDERATION_ROWS]
            counts[:, 3] += out.counts[kernels.CONSIDERATION_ROWS :, 0]
            messages += out.messages_positive, out.messages_negative
        by_sender = out.counts[kernels.WOM_ROWS : kernels.CONSIDERATION_ROWS].sum(axis=0).tolist()
        assert by_sender == [out.messages_positive, out.messages_negative]
    summary = model.summary()
    assert_array_equal([summary[f"customer_periods_{b}"] for b in BANDS], counts[:, 0])
    assert sum(summary[f"band_share_{b}"] for b in BANDS) == pytest.approx(1.0)
    for band, name in enumerate(BANDS):
        assert summary[f"band_share_{name}"] == counts[band, 0] / (20 * N)
        if counts[band, 0]:
            assert summary[f"wom_sent_{name}"] == pytest.approx(counts[band, 1:3].sum() / counts[band, 0])
            assert summary[f"consideration_{name}"] == counts[band, 3] / counts[band, 0]
    assert messages[1] > 0 and summary["wom_negative_share"] == pytest.approx(messages[1] / messages.sum())


def test_every_measurement_is_in_the_summary_of_a_one_period_run():
    """Experiments check metric names against a one-period probe run: every key exists from the start."""
    model = LoyaltyModel(small_config(customers__n=50, run__steps=1, run__burn_in=0)).run()
    summary = model.summary()
    for key in (
        "top_box_odds",
        "cohort_satisfied_defector_share",
        "cohort_satisfied_defector_share_latent",
        "defection_rating_4_low_bias",
        "defection_rating_4_high_bias",
        "wom_negative_share",
        *(f"defection_rating_{k}" for k in range(1, 6)),
        *(f"{prefix}_{band}" for prefix in ("defection", "band_share", "wom_sent", "consideration") for band in BANDS),
    ):
        assert key in summary, key
    assert "consideration_rate" in model.timeseries().columns
