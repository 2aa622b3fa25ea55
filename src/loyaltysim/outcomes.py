"""Example outcomes of your own: functions of a model, named in experiment files as ``module:function``.

An outcome is a function of a :class:`~loyaltysim.model.loyalty_model.LoyaltyModel` returning a number,
or a mapping of numbers (one column each, ``<outcome>_<key>``). Name it in an experiment::

    outcomes:
      false_loyalty: {function: "loyaltysim.outcomes:false_loyalty", per: period}

or pass it to the model: ``LoyaltyModel(config, reporters={"false_loyalty": false_loyalty})``.

Examples
--------
>>> from loyaltysim import LoyaltyModel
>>> model = LoyaltyModel(rng=3, customers__n=300, run__steps=6).run()
>>> sorted(false_loyalty(model))
['A', 'B', 'C', 'D', 'E']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from loyaltysim.model.scales import BAND_EDGES

if TYPE_CHECKING:
    from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["DISSATISFIED_BELOW", "false_loyalty"]

DISSATISFIED_BELOW = BAND_EDGES[2]
"""Satisfaction below which a customer counts as dissatisfied (the two lowest of Kotler's bands: below 0.4)."""


def false_loyalty(model: LoyaltyModel) -> dict[str, float]:
    """Per firm, the share of its dissatisfied customers in the last period who stayed with it (spurious loyalty).

    Customers are those who bought from the firm in the period; dissatisfied means satisfaction below
    :data:`DISSATISFIED_BELOW`. NaN for a firm with no dissatisfied customer, and for every firm before the
    first period (step 0).
    """
    outcome = model.last_outcome
    names = model.market.names
    if outcome is None:
        return dict.fromkeys(names, math.nan)
    dissatisfied = outcome.satisfaction < DISSATISFIED_BELOW
    counts = np.bincount(outcome.firm_before[dissatisfied], minlength=len(names))
    stayed = np.bincount(outcome.firm_before[dissatisfied & ~outcome.switched], minlength=len(names))
    return {name: float(stayed[i] / counts[i]) if counts[i] else math.nan for i, name in enumerate(names)}
