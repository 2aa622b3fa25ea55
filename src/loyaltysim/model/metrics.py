"""What a researcher measures each period: tidy tables from the periods' outcomes.

Market metrics are one row per step (one column per metric); firm metrics are
long (one row per step × firm). Both are computed column-wise from
:class:`PeriodRecords`, the outcomes of one or many periods stacked (a period stepped
from Python is a record of one; a run's periods in compiled code,
:mod:`loyaltysim.model.compiled_run`, are recorded all at once), so a row is the same
numbers either way. Counts are pooled over the run by :class:`RunTotals`, so
run-level rates weight every customer-period equally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loyaltysim.model.engine import COUNT_ROWS, CURVE_BINS, PeriodOutcome
from loyaltysim.model.kernels import CONSIDERATION_ROWS, CURVE_ROWS, NPS_ROW, RATING_ROWS, WOM_ROWS
from loyaltysim.model.scales import BANDS, N_BANDS, N_RATINGS, RATINGS, SATISFIED_BANDS, annualise
from loyaltysim.model.state import Market

__all__ = ["PeriodRecords", "RunTotals", "clv", "firm_columns", "market_columns"]

_SHARE_KEYS = tuple(f"share_{name}" for name in BANDS)
_BAND_CHURN_KEYS = tuple(f"churn_{name}" for name in BANDS)
_RATING_CHURN_KEYS = tuple(f"churn_rating_{rating}" for rating in RATINGS)


def _ratio(numerator: NDArray | float, denominator: NDArray | float) -> NDArray | float:
    """numerator / denominator, NaN where the denominator is 0."""
    if isinstance(numerator, int | float) and isinstance(denominator, int | float):
        return numerator / denominator if denominator > 0 else float("nan")
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)
    return out if out.ndim else float(out)


@dataclass
class PeriodCounts:
    """Counts of one period (or, with a leading axis, of several), the basis of every rate."""

    customers: NDArray[np.int64]
    switchers: NDArray[np.int64]
    band_customers: NDArray[np.int64]
    band_switchers: NDArray[np.int64]
    rating_customers: NDArray[np.int64]
    rating_switchers: NDArray[np.int64]
    promoters: NDArray[np.int64]
    detractors: NDArray[np.int64]
    curve_customers: NDArray[np.int64]
    curve_switchers: NDArray[np.int64]
    wom_positive: NDArray[np.int64]
    """Positive messages delivered, by the sender's band."""
    wom_negative: NDArray[np.int64]
    """Negative messages delivered, by the sender's band."""
    considered: NDArray[np.int64]
    """Customers who compared the firms (ODD 7.10), by band."""
    offered: NDArray[np.int64]
    """Customers who received a rival's offer, by band."""

    @classmethod
    def of(cls, outcome: PeriodOutcome) -> PeriodCounts:
        """The counts of one period's outcome."""
        return cls.from_rows(outcome.counts)

    @classmethod
    def from_rows(cls, counts: NDArray[np.int64]) -> PeriodCounts:
        """From counts by the rows of ``kernels.COUNT_ROWS`` (the engine's), shape (..., COUNT_ROWS, 2)."""
        customers, switchers = counts[..., :N_BANDS, 0], counts[..., :N_BANDS, 1]
        return cls(
            customers=customers.sum(axis=-1),
            switchers=switchers.sum(axis=-1),
            band_customers=customers,
            band_switchers=switchers,
            rating_customers=counts[..., RATING_ROWS : RATING_ROWS + N_RATINGS, 0],
            rating_switchers=counts[..., RATING_ROWS : RATING_ROWS + N_RATINGS, 1],
            promoters=counts[..., NPS_ROW, 0],
            detractors=counts[..., NPS_ROW, 1],
            curve_customers=counts[..., CURVE_ROWS:NPS_ROW, 0],
            curve_switchers=counts[..., CURVE_ROWS:NPS_ROW, 1],
            wom_positive=counts[..., WOM_ROWS : WOM_ROWS + N_BANDS, 0],
            wom_negative=counts[..., WOM_ROWS : WOM_ROWS + N_BANDS, 1],
            considered=counts[..., CONSIDERATION_ROWS : CONSIDERATION_ROWS + N_BANDS, 0],
            offered=counts[..., CONSIDERATION_ROWS : CONSIDERATION_ROWS + N_BANDS, 1],
        )

    @property
    def satisfied_defectors(self) -> NDArray[np.int64]:
        """Switchers whose latent satisfaction was in the satisfied bands."""
        return self.band_switchers[..., list(SATISFIED_BANDS)].sum(axis=-1)


@dataclass
class PeriodRecords:
    """The outcomes of ``T`` consecutive periods that the tables are made of, each array with a leading axis of
    length ``T`` (per firm: ``(T, k)``)."""

    steps: NDArray[np.int64]
    counts: NDArray[np.int64]
    """(T, COUNT_ROWS, 2): the engine's counts (``PeriodOutcome.counts``)."""
    means: NDArray[np.float64]
    """(T, 4): mean satisfaction, its standard deviation, mean loyalty, mean expectation."""
    messages: NDArray[np.int64]
    """(T, 2): positive and negative messages delivered."""
    purchases: NDArray[np.int64]
    won: NDArray[np.int64]
    lost: NDArray[np.int64]
    revenue: NDArray[np.float64]
    costs: NDArray[np.float64]
    satisfaction_by_firm: NDArray[np.float64]
    quality: NDArray[np.float64]
    """Each firm's quality, price and unit cost as the period's metrics are recorded (after the firms adapted)."""
    price: NDArray[np.float64]
    unit_cost: NDArray[np.float64]
    review_sum: NDArray[np.float64]
    """Each firm's review platform at the period's end (ODD 7.14): recency-weighted sum of ratings and count."""
    review_count: NDArray[np.float64]
    moved: NDArray[np.int64]
    """Customers each firm gained (lost: negative) after the period from the firms' practices (win-back, ODD 7.17)."""

    @classmethod
    def empty(cls, first_step: int, periods: int, firms: int) -> PeriodRecords:
        """Records of ``periods`` periods from ``first_step`` on, to be filled (by the compiled run)."""

        def per_firm(dtype: type = np.float64) -> NDArray:
            return np.zeros((periods, firms), dtype=dtype)

        return cls(
            steps=np.arange(first_step, first_step + periods, dtype=np.int64),
            counts=np.zeros((periods, COUNT_ROWS, 2), dtype=np.int64),
            means=np.zeros((periods, 4)),
            messages=np.zeros((periods, 2), dtype=np.int64),
            purchases=per_firm(np.int64),
            won=per_firm(np.int64),
            lost=per_firm(np.int64),
            revenue=per_firm(),
            costs=per_firm(),
            satisfaction_by_firm=per_firm(),
            quality=per_firm(),
            price=per_firm(),
            unit_cost=per_firm(),
            review_sum=per_firm(),
            review_count=per_firm(),
            moved=per_firm(np.int64),
        )

    @classmethod
    def of(cls, step: int, outcome: PeriodOutcome, market: Market, moved: NDArray[np.int64] | None = None) -> PeriodRecords:
        """The record of one period (a leading axis of length 1); ``moved``: see the field."""
        means = (outcome.mean_satisfaction, outcome.sd_satisfaction, outcome.mean_loyalty, outcome.mean_expectation)
        return cls(
            steps=np.array([step], dtype=np.int64),
            counts=outcome.counts[None],
            means=np.array([means]),
            messages=np.array([[outcome.messages_positive, outcome.messages_negative]], dtype=np.int64),
            purchases=outcome.purchases[None],
            won=outcome.won[None],
            lost=outcome.lost[None],
            revenue=outcome.revenue[None],
            costs=outcome.costs[None],
            satisfaction_by_firm=outcome.satisfaction_by_firm[None],
            quality=market.quality[None].copy(),
            price=market.price[None].copy(),
            unit_cost=market.unit_cost[None].copy(),
            review_sum=market.review_sum[None].copy(),
            review_count=market.review_count[None].copy(),
            moved=np.zeros((1, market.k), dtype=np.int64) if moved is None else np.asarray(moved, dtype=np.int64)[None],
        )

    def tail(self, start: int) -> PeriodRecords:
        """The records from index ``start`` on."""
        return PeriodRecords(**{name: value[start:] for name, value in vars(self).items()})

    @property
    def customers_after(self) -> NDArray[np.int64]:
        """(T, k): each firm's customers after the period (buying from it next)."""
        return self.purchases - self.lost + self.won + self.moved


def _annualised(churn: NDArray | float, periods_per_year: int) -> NDArray:
    """:func:`~loyaltysim.model.scales.annualise`, one period at a time: numpy's power of a long array may differ
    in the last bit from that of a single value (vector instructions), and a period's row must not depend on how
    many periods were recorded together."""
    return np.array([annualise(rate, periods_per_year) for rate in np.ravel(churn)]).reshape(np.shape(churn))


def _rates(counts: PeriodCounts, periods_per_year: int) -> dict[str, NDArray | float]:
    churn = _ratio(counts.switchers, counts.customers)
    row = {
        "churn_rate": churn,
        "retention_rate": 1.0 - churn,
        "annualised_churn": _annualised(churn, periods_per_year),
        "satisfied_defector_share": _ratio(counts.satisfied_defectors, counts.switchers),
        "nps": 100.0 * (counts.promoters - counts.detractors) / counts.customers,
        "promoter_share": counts.promoters / counts.customers,
        "detractor_share": counts.detractors / counts.customers,
        "consideration_rate": counts.considered.sum(axis=-1) / counts.customers,
    }
    by_band = np.asarray(_ratio(counts.band_switchers, counts.band_customers))
    by_rating = np.asarray(_ratio(counts.rating_switchers, counts.rating_customers))
    row.update({key: by_band[..., band] for band, key in enumerate(_BAND_CHURN_KEYS)})
    row.update({key: by_rating[..., rating] for rating, key in enumerate(_RATING_CHURN_KEYS)})
    return row


def _pooled_rates(counts: PeriodCounts) -> dict[str, float]:
    """The run-level rates by latent band (pooled customer-periods) and their raw counts: band occupancy,
    messages sent per customer-period by the sender's band, the share of negative messages, consideration
    and offers."""
    row: dict[str, float] = {}
    messages = int(counts.wom_positive.sum() + counts.wom_negative.sum())
    row["wom_negative_share"] = _ratio(int(counts.wom_negative.sum()), messages)
    for band, name in enumerate(BANDS):
        customers = int(counts.band_customers[band])
        sent = int(counts.wom_positive[band] + counts.wom_negative[band])
        row[f"band_share_{name}"] = customers / int(counts.customers)
        row[f"wom_sent_{name}"] = _ratio(sent, customers)
        row[f"consideration_{name}"] = _ratio(int(counts.considered[band]), customers)
        row[f"offer_{name}"] = _ratio(int(counts.offered[band]), customers)
        row[f"customer_periods_{name}"] = customers
        row[f"wom_positive_{name}"] = int(counts.wom_positive[band])
        row[f"wom_negative_{name}"] = int(counts.wom_negative[band])
        row[f"considered_{name}"] = int(counts.considered[band])
        row[f"offered_{name}"] = int(counts.offered[band])
    return row


def market_columns(records: PeriodRecords, customers: int, periods_per_year: int) -> dict[str, NDArray]:
    """The market table of the recorded periods, column by column (one entry per period); ``customers`` is the
    number of customers in the market (for the shares behind the HHI)."""
    counts = PeriodCounts.from_rows(records.counts)
    shares = records.customers_after / customers
    columns: dict[str, NDArray] = {
        "step": records.steps,
        "customers": counts.customers,
        "switchers": counts.switchers,
        "mean_satisfaction": records.means[:, 0],
        "sd_satisfaction": records.means[:, 1],
        "mean_loyalty": records.means[:, 2],
        "mean_expectation": records.means[:, 3],
        "mean_rating": (counts.rating_customers @ np.array(RATINGS)) / counts.customers,
        "hhi": np.sum(shares**2, axis=-1),
        "wom_positive": records.messages[:, 0],
        "wom_negative": records.messages[:, 1],
        "revenue": records.revenue.sum(axis=-1),
        "profit": (records.revenue - records.costs).sum(axis=-1),
    }
    for band, key in enumerate(_SHARE_KEYS):
        columns[key] = counts.band_customers[:, band] / counts.customers
    columns.update(_rates(counts, periods_per_year))
    return columns


def clv(margin: NDArray[np.float64], retention: NDArray[np.float64], discount_per_period: float) -> NDArray[np.float64]:
    """Customer lifetime value with constant margin and retention: ``m · r / (1 + d − r)`` (Gupta & Lehmann)."""
    return margin * retention / (1.0 + discount_per_period - retention)


def firm_columns(
    records: PeriodRecords, market: Market, retention_cost: float, discount_per_period: float, reviews: bool = False
) -> dict[str, NDArray]:
    """The firm table of the recorded periods, column by column (one entry per period × firm, periods first); with
    ``reviews`` also the review platform at each period's end (ODD 7.14): ``review_rating`` (recency-weighted
    average, NaN before the first review) and ``review_count`` (recency-weighted)."""
    customers_after = records.customers_after
    retention = _ratio(records.purchases - records.lost, records.purchases)
    margin = records.price - records.unit_cost - retention_cost - market.programme_cost
    value = clv(margin, np.where(np.isnan(retention), 0.0, retention), discount_per_period)
    periods, k = customers_after.shape
    columns = {
        "step": np.repeat(records.steps, k),
        "firm": np.tile(np.array(market.names, dtype=object), periods),
        "customers": customers_after,
        "share": customers_after / customers_after.sum(axis=-1, keepdims=True),
        "purchases": records.purchases,
        "won": records.won,
        "lost": records.lost,
        "retention_rate": retention,
        "mean_satisfaction": records.satisfaction_by_firm,
        "revenue": records.revenue,
        "costs": records.costs,
        "profit": records.revenue - records.costs,
        "clv": value,
        "quality": records.quality,
        "price": records.price,
    }
    if reviews:
        columns["review_rating"] = _ratio(records.review_sum, records.review_count)
        columns["review_count"] = records.review_count
    return {key: column.ravel() for key, column in columns.items()}


def rows(columns: dict[str, NDArray], start: int = 0) -> list[dict[str, int | float | str]]:
    """Rows ``start`` … of a table given column by column, as dicts of Python values."""
    values = {key: column[start:].tolist() for key, column in columns.items()}
    return [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]


@dataclass
class RunTotals:
    """Counts pooled over the periods after burn-in, for run-level rates."""

    periods: int = 0
    counts: PeriodCounts | None = None
    satisfaction_sum: float = 0.0
    profit_sum: float = 0.0
    _rows: NDArray[np.int64] | None = None

    def add(self, counts: NDArray[np.int64], mean_satisfaction: NDArray[np.float64], profit: NDArray[np.float64]) -> None:
        """Add periods: their counts (T, COUNT_ROWS, 2), mean satisfaction and profit (T,), summed in period order."""
        self.periods += len(counts)
        for satisfaction, period_profit in zip(mean_satisfaction.tolist(), profit.tolist(), strict=True):
            self.satisfaction_sum += satisfaction
            self.profit_sum += period_profit
        pooled = counts.sum(axis=0)
        self._rows = pooled if self._rows is None else self._rows + pooled
        self.counts = PeriodCounts.from_rows(self._rows)

    def summary(self, periods_per_year: int) -> dict[str, float]:
        """Run-level rates (pooled), or an empty dict before any period was counted."""
        if self.counts is None:
            return {}
        row = {
            "periods": self.periods,
            "mean_satisfaction": self.satisfaction_sum / self.periods,
            "profit_per_period": self.profit_sum / self.periods,
        }
        row.update({key: np.asarray(value).item() for key, value in _rates(self.counts, periods_per_year).items()})
        row.update(_pooled_rates(self.counts))
        return row

    def retention_curve(self) -> pd.DataFrame:
        """Pooled retention by satisfaction bin (width 1/CURVE_BINS): the satisfaction → retention curve."""
        return pd.DataFrame(self.retention_columns())

    def retention_columns(self) -> dict[str, NDArray]:
        """:meth:`retention_curve`, column by column."""
        edges = np.linspace(0.0, 1.0, CURVE_BINS + 1)
        customers = self.counts.curve_customers if self.counts else np.zeros(CURVE_BINS, dtype=np.int64)
        switchers = self.counts.curve_switchers if self.counts else np.zeros(CURVE_BINS, dtype=np.int64)
        return {
            "satisfaction_low": edges[:-1],
            "satisfaction_high": edges[1:],
            "customer_periods": customers,
            "switchers": switchers,
            "retention_rate": 1.0 - _ratio(switchers, customers),
        }
