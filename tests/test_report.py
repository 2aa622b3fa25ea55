"""The sweep report: blocks, markdown, self-contained HTML and figures, from synthetic sweep tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyaltysim import ConfigError
from loyaltysim.analysis import hypotheses
from loyaltysim.cli import main
from loyaltysim.experiments.spec import load_experiment
from loyaltysim.reporting import sweep_report
from loyaltysim.reporting.render import Figure, to_markdown, write_report
from loyaltysim.workflows.sweep import load_checked, sweep

from .conftest import ROOT
from .test_hypotheses import runs_table, synthetic_curves


def sweep_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    runs = runs_table({"customers.switching_cost.mean": [1.0, 9.0], "switching.variety_seeking": [0.0, 0.01]}, 3)
    rng = np.random.default_rng(0)
    runs["satisfied_defector_share"] = np.where(runs["customers.switching_cost.mean"] == 1.0, 0.7, 0.3) + rng.normal(0, 0.02, 12)
    runs["mean_satisfaction"] = 0.7
    runs["churn_rate"] = 0.01
    curves = synthetic_curves(lambda s, run: 2.0 + 5.0 * s, runs, per_run=5000)
    timeseries = pd.DataFrame(
        [
            {"run_id": r, "step": t, "market_share_A": 0.4 + 0.002 * t, "market_share_B": 0.6 - 0.002 * t}
            for r in runs["run_id"]
            for t in range(0, 25, 6)
        ]
    )
    specs = [{"test": "satisfaction_trap", "label": "most defectors were satisfied"}]
    manifest = {
        "name": "demo",
        "description": "A demo.",
        "experiment": {
            "design": "grid",
            "factors": {c: {"values": sorted(runs[c].unique())} for c in runs if "." in c},
            "hypotheses": specs,
        },
        "counts": {"points": 4, "replicates": 3, "runs": 12},
        "seed": 7,
        "versions": {"loyaltysim": "0.1.0"},
    }
    return runs, curves, timeseries, manifest


def test_report_has_design_verdicts_and_embedded_figures(tmp_path):
    runs, curves, timeseries, manifest = sweep_tables()
    results = hypotheses.evaluate(manifest["experiment"]["hypotheses"], runs, curves)
    blocks = sweep_report.build_report(runs, curves, timeseries, manifest, results)
    paths = write_report(blocks, tmp_path)
    text = paths["markdown"].read_text()
    assert "4 point(s) × 3 replicate(s) = 12 runs (12 finished, 0 failed)" in text
    assert "### most defectors were satisfied (satisfaction_trap)" in text
    assert "| `customers.switching_cost.mean` | 1, 9 |" in text  # values formatted for reading
    assert "| customers.switching_cost.mean=1, switching.variety_seeking=0 | supported |" in text
    assert "| customers.switching_cost.mean=9, switching.variety_seeking=0 | not supported |" in text
    names = {"satisfied_defector_heatmap.png", "retention_curves.png", "churn_by_band.png", "market_share.png"}
    for name in names:
        assert f"(figures/{name})" in text
        assert paths[name].read_bytes()[:4] == b"\x89PNG"
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 4 and "figures/" not in page
    assert "<h3>most defectors were satisfied (satisfaction_trap)</h3>" in page


def test_report_without_hypotheses_or_shares(tmp_path):
    runs, curves, _, manifest = sweep_tables()
    blocks = sweep_report.build_report(runs, curves, pd.DataFrame(), manifest, pd.DataFrame())
    text = to_markdown(blocks)
    assert "The experiment declares no hypotheses." in text and "market_share.png" not in text
    assert [b.name for b in blocks if isinstance(b, Figure)] == [
        "satisfied_defector_heatmap.png",
        "retention_curves.png",
        "churn_by_band.png",
    ]


TINY = """
name: tiny
base: BASE
overrides: {customers.n: 120, run.steps: 24, run.burn_in: 4, run.panel_size: 0}
factors:
  customers.switching_cost.mean: [1.0, 8.0]
replicates: 4
seed: 3
hypotheses:
  - test: difference
    label: switching costs cut churn
    metric: churn_rate
    factor: customers.switching_cost.mean
    a: 1.0
    b: 8.0
    direction: less
"""


def tiny_experiment(tmp_path, text: str = TINY):
    path = tmp_path / "tiny.yaml"
    path.write_text(text.replace("BASE", str(ROOT / "configs" / "baseline.yaml")))
    return path


def test_sweep_reports_and_cli_rewrites_the_report(tmp_path, capsys):
    out = tmp_path / "out"
    sweep(tiny_experiment(tmp_path), out=out, executor="serial", progress=False, report=False)
    assert not (out / "report.md").exists()
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert {f"market_share_{firm}" for firm in "ABCDE"} <= set(timeseries.columns)
    shares = timeseries[[f"market_share_{firm}" for firm in "ABCDE"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    assert main(["report", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    table = pd.read_parquet(out / "hypotheses.parquet")
    assert list(table["label"]) == ["switching costs cut churn"] and table["verdict"].iloc[0] == "supported"
    assert "### switching costs cut churn (difference)" in (out / "report.md").read_text()


def test_report_of_a_folder_that_is_no_sweep_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a sweep results folder" in capsys.readouterr().err


def test_bad_hypothesis_is_refused_at_load_with_its_path(tmp_path):
    text = TINY.replace("    direction: less\n", "    direction: less\n    min_efect: 0.1\n")
    with pytest.raises(ConfigError, match=r"hypotheses\.0\.min_efect: unknown option of test 'difference'"):
        load_checked(tiny_experiment(tmp_path, text))
    text = TINY + "report: {heatmap: [customers.fit, customers.switching_cost.mean]}\n"
    with pytest.raises(ConfigError, match=r"report\.heatmap: 'customers\.fit' is not a factor"):
        load_experiment(tiny_experiment(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("metric: churn_rate", "metric: churn_rat", "hypotheses.0.metric: unknown metric 'churn_rat'"),
        ("b: 8.0", "b: 7.0", "hypotheses.0.b: 7.0 is not a value of customers.switching_cost.mean"),
        ("direction: less", "direction: lower", "hypotheses.0.direction: 'lower' is not allowed"),
    ],
)
def test_a_bad_hypothesis_option_stops_the_sweep_before_any_run(tmp_path, capsys, old, new, message):
    """Exit 2 with the key path, and no results folder."""
    assert old in TINY
    out = tmp_path / "out"
    assert main(["sweep", str(tiny_experiment(tmp_path, TINY.replace(old, new))), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_report_of_a_sampled_design_leaves_out_the_per_condition_figures(tmp_path):
    rng = np.random.default_rng(4)
    runs = pd.DataFrame({"run_id": np.arange(20), "status": "ok", "x.a": rng.uniform(0, 1, 20), "x.b": rng.uniform(0, 1, 20)})
    runs["satisfied_defector_share"] = 0.4
    curves = synthetic_curves(lambda s, run: 2.0 + 5.0 * s, runs, per_run=2000)
    blocks = sweep_report.build_report(runs, curves, pd.DataFrame(), {"name": "sampled"}, pd.DataFrame())
    assert not [b for b in blocks if isinstance(b, Figure)]
    assert "20 conditions: the curve figures are left out" in to_markdown(blocks)


def test_condition_labels_without_factors_are_categorical():
    import pandas as pd

    from loyaltysim.analysis.summaries import condition_labels, share_trajectories

    runs = pd.DataFrame({"run_id": [0, 1], "point_id": [0, 0], "replicate": [0, 1], "seed": [5, 6], "status": ["ok", "ok"]})
    labels = condition_labels(runs)
    assert isinstance(labels.dtype, pd.CategoricalDtype) and list(labels) == ["all runs", "all runs"]
    timeseries = pd.DataFrame({"run_id": [0, 0, 1, 1], "step": [1, 2, 1, 2], "market_share_A": [0.4, 0.5, 0.6, 0.7]})
    shares = share_trajectories(runs, timeseries)
    assert shares["share"].round(6).tolist() == [0.5, 0.6]
