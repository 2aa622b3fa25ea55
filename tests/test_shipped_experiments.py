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
    """Test-size overrides."""
    del path
    return dict(REDUCED)


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


def test_quality_shock_compares_runs_paired_by_seed(tmp_path):
    """The shipped quality-shock experiment (seeds: common) at a reduced size: every comparison pairs runs by
    seed within its cell; without word of mouth, negativity changes nothing, so the paired difference is exactly 0."""
    path = ROOT / "experiments" / "quality_shock.yaml"
    overrides = {"customers.n": 200, "run.steps": 36, "replicates": 3}
    sweep(path, overrides=overrides, out=tmp_path / "out", executor="serial", progress=False)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert (runs.groupby("replicate")["seed"].nunique() == 1).all()
    hypotheses = pd.read_parquet(tmp_path / "out" / "hypotheses.parquet")
    assert hypotheses["note"].str.contains("paired by seed").all()
    assert (hypotheses["p_adjusted"] >= hypotheses["p_value"]).all()
    silent = hypotheses[(hypotheses["hypothesis"] == 1) & (hypotheses["cell"] == "network.type=none")].iloc[0]
    assert silent["effect"] == 0.0 and silent["verdict"] == "not supported"
