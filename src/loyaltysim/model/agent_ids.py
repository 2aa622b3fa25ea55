"""Mesa's agent-id counters without keeping every model alive.

Mesa 3.3 numbers each model's agents from a counter kept in ``mesa.Agent._ids``, a class-level
``defaultdict`` keyed by the model: every model ever built stays in memory with its customers' arrays
(mesa issue #3179, fixed upstream after 3.3.1). A sweep worker built thousands of models and grew by
about 0.7 MB a run of 1,000 customers, its garbage collector walking ever more objects. :func:`release_models`
swaps the counters for the same counters held by weak reference, so a model is freed once nothing else
holds it; agents are numbered exactly as before.
"""

from __future__ import annotations

import itertools
import weakref
from collections import defaultdict

import mesa

__all__ = ["AgentCounters", "release_models"]


class AgentCounters(weakref.WeakKeyDictionary):
    """Model → its agent-id counter (starting at 1, as Mesa's), dropped with the model."""

    def __getitem__(self, model: mesa.Model) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


def release_models() -> None:
    """Replace Mesa's counters (if they are still the ``defaultdict`` that holds models) by :class:`AgentCounters`,
    keeping the counters of models alive now."""
    counters = getattr(mesa.Agent, "_ids", None)
    if isinstance(counters, defaultdict):
        weak = AgentCounters()
        weak.update(counters)
        mesa.Agent._ids = weak
