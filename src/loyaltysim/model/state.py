"""The market's state: customers and firms as structs of arrays.

Customers and firms are structs of arrays (:class:`CustomerState`, :class:`Market`); the compiled
kernels receive their arrays as tuples in field order (:meth:`CustomerState.arrays`,
:meth:`Market.arrays`) and read them by name (``kernels.Customers``, ``kernels.Firms``, records whose
fields are :data:`CUSTOMER_ARRAYS` and :data:`MARKET_ARRAYS`): a new array field reaches the kernels
without an edit there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from loyaltysim.config.schema import Config
from loyaltysim.model import parameters, rules

__all__ = ["CUSTOMER_ARRAYS", "MARKET_ARRAYS", "CustomerState", "Market", "link_of"]

F64 = NDArray[np.float64]


@dataclass
class CustomerState:
    """One row per customer (struct of arrays). ``belief`` and ``fit`` have one column per firm."""

    firm: NDArray[np.int32]
    tenure: NDArray[np.int32]
    belief: F64
    fit: F64
    satisfaction: F64
    trust: F64
    loyalty: F64
    switching_cost: F64
    price_sensitivity: F64
    talkativeness: F64
    response_bias: F64
    tolerance: F64
    """Satisfaction below which the customer starts looking for alternatives (7.10)."""
    segment: NDArray[np.int16]
    # Reviews, perceived risk, identification (ODD 7.14–7.16): empty (length 0) while their switch is off.
    reader: NDArray[np.bool_]
    """Whether the customer reads the review platform (``reviews``)."""
    tried: NDArray[np.bool_]
    """Per firm: whether the customer has ever bought from it (``reviews`` or ``risk``)."""
    heard_about: F64
    """Per firm: the weight of all word of mouth heard about it (``risk``)."""
    identification: F64
    """Identification with the current firm, [0, 1] (``identification``)."""
    left_firm: NDArray[np.int32]
    """The firm each customer left last (``rules.NOBODY``: none yet); the firm practices of 7.17 read these four."""
    left_reason: NDArray[np.int8]
    """Why it left (``rules.PUSHED``, ``VARIETY``, ``PULLED``)."""
    left_satisfaction: F64
    """The satisfaction it left with."""
    benefit_quality: F64
    """Quality bonus of a targeted customer's relationship benefits (7.17), with its current firm."""
    benefit_switching: F64
    """Switching-cost bonus of a targeted customer's relationship benefits (7.17), with its current firm."""
    scratch: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"array": False})
    """Reusable work buffers of the engine (not part of the state)."""

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.firm)

    @property
    def expectation(self) -> F64:
        """Expected performance of each customer's current firm."""
        return self.belief[np.arange(self.n), self.firm]

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The state's arrays in the order of :data:`CUSTOMER_ARRAYS` (as the compiled kernels take them)."""
        return _customer_arrays(self)


@dataclass
class Market:
    """One entry per firm: what customers meet when they buy."""

    names: tuple[str, ...] = field(metadata={"array": False})
    quality: F64
    consistency: F64
    price: F64
    promise: F64
    unit_cost: F64
    enters_at: NDArray[np.int64]
    programme_switching_cost: F64
    programme_cost: F64
    recovery_enabled: NDArray[np.bool_]
    recovery_success: F64
    recovery_softening: F64
    recovery_cost: F64
    shock_at: NDArray[np.int64]
    """Step at whose start each firm's quality changes (−1: never)."""
    shock_change: F64
    review_sum: F64
    """The review platform (ODD 7.14): recency-weighted sum of ratings posted about each firm."""
    review_count: F64
    """Recency-weighted number of reviews of each firm."""
    fake_reviews: F64
    """5-star reviews each firm posts or buys per period."""
    initial_share: F64 = field(repr=False)

    @property
    def k(self) -> int:
        """Number of firms."""
        return len(self.names)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The firm arrays in the order of :data:`MARKET_ARRAYS` (as the compiled kernels take them)."""
        return _market_arrays(self)

    def active(self, step: int) -> NDArray[np.bool_]:
        """Firms in the market at ``step``."""
        return self.enters_at <= step

    def apply_shocks(self, step: int) -> None:
        """Quality shocks scheduled for the start of ``step``: quality changes, clipped to [0, 1]."""
        hit = self.shock_at == step
        if hit.any():
            self.quality = np.where(hit, np.clip(self.quality + self.shock_change, 0.0, 1.0), self.quality)


def _array_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.metadata.get("array", True))


CUSTOMER_ARRAYS = _array_fields(CustomerState)
"""The fields of :class:`CustomerState` the compiled kernels receive."""
MARKET_ARRAYS = _array_fields(Market)
"""The fields of :class:`Market` the compiled kernels receive."""
_customer_arrays, _market_arrays = attrgetter(*CUSTOMER_ARRAYS), attrgetter(*MARKET_ARRAYS)


def link_of(config: Config) -> Callable[[ArrayLike], F64]:
    """The configured satisfaction → loyalty link (:func:`rules.link`) over arrays, for figures."""
    p = parameters.record(config)

    def linked(satisfaction: ArrayLike) -> F64:
        values = np.asarray(satisfaction, dtype=np.float64)
        return np.array([rules.link.py_func(float(s), p) for s in values.ravel()]).reshape(values.shape)

    return linked
