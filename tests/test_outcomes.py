"""Outcomes you define, per-firm results and the number of firms as a factor, in a sweep and its analyses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from loyaltysim import Config, ConfigError, LoyaltyModel, sweep
from loyaltysim.analysis.hypotheses import evaluate
from loyaltysim.experiments.spec import load_experiment, plan_runs, run_config
from loyaltysim.outcomes import DISSATISFIED_BELOW, false_loyalty

from .conftest import CONFIGS, small_config

OVERRIDES = {"customers.n": 150, "run.steps": 8, "run.burn_in": 2, "run.panel_size": 0}
FALSE_LOYALTY = {"function": "loyaltysim.outcomes:false_loyalty", "per": "period"}


def customers_of_first_firm(model) -> int:
    """A per-run outcome of a test: customers of the first firm at the end."""
    return int((model.state.firm == 0).sum())


def not_a_number(model) -> str:
    return "many"


def write(folder: Path, **keys: object) -> Path:
    data = {
        "name": "study",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": OVERRIDES,
        "factors": {"n_firms": {"values": [2, 3, 4], "label": "Number of firms"}},
        "outcomes": {"false_loyalty": FALSE_LOYALTY, "first": "tests.test_outcomes:customers_of_first_firm"},
        "replicates": 2,
        "seed": 5,
        "timeseries": {"every": 4},
        **keys,
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_false_loyalty_counts_the_dissatisfied_who_stay():
    # enough customers that every firm has some dissatisfied ones in the last period (the warm-started market is mostly satisfied)
    model = LoyaltyModel(small_config(run__steps=6, customers__n=3000))
    assert all(math.isnan(v) for v in false_loyalty(model).values())  # before the first period
    model.run()
    outcome = model.last_outcome
    values = false_loyalty(model)
    for index, name in enumerate(model.market.names):
        mine = (outcome.firm_before == index) & (outcome.satisfaction < DISSATISFIED_BELOW)
        expected = float((~outcome.switched[mine]).mean()) if mine.any() else math.nan
        assert values[name] == pytest.approx(expected, nan_ok=True)
    assert any(0 < v < 1 for v in values.values() if not math.isnan(v))  # neither trivially 0 nor 1 everywhere


def test_n_firms_generates_firms_from_the_template_and_the_seed():
    config = Config.model_validate({"n_firms": 7, "run": {"seed": 1}})
    again = Config.model_validate(config.to_dict())
    assert [f.name for f in config.firms] == list("ABCDEFG") and [f.generated for f in config.firms].count(True) == 2
    assert again == config  # resolving a resolved config draws the same firms
    generated = config.firms[5]
    assert 0.5 <= generated.quality <= 0.8 and generated.promise == generated.quality and generated.price == 10.0
    other_seed = Config.model_validate({**config.to_dict(), "run": {**config.to_dict()["run"], "seed": 2}})
    assert other_seed.firms[5].quality != generated.quality
    more = Config.model_validate({"n_firms": 9, "run": {"seed": 1}})
    assert more.firms[:7] == config.firms  # more firms: the same first ones
    assert [f.name for f in Config.model_validate({"n_firms": 2}).firms] == ["A", "B"]
    template = {
        "quality": {"dist": "uniform", "low": 0.2, "high": 0.3},
        "promise": 0.9,
        "price": {"dist": "normal", "mean": 8, "sd": 1},
    }
    drawn = Config.model_validate({"n_firms": 30, "firm_template": template}).firms[5:]
    assert all(0.2 <= f.quality <= 0.3 and f.promise == 0.9 for f in drawn) and np.std([f.price for f in drawn]) > 0.3
    with pytest.raises(ConfigError, match="n_firms"):
        from loyaltysim.config import validate_config

        validate_config({"n_firms": 0})


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    hypotheses = [
        {"test": "difference", "metric": "profit", "firm": "A", "factor": "n_firms", "a": 2, "b": 4, "label": "rivals"},
        {"test": "difference", "metric": "false_loyalty_A", "factor": "n_firms", "a": 2, "b": 3},
    ]
    path = write(folder, hypotheses=hypotheses)
    return path, sweep(path, out=folder / "out", executor="serial", progress=False, report=False)


def test_outcomes_and_firms_reach_every_table(study):
    path, results = study
    runs, series, firms = results.runs, results.timeseries, results.firms
    assert (runs["status"] == "ok").all() and len(runs) == 6
    experiment = load_experiment(path)
    base = experiment.base_config()
    for spec in plan_runs(experiment)[::2]:  # rerun some alone: the tables hold what the model says
        model = LoyaltyModel(run_config(base, spec), reporters={"false_loyalty": false_loyalty}).run()
        row = runs.set_index("run_id").loc[spec.run_id]
        assert row["first"] == int((model.state.firm == 0).sum())
        own = model.firm_timeseries()
        kept = firms[firms["run_id"] == spec.run_id].drop(columns="run_id").reset_index(drop=True)
        expected = own[own["step"].isin([4, 8])].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept, expected)
        after = own[own["step"] > 2]
        for name in model.market.names:
            mine = after[after["firm"] == name]
            assert row[f"profit_{name}"] == pytest.approx(mine["profit"].mean())
            assert row[f"won_{name}"] == pytest.approx(mine["won"].mean())
            assert row[f"retention_rate_{name}"] == pytest.approx(1 - mine["lost"].sum() / mine["purchases"].sum())
        per_period = pd.DataFrame(model.datacollector.model_vars["false_loyalty"][3:])  # periods 3…8
        assert row["false_loyalty_A"] == pytest.approx(per_period["A"].mean(skipna=True), nan_ok=True)
        at_4 = series[(series["run_id"] == spec.run_id) & (series["step"] == 4)].iloc[0]
        assert at_4["false_loyalty_B"] == pytest.approx(model.datacollector.model_vars["false_loyalty"][4]["B"], nan_ok=True)
    assert set(firms.groupby("run_id")["firm"].nunique()) == {2, 3, 4}  # n_firms reached the runs
    assert runs.groupby("n_firms")["profit_D"].apply(lambda s: s.notna().all()).to_dict() == {2: False, 3: False, 4: True}


def test_hypotheses_name_per_firm_metrics_and_outcomes(study):
    path, results = study
    specs = load_experiment(path).hypotheses
    table = evaluate(specs, results.runs, results.curves)
    assert len(table) == 2 and table["verdict"].notna().all()
    profit = results.runs.groupby("n_firms")["profit_A"].mean()
    assert table.iloc[0]["effect"] == pytest.approx(profit[4] - profit[2])  # firm A's profit: b − a
    by_size = {**specs[1], "metric": "mean_satisfaction", "firm": "A", "factor": "replicate", "a": 0, "b": 1, "by": ["n_firms"]}
    split = evaluate([by_size], results.runs.assign(replicate=results.runs["replicate"]), results.curves)
    assert sorted(split["cell"]) == ["n_firms=2", "n_firms=3", "n_firms=4"]  # by: [n_firms], one verdict per level


def test_bad_outcomes_are_refused_before_any_run(tmp_path):
    cases = [
        ({"x": "tests.test_outcomes:no_such_function"}, "outcomes.x.function"),
        ({"x": "tests.test_outcomes:not_a_number"}, "expected a number or a mapping of numbers, got 'many'"),
        ({"x": {"function": "loyaltysim.outcomes:false_loyalty", "per": "year"}}, "outcomes.x.per"),
        ({"bad name": "loyaltysim.outcomes:false_loyalty"}, "outcomes"),
    ]
    for outcomes, message in cases:
        with pytest.raises(ConfigError) as caught:
            load_experiment(write(tmp_path, outcomes=outcomes))
        assert message in str(caught.value), str(caught.value)
    with pytest.raises(ConfigError, match=r"hypotheses.0.metric: 'profits' is no per-firm metric \(did you mean 'profit'\?\)"):
        from loyaltysim.workflows.sweep import load_checked

        hypothesis = {"test": "difference", "metric": "profits", "firm": "A", "factor": "n_firms", "a": 2, "b": 3}
        load_checked(write(tmp_path, hypotheses=[hypothesis]))


@pytest.mark.slow
def test_n_firms_in_a_sobol_design_and_in_discovery(tmp_path):
    pytest.importorskip("ema_workbench")
    from loyaltysim.workflows.discovery import run_discovery

    factors = {"n_firms": {"low": 2, "high": 5, "integer": True}, "switching.loyalty_weight": {"low": 0.5, "high": 6.0}}
    path = write(tmp_path, factors=factors, design="sobol", samples=8, replicates=1, outcomes={})
    results = sweep(path, out=tmp_path / "out", executor="serial", progress=False, report=False)
    assert set(results.runs["n_firms"]) <= {2, 3, 4, 5} and results.runs["n_firms"].nunique() >= 3
    assert (results.firms.groupby("run_id")["firm"].nunique() == results.runs.set_index("run_id")["n_firms"]).all()
    threshold = float(results.runs["hhi"].median()) if "hhi" in results.runs else float(results.runs["final_hhi"].median())
    result, _ = run_discovery(tmp_path / "out", f"final_hhi > {threshold}")
    assert "n_firms" in set(result.box["factor"]) | set(result.dropped["factor"])


def test_the_report_names_things_as_the_file_does_and_keeps_market_sizes_apart(study, tmp_path):
    from loyaltysim.analysis import summaries
    from loyaltysim.reporting.figures.sweep import share_trajectories_figure
    from loyaltysim.reporting.labels import Labels
    from loyaltysim.workflows.sweep import report_sweep

    _, results = study
    paths = report_sweep(results.path, figure_formats=["png", "svg", "pdf"])
    assert paths["market_share.svg"].read_text().lstrip().startswith("<?xml")
    assert paths["market_share.pdf"].read_bytes().startswith(b"%PDF")
    report = paths["markdown"].read_text()
    assert "Number of firms (`n_firms`)" in report and "Churn per month" in report
    names = Labels.from_experiment(results.manifest["experiment"])
    shares = summaries.share_trajectories(results.runs, results.timeseries, by=["n_firms"], name=names.condition)
    figure = share_trajectories_figure(shares, period="month")
    panels = {ax.get_title(): len(ax.get_lines()) for ax in figure.axes if ax.get_visible()}
    assert panels == {"Number of firms: 2": 2, "Number of firms: 3": 3, "Number of firms: 4": 4}
    assert figure.axes[0].get_xlabel() == "months since the start"


def test_a_missing_optional_dependency_says_how_to_install_it(study, capsys, monkeypatch):
    import importlib.util

    from loyaltysim.cli import main

    _, results = study
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ema_workbench" else real(name, *a))
    assert main(["discover", str(results.path), "--where", "nps > 0"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'loyaltysim[discovery]'" in err and "Traceback" not in err and err.count("\n") == 1
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    from loyaltysim.experiments.execution import resolve_executor

    with pytest.raises(ConfigError, match=r"pip install 'loyaltysim\[dask\]'"):
        resolve_executor("dask", 2, None)


def test_outcomes_are_calibration_targets_and_sensitivity_outputs(tmp_path):
    from loyaltysim.analysis.calibration import load_calibration
    from loyaltysim.analysis.outputs import Output, check_outputs

    experiment = load_experiment(
        write(tmp_path, factors={"switching.loyalty_weight": {"low": 1.0, "high": 5.0}}, design="lhs", samples=4)
    )
    checked = check_outputs(experiment, [Output(metric="false_loyalty_A"), Output(metric="first")])
    assert [o.metric for o in checked] == ["false_loyalty_A", "first"]
    with pytest.raises(ConfigError, match="false_loyalty_Z"):
        check_outputs(experiment, [Output(metric="false_loyalty_Z")])
    calibration = {
        "name": "own_target",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": OVERRIDES,
        "parameters": {"switching.loyalty_weight": {"low": 1.0, "high": 5.0}},
        "targets": [{"metric": "false_loyalty_A", "value": 0.8}],
        "outcomes": {"false_loyalty": FALSE_LOYALTY},
    }
    path = tmp_path / "calibrate.yaml"
    path.write_text(yaml.safe_dump(calibration))
    assert load_calibration(path).spec.targets[0].metric == "false_loyalty_A"
    path.write_text(yaml.safe_dump({**calibration, "outcomes": {}}))
    with pytest.raises(ConfigError, match=r"targets\.0\.metric: unknown pooled metric 'false_loyalty_A'"):
        load_calibration(path)
