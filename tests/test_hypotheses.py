"""Hypothesis tests on synthetic sweep tables with a known answer, and on real model output."""

from __future__ import annotations

import json
import warnings

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


def test_directional_bounds_and_p_values_have_the_same_side():
    """p ≤ alpha exactly when the bound in the hypothesised direction excludes the null (both sides, any df)."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        estimate, se, df = rng.normal(0, 1), rng.uniform(0.1, 1), rng.integers(2, 40)
        for direction in ("greater", "less", "two-sided"):
            low, high, p, _ = hypotheses.t_bounds(estimate, se, df, direction=direction, confidence=0.95)
            excludes = {"greater": low > 0, "less": high < 0, "two-sided": low > 0 or high < 0}[direction]
            assert (p < 0.05) == excludes
            assert decide(estimate, low, high, direction=direction) != "supported" or p < 0.05


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
    results = {r.cell: r for r in hypotheses.satisfaction_trap(runs, level=0.5, min_satisfaction=0.6)}
    assert len(results) == 4
    trap = results["customers.switching_cost.mean=1, switching.variety_seeking=0"]
    assert trap.verdict == "supported" and trap.alternative == "greater" and trap.alpha == pytest.approx(0.05)
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
    (result,) = hypotheses.satisfaction_trap(runs)
    assert result.verdict == "inconclusive"


def test_failed_runs_are_left_out():
    runs = runs_table({"x.cell": [0]}, 6)
    runs["satisfied_defector_share"] = [0.8, 0.82, 0.79, 0.81, 0.8, np.nan]
    runs.loc[5, "status"] = "failed"
    runs["mean_satisfaction"] = 0.7
    runs["churn_rate"] = 0.02
    (result,) = hypotheses.satisfaction_trap(runs)
    assert result.n == 5 and result.verdict == "supported"


# --- nonlinear link (stated intention) -------------------------------------------------------------


def intention_tables(link, replicates: int = 8, seed: int = 0):
    from loyaltysim.analysis.hypothesis_power import _intention

    return _intention(link)(np.random.default_rng(seed), 0.0)


def threshold_link(theta: float, steepness: float = 12.0):
    low, high = expit(-steepness * theta), expit(steepness * (1 - theta))
    return lambda s: (expit(steepness * (s - theta)) - low) / (high - low)


@pytest.mark.parametrize("theta", [0.6, 0.7])
def test_nonlinear_link_recovers_the_configured_threshold(theta):
    runs, curves = intention_tables(threshold_link(theta))
    (result,) = hypotheses.nonlinear_link(runs, curves)
    details = result.details
    assert result.verdict == "supported", result.note
    assert details["threshold_ci_low"] <= theta <= details["threshold_ci_high"]
    assert details["threshold"] == pytest.approx(theta, abs=0.02)
    assert result.p_value < 1e-3 and result.alternative == "greater"


def test_nonlinear_link_reports_no_threshold_for_a_linear_link():
    runs, curves = intention_tables(lambda s: s)
    (result,) = hypotheses.nonlinear_link(runs, curves)
    assert result.verdict == "not supported", result.note
    assert result.ci_high < 0.25


def test_nonlinear_link_diminishing_returns():
    runs, curves = intention_tables(lambda s: 1 - (1 - s) ** 2)
    (diminishing,) = hypotheses.nonlinear_link(runs, curves, shape="diminishing")
    (threshold,) = hypotheses.nonlinear_link(runs, curves, shape="threshold")
    assert diminishing.verdict == "supported" and diminishing.alternative == "less"
    assert threshold.verdict == "not supported" and "no interior threshold" in threshold.note


def test_nonlinear_link_needs_the_survey_columns():
    runs = runs_table({"x.cell": [0]}, 3)
    curves = synthetic_curves(lambda s, run: 1.0 + 5.0 * s, runs)
    with pytest.raises(ValueError, match="no stated-intention columns"):
        hypotheses.nonlinear_link(runs, curves)


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


def test_moderation_compares_within_the_blocks_of_the_other_factors():
    """Another factor changes the slope and is correlated with nothing: the moderator alone is tested."""
    runs = runs_table({"customers.switching_cost.mean": [1.0, 5.0, 9.0], "x.other": [0.0, 1.0]}, 4)
    curves = synthetic_curves(lambda s, run: 1.0 + (8.0 - 5.0 * run["x.other"]) * s, runs, seed=4)
    (result,) = hypotheses.moderation(runs, curves, moderator="customers.switching_cost.mean", direction="less", min_effect=0.2)
    assert result.verdict == "not supported" and result.details["blocks"] == 2
    assert "within 2 block(s) of x.other" in result.note


def test_moderation_needs_a_varying_moderator():
    runs = runs_table({"x.m": [1.0]}, 3)
    curves = synthetic_curves(lambda s, run: 1.0 + 5.0 * s, runs)
    with pytest.raises(ValueError, match="does not vary"):
        hypotheses.moderation(runs, curves, moderator="x.m")


# --- monotone defection ----------------------------------------------------------------------------


def band_curves(log_odds_per_band, runs, seed=0):
    band = np.minimum((MID * 5).astype(int), 4)
    return synthetic_curves(lambda s, run: -np.asarray(log_odds_per_band)[band], runs, run_sd=0.05, seed=seed)


def test_monotone_defection_supported_when_every_step_falls():
    runs = runs_table({"x.cell": [0]}, 6)
    (result,) = hypotheses.monotone_defection(runs, band_curves([-1.0, -2.0, -3.0, -4.0, -5.0], runs))
    assert result.verdict == "supported" and "falls at all 4 steps" in result.note
    assert result.ci_high < 0 and result.p_value < 0.05 and result.alternative == "less"
    steps = [k for k in result.details if k.startswith("step_") and k.count("_ci_") == 0 and not k.endswith("_p")]
    assert len(steps) == 4


def test_monotone_defection_names_a_reversal():
    """Churn rises from dissatisfied to neutral: a trend test would still find an overall fall."""
    runs = runs_table({"x.cell": [0]}, 6)
    (result,) = hypotheses.monotone_defection(runs, band_curves([-1.0, -3.0, -1.5, -4.0, -5.0], runs))
    assert result.verdict == "not supported"
    assert "does not fall from dissatisfied → neutral" in result.note
    assert result.effect > 0 and result.ci_low > 0  # the binding step is the reversal


def test_monotone_defection_is_inconclusive_for_a_flat_step():
    runs = runs_table({"x.cell": [0]}, 4)
    (result,) = hypotheses.monotone_defection(runs, band_curves([-1.0, -2.0, -2.0, -4.0, -5.0], runs, seed=2))
    assert result.verdict in ("inconclusive", "not supported")
    assert "dissatisfied → neutral" in result.note


def test_monotone_defection_leaves_out_sparse_bands():
    runs = runs_table({"x.cell": [0]}, 4)
    curves = band_curves([-1.0, -2.0, -3.0, -4.0, -5.0], runs)
    curves.loc[curves["satisfaction_low"] < 0.2, "customer_periods"] = 10
    curves.loc[curves["satisfaction_low"] < 0.2, "switchers"] = 3
    (result,) = hypotheses.monotone_defection(runs, curves, min_count=200)
    assert "left out (fewer than 200 customer-periods): highly_dissatisfied (160)" in result.note
    assert result.details["periods_highly_dissatisfied"] == 160
    assert result.verdict == "supported" and "falls at all 3 steps" in result.note


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


def test_difference_compares_within_cells_and_pairs_common_seeds():
    """The other factor moves the metric far more than the effect: pooled runs would drown it, blocks do not;
    with common seeds the shared seed noise cancels in pairs."""
    rng = np.random.default_rng(7)
    runs = runs_table({"x.programme": [False, True], "x.cost": [1.0, 5.0, 9.0]}, 5)
    runs["point_id"] = runs["x.programme"].astype(int) * 3 + runs["x.cost"].map({1.0: 0, 5.0: 1, 9.0: 2})
    runs["seed"] = runs["replicate"]  # seeds: common
    seed_noise = rng.normal(0, 0.05, 5)[runs["replicate"]]
    runs["share_C"] = 0.2 + 0.03 * runs["x.cost"] + 0.01 * runs["x.programme"] + seed_noise + rng.normal(0, 0.002, len(runs))
    options = {"metric": "share_C", "factor": "x.programme", "a": False, "b": True, "direction": "greater", "min_effect": 0.0}
    (paired,) = hypotheses.difference(runs, **options)
    (unpaired,) = hypotheses.difference(runs, **options, paired=False)
    assert paired.verdict == "supported" and "paired by seed" in paired.note and paired.details["blocks"] == 3
    assert paired.effect == pytest.approx(0.01, abs=0.003)
    assert unpaired.verdict == "inconclusive" and unpaired.p_value > paired.p_value
    assert paired.p_value < 0.05 <= paired.ci_low + 1  # one-sided p with its one-sided bound
    assert paired.ci_low > 0 and paired.alternative == "greater"


def test_difference_is_inconclusive_with_few_replicates():
    rng = np.random.default_rng(6)
    runs = runs_table({"x.condition": ["honest", "over"]}, 3)
    runs["profit"] = rng.normal(100, 10, len(runs))
    (result,) = hypotheses.difference(runs, metric="profit", factor="x.condition", a="honest", b="over")
    assert result.verdict == "inconclusive"


def test_difference_names_a_missing_condition():
    runs = runs_table({"x.condition": ["honest", "over"]}, 3)
    runs["profit"] = 1.0
    with pytest.raises(ValueError, match=r"x\.condition = 'honest' or 'under' has no run with profit"):
        hypotheses.difference(runs, metric="profit", factor="x.condition", a="honest", b="under")


# --- regression ------------------------------------------------------------------------------------


def test_regression_tests_an_interaction_with_aliases():
    rng = np.random.default_rng(8)
    runs = runs_table({"firms.2.loyalty_programme.enabled": [False, True], "firms.2.quality": [0.6, 0.7, 0.8]}, 6)
    programme, edge = runs["firms.2.loyalty_programme.enabled"].astype(float), runs["firms.2.quality"] - 0.7
    runs["share_C"] = 0.2 + 0.05 * programme + 0.5 * edge - 0.4 * programme * edge + rng.normal(0, 0.01, len(runs))
    options = {
        "formula": "share_C ~ programme * firms_2_quality",
        "aliases": {"programme": "firms.2.loyalty_programme.enabled"},
        "coefficient": "programme[T.True]:firms_2_quality",
    }
    (less,) = hypotheses.regression(runs, **options, direction="less")
    (greater,) = hypotheses.regression(runs, **options, direction="greater")
    assert less.verdict == "supported" and greater.verdict == "not supported"
    assert less.effect == pytest.approx(-0.4, abs=0.1) and less.n == 36
    with pytest.raises(ValueError, match="no coefficient 'programme:firms_2_quality'"):
        hypotheses.regression(runs, **{**options, "coefficient": "programme:firms_2_quality"})


# --- multiplicity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "statsmodels_name"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_match_statsmodels(method, statsmodels_name):
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(9).uniform(0, 0.2, 30)
    assert hypotheses.adjust_p_values(p, method) == pytest.approx(multipletests(p, method=statsmodels_name)[1])


def test_verdicts_use_the_adjusted_p_values():
    runs = runs_table({"x.cell": list(range(10))}, 5)
    rng = np.random.default_rng(10)
    runs["satisfied_defector_share"] = 0.5 + rng.normal(0, 0.05, len(runs))
    runs.loc[runs["x.cell"] == 0, "satisfied_defector_share"] = [0.51, 0.53, 0.55, 0.52, 0.54]  # one-sided p ≈ 0.007
    runs["mean_satisfaction"] = 0.7
    raw = evaluate([{"test": "satisfaction_trap"}], runs, None, multiplicity="none")
    holm = evaluate([{"test": "satisfaction_trap"}], runs, None)
    assert raw.loc[0, "verdict"] == "supported" and raw.loc[0, "p_value"] < 0.05
    assert holm.loc[0, "verdict"] == "inconclusive" and holm.loc[0, "p_adjusted"] > 0.05
    assert "not significant after Holm adjustment over 10 tests" in holm.loc[0, "note"]
    assert (holm["p_adjusted"] >= holm["p_value"]).all()


# --- evaluation table ------------------------------------------------------------------------------


def test_evaluate_returns_a_tidy_table():
    runs = runs_table({"x.cell": [0, 1]}, 6)
    runs["satisfied_defector_share"] = np.where(runs["x.cell"] == 0, 0.8, 0.2) + 0.01 * runs["replicate"]
    runs["mean_satisfaction"] = 0.7
    runs["churn_rate"] = 0.02
    curves = band_curves([-1.0, -2.0, -3.0, -4.0, -5.0], runs)
    table = evaluate([{"test": "satisfaction_trap", "label": "trap"}, {"test": "monotone_defection", "by": []}], runs, curves)
    assert list(table.columns) == hypotheses.RESULT_COLUMNS
    assert list(table["test"]) == ["satisfaction_trap", "satisfaction_trap", "monotone_defection"]
    assert list(table["verdict"]) == ["supported", "not supported", "supported"]
    assert list(table["label"]) == ["trap", "trap", "monotone_defection"]
    assert set(table["verdict"]) <= set(hypotheses.VERDICTS)
    assert json.loads(table["details"].iloc[2])["churn_highly_dissatisfied"] > 0
    assert (table["multiplicity"] == "holm").all()


def test_evaluate_rejects_an_unknown_test():
    with pytest.raises(ValueError, match=r"hypotheses\[0\]\.test: unknown test 'trap'"):
        evaluate([{"test": "trap"}], runs_table({"x.a": [1]}, 2), None)


# --- size and power by simulation (fast version; benchmarks/hypothesis_calibration.py is the long one) ---


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["satisfaction_trap/null", "difference/null", "difference/null, common seeds", "regression/null", "monotone_defection/null"],
)
def test_type_one_error_is_within_the_binomial_band(name):
    from loyaltysim.analysis.hypothesis_power import SCENARIOS, binomial_band, rejection_rate

    reps = 200
    rate = rejection_rate(SCENARIOS[name], reps, seed=11)
    assert rate <= binomial_band(reps, 0.05)[1], f"{name}: {rate}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["moderation/null", "nonlinear_link/null, linearity p ≤ alpha", "nonlinear_link/null"])
def test_type_one_error_of_the_curve_tests(name):
    from loyaltysim.analysis.hypothesis_power import SCENARIOS, binomial_band, rejection_rate

    reps = 100
    rate = rejection_rate(SCENARIOS[name], reps, seed=12)
    assert rate <= binomial_band(reps, 0.05)[1], f"{name}: {rate}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["difference/power, common seeds", "regression/power", "satisfaction_trap/power"])
def test_power_against_a_known_effect(name):
    from loyaltysim.analysis.hypothesis_power import SCENARIOS, rejection_rate

    assert rejection_rate(SCENARIOS[name], 40, seed=13) > 0.25  # about 0.5 or more (docs/hypotheses.md); 0.05 without power


def test_unknown_cell_column_is_named():
    runs = runs_table({"x.a": [1]}, 2)
    with pytest.raises(ValueError, match="unknown column"):
        hypotheses.satisfaction_trap(runs, by=["x.b"])


# --- real model output: the configured link is recovered, and the control says no ------------------

CLEAN = {  # stated loyalty is the link alone
    "customers.switching_cost": 5.0,
    "customers.price_sensitivity": 0.3,
    "loyalty.trust_weight": 0.0,
    "loyalty.habit_weight": 0.0,
    "word_of_mouth.enabled": False,
    "switching.variety_seeking": 0.0,
}


def model_tables(link: str, replicates: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from loyaltysim.experiments.survey import intention_bins

    runs, curves = [], []
    seeds = np.random.SeedSequence(2024).generate_state(replicates)
    for replicate, seed in enumerate(seeds):
        config = small_config(**{"customers.n": 2000, "run.steps": 60, "run.burn_in": 12, "loyalty.link": link, **CLEAN})
        model = LoyaltyModel(config, rng=int(seed)).run()
        runs.append({"run_id": replicate, "status": "ok", **model.summary()})
        curve = model.totals.retention_curve().merge(intention_bins(model.customers(), int(seed)), on="satisfaction_low")
        curves.append(curve.assign(run_id=replicate))
    return pd.DataFrame(runs), pd.concat(curves, ignore_index=True)


@pytest.mark.slow
@pytest.mark.parametrize(("link", "reports_threshold"), [("threshold", True), ("linear", False)])
def test_nonlinear_link_on_model_output(link, reports_threshold):
    runs, curves = model_tables(link, 8)
    (result,) = hypotheses.nonlinear_link(runs, curves)
    assert (result.verdict == "supported") is reports_threshold, result
    if reports_threshold:
        theta = small_config().loyalty.threshold
        assert result.details["threshold_ci_low"] <= theta <= result.details["threshold_ci_high"]
    else:
        assert result.verdict == "not supported"


CONTEXT = hypotheses.DesignContext(
    {"x.a": [1.0, 2.0], "x.flag": [False, True], "x.range": None}, ["nps", "churn_rate", "share_C"]
)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"test": "trap"}, "test: unknown test 'trap'"),
        ({"label": "x"}, "test: expected a mapping with a 'test' key"),
        ({"test": "satisfaction_trap", "levl": 0.5}, "levl: unknown option of test 'satisfaction_trap' (did you mean 'level'?)"),
        ({"test": "moderation"}, "moderator: test 'moderation' needs this option"),
        ({"test": "moderation", "moderator": "customers.fit"}, "moderator: 'customers.fit' is not a factor of this experiment"),
        ({"test": "moderation", "moderator": "x.a", "direction": "lower"}, "direction: 'lower' is not allowed"),
        ({"test": "moderation", "moderator": "x.flag"}, "moderator: 'x.flag' must take at least two numeric values"),
        ({"test": "difference", "metric": "nps", "factor": "x.a", "a": 1, "b": 2, "by": ["x.b"]}, "by.0: 'x.b' is not a factor"),
        ({"test": "difference", "metric": "npss", "factor": "x.a", "a": 1, "b": 2}, "metric: unknown metric 'npss'"),
        ({"test": "difference", "metric": "nps", "factor": "x.a", "a": 1, "b": 3}, "b: 3 is not a value of x.a"),
        ({"test": "difference", "metric": "nps", "factor": "x.range", "a": 1, "b": 3}, "factor: 'x.range' is sampled"),
        ({"test": "difference", "metric": "nps", "factor": "x.a", "a": 1, "b": 1.0}, "b: the same value as a"),
        ({"test": "difference", "metric": "nps", "factor": "x.a", "a": 1, "b": 2, "by": "x.a"}, "by: expected a list"),
        ({"test": "satisfaction_trap", "level": "half"}, "level: expected a number"),
        ({"test": "nonlinear_link", "shape": "s-shaped"}, "shape: 's-shaped' is not allowed"),
        ({"test": "regression", "formula": "share_C ~ x_b", "coefficient": "x_b"}, "formula: "),
        ({"test": "regression", "formula": "share_C ~ x_a", "coefficient": "x_b"}, "coefficient: 'x_b' is not a coefficient"),
        ({"test": "regression", "formula": "sharec ~ x_a", "coefficient": "x_a"}, "formula: "),
    ],
)
def test_check_spec_names_the_problem(spec, message):
    with pytest.raises(ValueError) as caught:
        hypotheses.check_spec(spec, CONTEXT)
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_regression_is_checked_on_a_trial_frame_with_every_metric_without_warnings():
    """A run's hundreds of metrics are added to the trial frame at once (column by column, pandas warns)."""
    metrics = [f"metric_{i}" for i in range(300)]
    context = hypotheses.DesignContext({"x.a": [1.0, 2.0], "x.flag": [False, True]}, metrics)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = context.frame()
        hypotheses.check_spec({"test": "regression", "formula": "metric_299 ~ x_a", "coefficient": "x_a"}, context)
    assert list(frame.columns[-300:]) == metrics and frame["x.flag"].tolist()[:2] == [False, True]


def test_check_spec_accepts_valid_specs():
    hypotheses.check_spec({"test": "moderation", "label": "m", "moderator": "x.a", "direction": "less"}, ["x.a"])
    hypotheses.check_spec({"test": "difference", "metric": "nps", "factor": "x.flag", "a": False, "b": True}, CONTEXT)
    hypotheses.check_spec(
        {
            "test": "regression",
            "formula": "share_C ~ flag * x_a",
            "aliases": {"flag": "x.flag"},
            "coefficient": "flag[T.True]:x_a",
        },
        CONTEXT,
    )


def test_the_end_of_run_survey_answers_around_each_customers_loyalty():
    from loyaltysim.experiments.survey import intention_bins, stated_intention

    rng = np.random.default_rng(14)
    customers = pd.DataFrame({"satisfaction": rng.uniform(0.3, 0.9, 20_000)})
    customers["loyalty"] = customers["satisfaction"] ** 2
    answers = stated_intention(customers["loyalty"].to_numpy(), seed=5)
    assert set(np.unique(answers * 10)) <= set(range(11))  # an 11-point scale
    np.testing.assert_array_equal(answers, stated_intention(customers["loyalty"].to_numpy(), seed=5))  # seeded
    table = intention_bins(customers, seed=5)
    assert len(table) == 20 and table["respondents"].sum() == len(customers)
    filled = table[table["respondents"] > 0]
    expected = filled["satisfaction_mean"] ** 2  # mean answer = mean loyalty of the bin (≈ its mean s², bins are narrow)
    assert np.abs(filled["intention_mean"] - expected).max() < 0.02
    assert table.loc[table["respondents"] == 0, "intention_mean"].isna().all()


@pytest.mark.parametrize("customers", [1, 7, 1_000, 25_000])
def test_the_survey_bins_equal_a_pandas_groupby_to_the_last_bit(customers):
    """The bins' one-pass moments (compiled) give pandas' numbers exactly, empty and one-respondent bins included."""
    from loyaltysim.experiments.survey import intention_bins, stated_intention

    rng = np.random.default_rng(customers)
    satisfaction = rng.beta(0.8, 3.0, customers)  # crowded low bins, empty or thin high ones
    satisfaction[:1] = 1.0  # the last bin's upper edge
    frame = pd.DataFrame({"satisfaction": satisfaction, "loyalty": rng.uniform(0, 1, customers)})
    answers = stated_intention(frame["loyalty"].to_numpy(), seed=9)
    grouped = pd.DataFrame(
        {"bin": np.clip(np.floor(satisfaction * 20).astype(np.int64), 0, 19), "s": satisfaction, "y": answers}
    ).groupby("bin")
    expected = pd.DataFrame(
        {
            "respondents": grouped.size(),
            "satisfaction_mean": grouped["s"].mean(),
            "intention_mean": grouped["y"].mean(),
            "intention_var": grouped["y"].var(ddof=0),
        }
    ).reindex(range(20))
    expected["respondents"] = expected["respondents"].fillna(0).astype(np.int64)
    expected.insert(0, "satisfaction_low", np.linspace(0, 1, 21)[:-1])
    table = intention_bins(frame, seed=9)
    pd.testing.assert_frame_equal(table, expected.reset_index(drop=True), check_exact=True)
    assert (table["respondents"] == 0).any() == (len(grouped) < 20)
