"""Mesa agents: firms, and a readable view of one customer.

Customers live in arrays (see :mod:`loyaltysim.model.state`); a
:class:`CustomerView` reads one row so a student can inspect a customer as an
object. Firms are few, so they are real :class:`mesa.Agent` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["CustomerView", "Firm"]


class Firm(mesa.Agent):
    """A firm of the market. Its parameters live in the model's market arrays at ``index``."""

    def __init__(self, model: LoyaltyModel, index: int, name: str) -> None:
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def quality(self) -> float:
        """Mean delivered performance now (adaptive firms change it)."""
        return float(self.model.market.quality[self.index])

    @property
    def price(self) -> float:
        """Price per purchase."""
        return float(self.model.market.price[self.index])

    @property
    def customers(self) -> int:
        """Customers buying from this firm next period."""
        return int((self.model.state.firm == self.index).sum())

    @property
    def share(self) -> float:
        """Market share (customers / all customers)."""
        return self.customers / self.model.state.n

    @property
    def profit(self) -> float:
        """Profit in the last period (0 before the first)."""
        last = self.model.last_firm_rows
        return float(last[self.index]["profit"]) if last else 0.0


@dataclass(frozen=True)
class CustomerView:
    """A snapshot of one customer, read from the state arrays."""

    index: int
    firm: str
    tenure: int
    expectation: float
    satisfaction: float
    loyalty: float
    trust: float
    switching_cost: float
    price_sensitivity: float
    talkativeness: float
    segment: str
