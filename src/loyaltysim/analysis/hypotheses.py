"""Hypotheses from the satisfaction–loyalty literature as statistical tests over a sweep's tables.

Every test is a function ``test(runs, curves=None, *, option=default, ...) -> list[HypothesisResult]``
over the tidy tables of a sweep: ``runs`` has one row per run (run_id, point_id, replicate, factor
columns named by dotted config path, seed, status, summary metrics); ``curves`` has one row per run ×
satisfaction bin (run_id, satisfaction_low, satisfaction_high, customer_periods, switchers, and the
end-of-run survey's respondents, satisfaction_mean, intention_mean, intention_var:
:mod:`loyaltysim.experiments.survey`). Only runs with ``status == "ok"`` are used. Add your own with
:func:`register_hypothesis_test` or name it in YAML as ``test: mypkg.tests:my_test``; check it with
:func:`loyaltysim.analysis.hypothesis_checks.check_hypothesis_test`.

Replicate runs are the independent units: model-based standard errors are clustered by run, and
run-level estimates are compared with t distributions over runs. Comparisons between conditions are
made within design cells (blocked on the other factors, paired by seed under common random numbers).

Each result carries its **sidedness** (``alternative``: greater, less or two-sided) and level
(``alpha``): a directional test reports a one-sided p-value and one-sided confidence bounds at
``1 − alpha`` each (``ci_low`` for "greater", ``ci_high`` for "less"; together a ``1 − 2·alpha``
interval), a two-sided test a two-sided p-value and interval, so p ≤ alpha exactly when the bound
excludes the null. Verdicts follow one rule (:func:`decide`), given an estimate, its bounds, the
hypothesised direction and a smallest effect of interest ``min_effect``:

- **supported**: the bound excludes the null in the hypothesised direction and the estimate is
  at least ``min_effect`` beyond the null;
- **not supported**: the other bound excludes every effect of at least ``min_effect`` in the
  hypothesised direction (the effect is absent, trivially small, or opposite);
- **inconclusive**: neither (too few replicates to tell).

After all tests of an experiment ran, :func:`evaluate` adjusts the p-values for multiplicity (Holm by
default, or Benjamini–Hochberg) and a "supported" whose adjusted p-value exceeds ``alpha`` becomes
"inconclusive" (:func:`apply_multiplicity`).
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

from loyaltysim.config.errors import ConfigError, suggest
from loyaltysim.config.references import Registry
from loyaltysim.experiments.firm_results import FIRM_METRICS, firm_column

__all__ = [
    "ALIAS_NOTE",
    "MULTIPLICITY",
    "TESTS",
    "VERDICTS",
    "HypothesisResult",
    "HypothesisTest",
    "adjust_p_values",
    "aliases_of",
    "apply_multiplicity",
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
    "regression",
    "results_frame",
    "satisfaction_trap",
    "t_bounds",
]

VERDICTS = ("supported", "not supported", "inconclusive")
Direction = Literal["greater", "less", "two-sided"]
BAND_NAMES = ("highly_dissatisfied", "dissatisfied", "neutral", "satisfied", "highly_satisfied")
MULTIPLICITY = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"}
"""The multiplicity adjustments (``multiplicity:`` of an experiment) and their names in notes."""


@dataclass(frozen=True)
class HypothesisResult:
    """One verdict of one test in one cell of the design.

    ``alternative`` is the sidedness of ``p_value`` and of the bounds ``ci_low``/``ci_high`` (each a
    one-sided ``1 − alpha`` bound for "greater"/"less", a two-sided ``1 − alpha`` interval for
    "two-sided"); ``alpha`` is the significance level the verdict used.
    """

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
    alternative: str = "two-sided"
    alpha: float = 0.05


def decide(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    direction: Direction = "greater",
    null: float = 0.0,
    min_effect: float = 0.0,
) -> str:
    """Verdict from an estimate and its confidence bounds (see the module docstring).

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


def t_bounds(
    estimate: float, se: float, df: float, *, direction: Direction, confidence: float, null: float = 0.0
) -> tuple[float, float, float, float]:
    """(low, high, p-value, t) of an estimate with standard error ``se`` on ``df`` degrees of freedom.

    Directional: one-sided p-value and one-sided ``confidence`` bounds on both sides (a ``2·confidence − 1``
    interval); two-sided: two-sided p-value and ``confidence`` interval. NaN where ``se`` or ``df`` is not
    positive and finite.

    >>> low, high, p, t = t_bounds(1.0, 0.5, 10, direction="greater", confidence=0.95)
    >>> round(low, 3), round(p, 4)
    (0.094, 0.0367)
    """
    if not (np.isfinite(estimate) and np.isfinite(se) and se >= 0 and np.isfinite(df) and df > 0):
        return math.nan, math.nan, math.nan, math.nan
    if se == 0:  # no variance: the estimate is exact
        p = float(estimate == null) if direction == "two-sided" else _p0(estimate, null, direction)
        return float(estimate), float(estimate), p, math.nan
    t = (estimate - null) / se
    if direction == "two-sided":
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
        p = 2.0 * stats.t.sf(abs(t), df)
    else:
        half = stats.t.ppf(confidence, df) * se
        p = stats.t.sf(t, df) if direction == "greater" else stats.t.cdf(t, df)
    return float(estimate - half), float(estimate + half), float(p), float(t)


def _p0(estimate: float, null: float, direction: str) -> float:
    """p-value of an estimate without variance: 0 when it lies beyond the null in the direction, else 1."""
    beyond = estimate > null if direction == "greater" else estimate < null
    return 0.0 if beyond else 1.0


# --- shared helpers ------------------------------------------------------------------------------


RUN_IDENTITY = frozenset({"run_id", "point_id", "replicate", "seed", "status", "error", "wall_time", "config_hash"})
"""Columns of a runs table that say which run it is, never a factor."""


def factor_columns(runs: pd.DataFrame) -> list[str]:
    """The design's factor columns with one value per cell: those named by a dotted config path, and those a sweep
    writes between ``replicate`` and ``seed`` (``n_firms``); list-valued ones (a whole ``firms`` list) are left out."""
    columns = list(runs.columns)
    between = columns[columns.index("replicate") + 1 : columns.index("seed")] if {"replicate", "seed"} <= set(columns) else []
    named = [c for c in columns if "." in c or (c in between and c not in RUN_IDENTITY)]
    return [c for c in named if not runs[c].map(lambda v: isinstance(v, list | dict | np.ndarray)).any()]


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"] if "status" in runs.columns else runs


def _cells(runs: pd.DataFrame, by: Sequence[str] | None) -> Iterator[tuple[str, pd.DataFrame]]:
    """(label, runs of the cell) for each combination of the ``by`` columns (all factors if None)."""
    runs = _ok(runs)
    columns = factor_columns(runs) if by is None else list(by)
    _known(runs, columns)
    if not columns:
        yield "all runs", runs
        return
    for key, group in runs.groupby(columns, sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        yield ", ".join(f"{c}={_fmt(v)}" for c, v in zip(columns, values, strict=True)), group


def _known(runs: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"unknown column(s) {missing}; the runs table has {sorted(runs.columns)}")


def _blocks(group: pd.DataFrame, exclude: Sequence[str]) -> tuple[list[str], Iterator[tuple[str, pd.DataFrame]]]:
    """The other factors of a cell (not ``exclude``) and its blocks: one per combination of their values."""
    other = [c for c in factor_columns(group) if c not in exclude]
    if not other:
        return other, iter([("", group)])
    return other, (
        (", ".join(f"{c}={_fmt(v)}" for c, v in zip(other, key if isinstance(key, tuple) else (key,), strict=True)), block)
        for key, block in group.groupby(other, sort=True, dropna=False)
    )


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _alpha(confidence: float) -> float:
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
    return 1.0 - confidence


def _common_seeds(runs: pd.DataFrame) -> bool:
    """True when replicate r has the same seed at every design point (``seeds: common``)."""
    if any(c not in runs.columns for c in ("seed", "replicate", "point_id")) or runs["point_id"].nunique() < 2:
        return False
    return bool((runs.groupby("replicate")["seed"].nunique() == 1).all())


def _curves_with_factors(curves: pd.DataFrame, runs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Non-empty curve bins of ``runs`` joined to the runs' values of ``columns``."""
    if curves is None:
        raise ValueError("this test needs the curves table")
    data = curves.merge(runs[["run_id", *columns]], on="run_id", how="inner")
    data = data[data["customer_periods"] > 0].copy()
    data["satisfaction"] = 0.5 * (data["satisfaction_low"] + data["satisfaction_high"])
    data["stays"] = data["customer_periods"] - data["switchers"]
    return data


def fit_clustered(endog: np.ndarray, exog: np.ndarray, run_ids: pd.Series):
    """Binomial logit GLM of (stays, switchers); standard errors clustered by run when there are several runs."""
    groups = pd.factorize(run_ids)[0]
    model = sm.GLM(endog, exog, family=sm.families.Binomial())
    if groups.max(initial=0) < 1:
        return model.fit()
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def _result(test: str, cell: str, verdict: str, **values: Any) -> HypothesisResult:
    """A result with plain Python numbers (details included)."""
    details = {k: float(v) for k, v in (values.pop("details", {}) or {}).items()}
    numbers = {k: float(values[k]) for k in ("statistic", "effect", "ci_low", "ci_high", "p_value")}
    return HypothesisResult(
        test=test,
        cell=cell,
        verdict=verdict,
        n=int(values["n"]),
        note=str(values["note"]),
        details=details,
        alternative=str(values["alternative"]),
        alpha=float(values["alpha"]),
        **numbers,
    )


# --- 1. satisfaction trap --------------------------------------------------------------------------


def satisfaction_trap(
    runs: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    *,
    level: float = 0.5,
    min_satisfaction: float = 0.6,
    min_effect: float = 0.0,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """Most defectors were satisfied while satisfaction is high (Jones & Sasser 1995), per cell.

    H0: the mean over replicates of ``satisfied_defector_share`` (share of switchers whose latent
    satisfaction was in the satisfied bands) is at most ``level``; H1: it exceeds ``level``. One-sample
    t-test over replicate runs (one-sided p-value, one-sided bounds). Supported when the lower bound lies
    above ``level``, the mean is at least ``min_effect`` above it and the cell's mean satisfaction is at
    least ``min_satisfaction``; not supported when the upper bound lies below ``level + min_effect`` or
    satisfaction is not high.
    """
    alpha = _alpha(confidence)
    _known(_ok(runs), ["satisfied_defector_share", "mean_satisfaction"])
    results = []
    for cell, group in _cells(runs, by):
        shares = group["satisfied_defector_share"].dropna().to_numpy(dtype=float)
        satisfaction = float(group["mean_satisfaction"].mean()) if len(group) else math.nan
        estimate = float(shares.mean()) if len(shares) else math.nan
        se = float(shares.std(ddof=1) / math.sqrt(len(shares))) if len(shares) >= 2 else math.nan
        low, high, p_value, statistic = t_bounds(
            estimate, se, len(shares) - 1, direction="greater", confidence=confidence, null=level
        )
        verdict = decide(estimate, low, high, direction="greater", null=level, min_effect=min_effect)
        note = f"mean satisfaction {satisfaction:.3f}"
        if not satisfaction >= min_satisfaction:
            verdict = "not supported"
            note += f" is below {min_satisfaction} (satisfaction is not high here)"
        details = {"level": level, "mean_satisfaction": satisfaction}
        if "churn_rate" in group.columns:
            details["churn_rate"] = float(group["churn_rate"].mean())
        results.append(
            _result(
                "satisfaction_trap",
                cell,
                verdict,
                statistic=statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=len(shares),
                note=note,
                details=details,
                alternative="greater",
                alpha=alpha,
            )
        )
    return results


# --- 2. nonlinear link (on the scale of the link: stated intention) ---------------------------------

INTENTION_MISSING = (
    "the curves table has no stated-intention columns (respondents, satisfaction_mean, intention_mean): "
    "it comes from a sweep made before the end-of-run survey existed; rerun the sweep"
)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cumulative = (np.cumsum(weights) - 0.5 * weights) / weights.sum()
    return np.interp(q, cumulative, values)


def _rcs(s: np.ndarray, knots: np.ndarray, derivative: bool = False) -> np.ndarray:
    """The nonlinear columns of a restricted (natural) cubic spline with ``knots`` (Harrell 2015, §2.4.5)."""
    k = np.asarray(knots, dtype=float)
    last, before = k[-1], k[-2]
    scale = (last - k[0]) ** 2

    def cube(x: np.ndarray) -> np.ndarray:
        return 3.0 * np.maximum(x, 0.0) ** 2 if derivative else np.maximum(x, 0.0) ** 3

    columns = [
        (cube(s - kj) - cube(s - before) * (last - kj) / (last - before) + cube(s - last) * (before - kj) / (last - before))
        / scale
        for kj in k[:-2]
    ]
    return np.column_stack(columns)


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    root = np.sqrt(w)
    return np.linalg.lstsq(x * root[:, None], y * root, rcond=None)[0]


def _logistic_link(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares fit of ``y = a + b·σ(k·(s − τ))``: (a, b, k, τ).

    Profiled on a grid of (τ, k), where (a, b) have a closed form, then refined from the best grid point.
    """
    taus = np.linspace(0.0, 1.0, 101)
    ks = np.geomspace(0.5, 80.0, 16)
    grid_tau, grid_k = (g.ravel() for g in np.meshgrid(taus, ks))
    x = _expit(grid_k[:, None] * (s[None, :] - grid_tau[:, None]))
    total = w.sum()
    mx, my = x @ w / total, float(y @ w) / total
    sxx = ((x - mx[:, None]) ** 2) @ w
    sxy = ((x - mx[:, None]) * (y - my)[None, :]) @ w
    b = np.where(sxx > 1e-12, sxy / np.maximum(sxx, 1e-12), 0.0)
    b = np.clip(b, 0.0, 50.0)
    a = my - b * mx
    sse = (((a[:, None] + b[:, None] * x) - y[None, :]) ** 2) @ w
    best = int(np.argmin(sse))
    root = np.sqrt(w)

    def residuals(p: np.ndarray) -> np.ndarray:
        return root * (p[0] + p[1] * _expit(p[2] * (s - p[3])) - y)

    lower, upper = [-2.0, 0.0, 0.1, 0.0], [2.0, 50.0, 100.0, 1.0]
    start = np.clip([a[best], b[best], grid_k[best], grid_tau[best]], lower, upper)
    fit = optimize.least_squares(residuals, start, bounds=(lower, upper))
    return fit.x if 2 * fit.cost <= sse[best] else start


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


def _hotelling(coefficients: np.ndarray) -> tuple[float, float]:
    """(F, p) of Hotelling's T² test that the mean of the rows (one per run) is 0."""
    g, q = coefficients.shape
    if g <= q:
        return math.nan, math.nan
    mean = coefficients.mean(axis=0)
    covariance = np.atleast_2d(np.cov(coefficients, rowvar=False))
    t2 = g * float(mean @ np.linalg.pinv(covariance) @ mean)
    f = t2 * (g - q) / (q * (g - 1))
    return float(f), float(stats.f.sf(f, q, g - q))


def nonlinear_link(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    shape: Literal["threshold", "diminishing"] = "threshold",
    min_effect: float = 0.25,
    trim: float = 0.1,
    knots: int = 4,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """The satisfaction → loyalty link is nonlinear: a threshold (Oliver 1999) or diminishing returns, per cell.

    Tested where the link is defined, on the attitudinal scale: each run's end-of-run survey of stated
    repurchase intention (0–10, :mod:`loyaltysim.experiments.survey`; its mean is the customer's
    loyalty) by satisfaction bin, not on who stays (retention also bends through the choice model).
    Replicate runs are the units:

    - **linearity** (the p-value): per run, weighted least squares of mean intention on satisfaction
      with a restricted cubic spline (``knots`` knots at fixed quantiles of the cell); H0: the nonlinear
      coefficients are 0 (a linear link), Hotelling's T² over runs, F(q, G − q) with q = knots − 2.
    - ``shape="threshold"``: per run, the logistic ``a + b·σ(k(s − τ))`` is fitted; τ is the satisfaction
      where the link rises fastest (the configured ``loyalty.threshold`` of the threshold link) and the
      effect is how much steeper the link is there than on average: slope at τ ÷ linear slope − 1.
      Supported when linearity is rejected, the effect's lower bound is above 0 and the effect is at
      least ``min_effect``, and τ's interval lies inside the ``trim``–``1 − trim`` quantiles of
      satisfaction (an interior threshold); not supported when the effect's upper bound is below
      ``min_effect`` or τ's interval lies outside that range.
    - ``shape="diminishing"``: the effect is the spline's slope at the upper quartile of satisfaction ÷
      its slope at the lower quartile − 1 (negative: diminishing returns); supported when linearity is
      rejected, the upper bound is below 0 and the effect at most ``−min_effect``.

    Effect bounds are one-sided t bounds over runs; τ's interval (``details``: ``threshold``,
    ``threshold_ci_low``, ``threshold_ci_high``) is a two-sided t interval over runs.
    """
    if shape not in ("threshold", "diminishing"):
        raise ValueError(f"shape must be 'threshold' or 'diminishing', got {shape!r}")
    if knots < 3:
        raise ValueError(f"knots must be at least 3, got {knots}")
    alpha = _alpha(confidence)
    if curves is None or "intention_mean" not in curves.columns:
        raise ValueError(INTENTION_MISSING)
    direction: Direction = "greater" if shape == "threshold" else "less"
    results = []
    for cell, group in _cells(runs, by):
        data = curves[curves["run_id"].isin(group["run_id"]) & (curves["respondents"] > 0)]
        if data.empty:
            raise ValueError(f"nonlinear_link: no survey rows for the runs of cell {cell!r}")
        s_all = data["satisfaction_mean"].to_numpy(dtype=float)
        w_all = data["respondents"].to_numpy(dtype=float)
        knot_at = _weighted_quantiles(s_all, w_all, np.linspace(0.05, 0.95, knots))
        searched = _weighted_quantiles(s_all, w_all, (trim, 1.0 - trim))
        quartiles = _weighted_quantiles(s_all, w_all, (0.25, 0.75))
        spline, effects, taus, slopes = [], [], [], []
        for _, run in data.groupby("run_id", sort=True):
            s = run["satisfaction_mean"].to_numpy(dtype=float)
            y = run["intention_mean"].to_numpy(dtype=float)
            w = run["respondents"].to_numpy(dtype=float)
            if len(s) < knots + 1:
                continue
            basis = np.column_stack([np.ones_like(s), s, _rcs(s, knot_at)])
            coefficients = _wls(basis, y, w)
            spline.append(coefficients[2:])
            linear_slope = float(_wls(basis[:, :2], y, w)[1])
            slopes.append(linear_slope)
            if shape == "threshold":
                _, b, k, tau = _logistic_link(s, y, w)
                taus.append(tau)
                effects.append(b * k / 4.0 / linear_slope - 1.0 if linear_slope > 0 else math.nan)
            else:
                slope = coefficients[1] + _rcs(quartiles, knot_at, derivative=True) @ coefficients[2:]
                effects.append(slope[1] / slope[0] - 1.0 if slope[0] > 0 else math.nan)
        g = len(effects)
        f_statistic, p_value = _hotelling(np.array(spline)) if g else (math.nan, math.nan)
        values = np.array(effects, dtype=float)
        estimate = float(values.mean()) if g and np.isfinite(values).all() else math.nan
        se = float(values.std(ddof=1) / math.sqrt(g)) if g >= 2 else math.nan
        low, high, _, _ = t_bounds(estimate, se, g - 1, direction=direction, confidence=confidence)
        verdict = decide(estimate, low, high, direction=direction, min_effect=min_effect)
        note = f"linearity F = {f_statistic:.3g}, p = {p_value:.3g} over {g} runs"
        if verdict == "supported" and not p_value <= alpha:
            verdict = "inconclusive"
            note += " (linearity not rejected)"
        details = {
            "linear_slope": float(np.mean(slopes)) if slopes else math.nan,
            "respondents": float(w_all.sum()),
            "searched_low": float(searched[0]),
            "searched_high": float(searched[1]),
        }
        if shape == "threshold":
            tau_values = np.array(taus, dtype=float)
            tau = float(tau_values.mean()) if g else math.nan
            tau_se = float(tau_values.std(ddof=1) / math.sqrt(g)) if g >= 2 else math.nan
            tau_low, tau_high, _, _ = t_bounds(tau, tau_se, g - 1, direction="two-sided", confidence=confidence)
            details |= {"threshold": tau, "threshold_ci_low": tau_low, "threshold_ci_high": tau_high}
            note += (
                f"; steepest at τ = {tau:.3f} [{tau_low:.3f}, {tau_high:.3f}] (interior range "
                f"{searched[0]:.3f}–{searched[1]:.3f}), {estimate + 1:.2f}× the linear slope"
            )
            outside = tau_high < searched[0] or tau_low > searched[1]
            interior = searched[0] < tau_low and tau_high < searched[1]
            if outside:
                verdict = "not supported"
                note += "; the link is steepest outside the interior range: no interior threshold"
            elif verdict == "supported" and not interior:
                verdict = "inconclusive"
                note += "; τ's interval reaches the edge of the interior range"
        else:
            note += f"; slope at s = {quartiles[1]:.2f} is {estimate + 1:.2f}× the slope at s = {quartiles[0]:.2f}"
        results.append(
            _result(
                "nonlinear_link",
                cell,
                verdict,
                statistic=f_statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=g,
                note=note,
                details=details,
                alternative=direction,
                alpha=alpha,
            )
        )
    return results


# --- 3. moderation ---------------------------------------------------------------------------------


def _cluster_t(fit: Any, index: int, clusters: int, *, direction: Direction, confidence: float) -> tuple[float, ...]:
    """(estimate, low, high, p, t) of coefficient ``index`` with its cluster-robust SE on ``clusters − 1`` df."""
    estimate = float(fit.params[index])
    se = float(fit.bse[index])
    low, high, p, t = t_bounds(estimate, se, clusters - 1, direction=direction, confidence=confidence)
    return estimate, low, high, p, t


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

    Binomial logit of staying on satisfaction (centred at 0.5) within design cells: every combination of
    the other factors (not the moderator, not ``by``) has its own intercept and its own satisfaction
    slope, and the moderator (standardised over the cell's runs) enters as a main effect and as an
    interaction with satisfaction. H0: the interaction is 0; H1: it is in ``direction`` (``less``: the
    moderator weakens the slope, Jones et al. 2000). Standard errors clustered by run, t on (runs − 1)
    df, one-sided p-value and bounds for a directional hypothesis. The effect is the change of the
    logit slope per standard deviation of the moderator.
    """
    alpha = _alpha(confidence)
    results = []
    for cell, group in _cells(runs, by):
        _known(group, [moderator])
        other, _ = _blocks(group, [moderator, *(by or [])])
        data = _curves_with_factors(curves, group, [moderator, *other])
        if data.empty:
            raise ValueError(f"moderation: no curves rows for the runs of cell {cell!r}")
        values = pd.to_numeric(group[moderator], errors="coerce").astype(float)
        sd = float(values.std())
        if not sd > 0:
            raise ValueError(f"moderation: the moderator {moderator!r} does not vary (or is not numeric) in cell {cell!r}")
        z = (pd.to_numeric(data[moderator]).astype(float) - float(values.mean())) / sd
        s = data["satisfaction"] - 0.5
        block = pd.factorize(data[other].astype(str).agg("|".join, axis=1))[0] if other else np.zeros(len(data), int)
        dummies = np.eye(block.max() + 1)[block]
        exog = np.column_stack([dummies, dummies * s.to_numpy()[:, None], z, s * z])
        fit = fit_clustered(data[["stays", "switchers"]].to_numpy(dtype=float), exog, data["run_id"])
        clusters = int(data["run_id"].nunique())
        estimate, low, high, p_value, statistic = _cluster_t(
            fit, exog.shape[1] - 1, clusters, direction=direction, confidence=confidence
        )
        slope = float(np.mean(fit.params[dummies.shape[1] : 2 * dummies.shape[1]]))
        blocked = f"; within {dummies.shape[1]} block(s) of {', '.join(other)}" if other else ""
        results.append(
            _result(
                "moderation",
                cell,
                decide(estimate, low, high, direction=direction, min_effect=min_effect),
                statistic=statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=clusters,
                note=(
                    f"logit slope of satisfaction {slope:.2f} at the mean {moderator} (sd {sd:.3g}); "
                    f"changes by {estimate:+.2f} per sd{blocked}"
                ),
                details={
                    "slope": slope,
                    "moderator_main": float(fit.params[-2]),
                    "moderator_sd": sd,
                    "blocks": float(dummies.shape[1]),
                },
                alternative=direction,
                alpha=alpha,
            )
        )
    return results


# --- 4. monotone defection -------------------------------------------------------------------------


def monotone_defection(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    min_effect: float = 0.0,
    min_count: int = 200,
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """Defection falls at every step across Kotler's five satisfaction bands, per cell.

    The curve bins are pooled into the five bands of width 0.2; each run gives its churn per period in
    each band. A band with fewer than ``min_count`` customer-periods in the cell (or seen in fewer than
    two runs) is too sparse to compare: it is left out and named in the note. For every step between
    adjacent bands that remain, H0: churn does not fall (the mean over runs of the per-run change in
    churn rate is ≥ 0); a one-sided paired t-test over runs with its one-sided bounds. Monotone decline is
    the intersection of the steps' alternatives, so it is tested by the intersection–union test (Berger
    1982): its p-value is the largest of the steps' p-values, a valid level-alpha test without further
    correction. Supported when every step falls (each by at least ``min_effect``); not supported when
    some step rises significantly (or falls by surely less than ``min_effect``), naming it; otherwise
    inconclusive, naming the steps not shown to fall. Effect, bounds and p are those of the least
    convincing step (largest p-value); every step's are in the details.
    """
    alpha = _alpha(confidence)
    results = []
    for cell, group in _cells(runs, by):
        data = _curves_with_factors(curves, group, [])
        band = np.minimum(np.floor(data["satisfaction"] * 5).astype(int), 4)
        per_run = data.assign(band=band).groupby(["run_id", "band"])[["customer_periods", "switchers"]].sum()
        periods = per_run["customer_periods"].unstack("band").reindex(columns=range(5)).fillna(0)
        switchers = per_run["switchers"].unstack("band").reindex(columns=range(5)).fillna(0)
        churn = switchers / periods.where(periods > 0)
        totals = periods.sum()
        kept = [b for b in range(5) if totals[b] >= min_count and (periods[b] > 0).sum() >= 2]
        sparse = [b for b in range(5) if b not in kept and totals[b] > 0]
        pooled = switchers.sum() / totals.where(totals > 0)
        details = {f"churn_{BAND_NAMES[b]}": float(pooled[b]) for b in range(5) if totals[b] > 0}
        details |= {f"periods_{BAND_NAMES[b]}": float(totals[b]) for b in range(5)}
        steps = []
        for a, b in itertools.pairwise(kept):
            change = (churn[b] - churn[a]).dropna().to_numpy(dtype=float)
            n = len(change)
            mean = float(change.mean()) if n else math.nan
            se = float(change.std(ddof=1) / math.sqrt(n)) if n >= 2 else math.nan
            low, high, p, t = t_bounds(mean, se, n - 1, direction="less", confidence=confidence)
            name = f"{BAND_NAMES[a]} → {BAND_NAMES[b]}"
            key = f"step_{BAND_NAMES[a]}_{BAND_NAMES[b]}"
            details |= {key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high, f"{key}_p": p}
            steps.append((name, mean, low, high, p, t, n, decide(mean, low, high, direction="less", min_effect=min_effect)))
        shown = ", ".join(f"{BAND_NAMES[b]} {pooled[b]:.2%}" for b in kept)
        note = f"churn per period by band: {shown}"
        if sparse:
            note += (
                "; left out (fewer than "
                + f"{min_count} customer-periods): "
                + ", ".join(f"{BAND_NAMES[b]} ({int(totals[b])})" for b in sparse)
            )
        if len(steps) == 0:
            verdict = "inconclusive"
            note += "; fewer than two bands to compare"
            estimate = low = high = p_value = statistic = math.nan
        else:
            binding = max(steps, key=lambda step: step[4] if np.isfinite(step[4]) else 2.0)
            _, estimate, low, high, p_value, statistic, _, _ = binding
            if any(not np.isfinite(step[4]) for step in steps):
                p_value = math.nan
            rising = [step[0] for step in steps if step[7] == "not supported"]
            unclear = [step[0] for step in steps if step[7] == "inconclusive"]
            if rising:
                verdict = "not supported"
                note += "; churn does not fall from " + "; from ".join(rising)
            elif unclear:
                verdict = "inconclusive"
                note += "; not shown to fall from " + "; from ".join(unclear)
            else:
                verdict = "supported"
                note += f"; falls at all {len(steps)} steps"
        results.append(
            _result(
                "monotone_defection",
                cell,
                verdict,
                statistic=statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=int(group["run_id"].nunique()),
                note=note,
                details=details,
                alternative="less",
                alpha=alpha,
            )
        )
    return results


# --- 5. difference between two conditions --------------------------------------------------------


def _matches(column: pd.Series, level: Any) -> pd.Series:
    if isinstance(level, int | float) and not isinstance(level, bool) and pd.api.types.is_numeric_dtype(column):
        return pd.Series(np.isclose(column.astype(float), float(level)), index=column.index)
    if isinstance(level, bool) or pd.api.types.is_bool_dtype(column):
        return column.astype(str).str.lower() == str(level).lower()
    return column.astype(str) == str(level)


def _hedges_g(difference_of_means: float, pooled_sd: float, n: int) -> float:
    if not pooled_sd > 0 or n < 3:
        return math.nan
    return difference_of_means / pooled_sd * (1.0 - 3.0 / (4.0 * n - 9.0))


@dataclass
class _Block:
    """One block's comparison: its estimate and the variance components (variance, df) of that estimate."""

    estimate: float
    components: list[tuple[float, int]]
    residuals: np.ndarray
    groups: int
    inverse_counts: float


def _block_comparison(xa: pd.DataFrame, xb: pd.DataFrame, metric: str, paired: bool) -> _Block | None:
    if paired:
        pairs = xa[["seed", metric]].merge(xb[["seed", metric]], on="seed", suffixes=("_a", "_b")).dropna()
        d = (pairs[f"{metric}_b"] - pairs[f"{metric}_a"]).to_numpy(dtype=float)
        if not len(d):
            return None
        components = [(d.var(ddof=1) / len(d), len(d) - 1)] if len(d) >= 2 else []
        return _Block(float(d.mean()), components, d - d.mean(), 1, 1.0 / len(d))
    a = xa[metric].dropna().to_numpy(dtype=float)
    b = xb[metric].dropna().to_numpy(dtype=float)
    if not len(a) or not len(b):
        return None
    components = [(x.var(ddof=1) / len(x), len(x) - 1) for x in (a, b)] if min(len(a), len(b)) >= 2 else []
    return _Block(
        float(b.mean() - a.mean()), components, np.concatenate([a - a.mean(), b - b.mean()]), 2, 1 / len(a) + 1 / len(b)
    )


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
    paired: bool | None = None,
    by: Sequence[str] | None = (),
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """A metric differs between condition ``b`` and condition ``a`` of ``factor`` (effect: b − a), within design cells.

    The runs are compared within blocks: every combination of the other factors (not ``factor``, not
    ``by``) is a block, and the effect is the mean over blocks of each block's difference, so runs from
    other design points are never taken as replicates. Within a block the difference is **paired** by
    seed when the experiment used common random numbers (``seeds: common``; ``paired=None`` detects it,
    ``paired=False`` forces the unpaired comparison), else the difference of the two conditions' means.
    Its standard error adds the blocks' variances (Welch), with Satterthwaite's degrees of freedom; when
    some block has a single run per condition, the variance within blocks is pooled instead. H0: no
    difference; H1: in ``direction`` (``greater``: b > a). One-sided p-value and bounds for a
    directional hypothesis, two-sided for ``two-sided``. ``min_effect`` is in the metric's units (default:
    0.2 standard deviations within blocks, Cohen's "small"); Hedges' g is in the details.
    """
    alpha = _alpha(confidence)
    results = []
    for cell, group in _cells(runs, by):
        _known(group, [factor, metric])
        use_pairs = _common_seeds(group) if paired is None else bool(paired)
        other, blocks = _blocks(group, [factor, *(by or [])])
        compared, missing = [], []
        for label, block in blocks:
            xa, xb = block[_matches(block[factor], a)], block[_matches(block[factor], b)]
            found = _block_comparison(xa, xb, metric, use_pairs)
            if found is None:
                missing.append(label or cell)
            else:
                compared.append(found)
        if missing or not compared:
            where = missing[0] if missing else cell
            raise ValueError(f"difference: {factor} = {a!r} or {b!r} has no run with {metric} in {where!r}")
        blocks_n = len(compared)
        estimate = float(np.mean([c.estimate for c in compared]))
        if all(c.components for c in compared):
            parts = [v for c in compared for v in c.components]
            variance = sum(v for v, _ in parts) / blocks_n**2
            df = variance**2 / sum((v / blocks_n**2) ** 2 / d for v, d in parts) if variance > 0 else math.inf
        else:  # a single run per condition somewhere: pool the variance within blocks
            residuals = np.concatenate([c.residuals for c in compared])
            df = len(residuals) - sum(c.groups for c in compared)
            pooled = float(residuals @ residuals / df) if df > 0 else math.nan
            variance = pooled * sum(c.inverse_counts for c in compared) / blocks_n**2
        se = math.sqrt(variance) if variance >= 0 else math.nan
        df = df if np.isfinite(df) else 1e6
        low, high, p_value, statistic = t_bounds(estimate, se, df, direction=direction, confidence=confidence)
        spread = group.groupby([*other, factor], dropna=False)[metric].std() if other else group.groupby(factor)[metric].std()
        sd = float(np.sqrt(np.nanmean(spread.to_numpy(dtype=float) ** 2))) if len(spread) else math.nan
        threshold = 0.2 * sd if min_effect is None else float(min_effect)
        n_runs = int((_matches(group[factor], a) | _matches(group[factor], b)).sum())
        mean_a = float(group.loc[_matches(group[factor], a), metric].mean())
        mean_b = float(group.loc[_matches(group[factor], b), metric].mean())
        note = f"{metric}: {mean_b:.4g} at {factor}={_fmt(b)} vs {mean_a:.4g} at {factor}={_fmt(a)}"
        note += f"; {'paired by seed' if use_pairs else 'unpaired'}"
        note += f", within {blocks_n} block(s) of {', '.join(other)}" if other else ""
        results.append(
            _result(
                "difference",
                cell,
                decide(estimate, low, high, direction=direction, min_effect=threshold),
                statistic=statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=n_runs,
                note=note + f"; Hedges' g {_hedges_g(estimate, sd, n_runs):.2f}",
                details={
                    "mean_a": mean_a,
                    "mean_b": mean_b,
                    "hedges_g": _hedges_g(estimate, sd, n_runs),
                    "min_effect": threshold,
                    "blocks": float(blocks_n),
                    "paired": float(use_pairs),
                    "df": float(df),
                },
                alternative=direction,
                alpha=alpha,
            )
        )
    return results


# --- 6. regression over the runs table ---------------------------------------------------------------

ALIAS_NOTE = (
    "In a formula, a factor is named by its alias: the dotted path with every '.' replaced by '_' "
    "(customers.switching_cost.mean → customers_switching_cost_mean), or a short name given in aliases: "
    "{name: dotted.path}; Q('dotted.path') works too."
)


def aliases_of(columns: Sequence[str], aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Formula name → runs-table column: each dotted factor as ``a_b_c``, plus the given ``aliases``.

    >>> aliases_of(["customers.switching_cost.mean", "nps"], {"cost": "customers.switching_cost.mean"})
    {'customers_switching_cost_mean': 'customers.switching_cost.mean', 'cost': 'customers.switching_cost.mean'}
    """
    names = {c.replace(".", "_"): c for c in columns if "." in c}
    for alias, column in (aliases or {}).items():
        names[alias] = column
    return names


def _formula_frame(runs: pd.DataFrame, aliases: Mapping[str, str] | None) -> pd.DataFrame:
    frame = runs.copy()
    for alias, column in aliases_of(list(runs.columns), aliases).items():
        if column not in runs.columns:
            raise ValueError(f"aliases: {alias!r} names {column!r}, which is not a column of the runs table")
        if alias not in frame.columns:
            frame[alias] = runs[column]
    return frame


def regression(
    runs: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    *,
    formula: str,
    coefficient: str,
    direction: Direction = "two-sided",
    min_effect: float = 0.0,
    aliases: dict[str, str] | None = None,
    block_seeds: bool = True,
    cluster: Literal["run", "point_id", "replicate"] = "run",
    by: Sequence[str] | None = (),
    confidence: float = 0.95,
) -> list[HypothesisResult]:
    """A coefficient of a regression over the runs table (statsmodels formula) is nonzero in ``direction``.

    ``formula`` is a statsmodels/patsy formula over the runs table, e.g. ``share_C ~ programme *
    quality_edge`` (factors by their aliases: :data:`ALIAS_NOTE`); ``coefficient`` names the term to test
    as statsmodels names it (``programme[T.True]:quality_edge``). OLS with cluster-robust standard errors:
    ``cluster="run"`` (each run its own cluster: HC2, robust and unbiased; t on the residual df) or
    by ``point_id`` or ``replicate`` (t on clusters − 1 df). Under common random numbers (``seeds:
    common``) the replicate enters as a fixed effect (``block_seeds``), blocking on the seed. H0: the
    coefficient is 0; H1: in ``direction``; one-sided p-value and bounds for a directional hypothesis.
    """
    import statsmodels.formula.api as smf

    alpha = _alpha(confidence)
    results = []
    for cell, group in _cells(runs, by):
        frame = _formula_frame(group, aliases)
        text = formula
        if block_seeds and _common_seeds(group) and group["replicate"].nunique() > 1:
            text += " + C(replicate)"
        try:
            model = smf.ols(text, data=frame, missing="drop")
        except Exception as exc:
            raise ValueError(f"regression: cannot use formula {formula!r}: {exc}") from None
        names = list(model.exog_names)
        if coefficient not in names:
            raise ValueError(
                f"regression: no coefficient {coefficient!r}{suggest(coefficient, names)}; the model has {', '.join(names)}"
            )
        if np.linalg.matrix_rank(model.exog) < len(names):
            raise ValueError(f"regression: the terms of {formula!r} are collinear (or constant) in cell {cell!r}")
        if model.df_resid < 1:
            raise ValueError(f"regression: {int(model.nobs)} runs in cell {cell!r} are too few for {len(names)} coefficients")
        if cluster == "run":
            fit, df = model.fit(cov_type="HC2"), float(model.df_resid)
        else:
            used = frame.loc[model.data.row_labels, cluster]
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(used)[0]})
            df = float(used.nunique() - 1)
        index = names.index(coefficient)
        estimate, se = float(fit.params.iloc[index]), float(fit.bse.iloc[index])
        low, high, p_value, statistic = t_bounds(estimate, se, df, direction=direction, confidence=confidence)
        note = f"{text}: {coefficient} = {estimate:.4g} (robust SE {se:.3g}, {int(model.nobs)} runs, R² {fit.rsquared:.2f})"
        results.append(
            _result(
                "regression",
                cell,
                decide(estimate, low, high, direction=direction, min_effect=min_effect),
                statistic=statistic,
                effect=estimate,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                n=int(model.nobs),
                note=note,
                details={"se": se, "r_squared": float(fit.rsquared), "df": df},
                alternative=direction,
                alpha=alpha,
            )
        )
    return results


# --- registry and evaluation -----------------------------------------------------------------------

HypothesisTest = Callable[..., list[HypothesisResult]]
"""``test(runs, curves=None, *, option=default, ...) -> list[HypothesisResult]``."""

TESTS: dict[str, HypothesisTest] = {
    "satisfaction_trap": satisfaction_trap,
    "nonlinear_link": nonlinear_link,
    "moderation": moderation,
    "monotone_defection": monotone_defection,
    "difference": difference,
    "regression": regression,
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


def adjust_p_values(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values: ``holm`` (family-wise error, Holm 1979), ``bh`` (false discovery rate,
    Benjamini & Hochberg 1995) or ``none``. NaN p-values stay NaN and do not count in the family.

    >>> adjust_p_values([0.01, 0.04, 0.03, float("nan")], "holm").round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    >>> adjust_p_values([0.01, 0.04, 0.03], "bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in MULTIPLICITY:
        raise ValueError(f"multiplicity must be one of {', '.join(MULTIPLICITY)}, got {method!r}")
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return adjusted
    values = np.clip(p[finite], 0.0, 1.0)
    if method == "none":
        adjusted[finite] = values
        return adjusted
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        steps = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        steps = np.minimum.accumulate(((m / np.arange(1, m + 1)) * ranked)[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(steps, 1.0)
    adjusted[finite] = result
    return adjusted


def apply_multiplicity(table: pd.DataFrame, method: str = "holm") -> pd.DataFrame:
    """Add ``p_adjusted`` to a results table and make verdicts use it.

    The family is every row with a p-value (all hypotheses and cells of one experiment). A "supported"
    verdict whose adjusted p-value exceeds its ``alpha`` becomes "inconclusive", with the reason in the note.
    """
    table = table.copy()
    table["p_adjusted"] = adjust_p_values(table["p_value"].to_numpy(dtype=float), method) if len(table) else []
    table["multiplicity"] = method
    table = table[[c for c in RESULT_COLUMNS if c in table.columns] + [c for c in table.columns if c not in RESULT_COLUMNS]]
    if not len(table):
        return table
    alpha = table["alpha"].astype(float) if "alpha" in table.columns else 0.05
    demoted = (table["verdict"] == "supported") & (table["p_adjusted"] > alpha)
    family = int(np.isfinite(table["p_value"].astype(float)).sum())
    table.loc[demoted, "verdict"] = "inconclusive"
    table.loc[demoted, "note"] = [
        f"{note}; p = {p:.2g} is not significant after {MULTIPLICITY[method]} adjustment over {family} tests "
        f"(adjusted p = {q:.2g})"
        for note, p, q in zip(
            table.loc[demoted, "note"], table.loc[demoted, "p_value"], table.loc[demoted, "p_adjusted"], strict=True
        )
    ]
    return table


def evaluate(
    specs: Sequence[dict[str, Any]], runs: pd.DataFrame, curves: pd.DataFrame | None, *, multiplicity: str = "holm"
) -> pd.DataFrame:
    """Run each hypothesis ``{test: name, label?: text, **options}``, adjust the p-values for ``multiplicity``
    over all of them (:func:`apply_multiplicity`) and return the tidy results table."""
    rows = []
    for index, spec in enumerate(specs):
        options = firm_metric(spec)
        name = options.pop("test")
        label = options.pop("label", name)
        try:
            test = hypothesis_test(name)
        except ValueError as exc:
            raise ValueError(f"hypotheses[{index}].test: {exc}") from None
        for result in test(runs, curves, **options):
            rows.append({"hypothesis": index, "label": label, **asdict(result)})
    return apply_multiplicity(results_frame(rows), multiplicity)


RESULT_COLUMNS = [
    "hypothesis", "label", "test", "cell", "verdict", "statistic", "effect", "ci_low", "ci_high", "p_value",
    "p_adjusted", "alternative", "alpha", "multiplicity", "n", "note", "details",
]  # fmt: skip
"""The columns of ``hypotheses.parquet``, in order."""


def firm_metric(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec with ``metric: M, firm: F`` as ``metric: M_F`` (the firm's column of the runs table)."""
    options = dict(spec)
    if "firm" in options:
        options["metric"] = firm_column(str(options["metric"]), str(options.pop("firm")))
    return options


def results_frame(rows: Sequence[dict[str, Any] | HypothesisResult]) -> pd.DataFrame:
    """A table of results; ``details`` becomes a JSON string column (Parquet-friendly)."""
    records = [asdict(row) if isinstance(row, HypothesisResult) else dict(row) for row in rows]
    for record in records:
        record["details"] = json.dumps(record.get("details", {}), sort_keys=True)
    frame = pd.DataFrame.from_records(records)
    known = [c for c in RESULT_COLUMNS if c in frame.columns or not records]
    if not records:
        known = ["hypothesis", "label", *(f.name for f in fields(HypothesisResult))]
    return frame.reindex(columns=[c for c in RESULT_COLUMNS if c in known])


# --- checking the options before any run -----------------------------------------------------------


@dataclass
class DesignContext:
    """What a hypothesis's options are checked against: the design's factors and the runs table's metrics.

    ``factors`` maps each factor to its list of values (None for a range or distribution); ``metrics``
    is the list of metric names of the runs table, or a function giving it (called once, when an option
    names a metric), or None to skip metric checks.
    """

    factors: dict[str, list[Any] | None]
    metrics: Sequence[str] | Callable[[], Sequence[str]] | None = None
    seeds: str = "independent"
    levels_known: bool = True
    _known: list[str] | None = None

    def metric_names(self) -> list[str] | None:
        if self._known is None and self.metrics is not None:
            self._known = list(self.metrics() if callable(self.metrics) else self.metrics)
        return self._known

    def frame(self) -> pd.DataFrame:
        """A small runs table with the design's factors and metrics, to try a formula on."""
        rng = np.random.default_rng(0)
        rows = 24
        frame = pd.DataFrame({"run_id": range(rows), "point_id": range(rows), "replicate": np.arange(rows) % 3})
        frame["seed"] = frame["replicate"]
        for name, values in self.factors.items():
            frame[name] = [values[i % len(values)] for i in range(rows)] if values else rng.uniform(0.1, 1.0, rows)
        metrics = {name: rng.normal(size=rows) for name in self.metric_names() or [] if name not in frame.columns}
        return pd.concat([frame, pd.DataFrame(metrics)], axis=1)  # at once: column by column fragments the frame


def _check_type(key: str, value: Any, hint: Any) -> None:
    """Refuse an option value that does not fit its annotation (Literal choices, numbers, text, lists)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return
    if origin in (typing.Union, types.UnionType):
        problems = []
        for option in args:
            try:
                _check_type(key, value, option)
                return
            except ValueError as exc:
                if option is not type(None):
                    problems.append(str(exc))
        raise ValueError(problems[0] if len(problems) == 1 else f"{key}: {value!r} is none of the allowed kinds")
    if hint is type(None):
        if value is not None:
            raise ValueError(f"{key}: expected nothing (null), got {value!r}")
        return
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{key}: {value!r} is not allowed; expected one of {', '.join(map(repr, args))}")
        return
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
    elif hint in (float, int):
        if isinstance(value, bool) or not isinstance(value, int | float) or (hint is int and not float(value).is_integer()):
            raise ValueError(f"{key}: expected a number, got {value!r}")
    elif hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected text, got {value!r}")
    elif origin in (list, tuple, Sequence):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        for item in value:
            _check_type(key, item, args[0] if args else Any)
    elif origin in (dict, Mapping):
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected a mapping, got {value!r}")
        for k, v in value.items():
            _check_type(key, k, args[0] if args else Any)
            _check_type(f"{key}.{k}", v, args[1] if len(args) > 1 else Any)


def _check_factor(key: str, name: Any, context: DesignContext) -> None:
    if name not in context.factors:
        factors = list(context.factors)
        hint = suggest(str(name), factors)
        raise ValueError(f"{key}: {name!r} is not a factor of this experiment{hint}; factors: {', '.join(factors) or 'none'}")


def _check_metric(key: str, name: Any, context: DesignContext) -> None:
    known = context.metric_names()
    if known is not None and name not in known:
        raise ValueError(
            f"{key}: unknown metric {name!r}{suggest(str(name), known)} (metrics of the runs table: {', '.join(known)})"
        )


def _level_in(level: Any, values: list[Any]) -> bool:
    for value in values:
        if isinstance(level, bool) or isinstance(value, bool):
            if str(level).lower() == str(value).lower():
                return True
        elif isinstance(level, int | float) and isinstance(value, int | float):
            if math.isclose(float(level), float(value), rel_tol=1e-9, abs_tol=1e-12):
                return True
        elif str(level) == str(value):
            return True
    return False


def _check_difference(options: dict[str, Any], context: DesignContext) -> None:
    _check_metric("metric", options["metric"], context)
    values = context.factors.get(options["factor"])
    if not context.levels_known:
        return
    if values is None:
        raise ValueError(f"factor: {options['factor']!r} is sampled from a range; difference compares two of its listed values")
    for key in ("a", "b"):
        if not _level_in(options[key], values):
            raise ValueError(
                f"{key}: {options[key]!r} is not a value of {options['factor']} (values: {', '.join(map(str, values))})"
            )
    if _level_in(options["a"], [options["b"]]):
        raise ValueError(f"b: the same value as a ({options['a']!r}); compare two different values")


def _check_moderation(options: dict[str, Any], context: DesignContext) -> None:
    values = context.factors.get(options["moderator"])
    if values is not None and (
        len(values) < 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    ):
        raise ValueError(f"moderator: {options['moderator']!r} must take at least two numeric values, has {values}")


def _check_trap(options: dict[str, Any], context: DesignContext) -> None:
    for name in ("satisfied_defector_share", "mean_satisfaction"):
        _check_metric("metrics", name, context)


def _check_regression(options: dict[str, Any], context: DesignContext) -> None:
    import statsmodels.formula.api as smf

    formula = options["formula"]
    if "~" not in formula:
        raise ValueError(f"formula: expected 'response ~ terms', got {formula!r}")
    for alias, column in (options.get("aliases") or {}).items():
        if not str(alias).isidentifier():
            raise ValueError(f"aliases.{alias}: an alias must be a plain name (letters, digits, _)")
        if column not in context.factors and column not in (context.metric_names() or []):
            _check_factor(f"aliases.{alias}", column, context)
    frame = _formula_frame(context.frame(), options.get("aliases"))
    names = sorted(set(aliases_of(list(context.factors), options.get("aliases"))) | set(context.metric_names() or []))
    try:
        model = smf.ols(formula, data=frame)
    except Exception as exc:
        text = str(exc).splitlines()[0]
        unknown = text.split("'")[1] if "name '" in text else None
        hint = f"{suggest(unknown, names)}" if unknown else ""
        raise ValueError(f"formula: {text}{hint}. {ALIAS_NOTE} Names: {', '.join(names)}") from None
    coefficient, coefficients = options["coefficient"], list(model.exog_names)
    if coefficient not in coefficients:
        raise ValueError(
            f"coefficient: {coefficient!r} is not a coefficient of the formula{suggest(coefficient, coefficients)}; "
            f"its coefficients: {', '.join(coefficients)}"
        )


CHECKS: dict[str, Callable[[dict[str, Any], DesignContext], None]] = {
    "difference": _check_difference,
    "moderation": _check_moderation,
    "satisfaction_trap": _check_trap,
    "regression": _check_regression,
}
"""Checks of each built-in test's options against the design, beyond their types."""


def check_spec(spec: dict[str, Any], factors: Sequence[str] | Mapping[str, Any] | DesignContext) -> None:
    """Validate one hypothesis spec ``{test, label?, **options}`` against its test and the design.

    ``factors`` is a :class:`DesignContext` (factors with their values, metric names) or just the factor
    names. Checked: the test exists; options are known, required ones given, each of the type its test
    declares (``direction`` one of its choices…); columns (``factor``, ``moderator``, ``by``) name factors;
    metrics name metrics of the runs table; ``a``/``b`` are values of their factor; a regression's
    formula builds on the design and names its ``coefficient``.

    Raises
    ------
    ValueError
        Starting with the option's key and saying what is wrong.
    """
    if isinstance(factors, DesignContext):
        context = factors
    elif isinstance(factors, Mapping):
        context = DesignContext(dict(factors))
    else:  # names only: the values of the factors are unknown, so a and b are not checked
        context = DesignContext(dict.fromkeys(factors), levels_known=False)
    if isinstance(spec, dict) and "firm" in spec:
        if spec.get("metric") not in FIRM_METRICS:
            known = list(FIRM_METRICS)
            raise ValueError(
                f"metric: {spec.get('metric')!r} is no per-firm metric{suggest(str(spec.get('metric')), known)}; "
                f"with firm: {', '.join(known)}"
            )
        spec = firm_metric(spec)
        context = replace(context, metrics=None, _known=None)  # the firm's column exists in the runs with that firm
    if not isinstance(spec, dict) or "test" not in spec:
        raise ValueError(f"test: expected a mapping with a 'test' key (one of {', '.join(REGISTERED.names())}), got {spec!r}")
    name = spec["test"]
    try:
        test = hypothesis_test(name)
        parameters = inspect.signature(test).parameters
    except ValueError as exc:
        raise ValueError(f"test: {exc}") from None
    if "label" in spec and not isinstance(spec["label"], str):
        raise ValueError(f"label: expected text, got {spec['label']!r}")
    options = {k: v for k, v in spec.items() if k not in ("test", "label")}
    allowed = [p for p, v in parameters.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    for key in options:
        if key not in allowed:
            raise ValueError(f"{key}: unknown option of test {name!r}{suggest(key, allowed)}; allowed: {', '.join(allowed)}")
    for key in allowed:
        if parameters[key].default is inspect.Parameter.empty and key not in options:
            raise ValueError(f"{key}: test {name!r} needs this option")
    try:
        hints = typing.get_type_hints(test)
    except Exception:  # a user's test with annotations that cannot be resolved: no type checks
        hints = {}
    for key, value in options.items():
        _check_type(key, value, hints.get(key, Any))
    if "confidence" in options and not 0.5 < options["confidence"] < 1:
        raise ValueError(f"confidence: expected a level in (0.5, 1), got {options['confidence']}")
    for key in ("moderator", "factor"):
        if key in options:
            _check_factor(key, options[key], context)
    for position, column in enumerate(options.get("by") or []):
        _check_factor(f"by.{position}", column, context)
        if any(isinstance(v, list | dict) for v in context.factors[column] or []):
            raise ValueError(f"by.{position}: {column!r} takes lists as values; split by a scalar factor such as n_firms")
    for key in ("moderator", "factor"):
        if key in options and options[key] in (options.get("by") or []):
            raise ValueError(f"by: {options[key]!r} is the {key} itself; by splits the runs by the other factors")
    if name in CHECKS and hypothesis_test(name) is TESTS[name]:
        CHECKS[name](options, context)


def check_hypotheses(experiment: Any, *, source: str | Path | None = None, metrics: Sequence[str] | None = None) -> None:
    """Check every hypothesis of an experiment against its test, the design's factors and values and the
    runs table's metric names, before any run.

    ``metrics`` defaults to the experiment's ``metrics`` list, or to the summary metrics of a one-period
    probe run of its base scenario (made only when an option names a metric).

    Raises
    ------
    ConfigError
        Naming the hypothesis option's key path (``hypotheses.N.option``) and what is wrong with it.
    """
    if not experiment.hypotheses:
        return

    def probe() -> list[str]:
        from loyaltysim.experiments.spec import probe_metrics

        return probe_metrics(experiment.base_config().to_dict(), getattr(experiment, "outcomes", None))[0]

    known = metrics if metrics is not None else experiment.metrics or probe
    context = DesignContext(
        {path: (list(factor.values) if factor.values is not None else None) for path, factor in experiment.factors.items()},
        known,
        getattr(experiment, "seeds", "independent"),
    )
    for index, spec in enumerate(experiment.hypotheses):
        try:
            check_spec(spec, context)
        except ValueError as exc:
            key, _, message = str(exc).partition(": ")
            raise ConfigError(f"hypotheses.{index}.{key}: {message}", source=source) from None
