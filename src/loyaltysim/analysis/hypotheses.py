"""Hypotheses from the satisfaction–loyalty literature as statistical tests over a sweep's tables.

Every test is a function ``test(runs, curves=None, *, option=default, ...) -> list[HypothesisResult]``
over the tidy tables of a sweep: ``runs`` has one row per run (run_id, factor columns named by dotted
config path, status, summary metrics); ``curves`` has one row per run × satisfaction bin (run_id,
satisfaction_low, satisfaction_high, customer_periods, switchers): binomial data for customer-level
logit fits with frequency weights. Only runs with ``status == "ok"`` are used. Add your own with
:func:`register_hypothesis_test` or name it in YAML as ``test: mypkg.tests:my_test``; check it with
:func:`loyaltysim.analysis.hypothesis_checks.check_hypothesis_test`.

Replicate runs are the independent units: model-based standard errors are clustered by run and
bootstrap intervals resample runs, because one customer's periods within a run are not independent.

Verdicts follow one rule (:func:`decide`), given an estimate, its confidence interval, the
hypothesised direction and a smallest effect of interest ``min_effect``:

- **supported**: the interval excludes the null in the hypothesised direction and the estimate is
  at least ``min_effect`` beyond the null;
- **not supported**: the interval excludes every effect of at least ``min_effect`` (and every
  positive effect) in the hypothesised direction: the effect is absent, trivially small, or opposite;
- **inconclusive**: neither (too few replicates to tell).
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from scipy import optimize, stats

from loyaltysim.config.errors import ConfigError
from loyaltysim.config.references import Registry

__all__ = [
    "TESTS",
    "VERDICTS",
    "HypothesisResult",
    "HypothesisTest",
    "check_hypotheses",
    "check_signature",
    "check_spec",
    "decide",
    "difference",
    "evaluate",
    "factor_columns",
    "fit_clustered",
    "hypothesis_test",
    "moderation",
    "monotone_defection",
    "nonlinear_link",
    "register_hypothesis_test",
    "results_frame",
    "satisfaction_trap",
]

VERDICTS = ("supported", "not supported", "inconclusive")
Direction = Literal["greater", "less", "two-sided"]
BAND_NAMES = ("highly_dissatisfied", "dissatisfied", "neutral", "satisfied", "highly_satisfied")


@dataclass(frozen=True)
class HypothesisResult:
    """One verdict of one test in one cell of the design."""

    test: str
    cell: str
    verdict: str
    statistic: float
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    note: str
    details: dict[str, float] = field(default_factory=dict)


def decide(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    direction: Direction = "greater",
    null: float = 0.0,
    min_effect: float = 0.0,
) -> str:
    """Verdict from an estimate and its confidence interval (see the module docstring).

    Examples
    --------
    >>> decide(0.8, 0.6, 1.0, min_effect=0.2)
    'supported'
    >>> decide(0.01, -0.05, 0.07, min_effect=0.2)
    'not supported'
    >>> decide(0.3, -0.2, 0.8, min_effect=0.2)
    'inconclusive'
    """
    if not all(np.isfinite([estimate, ci_low, ci_high])):
        return "inconclusive"
    if direction == "two-sided":
        excludes_null = ci_low > null or ci_high < null
        if excludes_null and abs(estimate - null) >= min_effect:
            return "supported"
        if null - min_effect < ci_low and ci_high < null + min_effect:
            return "not supported"
        return "inconclusive"
    sign = 1.0 if direction == "greater" else -1.0
    effect = sign * (estimate - null)
    low, high = sorted((sign * (ci_low - null), sign * (ci_high - null)))
    if low > 0 and effect >= min_effect:
        return "supported"
    if high < min_effect or high <= 0:
        return "not supported"
    return "inconclusive"


# --- shared helpers ------------------------------------------------------------------------------


def factor_columns(runs: pd.DataFrame) -> list[str]:
    """The design's factor columns: those named by a dotted config path."""
    return [column for column in runs.columns if "." in column]


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"] if "status" in runs.columns else runs


def _cells(runs: pd.DataFrame, by: Sequence[str] | None) -> Iterator[tuple[str, pd.DataFrame]]:
    """(label, runs of the cell) for each combination of the ``by`` columns (all factors if None)."""
    runs = _ok(runs)
    columns = factor_columns(runs) if by is None else list(by)
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"unknown column(s) {missing}; the runs table has {sorted(runs.columns)}")
    if not columns:
        yield "all runs", runs
        return
    for key, group in runs.groupby(columns, sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        yield ", ".join(f"{c}={_fmt(v)}" for c, v in zip(columns, values, strict=True)), group


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


@dataclass(frozen=True)
class _Binned:
    """Binomial satisfaction → retention data of a set of runs: one row per run, one column per bin."""

    run_ids: np.ndarray
    midpoint: np.ndarray
    trials: np.ndarray
    switchers: np.ndarray

    @classmethod
    def of(cls, curves: pd.DataFrame, run_ids: Sequence) -> _Binned:
        data = curves[curves["run_id"].isin(run_ids)]
        if data.empty:
            raise ValueError("no curves rows for the selected runs")
        trials = data.pivot_table(index="run_id", columns="satisfaction_low", values="customer_periods", aggfunc="sum")
        switchers = data.pivot_table(index="run_id", columns="satisfaction_low", values="switchers", aggfunc="sum")
        high = data.groupby("satisfaction_low")["satisfaction_high"].first().reindex(trials.columns)
        return cls(
            run_ids=trials.index.to_numpy(),
            midpoint=0.5 * (trials.columns.to_numpy(dtype=float) + high.to_numpy(dtype=float)),
            trials=trials.fillna(0).to_numpy(dtype=float),
            switchers=switchers.fillna(0).to_numpy(dtype=float),
        )

    def pooled(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(midpoint, stays, switchers) summed over the chosen runs (all if None), empty bins dropped."""
        trials = self.trials if rows is None else self.trials[rows]
        switchers = self.switchers if rows is None else self.switchers[rows]
        n, k = trials.sum(axis=0), switchers.sum(axis=0)
        keep = n > 0
        return self.midpoint[keep], (n - k)[keep], k[keep]


def _binomial(stays: np.ndarray, switchers: np.ndarray, exog: np.ndarray, start: np.ndarray | None = None):
    """Binomial logit GLM of staying (successes) vs switching (failures)."""
    endog = np.column_stack([stays, switchers])
    return sm.GLM(endog, exog, family=sm.families.Binomial()).fit(start_params=start)


# --- 1. satisfaction trap --------------------------------------------------------------------------


def satisfaction_trap(
    runs: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    *,
    level: float = 0.5,
    min_satisfaction: float = 0.6,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_boot: int = 999,
    seed: int = 0,
) -> list[HypothesisResult]:
    """Most defectors were satisfied while satisfaction is high (Jones & Sasser 1995), per cell.

    Effect: mean over replicates of ``satisfied_defector_share`` (share of switchers whose latent
    satisfaction was in the satisfied bands), with a bootstrap CI over replicates. Supported when
    the CI lies above ``level`` and the cell's mean satisfaction is at least ``min_satisfaction``;
    not supported when the CI lies below ``level`` or satisfaction is not high. The statistic is a
    one-sample t against ``level`` (one-sided p-value).
    """
    results = []
    for cell, group in _cells(runs, by):
        shares = group["satisfied_defector_share"].dropna().to_numpy(dtype=float)
        satisfaction = float(group["mean_satisfaction"].mean())
        estimate = float(shares.mean()) if len(shares) else math.nan
        low, high = _bootstrap_mean_ci(shares, confidence, n_boot, seed)
        verdict = decide(estimate, low, high, direction="greater", null=level)
        note = f"mean satisfaction {satisfaction:.3f}"
        if satisfaction < min_satisfaction:
            verdict = "not supported"
            note += f" is below {min_satisfaction} (satisfaction is not high here)"
        statistic, p_value = _one_sample_t(shares, level)
        results.append(
            HypothesisResult(
                test="satisfaction_trap",
                cell=cell,
                verdict=verdict,
                statistic=statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=len(shares),
                note=note,
                details={"level": level, "mean_satisfaction": satisfaction, "churn_rate": float(group["churn_rate"].mean())},
            )
        )
    return results


def _bootstrap_mean_ci(values: np.ndarray, confidence: float, n_boot: int, seed: int) -> tuple[float, float]:
    """Bootstrap CI of the mean over replicates (BCa; percentile when all values are equal)."""
    if len(values) < 2:
        return math.nan, math.nan
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    result = stats.bootstrap((values,), np.mean, n_resamples=n_boot, confidence_level=confidence, method="BCa", rng=_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _one_sample_t(values: np.ndarray, level: float) -> tuple[float, float]:
    """t statistic and one-sided p-value of H0: mean ≤ level, over replicates."""
    if len(values) < 2 or np.ptp(values) == 0:
        return math.nan, math.nan
    test = stats.ttest_1samp(values, level, alternative="greater")
    return float(test.statistic), float(test.pvalue)


# --- 2. nonlinear link -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _SegmentedFit:
    """Linear logit vs a hinge (segmented) logit: ``logit P(stay) = a + b·s + c·max(s − τ, 0)``."""

    threshold: float
    slope_below: float
    slope_change: float
    linear_slope: float
    llf_linear: float
    llf_segmented: float
    aic_linear: float
    aic_segmented: float

    @property
    def relative_change(self) -> float:
        """Slope change at τ relative to the linear model's slope (NaN if that slope is not positive)."""
        return self.slope_change / self.linear_slope if self.linear_slope > 0 else math.nan


def _segmented(
    s: np.ndarray, stays: np.ndarray, switchers: np.ndarray, bounds: tuple[float, float], step: float
) -> _SegmentedFit:
    """Profile likelihood over τ: a grid of width ``step`` in ``bounds``, refined by bounded search."""
    linear_x = np.column_stack([np.ones_like(s), s])
    linear = _binomial(stays, switchers, linear_x)
    start = np.append(linear.params, 0.0)

    def fit(tau: float):
        return _binomial(stays, switchers, np.column_stack([linear_x, np.maximum(s - tau, 0.0)]), start)

    grid = np.arange(bounds[0], bounds[1] + step / 2, step)
    llf = np.array([fit(tau).llf for tau in grid])
    best = int(np.argmax(llf))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    if hi > lo:
        tau = float(optimize.minimize_scalar(lambda t: -fit(t).llf, bounds=(lo, hi), method="bounded").x)
    else:
        tau = float(grid[best])
    segmented = fit(tau)
    if segmented.llf < llf[best]:
        tau, segmented = float(grid[best]), fit(float(grid[best]))
    return _SegmentedFit(
        threshold=tau,
        slope_below=float(segmented.params[1]),
        slope_change=float(segmented.params[2]),
        linear_slope=float(linear.params[1]),
        llf_linear=float(linear.llf),
        llf_segmented=float(segmented.llf),
        aic_linear=float(linear.aic),
        aic_segmented=float(segmented.aic + 2),  # τ is a fitted parameter too
    )


def _spline_comparison(s: np.ndarray, stays: np.ndarray, switchers: np.ndarray, df: int) -> tuple[float, float, float]:
    """(AIC, LR statistic vs linear, p-value) of a natural cubic regression spline in satisfaction."""
    basis = np.asarray(patsy.dmatrix(f"cr(s, df={df}, constraints='center')", {"s": s}))
    spline = _binomial(stays, switchers, basis)
    linear = _binomial(stays, switchers, np.column_stack([np.ones_like(s), s]))
    lr = max(2.0 * (spline.llf - linear.llf), 0.0)
    return float(spline.aic), lr, float(stats.chi2.sf(lr, df - 1))


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    cumulative = np.cumsum(weights) / weights.sum()
    return np.interp(q, cumulative, values)


def nonlinear_link(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    shape: Literal["threshold", "diminishing"] = "threshold",
    min_effect: float = 0.5,
    trim: float = 0.1,
    step: float = 0.025,
    spline_df: int = 4,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_boot: int = 199,
    seed: int = 0,
) -> list[HypothesisResult]:
    """Retention responds to prior satisfaction nonlinearly, with a threshold (Oliver 1999), per cell.

    Customer-level binomial logit of staying on satisfaction (bin midpoints of ``curves``, pooled
    over the cell's replicates): a linear logit vs a segmented one with a hinge at τ, chosen by
    profile likelihood within the ``trim``–``1 − trim`` quantiles of the customer-periods'
    satisfaction. A natural spline (``spline_df``) is compared with the linear logit as well.

    The effect is the slope change at τ relative to the linear logit's slope (``c / b``); its CI
    and τ's CI come from a bootstrap over replicate runs. The test **reports a threshold**
    (``shape="threshold"``: supported) when the effect is at least ``min_effect`` with a CI above
    0 and τ's CI lies strictly inside the searched interval (an interior breakpoint).
    ``shape="diminishing"`` asks the mirror question: the slope falls by at least ``min_effect``.
    The statistic is the likelihood-ratio statistic segmented vs linear; its χ²(2) p-value is
    approximate (τ is not identified under the null, so it is anti-conservative); the verdict rests
    on the bootstrap intervals.
    """
    direction: Direction = "greater" if shape == "threshold" else "less"
    results = []
    for cell, group in _cells(runs, by):
        binned = _Binned.of(curves, group["run_id"].to_numpy())
        s, stays, switchers = binned.pooled()
        bounds = tuple(float(b) for b in _weighted_quantiles(s, stays + switchers, (trim, 1.0 - trim)))
        fit = _segmented(s, stays, switchers, bounds, step)
        (effect_low, tau_low), (effect_high, tau_high) = _bootstrap_segmented(binned, bounds, step, confidence, n_boot, seed)
        n_runs = len(binned.run_ids)
        verdict = decide(fit.relative_change, effect_low, effect_high, direction=direction, min_effect=min_effect)
        interior = bounds[0] + step / 2 < tau_low and tau_high < bounds[1] - step / 2
        note = (
            f"breakpoint τ = {fit.threshold:.3f} [{tau_low:.3f}, {tau_high:.3f}] (searched {bounds[0]:.3f}–{bounds[1]:.3f}); "
            f"logit slope {fit.slope_below:.2f} below τ, {fit.slope_below + fit.slope_change:.2f} above"
        )
        if verdict == "supported" and not interior:
            verdict = "inconclusive"
            note += "; τ's interval reaches the edge of the searched range"
        spline_aic, spline_lr, spline_p = _spline_comparison(s, stays, switchers, spline_df)
        lr = max(2.0 * (fit.llf_segmented - fit.llf_linear), 0.0)
        results.append(
            HypothesisResult(
                test="nonlinear_link",
                cell=cell,
                verdict=verdict,
                statistic=lr,
                effect=fit.relative_change,
                ci_low=float(effect_low),
                ci_high=float(effect_high),
                p_value=float(stats.chi2.sf(lr, 2)),
                n=n_runs,
                note=note,
                details={
                    "threshold": fit.threshold,
                    "threshold_low": float(tau_low),
                    "threshold_high": float(tau_high),
                    "slope_below": fit.slope_below,
                    "slope_change": fit.slope_change,
                    "linear_slope": fit.linear_slope,
                    "aic_linear": fit.aic_linear,
                    "aic_segmented": fit.aic_segmented,
                    "aic_spline": spline_aic,
                    "lr_spline": spline_lr,
                    "p_spline": spline_p,
                    "customer_periods": float((stays + switchers).sum()),
                },
            )
        )
    return results


def _bootstrap_segmented(
    binned: _Binned, bounds: tuple[float, float], step: float, confidence: float, n_boot: int, seed: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile CIs of (relative slope change, τ) from a bootstrap over replicate runs."""
    n_runs = len(binned.run_ids)
    if n_runs < 2:
        return (math.nan, math.nan), (math.nan, math.nan)

    def statistic(rows: np.ndarray) -> np.ndarray:
        boot = _segmented(*binned.pooled(rows.astype(int)), bounds, step)
        return np.array([boot.relative_change, boot.threshold])

    result = stats.bootstrap(
        (np.arange(n_runs),),
        statistic,
        vectorized=False,
        n_resamples=n_boot,
        confidence_level=confidence,
        method="percentile",
        rng=_rng(seed),
    )
    low, high = result.confidence_interval.low, result.confidence_interval.high
    return (float(low[0]), float(low[1])), (float(high[0]), float(high[1]))


# --- 3. moderation ---------------------------------------------------------------------------------


def _curves_with_factors(curves: pd.DataFrame, runs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Non-empty curve bins of ``runs`` joined to the runs' values of ``columns``."""
    data = curves.merge(runs[["run_id", *columns]], on="run_id", how="inner")
    data = data[data["customer_periods"] > 0].copy()
    data["satisfaction"] = 0.5 * (data["satisfaction_low"] + data["satisfaction_high"])
    data["stays"] = data["customer_periods"] - data["switchers"]
    return data


def _cluster_glm(data: pd.DataFrame, exog: np.ndarray):
    """Binomial logit with standard errors clustered by run (model-based with a single run)."""
    endog = data[["stays", "switchers"]].to_numpy(dtype=float)
    return fit_clustered(endog, exog, data["run_id"])


def fit_clustered(endog: np.ndarray, exog: np.ndarray, run_ids: pd.Series):
    """Binomial logit GLM of (stays, switchers); standard errors clustered by run when there are several runs."""
    groups = pd.factorize(run_ids)[0]
    model = sm.GLM(endog, exog, family=sm.families.Binomial())
    if groups.max(initial=0) < 1:
        return model.fit()
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def moderation(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    moderator: str,
    direction: Direction = "less",
    min_effect: float = 0.5,
    by: Sequence[str] | None = (),
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """The satisfaction → retention slope changes with a moderator (e.g. switching costs), per cell.

    Binomial logit of staying on satisfaction (centred at 0.5), the moderator (standardised over
    the cell's runs) and their product, with standard errors clustered by run. The effect is the
    interaction: the change of the logit slope per standard deviation of the moderator;
    ``direction="less"`` hypothesises that the moderator weakens the slope (Jones et al. 2000).
    """
    results = []
    for cell, group in _cells(runs, by):
        data = _curves_with_factors(curves, group, [moderator])
        m = pd.to_numeric(data[moderator])
        sd = float(group[moderator].astype(float).std())
        if not sd > 0:
            raise ValueError(f"moderation: the moderator {moderator!r} does not vary in cell {cell!r}")
        z = (m - float(group[moderator].astype(float).mean())) / sd
        s = data["satisfaction"] - 0.5
        exog = np.column_stack([np.ones(len(data)), s, z, s * z])
        fit = _cluster_glm(data, exog)
        low, high = fit.conf_int(alpha=1 - confidence)[3]
        estimate = float(fit.params[3])
        results.append(
            HypothesisResult(
                test="moderation",
                cell=cell,
                verdict=decide(estimate, low, high, direction=direction, min_effect=min_effect),
                statistic=float(fit.tvalues[3]),
                effect=estimate,
                ci_low=float(low),
                ci_high=float(high),
                p_value=float(fit.pvalues[3]),
                n=int(group["run_id"].nunique()),
                note=(
                    f"logit slope of satisfaction {fit.params[1]:.2f} at the mean {moderator} "
                    f"(sd {sd:.3g}); changes by {estimate:+.2f} per sd"
                ),
                details={"slope": float(fit.params[1]), "moderator_main": float(fit.params[2]), "moderator_sd": sd},
            )
        )
    return results


# --- 4. monotone defection -------------------------------------------------------------------------


def monotone_defection(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    min_effect: float = 0.1,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """Defection falls across Kotler's five satisfaction bands, per cell (a trend test).

    The curve bins are pooled into the five bands of width 0.2; a binomial logit of switching on the
    band index (0–4) — the Cochran–Armitage trend test in GLM form, with standard errors clustered
    by run — gives the log odds ratio of defection per band. Supported when it is below
    ``−min_effect`` with a CI below 0. Per-band churn and any reversals are in the note.
    """
    results = []
    for cell, group in _cells(runs, by):
        data = _curves_with_factors(curves, group, [])
        band = np.minimum(np.floor(data["satisfaction"] * 5).astype(int), 4)
        bands = data.assign(band=band).groupby(["run_id", "band"], as_index=False)[["stays", "switchers"]].sum()
        fit = _cluster_glm(bands, np.column_stack([np.ones(len(bands)), bands["band"].to_numpy(dtype=float)]))
        # the GLM models staying; defection's log odds ratio per band is minus the slope
        estimate = -float(fit.params[1])
        high, low = (-fit.conf_int(alpha=1 - confidence)[1]).tolist()
        totals = bands.groupby("band")[["stays", "switchers"]].sum()
        churn = totals["switchers"] / (totals["stays"] + totals["switchers"])
        reversals = int((np.diff(churn.to_numpy()) > 0).sum())
        results.append(
            HypothesisResult(
                test="monotone_defection",
                cell=cell,
                verdict=decide(estimate, low, high, direction="less", min_effect=min_effect),
                statistic=-float(fit.tvalues[1]),
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=float(fit.pvalues[1]),
                n=int(group["run_id"].nunique()),
                note="churn per period by band: "
                + ", ".join(f"{BAND_NAMES[b]} {c:.2%}" for b, c in churn.items())
                + f"; {reversals} reversal(s)",
                details={f"churn_{BAND_NAMES[b]}": float(c) for b, c in churn.items()} | {"reversals": float(reversals)},
            )
        )
    return results


# --- 5. difference between two conditions --------------------------------------------------------


def difference(
    runs: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    *,
    metric: str,
    factor: str,
    a: Any,
    b: Any,
    direction: Direction = "two-sided",
    min_effect: float | None = None,
    by: Sequence[str] | None = (),
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """A metric differs between condition ``b`` and condition ``a`` of ``factor`` (effect: mean b − mean a).

    Welch's t-test over replicate runs with its CI of the difference in means; Hedges' g is in the
    details. ``direction="greater"`` hypothesises b > a. ``min_effect`` is in the metric's units
    (default: 0.2 pooled standard deviations, Cohen's "small").
    """
    results = []
    for cell, group in _cells(runs, by):
        values = {}
        for label, level in (("a", a), ("b", b)):
            chosen = group[_matches(group[factor], level)][metric].dropna().to_numpy(dtype=float)
            if len(chosen) < 2:
                raise ValueError(f"difference: {factor} = {level!r} has {len(chosen)} run(s) with {metric} in cell {cell!r}")
            values[label] = chosen
        xa, xb = values["a"], values["b"]
        test = stats.ttest_ind(xb, xa, equal_var=False)
        low, high = test.confidence_interval(confidence_level=confidence)
        estimate = float(xb.mean() - xa.mean())
        pooled_sd = math.sqrt(((len(xa) - 1) * xa.var(ddof=1) + (len(xb) - 1) * xb.var(ddof=1)) / (len(xa) + len(xb) - 2))
        hedges = _hedges_g(estimate, pooled_sd, len(xa) + len(xb))
        threshold = 0.2 * pooled_sd if min_effect is None else min_effect
        verdict = decide(estimate, low, high, direction=direction, min_effect=threshold)
        if direction != "two-sided":
            p_value = float(stats.ttest_ind(xb, xa, equal_var=False, alternative=direction).pvalue)
        else:
            p_value = float(test.pvalue)
        results.append(
            HypothesisResult(
                test="difference",
                cell=cell,
                verdict=verdict,
                statistic=float(test.statistic),
                effect=estimate,
                ci_low=float(low),
                ci_high=float(high),
                p_value=p_value,
                n=len(xa) + len(xb),
                note=(
                    f"{metric}: {xb.mean():.4g} at {factor}={_fmt(b)} vs {xa.mean():.4g} at {factor}={_fmt(a)}; "
                    f"Hedges' g {hedges:.2f}"
                ),
                details={"mean_a": float(xa.mean()), "mean_b": float(xb.mean()), "hedges_g": hedges, "min_effect": threshold},
            )
        )
    return results


def _matches(column: pd.Series, level: Any) -> pd.Series:
    if isinstance(level, int | float) and not isinstance(level, bool) and pd.api.types.is_numeric_dtype(column):
        return np.isclose(column.astype(float), float(level))
    return column.astype(str) == str(level)


def _hedges_g(difference_of_means: float, pooled_sd: float, n: int) -> float:
    if pooled_sd == 0:
        return math.nan
    return difference_of_means / pooled_sd * (1.0 - 3.0 / (4.0 * n - 9.0))


# --- registry and evaluation -----------------------------------------------------------------------

HypothesisTest = Callable[..., list[HypothesisResult]]
"""``test(runs, curves=None, *, option=default, ...) -> list[HypothesisResult]``."""

TESTS: dict[str, HypothesisTest] = {
    "satisfaction_trap": satisfaction_trap,
    "nonlinear_link": nonlinear_link,
    "moderation": moderation,
    "monotone_defection": monotone_defection,
    "difference": difference,
}
"""The built-in tests."""

REGISTERED: Registry[HypothesisTest] = Registry("test", reserved=TESTS)
"""Tests registered in this process (:func:`register_hypothesis_test`) and ``module:function`` references."""


def check_signature(test: Callable[..., Any]) -> None:
    """Refuse a function that cannot be called as a hypothesis test.

    It takes ``runs`` and ``curves`` by position (``curves`` may default to None) and every option by
    keyword only (after ``*``), so an experiment's options reach it by name and unknown ones are refused.

    Raises
    ------
    TypeError
        Naming what is wrong with the signature.
    """
    name = getattr(test, "__name__", repr(test))
    if not callable(test):
        raise TypeError(f"a hypothesis test must be a function, got {test!r}")
    parameters = list(inspect.signature(test).parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) != 2:
        given = ", ".join(p.name for p in positional) or "none"
        raise TypeError(f"{name}: takes (runs, curves) by position and options after *; its positional parameters are {given}")
    if positional[0].default is not inspect.Parameter.empty:
        raise TypeError(f"{name}: runs (its first parameter) must not have a default")
    loose = [
        ("*" if p.kind is p.VAR_POSITIONAL else "**") + p.name for p in parameters if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if loose:
        raise TypeError(f"{name}: takes {loose[0]}; name each option after * (keyword-only), so unknown options are refused")


def register_hypothesis_test(name: str, test: HypothesisTest) -> None:
    """Make ``test`` available as ``test: <name>`` in the hypotheses of experiments evaluated by this process.

    Hypotheses are evaluated in the process that writes the report, so a registered name works with every
    executor. Check a new test first with :func:`loyaltysim.analysis.hypothesis_checks.check_hypothesis_test`.

    Raises
    ------
    ValueError
        ``name`` is a built-in test or not a plain name.
    TypeError
        ``test``'s signature is not ``test(runs, curves=None, *, option=default, ...)``.
    """
    check_signature(test)
    REGISTERED.register(name, test)


def hypothesis_test(name: str) -> HypothesisTest:
    """The test called ``name``: built in, registered, or a ``module:function`` reference (imported now).

    Raises
    ------
    ValueError
        Unknown name (with a close match), a reference that cannot be imported, or a bad signature.
    """
    if name in TESTS:
        return TESTS[name]
    test = REGISTERED.get(name)
    try:
        check_signature(test)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return test


def evaluate(specs: Sequence[dict[str, Any]], runs: pd.DataFrame, curves: pd.DataFrame | None) -> pd.DataFrame:
    """Run each hypothesis ``{test: name, label?: text, **options}`` and return the tidy results table."""
    rows = []
    for index, spec in enumerate(specs):
        options = dict(spec)
        name = options.pop("test")
        label = options.pop("label", name)
        try:
            test = hypothesis_test(name)
        except ValueError as exc:
            raise ValueError(f"hypotheses[{index}].test: {exc}") from None
        for result in test(runs, curves, **options):
            rows.append({"hypothesis": index, "label": label, **asdict(result)})
    return results_frame(rows)


def results_frame(rows: Sequence[dict[str, Any] | HypothesisResult]) -> pd.DataFrame:
    """A table of results; ``details`` becomes a JSON string column (Parquet-friendly)."""
    records = [asdict(row) if isinstance(row, HypothesisResult) else dict(row) for row in rows]
    for record in records:
        record["details"] = json.dumps(record.get("details", {}), sort_keys=True)
    columns = ["hypothesis", "label", *(f.name for f in fields(HypothesisResult))]
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=[c for c in columns if c in frame.columns] if records else columns)


def check_spec(spec: dict[str, Any], factors: Sequence[str]) -> None:
    """Validate one hypothesis spec ``{test, label?, **options}`` against its test and the design's factors.

    Raises
    ------
    ValueError
        Unknown test, unknown or missing option, or a column option naming no factor.
    """
    if not isinstance(spec, dict) or "test" not in spec:
        raise ValueError(f"expected a mapping with a 'test' key (one of {', '.join(REGISTERED.names())}), got {spec!r}")
    name = spec["test"]
    try:
        parameters = inspect.signature(hypothesis_test(name)).parameters
    except ValueError as exc:
        raise ValueError(f"test: {exc}") from None
    options = {k: v for k, v in spec.items() if k not in ("test", "label")}
    allowed = [p for p, v in parameters.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    for key in options:
        if key not in allowed:
            raise ValueError(f"{key}: unknown option of test {name!r}; allowed: {', '.join(allowed)}")
    for key in allowed:
        if parameters[key].default is inspect.Parameter.empty and key not in options:
            raise ValueError(f"{key}: test {name!r} needs this option")
    columns = [options[k] for k in ("moderator", "factor") if k in options] + list(options.get("by") or [])
    for column in columns:
        if column not in factors:
            raise ValueError(f"{column!r} is not a factor of this experiment; factors: {', '.join(factors) or 'none'}")


def check_hypotheses(experiment: Any, *, source: str | Path | None = None) -> None:
    """Check every hypothesis of an experiment against its test and the design's factors, before any run.

    Raises
    ------
    ConfigError
        Naming the hypothesis (``hypotheses.N``) and what is wrong with it.
    """
    factors = list(experiment.factors)
    for index, spec in enumerate(experiment.hypotheses):
        try:
            check_spec(spec, factors)
        except ValueError as exc:
            raise ConfigError(f"hypotheses.{index}: {exc}", source=source) from None
