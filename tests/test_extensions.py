"""Extension by composition: network builders, designs and hypothesis tests registered by name or named as
module:function, the contract check of a hypothesis test, and extensions running in a process pool."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

import loyaltysim
from loyaltysim import ConfigError, LoyaltyModel, sweep
from loyaltysim.analysis import hypotheses
from loyaltysim.analysis.hypotheses import HypothesisResult, evaluate
from loyaltysim.analysis.hypothesis_checks import FACTOR, ContractViolation, check_hypothesis_test, synthetic_tables
from loyaltysim.cli import main
from loyaltysim.config.references import resolve_reference
from loyaltysim.experiments.designs import DESIGNS, sample_factors
from loyaltysim.model.network import NETWORKS

from . import extensions
from .conftest import CONFIGS, small_config


@pytest.fixture
def registered():
    """Registers the helper module's extensions under plain names, and forgets them afterwards."""
    loyaltysim.register_network("ring", extensions.ring)
    loyaltysim.register_design("halton", extensions.halton)
    loyaltysim.register_hypothesis_test("churn_below", extensions.churn_below)
    yield
    for registry in (NETWORKS, DESIGNS, hypotheses.REGISTERED):
        registry._registered.clear()


# --- networks ------------------------------------------------------------------------------------------


def test_a_registered_or_referenced_network_builds_the_model(registered):
    by_name = LoyaltyModel(small_config(**{"network.type": "ring", "network.degree": 4})).run()
    assert (by_name.network.degree == 4).all()
    assert set(by_name.network.neighbours(0).tolist()) == {1, 2, 298, 299}
    by_reference = LoyaltyModel(small_config(**{"network.type": "tests.extensions:ring", "network.degree": 4})).run()
    pd.testing.assert_frame_equal(by_reference.timeseries(), by_name.timeseries())
    small_world = LoyaltyModel(small_config(**{"network.degree": 4})).run()
    assert not by_name.timeseries().equals(small_world.timeseries())


@pytest.mark.parametrize(
    ("network_type", "message"),
    [
        ("rnig", "network.type: unknown network type 'rnig' (did you mean 'ring'?)"),
        ("no_such_module.nets:ring", "network.type: cannot import 'no_such_module.nets'"),
        ("tests.extensions:halo", "network.type: module 'tests.extensions' has no attribute 'halo'"),
        ("tests.extensions:nx", "network.type: tests.extensions:nx is not callable"),
    ],
)
def test_unknown_networks_are_config_errors_before_anything_runs(registered, tmp_path, capsys, network_type, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        LoyaltyModel(small_config(**{"network.type": network_type}))
    assert main(["validate", str(CONFIGS / "baseline.yaml"), "--set", f"network.type={network_type}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "baseline.yaml: " + message in err and "Traceback" not in err
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(yaml.safe_dump({"base": str(CONFIGS / "baseline.yaml"), "overrides": {"network.type": network_type}}))
    assert main(["sweep", str(experiment), "--out", str(tmp_path / "out"), "--executor", "serial"]) == 2
    assert f"{experiment}: {message}" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_network_names_are_checked_when_written_and_when_registered():
    with pytest.raises(ConfigError, match=r"network\.type: expected one of watts_strogatz, .* or module:function"):
        small_config(**{"network.type": "a ring!"})
    with pytest.raises(ValueError, match="'complete' is a built-in network type"):
        loyaltysim.register_network("complete", extensions.ring)
    with pytest.raises(ValueError, match="plain name"):
        loyaltysim.register_network("my:ring", extensions.ring)


def test_a_builder_of_the_wrong_size_is_refused(registered):
    loyaltysim.register_network("small_ring", lambda config, n, rng: extensions.ring(config, n - 1, rng))
    with pytest.raises(ConfigError, match=r"network\.type: small_ring built 299 nodes; expected .* of 300 nodes"):
        LoyaltyModel(small_config(**{"network.type": "small_ring"}))


# --- designs -------------------------------------------------------------------------------------------


def test_a_registered_or_referenced_design_samples_the_factors(registered):
    factors = {"a": {"low": 0.0, "high": 10.0}, "b": {"dist": "normal", "mean": 1.0, "sd": 0.1}, "c": ["x", "y"]}
    by_name = sample_factors(factors, "halton", 64, seed=3)
    by_reference = sample_factors(factors, "tests.extensions:halton", 64, seed=3)
    np.testing.assert_array_equal(by_name.samples, by_reference.samples)
    table = by_name.table()
    assert table["a"].between(0, 10).all() and set(table["c"]) == {"x", "y"}
    assert table["b"].mean() == pytest.approx(1.0, abs=0.01)  # the normal is sampled by its quantiles
    assert by_name.method == "halton" and by_name.options == {}


def test_a_design_that_leaves_the_bounds_or_the_shape_is_refused(registered):
    loyaltysim.register_design("wide", lambda problem, samples, *, seed: np.full((samples, problem["num_vars"]), 2.0))
    with pytest.raises(ConfigError, match=r"design: wide sampled a outside its bounds \[0, 1\]"):
        sample_factors({"a": {"low": 0, "high": 1}}, "wide", 4)
    loyaltysim.register_design("flat", lambda problem, samples, *, seed: np.zeros(samples))
    with pytest.raises(ConfigError, match=r"design: flat returned an array of shape \(4,\); expected \(points, 1\)"):
        sample_factors({"a": {"low": 0, "high": 1}}, "flat", 4)
    with pytest.raises(ValueError, match="'sobol' is a built-in design"):
        loyaltysim.register_design("sobol", extensions.halton)


# --- hypothesis tests ----------------------------------------------------------------------------------


def test_a_registered_or_referenced_hypothesis_test_is_evaluated(registered):
    runs, curves = synthetic_tables()
    by_name = evaluate([{"test": "churn_below", "level": 0.02}], runs, curves)
    by_reference = evaluate([{"test": "tests.extensions:churn_below", "level": 0.02}], runs, curves)
    pd.testing.assert_frame_equal(by_name.drop(columns="label"), by_reference.drop(columns="label"))
    assert list(by_name["verdict"]) == ["not supported", "supported"]  # churn 0.03 at cost 1, 0.01 at cost 8
    hypotheses.check_spec({"test": "churn_below", "level": 0.01, "by": [FACTOR]}, [FACTOR])
    with pytest.raises(
        ValueError, match=re.escape("levl: unknown option of test 'churn_below' (did you mean 'level'?); allowed: level, by")
    ):
        hypotheses.check_spec({"test": "churn_below", "levl": 0.01}, [FACTOR])
    with pytest.raises(ValueError, match=r"test: unknown test 'churn_belwo' \(did you mean 'churn_below'\?\)"):
        hypotheses.check_spec({"test": "churn_belwo"}, [FACTOR])


def test_registration_refuses_a_test_whose_options_are_not_keyword_only():
    def positional(runs, curves=None, level=0.5):
        return []

    with pytest.raises(TypeError, match=re.escape("positional: takes (runs, curves) by position and options after *")):
        loyaltysim.register_hypothesis_test("positional", positional)
    with pytest.raises(ValueError, match="'difference' is a built-in test"):
        loyaltysim.register_hypothesis_test("difference", extensions.churn_below)


# --- the contract check ------------------------------------------------------------------------------


BUILT_IN_OPTIONS = {
    "satisfaction_trap": {},
    "moderation": {"moderator": FACTOR},
    "monotone_defection": {},
    "difference": {"metric": "churn_rate", "factor": FACTOR, "a": 1.0, "b": 8.0},
    "nonlinear_link": {},
    "regression": {"formula": "churn_rate ~ customers_switching_cost_mean", "coefficient": "customers_switching_cost_mean"},
}


def test_every_built_in_test_is_checked():
    assert set(BUILT_IN_OPTIONS) == set(hypotheses.TESTS)


@pytest.mark.parametrize("name", list(BUILT_IN_OPTIONS))
def test_every_built_in_test_keeps_the_contract(name):
    check_hypothesis_test(hypotheses.TESTS[name], options=BUILT_IN_OPTIONS[name])


def test_a_user_test_keeps_the_contract():
    check_hypothesis_test(extensions.churn_below)


def _result(verdict: str = "supported", n: int = 1, **fields: float) -> HypothesisResult:
    values = {"statistic": 1.0, "effect": 0.5, "ci_low": 0.1, "ci_high": 0.9, "p_value": 0.01, **fields}
    return HypothesisResult(test="t", cell="all runs", verdict=verdict, n=n, note="", **values)


def positional_options(runs, curves=None, level=0.5):
    return [_result()]


def catch_all(runs, curves=None, **options):
    return [_result()]


def returns_a_dict(runs, curves=None, *, level=0.5):
    return {"verdict": "supported"}


def says_yes(runs, curves=None, *, level=0.5):
    return [_result(verdict="yes")]


def interval_upside_down(runs, curves=None, *, level=0.5):
    return [_result(ci_low=0.9, ci_high=0.1)]


def unseeded(runs, curves=None, *, level=0.5):
    return [_result(effect=float(np.random.default_rng().random()))]


def adds_a_column(runs, curves=None, *, level=0.5):
    runs["passed"] = runs["churn_rate"] < level
    return [_result()]


def counts_failed_runs(runs, curves=None, *, level=0.5):
    return [_result(n=len(runs))]


def crashes_on_an_empty_cell(runs, curves=None, *, level=0.5):
    ok = runs[runs["status"] == "ok"]
    return [_result(effect=1 / len(ok[ok[FACTOR] == 1.0]))]  # ZeroDivisionError when that cell's runs all failed


def ignores_by(runs, curves=None, *, by=None):
    return [_result()]


def reads_a_missing_metric(runs, curves=None, *, level=0.5):
    return [_result(effect=float(runs["repeat_purchase_rate"].mean()))]


def numpy_details(runs, curves=None, *, level=0.5):
    return [HypothesisResult(**{**_result().__dict__, "details": {"cells": np.int64(2)}})]


@pytest.mark.parametrize(
    ("test", "rule", "detail"),
    [
        (positional_options, "signature", "positional parameters are runs, curves, level"),
        (catch_all, "signature", "takes **options"),
        (returns_a_dict, "results", "expected a non-empty list of HypothesisResult"),
        (says_yes, "results", "verdict 'yes' on the synthetic sweep is not one of supported, not supported, inconclusive"),
        (interval_upside_down, "results", "ci_low 0.9 is above ci_high 0.1"),
        (unseeded, "deterministic", "two calls on the same tables gave different results"),
        (adds_a_column, "inputs untouched", "it modified the runs or curves table"),
        (counts_failed_runs, "failed runs ignored", "adding failed runs"),
        (crashes_on_an_empty_cell, "empty cells", "raised ZeroDivisionError"),
        (ignores_by, "invalid options", "by=['no.such.factor'] (not a factor) was accepted silently"),
        (reads_a_missing_metric, "runs", "raised KeyError: 'repeat_purchase_rate' on the synthetic sweep; the runs table has"),
        (numpy_details, "results", "details must map names to numbers (float or int)"),
    ],
)
def test_a_broken_test_fails_the_check_naming_what_is_wrong(test, rule, detail):
    with pytest.raises(ContractViolation) as caught:
        check_hypothesis_test(test)
    assert str(caught.value).startswith(f"{test.__name__}: {rule}: ")
    assert detail in str(caught.value)


def test_the_synthetic_sweep_has_the_patterns_it_promises():
    runs, curves = synthetic_tables(replicates=3)
    assert len(runs) == 6 and list(runs[FACTOR]) == [1.0] * 3 + [8.0] * 3 and (runs["status"] == "ok").all()
    means = runs.groupby(FACTOR)[["churn_rate", "satisfied_defector_share"]].mean()
    assert means.loc[1.0, "churn_rate"] > 2 * means.loc[8.0, "churn_rate"]
    assert means.loc[1.0, "satisfied_defector_share"] > 0.6 > means.loc[8.0, "satisfied_defector_share"]
    pooled = curves.groupby("satisfaction_low")[["customer_periods", "switchers"]].sum()
    churn = pooled["switchers"] / pooled["customer_periods"]
    assert churn.iloc[-1] < churn.iloc[3] and set(curves["run_id"]) == set(runs["run_id"])
    assert math.isclose(curves.groupby("run_id")["customer_periods"].sum().iloc[0], 4000)


# --- in worker processes -------------------------------------------------------------------------------


@pytest.mark.slow
def test_module_function_extensions_run_in_a_process_pool(tmp_path):
    """A network builder, a design and a hypothesis test named module:function work in spawned workers."""
    experiment = {
        "name": "extended",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": {"customers.n": 120, "run.steps": 12, "run.burn_in": 2, "run.panel_size": 0},
        "factors": {
            "network.type": ["tests.extensions:ring", "watts_strogatz"],
            "switching.loyalty_weight": {"low": 1, "high": 6},
        },
        "design": "tests.extensions:halton",
        "samples": 4,
        "replicates": 2,
        "seed": 5,
        "hypotheses": [{"test": "tests.extensions:churn_below", "level": 0.2, "by": []}],
    }
    path = tmp_path / "extended.yaml"
    path.write_text(yaml.safe_dump(experiment))
    pooled = sweep(path, out=tmp_path / "pool", executor="process", workers=2, progress=False)
    serial = sweep(path, out=tmp_path / "serial", executor="serial", progress=False)
    assert (pooled.runs["status"] == "ok").all() and len(pooled.runs) == 8
    assert set(pooled.runs["network.type"]) == {"tests.extensions:ring", "watts_strogatz"}
    columns = [c for c in pooled.runs.columns if c != "wall_time"]
    pd.testing.assert_frame_equal(pooled.runs[columns], serial.runs[columns])
    verdicts = pd.read_parquet(tmp_path / "pool" / "hypotheses.parquet")
    assert list(verdicts["test"]) == ["churn_below"] and verdicts["verdict"].iloc[0] == "supported"
    assert resolve_reference("tests.extensions:ring") is extensions.ring
