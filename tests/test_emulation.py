"""Sobol' indices from an emulator of a study's outputs, next to a direct Sobol' study of the same file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loyaltysim import ConfigError
from loyaltysim.workflows.emulation import emulate_study
from loyaltysim.workflows.sensitivity import run_study

from .conftest import CONFIGS

pytestmark = pytest.mark.slow


def study(folder: Path, **factors: dict) -> Path:
    """A two-factor Sobol' study of churn and satisfaction on a tiny market."""
    spec = {
        "name": "tiny_study",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": {"customers.n": 100, "run.steps": 14, "run.burn_in": 2, "run.panel_size": 0},
        "factors": factors
        or {
            "switching.variety_seeking": {"low": 0.0, "high": 0.03},
            "satisfaction.neutral_performance": {"low": 0.3, "high": 0.7},
        },
        "design": "sobol",
        "samples": 8,
        "second_order": False,
        "replicates": 1,
        "seed": 4,
        "sensitivity": {"outputs": ["churn_rate", "mean_satisfaction"], "num_resamples": 50},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_emulated_indices_are_validated_and_compared_with_the_direct_study(tmp_path):
    path = study(tmp_path)
    run_study(path, out=tmp_path / "direct", executor="serial", progress=False, figures=False)
    found = emulate_study(
        path,
        points=24,
        samples=64,
        draws=10,
        direct=tmp_path / "direct",
        out=tmp_path / "emulated",
        executor="serial",
        progress=False,
    )
    assert list(found.validation["output"]) == ["churn_rate", "mean_satisfaction"]
    assert (found.validation["held_out"] == 5).all()  # 20% of 24 points
    assert {p.name for p in found.folder.iterdir()} >= {
        "runs.parquet",
        "emulator_validation.csv",
        "emulated_indices.parquet",
        "comparison.csv",
    }
    assert set(found.indices["index"]) == {"S1", "ST"} and len(found.indices) == 2 * 2 * 2
    assert (found.indices["emulator_low"] <= found.indices["emulator_high"]).all()
    assert len(found.comparison) == 8 and found.comparison["agree"].dtype == bool
    # satisfaction is driven by the neutral point, not by variety seeking: both routes rank it first
    st = found.comparison.query("output == 'mean_satisfaction' and index == 'ST'").set_index("factor")
    assert st.loc["satisfaction.neutral_performance", "value_emulated"] > st.loc["switching.variety_seeking", "value_emulated"]
    assert st.loc["satisfaction.neutral_performance", "value_direct"] > st.loc["switching.variety_seeking", "value_direct"]


def test_an_emulator_refuses_factors_that_are_not_plain_ranges(tmp_path):
    path = study(tmp_path, **{"switching.variety_seeking": {"low": 0.001, "high": 0.03, "log": True}})
    with pytest.raises(ConfigError, match=r"factors\.switching\.variety_seeking: an emulator needs plain uniform ranges"):
        emulate_study(path, out=tmp_path / "out", executor="serial")
