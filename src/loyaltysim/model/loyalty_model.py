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
from loyaltysim.model import compiled_run, engine, metrics, practices
from loyaltysim.model.agent_ids import release_models
from loyaltysim.model.agents import CustomerView, Firm, strategy_class
from loyaltysim.model.cohort import SurveyCohort
from loyaltysim.model.initialisation import initial_customers, initial_market
from loyaltysim.model.network import Network, build_network
from loyaltysim.model.streams import CustomerStreams

__all__ = ["LoyaltyModel"]

release_models()  # a finished model is freed (mesa 3.3 kept every model: loyaltysim.model.agent_ids)

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
    """Reads a metric of the latest period from the model's market table (NaN before the first period)."""

    def report(model: LoyaltyModel) -> float:
        return model._market_table.latest(name, -1, np.nan)

    report.__name__ = report.__qualname__ = name
    return report


def _firm_reporter(name: str):
    """Reads a firm's value from the model's latest firm rows (a period's firm metrics are computed once)."""

    def report(firm: Firm) -> float:
        model = firm.model  # before the first period: the firm's value now
        return model._firm_table.latest(name, firm.index - model.market.k, None) if model.steps else getattr(firm, name)

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


def _concatenated(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A table kept in parts, column by column, as read-only arrays."""
    joined = (
        parts[0]
        if len(parts) == 1
        else {key: np.concatenate([part[key] for part in parts]) for key in (parts[0] if parts else {})}
    )
    columns = {key: value.view() for key, value in joined.items()}
    for value in columns.values():
        value.flags.writeable = False
    return columns


class _Tables:
    """A model's table, kept in parts (a part per compiled stretch or step) and joined once per new part."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self._joined: tuple[int, dict[str, np.ndarray]] | None = None
        self._built: tuple[int, pd.DataFrame] | None = None
        self._rows: tuple[dict[str, np.ndarray], list[dict[str, Any]]] | None = None

    def latest(self, name: str, row: int, missing: object) -> object:
        """Column ``name`` of row ``row`` (counted from the end) of the latest part, as a Python value."""
        return self.parts[-1][name][row].item() if self.parts else missing

    def rows(self, last: int) -> list[dict[str, Any]]:
        """The last ``last`` rows as dicts, built once per part (so changes to them stay until the next part)."""
        if not self.parts:
            return []
        if self._rows is None or self._rows[0] is not self.parts[-1]:
            self._rows = (self.parts[-1], metrics.rows(self.parts[-1], -last))
        return self._rows[1]

    def columns(self) -> dict[str, np.ndarray]:
        """The table column by column, as read-only arrays (no DataFrame built)."""
        if self._joined is None or self._joined[0] != len(self.parts):
            self._joined = (len(self.parts), _concatenated(self.parts))
        return dict(self._joined[1])

    def frame(self) -> pd.DataFrame:
        """The table (a copy: changing it leaves the model's alone)."""
        if self._built is None or self._built[0] != len(self.parts):
            self._built = (len(self.parts), pd.DataFrame(self.columns()))
        return self._built[1].copy(deep=False)


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
        self.last_outcome: engine.PeriodOutcome | None = None
        self.totals = metrics.RunTotals()
        self.cohort = SurveyCohort(first_wave=config.run.burn_in + 1, periods_per_year=config.periods_per_year)
        self._market_table, self._firm_table = _Tables(), _Tables()
        self.user_reporters = dict(reporters or {})
        self._panel_rows: list[pd.DataFrame] = []
        panel = min(config.run.panel_size, config.customers.n)
        self.panel_ids = np.unique(np.linspace(0, config.customers.n - 1, panel).astype(np.int64)) if panel else None
        self.datacollector = mesa.DataCollector(
            model_reporters={**{name: _metric_reporter(name) for name in HEADLINE_METRICS}, **self.user_reporters},
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
        if self.practices is None:
            self._record(metrics.PeriodRecords.of(step, outcome, self.market))
        else:
            self._record_practices(step, outcome, self.practices.apply(self.state, self.market, outcome, step))
        self.cohort.add(step, outcome, self.state.response_bias)
        if self.panel_ids is not None:
            self._panel_rows.append(self._panel_frame(step, outcome))
        self.datacollector.collect(self)
        if step >= config.run.steps:
            self.running = False

    def run(self, steps: int | None = None, *, progress: bool = False) -> LoyaltyModel:
        """Step ``steps`` periods (default: until ``run.steps`` is reached). Returns the model.

        Where nothing of Python acts between periods, the periods run in compiled code, in one call (in
        chunks of about 1% of them with ``progress``) with the same results as stepping
        (:mod:`loyaltysim.model.compiled_run`); else :meth:`step` is called for each.
        """
        remaining = max(self.config.run.steps - self.steps if steps is None else steps, 0)
        chunk = max(remaining // 100, 1) if progress else max(remaining, 1)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=remaining, desc="periods", unit="step")
        done = 0
        while done < remaining:
            if compiled_run.eligible(self):
                periods = min(chunk, remaining - done)
                self._run_compiled(periods)
            else:
                periods = 1
                self.step()
            done += periods
            if bar is not None:
                bar.update(periods)
        if bar is not None:
            bar.close()
        return self

    def _run_compiled(self, periods: int) -> None:
        """``periods`` periods in one compiled call, then their tables, totals and DataCollector rows."""
        records = compiled_run.run_periods(self, periods)
        self.steps += periods
        market, firms = self._record(records)
        collector = self.datacollector
        for name in collector.model_reporters:  # what the metric reporters would have read after each period
            collector.model_vars[name].extend(market[name].tolist())
        k = len(self.firm_agents)
        steps = records.steps.tolist()
        ids = [firm.unique_id for firm in self.firm_agents] * len(steps)
        values = (firms[name].tolist() for name in collector.agent_reporters)
        rows = list(zip(np.repeat(records.steps, k).tolist(), ids, *values, strict=True))  # (step, id, share, …)
        for t, step in enumerate(steps):
            collector._agent_records[step] = rows[t * k : (t + 1) * k]
        if self.steps >= self.config.run.steps:
            self.running = False

    def _record(self, records: metrics.PeriodRecords) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The recorded periods' market and firm tables (kept) and their counts pooled after the burn-in; returns
        the two tables, column by column."""
        config = self.config
        market = metrics.market_columns(records, self.state.n, config.periods_per_year)
        firms = metrics.firm_columns(
            records,
            self.market,
            config.economics.retention_cost,
            (1.0 + config.economics.annual_discount_rate) ** (1.0 / config.periods_per_year) - 1.0,
            reviews=config.reviews.enabled,
        )
        counted = records.steps > config.run.burn_in
        if counted.any():
            self.totals.add(records.counts[counted], market["mean_satisfaction"][counted], market["profit"][counted])
        self._market_table.parts.append(market)
        self._firm_table.parts.append(firms)
        return market, firms

    def _record_practices(self, step: int, outcome: engine.PeriodOutcome, practised: practices.PracticeOutcome) -> None:
        """The period's tables with the customers the firms' practices moved after it, and the practices' metrics
        (:func:`practices.practice_rows`) as extra columns."""
        moved = practised.win_backs - practised.taken
        market, firms = self._record(metrics.PeriodRecords.of(step, outcome, self.market, moved=moved))
        market_columns, firm_columns = practices.practice_rows(practised, outcome, self.config)
        market.update({key: np.array([value]) for key, value in market_columns.items()})
        firms.update({key: np.asarray(values) for key, values in firm_columns.items()})
        if step > self.config.run.burn_in:
            self.practice_totals.add(practised)

    # --- tables ----------------------------------------------------------------------------

    @property
    def latest(self) -> dict[str, float]:
        """The market metrics of the latest period, name → value (empty before the first period)."""
        rows = self._market_table.rows(1)
        return rows[0] if rows else {}

    @property
    def last_firm_rows(self) -> list[dict[str, Any]]:
        """The firm metrics of the latest period, a row per firm (empty before the first period)."""
        return self._firm_table.rows(self.market.k)

    def timeseries(self) -> pd.DataFrame:
        """Market metrics, one row per step."""
        return self._market_table.frame()

    def firm_timeseries(self) -> pd.DataFrame:
        """Firm metrics, one row per step × firm."""
        return self._firm_table.frame()

    def timeseries_columns(self) -> dict[str, np.ndarray]:
        """:meth:`timeseries` column by column, read-only (quicker where no table is needed)."""
        return self._market_table.columns()

    def firm_timeseries_columns(self) -> dict[str, np.ndarray]:
        """:meth:`firm_timeseries` column by column, read-only."""
        return self._firm_table.columns()

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
