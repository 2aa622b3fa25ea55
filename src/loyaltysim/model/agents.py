"""Mesa agents: firms and their strategies, and a readable view of one customer.

Customers live in arrays (see :mod:`loyaltysim.model.state`); a :class:`CustomerView` reads one row so a
student can inspect a customer as an object. Firms are few, so they are real :class:`mesa.Agent`
objects whose parameters live in the model's market arrays.

A firm's strategy is its class, in Mesa's idiom: after each period the model calls every firm's
:meth:`Firm.step` (``model.agents.do("step")``), and a strategy is a :class:`Firm` subclass that
overrides it. The config chooses it by name (``strategy: {kind: adaptive_quality}``, for the market or
for one firm): the built-in kinds (:data:`STRATEGIES`), a name given to :func:`register_strategy`, or a
``module:Class`` reference, which every process can import (so it works in process pools and on Dask)::

    class PriceCutter(Firm):
        def step(self):
            if self.in_market and self.mean_satisfaction < self.strategy.options["floor"]:
                self.price *= 0.99
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa

from loyaltysim.config.errors import suggest
from loyaltysim.config.schema import StrategyConfig
from loyaltysim.model import rules

if TYPE_CHECKING:
    from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["STRATEGIES", "AdaptiveQualityFirm", "CustomerView", "Firm", "register_strategy", "strategy_class"]


def _market_value(name: str, doc: str) -> property:
    """A firm's entry in one of the market arrays, read and written as a float attribute."""

    def get(firm: Firm) -> float:
        return float(getattr(firm.model.market, name)[firm.index])

    def set_(firm: Firm, value: float) -> None:
        getattr(firm.model.market, name)[firm.index] = value

    return property(get, set_, doc=doc)


class Firm(mesa.Agent):
    """A firm of the market. Its parameters live in the model's market arrays at ``index``.

    This class is the strategy ``none``: the firm does not adapt.

    Parameters
    ----------
    model
        The model the firm belongs to.
    index
        Its position in the market arrays and in ``config.firms``.
    name
        Its label.
    strategy
        Its strategy's config (its ``options`` are there for a user's strategy to read).
    """

    def __init__(self, model: LoyaltyModel, index: int, name: str, strategy: StrategyConfig | None = None) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.strategy = strategy or StrategyConfig()

    def step(self) -> None:
        """Adapt after a period, before its metrics are recorded (here: nothing)."""

    quality = _market_value("quality", "Mean delivered performance now.")
    unit_cost = _market_value("unit_cost", "Cost of serving one purchase.")
    price = _market_value("price", "Price per purchase.")

    @property
    def in_market(self) -> bool:
        """Whether the firm is in the market in the current period."""
        return bool(self.model.market.enters_at[self.index] <= self.model.steps)

    @property
    def mean_satisfaction(self) -> float:
        """Mean satisfaction of its customers in the last period (NaN without customers or before the first)."""
        outcome = self.model.last_outcome
        return float(outcome.satisfaction_by_firm[self.index]) if outcome is not None else math.nan

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


class AdaptiveQualityFirm(Firm):
    """Strategy ``adaptive_quality``: while in the market, raise quality (and unit cost) whenever the
    customers' mean satisfaction is below target (:func:`loyaltysim.model.rules.adapt_quality`, ODD 7.13)."""

    def step(self) -> None:
        """Adapt quality and unit cost to the last period's satisfaction."""
        if not self.in_market:
            return
        strategy = self.strategy
        self.quality, self.unit_cost = rules.adapt_quality.py_func(
            self.quality,
            self.unit_cost,
            self.mean_satisfaction,
            strategy.satisfaction_target,
            strategy.adjustment,
            strategy.quality_unit_cost,
        )


STRATEGIES: dict[str, type[Firm]] = {"none": Firm, "adaptive_quality": AdaptiveQualityFirm}
"""Strategy kinds by name: the built-in ones and those given to :func:`register_strategy`."""


def register_strategy(name: str, cls: type[Firm]) -> None:
    """Make ``cls`` (a :class:`Firm` subclass) available as ``strategy: {kind: name}`` in this process.

    In process pools and on Dask, name the class as ``module:Class`` instead: the workers import it.
    """
    if not (isinstance(cls, type) and issubclass(cls, Firm)):
        raise TypeError(f"a strategy must be a subclass of loyaltysim.model.agents.Firm, got {cls!r}")
    if name in ("none", "adaptive_quality") or ":" in name:
        raise ValueError(f"{name!r} cannot be registered: it is built in, or reads as module:Class")
    STRATEGIES[name] = cls


def strategy_class(kind: str) -> type[Firm]:
    """The firm class of a strategy kind: a registered name, or a ``module:Class`` reference (imported now).

    Raises
    ------
    ValueError
        Unknown name, a module that cannot be imported, or an attribute that is not a :class:`Firm` subclass.
    """
    if ":" not in kind:
        if kind not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {kind!r}{suggest(kind, tuple(STRATEGIES))}; "
                f"expected one of {', '.join(STRATEGIES)}, a name given to register_strategy, or module:Class"
            )
        return STRATEGIES[kind]
    module_name, _, attribute = kind.partition(":")
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {module_name!r} (strategy {kind}): {error}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r} (strategy {kind})")
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, Firm)):
        raise ValueError(f"strategy {kind} is not a subclass of loyaltysim.model.agents.Firm")
    return found


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
