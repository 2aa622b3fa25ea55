"""Firm practices between periods (ODD 7.17): stickiness, targeted relationship marketing, win-back.

Each firm's practices are set in its config (``firms[i].win_back``, ``firms[i].targeting``) and the
market's purchase volume in ``stickiness``; all are off by default, and then nothing here runs (the
model keeps no :class:`FirmPractices`). After each period, once the strategies have adapted
(``Firm.step``), :meth:`FirmPractices.apply` does, in this order:

1. **volume** (``stickiness``): each customer bought :func:`rules.purchase_units` from the firm it bought
   from, set by the satisfaction and loyalty the period left it with; each firm's revenue and serving
   cost grow by :func:`rules.volume_economics`;
2. **bookkeeping**: the revenue of each relationship so far and of the customers won back; the targeted
   customers' retention; a switcher loses the relationship benefits of the firm it left;
3. **win-back**: each firm with ``win_back`` contacts the customers who left it less than ``window``
   periods ago (one uniform draw per customer from the practices' own generator); a contacted customer
   returns with :func:`rules.win_back_probability` and starts afresh with its old firm (7.12);
4. **targeting**: every ``every`` periods each firm with ``targeting`` ranks its customers by value
   (relationship revenue, or :func:`rules.lifetime_value`) and gives the top :func:`rules.targeted_count`
   the benefit (or, with ``spread``, all of them the benefit × share).

The costs of the practices are added to the firms' costs of the period, so profits include them. The
customer loops are compiled and call the rules; :mod:`loyaltysim.model.per_customer` runs the same
practices one customer at a time (docked in ``tests/test_docking.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from loyaltysim.config.schema import Config
from loyaltysim.model import parameters, rules
from loyaltysim.model.engine import PeriodOutcome
from loyaltysim.model.jit import compiled
from loyaltysim.model.kernels import Customers
from loyaltysim.model.parameters import Parameters, as_tuple
from loyaltysim.model.scales import N_BANDS, satisfaction_band
from loyaltysim.model.state import CustomerState, Market

__all__ = ["FirmPractices", "PracticeOutcome", "PracticeTotals", "active_practices", "practice_rows"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def active_practices(config: Config) -> dict[str, bool]:
    """Which practices a run has: win-back, targeting (some firm's) and stickiness."""
    return {
        "win_back": any(firm.win_back.enabled for firm in config.firms),
        "targeting": any(firm.targeting.enabled for firm in config.firms),
        "stickiness": config.stickiness.enabled,
    }


@dataclass(frozen=True)
class PracticeOutcome:
    """What the practices did after one period, per firm (arrays of length k), and the customers' volume."""

    units: F64
    """Purchases each customer made this period (one each without stickiness)."""
    firm_units: F64
    win_back_contacts: I64
    win_backs: I64
    win_back_cost: F64
    win_back_revenue: F64
    """Revenue this period from customers the firm had won back (and who had not left again)."""
    targeted: I64
    """Customers who bought this period with the firm's relationship benefits."""
    targeted_lost: I64
    others: I64
    """Customers who bought this period without them."""
    others_lost: I64
    targeting_cost: F64
    taken: I64
    """Customers each firm lost to a rival's win-back after the period (not in the period's ``lost``)."""


def _units(loyalty: F64, satisfaction: F64, values: F64) -> F64:
    """:func:`rules.purchase_units` of every customer."""
    p = Parameters(*as_tuple(values))
    units = np.empty(len(loyalty))
    for i in range(len(loyalty)):
        units[i] = rules.purchase_units(loyalty[i], satisfaction[i], p)
    return units


def _win_back(
    customers: tuple[np.ndarray, ...],
    price: F64,
    values: F64,
    policy: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    draws: F64,
    won_back: NDArray[np.bool_],
    spend: F64,
    tallies: I64,
) -> None:
    """Step 3 of :func:`FirmPractices.apply` for every customer in order. ``policy``: per firm, whether it
    contacts its lost customers now, its window, offer and service recovery. ``tallies`` (3, k), zero on
    entry: contacts and win-backs by the firm that contacts, customers taken by the firm that loses them."""
    state = Customers(*customers)
    p = Parameters(*as_tuple(values))
    contacting, window, offer, recovery = policy
    for i in range(len(state.firm)):
        f = state.left_firm[i]
        if f < 0 or not contacting[f] or state.firm[i] == f or state.tenure[i] >= window[f]:
            continue
        tallies[0, f] += 1
        chance = rules.win_back_probability(np.int64(state.left_reason[i]), state.left_satisfaction[i], offer[f], recovery[f], p)
        if draws[i] < chance:
            tallies[1, f] += 1
            tallies[2, state.firm[i]] += 1
            state.firm[i] = f
            state.tenure[i] = 0
            fairness = rules.price_fairness(rules.relative_discount(price[f], p), state.price_sensitivity[i])
            started = rules.start_relationship(state.belief[i, f], fairness, np.int64(0), p)
            state.satisfaction[i], state.trust[i], state.loyalty[i] = started
            state.benefit_quality[i] = 0.0
            state.benefit_switching[i] = 0.0
            won_back[i] = True
            spend[i] = 0.0


def _lifetime_values(firm: NDArray[np.int32], loyalty: F64, satisfaction: F64, margin: F64, values: F64) -> F64:
    """:func:`rules.lifetime_value` of every customer to its firm: ``margin[firm] · units`` at the loyalty as retention."""
    p = Parameters(*as_tuple(values))
    value = np.empty(len(firm))
    for i in range(len(firm)):
        units = rules.purchase_units(loyalty[i], satisfaction[i], p)
        value[i] = rules.lifetime_value(margin[firm[i]] * units, loyalty[i], p)
    return value


class FirmPractices:
    """The firms' practices of a run and their bookkeeping about customers.

    Parameters
    ----------
    config
        The run's config (some practice switched on: see :func:`active_practices`).
    state, market
        The market at step 0 (the revenue of each relationship so far starts at price × tenure).
    rng
        The practices' own generator (win-back draws), spawned after the customers' streams.
    """

    def __init__(self, config: Config, state: CustomerState, market: Market, rng: np.random.Generator) -> None:
        self.config, self.rng = config, rng
        self.on = active_practices(config)
        self.values = parameters.pack(config)
        firms = config.firms
        self.win_back = tuple(
            np.array(v)
            for v in zip(
                *((f.win_back.enabled, f.win_back.window, f.win_back.offer, f.win_back.service_recovery) for f in firms),
                strict=True,
            )
        )
        self.contact_cost = np.array(
            [f.win_back.cost_per_contact + f.win_back.recovery_cost * f.win_back.service_recovery for f in firms]
        )
        """Each firm's cost of one win-back contact (with its service recovery, if any)."""
        self.targeting_cost = np.array(
            [f.targeting.cost_per_customer * (f.targeting.share if f.targeting.spread else 1.0) for f in firms]
        )
        """Each firm's cost per customer with its relationship benefits, per period."""
        self.spend = market.price[state.firm] * state.tenure
        """Revenue from each customer in its current relationship so far."""
        self.won_back = np.zeros(state.n, dtype=np.bool_)
        """Whether each customer came back through a win-back contact and has not left since."""

    @classmethod
    def of(cls, config: Config, state: CustomerState, market: Market, rng: np.random.Generator) -> FirmPractices | None:
        """The run's practices, or None if none is on (then the model is exactly the one without them)."""
        if not any(active_practices(config).values()):
            return None
        return cls(config, state, market, rng.spawn(1)[0])

    def apply(self, state: CustomerState, market: Market, outcome: PeriodOutcome, step: int) -> PracticeOutcome:
        """Steps 1–4 after period ``step``: updates the state and the outcome's revenue and costs in place."""
        k = market.k
        before, switched = outcome.firm_before, outcome.switched
        # 1. volume
        units = _compiled_units(outcome.loyalty, outcome.satisfaction, self.values)
        firm_units = np.bincount(before, weights=units, minlength=k)
        if self.on["stickiness"]:
            for j in range(k):
                revenue, cost = rules.volume_economics(firm_units[j], outcome.purchases[j], market.price[j], market.unit_cost[j])
                outcome.revenue[j] += revenue
                outcome.costs[j] += cost
        # 2. bookkeeping
        paid = market.price[before] * units
        self.spend += paid
        win_back_revenue = np.bincount(before, weights=np.where(self.won_back, paid, 0.0), minlength=k)
        self.spend[switched] = 0.0
        self.won_back[switched] = False
        benefited = (state.benefit_quality > 0.0) | (state.benefit_switching > 0.0)
        targeted, targeted_lost = (np.bincount(before[benefited & c], minlength=k) for c in (True, switched))
        others, others_lost = (np.bincount(before[~benefited & c], minlength=k) for c in (True, switched))
        targeting_cost = targeted * self.targeting_cost
        state.benefit_quality[switched] = 0.0
        state.benefit_switching[switched] = 0.0
        # 3. win-back
        tallies = np.zeros((3, k), dtype=np.int64)
        if self.on["win_back"]:
            contacting, window, offer, recovery = self.win_back
            policy = (contacting & market.active(step), window, offer, recovery)
            draws = self.rng.random(state.n)
            _compiled_win_back(state.arrays(), market.price, self.values, policy, draws, self.won_back, self.spend, tallies)
        contacts, wins, taken = tallies
        win_back_cost = contacts * self.contact_cost + wins * self.win_back[2]
        # 4. targeting
        if self.on["targeting"]:
            self._target(state, market, step)
        outcome.costs[:] += win_back_cost + targeting_cost
        return PracticeOutcome(
            units,
            firm_units,
            contacts,
            wins,
            win_back_cost,
            win_back_revenue,
            targeted,
            targeted_lost,
            others,
            others_lost,
            targeting_cost,
            taken,
        )

    def _target(self, state: CustomerState, market: Market, step: int) -> None:
        """Step 4: firms whose targeting is due this period choose their targeted customers anew."""
        values: dict[str, F64] = {}  # each customer's value to its firm, by the measure firms rank by
        for j, firm in enumerate(self.config.firms):
            policy = firm.targeting
            if not policy.enabled or (step - 1) % policy.every:
                continue
            members = np.flatnonzero(state.firm == j)
            state.benefit_quality[members] = 0.0
            state.benefit_switching[members] = 0.0
            benefit = state.benefit_quality if policy.benefit == "quality" else state.benefit_switching
            if policy.spread:
                benefit[members] = policy.size * policy.share
                continue
            if policy.by not in values:
                values[policy.by] = self._customer_values(state, market, policy.by)
            ranked = members[np.argsort(-values[policy.by][members], kind="stable")]
            benefit[ranked[: rules.targeted_count(len(members), policy.share)]] = policy.size

    def _customer_values(self, state: CustomerState, market: Market, by: str) -> F64:
        """Each customer's value to its firm: relationship revenue so far, or estimated lifetime value."""
        if by == "revenue":
            return self.spend
        economics = self.config.economics
        margin = market.price - market.unit_cost - market.programme_cost - economics.retention_cost
        return _compiled_lifetime_values(state.firm, state.loyalty, state.satisfaction, margin, self.values)


def practice_rows(practice: PracticeOutcome, outcome: PeriodOutcome, config: Config) -> tuple[dict[str, float], dict[str, list]]:
    """The practices' metrics of one period: market columns and firm columns (one value per firm), only
    those of the practices switched on (so a run without them has exactly the columns it had before)."""
    on = active_practices(config)
    market: dict[str, float] = {}
    firm: dict[str, list] = {}
    if on["win_back"]:
        contacts, wins = practice.win_back_contacts, practice.win_backs
        market |= {
            "win_back_contacts": int(contacts.sum()),
            "win_backs": int(wins.sum()),
            "win_back_rate": _share(wins.sum(), contacts.sum()),
            "win_back_cost": float(practice.win_back_cost.sum()),
            "win_back_revenue": float(practice.win_back_revenue.sum()),
        }
        firm |= {
            "win_back_contacts": contacts.tolist(),
            "win_backs": wins.tolist(),
            "win_back_rate": [_share(w, c) for w, c in zip(wins, contacts, strict=True)],
            "win_back_cost": practice.win_back_cost.tolist(),
            "win_back_revenue": practice.win_back_revenue.tolist(),
        }
    if on["targeting"]:
        targeting = np.array([f.targeting.enabled for f in config.firms])  # the market's columns pool the targeting firms
        market |= {
            "targeted": int(practice.targeted.sum()),
            "targeted_retention": 1.0 - _share(practice.targeted_lost[targeting].sum(), practice.targeted[targeting].sum()),
            "untargeted_retention": 1.0 - _share(practice.others_lost[targeting].sum(), practice.others[targeting].sum()),
            "targeting_cost": float(practice.targeting_cost.sum()),
        }
        firm |= {
            "targeted": practice.targeted.tolist(),
            "targeted_retention": [
                1.0 - _share(lost, n) for lost, n in zip(practice.targeted_lost, practice.targeted, strict=True)
            ],
            "untargeted_retention": [
                1.0 - _share(lost, n) for lost, n in zip(practice.others_lost, practice.others, strict=True)
            ],
            "targeting_cost": practice.targeting_cost.tolist(),
        }
    if on["stickiness"]:
        wallet = config.stickiness.wallet
        market |= _stickiness_columns(practice.units, wallet, outcome)
        purchases = outcome.purchases
        firm |= {
            "units": practice.firm_units.tolist(),
            "share_of_wallet": [_share(u, n * wallet) for u, n in zip(practice.firm_units, purchases, strict=True)],
        }
    return market, firm


def _stickiness_columns(units: F64, wallet: float, outcome: PeriodOutcome) -> dict[str, float]:
    """Purchase frequency (purchases per customer), share of wallet and repurchase rate (share who stay),
    overall and by satisfaction band (``_b0`` highly dissatisfied … ``_b4`` highly satisfied)."""
    band = satisfaction_band(outcome.satisfaction)
    customers = np.bincount(band, minlength=N_BANDS)
    bought = np.bincount(band, weights=units, minlength=N_BANDS)
    stayed = np.bincount(band, weights=~outcome.switched, minlength=N_BANDS)
    row = {
        "purchase_frequency": float(units.mean()),
        "share_of_wallet": float(units.mean() / wallet),
        "repurchase_rate": float(1.0 - outcome.switched.mean()),
    }
    for b in range(N_BANDS):
        row[f"purchase_frequency_b{b}"] = _share(bought[b], customers[b])
        row[f"share_of_wallet_b{b}"] = _share(bought[b], customers[b] * wallet)
        row[f"repurchase_rate_b{b}"] = _share(stayed[b], customers[b])
    return row


@dataclass
class PracticeTotals:
    """The practices' tallies pooled over the periods after burn-in, for the run summary."""

    config: Config
    periods: int = 0
    sums: dict[str, float] | None = None

    def add(self, practice: PracticeOutcome) -> None:
        """Add one period (win-back and targeting over the firms that practise them)."""
        targeting = np.array([f.targeting.enabled for f in self.config.firms])
        period = {
            "win_back_contacts": practice.win_back_contacts.sum(),
            "win_backs": practice.win_backs.sum(),
            "win_back_cost": practice.win_back_cost.sum(),
            "win_back_revenue": practice.win_back_revenue.sum(),
            "targeted": practice.targeted[targeting].sum(),
            "targeted_lost": practice.targeted_lost[targeting].sum(),
            "others": practice.others[targeting].sum(),
            "others_lost": practice.others_lost[targeting].sum(),
            "targeting_cost": practice.targeting_cost.sum(),
            "units": practice.units.sum(),
            "customers": len(practice.units),
        }
        self.periods += 1
        self.sums = {key: float(value) + (self.sums[key] if self.sums else 0.0) for key, value in period.items()}

    def summary(self) -> dict[str, float]:
        """Run-level values of the practices switched on: win-back rate, cost and revenue per period; the
        targeted and other customers' retention and the cost per period; purchase frequency, share of wallet."""
        if self.sums is None:
            return {}
        t, on, periods = self.sums, active_practices(self.config), self.periods
        row: dict[str, float] = {}
        if on["win_back"]:
            row |= {
                "win_back_rate": _share(t["win_backs"], t["win_back_contacts"]),
                "win_backs_per_period": t["win_backs"] / periods,
                "win_back_cost_per_period": t["win_back_cost"] / periods,
                "win_back_revenue_per_period": t["win_back_revenue"] / periods,
            }
        if on["targeting"]:
            row |= {
                "targeted_retention": 1.0 - _share(t["targeted_lost"], t["targeted"]),
                "untargeted_retention": 1.0 - _share(t["others_lost"], t["others"]),
                "targeting_cost_per_period": t["targeting_cost"] / periods,
            }
        if on["stickiness"]:
            frequency = t["units"] / t["customers"]
            row |= {"purchase_frequency": frequency, "share_of_wallet": frequency / self.config.stickiness.wallet}
        return row


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else float("nan")


_compiled_units = compiled(_units)
_compiled_win_back = compiled(_win_back)
_compiled_lifetime_values = compiled(_lifetime_values)
