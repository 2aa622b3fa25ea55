"""Names in figures and reports, from the experiment file: ``label:`` of factors and outcomes, ``levels:`` of a
factor's values, ``labels:`` of metrics; values formatted for reading (0.300 → 0.3, true → yes).

Examples
--------
>>> names = Labels.from_experiment({"factors": {"firms.0.loyalty_programme.enabled": {"values": [False, True],
...     "label": "Loyalty programme", "levels": {"false": "none", "true": "offered"}}}})
>>> names.condition("firms.0.loyalty_programme.enabled", False), names.condition("customers.n", 2000.0)
('Loyalty programme: none', 'customers.n: 2000')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Labels", "format_value"]


def format_value(value: Any) -> str:
    """A value as a reader wants it: 3 significant digits, whole numbers without a decimal point, yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.3g}"
    return str(value)


def _level_key(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else format_value(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Labels:
    """The names the experiment gives its factors, their values and its metrics (raw names otherwise)."""

    factors: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    metrics: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_experiment(cls, experiment: Mapping[str, Any]) -> Labels:
        """From an experiment's mapping (as the manifest records it)."""
        factors = experiment.get("factors") or {}
        metrics = dict(experiment.get("labels") or {})
        metrics.update({name: o["label"] for name, o in (experiment.get("outcomes") or {}).items() if o.get("label")})
        return cls(
            factors={name: spec["label"] for name, spec in factors.items() if isinstance(spec, Mapping) and spec.get("label")},
            levels={name: spec["levels"] for name, spec in factors.items() if isinstance(spec, Mapping) and spec.get("levels")},
            metrics=metrics,
        )

    def factor(self, name: str) -> str:
        return self.factors.get(name, name)

    def metric(self, name: str) -> str:
        return self.metrics.get(name, name)

    def level(self, name: str, value: Any) -> str:
        levels = self.levels.get(name, {})
        for key in (_level_key(value), str(value)):
            if key in levels:
                return levels[key]
        return format_value(value)

    def condition(self, name: str, value: Any) -> str:
        """One factor's part of a condition label: ``Label: level``."""
        return f"{self.factor(name)}: {self.level(name, value)}"
