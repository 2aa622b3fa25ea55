"""The model one customer at a time: a readable reference of the rules, for teaching and docking.

The engine (:mod:`loyaltysim.model.engine`) runs a period for all customers at once in compiled loops.
This module runs the same period with one :class:`Customer` object per customer, each step written as
a plain method that calls the rules of :mod:`loyaltysim.model.rules` uncompiled (``rule.py_func``: the
very functions the compiled loops call; the helpers a rule calls, such as :func:`~loyaltysim.model.rules.sigmoid`,
run compiled, with the same arithmetic). It reads the same pre-drawn random numbers
(:func:`loyaltysim.model.engine.draw_experience`, one uniform per neighbour of each talker,
:func:`loyaltysim.model.engine.draw_response`), so for the same seed it must give the engine's results:
the docking tests (``tests/test_docking.py``) check that it does, which checks the loops' orchestration:
order, draws, word of mouth, sums. It is slow (a Python loop over customers): use it to read or check
the model, not to run studies.

A period, for every customer in turn (everyone reacts to the state at the start of the period):

1. :meth:`Customer.experience`: buy, experience performance, complain / be recovered;
2. :meth:`Customer.update_attitudes`: satisfaction, trust, beliefs, loyalty, whether to talk;
3. word of mouth: each talker tells each neighbour (:meth:`ReferenceModel.spread_word_of_mouth`),
   then :meth:`Customer.listen` absorbs what was heard;
4. :meth:`Customer.answer_survey`, :meth:`Customer.consider` (an offer? compare the firms?), then
   :meth:`Customer.choose_firm`;
5. firms' tallies, then :meth:`Customer.start_next_period`; then the adaptive firms adapt;
6. the firms' practices (ODD 7.17, :meth:`ReferenceModel.practise`): volume, bookkeeping, win-back, targeting.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from loyaltysim.config.schema import Config
from loyaltysim.model import parameters, rules
from loyaltysim.model.engine import ExperienceDraws, ResponseDraws, draw_experience, draw_layout, draw_response
from loyaltysim.model.network import Network
from loyaltysim.model.parameters import Parameters
from loyaltysim.model.state import CustomerState, Market
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
    tolerance: float
    # Reviews, perceived risk, identification (7.14–7.16), each used only with its switch on:
    reader: bool = False  # reads the review platform
    tried: list[bool] = field(default_factory=list)  # per firm: ever bought from it
    heard_about: list[float] = field(default_factory=list)  # per firm: weight of all word of mouth heard
    identification: float = 0.0  # with the current firm
    left_firm: int = rules.NOBODY  # 7.17: the firm it left last, why, and how satisfied
    left_reason: int = rules.PUSHED
    left_satisfaction: float = 0.0
    benefit_quality: float = 0.0  # 7.17: relationship benefits from its current firm, if targeted
    benefit_switching: float = 0.0
    # Within a period:
    performance: float = 0.0
    complained: bool = False
    talks: bool = False
    felt: float = 0.0  # what it talks about: satisfaction mixed with this purchase's
    sent: int = 0  # messages delivered this period
    prompted: bool = False  # heard a complaint about its firm or praise of another
    offer: int = -1  # the rival that made it an offer (−1: none)
    considered: bool = False  # compared the firms
    heard_weight: list[float] = field(default_factory=list)  # per firm: sum of message weights
    heard_signal: list[float] = field(default_factory=list)  # per firm: sum of weight · signal
    rating: int = 0
    recommend: int = 0
    posted: bool = False  # posted its rating to the review platform
    next_firm: int = 0

    def fairness(self, market: Market, firm: int, p: Parameters) -> float:
        """How fair ``firm``'s price feels to this customer."""
        return rules.price_fairness.py_func(rules.relative_discount.py_func(market.price[firm], p), self.price_sensitivity)

    def experience(self, market: Market, p: Parameters, draws: ExperienceDraws) -> float:
        """Buy from the current firm; return the satisfaction with this purchase."""
        i, f = self.index, self.firm
        quality = rules.benefit_quality.py_func(market.quality[f], self.benefit_quality)
        self.performance = rules.performance.py_func(quality, self.fit[f], market.consistency[f], draws.performance_noise[i])
        transaction = rules.transaction_satisfaction.py_func(self.performance, self.belief[f], self.fairness(market, f, p), p)
        self.complained = rules.is_complaint.py_func(transaction, bool(market.recovery_enabled[f]))
        if self.complained:
            transaction = rules.recover.py_func(
                transaction, draws.recovery[i], market.recovery_success[f], market.recovery_softening[f]
            )
        return transaction

    def update_attitudes(self, transaction: float, market: Market, p: Parameters, draws: ExperienceDraws) -> None:
        """Cumulative satisfaction, trust, beliefs about every firm, loyalty; decide whether to talk."""
        memory = rules.memory_weight.py_func(self.tenure, p)
        self.satisfaction = rules.update_cumulative_satisfaction.py_func(self.satisfaction, transaction, memory)
        self.trust = rules.update_trust.py_func(self.trust, transaction, p)
        for j in range(len(self.belief)):  # advertising reaches everyone, about every firm
            self.belief[j] = rules.advertised_belief.py_func(self.belief[j], market.promise[j], p)
        if self.tried:
            self.tried[self.firm] = True
        if p.reviews_enabled and self.reader:
            self.read_reviews(market, p)
        learning = rules.belief_weight.py_func(self.tenure, p)
        self.belief[self.firm] = rules.experienced_belief.py_func(self.belief[self.firm], self.performance, learning)
        self.loyalty = rules.loyalty.py_func(self.satisfaction, self.trust, rules.habit.py_func(self.tenure, p), p)
        if p.identification_enabled:
            self.identification = rules.update_identification.py_func(self.identification, transaction, p)
            self.loyalty = rules.identified_loyalty.py_func(self.loyalty, self.identification, p)
        self.felt = rules.talked_satisfaction.py_func(self.satisfaction, transaction, p)
        self.talks = False
        if draws.talk is not None:
            self.talks = bool(draws.talk[self.index] < rules.talk_probability.py_func(self.felt, self.talkativeness, p))

    def read_reviews(self, market: Market, p: Parameters) -> None:
        """Move the beliefs about the firms it reads about toward their average ratings on the platform (7.14)."""
        for j in range(len(self.belief)):
            if rules.reads_about.py_func(self.reader, self.tried[j], p):
                self.belief[j] = rules.reviewed_belief.py_func(self.belief[j], market.review_sum[j], market.review_count[j], p)

    def hear(self, firm: int, negative: bool, weight: float, signal: float) -> None:
        """Receive one message about ``firm``: its valence, its weight and the performance it reports."""
        self.heard_weight[firm] += weight
        self.heard_signal[firm] += weight * signal
        self.prompted = self.prompted or rules.is_prompting.py_func(negative, firm == self.firm)

    def listen(self, p: Parameters) -> None:
        """Move beliefs toward what was heard this period, firm by firm."""
        for j, weight in enumerate(self.heard_weight):
            if weight > 0.0:
                self.belief[j] = rules.absorb_messages.py_func(self.belief[j], weight, self.heard_signal[j], p)
                if p.risk_enabled:
                    self.heard_about[j] += weight

    def answer_survey(self, p: Parameters, draws: ResponseDraws) -> None:
        """Rating (1–5) and likelihood to recommend (0–10), at the moment of the decision."""
        i = self.index
        self.rating = rules.survey_rating.py_func(self.satisfaction, self.response_bias, draws.rating_noise[i], p)
        self.recommend = rules.likelihood_to_recommend.py_func(
            self.satisfaction, self.loyalty, self.response_bias, draws.recommend_noise[i], p
        )
        self.posted = draws.review is not None and rules.posts_review.py_func(draws.review[i], self.rating, p)

    def consider(self, p: Parameters, active: np.ndarray, draws: ResponseDraws) -> None:
        """Get a rival's offer or not, then decide whether to compare the firms this period."""
        i = self.index
        self.offer = -1
        if draws.offer is not None:
            self.offer = rules.offering_rival.py_func(active, self.firm, draws.offer[i], draws.rival[i], p)
        chance = rules.consideration_probability.py_func(
            self.satisfaction, self.loyalty, self.tolerance, self.prompted, self.offer >= 0, p
        )
        variety = draws.variety[i] if draws.variety is not None else rules.NOT_DRAWN
        consider = draws.consider[i] if draws.consider is not None else rules.NOT_DRAWN
        self.considered = rules.considers.py_func(variety, consider, chance, p)

    def choose_firm(self, market: Market, p: Parameters, active: np.ndarray, draws: ResponseDraws) -> None:
        """Stay unless comparing; then logit choice among the firms in the market: the current one carries
        loyalty and switching cost, an offering rival its offer."""
        self.next_firm = self.firm
        if not self.considered:
            return
        cost = rules.relational_switching_cost.py_func(self.switching_cost, self.trust, p)
        programme = rules.benefit_switching_cost.py_func(market.programme_switching_cost[self.firm], self.benefit_switching)
        utilities = np.full(len(self.belief), -math.inf)
        for j in range(len(self.belief)):
            if not active[j]:
                continue
            value = rules.perceived_value.py_func(self.belief[j], self.fairness(market, j, p))
            utilities[j] = rules.utility.py_func(value, j == self.firm, self.loyalty, cost, programme, j == self.offer, p)
            if p.risk_enabled:
                utilities[j] -= rules.perceived_risk.py_func(
                    self.tried[j], market.review_count[j], self.heard_about[j], self.trust, p
                )
        variety = draws.variety[self.index] if draws.variety is not None else rules.NOT_DRAWN
        self.next_firm = rules.choose_firm.py_func(utilities, self.firm, variety, draws.choice[self.index], p)
        if self.next_firm != self.firm:
            self.left_firm = self.firm
            self.left_reason = rules.leaving_reason.py_func(variety, self.next_firm == self.offer, p)
            self.left_satisfaction = self.satisfaction

    def start_next_period(self, market: Market, p: Parameters) -> None:
        """Stay (one period more of tenure) or start with the new firm: expectation met, trust 0.5, tenure 0."""
        if self.next_firm == self.firm:
            self.tenure += 1
            return
        self.firm, self.tenure = self.next_firm, 0
        self.satisfaction, self.trust, self.loyalty = rules.start_relationship.py_func(
            self.belief[self.firm], self.fairness(market, self.firm, p), self.tenure, p
        )
        if p.identification_enabled:  # none yet with the new brand
            self.identification = 0.0
            self.loyalty = rules.identified_loyalty.py_func(self.loyalty, 0.0, p)


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
    sent: np.ndarray
    """Messages each customer delivered."""
    negative: np.ndarray
    """Whether each customer's messages were complaints."""
    considered: np.ndarray
    """Whether each customer compared the firms."""
    offered: np.ndarray
    """Whether a rival made each customer an offer."""


class ReferenceModel:
    """The market as a list of :class:`Customer` objects, stepped one customer at a time.

    Build it from a :class:`~loyaltysim.model.loyalty_model.LoyaltyModel` before its first step
    (:meth:`copy_of`): it takes a copy of the customers, firms, network and random generator.
    """

    def __init__(
        self,
        config: Config,
        state: CustomerState,
        market: Market,
        network: Network,
        streams: CustomerStreams,
        practice_rng: np.random.Generator | None = None,
    ):
        self.config, self.market, self.network, self.streams = config, market, network, streams
        self.practice_rng = practice_rng
        """The firm practices' generator (a copy of the engine's), None if no practice is on."""
        self.spend = [float(market.price[f]) * int(t) for f, t in zip(state.firm, state.tenure, strict=True)]
        self.won_back = [False] * state.n
        self.practised: dict[str, np.ndarray] = {}
        """What the practices did after the last period, per firm (the engine's ``PracticeOutcome`` fields)."""
        self.parameters = parameters.record(config)
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
                tolerance=float(state.tolerance[i]),
                reader=bool(state.reader[i]) if len(state.reader) else False,
                tried=state.tried[i].tolist() if len(state.tried) else [],
                heard_about=state.heard_about[i].tolist() if len(state.heard_about) else [],
                identification=float(state.identification[i]) if len(state.identification) else 0.0,
            )
            for i in range(state.n)
        ]

    @classmethod
    def copy_of(cls, model) -> ReferenceModel:
        """A reference model in the same state as ``model`` (a LoyaltyModel), with a copy of its random streams."""
        rng = copy.deepcopy(model.practices.rng) if model.practices is not None else None
        return cls(model.config, model.state, copy.deepcopy(model.market), model.network, model.streams.copy(), rng)

    def step(self) -> PeriodRecord:
        """One period for every customer."""
        self.steps += 1
        config, market, customers, p = self.config, self.market, self.customers, self.parameters
        market.apply_shocks(self.steps)
        k = len(market.names)
        layout = draw_layout(config, market, self.network)
        draws = draw_experience(self.streams, recovery=layout["recovery"], talk=layout["talk"])
        active = market.active(self.steps)
        firm_before = [c.firm for c in customers]
        for customer in customers:
            transaction = customer.experience(market, p, draws)
            customer.update_attitudes(transaction, market, p, draws)
        positive, negative = self.spread_word_of_mouth(draws)
        response = draw_response(
            self.streams, variety=layout["variety"], consider=layout["consider"], offers=layout["offers"], review=layout["review"]
        )
        for customer in customers:
            customer.answer_survey(p, response)
            customer.consider(p, active, response)
            customer.choose_firm(market, p, active, response)
        record = self._tally(firm_before, k)
        for customer in customers:
            customer.start_next_period(market, p)
        record.messages_positive, record.messages_negative = positive, negative
        if p.reviews_enabled:
            self.publish_reviews(firm_before, active)
        self._adapt_firms(record.satisfaction_by_firm, active)
        if self.practice_rng is not None:
            self.practised = self.practise(record, firm_before, active)
        return record

    def publish_reviews(self, firm_before: list[int], active: np.ndarray) -> None:
        """The platform after the period (7.14): each firm's posted ratings, then its fake reviews if it is in the market."""
        market, p, k = self.market, self.parameters, len(active)
        posted_sum, posted = [0.0] * k, [0.0] * k
        for customer, firm in zip(self.customers, firm_before, strict=True):
            if customer.posted:
                posted_sum[firm] += customer.rating
                posted[firm] += 1.0
        for j in range(k):
            fake = market.fake_reviews[j] if active[j] else 0.0
            market.review_sum[j], market.review_count[j] = rules.update_platform.py_func(
                market.review_sum[j], market.review_count[j], posted_sum[j], posted[j], fake, p
            )

    def spread_word_of_mouth(self, draws: ExperienceDraws) -> tuple[int, int]:
        """Talkers, in customer order, tell each neighbour (in stored order) about their firm, each
        message arriving with chance ``reach`` (one uniform per neighbour, drawn by the talker's block);
        then everyone listens."""
        p, customers = self.parameters, self.customers
        for customer in customers:
            customer.heard_weight = [0.0] * len(customer.belief)
            customer.heard_signal = [0.0] * len(customer.belief)
            customer.sent = 0
            customer.prompted = False
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
            complaint = rules.speaks_negatively.py_func(talker.felt)
            weight = rules.message_weight.py_func(complaint, p)
            for neighbour in self.network.neighbours(talker.index):
                if rules.message_reaches.py_func(next(delivery), p):
                    customers[neighbour].hear(talker.firm, complaint, weight, talker.performance)
                    talker.sent += 1
                    negative += complaint
                    positive += not complaint
        for customer in customers:
            customer.listen(p)
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
            sent=np.array([c.sent for c in customers]),
            negative=np.array([rules.speaks_negatively.py_func(c.felt) for c in customers]),
            considered=np.array([c.considered for c in customers]),
            offered=np.array([c.offer >= 0 for c in customers]),
        )

    def _adapt_firms(self, satisfaction_by_firm: np.ndarray, active: np.ndarray) -> None:
        """Each firm in the market whose strategy is ``adaptive_quality`` adapts (the built-in strategies only)."""
        market = self.market
        for j, firm in enumerate(self.config.firms):
            strategy = firm.strategy or self.config.strategy
            if strategy.kind not in ("none", "adaptive_quality"):
                raise ValueError(f"the reference model runs the built-in strategies only, not {strategy.kind!r}")
            if strategy.kind == "adaptive_quality" and active[j]:
                market.quality[j], market.unit_cost[j] = rules.adapt_quality.py_func(
                    market.quality[j],
                    market.unit_cost[j],
                    satisfaction_by_firm[j],
                    strategy.satisfaction_target,
                    strategy.adjustment,
                    strategy.quality_unit_cost,
                )

    def practise(self, record: PeriodRecord, firm_before: list[int], active: np.ndarray) -> dict[str, np.ndarray]:
        """The firms' practices after the period (ODD 7.17), one customer at a time: volume, bookkeeping,
        win-back, targeting. Returns the per-firm tallies (and ``units``, per customer)."""
        config, market, p, customers = self.config, self.market, self.parameters, self.customers
        k = len(market.names)
        tally = {
            name: np.zeros(k, dtype=np.int64) for name in ("win_back_contacts", "win_backs", "taken", "targeted", "targeted_lost")
        }
        firm_units, win_back_revenue = np.zeros(k), np.zeros(k)
        units = np.array(
            [rules.purchase_units.py_func(record.loyalty[c.index], record.satisfaction[c.index], p) for c in customers]
        )
        for c, firm in zip(customers, firm_before, strict=True):  # 1, 2: volume and bookkeeping
            i = c.index
            firm_units[firm] += units[i]
            paid = market.price[firm] * units[i]
            self.spend[i] += paid
            if self.won_back[i]:
                win_back_revenue[firm] += paid
            if c.benefit_quality > 0.0 or c.benefit_switching > 0.0:
                tally["targeted"][firm] += 1
                tally["targeted_lost"][firm] += record.switched[i]
            if record.switched[i]:
                self.spend[i], self.won_back[i] = 0.0, False
                c.benefit_quality = c.benefit_switching = 0.0
        if any(f.win_back.enabled for f in config.firms):  # 3. win-back
            draws = self.practice_rng.random(len(customers))
            for c in customers:
                f = c.left_firm
                policy = config.firms[f].win_back if f >= 0 else None
                if policy is None or not (policy.enabled and active[f]) or c.firm == f or c.tenure >= policy.window:
                    continue
                tally["win_back_contacts"][f] += 1
                chance = rules.win_back_probability.py_func(
                    c.left_reason, c.left_satisfaction, policy.offer, policy.service_recovery, p
                )
                if draws[c.index] < chance:
                    tally["win_backs"][f] += 1
                    tally["taken"][c.firm] += 1
                    c.firm, c.tenure = f, 0
                    c.satisfaction, c.trust, c.loyalty = rules.start_relationship.py_func(
                        c.belief[f], c.fairness(market, f, p), 0, p
                    )
                    c.benefit_quality = c.benefit_switching = 0.0
                    self.won_back[c.index], self.spend[c.index] = True, 0.0
        for j, firm in enumerate(config.firms):  # 4. targeting
            policy = firm.targeting
            if not policy.enabled or (self.steps - 1) % policy.every:
                continue
            members = [c for c in customers if c.firm == j]
            for c in members:
                c.benefit_quality = c.benefit_switching = 0.0
            chosen = members
            size = policy.size * policy.share
            if not policy.spread:
                margin = market.price[j] - market.unit_cost[j] - market.programme_cost[j] - config.economics.retention_cost
                value = {c.index: self._value(c, margin, policy.by) for c in members}
                ranked = sorted(members, key=lambda c: -value[c.index])
                chosen, size = ranked[: rules.targeted_count.py_func(len(members), policy.share)], policy.size
            for c in chosen:
                setattr(c, "benefit_quality" if policy.benefit == "quality" else "benefit_switching", size)
        return {"units": units, "firm_units": firm_units, "win_back_revenue": win_back_revenue, **tally}

    def _value(self, customer: Customer, margin: float, by: str) -> float:
        """A customer's value to its firm: the relationship's revenue so far, or its estimated lifetime value."""
        if by == "revenue":
            return self.spend[customer.index]
        p = self.parameters
        units = rules.purchase_units.py_func(customer.loyalty, customer.satisfaction, p)
        return rules.lifetime_value.py_func(margin * units, customer.loyalty, p)

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
            "tried": np.array([c.tried for c in customers], dtype=bool),
            "heard_about": np.array([c.heard_about for c in customers]),
            "identification": np.array([c.identification for c in customers]),
            **{
                name: np.array([getattr(c, name) for c in customers])
                for name in ("left_firm", "left_reason", "left_satisfaction", "benefit_quality", "benefit_switching")
            },
        }
