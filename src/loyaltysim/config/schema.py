"""The scenario schema: every parameter with its default, range and meaning.

A :class:`Config` is validated and frozen. Build one from YAML with
:func:`loyaltysim.config.loading.load_config`, or directly in Python::

    >>> from loyaltysim import Config
    >>> Config().customers.n
    2000

Scales: quality, performance, expectations and beliefs live on [0, 1]
(0 = worst imaginable, 1 = best); satisfaction, loyalty and trust on [0, 1]
(0.5 = neutral); prices and costs are in currency units per purchase period.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loyaltysim.config.firm_template import resolve_firms
from loyaltysim.config.references import NAME, is_reference

__all__ = [
    "LINK_FUNCTIONS",
    "NETWORK_TYPES",
    "PERIODS_PER_YEAR",
    "STRATEGY_KINDS",
    "Config",
    "CustomerConfig",
    "Distribution",
    "FirmConfig",
    "FirmTemplate",
    "StrategyConfig",
]

PERIODS_PER_YEAR: dict[str, int] = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}
LINK_FUNCTIONS = ("linear", "threshold", "zone_of_tolerance", "concave")
NETWORK_TYPES = ("watts_strogatz", "barabasi_albert", "erdos_renyi", "complete", "file", "none")
STRATEGY_KINDS = ("none", "adaptive_quality")
"""The firm strategies built into the model; a user's are registered by name or written ``module:Class``."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
UnitInterval = Probability
NonNegative = Annotated[float, Field(ge=0.0)]
# Scale parameters that are divided by (or whose inverse is): below this floor, float arithmetic breaks down.
AtLeastTiny = Annotated[float, Field(ge=1e-6)]
MAGNITUDE_LIMIT = 1e12  # no quantity of the model is meaningful beyond this; larger ones risk overflow


class Section(BaseModel):
    """Base of every config section: frozen, unknown keys, NaN and infinity refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _not_huge(cls, value: object) -> object:
        if isinstance(value, float) and abs(value) > MAGNITUDE_LIMIT:
            raise ValueError(f"must lie within ±{MAGNITUDE_LIMIT:g}")
        return value


class Distribution(Section):
    """A per-customer random attribute.

    In YAML either a number (every customer gets that value) or a mapping such
    as ``{dist: lognormal, mean: 1.5, sd: 1.0}``. ``low``/``high`` bound a
    ``uniform`` draw and clip the others.
    """

    dist: Literal["constant", "normal", "lognormal", "gamma", "beta", "uniform"] = Field(
        "constant", description="family of the distribution"
    )
    mean: float = Field(0.0, description="mean of the attribute (the value, for constant)")
    sd: NonNegative = Field(0.0, description="standard deviation of the attribute")
    low: float | None = Field(None, description="lower bound (uniform range, or clip)")
    high: float | None = Field(None, description="upper bound (uniform range, or clip)")

    @model_validator(mode="before")
    @classmethod
    def _number_means_constant(cls, data: object) -> object:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"dist": "constant", "mean": data}
        return data

    @model_validator(mode="after")
    def _check_parameters(self) -> Distribution:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.dist == "uniform" and (self.low is None or self.high is None):
            raise ValueError("a uniform distribution needs both low and high")
        if self.dist in ("lognormal", "gamma") and self.mean <= 0:
            raise ValueError(f"a {self.dist} distribution needs mean > 0, got {self.mean}")
        if self.dist in ("lognormal", "gamma") and self.sd > 0:
            ratio = self.mean / self.sd
            if not 0 < ratio * ratio < math.inf or not 0 < 1 / (ratio * ratio) < math.inf:
                raise ValueError(
                    f"a {self.dist} distribution with mean {self.mean} and sd {self.sd} cannot be sampled: "
                    "(mean/sd)² is out of floating-point range"
                )
        if self.dist == "beta":
            if not 0 < self.mean < 1:
                raise ValueError(f"a beta distribution needs 0 < mean < 1, got {self.mean}")
            if self.sd >= math.sqrt(self.mean * (1 - self.mean)):
                raise ValueError(
                    f"a beta distribution needs sd² < mean·(1−mean) = {self.mean * (1 - self.mean):.4g}, got sd = {self.sd}"
                )
            if self.sd > 0 and self.sd * self.sd == 0:
                raise ValueError(f"a beta distribution needs sd = 0 or sd² > 0 in floating point, got sd = {self.sd}")
        return self


def constant(value: float) -> Distribution:
    """A distribution that gives every customer ``value``."""
    return Distribution(dist="constant", mean=value)


class RunConfig(Section):
    steps: int = Field(120, ge=1, le=10_000_000, description="number of purchase periods to simulate")
    seed: int = Field(42, ge=0, description="root random seed; a run is a pure function of (config, seed)")
    period: Literal["day", "week", "month", "quarter", "year"] = Field(
        "month", description="calendar length of one step (used to annualise rates)"
    )
    burn_in: int = Field(24, ge=0, description="first steps left out of the run summary (the market settles in)")
    panel_size: int = Field(0, ge=0, description="customers recorded every step in panel.parquet (0 = no panel)")
    warm_start: bool = Field(
        True,
        description="the market existed before the first period: customers know the firms, chose their supplier "
        "by value and have steady-state tenures (false: every customer starts with its initial expectation)",
    )


class SegmentConfig(Section):
    """A named group of customers with its own attribute distributions."""

    name: str = Field(description="segment label, reported in customer tables")
    share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(description="fraction of customers in it")
    switching_cost: Distribution | None = Field(None, description="overrides customers.switching_cost")
    price_sensitivity: Distribution | None = Field(None, description="overrides customers.price_sensitivity")
    talkativeness: Distribution | None = Field(None, description="overrides customers.talkativeness")
    initial_expectation: Distribution | None = Field(None, description="overrides customers.initial_expectation")
    response_bias: Distribution | None = Field(None, description="overrides observation.response_bias")
    tolerance: Distribution | None = Field(None, description="overrides customers.tolerance")


class CustomerConfig(Section):
    n: int = Field(2000, ge=1, le=100_000_000, description="number of customers")
    initial_expectation: Distribution = Field(
        Distribution(dist="normal", mean=0.6, sd=0.08, low=0.0, high=1.0),
        description="expected performance of every firm before any experience [0, 1]",
    )
    switching_cost: Distribution = Field(
        Distribution(dist="gamma", mean=5.0, sd=2.5),
        description="utility a customer gives up by changing supplier (time, money, relations) ≥ 0",
    )
    price_sensitivity: Distribution = Field(
        Distribution(dist="gamma", mean=0.3, sd=0.15),
        description="how much a relative price difference moves perceived value ≥ 0",
    )
    talkativeness: Distribution = Field(
        Distribution(dist="gamma", mean=1.0, sd=0.5),
        description="multiplier on the chance of talking about the firm ≥ 0",
    )
    tolerance: Distribution = Field(
        Distribution(dist="normal", mean=0.545, sd=0.08, low=0.0, high=1.0),
        description="cumulative satisfaction below which a customer starts looking for alternatives [0, 1] "
        "(switching.consideration: triggered)",
    )
    initial_tenure: NonNegative = Field(
        5.0, description="warm start: mean tenure (years) of the initial relationships, geometrically distributed"
    )
    fit: NonNegative = Field(
        0.15,
        description="sd of each customer's personal match with each firm (performance offset, fixed per pair)",
    )
    segments: list[SegmentConfig] = Field(
        default_factory=list,
        description="optional named segments; customers not in one use the defaults above",
    )

    @model_validator(mode="after")
    def _check_segments(self) -> CustomerConfig:
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segments: names must be unique, got {names}")
        total = sum(s.share for s in self.segments)
        if total > 1.0 + 1e-9:
            raise ValueError(f"segments: shares add up to {total:.4g}, more than 1")
        return self


class SatisfactionConfig(Section):
    sensitivity: Annotated[float, Field(gt=0.0)] = Field(
        12.0, description="slope of the logistic that turns felt value into transaction satisfaction"
    )
    loss_aversion: Annotated[float, Field(ge=1.0)] = Field(
        2.0, description="how much more a shortfall below expectation weighs than an equal surplus"
    )
    quality_weight: NonNegative = Field(
        0.5, description="weight of absolute performance (vs. the neutral point) next to disconfirmation"
    )
    neutral_performance: UnitInterval = Field(0.5, description="performance that feels neither good nor bad")
    memory: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.7, description="weight of past cumulative satisfaction when a new transaction arrives"
    )
    tenure_anchoring: NonNegative = Field(
        0.5, description="per year of tenure, how much less a new experience weighs (Bolton 1998)"
    )


class ExpectationConfig(Section):
    experience_weight: UnitInterval = Field(
        0.3, description="pull of a new experience on the belief about the current firm, per period"
    )
    advertising_weight: UnitInterval = Field(0.02, description="pull of each firm's promise on beliefs about it, per period")


class LoyaltyConfig(Section):
    link: Literal[LINK_FUNCTIONS] = Field(
        "threshold", description="shape of attitudinal loyalty as a function of cumulative satisfaction"
    )
    threshold: UnitInterval = Field(0.65, description="threshold link: satisfaction where loyalty rises fastest")
    steepness: AtLeastTiny = Field(12.0, description="threshold link: logistic slope")
    zone_low: UnitInterval = Field(0.35, description="zone_of_tolerance link: lower edge of the flat zone")
    zone_high: UnitInterval = Field(0.75, description="zone_of_tolerance link: upper edge of the flat zone")
    zone_slope: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.2, description="zone_of_tolerance link: slope inside the zone (1 = linear)"
    )
    concavity: Annotated[float, Field(ge=1.0)] = Field(
        3.0, description="concave link: exponent of 1 − (1 − s)^k (diminishing returns; 1 = linear)"
    )
    trust_weight: UnitInterval = Field(0.15, description="share of loyalty carried by trust")
    trust_growth: UnitInterval = Field(
        0.1, description="per period, how fast trust moves toward a good transaction's satisfaction"
    )
    habit_weight: UnitInterval = Field(0.1, description="share of loyalty carried by habit (inertia)")
    habit_years: Annotated[float, Field(gt=0.0)] = Field(2.0, description="tenure (years) over which habit builds up to ~63%")

    @model_validator(mode="after")
    def _check_shape(self) -> LoyaltyConfig:
        if self.zone_low >= self.zone_high:
            raise ValueError(f"zone_low: must be below zone_high ({self.zone_high}), got {self.zone_low}")
        if self.zone_high - self.zone_low >= 1.0:
            raise ValueError("zone_high: the zone of tolerance must leave room outside it (zone_low > 0 or zone_high < 1)")
        if self.trust_weight + self.habit_weight > 1.0:
            raise ValueError(
                f"habit_weight: trust_weight + habit_weight = {self.trust_weight + self.habit_weight:.4g} must not exceed 1"
            )
        return self


class SwitchingConfig(Section):
    value_weight: NonNegative = Field(
        12.6, description="utility per unit of perceived value (belief about performance + price fairness)"
    )
    loyalty_weight: NonNegative = Field(3.88, description="utility of full attitudinal loyalty to the current firm")
    choice_noise: AtLeastTiny = Field(1.0, description="scale of the logit choice noise (higher = more random choices)")
    variety_seeking: Probability = Field(
        0.002, description="per period chance of leaving whatever the satisfaction (variety, changing needs)"
    )
    consideration: Literal["triggered", "always"] = Field(
        "triggered",
        description="triggered: a customer compares the firms only when low satisfaction, word of mouth or a "
        "rival's offer prompts it (Roos 1999); always: every period",
    )
    tolerance_width: AtLeastTiny = Field(0.0495, description="softness of the dissatisfaction trigger around the tolerance")
    wom_prompt: Probability = Field(
        0.3,
        description="chance that hearing a complaint about the current firm or praise of another starts a comparison",
    )
    offer_rate: Probability = Field(
        0.00398, description="per period chance that each rival in the market makes a customer an offer"
    )
    offer_value: NonNegative = Field(1.13, description="utility an offer adds to the offering rival in that period's choice")
    fortitude: NonNegative = Field(
        1.0, description="how strongly attitudinal loyalty shields from word of mouth and offers (Oliver 1999)"
    )
    relational_share: UnitInterval = Field(
        0.555,
        description="share of the switching cost that is relational: it scales with trust, 2·trust at most "
        "(Burnham et al. 2003; 0 = all procedural and financial)",
    )


class WordOfMouthConfig(Section):
    enabled: bool = Field(True, description="customers talk to their network neighbours")
    talk_rate: Probability = Field(0.3, description="per period chance that a customer at an extreme of satisfaction talks")
    extremity: NonNegative = Field(2.0, description="exponent of the U shape: higher = only the very (dis)satisfied talk")
    negativity: Annotated[float, Field(ge=0.0)] = Field(
        2.01, description="how much likelier a dissatisfied customer talks than an equally satisfied one"
    )
    negative_weight: NonNegative = Field(2.0, description="weight of a negative message relative to a positive one")
    reach: Probability = Field(0.5, description="chance that a talk reaches each neighbour")
    influence: UnitInterval = Field(0.1, description="pull of one message on the listener's belief about that firm")
    incident_weight: UnitInterval = Field(
        0.834,
        description="weight of this period's purchase, next to cumulative satisfaction, in what a customer talks "
        "about and how (Keaveney 1995; 0 = cumulative satisfaction alone)",
    )


class ReviewsConfig(Section):
    """A public review platform per firm (Chevalier & Mayzlin 2006; Hu, Pavlou & Zhang 2009)."""

    enabled: bool = Field(False, description="customers post their survey ratings to a public platform and read its averages")
    post_rate: Probability = Field(0.05, description="per period chance that a customer with a middling rating (3) posts it")
    extremity: NonNegative = Field(
        2.0, description="how much likelier a rating of 1 or 5 is posted than a 3 (Hu, Pavlou & Zhang 2009: J-shaped)"
    )
    memory: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.95, description="per period weight of older reviews in the platform's average and count (recency weighting)"
    )
    weight: UnitInterval = Field(0.1, description="pull of the platform's average rating on a reader's belief, per period")
    credibility_count: AtLeastTiny = Field(
        20.0, description="(weighted) number of reviews at which the platform has half its pull on beliefs"
    )
    reader_share: UnitInterval = Field(1.0, description="share of customers who read the platform (drawn once per customer)")
    all_firms: bool = Field(
        False, description="readers also use the platform for firms they have bought from (false: untried only)"
    )


class RiskConfig(Section):
    """Perceived risk of buying from a firm not yet tried (Bauer 1960; Mitchell 1999)."""

    enabled: bool = Field(False, description="choosing a firm the customer has never bought from carries a utility penalty")
    penalty: NonNegative = Field(2.0, description="utility penalty of an untried firm about which nothing is known")
    review_scale: AtLeastTiny = Field(
        20.0, description="(weighted) review count that cuts the penalty by the factor e (reviews.enabled)"
    )
    word_of_mouth_scale: AtLeastTiny = Field(
        2.0, description="weight of word of mouth heard about the firm that cuts the penalty by the factor e"
    )
    trust_relief: UnitInterval = Field(
        0.5, description="share of the penalty a fully trusting customer does not feel (disposition to trust, Gefen 2000)"
    )


class IdentificationConfig(Section):
    """Customer–brand identification (Bhattacharya & Sen 2003), built by delight, lost slowly."""

    enabled: bool = Field(False, description="customers build an identification with their firm that adds to loyalty")
    delight_threshold: UnitInterval = Field(
        0.8, description="transaction satisfaction at or above which a purchase delights and builds identification"
    )
    growth: UnitInterval = Field(0.03, description="per delighting purchase, share of the way identification moves toward 1")
    decay: UnitInterval = Field(0.01, description="per other purchase, share of identification lost")
    weight: UnitInterval = Field(0.2, description="share of attitudinal loyalty carried by identification")


class NetworkConfig(Section):
    type: str = Field(
        "watts_strogatz",
        description="topology of the word-of-mouth network: watts_strogatz, barabasi_albert, erdos_renyi, complete, file, "
        "none, a registered network or module:function (a builder, see docs/sweeps.md)",
    )
    degree: Annotated[int, Field(ge=0)] = Field(
        10, description="mean number of neighbours (watts_strogatz, barabasi_albert, erdos_renyi)"
    )
    rewiring: Probability = Field(0.1, description="watts_strogatz: chance to rewire each edge")
    path: str | None = Field(None, description="file network: an edge list (.txt/.csv/.edgelist) or .graphml")

    @field_validator("type")
    @classmethod
    def _a_network_name(cls, value: str) -> str:
        """A built-in type, a plain name (registered: checked when the network is built) or module:function."""
        if value in NETWORK_TYPES or NAME.match(value) or is_reference(value):
            return value
        raise ValueError(f"expected one of {', '.join(NETWORK_TYPES)}, a registered network's name or module:function")


class LoyaltyProgramme(Section):
    enabled: bool = Field(False, description="the firm runs a loyalty programme for all its customers")
    switching_cost: NonNegative = Field(1.0, description="switching cost the programme adds to each member")
    cost_per_member: NonNegative = Field(0.3, description="programme cost per member per period")


class ServiceRecovery(Section):
    enabled: bool = Field(False, description="the firm handles complaints after bad experiences")
    success_rate: Probability = Field(0.7, description="chance that a bad experience is recovered")
    softening: UnitInterval = Field(0.6, description="share of the shortfall a recovery removes")
    cost: NonNegative = Field(2.0, description="cost per recovery attempt")


class QualityShock(Section):
    at: int | None = Field(None, ge=1, le=10_000_000, description="step at whose start the firm's quality changes (null: never)")
    change: Annotated[float, Field(ge=-1.0, le=1.0)] = Field(
        -0.2, description="change of quality then (result clipped to [0, 1]); negative = a service failure"
    )


# --- Firm practices (ODD 7.17): win-back, targeted relationship marketing ----------------------


class WinBackPolicy(Section):
    enabled: bool = Field(False, description="the firm contacts the customers it lost recently with a win-back offer")
    window: int = Field(
        4, ge=1, le=10_000, description="periods after leaving during which a lost customer is contacted (once a period)"
    )
    cost_per_contact: NonNegative = Field(0.5, description="cost of one win-back contact")
    offer: NonNegative = Field(5.0, description="money value of the offer (a discount the firm pays for each customer won back)")
    service_recovery: bool = Field(
        False, description="the contact also apologises and fixes what made a dissatisfied customer leave"
    )
    recovery_cost: NonNegative = Field(1.0, description="extra cost per contact when service_recovery is on")


class TargetingPolicy(Section):
    enabled: bool = Field(False, description="the firm gives relationship benefits to its most valuable customers")
    share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.25, description="share of its customers targeted (the top by value)")
    by: Literal["revenue", "clv"] = Field(
        "revenue", description="value ranked: revenue of the current relationship so far, or estimated lifetime value"
    )
    every: int = Field(4, ge=1, le=10_000, description="periods between recomputations of the target group")
    benefit: Literal["quality", "switching_cost"] = Field(
        "quality", description="the benefit: better experienced quality, or a switching-cost bonus (special treatment)"
    )
    size: NonNegative = Field(0.05, description="size of the benefit per targeted customer (quality points or utility)")
    cost_per_customer: NonNegative = Field(0.5, description="cost per targeted customer per period")
    spread: bool = Field(
        False, description="comparison mode: the same budget spread over all its customers (benefit and cost × share each)"
    )


class StrategyConfig(Section):
    """How a firm adapts after each period (``firms[].strategy`` overrides the market's for one firm)."""

    kind: str = Field(
        "none",
        description="none, adaptive_quality (raise quality while customers' satisfaction is below target), "
        "a name registered with loyaltysim.register_strategy, or module:Class",
    )
    satisfaction_target: UnitInterval = Field(0.65, description="adaptive_quality: mean satisfaction a firm aims for")
    adjustment: UnitInterval = Field(0.01, description="adaptive_quality: quality change per period")
    quality_unit_cost: NonNegative = Field(5.0, description="adaptive_quality: unit cost added per unit of quality raised")
    options: dict[str, float | int | bool | str] = Field(
        default_factory=dict, description="parameters of a user's strategy, read by its class"
    )

    @field_validator("kind")
    @classmethod
    def _name_or_reference(cls, kind: str) -> str:
        if not _STRATEGY_KIND.match(kind):
            raise ValueError(f"expected a strategy name ({', '.join(STRATEGY_KINDS)}, …) or module:Class, got {kind!r}")
        return kind


_STRATEGY_KIND = re.compile(r"^[A-Za-z_]\w*$|^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class FirmConfig(Section):
    name: str = Field(description="firm label")
    quality: UnitInterval = Field(0.65, description="mean delivered performance [0, 1]")
    consistency: NonNegative = Field(0.1, description="standard deviation of performance around quality")
    price: NonNegative = Field(10.0, description="price per purchase")
    promise: UnitInterval = Field(0.65, description="advertised performance; above quality = over-promising")
    unit_cost: NonNegative = Field(6.0, description="cost of serving one purchase")
    initial_share: NonNegative = Field(1.0, description="relative share of customers at the start")
    enters_at: Annotated[int, Field(ge=0, le=10_000_000)] = Field(0, description="step at which the firm enters the market")
    loyalty_programme: LoyaltyProgramme = Field(default_factory=LoyaltyProgramme)
    service_recovery: ServiceRecovery = Field(default_factory=ServiceRecovery)
    quality_shock: QualityShock = Field(default_factory=QualityShock)
    win_back: WinBackPolicy = Field(default_factory=WinBackPolicy)
    targeting: TargetingPolicy = Field(default_factory=TargetingPolicy)
    strategy: StrategyConfig | None = Field(
        None, description="this firm's strategy, in place of the market's (null: the market's)"
    )
    fake_reviews: NonNegative = Field(
        0.0, description="5-star reviews the firm posts or buys per period (reviews.enabled; Luca & Zervas 2016)"
    )
    generated: bool = Field(False, description="drawn from firm_template because n_firms asks for more firms than listed")


class FirmTemplate(Section):
    """How firms beyond those listed are drawn when ``n_firms`` asks for more (other keys: their defaults)."""

    quality: Distribution = Field(
        Distribution(dist="uniform", low=0.5, high=0.8), description="distribution of a generated firm's quality"
    )
    promise: Distribution | None = Field(
        None, description="distribution of its promise (null: it promises its quality, what it delivers)"
    )
    price: Distribution = Field(Distribution(dist="constant", mean=10.0), description="distribution of its price")


MAX_FIRMS = 100
"""The most firms ``n_firms`` may ask for."""


def _default_firms() -> list[FirmConfig]:
    return [FirmConfig(name=name, quality=q, promise=q) for name, q in zip("ABCDE", (0.55, 0.6, 0.65, 0.7, 0.75), strict=True)]


class EconomicsConfig(Section):
    reference_price: AtLeastTiny = Field(10.0, description="price customers regard as fair; price fairness is relative to it")
    acquisition_cost: NonNegative = Field(5.0, description="cost a firm pays per customer won")
    retention_cost: NonNegative = Field(1.0, description="cost a firm pays per customer kept, per period")
    annual_discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.1, description="discount rate for customer lifetime value"
    )


class ObservationConfig(Section):
    response_bias: Distribution = Field(
        Distribution(dist="normal", mean=0.0, sd=0.08),
        description="per-customer shift of survey answers (scale use)",
    )
    rating_noise: NonNegative = Field(0.05, description="per-answer noise of survey responses")
    recommend_curvature: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.5, description="likelihood to recommend = 10 · answer^curvature (< 1: people use the top of the scale)"
    )
    rating_cutoffs: tuple[float, float, float, float] = Field(
        (0.2, 0.4, 0.6, 0.8), description="satisfaction cut-offs between the ratings 1|2|3|4|5"
    )

    @model_validator(mode="after")
    def _check_cutoffs(self) -> ObservationConfig:
        cuts = self.rating_cutoffs
        if any(b <= a for a, b in itertools.pairwise(cuts)):
            raise ValueError(f"rating_cutoffs: must increase, got {list(cuts)}")
        return self


class WinBackResponseConfig(Section):
    base: float = Field(
        -2.0, ge=-20.0, le=20.0, description="log-odds that a contacted lost customer returns (before the terms below)"
    )
    offer_weight: NonNegative = Field(
        1.5, description="log-odds added per reference price of offer value (Thomas, Blattberg & Fox 2004)"
    )
    satisfaction_weight: NonNegative = Field(
        4.0, description="log-odds added per unit of satisfaction the customer left with, above neutral (0.5)"
    )
    dissatisfied_shift: float = Field(
        -1.5, ge=-20.0, le=20.0, description="log-odds shift for customers pushed away by dissatisfaction"
    )
    variety_shift: float = Field(-0.5, ge=-20.0, le=20.0, description="log-odds shift for customers who left seeking variety")
    recovery_repair: UnitInterval = Field(
        0.8, description="share of the dissatisfied shift a service-recovery contact removes (Tokman, Davis & Lemon 2007)"
    )


class StickinessConfig(Section):
    enabled: bool = Field(False, description="purchases per period vary with loyalty and satisfaction (share of wallet)")
    wallet: Annotated[float, Field(gt=0.0)] = Field(
        1.5, description="purchases a customer needs per period from all suppliers (the category wallet)"
    )
    floor: UnitInterval = Field(0.2, description="share of wallet of a customer with no attachment to its firm")
    satisfaction_share: UnitInterval = Field(
        0.5, description="weight of satisfaction (vs attitudinal loyalty) in the attachment that sets share of wallet"
    )
    curvature: Annotated[float, Field(gt=0.0, le=10.0)] = Field(
        2.0, description="share of wallet rises with attachment^curvature (> 1: increasing returns at the top)"
    )


class Config(Section):
    """A full scenario. Every key has a default; YAML files override some."""

    description: str = Field("", description="free text shown in reports")
    run: RunConfig = Field(default_factory=RunConfig)
    customers: CustomerConfig = Field(default_factory=CustomerConfig)
    satisfaction: SatisfactionConfig = Field(default_factory=SatisfactionConfig)
    expectations: ExpectationConfig = Field(default_factory=ExpectationConfig)
    loyalty: LoyaltyConfig = Field(default_factory=LoyaltyConfig)
    switching: SwitchingConfig = Field(default_factory=SwitchingConfig)
    word_of_mouth: WordOfMouthConfig = Field(default_factory=WordOfMouthConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    firms: list[FirmConfig] = Field(default_factory=_default_firms, description="the competing firms")
    n_firms: int | None = Field(
        None,
        ge=1,
        le=MAX_FIRMS,
        strict=True,
        description="number of firms: the first n listed, and more drawn from firm_template (null: as listed)",
    )
    firm_template: FirmTemplate = Field(default_factory=FirmTemplate, description="how firms beyond those listed are drawn")
    economics: EconomicsConfig = Field(default_factory=EconomicsConfig)
    strategy: StrategyConfig = Field(
        default_factory=StrategyConfig, description="how firms adapt (each firm's unless it has its own)"
    )
    observation: ObservationConfig = Field(default_factory=ObservationConfig)
    reviews: ReviewsConfig = Field(default_factory=ReviewsConfig, description="the public review platform (off by default)")
    risk: RiskConfig = Field(default_factory=RiskConfig, description="perceived risk of untried firms (off by default)")
    identification: IdentificationConfig = Field(
        default_factory=IdentificationConfig, description="customer–brand identification (off by default)"
    )
    win_back: WinBackResponseConfig = Field(
        default_factory=WinBackResponseConfig, description="how lost customers answer a firm's win-back contact"
    )
    stickiness: StickinessConfig = Field(default_factory=StickinessConfig)

    @model_validator(mode="before")
    @classmethod
    def _number_of_firms(cls, data: object) -> object:
        if not isinstance(data, dict) or data.get("n_firms") is None:
            return data
        n = data["n_firms"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_FIRMS:
            return data  # the field's own validation names the bad value (no firms are drawn for it)
        return resolve_firms(data, [f.model_dump(mode="json") for f in _default_firms()], FirmTemplate)

    @model_validator(mode="after")
    def _check_market(self) -> Config:
        if not self.firms:
            raise ValueError("firms: at least one firm is needed")
        names = [f.name for f in self.firms]
        if len(set(names)) != len(names):
            raise ValueError(f"firms: names must be unique, got {names}")
        if not any(f.enters_at == 0 for f in self.firms):
            raise ValueError("firms: at least one firm must be in the market at step 0 (enters_at: 0)")
        if sum(f.initial_share for f in self.firms if f.enters_at == 0) <= 0:
            raise ValueError("firms: the initial_share of the firms present at step 0 must add up to more than 0")
        n, net = self.customers.n, self.network
        if net.type in ("watts_strogatz", "barabasi_albert", "erdos_renyi") and net.degree >= n:
            raise ValueError(f"network.degree: must be smaller than customers.n ({n}), got {net.degree}")
        if net.type == "watts_strogatz" and net.degree % 2:
            raise ValueError(f"network.degree: must be even for watts_strogatz, got {net.degree}")
        if net.type == "barabasi_albert" and net.degree < 2:
            raise ValueError(f"network.degree: must be at least 2 for barabasi_albert, got {net.degree}")
        if net.type == "file" and not net.path:
            raise ValueError("network.path: required when network.type is 'file'")
        return self

    @property
    def periods_per_year(self) -> int:
        """Purchase periods in one calendar year."""
        return PERIODS_PER_YEAR[self.run.period]

    def to_dict(self) -> dict:
        """Plain nested dict (JSON/YAML-ready) of every value, defaults included."""
        return self.model_dump(mode="json")
