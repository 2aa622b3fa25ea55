"""The market's state as arrays, and how it is initialised from a config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from loyaltysim.config.schema import Config, Distribution
from loyaltysim.model import rules

__all__ = [
    "CustomerState",
    "Market",
    "expected_satisfaction",
    "initial_customers",
    "initial_market",
    "link_of",
    "loyalty_of",
    "sample",
    "satisfaction_options",
]

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
    segment: NDArray[np.int16]
    scratch: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Reusable work buffers of the engine (not part of the state)."""

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.firm)

    @property
    def expectation(self) -> F64:
        """Expected performance of each customer's current firm."""
        return self.belief[np.arange(self.n), self.firm]


@dataclass
class Market:
    """One entry per firm: what customers meet when they buy."""

    names: tuple[str, ...]
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
    initial_share: F64 = field(repr=False)

    @property
    def k(self) -> int:
        """Number of firms."""
        return len(self.names)

    def active(self, step: int) -> NDArray[np.bool_]:
        """Firms in the market at ``step``."""
        return self.enters_at <= step

    def apply_shocks(self, step: int) -> None:
        """Quality shocks scheduled for the start of ``step``: quality changes, clipped to [0, 1]."""
        hit = self.shock_at == step
        if hit.any():
            self.quality = np.where(hit, np.clip(self.quality + self.shock_change, 0.0, 1.0), self.quality)


def sample(dist: Distribution, n: int, rng: np.random.Generator) -> F64:
    """Draw ``n`` values of a configured distribution (clipped to ``low``/``high`` if given)."""
    mean, sd = dist.mean, dist.sd
    if dist.dist == "constant" or (sd == 0 and dist.dist != "uniform"):
        values = np.full(n, mean, dtype=np.float64)
    elif dist.dist == "normal":
        values = rng.normal(mean, sd, n)
    elif dist.dist == "lognormal":
        sigma2 = np.log1p((sd / mean) ** 2)
        values = rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), n)
    elif dist.dist == "gamma":
        shape = (mean / sd) ** 2
        values = rng.gamma(shape, mean / shape, n)
    elif dist.dist == "beta":
        common = mean * (1 - mean) / sd**2 - 1
        values = rng.beta(mean * common, (1 - mean) * common, n)
    else:  # uniform
        values = rng.uniform(dist.low, dist.high, n)
    if dist.low is not None or dist.high is not None:
        values = np.clip(values, dist.low, dist.high)
    return values


def initial_market(config: Config) -> Market:
    """Firm arrays from the config."""
    firms = config.firms

    def column(get) -> F64:
        return np.array([get(f) for f in firms], dtype=np.float64)

    return Market(
        names=tuple(f.name for f in firms),
        quality=column(lambda f: f.quality),
        consistency=column(lambda f: f.consistency),
        price=column(lambda f: f.price),
        promise=column(lambda f: f.promise),
        unit_cost=column(lambda f: f.unit_cost),
        enters_at=np.array([f.enters_at for f in firms], dtype=np.int64),
        programme_switching_cost=column(lambda f: f.loyalty_programme.switching_cost if f.loyalty_programme.enabled else 0.0),
        programme_cost=column(lambda f: f.loyalty_programme.cost_per_member if f.loyalty_programme.enabled else 0.0),
        recovery_enabled=np.array([f.service_recovery.enabled for f in firms], dtype=bool),
        recovery_success=column(lambda f: f.service_recovery.success_rate),
        recovery_softening=column(lambda f: f.service_recovery.softening),
        recovery_cost=column(lambda f: f.service_recovery.cost),
        shock_at=np.array([-1 if f.quality_shock.at is None else f.quality_shock.at for f in firms], dtype=np.int64),
        shock_change=column(lambda f: f.quality_shock.change),
        initial_share=column(lambda f: f.initial_share if f.enters_at == 0 else 0.0),
    )


def _segment_attribute(config: Config, name: str, segment: NDArray[np.int16], rng: np.random.Generator) -> F64:
    """Draw one attribute, each segment from its own distribution (default: the customers' one)."""
    default = config.observation.response_bias if name == "response_bias" else getattr(config.customers, name)
    values = sample(default, len(segment), rng)
    for index, seg in enumerate(config.customers.segments, start=1):
        override = getattr(seg, name)
        members = np.flatnonzero(segment == index)
        if override is not None and len(members):
            values[members] = sample(override, len(members), rng)
    return values


def initial_customers(config: Config, market: Market, rng: np.random.Generator) -> CustomerState:
    """Draw every customer's attributes, first supplier, beliefs and tenure."""
    n, k = config.customers.n, market.k
    shares = [s.share for s in config.customers.segments]
    segment = (
        rng.choice(len(shares) + 1, size=n, p=[1.0 - sum(shares), *shares]).astype(np.int16)
        if shares
        else np.zeros(n, dtype=np.int16)
    )
    switching_cost = _segment_attribute(config, "switching_cost", segment, rng)
    price_sensitivity = _segment_attribute(config, "price_sensitivity", segment, rng)
    talkativeness = _segment_attribute(config, "talkativeness", segment, rng)
    response_bias = _segment_attribute(config, "response_bias", segment, rng)
    expectation = _segment_attribute(config, "initial_expectation", segment, rng)
    belief = np.repeat(np.clip(expectation, 0.0, 1.0)[:, None], k, axis=1)

    fit = rng.normal(0.0, config.customers.fit, (n, k)) if config.customers.fit > 0 else np.zeros((n, k))
    firm = rng.choice(k, size=n, p=market.initial_share / market.initial_share.sum()).astype(np.int32)
    tenure = rng.integers(0, 2 * config.periods_per_year, size=n).astype(np.int32)
    satisfaction = expected_satisfaction(config, market, belief, firm, price_sensitivity)
    trust = np.full(n, 0.5)
    state = CustomerState(
        firm=firm,
        tenure=tenure,
        belief=belief,
        fit=fit,
        satisfaction=satisfaction,
        trust=trust,
        loyalty=np.zeros(n),
        switching_cost=np.maximum(switching_cost, 0.0),
        price_sensitivity=np.maximum(price_sensitivity, 0.0),
        talkativeness=np.maximum(talkativeness, 0.0),
        response_bias=response_bias,
        segment=segment,
    )
    state.loyalty = loyalty_of(config, state.satisfaction, state.trust, state.tenure)
    return state


def satisfaction_options(config: Config) -> dict[str, float]:
    """The ``satisfaction`` section as keywords of :func:`rules.transaction_satisfaction`."""
    sat = config.satisfaction
    return {
        "sensitivity": sat.sensitivity,
        "loss_aversion": sat.loss_aversion,
        "quality_weight": sat.quality_weight,
        "neutral_performance": sat.neutral_performance,
    }


def expected_satisfaction(config: Config, market: Market, belief: F64, firm: NDArray[np.int32], price_sensitivity: F64) -> F64:
    """Satisfaction a customer starts a relationship with: its expectation met exactly."""
    expectation = belief[np.arange(len(firm)), firm]
    fairness = rules.price_fairness(market.price[firm], config.economics.reference_price, price_sensitivity)
    return rules.transaction_satisfaction(
        expectation,
        expectation,
        fairness,
        **satisfaction_options(config),
    )


def link_of(config: Config) -> Callable[[ArrayLike], F64]:
    """The configured satisfaction → loyalty link as a one-argument function."""
    lo = config.loyalty
    options = {
        "linear": {},
        "threshold": {"threshold": lo.threshold, "steepness": lo.steepness},
        "zone_of_tolerance": {"low": lo.zone_low, "high": lo.zone_high, "slope": lo.zone_slope},
        "concave": {"concavity": lo.concavity},
    }[lo.link]
    return partial(rules.LINKS[lo.link], **options)


def loyalty_of(config: Config, satisfaction: F64, trust: F64, tenure: NDArray[np.int32]) -> F64:
    """Attitudinal loyalty from cumulative satisfaction, trust and tenure (habit)."""
    lo = config.loyalty
    tenure_years = tenure / config.periods_per_year
    return rules.attitudinal_loyalty(
        link_of(config)(satisfaction),
        trust,
        rules.habit(tenure_years, lo.habit_years),
        trust_weight=lo.trust_weight,
        habit_weight=lo.habit_weight,
    )
