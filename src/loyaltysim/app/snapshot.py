"""What the app's views show, frozen after each step: the views never read the model while it steps.

:class:`Recorder` keeps, per period, the few numbers the views need; after every step
:meth:`Recorder.snapshot` builds one immutable :class:`Snapshot`, which the model
publishes with a single attribute assignment. A view (or several browser tabs, or
the Play thread) reads whichever snapshot is current: a consistent picture of one period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from loyaltysim.config.schema import Config
from loyaltysim.model.loyalty_model import LoyaltyModel
from loyaltysim.model.scales import N_BANDS, SATISFIED_BANDS

__all__ = ["PRACTICE_NUMBERS", "SMOOTHING", "Event", "Recorder", "Snapshot", "events_of"]

PRACTICE_NUMBERS = (
    "win_back_contacts",
    "win_backs",
    "targeted",
    "targeted_retention",
    "untargeted_retention",
    "purchase_frequency",
    "share_of_wallet",
)
"""The firm practices' market columns the headline shows when the practice is on."""
SMOOTHING = 12
"""Periods pooled for the smoothed headline numbers (a year of months)."""

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Event:
    """A scheduled change in the market: a firm's quality shock or its entry."""

    step: int
    firm: str
    kind: str  # "shock" or "entry"
    change: float = 0.0


def events_of(config: Config) -> tuple[Event, ...]:
    """The quality shocks and market entries of a scenario, by step."""
    events = []
    for firm in config.firms:
        if firm.enters_at > 0:
            events.append(Event(firm.enters_at, firm.name, "entry"))
        shock = firm.quality_shock
        if shock.at is not None and shock.change != 0:
            events.append(Event(int(shock.at), firm.name, "shock", float(shock.change)))
    return tuple(sorted(events, key=lambda e: (e.step, e.firm)))


@dataclass(frozen=True)
class Snapshot:
    """The state of a teaching run after ``step`` periods (arrays have one row per period so far)."""

    step: int
    steps: int
    names: tuple[str, ...]
    events: tuple[Event, ...]
    periods: I64
    share: F64
    """(periods, firms) market share after each period."""
    firm_satisfaction: F64
    """(periods, firms) mean satisfaction of each firm's customers (NaN where it had none)."""
    mean_satisfaction: F64
    customers: I64
    switchers: I64
    satisfied_switchers: I64
    band_customers: I64
    """(bands,) customer-periods per satisfaction band, pooled so far."""
    band_switchers: I64
    satisfaction: F64 | None = None
    """This period's customers (None before the first step)."""
    loyalty: F64 | None = None
    switched: NDArray[np.bool_] | None = None
    talked: NDArray[np.bool_] | None = None
    firm: NDArray[np.int32] | None = field(default=None)
    """Each customer's firm after this period."""
    practices: dict[str, float] = field(default_factory=dict)
    """This period's numbers of the firm practices switched on (:data:`PRACTICE_NUMBERS`; ODD 7.17)."""

    def recent(self, values: I64, periods: int = SMOOTHING) -> int:
        """The sum of ``values`` over the last ``periods`` periods."""
        return int(values[-periods:].sum())


def _talked(model: LoyaltyModel) -> NDArray[np.bool_]:
    """Customers who passed word of mouth to at least one neighbour this period (the engine's message counts)."""
    sent = model.state.scratch.get("sent")
    return np.zeros(model.state.n, dtype=bool) if sent is None or len(sent) != model.state.n else sent > 0


class Recorder:
    """Collects what the views need, period by period, from one model."""

    def __init__(self, model: LoyaltyModel) -> None:
        self.names = tuple(str(name) for name in model.market.names)
        self.events = events_of(model.config)
        self.steps = model.config.run.steps
        self.rows: list[tuple] = []
        self.band_customers = np.zeros(N_BANDS, dtype=np.int64)
        self.band_switchers = np.zeros(N_BANDS, dtype=np.int64)

    def record(self, model: LoyaltyModel) -> Snapshot:
        """Add the period the model just stepped; return the snapshot after it."""
        outcome = model.last_outcome
        customers, switchers = outcome.counts[:N_BANDS].T
        self.band_customers = self.band_customers + customers
        self.band_switchers = self.band_switchers + switchers
        latest = model.latest
        after = np.array([row["customers"] for row in model.last_firm_rows])  # with the customers won back
        self.rows.append(
            (
                model.steps,
                after / max(int(after.sum()), 1),
                np.where(outcome.purchases > 0, outcome.satisfaction_by_firm, np.nan),
                latest["mean_satisfaction"],
                int(latest["customers"]),
                int(latest["switchers"]),
                int(switchers[list(SATISFIED_BANDS)].sum()),
            )
        )
        return self.snapshot(model)

    def snapshot(self, model: LoyaltyModel) -> Snapshot:
        """The snapshot of everything recorded so far (and of the model's customers now)."""
        k = len(self.names)
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * 7
        outcome = model.last_outcome
        return Snapshot(
            step=model.steps,
            steps=self.steps,
            names=self.names,
            events=self.events,
            periods=np.array(columns[0], dtype=np.int64),
            share=np.array(columns[1], dtype=np.float64).reshape(-1, k),
            firm_satisfaction=np.array(columns[2], dtype=np.float64).reshape(-1, k),
            mean_satisfaction=np.array(columns[3], dtype=np.float64),
            customers=np.array(columns[4], dtype=np.int64),
            switchers=np.array(columns[5], dtype=np.int64),
            satisfied_switchers=np.array(columns[6], dtype=np.int64),
            band_customers=self.band_customers.copy(),
            band_switchers=self.band_switchers.copy(),
            satisfaction=None if outcome is None else outcome.satisfaction.copy(),
            loyalty=None if outcome is None else outcome.loyalty.copy(),
            switched=None if outcome is None else outcome.switched.copy(),
            talked=None if outcome is None else _talked(model),
            firm=model.state.firm.copy(),
            practices={key: model.latest[key] for key in PRACTICE_NUMBERS if key in model.latest},
        )
