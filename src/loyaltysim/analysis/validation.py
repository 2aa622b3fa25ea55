"""The validation scorecard: the stylized facts of the literature, measured on the model's runs.

Rand & Rust (2011) ask marketing agent-based models to be validated against stylized facts before their
results are trusted. Each :class:`Fact` names a published regularity, its source, the published value or
range, the scenarios it is measured on and how (:attr:`Fact.measure`: run tables in, a
:class:`Measurement` out). :func:`scorecard` measures every fact on the runs of the validation scenarios
(run by :mod:`loyaltysim.workflows.validation`) and returns one row per fact: the measured value with
its confidence interval over replicates, the published value, and whether the fact holds.

Most facts about defection are measured the way the studies measured them: customers rated at a
survey wave and followed for a year (the model's *survey cohort* metrics, ``defection_rating_k`` …),
not period by period. A fact that served as a calibration target of the defaults (``experiments/calibrate_defaults.yaml``)
is marked ``calibrated``: it then shows the fit, not an independent check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from loyaltysim.analysis.warmup import KEY_METRICS, warm_up
from loyaltysim.config.schema import Config
from loyaltysim.model import parameters, rules
from loyaltysim.model.scales import BANDS, RATINGS

__all__ = ["CONFIDENCE", "FACTS", "Fact", "Measurement", "Runs", "scorecard"]

CONFIDENCE = 0.95
"""Level of the confidence intervals over replicates."""


@dataclass(frozen=True)
class Runs:
    """One validation scenario's results: ``runs`` (one row per replicate: the run summary),
    ``timeseries`` (run_id, step, market metrics) and the ``config`` its replicates ran with (seed aside)."""

    runs: pd.DataFrame
    timeseries: pd.DataFrame
    config: Config


@dataclass(frozen=True)
class Measurement:
    """A fact as measured: ``estimate`` with its interval over replicates, whether it ``holds``, and a
    ``detail`` line (the values behind it)."""

    estimate: float
    ci_low: float
    ci_high: float
    holds: bool
    detail: str


@dataclass(frozen=True)
class Fact:
    """A stylized fact and how to measure it on the validation scenarios."""

    key: str
    statement: str
    source: str
    published: str
    measured_as: str
    scenarios: tuple[str, ...]
    measure: Callable[[Mapping[str, Runs]], Measurement]
    calibrated: bool = False


# --- helpers over replicates --------------------------------------------------------------------


def _interval(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """Mean and t-interval over replicates (the interval is the mean itself with one replicate)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if len(values) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def _column(runs: Runs, name: str) -> np.ndarray:
    return runs.runs[name].to_numpy(dtype=np.float64)


def _pooled(runs: Runs, keys: Sequence[str]) -> np.ndarray:
    """Per replicate: defectors / customers of a survey cohort pooled over several bands or ratings."""
    customers = sum(_column(runs, f"cohort_{key}_customers") for key in keys)
    defectors = sum(_column(runs, f"cohort_{key}_defectors") for key in keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        return defectors / customers


def _fmt(values: Sequence[float]) -> str:
    return " > ".join(f"{v:.3f}" for v in values)


def _in_range(low: float, high: float) -> Callable[[float], bool]:
    return lambda estimate: bool(low <= estimate <= high)


def _share_in_range(scenario: str, metric: str, low: float, high: float, detail: str = "") -> Callable[..., Measurement]:
    def measure(results: Mapping[str, Runs]) -> Measurement:
        estimate, ci_low, ci_high = _interval(_column(results[scenario], metric))
        return Measurement(estimate, ci_low, ci_high, _in_range(low, high)(estimate), detail)

    return measure


# --- measures -----------------------------------------------------------------------------------


def _ladder(prefix: str, keys: Sequence[object]) -> Callable[[Mapping[str, Runs]], Measurement]:
    """Defection within a year falls at every step of the scale, each fall's interval above 0;
    estimate = the step with the weakest evidence (lowest interval bound)."""

    def measure(results: Mapping[str, Runs]) -> Measurement:
        runs = results["baseline"]
        ladder = np.column_stack([_column(runs, f"{prefix}{key}") for key in keys])
        steps = [_interval(ladder[:, i] - ladder[:, i + 1]) for i in range(len(keys) - 1)]
        weakest = int(np.argmin([low for _, low, _ in steps]))
        estimate, ci_low, ci_high = steps[weakest]
        means = np.nanmean(ladder, axis=0)
        detail = f"annual defection {_fmt(means)}; weakest step between {keys[weakest]} and {keys[weakest + 1]}"
        return Measurement(estimate, ci_low, ci_high, bool(all(low > 0 for _, low, _ in steps)), detail)

    return measure


def _barriers(results: Mapping[str, Runs]) -> Measurement:
    """Drop in annual defection (points) from low to baseline switching costs, highly satisfied band / the
    two dissatisfied bands, over paired replicates: the moderation Jones, Mothersbaugh & Beatty (2000)
    estimate on the absolute scale. Holds when the top's drop is at most a third of the bottom's."""
    low, high = results["low_barriers"], results["baseline"]
    bottom_keys, top_keys = BANDS[:2], BANDS[4:]
    bottom = _pooled(low, bottom_keys) - _pooled(high, bottom_keys)
    top = _pooled(low, top_keys) - _pooled(high, top_keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate, ci_low, ci_high = _interval(top / bottom)
        relative = [np.nanmean(drop / _pooled(low, keys)) for drop, keys in ((bottom, bottom_keys), (top, top_keys))]
    detail = (
        f"raising switching costs cuts annual defection by {np.nanmean(bottom):.3f} ({relative[0]:.0%}) in the "
        f"dissatisfied bands and by {np.nanmean(top):.3f} ({relative[1]:.0%}) in the highly satisfied band"
    )
    return Measurement(estimate, ci_low, ci_high, bool(np.nanmean(bottom) > 0 and estimate <= 1 / 3), detail)


def _captive(results: Mapping[str, Runs]) -> Measurement:
    """Captive vs baseline: lower satisfaction, and dissatisfied customers kept (ratio of their defection)."""
    captive, open_market = results["captive"], results["baseline"]
    dissatisfied = [f"rating_{r}" for r in (1, 2)]
    ratio = _pooled(captive, dissatisfied) / _pooled(open_market, dissatisfied)
    gap = _column(captive, "mean_satisfaction") - _column(open_market, "mean_satisfaction")
    estimate, ci_low, ci_high = _interval(ratio)
    detail = f"mean satisfaction {np.nanmean(gap):+.3f} against the open market; dissatisfied defection ratio shown"
    return Measurement(estimate, ci_low, ci_high, bool(estimate < 0.5 and np.nanmean(gap) < 0), detail)


def _word_of_mouth_u(results: Mapping[str, Runs]) -> Measurement:
    """Messages per customer-period by band: both extremes above the middle, the dissatisfied above the satisfied."""
    runs = results["baseline"]
    sent = np.column_stack([_column(runs, f"wom_sent_{band}") for band in BANDS])
    shares = np.column_stack([_column(runs, f"band_share_{band}") for band in BANDS])
    dissatisfied = (sent[:, :2] * shares[:, :2]).sum(axis=1) / shares[:, :2].sum(axis=1)
    satisfied = (sent[:, 3:] * shares[:, 3:]).sum(axis=1) / shares[:, 3:].sum(axis=1)
    estimate, ci_low, ci_high = _interval(dissatisfied / satisfied)
    means = np.nanmean(sent, axis=0)
    u_shape = means[0] > means[2] < means[4]
    return Measurement(estimate, ci_low, ci_high, bool(u_shape and estimate > 1), f"messages per customer-period {_fmt(means)}")


def _word_of_mouth_volume(results: Mapping[str, Runs]) -> Measurement:
    negative = _column(results["baseline"], "wom_negative_share")
    estimate, ci_low, ci_high = _interval((1 - negative) / negative)
    return Measurement(estimate, ci_low, ci_high, _in_range(2.0, 4.0)(estimate), "positive messages per negative one")


def _same_rating(results: Mapping[str, Runs]) -> Measurement:
    runs = results["baseline"]
    ratio = _column(runs, "defection_rating_4_high_bias") / _column(runs, "defection_rating_4_low_bias")
    estimate, ci_low, ci_high = _interval(ratio)
    detail = (
        f"annual defection of customers rating 4: {np.nanmean(_column(runs, 'defection_rating_4_high_bias')):.3f} "
        f"(generous raters) vs {np.nanmean(_column(runs, 'defection_rating_4_low_bias')):.3f} (strict raters)"
    )
    return Measurement(estimate, ci_low, ci_high, bool(ci_low > 1.25), detail)


GAP = 0.1
"""The shortfall and surplus of the asymmetry fact, on the performance scale."""


def _asymmetry(results: Mapping[str, Runs]) -> Measurement:
    """Transaction satisfaction lost to a shortfall of :data:`GAP` / gained from an equal surplus (7.2),
    at the baseline's mean initial expectation and a fair price: a property of the rule and its parameters."""
    config = results["baseline"].config
    p = parameters.record(config)
    expectation = config.customers.initial_expectation.mean
    satisfaction = rules.transaction_satisfaction.py_func
    neutral = satisfaction(expectation, expectation, 0.0, p)
    loss = neutral - satisfaction(expectation - GAP, expectation, 0.0, p)
    gain = satisfaction(expectation + GAP, expectation, 0.0, p) - neutral
    ratio = loss / gain
    detail = f"at expectation {expectation:.2f}: −{loss:.3f} for a shortfall of {GAP}, +{gain:.3f} for a surplus"
    return Measurement(ratio, ratio, ratio, bool(ratio > 1), detail)


def _steady_state(results: Mapping[str, Runs]) -> Measurement:
    """MSER-5 warm-up of each run's key series (worst metric per run, in periods) against the burn-in."""
    runs = results["baseline"]
    burn_in = runs.config.run.burn_in
    worst, unsettled = [], 0
    for _, series in runs.timeseries.groupby("run_id"):
        cuts = [cut for metric in KEY_METRICS if metric in series and (cut := warm_up(series, metric)) is not None]
        if not cuts:
            raise KeyError("time series shorter than MSER-5's 20 periods")
        unsettled += sum(not cut.settled for cut in cuts)
        worst.append(max(cut.truncation for cut in cuts))
    estimate, ci_low, ci_high = _interval(worst)
    detail = f"burn-in {burn_in} periods; MSER-5 over {', '.join(KEY_METRICS)}; {unsettled} series without a steady state"
    return Measurement(estimate, ci_low, ci_high, bool(estimate <= burn_in and unsettled == 0), detail)


FACTS: tuple[Fact, ...] = (
    Fact(
        "defection_falls_latent",
        "Defection falls across the five satisfaction bands (latent satisfaction)",
        "Kotler 2003 (ladder, as a shape); Heskett et al. 1994; Jones & Sasser 1995",
        "every step falls (quoted ladder 80%, 40%, 20%, 10%, 1–2% a year)",
        "fall in annual defection between adjacent bands (the weakest step)",
        ("baseline",),
        _ladder("defection_", BANDS),
    ),
    Fact(
        "defection_falls_rated",
        "Defection falls across the five survey ratings",
        "Kotler 2003 (ladder, as a shape); Heskett et al. 1994; Jones & Sasser 1995",
        "every step falls (quoted ladder 80%, 40%, 20%, 10%, 1–2% a year)",
        "fall in annual defection between adjacent ratings (the weakest step)",
        ("baseline",),
        _ladder("defection_rating_", RATINGS),
        calibrated=True,
    ),
    Fact(
        "satisfaction_trap",
        "In a competitive market with low switching barriers most defectors were satisfied",
        "Reichheld 1996 and Jones & Sasser 1995 (Bain's figure as quoted)",
        "65–85% of defectors rated 4–5",
        "share of the year's defectors who rated 4–5 at the survey (fierce competition)",
        ("competitive",),
        _share_in_range("competitive", "cohort_satisfied_defector_share", 0.65, 0.85),
    ),
    Fact(
        "top_box",
        "Totally satisfied customers are several times as likely to stay as merely satisfied ones",
        "Heskett et al. 1994; Jones & Sasser 1995 (Xerox)",
        "several times (Xerox: about 6×); range 3–10",
        "odds of staying a year, rating 5 vs rating 4",
        ("baseline",),
        _share_in_range("baseline", "top_box_odds", 3.0, 10.0),
    ),
    Fact(
        "barriers_matter_when_dissatisfied",
        "Switching barriers keep dissatisfied customers and matter little for highly satisfied ones",
        "Jones, Mothersbaugh & Beatty 2000; Burnham, Frels & Mahajan 2003",
        "the barrier effect at the top at most a third of that at the bottom",
        "drop in annual defection from low (mean 0.5) to baseline (mean 5) switching costs, "
        "highly satisfied band / dissatisfied bands (points)",
        ("low_barriers", "baseline"),
        _barriers,
    ),
    Fact(
        "captive_markets",
        "Captive markets keep customers whatever their satisfaction, and report lower satisfaction",
        "Fornell 1992",
        "lower satisfaction; dissatisfied customers kept (defection ratio below 1/2)",
        "annual defection of customers rating 1–2, near monopoly / baseline",
        ("captive", "baseline"),
        _captive,
    ),
    Fact(
        "asymmetric_disconfirmation",
        "A shortfall moves satisfaction more than an equal surplus",
        "Anderson & Sullivan 1993; Mittal, Ross & Baldasare 1998",
        "ratio above 1",
        "satisfaction lost to a shortfall of 0.1 / gained from a surplus of 0.1, at the customers' expectations",
        ("baseline",),
        _asymmetry,
    ),
    Fact(
        "word_of_mouth_u",
        "Word of mouth per customer is an asymmetric U: most at the extremes, more when dissatisfied",
        "Anderson 1998",
        "U-shaped; dissatisfied talk more than satisfied (ratio above 1)",
        "messages per customer-period, bands 0–1 / bands 3–4",
        ("baseline",),
        _word_of_mouth_u,
    ),
    Fact(
        "word_of_mouth_volume",
        "Positive word of mouth outnumbers negative about three to one",
        "East, Hammond & Wright 2007 (15 studies)",
        "about 3:1 (range 2–4)",
        "positive messages per negative message",
        ("baseline",),
        _word_of_mouth_volume,
        calibrated=True,
    ),
    Fact(
        "annual_churn",
        "An ordinary competitive market loses 10–30% of its customers a year",
        "Kotler 2003; Reichheld 1996",
        "10–30% a year",
        "annualised churn of the baseline (pooled after burn-in)",
        ("baseline",),
        _share_in_range("baseline", "annualised_churn", 0.10, 0.30),
        calibrated=True,
    ),
    Fact(
        "same_rating_different_behaviour",
        "The same rating hides different repurchase behaviour across customer groups",
        "Mittal & Kamakura 2001",
        "defection differs between groups giving the same rating (ratio CI above 1.25)",
        "annual defection of customers rating 4, generous / strict raters (response bias above / below 0)",
        ("baseline",),
        _same_rating,
    ),
    Fact(
        "steady_state",
        "Run-level results come from a steady state: the warm-up ends within the burn-in",
        "Law 2015 (MSER-5); Rand & Rust 2011",
        "warm-up within the burn-in",
        "MSER-5 truncation point (periods), worst key series per run",
        ("baseline",),
        _steady_state,
    ),
)
"""The stylized facts of docs/validation.md, in the order of the scorecard."""


def scorecard(results: Mapping[str, Runs], facts: Sequence[Fact] = FACTS) -> pd.DataFrame:
    """One row per fact: statement, source, published value, measured value with its interval, holds.

    A fact whose scenarios are missing from ``results``, or whose metrics the runs lack, is reported with
    ``holds`` None and the reason in ``detail``.
    """
    rows = []
    for fact in facts:
        row = {
            "fact": fact.key,
            "statement": fact.statement,
            "source": fact.source,
            "published": fact.published,
            "measured_as": fact.measured_as,
            "calibrated": fact.calibrated,
        }
        missing = [name for name in fact.scenarios if name not in results]
        try:
            if missing:
                raise KeyError(f"scenario {missing[0]!r} was not run")
            measured = fact.measure(results)
        except KeyError as exc:
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, holds=None, detail=f"not measured: {exc}")
        else:
            row.update(
                estimate=measured.estimate,
                ci_low=measured.ci_low,
                ci_high=measured.ci_high,
                holds=measured.holds,
                detail=measured.detail,
            )
        rows.append(row)
    return pd.DataFrame(rows)
