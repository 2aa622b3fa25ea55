"""Recorded = used: factor values read back from the config each run resolved, linked and derived factors,
overlapping paths refused, list values never changed in place."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from loyaltysim import ConfigError, config_hash, sweep
from loyaltysim.cli import main
from loyaltysim.experiments.linking import evaluate, overlapping, read_back
from loyaltysim.experiments.spec import load_experiment, plan_runs, run_config

from .conftest import CONFIGS

OVERRIDES = {"customers.n": 100, "run.steps": 6, "run.burn_in": 1, "run.panel_size": 0}
FIRMS_A = [{"name": "A", "quality": 0.6}, {"name": "B", "quality": 0.7, "price": 9}]
FIRMS_B = [{"name": "A", "quality": 0.7}, {"name": "B", "quality": 0.6}, {"name": "C", "promise": 0.9}]
FACTORS = {
    "firms": [FIRMS_A, FIRMS_B],
    "customers.switching_cost.mean": [0.1, 0.3],
    "rival": {"values": [0.5, 0.9], "paths": ["word_of_mouth.reach", "word_of_mouth.talk_rate"]},
}


def write(folder: Path, factors: dict, **keys: object) -> Path:
    data = {"name": "linked", "base": str(CONFIGS / "baseline.yaml"), "overrides": OVERRIDES, "factors": factors}
    data.update({"replicates": 1, "seed": 3, **keys})
    path = folder / "linked.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_expressions_and_overlaps():
    assert evaluate("max(q - 0.1, 0) * 2", {"q": 0.3}) == pytest.approx(0.4)
    assert evaluate("firms.1.quality + 0.05", {"firms.1.quality": 0.6}) == pytest.approx(0.65)
    with pytest.raises(ValueError, match="only arithmetic"):
        evaluate("__import__('os')", {"q": 1})
    with pytest.raises(ValueError, match="'x' is not a factor"):
        evaluate("x + 1", {"q": 1})
    paths = [("customers.switching_cost.mean", "m"), ("customers.n", "n"), ("customers.switching_cost", "s")]
    assert overlapping(paths) == (("customers.switching_cost", "s"), ("customers.switching_cost.mean", "m"))
    assert overlapping([("firms.1.quality", "a"), ("firms.10.quality", "b"), ("firms.1.promise", "c")]) is None


def test_read_back_shapes_a_list_value_like_the_planned_one():
    resolved = {"firms": [{"name": "A", "quality": 0.6, "price": 10.0}, {"name": "B", "quality": 0.5, "price": 9.0}]}
    planned = {"firms": [{"name": "A", "quality": 0.6}, {"name": "B", "price": 9}]}
    assert read_back(resolved, planned, {}) == {"firms": [{"name": "A", "quality": 0.6}, {"name": "B", "price": 9.0}]}


@pytest.mark.parametrize(
    ("factors", "named"),
    [
        ({"firms.1.quality": [0.65, 0.85], "firms": [FIRMS_A]}, ("factors.firms ", "factors.firms.1.quality")),
        (
            {"customers.switching_cost.mean": [0.1, 0.2], "customers.switching_cost": [0.1, 0.3]},
            ("factors.customers.switching_cost ", "factors.customers.switching_cost.mean"),
        ),
        (
            {"q": {"values": [0.5], "paths": ["firms.0.quality"]}, "firms.0.quality": [0.6]},
            ("factors.q and factors.firms.0.quality both set firms.0.quality;",),
        ),
    ],
)
def test_overlapping_factor_paths_are_refused_naming_both(tmp_path, capsys, factors, named):
    path = write(tmp_path, factors)
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert all(name in str(caught.value) for name in named)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and all(name in err for name in named)
    assert not (tmp_path / "out").exists()


def test_derived_values_need_known_factors(tmp_path):
    path = write(tmp_path, {"q": {"values": [0.5], "paths": ["firms.0.quality"]}}, derived={"firms.0.promise": "qq + 0.1"})
    with pytest.raises(ConfigError, match=r"derived.firms.0.promise: 'qq' is not a factor \(did you mean 'q'\?\)"):
        load_experiment(path)


def test_planning_and_resolving_never_change_a_list_value(tmp_path):
    path = write(tmp_path, FACTORS)
    experiment = load_experiment(path)
    before = copy.deepcopy(experiment.factors["firms"].values)
    base = experiment.base_config()
    for spec in plan_runs(experiment):
        planned = copy.deepcopy(spec.factors)
        run_config(base, spec)
        assert spec.factors == planned
    assert experiment.factors["firms"].values == before


def expected_row(experiment, base, spec) -> dict:
    """What the runs table must say of a run: the values of the config that run resolved."""
    config = run_config(base, spec)
    values = config.to_dict()
    return {
        "firms": [{k: values["firms"][i][k] for k in item} for i, item in enumerate(spec.factors["firms"])],
        "customers.switching_cost.mean": values["customers"]["switching_cost"]["mean"],
        "rival": values["word_of_mouth"]["reach"],
        "economics.retention_cost": values["economics"]["retention_cost"],
        "config_hash": config_hash(config),
    }


@pytest.fixture(scope="module")
def linked_experiment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("linked")
    path = write(folder, FACTORS, derived={"economics.retention_cost": "rival * 2"})
    experiment = load_experiment(path)
    return path, experiment


@pytest.mark.parametrize(
    "executor", ["serial", pytest.param("process", marks=pytest.mark.slow), pytest.param("dask", marks=pytest.mark.slow)]
)
def test_recorded_values_are_those_of_the_config_each_run_used(linked_experiment, tmp_path, executor):
    if executor == "dask":
        pytest.importorskip("distributed")
    path, experiment = linked_experiment
    results = sweep(path, out=tmp_path / "out", executor=executor, workers=2, progress=False, report=False)
    runs = results.runs.set_index("run_id")
    assert len(runs) == 8 and (runs["status"] == "ok").all()
    base = experiment.base_config()
    for spec in plan_runs(experiment):
        row, expected = runs.loc[spec.run_id], expected_row(experiment, base, spec)
        # Parquet stores a list of mappings with the union of their keys: a key an item did not set reads back null
        assert [{k: v for k, v in item.items() if v is not None} for item in row["firms"]] == expected["firms"]
        for column in ("customers.switching_cost.mean", "rival", "economics.retention_cost", "config_hash"):
            assert row[column] == pytest.approx(expected[column]) if column != "config_hash" else row[column] == expected[column]
        assert row["rival"] == spec.factors["rival"]  # the linked value reached both paths
        config = run_config(base, spec)
        assert config.word_of_mouth.reach == config.word_of_mouth.talk_rate == spec.factors["rival"]
    assert runs["config_hash"].is_unique  # every run its own seed, so its own resolved config
    stored = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert stored["config_hash"].tolist() == results.runs["config_hash"].tolist()
