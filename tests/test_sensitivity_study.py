"""Sensitivity studies of the model through the sweep engine: known null and dominant factors, bad studies, resume."""

import re

import pandas as pd
import pytest
import yaml

import loyaltysim
from loyaltysim.analysis.discovery import discover, load_runs
from loyaltysim.cli import main

from .conftest import CONFIGS, ROOT

pytestmark = pytest.mark.slow

SMALL = {"customers.n": 200, "run.steps": 30, "run.burn_in": 5, "run.panel_size": 0}


def study(folder, **changes) -> str:
    """A small study file: WOM switched off (so its influence provably does nothing), threshold link."""
    data = {
        "name": "study",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": {**SMALL, "word_of_mouth.enabled": False, "loyalty.link": "threshold"},
        "factors": {
            "switching.variety_seeking": {"low": 0.0, "high": 0.3},  # leaves regardless of satisfaction: drives churn
            "word_of_mouth.influence": {"low": 0.0, "high": 0.3},  # WOM is off: no effect
            "loyalty.zone_low": {"low": 0.2, "high": 0.4},  # zone_of_tolerance parameter, link is threshold: no effect
            "satisfaction.loss_aversion": {"low": 1.0, "high": 3.0},
        },
        "design": "sobol",
        "samples": 16,
        "second_order": False,
        "replicates": 2,
        "seed": 9,
        "sensitivity": {"outputs": ["churn_rate", "mean_satisfaction"], "num_resamples": 100},
    }
    data.update(changes)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_null_factors_get_st_zero_and_the_dominant_factor_ranks_first(tmp_path):
    out = tmp_path / "out"
    indices = loyaltysim.sensitivity(study(tmp_path), out=out, executor="serial", progress=False)
    st = indices[(indices["index"] == "ST") & (indices["output"] == "churn_rate")].set_index("factor")
    assert st["value"].idxmax() == "switching.variety_seeking"
    assert st.loc["switching.variety_seeking", "value"] > 0.9
    for null in ("word_of_mouth.influence", "loyalty.zone_low"):
        assert abs(st.loc[null, "value"]) < 0.02, st
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 16 * 6 * 2 and (runs["status"] == "ok").all()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indices.parquet"), indices)
    variance = pd.read_parquet(out / "variance.parquet").set_index("output")
    assert variance.loc["churn_rate", "noise_share_of_means"] < 0.05  # the ST ≈ 0 above is not hidden by noise
    report = (out / "sensitivity.md").read_text()
    assert "| 1 | `switching.variety_seeking` |" in report
    assert {"indices_churn_rate.png", "convergence_churn_rate.png"} <= {p.name for p in (out / "figures").iterdir()}
    # scenario discovery on the same finished sweep: high churn lives where variety seeking is high
    found = discover(load_runs(out), "churn_rate > 0.15", min_density=0.9)
    box = found.box.set_index("factor")
    assert box.index[0] == "switching.variety_seeking" and 0.05 < box.loc["switching.variety_seeking", "low"] < 0.25
    assert box.loc["switching.variety_seeking", "high"] == box.loc["switching.variety_seeking", "full_high"]
    assert found.density >= 0.9 and found.coverage > 0.5


def test_morris_through_the_cli_and_resume(tmp_path, capsys):
    path, out = study(tmp_path), tmp_path / "morris"
    args = ["sensitivity", path, "--method", "morris", "--samples", "4", "--executor", "serial", "--out", str(out)]
    args += ["--set", "sensitivity.outputs=[churn_rate, nps@final]"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("churn_rate: switching.variety_seeking")
    first = pd.read_parquet(out / "indices.parquet")
    assert set(first["index"]) == {"mu_star", "mu", "sigma"} and (first["method"] == "morris").all()
    assert set(first["output"]) == {"churn_rate", "nps@final"}
    runs_before = pd.read_parquet(out / "runs.parquet")
    assert main([*args, "--resume", "--quiet"]) == 0  # nothing left to run: same runs, same indices
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs_before)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indices.parquet"), first)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"factors": {"switching.variety_seeking": {"low": 0.3, "high": 0.1}}}, "empty range"),
        ({"factors": {"switching.variety_seeking": {"low": "abc", "high": 0.1}}}, "valid number"),
        ({"samples": 100}, "power of two"),
        ({"samples": 4}, "N ≥ 8"),
        ({"design": "fast", "samples": 40}, "samples > 4·M²"),
        ({"design": "grid"}, "needs sobol, morris or fast"),
        ({"sensitivity": {"outputs": ["churn_rat"]}}, "unknown metric 'churn_rat'.*did you mean 'churn_rate'"),
        ({"sensitivity": {"outputs": ["nps@last12"]}}, "timeseries: {every: 1}"),
        ({"sensitivity": {"outputs": ["nps@first"]}}, "@final or @last"),
        ({"sensitivity": {"resamples": 10}}, "unknown key 'resamples'"),
    ],
)
def test_bad_studies_exit_2_and_run_nothing(tmp_path, capsys, changes, message):
    out = tmp_path / "out"
    assert main(["sensitivity", study(tmp_path, **changes), "--executor", "serial", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "study.yaml" in err and "Traceback" not in err
    assert re.search(message, err), err
    assert not out.exists()


def test_shipped_study_runs_at_reduced_size(tmp_path, capsys):
    out = tmp_path / "churn"
    args = ["sensitivity", str(ROOT / "experiments" / "sensitivity_churn.yaml"), "--method", "morris", "--samples", "2"]
    args += ["--set", "customers.n=100", "--set", "run.steps=24", "--executor", "serial", "--out", str(out), "--no-figures"]
    assert main(args) == 0
    indices = pd.read_parquet(out / "indices.parquet")
    assert len(set(indices["factor"])) == 8
    assert {"churn_rate", "mean_satisfaction", "nps@last12", "share_A", "profit_per_period"} <= set(indices["output"])


def test_ishigami_through_the_sweep_engines_design(tmp_path):
    """The study's own path (experiment → SALib design → runs table → analysis) recovers Ishigami's indices."""
    from SALib.test_functions import Ishigami

    from loyaltysim.analysis.sensitivity import analyse_runs
    from loyaltysim.experiments.spec import Experiment, plan_runs, sample_design

    pi = 3.141592653589793
    experiment = Experiment.model_validate(
        {
            "name": "ishigami",
            "factors": {f"x{i}": {"low": -pi, "high": pi} for i in (1, 2, 3)},
            "design": "sobol",
            "samples": 1024,
            "second_order": False,
            "seed": 3,
        }
    )
    design = sample_design(experiment)
    specs = plan_runs(experiment, design)
    runs = pd.DataFrame([{"run_id": s.run_id, "point_id": s.point_id, "replicate": s.replicate, "status": "ok"} for s in specs])
    runs["y"] = Ishigami.evaluate(design.samples[runs["point_id"]])
    result = analyse_runs(design, runs, outputs=["y"], seed=experiment.seed, convergence=False)
    st = result.indices[result.indices["index"] == "ST"].set_index("factor")["value"]
    s1 = result.indices[result.indices["index"] == "S1"].set_index("factor")["value"]
    assert abs(st - pd.Series({"x1": 0.5576, "x2": 0.4424, "x3": 0.2437})).max() < 0.03
    assert abs(s1 - pd.Series({"x1": 0.3139, "x2": 0.4424, "x3": 0.0})).max() < 0.03
