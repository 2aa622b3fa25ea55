"""The model one customer at a time: a readable reference of the rules, for teaching and docking.

The engine (:mod:`loyaltysim.model.engine`) runs a period for all customers at once over arrays. This
module runs the same period with one :class:`Customer` object per customer, each step written as
a plain method that calls the rules of :mod:`loyaltysim.model.rules` on single numbers. It reads
the same pre-drawn random numbers (:func:`loyaltysim.model.engine.draw_experience`, one uniform per
neighbour of each talker, :func:`loyaltysim.model.engine.draw_response`), so for the same seed it must
give the engine's results: the docking tests (``tests/test_docking.py``) check that it does. It is
slow (a Python loop over customers): use it to read or check the model, not to run studies.

A period, for every customer in turn (everyone reacts to the state at the start of the period):

1. :meth:`Customer.experience`: buy, experience performance, complain / be recovered;
2. :meth:`Customer.update_attitudes`: satisfaction, trust, beliefs, loyalty, whether to talk;
3. word of mouth: each talker tells each neighbour (:meth:`ReferenceModel.spread_word_of_mouth`),
   then :meth:`Customer.listen` absorbs what was heard;
4. :meth:`Customer.answer_survey`, then :meth:`Customer.choose_firm`;
5. firms' tallies, then :meth:`Customer.start_next_period`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from loyaltysim.config.schema import Config
from loyaltysim.model import rules
from loyaltysim.model.engine import ExperienceDraws, ResponseDraws, draw_experience, draw_layout, draw_response
from loyaltysim.model.network import Network
from loyaltysim.model.state import CustomerState, Market, loyalty_of, satisfaction_options
from loyaltysim.model.streams import CustomerStreams

__all__ = ["Customer", "ReferenceModel"]


@dataclass
class Customer:
    """One customer: its lasting traits and state, and what happens to it within a period."""

    index: int
    firm: int
    tenure: int
    belief: list[float]  # expected performance of each firm
    fit: list[float]  # personal match with each firm (performance offset)
    satisfaction: float
    trust: float
    loyalty: float
    switching_cost: float
    price_sensitivity: float
    talkativeness: float
    response_bias: float
    # Within a period:
    performance: float = 0.0
    complained: bool = False
    talks: bool = False
    heard_weight: list[float] = field(default_factory=list)  # per firm: sum of message weights
    heard_signal: list[float] = field(default_factory=list)  # per firm: sum of weight · signal
    rating: int = 0
    recommend: int = 0
    next_firm: int = 0

    def experience(self, market: Market, config: Config, draws: ExperienceDraws) -> float:
        """Buy from the current firm; return the satisfaction with this purchase."""
        i, f = self.index, self.firm
        performance = market.quality[f] + self.fit[f] + market.consistency[f] * draws.performance_noise[i]
        self.performance = min(max(performance, 0.0), 1.0)
        fairness = rules.price_fairness(market.price[f], config.economics.reference_price, self.price_sensitivity)
        transaction = float(
            rules.transaction_satisfaction(
                self.performance,
                self.belief[f],
                fairness,
                **satisfaction_options(config),
            )
        )
        self.complained = transaction < 0.5 and bool(market.recovery_enabled[f])
        if self.complained and draws.recovery[i] < market.recovery_success[f]:
            transaction = transaction + market.recovery_softening[f] * (0.5 - transaction)
        return transaction

    def update_attitudes(self, transaction: float, market: Market, config: Config, draws: ExperienceDraws) -> None:
        """Cumulative satisfaction, trust, beliefs about every firm, loyalty; decide whether to talk."""
        sat, expectations, wom = config.satisfaction, config.expectations, config.word_of_mouth
        tenure_years = self.tenure / config.periods_per_year
        memory_weight = rules.experience_weight(1.0 - sat.memory, tenure_years, sat.tenure_anchoring)
        self.satisfaction = float(rules.update_cumulative_satisfaction(self.satisfaction, transaction, memory_weight))
        self.trust = float(
            rules.update_trust(self.trust, transaction, growth=config.loyalty.trust_growth, loss_aversion=sat.loss_aversion)
        )
        for j in range(len(self.belief)):  # advertising reaches everyone, about every firm
            self.belief[j] = float(rules.update_belief(self.belief[j], market.promise[j], expectations.advertising_weight))
        own_weight = rules.experience_weight(expectations.experience_weight, tenure_years, sat.tenure_anchoring)
        self.belief[self.firm] = float(rules.update_belief(self.belief[self.firm], self.performance, own_weight))
        self.loyalty = float(loyalty_of(config, self.satisfaction, self.trust, self.tenure))
        self.talks = False
        if draws.talk is not None:
            chance = rules.talk_probability(
                self.satisfaction,
                self.talkativeness,
                talk_rate=wom.talk_rate,
                extremity=wom.extremity,
                negativity=wom.negativity,
            )
            self.talks = bool(draws.talk[self.index] < chance)

    def hear(self, firm: int, weight: float, signal: float) -> None:
        """Receive one message about ``firm``: its weight and the performance it reports."""
        self.heard_weight[firm] += weight
        self.heard_signal[firm] += weight * signal

    def listen(self, config: Config) -> None:
        """Move beliefs toward what was heard this period, firm by firm."""
        for j, weight in enumerate(self.heard_weight):
            if weight > 0.0:
                self.belief[j] = float(
                    rules.absorb_messages(self.belief[j], weight, self.heard_signal[j], config.word_of_mouth.influence)
                )

    def answer_survey(self, config: Config, draws: ResponseDraws) -> None:
        """Rating (1–5) and likelihood to recommend (0–10), at the moment of the decision."""
        obs, i = config.observation, self.index
        noise = obs.rating_noise * draws.rating_noise[i]
        self.rating = int(rules.survey_rating(self.satisfaction, self.response_bias, noise, obs.rating_cutoffs))
        self.recommend = int(
            rules.likelihood_to_recommend(
                self.satisfaction,
                self.loyalty,
                self.response_bias,
                obs.rating_noise * draws.recommend_noise[i],
                curvature=obs.recommend_curvature,
            )
        )

    def choose_firm(self, market: Market, config: Config, active: np.ndarray, draws: ResponseDraws) -> None:
        """Logit choice among the firms in the market; the current one carries loyalty and switching cost."""
        sw, i, k = config.switching, self.index, len(self.belief)
        utility = []
        for j in range(k):
            fairness = rules.price_fairness(market.price[j], config.economics.reference_price, self.price_sensitivity)
            u = sw.value_weight * (self.belief[j] + fairness)
            if j == self.firm:
                u += sw.loyalty_weight * self.loyalty + self.switching_cost + market.programme_switching_cost[j]
            utility.append(u / sw.choice_noise if active[j] else -np.inf)
        best = max(utility)
        weight = [float(np.exp(u - best)) for u in utility]
        alternatives = any(w > 0.0 for j, w in enumerate(weight) if j != self.firm)
        if draws.variety is not None and alternatives and draws.variety[i] < sw.variety_seeking:
            weight[self.firm] = 0.0  # seeks variety: anything but the current firm
        target = draws.choice[i] * sum_in_order(weight)
        cumulative = 0.0
        for j in range(k):
            cumulative += weight[j]
            if weight[j] > 0.0:
                self.next_firm = j
                if cumulative > target:
                    break

    def start_next_period(self, market: Market, config: Config) -> None:
        """Stay (one period more of tenure) or start with the new firm: expectation met, trust 0.5, tenure 0."""
        if self.next_firm == self.firm:
            self.tenure += 1
            return
        self.firm, self.tenure, self.trust = self.next_firm, 0, 0.5
        expectation = self.belief[self.firm]
        fairness = rules.price_fairness(market.price[self.firm], config.economics.reference_price, self.price_sensitivity)
        self.satisfaction = float(
            rules.transaction_satisfaction(
                expectation,
                expectation,
                fairness,
                **satisfaction_options(config),
            )
        )
        self.loyalty = float(loyalty_of(config, self.satisfaction, self.trust, self.tenure))


def sum_in_order(values: list[float]) -> float:
    """Left-to-right sum (the order matters in the last bits)."""
    total = 0.0
    for value in values:
        total += value
    return total


@dataclass
class PeriodRecord:
    """What the reference model reports about one period (the engine's outcome, per customer)."""

    satisfaction: np.ndarray
    loyalty: np.ndarray
    rating: np.ndarray
    recommend: np.ndarray
    switched: np.ndarray
    messages_positive: int
    messages_negative: int
    purchases: np.ndarray
    won: np.ndarray
    lost: np.ndarray
    complaints: np.ndarray
    satisfaction_by_firm: np.ndarray


class ReferenceModel:
    """The market as a list of :class:`Customer` objects, stepped one customer at a time.

    Build it from a :class:`~loyaltysim.model.loyalty_model.LoyaltyModel` before its first step
    (:meth:`copy_of`): it takes a copy of the customers, firms, network and random generator.
    """

    def __init__(self, config: Config, state: CustomerState, market: Market, network: Network, streams: CustomerStreams):
        self.config, self.market, self.network, self.streams = config, market, network, streams
        self.steps = 0
        self.customers = [
            Customer(
                index=i,
                firm=int(state.firm[i]),
                tenure=int(state.tenure[i]),
                belief=state.belief[i].tolist(),
                fit=state.fit[i].tolist(),
                satisfaction=float(state.satisfaction[i]),
                trust=float(state.trust[i]),
                loyalty=float(state.loyalty[i]),
                switching_cost=float(state.switching_cost[i]),
                price_sensitivity=float(state.price_sensitivity[i]),
                talkativeness=float(state.talkativeness[i]),
                response_bias=float(state.response_bias[i]),
            )
            for i in range(state.n)
        ]

    @classmethod
    def copy_of(cls, model) -> ReferenceModel:
        """A reference model in the same state as ``model`` (a LoyaltyModel), with a copy of its random streams."""
        return cls(model.config, model.state, copy.deepcopy(model.market), model.network, model.streams.copy())

    def step(self) -> PeriodRecord:
        """One period for every customer."""
        self.steps += 1
        config, market, customers = self.config, self.market, self.customers
        market.apply_shocks(self.steps)
        k = len(market.names)
        layout = draw_layout(config, market, self.network)
        draws = draw_experience(self.streams, recovery=layout["recovery"], talk=layout["talk"])
        active = market.active(self.steps)
        firm_before = [c.firm for c in customers]
        for customer in customers:
            transaction = customer.experience(market, config, draws)
            customer.update_attitudes(transaction, market, config, draws)
        positive, negative = self.spread_word_of_mouth(draws)
        response = draw_response(self.streams, variety=layout["variety"])
        for customer in customers:
            customer.answer_survey(config, response)
            customer.choose_firm(market, config, active, response)
        record = self._tally(firm_before, k)
        for customer in customers:
            customer.start_next_period(market, config)
        record.messages_positive, record.messages_negative = positive, negative
        if config.strategy.adaptive:
            self._adapt_firms(record.satisfaction_by_firm, active)
        return record

    def spread_word_of_mouth(self, draws: ExperienceDraws) -> tuple[int, int]:
        """Talkers, in customer order, tell each neighbour (in stored order) about their firm, each
        message arriving with chance ``reach`` (one uniform per neighbour, drawn by the talker's block);
        then everyone listens."""
        wom, customers = self.config.word_of_mouth, self.customers
        for customer in customers:
            customer.heard_weight = [0.0] * len(customer.belief)
            customer.heard_signal = [0.0] * len(customer.belief)
        if draws.talk is None:
            return 0, 0
        talkers = [c for c in customers if c.talks]
        block = self.streams.block
        per_block = [0] * len(self.streams.generators)
        for talker in talkers:
            per_block[talker.index // block] += len(self.network.neighbours(talker.index))
        delivery = iter([u for generator, m in zip(self.streams.generators, per_block, strict=True) for u in generator.random(m)])
        positive = negative = 0
        for talker in talkers:
            complaint = talker.satisfaction < 0.5
            weight = wom.negative_weight if complaint else 1.0
            for neighbour in self.network.neighbours(talker.index):
                if next(delivery) < wom.reach:
                    customers[neighbour].hear(talker.firm, weight, talker.performance)
                    negative += complaint
                    positive += not complaint
        for customer in customers:
            customer.listen(self.config)
        return positive, negative

    def _tally(self, firm_before: list[int], k: int) -> PeriodRecord:
        purchases, won, lost, complaints = (np.zeros(k, dtype=np.int64) for _ in range(4))
        by_block = np.zeros((len(self.streams.generators), k))  # satisfaction by firm, summed block by block
        for customer, firm in zip(self.customers, firm_before, strict=True):
            purchases[firm] += 1
            by_block[customer.index // self.streams.block, firm] += customer.satisfaction
            complaints[firm] += customer.complained
            if customer.next_firm != firm:
                won[customer.next_firm] += 1
                lost[firm] += 1
        customers = self.customers
        return PeriodRecord(
            satisfaction=np.array([c.satisfaction for c in customers]),
            loyalty=np.array([c.loyalty for c in customers]),
            rating=np.array([c.rating for c in customers], dtype=np.int8),
            recommend=np.array([c.recommend for c in customers], dtype=np.int8),
            switched=np.array([c.next_firm != c.firm for c in customers]),
            messages_positive=0,
            messages_negative=0,
            purchases=purchases,
            won=won,
            lost=lost,
            complaints=complaints,
            satisfaction_by_firm=np.array([s / p if p else np.nan for s, p in zip(by_block.sum(axis=0), purchases, strict=True)]),
        )

    def _adapt_firms(self, satisfaction_by_firm: np.ndarray, active: np.ndarray) -> None:
        """Each adaptive firm in the market below its satisfaction target raises quality (and unit cost)."""
        strategy, market = self.config.strategy, self.market
        for j in range(len(market.names)):
            if active[j] and satisfaction_by_firm[j] < strategy.satisfaction_target:
                step_up = min(strategy.adjustment, 1.0 - market.quality[j])
            else:
                step_up = 0.0
            market.quality[j] = market.quality[j] + step_up
            market.unit_cost[j] = market.unit_cost[j] + strategy.quality_unit_cost * step_up

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The customers' state as arrays (the engine's :class:`CustomerState` fields)."""
        customers = self.customers
        return {
            "firm": np.array([c.firm for c in customers]),
            "tenure": np.array([c.tenure for c in customers]),
            "belief": np.array([c.belief for c in customers]),
            "satisfaction": np.array([c.satisfaction for c in customers]),
            "trust": np.array([c.trust for c in customers]),
            "loyalty": np.array([c.loyalty for c in customers]),
        }
