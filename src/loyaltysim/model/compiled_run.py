"""A run's periods in one compiled call: the period kernel, then what Python did between periods.

:meth:`LoyaltyModel.run <loyaltysim.model.loyalty_model.LoyaltyModel.run>` steps a model through
:func:`run_periods` when nothing needs Python between its periods (:func:`eligible`): each period,
compiled code applies the scheduled quality shocks, marks the firms in the market, calls the period
kernel (:func:`loyaltysim.model.kernels.period`, the same call ``model.step()`` makes), starts the next
period's relationships, records the period's outcome into preallocated arrays
(:class:`~loyaltysim.model.metrics.PeriodRecords`) and records the survey cohort
(:func:`~loyaltysim.model.cohort.record_period`). The tables, the run totals and Mesa's DataCollector
are then filled from the records by the code that fills them after ``model.step()``, so a run gives
the same numbers bit for bit either way.

Where Python must act between periods, the model steps period by period instead: firms with an
adaptive strategy (a ``Firm.step`` of their own), agents added to the model, a subclass with its own
``step``, model reporters of your own, a customer panel, the firms' practices (win-back, targeting,
stickiness: :mod:`loyaltysim.model.practices`), and markets from ``kernels.PARALLEL_FROM``
customers (whose periods run the parallel kernel, where Python's share of a period is small).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loyaltysim.model import engine, kernels
from loyaltysim.model.agents import Firm
from loyaltysim.model.cohort import record_period
from loyaltysim.model.jit import compiled
from loyaltysim.model.metrics import PeriodRecords

if TYPE_CHECKING:
    from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["eligible", "run_periods"]

Arrays = tuple[np.ndarray, ...]


def _run(
    generators: kernels.Generators,
    layout: tuple[int, ...],
    customers: Arrays,
    firms: Arrays,
    values: np.ndarray,
    network: tuple[np.ndarray, np.ndarray],
    work: Arrays,
    first_step: int,
    firm_before: np.ndarray,
    records: Arrays,
    cohort: Arrays,
) -> None:
    """Periods ``first_step`` … ``first_step + T − 1`` (T: the records' length), each as ``engine.advance``
    and ``LoyaltyModel.step`` do it: shocks, the period kernel, the customers' new firms, the records, the cohort."""
    state = kernels.Customers(*customers)
    market = kernels.Firms(*firms)
    period = kernels.Period(*work)
    (
        counts,
        means,
        messages,
        purchases,
        won,
        lost,
        revenue,
        costs,
        by_firm,
        quality,
        price,
        unit_cost,
        review_sum,
        review_count,
    ) = records
    n, k = len(state.firm), len(market.quality)
    for t in range(len(counts)):
        step = first_step + t
        for j in range(k):
            if market.shock_at[j] == step:  # Market.apply_shocks
                market.quality[j] = min(max(market.quality[j] + market.shock_change[j], 0.0), 1.0)
            period.active[j] = market.enters_at[j] <= step
            for row in range(4):
                period.firm_tallies[row, j] = 0
        for row in range(period.counts.shape[0]):
            period.counts[row, 0] = 0
            period.counts[row, 1] = 0
        for part in range(period.messages.shape[0]):
            period.messages[part, 0] = 0
            period.messages[part, 1] = 0
        kernels.period(generators, layout, customers, firms, values, network, work)
        for i in range(n):
            firm_before[i] = state.firm[i]
            state.firm[i] = period.new_firm[i]
        for row in range(period.counts.shape[0]):  # loops, not array expressions: numba compiles these far faster
            counts[t, row, 0] = period.counts[row, 0]
            counts[t, row, 1] = period.counts[row, 1]
        for column in range(4):
            means[t, column] = period.means[column]
        for part in range(period.messages.shape[0]):
            messages[t, 0] += period.messages[part, 0]
            messages[t, 1] += period.messages[part, 1]
        for j in range(k):
            purchases[t, j] = period.firm_tallies[0, j]
            won[t, j] = period.firm_tallies[1, j]
            lost[t, j] = period.firm_tallies[2, j]
            revenue[t, j] = period.firm_accounts[0, j]
            costs[t, j] = period.firm_accounts[1, j]
            by_firm[t, j] = period.firm_accounts[2, j]
            quality[t, j] = market.quality[j]
            price[t, j] = market.price[j]
            unit_cost[t, j] = market.unit_cost[j]
            review_sum[t, j] = market.review_sum[j]
            review_count[t, j] = market.review_count[j]
        record_period(step, period.rating, period.satisfaction, period.switched, state.response_bias, cohort)


_run = compiled(_run)


def eligible(model: LoyaltyModel) -> bool:
    """Whether ``model``'s periods can run in compiled code: nothing of Python acts between them (see the module)."""
    from loyaltysim.model.loyalty_model import LoyaltyModel

    return (
        type(model).step is LoyaltyModel.step
        and model.state.n < kernels.PARALLEL_FROM
        and model.panel_ids is None
        and model.practices is None
        and not model.user_reporters
        and len(model.agents) == len(model.firm_agents)
        and all(type(firm).step is Firm.step for firm in model.firm_agents)
    )


def run_periods(model: LoyaltyModel, periods: int) -> PeriodRecords:
    """Advance ``model``'s market by ``periods`` periods in one compiled call (after :func:`eligible`); returns
    their records. The customers' state, the firms' quality and the cohort are updated in place; the caller
    turns the records into tables and advances ``model.steps``."""
    state, market, config = model.state, model.market, model.config
    first = model.steps + 1
    draws, period = engine.period_work(state, market, config, model.network, model.streams, first, periods)
    records = PeriodRecords.empty(first, periods, market.k)
    firm_before = np.empty_like(state.firm)
    _run(
        model.streams.typed(),
        tuple(draws),
        state.arrays(),
        market.arrays(),
        engine.parameter_values(state, config),
        (model.network.indptr, model.network.indices),
        tuple(period),
        first,
        firm_before,
        (
            records.counts,
            records.means,
            records.messages,
            records.purchases,
            records.won,
            records.lost,
            records.revenue,
            records.costs,
            records.satisfaction_by_firm,
            records.quality,
            records.price,
            records.unit_cost,
            records.review_sum,
            records.review_count,
        ),
        model.cohort.arrays(state.n),
    )
    model.last_outcome = engine.outcome(period, firm_before)
    return records
