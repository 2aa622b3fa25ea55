"""Shared fixtures: small, fast scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyaltysim import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def small_config(**overrides: object) -> Config:
    """The baseline scenario at test size (300 customers, 40 periods), plus dotted overrides."""
    values = {"customers.n": 300, "run.steps": 40, "run.burn_in": 5, "run.panel_size": 0}
    values.update({key.replace("__", "."): value for key, value in overrides.items()})
    return load_config(CONFIGS / "baseline.yaml", values)


@pytest.fixture
def small() -> Config:
    return small_config()
