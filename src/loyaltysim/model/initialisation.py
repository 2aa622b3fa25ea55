"""The market at the start of a run (docs/ODD.md, section 5): firms from the config, customers drawn."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from loyaltysim.config.sampling import sample
from loyaltysim.config.schema import Config
from loyaltysim.model import kernels, parameters, rules
from loyaltysim.model.state import CustomerState, Market

__all__ = ["initial_customers", "initial_market", "sample"]

F64 = NDArray[np.float64]


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
        review_sum=np.zeros(len(firms)),
        review_count=np.zeros(len(firms)),
        fake_reviews=column(lambda f: f.fake_reviews),
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


def _review_and_identity_state(
    config: Config, firm: NDArray[np.int32], k: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The state of reviews, perceived risk and identification (ODD 5, 7.14–7.16), each empty while its switch
    is off: who reads the platform (drawn with ``reviews.reader_share`` below 1), the firms each customer has
    tried (its first firm), the word of mouth heard (none) and identification (none yet).

    ``firm`` is filled in later by the warm start; the tried firms are set from it then."""
    n = len(firm)
    reviews, risk = config.reviews.enabled, config.risk.enabled
    share = config.reviews.reader_share
    reader = (rng.random(n) < share if share < 1.0 else np.ones(n, dtype=bool)) if reviews else np.zeros(0, dtype=bool)
    return {
        "reader": reader,
        "tried": np.zeros((n, k) if reviews or risk else (0, 0), dtype=bool),
        "heard_about": np.zeros((n, k) if risk else (0, 0)),
        "identification": np.zeros(n if config.identification.enabled else 0),
    }


def initial_customers(config: Config, market: Market, rng: np.random.Generator) -> CustomerState:
    """Draw every customer's attributes, first supplier, beliefs and tenure (ODD 5).

    With ``run.warm_start`` the market has existed before the first period: beliefs are the firms'
    promises and the own firm's mean performance, the supplier was chosen by value and initial share
    (:func:`kernels.warm_start`) and tenures are those of a constant hazard (geometric, mean
    ``customers.initial_tenure`` years). Otherwise (a cold start) every belief is the customer's initial
    expectation, the supplier is drawn by initial share alone and tenure is uniform over two years."""
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
    if config.run.warm_start:
        firm, choice = np.empty(n, dtype=np.int32), rng.random(n)
        mean_tenure = config.customers.initial_tenure * config.periods_per_year
        tenure = (rng.geometric(1.0 / (1.0 + mean_tenure), size=n) - 1).astype(np.int32)
    else:
        firm = rng.choice(k, size=n, p=market.initial_share / market.initial_share.sum()).astype(np.int32)
        tenure = rng.integers(0, 2 * config.periods_per_year, size=n).astype(np.int32)
    tolerance = _segment_attribute(config, "tolerance", segment, rng)
    state = CustomerState(
        firm=firm,
        tenure=tenure,
        belief=belief,
        fit=fit,
        satisfaction=np.empty(n),
        trust=np.empty(n),
        loyalty=np.empty(n),
        switching_cost=np.maximum(switching_cost, 0.0),
        price_sensitivity=np.maximum(price_sensitivity, 0.0),
        talkativeness=np.maximum(talkativeness, 0.0),
        response_bias=response_bias,
        tolerance=tolerance,
        segment=segment,
        **_review_and_identity_state(config, firm, k, rng),
        left_firm=np.full(n, rules.NOBODY, dtype=np.int32),
        left_reason=np.zeros(n, dtype=np.int8),
        left_satisfaction=np.zeros(n),
        benefit_quality=np.zeros(n),
        benefit_switching=np.zeros(n),
    )
    values = parameters.pack(config)
    if config.run.warm_start:
        kernels.warm_start(state.arrays(), market.arrays(), values, choice)
    kernels.start_relationships(state.arrays(), market.arrays(), values)
    if len(state.tried):
        state.tried[np.arange(n), state.firm] = True
    return state
