"""Scenario discovery: PRIM finds a known box in synthetic sweep results; bad conditions are exit 2."""

import json

import numpy as np
import pandas as pd
import pytest

from loyaltysim import ConfigError
from loyaltysim.analysis.discovery import discover, factor_columns
from loyaltysim.cli import main


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    """2,000 runs; the trap (share > 0.6) occurs exactly when switching cost < 0.3 and wom strength > 0.5."""
    rng = np.random.default_rng(11)
    n = 2000
    table = pd.DataFrame(
        {
            "run_id": np.arange(n),
            "customers.switching_cost.mean": rng.uniform(0, 1, n),
            "word_of_mouth.strength": rng.uniform(0, 1, n),
            "loyalty.threshold": rng.uniform(0.2, 0.8, n),
            "status": "ok",
        }
    )
    trap = (table["customers.switching_cost.mean"] < 0.3) & (table["word_of_mouth.strength"] > 0.5)
    table["satisfied_defector_share"] = np.where(trap, 0.75, 0.35) + rng.normal(0, 0.04, n)
    table["churn_rate"] = rng.uniform(0, 0.1, n)
    return table


@pytest.mark.slow
def test_prim_finds_the_known_box(runs):
    assert factor_columns(runs) == ["customers.switching_cost.mean", "word_of_mouth.strength", "loyalty.threshold"]
    result = discover(runs, "satisfied_defector_share > 0.6", min_density=0.95)
    box = result.box.set_index("factor")
    assert set(box.index) == {"customers.switching_cost.mean", "word_of_mouth.strength"}  # the irrelevant factor is free
    assert box.loc["customers.switching_cost.mean", "high"] == pytest.approx(0.3, abs=0.03)
    assert box.loc["customers.switching_cost.mean", "low"] == box.loc["customers.switching_cost.mean", "full_low"]
    assert box.loc["word_of_mouth.strength", "low"] == pytest.approx(0.5, abs=0.03)
    assert result.coverage > 0.9 and result.density >= 0.95
    inside = runs["customers.switching_cost.mean"].between(*box.loc["customers.switching_cost.mean", ["low", "high"]]) & runs[
        "word_of_mouth.strength"
    ].between(*box.loc["word_of_mouth.strength", ["low", "high"]])
    hits = runs["satisfied_defector_share"] > 0.6
    assert result.density == pytest.approx(hits[inside].mean())  # density and coverage mean what they say
    assert result.coverage == pytest.approx(inside[hits].mean())
    assert result.cases == hits.sum() and result.runs == len(runs)
    assert len(result.trajectory) > 5 and result.trajectory.loc[0, "coverage"] == 1.0


def test_bad_conditions_are_config_errors(runs):
    with pytest.raises(ConfigError, match="unknown column 'satisfied_defector_shar' \\(did you mean 'satisfied_defector_share'"):
        discover(runs, "satisfied_defector_shar > 0.6")
    with pytest.raises(ConfigError, match="expected a condition"):
        discover(runs, "churn_rate * 2")
    with pytest.raises(ConfigError, match="0 of 2000 runs meet"):
        discover(runs, "churn_rate > 5")
    with pytest.raises(ConfigError, match=r"--factors: unknown column 'loyalty\.treshold'"):
        discover(runs, "churn_rate > 0.05", factors=["loyalty.treshold"])


@pytest.mark.slow
def test_cli_writes_box_and_figure(tmp_path, runs, capsys):
    runs.to_parquet(tmp_path / "runs.parquet")
    assert main(["discover", str(tmp_path), "--where", "satisfied_defector_share > 0.6", "--min-density", "0.95"]) == 0
    printed = capsys.readouterr().out
    assert "customers.switching_cost.mean in [" in printed and "coverage" in printed
    out = tmp_path / "discovery"
    written = {"box.parquet", "trajectory.parquet", "discovery.json", "discovery.md", "discovery.html", "figures"}
    assert {p.name for p in out.iterdir()} == written
    assert (out / "figures" / "peeling.png").stat().st_size > 10_000
    summary = json.loads((out / "discovery.json").read_text())
    assert summary["where"] == "satisfied_defector_share > 0.6" and summary["density"] >= 0.95
    text = (out / "discovery.md").read_text()
    assert text.startswith("# Scenario discovery (PRIM)") and "| `word_of_mouth.strength` |" in text
    assert "](figures/peeling.png)" in text
    page = (out / "discovery.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "<code>word_of_mouth.strength</code>" in page


def test_cli_bad_condition_exits_2_and_writes_nothing(tmp_path, runs, capsys):
    runs.to_parquet(tmp_path / "runs.parquet")
    assert main(["discover", str(tmp_path), "--where", "nps > 0"]) == 2
    assert "unknown column 'nps'" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["runs.parquet"]
    assert main(["discover", str(tmp_path / "missing"), "--where", "churn_rate > 0"]) == 2
    assert "no runs.parquet" in capsys.readouterr().err


def test_insignificant_restrictions_are_dropped_by_default():
    """A small, noisy sample: PRIM restricts by chance; by default every kept restriction has quasi-p ≤ 0.05,
    the dropped ones are listed with their quasi-p, and coverage and density are those of the pruned box."""
    rng = np.random.default_rng(5)
    n = 120
    table = pd.DataFrame({f"x.f{i}": rng.uniform(0, 1, n) for i in range(4)} | {"run_id": np.arange(n), "status": "ok"})
    table["y"] = (table["x.f0"] < 0.5) & (rng.uniform(0, 1, n) < 0.8)
    kept = discover(table, "y", min_density=0.99, max_qp=None)
    pruned = discover(table, "y", min_density=0.99)
    assert (pruned.box[["qp_low", "qp_high"]].min(axis=1) <= 0.05).all()
    assert len(pruned.box) + len(pruned.dropped) == len(kept.box)
    assert (pruned.dropped["qp"] > 0.05).all() and len(pruned.dropped) >= 1
    assert list(pruned.box["factor"]) == ["x.f0"]  # the one factor that matters
    inside = np.ones(n, dtype=bool)
    for row in pruned.box.itertuples():
        inside &= table[row.factor].between(row.low, row.high).to_numpy()
    assert pruned.density == pytest.approx(table.loc[inside, "y"].mean())
