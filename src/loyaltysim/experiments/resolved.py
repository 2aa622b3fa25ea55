"""A results folder that reruns itself: the resolved experiment (base scenario inlined) and what changed since.

``experiment.resolved.yaml`` holds every key of the experiment with the base scenario resolved (``extends``
followed, ``overrides`` applied, defaults filled in) and inlined, so ``loyaltysim sweep
results/X/experiment.resolved.yaml`` reruns the sweep identically even after the original files changed.
:func:`changes` names what differs between two of them (for ``--resume`` when it refuses).

Examples
--------
>>> changes({"replicates": 3, "scenario": {"customers": {"n": 100}}}, {"replicates": 5, "scenario": {"customers": {"n": 100}}})
['replicates: 3 → 5']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loyaltysim.experiments.spec import Experiment

__all__ = ["RESOLVED_FILE", "changes", "resolved_experiment"]

RESOLVED_FILE = "experiment.resolved.yaml"


def resolved_experiment(experiment: Experiment) -> dict[str, Any]:
    """Every key of ``experiment``, with its base scenario (overrides applied) inlined as ``scenario``."""
    data = experiment.model_dump(mode="json", exclude_defaults=False)
    data.update(base=None, scenario=experiment.base_config().to_dict(), overrides={})
    return data


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping) and data:
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flat(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: data}


def changes(old: Mapping[str, Any], new: Mapping[str, Any], *, limit: int = 8) -> list[str]:
    """What differs between two resolved experiments, one ``path: old → new`` line per key (at most ``limit``)."""
    a, b = _flat(old), _flat(new)
    keys = sorted(key for key in a.keys() | b.keys() if a.get(key) != b.get(key))
    lines = [f"{key}: {a.get(key, '(absent)')} → {b.get(key, '(absent)')}" for key in keys]
    return lines[:limit] + ([f"… and {len(lines) - limit} more"] if len(lines) > limit else [])
