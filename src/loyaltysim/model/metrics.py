"""What a researcher measures each period: tidy rows from a period's outcome.

Market metrics are one row per step (one column per metric); firm metrics are
long (one row per step × firm). Counts are pooled over the run by
:class:`RunTotals`, so run-level rates weight every customer-period equally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loyaltysim.model.engine import CURVE_BINS, PeriodOutcome
from loyaltysim.model.kernels import CONSIDERATION_ROWS, CURVE_ROWS, NPS_ROW, RATING_ROWS, WOM_ROWS
from loyaltysim.model.scales import BANDS, N_BANDS, N_RATINGS, RATINGS, SATISFIED_BANDS, annualise
from loyaltysim.model.state import Market

__all__ = ["RunTotals", "clv", "firm_metrics", "market_metrics"]

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
    """Counts of one period, the basis of every rate."""

    customers: int
    switchers: int
    band_customers: NDArray[np.int64]
    band_switchers: NDArray[np.int64]
    rating_customers: NDArray[np.int64]
    rating_switchers: NDArray[np.int64]
    promoters: int
    detractors: int
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
        counts = outcome.counts  # the engine counted them (kernels.COUNT_ROWS)
        customers, switchers = counts[:N_BANDS].T
        rating_customers, rating_switchers = counts[RATING_ROWS : RATING_ROWS + N_RATINGS].T
        curve_customers, curve_switchers = counts[CURVE_ROWS:NPS_ROW].T
        promoters, detractors = counts[NPS_ROW].tolist()
        wom_positive, wom_negative = counts[WOM_ROWS : WOM_ROWS + N_BANDS].T
        considered, offered = counts[CONSIDERATION_ROWS : CONSIDERATION_ROWS + N_BANDS].T
        return cls(
            customers=int(customers.sum()),
            switchers=int(switchers.sum()),
            band_customers=customers,
            band_switchers=switchers,
            rating_customers=rating_customers,
            rating_switchers=rating_switchers,
            promoters=promoters,
            detractors=detractors,
            curve_customers=curve_customers,
            curve_switchers=curve_switchers,
            wom_positive=wom_positive,
            wom_negative=wom_negative,
            considered=considered,
            offered=offered,
        )

    @property
    def satisfied_defectors(self) -> int:
        """Switchers whose latent satisfaction was in the satisfied bands."""
        return int(self.band_switchers[list(SATISFIED_BANDS)].sum())


def _rates(counts: PeriodCounts, periods_per_year: int) -> dict[str, float]:
    churn = _ratio(counts.switchers, counts.customers)
    row = {
        "churn_rate": churn,
        "retention_rate": 1.0 - churn,
        "annualised_churn": float(annualise(churn, periods_per_year)),
        "satisfied_defector_share": _ratio(counts.satisfied_defectors, counts.switchers),
        "nps": 100.0 * (counts.promoters - counts.detractors) / counts.customers,
        "promoter_share": counts.promoters / counts.customers,
        "detractor_share": counts.detractors / counts.customers,
        "consideration_rate": int(counts.considered.sum()) / counts.customers,
    }
    for key, switchers, customers in zip(
        _BAND_CHURN_KEYS, counts.band_switchers.tolist(), counts.band_customers.tolist(), strict=True
    ):
        row[key] = _ratio(switchers, customers)
    for key, switchers, customers in zip(
        _RATING_CHURN_KEYS, counts.rating_switchers.tolist(), counts.rating_customers.tolist(), strict=True
    ):
        row[key] = _ratio(switchers, customers)
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
        row[f"band_share_{name}"] = customers / counts.customers
        row[f"wom_sent_{name}"] = _ratio(sent, customers)
        row[f"consideration_{name}"] = _ratio(int(counts.considered[band]), customers)
        row[f"offer_{name}"] = _ratio(int(counts.offered[band]), customers)
        row[f"customer_periods_{name}"] = customers
        row[f"wom_positive_{name}"] = int(counts.wom_positive[band])
        row[f"wom_negative_{name}"] = int(counts.wom_negative[band])
        row[f"considered_{name}"] = int(counts.considered[band])
        row[f"offered_{name}"] = int(counts.offered[band])
    return row


def market_metrics(
    step: int, outcome: PeriodOutcome, shares: NDArray[np.float64], periods_per_year: int
) -> tuple[dict[str, float], PeriodCounts]:
    """The market row of one period and its counts."""
    counts = PeriodCounts.of(outcome)
    row: dict[str, float] = {
        "step": step,
        "customers": counts.customers,
        "switchers": counts.switchers,
        "mean_satisfaction": outcome.mean_satisfaction,
        "sd_satisfaction": outcome.sd_satisfaction,
        "mean_loyalty": outcome.mean_loyalty,
        "mean_expectation": outcome.mean_expectation,
        "mean_rating": float(np.dot(RATINGS, counts.rating_customers)) / counts.customers,
        "hhi": float(np.sum(shares**2)),
        "wom_positive": outcome.messages_positive,
        "wom_negative": outcome.messages_negative,
        "revenue": float(outcome.revenue.sum()),
        "profit": float((outcome.revenue - outcome.costs).sum()),
    }
    for key, customers in zip(_SHARE_KEYS, counts.band_customers.tolist(), strict=True):
        row[key] = customers / counts.customers
    row.update(_rates(counts, periods_per_year))
    return row, counts


def clv(margin: NDArray[np.float64], retention: NDArray[np.float64], discount_per_period: float) -> NDArray[np.float64]:
    """Customer lifetime value with constant margin and retention: ``m · r / (1 + d − r)`` (Gupta & Lehmann)."""
    return margin * retention / (1.0 + discount_per_period - retention)


def firm_metrics(
    step: int,
    outcome: PeriodOutcome,
    market: Market,
    customers_after: NDArray[np.int64],
    retention_cost: float,
    discount_per_period: float,
    reviews: bool = False,
) -> list[dict[str, float | str]]:
    """One row per firm for this period; with ``reviews`` also the review platform at the period's end (ODD 7.14):
    ``review_rating`` (recency-weighted average, NaN before the first review) and ``review_count`` (recency-weighted)."""
    retention = _ratio(outcome.purchases - outcome.lost, outcome.purchases)
    margin = market.price - market.unit_cost - retention_cost - market.programme_cost
    value = clv(margin, np.where(np.isnan(retention), 0.0, retention), discount_per_period)
    columns = {
        "customers": customers_after.tolist(),
        "share": (customers_after / customers_after.sum()).tolist(),
        "purchases": outcome.purchases.tolist(),
        "won": outcome.won.tolist(),
        "lost": outcome.lost.tolist(),
        "retention_rate": retention.tolist(),
        "mean_satisfaction": outcome.satisfaction_by_firm.tolist(),
        "revenue": outcome.revenue.tolist(),
        "costs": outcome.costs.tolist(),
        "profit": (outcome.revenue - outcome.costs).tolist(),
        "clv": value.tolist(),
        "quality": market.quality.tolist(),
        "price": market.price.tolist(),
    }
    if reviews:
        columns["review_rating"] = _ratio(market.review_sum, market.review_count).tolist()
        columns["review_count"] = market.review_count.tolist()
    return [
        {"step": step, "firm": name, **{key: column[i] for key, column in columns.items()}} for i, name in enumerate(market.names)
    ]


@dataclass
class RunTotals:
    """Counts pooled over the periods after burn-in, for run-level rates."""

    periods: int = 0
    counts: PeriodCounts | None = None
    satisfaction_sum: float = 0.0
    profit_sum: float = 0.0

    def add(self, counts: PeriodCounts, mean_satisfaction: float, profit: float) -> None:
        """Add one period's counts."""
        self.periods += 1
        self.satisfaction_sum += mean_satisfaction
        self.profit_sum += profit
        if self.counts is None:
            self.counts = PeriodCounts(**vars(counts))
            return
        for name, value in vars(counts).items():
            setattr(self.counts, name, getattr(self.counts, name) + value)

    def summary(self, periods_per_year: int) -> dict[str, float]:
        """Run-level rates (pooled), or an empty dict before any period was counted."""
        if self.counts is None:
            return {}
        row = {
            "periods": self.periods,
            "mean_satisfaction": self.satisfaction_sum / self.periods,
            "profit_per_period": self.profit_sum / self.periods,
        }
        row.update(_rates(self.counts, periods_per_year))
        row.update(_pooled_rates(self.counts))
        return row

    def retention_curve(self) -> pd.DataFrame:
        """Pooled retention by satisfaction bin (width 1/CURVE_BINS): the satisfaction → retention curve."""
        edges = np.linspace(0.0, 1.0, CURVE_BINS + 1)
        customers = self.counts.curve_customers if self.counts else np.zeros(CURVE_BINS, dtype=np.int64)
        switchers = self.counts.curve_switchers if self.counts else np.zeros(CURVE_BINS, dtype=np.int64)
        return pd.DataFrame(
            {
                "satisfaction_low": edges[:-1],
                "satisfaction_high": edges[1:],
                "customer_periods": customers,
                "switchers": switchers,
                "retention_rate": 1.0 - _ratio(switchers, customers),
            }
        )
