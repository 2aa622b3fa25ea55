"""Hypothesis tests on synthetic sweep tables with a known answer, and on real model output."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from loyaltysim import LoyaltyModel
from loyaltysim.analysis import hypotheses
from loyaltysim.analysis.hypotheses import decide, evaluate

from .conftest import small_config

EDGES = np.linspace(0.0, 1.0, 21)
MID = 0.5 * (EDGES[:-1] + EDGES[1:])


def synthetic_curves(
    logit_stay, runs: pd.DataFrame, *, per_run: int = 40_000, run_sd: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """Binomial curves per run: customer-periods spread over satisfaction, stays drawn from ``logit_stay(s, run_row)``.

    Each run gets its own random intercept (sd ``run_sd``), as replicate runs differ.
    """
    rng = np.random.default_rng(seed)
    mass = np.diff(__import__("scipy").stats.beta(4, 2.5).cdf(EDGES))
    rows = []
    for _, run in runs.iterrows():
        trials = rng.multinomial(per_run, mass)
        p_stay = expit(logit_stay(MID, run) + rng.normal(0.0, run_sd))
        switchers = rng.binomial(trials, 1.0 - p_stay)
        rows.append(
            pd.DataFrame(
                {
                    "run_id": run["run_id"],
                    "satisfaction_low": EDGES[:-1],
                    "satisfaction_high": EDGES[1:],
                    "customer_periods": trials,
                    "switchers": switchers,
                    "retention_rate": 1.0 - switchers / np.maximum(trials, 1),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def runs_table(cells: dict[str, list], replicates: int) -> pd.DataFrame:
    """A runs table: every combination of the factor values × replicates."""
    index = pd.MultiIndex.from_product([*cells.values(), range(replicates)], names=[*cells, "replicate"])
    runs = index.to_frame(index=False)
    runs.insert(0, "run_id", np.arange(len(runs)))
    runs["status"] = "ok"
    return runs


# --- decision rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimate", "low", "high", "direction", "min_effect", "expected"),
    [
        (0.8, 0.6, 1.0, "greater", 0.2, "supported"),
        (0.1, 0.05, 0.15, "greater", 0.2, "not supported"),  # significant but trivially small
        (-0.5, -0.7, -0.3, "greater", 0.0, "not supported"),  # opposite direction
        (0.3, -0.2, 0.8, "greater", 0.2, "inconclusive"),
        (-0.8, -1.0, -0.6, "less", 0.2, "supported"),
        (0.5, 0.3, 0.7, "less", 0.2, "not supported"),
        (-0.5, -0.7, -0.3, "two-sided", 0.2, "supported"),
        (0.01, -0.1, 0.1, "two-sided", 0.2, "not supported"),
        (0.1, -0.1, 0.3, "two-sided", 0.2, "inconclusive"),
        (np.nan, 0.0, 1.0, "greater", 0.0, "inconclusive"),
        (0.0, 0.0, 0.0, "greater", 0.0, "not supported"),  # no variance, no difference
    ],
)
def test_decide(estimate, low, high, direction, min_effect, expected):
    assert decide(estimate, low, high, direction=direction, min_effect=min_effect) == expected


def test_decide_against_a_level():
    assert decide(0.7, 0.65, 0.75, null=0.5) == "supported"
    assert decide(0.4, 0.35, 0.45, null=0.5) == "not supported"


# --- satisfaction trap -----------------------------------------------------------------------------


def test_satisfaction_trap_per_cell():
    rng = np.random.default_rng(1)
    runs = runs_table({"customers.switching_cost.mean": [1.0, 9.0], "switching.variety_seeking": [0.0, 0.01]}, 12)
    trapped = runs["customers.switching_cost.mean"] == 1.0
    runs["satisfied_defector_share"] = np.where(trapped, 0.75, 0.3) + rng.normal(0, 0.03, len(runs))
    runs["mean_satisfaction"] = 0.7
    low_satisfaction = trapped & (runs["switching.variety_seeking"] == 0.01)
    runs.loc[low_satisfaction, "mean_satisfaction"] = 0.45
    runs["churn_rate"] = 0.02
    results = {r.cell: r for r in hypotheses.satisfaction_trap(runs, level=0.5, min_satisfaction=0.6, n_boot=499)}
    assert len(results) == 4
    trap = results["customers.switching_cost.mean=1, switching.variety_seeking=0"]
    assert trap.verdict == "supported"
    assert trap.ci_low > 0.5 and trap.ci_low < trap.effect < trap.ci_high and trap.n == 12
    assert trap.effect == pytest.approx(0.75, abs=0.03)
    assert trap.statistic > 10 and trap.p_value < 1e-6  # one-sample t against the level
    assert results["customers.switching_cost.mean=9, switching.variety_seeking=0"].verdict == "not supported"
    unhappy = results["customers.switching_cost.mean=1, switching.variety_seeking=0.01"]
    assert unhappy.verdict == "not supported" and "below 0.6" in unhappy.note


def test_satisfaction_trap_inconclusive_with_few_noisy_replicates():
    runs = runs_table({"x.cell": [0]}, 3)
    runs["satisfied_defector_share"] = [0.3, 0.55, 0.8]
    runs["mean_satisfaction"] = 0.7
    runs["churn_rate"] = 0.02
    (result,) = hypotheses.satisfaction_trap(runs, n_boot=199)
    assert result.verdict == "inconclusive"


def test_failed_runs_are_left_out():
    runs = runs_table({"x.cell": [0]}, 6)
    runs["satisfied_defector_share"] = [0.8, 0.82, 0.79, 0.81, 0.8, np.nan]
    runs.loc[5, "status"] = "failed"
    runs["mean_satisfaction"] = 0.7
    runs["churn_rate"] = 0.02
    (result,) = hypotheses.satisfaction_trap(runs, n_boot=199)
    assert result.n == 5 and result.verdict == "supported"


# --- nonlinear link --------------------------------------------------------------------------------


def hinge(intercept: float, slope: float, change: float, threshold: float):
    return lambda s, run: intercept + slope * s + change * np.maximum(s - threshold, 0.0)


@pytest.mark.slow
def test_nonlinear_link_finds_a_true_threshold():
    runs = runs_table({"x.cell": [0]}, 8)
    curves = synthetic_curves(hinge(1.0, 2.0, 12.0, 0.55), runs)
    (result,) = hypotheses.nonlinear_link(runs, curves, n_boot=49)
    details = result.details
    assert result.verdict == "supported"
    assert details["threshold_low"] <= 0.55 <= details["threshold_high"]
    assert details["threshold"] == pytest.approx(0.55, abs=0.03)
    assert details["slope_change"] == pytest.approx(12.0, rel=0.25)
    assert details["aic_segmented"] < details["aic_linear"] and details["aic_spline"] < details["aic_linear"]
    assert result.p_value < 1e-6


@pytest.mark.slow
def test_nonlinear_link_reports_no_threshold_when_the_logit_is_linear():
    runs = runs_table({"x.cell": [0]}, 8)
    curves = synthetic_curves(hinge(1.0, 6.0, 0.0, 0.5), runs)
    (result,) = hypotheses.nonlinear_link(runs, curves, n_boot=49)
    assert result.verdict == "not supported"
    assert result.ci_high < 0.5
    assert result.effect == pytest.approx(0.0, abs=0.2)


@pytest.mark.slow
def test_nonlinear_link_diminishing_returns():
    runs = runs_table({"x.cell": [0]}, 8)
    curves = synthetic_curves(hinge(-2.0, 10.0, -8.0, 0.6), runs)
    (diminishing,) = hypotheses.nonlinear_link(runs, curves, shape="diminishing", n_boot=49)
    (threshold,) = hypotheses.nonlinear_link(runs, curves, shape="threshold", n_boot=49)
    assert diminishing.verdict == "supported" and threshold.verdict == "not supported"


# --- moderation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("interaction", "expected"), [(-1.0, "supported"), (0.0, "not supported"), (1.0, "not supported")])
def test_moderation(interaction, expected):
    runs = runs_table({"customers.switching_cost.mean": [1.0, 5.0, 9.0]}, 6)
    curves = synthetic_curves(
        lambda s, run: (
            1.0 + (6.0 + interaction * run["customers.switching_cost.mean"]) * s + 0.2 * run["customers.switching_cost.mean"]
        ),
        runs,
        seed=3,
    )
    (result,) = hypotheses.moderation(runs, curves, moderator="customers.switching_cost.mean", direction="less")
    assert result.verdict == expected
    sd = runs["customers.switching_cost.mean"].std()
    assert result.ci_low < interaction * sd + 0.3 and interaction * sd - 0.3 < result.ci_high
    assert result.n == 18


def test_moderation_needs_a_varying_moderator():
    runs = runs_table({"x.m": [1.0]}, 3)
    curves = synthetic_curves(hinge(1.0, 5.0, 0.0, 0.5), runs)
    with pytest.raises(ValueError, match="does not vary"):
        hypotheses.moderation(runs, curves, moderator="x.m")


# --- monotone defection ----------------------------------------------------------------------------


@pytest.mark.parametrize(("slope", "expected"), [(6.0, "supported"), (0.0, "not supported"), (-4.0, "not supported")])
def test_monotone_defection(slope, expected):
    runs = runs_table({"x.cell": [0]}, 6)
    curves = synthetic_curves(hinge(3.0, slope, 0.0, 0.5), runs)
    (result,) = hypotheses.monotone_defection(runs, curves)
    assert result.verdict == expected
    assert np.sign(result.effect) == -np.sign(slope) or slope == 0
    churn = [result.details[f"churn_{band}"] for band in hypotheses.BAND_NAMES]
    assert len(churn) == 5 and all(0 <= c <= 1 for c in churn)


# --- difference ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "direction", "expected"),
    [(-0.05, "less", "supported"), (0.0, "two-sided", "not supported"), (0.05, "less", "not supported")],
)
def test_difference(shift, direction, expected):
    rng = np.random.default_rng(5)
    runs = runs_table({"firms.0.promise": [0.65, 0.85]}, 200)
    over = runs["firms.0.promise"] == 0.85
    runs["mean_satisfaction"] = 0.6 + np.where(over, shift, 0.0) + rng.normal(0, 0.02, len(runs))
    (result,) = hypotheses.difference(
        runs, metric="mean_satisfaction", factor="firms.0.promise", a=0.65, b=0.85, direction=direction, min_effect=0.01
    )
    assert result.verdict == expected
    assert result.ci_low < shift < result.ci_high
    assert result.effect == pytest.approx(shift, abs=0.01)


def test_difference_is_inconclusive_with_few_replicates():
    rng = np.random.default_rng(6)
    runs = runs_table({"x.condition": ["honest", "over"]}, 3)
    runs["profit"] = rng.normal(100, 10, len(runs))
    (result,) = hypotheses.difference(runs, metric="profit", factor="x.condition", a="honest", b="over")
    assert result.verdict == "inconclusive"


def test_difference_names_a_missing_condition():
    runs = runs_table({"x.condition": ["honest", "over"]}, 3)
    runs["profit"] = 1.0
    with pytest.raises(ValueError, match=r"x\.condition = 'under' has 0 run"):
        hypotheses.difference(runs, metric="profit", factor="x.condition", a="honest", b="under")


# --- evaluation table ------------------------------------------------------------------------------


def test_evaluate_returns_a_tidy_table():
    runs = runs_table({"x.cell": [0, 1]}, 6)
    runs["satisfied_defector_share"] = np.where(runs["x.cell"] == 0, 0.8, 0.2) + 0.01 * runs["replicate"]
    runs["mean_satisfaction"] = 0.7
    runs["churn_rate"] = 0.02
    curves = synthetic_curves(hinge(3.0, 6.0, 0.0, 0.5), runs)
    table = evaluate(
        [{"test": "satisfaction_trap", "label": "trap", "n_boot": 199}, {"test": "monotone_defection", "by": []}], runs, curves
    )
    assert list(table["test"]) == ["satisfaction_trap", "satisfaction_trap", "monotone_defection"]
    assert list(table["verdict"]) == ["supported", "not supported", "supported"]
    assert list(table["label"]) == ["trap", "trap", "monotone_defection"]
    assert set(table["verdict"]) <= set(hypotheses.VERDICTS)
    assert json.loads(table["details"].iloc[2])["churn_highly_dissatisfied"] > 0


def test_evaluate_rejects_an_unknown_test():
    with pytest.raises(ValueError, match=r"hypotheses\[0\]\.test: unknown test 'trap'"):
        evaluate([{"test": "trap"}], runs_table({"x.a": [1]}, 2), None)


def test_unknown_cell_column_is_named():
    runs = runs_table({"x.a": [1]}, 2)
    with pytest.raises(ValueError, match="unknown column"):
        hypotheses.satisfaction_trap(runs, by=["x.b"])


# --- real model output: the configured link is recovered, and the control says no ------------------

CLEAN = {  # the link is the only nonlinearity between satisfaction and the choice to stay
    "customers.switching_cost": 5.0,
    "customers.price_sensitivity": 0.3,
    "loyalty.trust_weight": 0.0,
    "loyalty.habit_weight": 0.0,
    "word_of_mouth.enabled": False,
    "switching.variety_seeking": 0.0,
}


def model_tables(link: str, replicates: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs, curves = [], []
    seeds = np.random.SeedSequence(2024).generate_state(replicates)
    for replicate, seed in enumerate(seeds):
        config = small_config(**{"customers.n": 2000, "run.steps": 100, "run.burn_in": 12, "loyalty.link": link, **CLEAN})
        model = LoyaltyModel(config, rng=int(seed)).run()
        runs.append({"run_id": replicate, "status": "ok", **model.summary()})
        curve = model.totals.retention_curve()
        curves.append(curve.assign(run_id=replicate))
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)


@pytest.mark.slow
@pytest.mark.parametrize(("link", "reports_threshold"), [("threshold", True), ("linear", False)])
def test_nonlinear_link_on_model_output(link, reports_threshold):
    runs, curves = model_tables(link, 8)
    (result,) = hypotheses.nonlinear_link(runs, curves, n_boot=49)
    assert (result.verdict == "supported") is reports_threshold, result
    if reports_threshold:
        assert 0.0 < result.details["threshold_low"] < result.details["threshold_high"] < 1.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"test": "trap"}, "unknown test 'trap'"),
        ({"label": "x"}, "with a 'test' key"),
        ({"test": "satisfaction_trap", "levl": 0.5}, "levl: unknown option of test 'satisfaction_trap'; allowed: level"),
        ({"test": "moderation"}, "moderator: test 'moderation' needs this option"),
        ({"test": "moderation", "moderator": "customers.fit"}, "'customers.fit' is not a factor of this experiment"),
        ({"test": "difference", "metric": "nps", "factor": "x.a", "a": 1, "b": 2, "by": ["x.b"]}, "'x.b' is not a factor"),
    ],
)
def test_check_spec_names_the_problem(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        hypotheses.check_spec(spec, ["x.a"])


def test_check_spec_accepts_a_valid_spec():
    hypotheses.check_spec({"test": "moderation", "label": "m", "moderator": "x.a", "direction": "less"}, ["x.a"])
