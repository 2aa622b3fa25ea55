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


SWITCHES = {
    "no word of mouth": {"word_of_mouth.enabled": False},
    "loud word of mouth": {"word_of_mouth.talk_rate": 1.0, "word_of_mouth.reach": 0.9, "word_of_mouth.influence": 0.6},
    "loyalty programme": {"firms.0.loyalty_programme.enabled": True, "firms.3.loyalty_programme.enabled": True},
    "service recovery": {"firms.1.service_recovery.enabled": True, "firms.4.service_recovery.enabled": True},
    "adaptive firms": {"strategy.kind": "adaptive_quality", "strategy.satisfaction_target": 0.8},
    "one adaptive firm": {"firms.2.strategy": {"kind": "adaptive_quality", "satisfaction_target": 0.9, "adjustment": 0.05}},
    "market entry": {"firms.2.enters_at": 15, "firms.4.enters_at": 30},
    "quality shocks": {"firms.1.quality_shock": {"at": 10, "change": -0.4}, "firms.4.quality_shock": {"at": 20, "change": 0.5}},
    "segments": {
        "customers.segments": [
            {"name": "hunters", "share": 0.3, "price_sensitivity": 0.9, "switching_cost": 0.5},
            {"name": "fans", "share": 0.2, "talkativeness": 3.0, "initial_expectation": 0.8},
        ]
    },
    "variety seeking": {"switching.variety_seeking": 0.3},
    "no variety seeking, noisy choice": {"switching.variety_seeking": 0.0, "switching.choice_noise": 2.5},
    "daily periods, odd exponents": {
        "run.period": "day",
        "word_of_mouth.extremity": 0.7,
        "observation.recommend_curvature": 1.0,
        "loyalty.link": "concave",
        "loyalty.concavity": 2.0,
    },
    "everything": {
        "firms.0.loyalty_programme.enabled": True,
        "firms.1.service_recovery.enabled": True,
        "strategy.kind": "adaptive_quality",
        "firms.2.enters_at": 10,
        "switching.variety_seeking": 0.05,
        "customers.fit": 0.0,
        "loyalty.link": "zone_of_tolerance",
    },
}
"""Feature switches over the baseline (dotted overrides): the docking tests and the ODD oracle run each."""


@pytest.fixture
def small() -> Config:
    return small_config()
