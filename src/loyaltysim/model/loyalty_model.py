"""LoyaltyModel: the Mesa model that owns the market state and steps it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np
import pandas as pd

from loyaltysim.config.errors import ConfigError
from loyaltysim.config.loading import apply_overrides, validate_config
from loyaltysim.config.schema import Config
from loyaltysim.model import engine, metrics, practices
from loyaltysim.model.agents import CustomerView, Firm, strategy_class
from loyaltysim.model.cohort import SurveyCohort
from loyaltysim.model.initialisation import initial_customers, initial_market
from loyaltysim.model.network import Network, build_network
from loyaltysim.model.streams import CustomerStreams

__all__ = ["LoyaltyModel"]

HEADLINE_METRICS = (
    "mean_satisfaction",
    "mean_loyalty",
    "churn_rate",
    "annualised_churn",
    "satisfied_defector_share",
    "nps",
    "hhi",
    "profit",
)


def _metric_reporter(name: str):
    def report(model: LoyaltyModel) -> float:
        return model.latest.get(name, np.nan)

    report.__name__ = report.__qualname__ = name
    return report


def _firm_reporter(name: str):
    """Reads a firm's value from the model's latest firm rows (a period's firm metrics are computed once)."""

    def report(firm: Firm) -> float:
        rows = firm.model.last_firm_rows
        return rows[firm.index][name] if rows else getattr(firm, name)  # step 0: the market before the first period

    report.__name__ = report.__qualname__ = name
    return report


def _firm_agents(model: LoyaltyModel) -> list[Firm]:
    """One agent per configured firm, of the class of its strategy (its own, else the market's)."""
    agents = []
    for index, firm in enumerate(model.config.firms):
        strategy, path = (
            (firm.strategy, f"firms.{index}.strategy.kind") if firm.strategy else (model.config.strategy, "strategy.kind")
        )
        try:
            cls = strategy_class(strategy.kind)
        except ValueError as error:
            raise ConfigError(f"{path}: {error}") from None
        agents.append(cls(model, index, firm.name, strategy))
    return agents


def _add_practice_columns(
    row: dict[str, float], firm_rows: list[dict[str, Any]], columns: tuple[dict[str, float], dict[str, list]]
) -> None:
    """The firm practices' metrics (:func:`practices.practice_rows`) added to a period's market and firm rows."""
    market, firm = columns
    row.update(market)
    for i, firm_row in enumerate(firm_rows):
        firm_row.update({key: values[i] for key, values in firm.items()})


class LoyaltyModel(mesa.Model):
    """A market of customers (arrays) and firms (Mesa agents).

    Each step runs one purchase period for every customer (:func:`loyaltysim.model.engine.advance`),
    then every firm's ``step`` (its strategy, :mod:`loyaltysim.model.agents`), then records the metrics.

    Parameters
    ----------
    config
        A validated :class:`~loyaltysim.config.schema.Config` (defaults if None).
    rng
        Seed (int) or :class:`numpy.random.SeedSequence`; defaults to ``config.run.seed``.
        The network and the customers are drawn from ``self.rng``; each period's draws come from
        ``self.streams``, one generator per block of customers spawned from ``self.rng``.
    network
        Optional prebuilt network (e.g. from :func:`loyaltysim.model.network.from_networkx`).
    reporters
        Your own model reporters, name → function of the model (e.g. ``loyaltysim.outcomes:false_loyalty``),
        recorded by the DataCollector beside the built-in metrics.
    **overrides
        Keyword parameters as dotted paths with ``__`` for dots, e.g.
        ``customers__n=500``; this is how ``mesa.batch_run`` and SolaraViz pass them.

    Examples
    --------
    >>> model = LoyaltyModel(rng=1, customers__n=300, run__steps=5)
    >>> model.run()
    >>> model.timeseries()["step"].tolist()
    [1, 2, 3, 4, 5]
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        rng: int | np.random.SeedSequence | None = None,
        network: Network | None = None,
        reporters: Mapping[str, Callable[[LoyaltyModel], Any]] | None = None,
        **overrides: Any,
    ) -> None:
        config = config or Config()
        if overrides:
            dotted = {key.replace("__", "."): value for key, value in overrides.items()}
            config = validate_config(apply_overrides(config.to_dict(), dotted), source="model parameters")
        super().__init__(rng=config.run.seed if rng is None else rng)
        self.config = config
        self.market = initial_market(config)
        self.firm_agents = _firm_agents(self)
        self.network = network if network is not None else build_network(config.network, config.customers.n, self.rng)
        if self.network.n != config.customers.n:
            raise ValueError(f"network has {self.network.n} nodes but customers.n is {config.customers.n}")
        self.state = initial_customers(config, self.market, self.rng)
        self.streams = CustomerStreams.spawn(self.rng, config.customers.n)
        self.practices = practices.FirmPractices.of(config, self.state, self.market, self.rng)
        """The firms' practices (win-back, targeting, stickiness; ODD 7.17), None if none is on."""
        self.practice_totals = practices.PracticeTotals(config)
        self.latest: dict[str, float] = {}
        self.last_outcome: engine.PeriodOutcome | None = None
        self.last_firm_rows: list[dict[str, Any]] = []
        self.totals = metrics.RunTotals()
        self.cohort = SurveyCohort(first_wave=config.run.burn_in + 1, periods_per_year=config.periods_per_year)
        self._market_rows: list[dict[str, float]] = []
        self._firm_rows: list[dict[str, Any]] = []
        self._panel_rows: list[pd.DataFrame] = []
        panel = min(config.run.panel_size, config.customers.n)
        self.panel_ids = np.unique(np.linspace(0, config.customers.n - 1, panel).astype(np.int64)) if panel else None
        self.datacollector = mesa.DataCollector(
            model_reporters={**{name: _metric_reporter(name) for name in HEADLINE_METRICS}, **(reporters or {})},
            agent_reporters={name: _firm_reporter(name) for name in ("share", "quality", "profit")},
        )
        self.datacollector.collect(self)  # step 0, the market before the first period: row k of Mesa's tables is period k

    # --- stepping --------------------------------------------------------------------------

    def step(self) -> None:
        """One purchase period for every customer, then every firm's :meth:`~loyaltysim.model.agents.Firm.step`
        (Mesa increments ``self.steps`` first)."""
        config = self.config
        step = self.steps
        outcome = engine.advance(self.state, self.market, config, self.network, self.streams, step)
        self.last_outcome = outcome
        self.agents.do("step")
        practised = self.practices.apply(self.state, self.market, outcome, step) if self.practices else None
        customers_after = outcome.purchases - outcome.lost + outcome.won
        if practised is not None:
            customers_after = customers_after + practised.win_backs - practised.taken
        shares = customers_after / self.state.n
        row, counts = metrics.market_metrics(step, outcome, shares, config.periods_per_year)
        firm_rows = metrics.firm_metrics(
            step,
            outcome,
            self.market,
            customers_after,
            config.economics.retention_cost,
            (1.0 + config.economics.annual_discount_rate) ** (1.0 / config.periods_per_year) - 1.0,
        )
        if practised is not None:
            _add_practice_columns(row, firm_rows, practices.practice_rows(practised, outcome, config))
        if step > config.run.burn_in:
            self.totals.add(counts, row["mean_satisfaction"], row["profit"])
            if practised is not None:
                self.practice_totals.add(practised)
        self.cohort.add(step, outcome, self.state.response_bias)
        if self.panel_ids is not None:
            self._panel_rows.append(self._panel_frame(step, outcome))
        self.latest = row
        self.last_firm_rows = firm_rows
        self._market_rows.append(row)
        self._firm_rows.extend(firm_rows)
        self.datacollector.collect(self)
        if step >= config.run.steps:
            self.running = False

    def run(self, steps: int | None = None, *, progress: bool = False) -> LoyaltyModel:
        """Step ``steps`` periods (default: until ``run.steps`` is reached). Returns the model."""
        remaining = self.config.run.steps - self.steps if steps is None else steps
        iterator = range(max(remaining, 0))
        if progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, desc="periods", unit="step")
        for _ in iterator:
            self.step()
        return self

    # --- tables ----------------------------------------------------------------------------

    def timeseries(self) -> pd.DataFrame:
        """Market metrics, one row per step."""
        return pd.DataFrame(self._market_rows)

    def firm_timeseries(self) -> pd.DataFrame:
        """Firm metrics, one row per step × firm."""
        return pd.DataFrame(self._firm_rows)

    def panel(self) -> pd.DataFrame:
        """The customer panel (``run.panel_size`` customers, every step), or an empty table."""
        return pd.concat(self._panel_rows, ignore_index=True) if self._panel_rows else pd.DataFrame()

    def summary(self) -> dict[str, Any]:
        """Final-step metrics, run-level pooled rates after burn-in, the annual survey cohort's defection
        (:mod:`loyaltysim.model.cohort`) and final market shares."""
        final = {f"final_{key}": value for key, value in self.latest.items() if key != "step"}
        pooled = self.totals.summary(self.config.periods_per_year) | self.practice_totals.summary()
        shares = {f"share_{agent.name}": agent.share for agent in self.firm_agents}
        return {"steps": self.steps, **pooled, **self.cohort.summary(), **shares, **final}

    def customers(self) -> pd.DataFrame:
        """One row per customer: its state now."""
        s = self.state
        segment_names = np.array(["default", *(seg.name for seg in self.config.customers.segments)])
        return pd.DataFrame(
            {
                "customer": np.arange(s.n),
                "firm": np.asarray(self.market.names)[s.firm],
                "segment": segment_names[s.segment],
                "tenure": s.tenure,
                "expectation": s.expectation,
                "satisfaction": s.satisfaction,
                "loyalty": s.loyalty,
                "trust": s.trust,
                "switching_cost": s.switching_cost,
                "price_sensitivity": s.price_sensitivity,
                "talkativeness": s.talkativeness,
                "degree": self.network.degree,
            }
        )

    def customer(self, index: int) -> CustomerView:
        """A readable snapshot of one customer."""
        row = self.customers().iloc[index]
        return CustomerView(
            index=int(row.customer),
            firm=row.firm,
            tenure=int(row.tenure),
            expectation=float(row.expectation),
            satisfaction=float(row.satisfaction),
            loyalty=float(row.loyalty),
            trust=float(row.trust),
            switching_cost=float(row.switching_cost),
            price_sensitivity=float(row.price_sensitivity),
            talkativeness=float(row.talkativeness),
            segment=row.segment,
        )

    def _panel_frame(self, step: int, outcome: engine.PeriodOutcome) -> pd.DataFrame:
        ids = self.panel_ids
        names = np.asarray(self.market.names)
        return pd.DataFrame(
            {
                "step": step,
                "customer": ids,
                "firm": names[outcome.firm_before[ids]],
                "satisfaction": outcome.satisfaction[ids],
                "rating": outcome.rating[ids],
                "recommend": outcome.recommend[ids],
                "loyalty": outcome.loyalty[ids],
                "switched": outcome.switched[ids],
                "new_firm": names[self.state.firm[ids]],
            }
        )
