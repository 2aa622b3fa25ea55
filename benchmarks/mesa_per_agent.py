"""The loyaltysim rules as a Mesa user would write them: one ``mesa.Agent`` per customer.

This is the baseline of ``benchmarks/throughput.py``: a straightforward, reasonably careful
per-agent implementation (plain Python floats and the ``math`` module, Mesa's simultaneous
activation idiom ``step()`` then ``advance()``, the stdlib generator ``self.random`` that Mesa
gives every model, a DataCollector with a few reporters). It follows the same rules as
:mod:`loyaltysim.model.per_customer`, but draws its random numbers one at a time, so its runs are
not the engine's runs, only the same model. It starts from loyaltysim's initial population and
network so both do the same work.
"""

from __future__ import annotations

import math

import mesa

from loyaltysim import Config
from loyaltysim.model.initialisation import initial_customers, initial_market
from loyaltysim.model.network import build_network


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(x, -700.0)))


class Customer(mesa.Agent):
    """One customer; ``step`` lives the period and talks, ``advance`` listens, answers and decides."""

    def __init__(self, model: MesaMarket, index: int, state, n_firms: int) -> None:
        super().__init__(model)
        self.firm = int(state.firm[index])
        self.tenure = int(state.tenure[index])
        self.belief = state.belief[index].tolist()
        self.fit = state.fit[index].tolist()
        self.satisfaction = float(state.satisfaction[index])
        self.trust = float(state.trust[index])
        self.loyalty = float(state.loyalty[index])
        self.switching_cost = float(state.switching_cost[index])
        self.price_sensitivity = float(state.price_sensitivity[index])
        self.talkativeness = float(state.talkativeness[index])
        self.response_bias = float(state.response_bias[index])
        self.neighbours: list[Customer] = []
        self.heard_weight = [0.0] * n_firms
        self.heard_signal = [0.0] * n_firms
        self.switched = False

    def loyalty_of(self, satisfaction: float, trust: float, tenure: int) -> float:
        c, low, high = self.model.config.loyalty, self.model.link_low, self.model.link_high
        linked = (sigmoid(c.steepness * (satisfaction - c.threshold)) - low) / (high - low)
        habit = 1.0 - math.exp(-(tenure / self.model.periods_per_year) / c.habit_years)
        return (1.0 - c.trust_weight - c.habit_weight) * linked + c.trust_weight * trust + c.habit_weight * habit

    def transaction(self, performance: float, expectation: float, price: float) -> float:
        s, ref = self.model.config.satisfaction, self.model.config.economics.reference_price
        fairness = self.price_sensitivity * (ref - price) / ref
        gap = performance - expectation
        felt = s.loss_aversion * gap if gap < 0 else gap
        return sigmoid(s.sensitivity * (s.quality_weight * (performance - s.neutral_performance) + felt + fairness))

    def step(self) -> None:
        model, config, f = self.model, self.model.config, self.firm
        firm = model.firms[f]
        performance = min(max(firm["quality"] + self.fit[f] + firm["consistency"] * self.random.gauss(0.0, 1.0), 0.0), 1.0)
        transaction = self.transaction(performance, self.belief[f], firm["price"])
        self.complained = transaction < 0.5 and firm["recovery"]
        if self.complained and self.random.random() < firm["recovery_success"]:
            transaction += firm["recovery_softening"] * (0.5 - transaction)
        tenure_years = self.tenure / model.periods_per_year
        s = config.satisfaction
        weight = (1.0 - s.memory) / (1.0 + s.tenure_anchoring * tenure_years)
        self.satisfaction = (1.0 - weight) * self.satisfaction + weight * transaction
        growth = config.loyalty.trust_growth
        gap = transaction - self.trust
        self.trust += (min(1.0, growth * s.loss_aversion) if gap < 0 else growth) * gap
        advertising = config.expectations.advertising_weight
        for j, other in enumerate(model.firms):
            self.belief[j] += advertising * (other["promise"] - self.belief[j])
        weight = config.expectations.experience_weight / (1.0 + s.tenure_anchoring * tenure_years)
        self.belief[f] += weight * (performance - self.belief[f])
        self.loyalty = self.loyalty_of(self.satisfaction, self.trust, self.tenure)
        wom = config.word_of_mouth
        extremeness = abs(2.0 * self.satisfaction - 1.0) ** wom.extremity
        chance = wom.talk_rate * self.talkativeness * extremeness * (wom.negativity if self.satisfaction < 0.5 else 1.0)
        if wom.enabled and self.random.random() < chance:
            negative = self.satisfaction < 0.5
            weight = wom.negative_weight if negative else 1.0
            for neighbour in self.neighbours:
                if self.random.random() < wom.reach:
                    neighbour.heard_weight[f] += weight
                    neighbour.heard_signal[f] += weight * performance

    def advance(self) -> None:
        model, config = self.model, self.model.config
        influence = config.word_of_mouth.influence
        for j, heard in enumerate(self.heard_weight):
            if heard > 0.0:
                pull = min(1.0, influence * heard)
                self.belief[j] += pull * (self.heard_signal[j] / heard - self.belief[j])
                self.heard_weight[j] = self.heard_signal[j] = 0.0
        obs = config.observation
        answer = self.satisfaction + self.response_bias + obs.rating_noise * self.random.gauss(0.0, 1.0)
        self.rating = 1 + sum(cut <= answer for cut in obs.rating_cutoffs)
        answer = 0.5 * (self.satisfaction + self.loyalty) + self.response_bias + obs.rating_noise * self.random.gauss(0.0, 1.0)
        self.recommend = round(10.0 * min(max(answer, 0.0), 1.0) ** obs.recommend_curvature)
        sw, ref = config.switching, config.economics.reference_price
        utility = []
        for j, firm in enumerate(model.firms):
            u = sw.value_weight * (self.belief[j] + self.price_sensitivity * (ref - firm["price"]) / ref)
            if j == self.firm:
                u += sw.loyalty_weight * self.loyalty + self.switching_cost + firm["programme_switching_cost"]
            utility.append(u / sw.choice_noise if firm["enters_at"] <= model.steps else -math.inf)
        best = max(utility)
        weights = [math.exp(u - best) for u in utility]
        if self.random.random() < sw.variety_seeking and any(w > 0 for j, w in enumerate(weights) if j != self.firm):
            weights[self.firm] = 0.0
        target, cumulative, choice = self.random.random() * sum(weights), 0.0, self.firm
        for j, w in enumerate(weights):
            cumulative += w
            if w > 0:
                choice = j
                if cumulative > target:
                    break
        self.switched = choice != self.firm
        self.satisfaction_at_decision = self.satisfaction
        if self.switched:
            self.firm, self.tenure, self.trust = choice, 0, 0.5
            self.satisfaction = self.transaction(self.belief[choice], self.belief[choice], model.firms[choice]["price"])
            self.loyalty = self.loyalty_of(self.satisfaction, self.trust, self.tenure)
        else:
            self.tenure += 1


class MesaMarket(mesa.Model):
    """The market: customers as agents on the word-of-mouth network, firms as dictionaries."""

    def __init__(self, config: Config, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.config = config
        self.periods_per_year = config.periods_per_year
        lo = config.loyalty
        self.link_low, self.link_high = sigmoid(-lo.steepness * lo.threshold), sigmoid(lo.steepness * (1.0 - lo.threshold))
        market = initial_market(config)
        self.firms = [
            {
                "quality": f.quality,
                "consistency": f.consistency,
                "price": f.price,
                "promise": f.promise,
                "enters_at": f.enters_at,
                "recovery": f.service_recovery.enabled,
                "recovery_success": f.service_recovery.success_rate,
                "recovery_softening": f.service_recovery.softening,
                "programme_switching_cost": f.loyalty_programme.switching_cost if f.loyalty_programme.enabled else 0.0,
            }
            for f in config.firms
        ]
        network = build_network(config.network, config.customers.n, self.rng)
        state = initial_customers(config, market, self.rng)
        customers = [Customer(self, i, state, market.k) for i in range(state.n)]
        for i, customer in enumerate(customers):
            customer.neighbours = [customers[j] for j in network.neighbours(i).tolist()]
        self.customers = customers
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "churn_rate": lambda m: sum(c.switched for c in m.customers) / len(m.customers),
                "mean_satisfaction": lambda m: sum(c.satisfaction_at_decision for c in m.customers) / len(m.customers),
            }
        )

    def step(self) -> None:
        self.agents.do("step")
        self.agents.do("advance")
        self.datacollector.collect(self)
