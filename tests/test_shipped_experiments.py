"""Every shipped experiment runs at a reduced size and produces its hypotheses table and report."""

from __future__ import annotations

import pandas as pd
import pytest

from loyaltysim.config.loading import read_yaml
from loyaltysim.experiments.spec import load_experiment
from loyaltysim.workflows.sweep import sweep

from .conftest import ROOT

pytestmark = pytest.mark.slow

# the experiments that state hypotheses (sensitivity and calibration files have their own tests)
EXPERIMENTS = sorted(p for p in (ROOT / "experiments").glob("*.yaml") if "hypotheses" in read_yaml(p))
REDUCED = {"customers.n": 150, "run.steps": 36, "run.burn_in": 6, "replicates": 2}


def reduced_overrides(path) -> dict:
    """Test-size overrides, plus a short bootstrap for the nonlinear-link tests."""
    overrides = dict(REDUCED)
    for index, spec in enumerate(read_yaml(path).get("hypotheses") or []):
        if spec["test"] == "nonlinear_link":
            overrides[f"hypotheses.{index}.n_boot"] = 9
    return overrides


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_shipped_experiment_runs_and_reports(path, tmp_path):
    out = tmp_path / path.stem
    overrides = reduced_overrides(path)
    results = sweep(path, overrides=overrides, out=out, executor="serial", progress=False)
    experiment = load_experiment(path, overrides)
    assert (results.runs["status"] == "ok").all()
    hypotheses = pd.read_parquet(out / "hypotheses.parquet")
    assert experiment.hypotheses
    assert sorted(hypotheses["hypothesis"].unique()) == list(range(len(experiment.hypotheses)))
    assert hypotheses["verdict"].isin(["supported", "not supported", "inconclusive"]).all()
    text = (out / "report.md").read_text()
    assert f"# Report: {experiment.name}" in text
    for spec in experiment.hypotheses:
        assert spec.get("label", spec["test"]) in text
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {"retention_curves.png", "churn_by_band.png", "market_share.png"} <= set(figures)
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(figures)
    if experiment.report.heatmap or len(experiment.factors) >= 2:
        assert "satisfied_defector_heatmap.png" in figures


def test_quality_shock_word_of_mouth_makes_a_service_failure_cost_more_share(tmp_path):
    """The shipped quality-shock experiment, at its own size: customers of the other firms hear of E's
    failure, so E ends with less share on a small-world network than without word of mouth."""
    path = ROOT / "experiments" / "quality_shock.yaml"
    sweep(path, out=tmp_path / "out", executor="process", workers=2, progress=False)
    hypotheses = pd.read_parquet(tmp_path / "out" / "hypotheses.parquet")
    spread = hypotheses[hypotheses["hypothesis"] == 0]
    assert len(spread) == 2 and (spread["verdict"] == "supported").all()
    assert (spread["effect"] > 0.01).all()  # at least one point of share
