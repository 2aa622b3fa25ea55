"""Experiment files: schema, clear errors, designs (SALib samplers) and derived seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from loyaltysim import ConfigError
from loyaltysim.cli import main
from loyaltysim.experiments.spec import Experiment, derive_seed, load_experiment, plan_runs, run_config, sample_design

from .conftest import CONFIGS, ROOT

BASE = {"customers.n": 120, "run.steps": 12, "run.burn_in": 2, "run.panel_size": 0}


def write_experiment(folder: Path, **keys: object) -> Path:
    data = {"name": "t", "base": str(CONFIGS / "baseline.yaml"), "overrides": BASE, "seed": 5, **keys}
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_demo_experiment_plans_grid_times_replicates():
    experiment = load_experiment(ROOT / "experiments" / "demo_sweep.yaml")
    runs = plan_runs(experiment)
    assert len(runs) == 3 * 2 * 3
    assert [r.run_id for r in runs] == list(range(18))
    assert {(r.point_id, r.replicate) for r in runs} == {(p, k) for p in range(6) for k in range(3)}
    assert len({r.seed for r in runs}) == 18
    assert {r.factors["loyalty.link"] for r in runs} == {"linear", "threshold"}
    # base is resolved relative to the experiment file, overrides reach every run
    config = run_config(experiment.base_config(), runs[4])
    assert config.customers.n == 1000 and config.run.seed == runs[4].seed
    assert config.customers.switching_cost.mean == runs[4].factors["customers.switching_cost.mean"]


def test_seeds_derive_from_root_and_identity():
    a = [derive_seed(7, p, k) for p in range(3) for k in range(3)]
    assert a == [derive_seed(7, p, k) for p in range(3) for k in range(3)]
    assert len(set(a)) == 9 and all(0 <= s < 2**63 for s in a)
    assert a != [derive_seed(8, p, k) for p in range(3) for k in range(3)]
    assert derive_seed(0, 0, 1) - derive_seed(0, 0, 0) != 1  # not seed + i
    expected = np.random.SeedSequence(entropy=7, spawn_key=(1, 2)).generate_state(1, np.uint64)[0] >> np.uint64(1)
    assert derive_seed(7, 1, 2) == int(expected)


def test_lhs_samples_types_bounds_and_seed(tmp_path):
    factors = {
        "switching.loyalty_weight": {"low": 1.0, "high": 8.0},
        "customers.fit": {"low": 0.01, "high": 1.0, "log": True},
        "network.degree": {"low": 2, "high": 6, "integer": True},
        "loyalty.link": ["linear", "concave"],
    }
    experiment = load_experiment(write_experiment(tmp_path, factors=factors, design="lhs", samples=40))
    design = sample_design(experiment)
    assert design.samples.shape == (40, 4) and len(design.points) == 40
    weights = [p["switching.loyalty_weight"] for p in design.points]
    assert all(1.0 <= w <= 8.0 for w in weights)
    fits = np.array([p["customers.fit"] for p in design.points])
    assert fits.min() >= 0.01 and fits.max() <= 1.0 and (fits < 0.1).sum() >= 15  # log scale: ~half below 0.1
    degrees = {p["network.degree"] for p in design.points}
    assert degrees == {2, 3, 4, 5, 6} and all(isinstance(d, int) for d in degrees)
    assert {p["loyalty.link"] for p in design.points} == {"linear", "concave"}
    same = sample_design(experiment)
    np.testing.assert_array_equal(design.samples, same.samples)
    other = sample_design(experiment.model_copy(update={"seed": 6}))
    assert not np.array_equal(design.samples, other.samples)
    assert len(plan_runs(experiment)) == 40


@pytest.mark.parametrize(
    ("design", "options", "rows"),
    [
        ("sobol", {"samples": 8}, 8 * (2 * 2 + 2)),
        ("sobol", {"samples": 8, "second_order": False}, 8 * (2 + 2)),
        ("morris", {"samples": 5, "levels": 4}, 5 * (2 + 1)),
        ("fast", {"samples": 65}, 65 * 2),
    ],
)
def test_salib_designs_give_their_sample_sizes(tmp_path, design, options, rows):
    factors = {"switching.loyalty_weight": {"low": 1.0, "high": 8.0}, "word_of_mouth.talk_rate": {"low": 0.0, "high": 0.5}}
    experiment = load_experiment(write_experiment(tmp_path, factors=factors, design=design, **options))
    built = sample_design(experiment)
    assert built.samples.shape == (rows, 2)
    assert built.problem["names"] == list(factors)


@pytest.mark.slow
def test_distribution_factors_are_sampled_by_their_quantiles(tmp_path):
    """triangular, normal (cut at low) and lognormal factors: the sampled values follow the distribution."""
    path = write_experiment(
        tmp_path,
        design="lhs",
        samples=4000,
        factors={
            "customers.switching_cost.mean": {"dist": "triangular", "low": 0.5, "high": 10.5, "peak": 2.5},
            "word_of_mouth.influence": {"dist": "normal", "mean": 0.2, "sd": 0.1, "low": 0.0},
            "switching.choice_noise": {"dist": "lognormal", "mean": 1.0, "sd": 0.5},
        },
    )
    design = sample_design(load_experiment(path))
    values = {name: np.array([p[name] for p in design.points]) for name in design.problem["names"]}
    triangular, normal = values["customers.switching_cost.mean"], values["word_of_mouth.influence"]
    lognormal = values["switching.choice_noise"]
    assert triangular.min() >= 0.5 and triangular.max() <= 10.5
    assert abs(triangular.mean() - 4.5) < 0.05 and abs(np.median(triangular) - (10.5 - np.sqrt(10 * 8 / 2))) < 0.1
    cut_mean = 0.2 + 0.1 * np.exp(-2) / np.sqrt(2 * np.pi) / 0.97725  # mean of Normal(0.2, 0.1) cut at 0: μ + σφ(−2)/(1 − Φ(−2))
    assert normal.min() >= 0.0 and abs(normal.mean() - cut_mean) < 0.002
    assert abs(lognormal.mean() - 1.0) < 0.03 and abs(lognormal.std() - 0.5) < 0.05 and lognormal.min() > 0
    assert design.problem["bounds"] == [[0.0, 1.0]] * 3


@pytest.mark.parametrize(
    ("factor", "message"),
    [
        ({"dist": "normal", "mean": 0.2}, "dist normal needs mean and sd"),
        ({"dist": "triangular", "low": 0.0, "high": 0.5, "peak": 0.9}, "peak within"),
        ({"dist": "normal", "mean": 0.2, "sd": 0.1, "peak": 0.2}, "peak does not apply to dist normal"),
        ({"low": 0.0, "high": 0.5, "mean": 0.2}, "mean does not apply to dist uniform"),
        ({"dist": "lognormal", "mean": 0.0, "sd": 0.1}, "lognormal needs mean > 0"),
        ({"dist": "normal", "mean": 0.2, "sd": 0.1, "log": True}, "log and integer apply to uniform ranges"),
        ({"dist": "normal", "mean": 0.2, "sd": 0.1}, "word_of_mouth.influence"),  # below 0 in its far tail
    ],
)
def test_bad_distribution_factors_are_refused_naming_the_factor(tmp_path, factor, message):
    path = write_experiment(tmp_path, design="lhs", samples=8, factors={"word_of_mouth.influence": factor})
    with pytest.raises(ConfigError, match=message) as info:
        load_experiment(path)
    assert "factors" in str(info.value)


def test_set_overrides_experiment_keys_factors_and_config(tmp_path):
    path = write_experiment(tmp_path, factors={"loyalty.link": ["linear"]})
    experiment = load_experiment(
        path, {"replicates": 4, "customers.n": 90, "factors.switching.loyalty_weight": [1, 2], "overrides.run.steps": 7}
    )
    assert experiment.replicates == 4
    assert experiment.overrides["customers.n"] == 90 and experiment.overrides["run.steps"] == 7
    assert experiment.factors["switching.loyalty_weight"].values == [1, 2]
    assert len(plan_runs(experiment)) == 2 * 4


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"replicate": 3}, "unknown key 'replicate' (did you mean 'replicates'?)"),
        ({"factors": {"customers.nn": [10, 20]}}, "factors.customers.nn"),
        ({"factors": {"customers.nn": [10, 20]}}, "did you mean 'n'"),
        ({"factors": {"customers.n": [100, 0]}}, "value 0 is refused"),
        ({"factors": {"switching.loyalty_weight": {"low": 2.0, "high": 2.0}}, "design": "lhs", "samples": 4}, "empty range"),
        ({"factors": {"switching.loyalty_weight": {"low": 3.0, "high": 1.0}}, "design": "lhs", "samples": 4}, "low (3.0)"),
        ({"factors": {"switching.loyalty_weight": {"low": 1.0}}, "design": "lhs", "samples": 4}, "needs both low and high"),
        ({"factors": {"switching.loyalty_weight": []}}, "factors.switching.loyalty_weight"),
        (
            {"factors": {"switching.loyalty_weight": [1, 2]}, "design": "factorial"},
            "design: unknown design 'factorial'; expected",
        ),
        ({"factors": {"switching.loyalty_weight": [1, 2]}, "design": "sobl", "samples": 8}, "(did you mean 'sobol'?)"),
        ({"design": "no_such_package.designs:halton", "samples": 8}, "design: cannot import 'no_such_package.designs'"),
        ({"design": "numpy:pi", "samples": 8}, "design: numpy:pi is not callable"),
        (
            {"factors": {"switching.loyalty_weight": {"low": 1.0, "high": 3.0, "group": "g"}}, "design": "lhs", "samples": 4},
            "group:",
        ),
        ({"factors": {"switching.loyalty_weight": {"low": 1.0, "high": 3.0}}, "design": "sobol"}, "needs 'samples'"),
        ({"factors": {"switching.loyalty_weight": {"low": 1.0, "high": 3.0}}, "design": "sobol", "samples": 12}, "power of two"),
        ({"factors": {"switching.loyalty_weight": {"low": 1.0, "high": 3.0}}}, "grid needs lists of values"),
        ({"factors": {"switching.loyalty_weight": {"low": 1.0, "high": 3.0}}, "design": "fast", "samples": 20}, "4·M² = 64"),
        ({"factors": {"customers.fit": {"low": 0.0, "high": 1.0, "log": True}}, "design": "lhs", "samples": 4}, "low > 0"),
        ({"factors": {"run.seed": [1, 2]}}, "run.seed cannot be set"),
        ({"factors": {"loyalty.link": ["linear", "cubic"]}}, "value 'cubic' is refused"),
        ({"metrics": ["annual_churn"]}, "unknown metric 'annual_churn' (did you mean 'annualised_churn'?)"),
        ({"timeseries": {"every": 0}}, "timeseries.every"),
        ({"timeseries": "all"}, "final_only"),
        ({"levels": 4}, "levels applies to design morris"),
        ({"base": "missing.yaml"}, "base:"),
    ],
)
def test_bad_experiment_files_are_refused_clearly(tmp_path, keys, message):
    path = write_experiment(tmp_path, **keys)
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_cli_bad_experiment_exits_2_and_writes_nothing(tmp_path, capsys):
    path = write_experiment(tmp_path, factors={"customers.nn": [10]})
    out = tmp_path / "results"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "customers.nn" in err and "Traceback" not in err
    assert not out.exists()


def test_experiment_schema_is_refused_without_name():
    with pytest.raises(Exception, match="name"):
        Experiment.model_validate({"factors": {}})


def test_common_seeds_share_each_replicate_seed_across_points_and_leave_the_default_unchanged():
    from loyaltysim.experiments.spec import Experiment, derive_seed, experiment_hash, plan_runs

    data = {"name": "crn", "factors": {"customers.switching_cost.mean": [1.0, 5.0, 9.0]}, "replicates": 3, "seed": 11}
    independent = Experiment.model_validate(data)
    common = Experiment.model_validate({**data, "seeds": "common"})
    assert [r.seed for r in plan_runs(independent)] == [derive_seed(11, p, r) for p in range(3) for r in range(3)]
    assert [r.seed for r in plan_runs(common)] == [derive_seed(11, 0, r) for _ in range(3) for r in range(3)]
    assert experiment_hash(common) != experiment_hash(independent)
    # multiplicity is analysis only; the default seeds hash as before the option existed (old sweeps resume)
    assert experiment_hash(Experiment.model_validate({**data, "multiplicity": "bh"})) == experiment_hash(independent)
    dumped = independent.model_dump(mode="json", exclude={"name", "description", "base", "overrides", "hypotheses"})
    assert "seeds" in dumped  # present in the model, dropped from the hash only when it is the default
