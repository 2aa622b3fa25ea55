"""Does a hypothesis test keep the contract? :func:`check_hypothesis_test`, in the spirit of scikit-learn's
``check_estimator``.

A hypothesis test is ``test(runs, curves=None, *, option=default, ...) -> list[HypothesisResult]``
(:mod:`loyaltysim.analysis.hypotheses`). The check runs it on the tables of a small synthetic sweep
(:func:`synthetic_tables`, or tables you pass) and raises :class:`ContractViolation` naming the first
rule it breaks:

1. **signature** — ``runs`` and ``curves`` by position, every option keyword-only (after ``*``),
   no ``*args`` or ``**kwargs``;
2. **results** — a non-empty list of :class:`~loyaltysim.analysis.hypotheses.HypothesisResult`, each
   with a verdict from ``VERDICTS``, a text cell, real numbers (NaN allowed), ``ci_low ≤ ci_high``,
   a p-value in [0, 1], ``alternative`` greater, less or two-sided, ``alpha`` in (0, 1), a whole
   ``n ≥ 0`` and ``details`` of numbers by name;
3. **deterministic** — the same tables and options give the same results;
4. **inputs untouched** — the tables passed in are not modified;
5. **failed runs ignored** — adding failed runs (``status`` "failed", metrics NaN, no curve rows)
   changes no result;
6. **empty cells** — when every run of a design cell failed, the test returns valid results or raises
   ``ValueError`` saying what is missing, never another exception (``KeyError``, ``ZeroDivisionError``…);
7. **invalid options** — an unknown option raises ``TypeError``; a ``by`` column that is no factor
   raises ``ValueError`` naming it.

Examples
--------
>>> from loyaltysim.analysis.hypotheses import difference
>>> check_hypothesis_test(difference, options={"metric": "churn_rate", "factor": FACTOR, "a": 1.0, "b": 8.0})
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from loyaltysim.analysis.hypotheses import VERDICTS, HypothesisResult, check_signature, factor_columns, results_frame

__all__ = ["FACTOR", "ContractViolation", "check_hypothesis_test", "synthetic_tables"]

FACTOR = "customers.switching_cost.mean"
"""The factor of the synthetic sweep: switching cost 1 or 8."""
IDENTITY = ("run_id", "point_id", "replicate", "seed", "status", "error", "wall_time")
"""Columns of a runs table that are not metrics (besides the factors)."""
NOT_A_FACTOR = "no.such.factor"


class ContractViolation(AssertionError):
    """A hypothesis test broke its contract; the message names the test, the rule and what was seen."""


def synthetic_tables(*, replicates: int = 4, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs and curves of a small sweep with known patterns (no model run needed).

    Two design points, switching cost (:data:`FACTOR`) 1 and 8, ``replicates`` runs each. At low
    switching cost churn is higher and most defectors were satisfied (a satisfaction trap); staying
    rises with satisfaction in every run, less steeply when switching costs are high. ``runs`` has the
    identity columns, the factor and the metrics ``churn_rate``, ``annualised_churn``,
    ``satisfied_defector_share``, ``mean_satisfaction``, ``nps``, ``profit_per_period``, ``share_A``
    and ``share_B``; ``curves`` has ten satisfaction bins per run.
    """
    rng = np.random.default_rng(seed)
    cost = np.repeat([1.0, 8.0], replicates)
    n = len(cost)
    low = cost == 1.0
    runs = pd.DataFrame(
        {
            "run_id": np.arange(n),
            "point_id": np.repeat([0, 1], replicates),
            "replicate": np.tile(np.arange(replicates), 2),
            FACTOR: cost,
            "seed": rng.integers(0, 2**62, n),
            "status": "ok",
            "error": "",
            "wall_time": 0.1,
        }
    )
    runs["churn_rate"] = np.where(low, 0.03, 0.01) + rng.normal(0, 0.002, n)
    runs["annualised_churn"] = 1.0 - (1.0 - runs["churn_rate"]) ** 12
    runs["satisfied_defector_share"] = np.where(low, 0.72, 0.35) + rng.normal(0, 0.03, n)
    runs["mean_satisfaction"] = 0.68 + rng.normal(0, 0.01, n)
    runs["nps"] = np.where(low, 12.0, 24.0) + rng.normal(0, 3.0, n)
    runs["profit_per_period"] = np.where(low, 900.0, 1100.0) + rng.normal(0, 30.0, n)
    runs["share_A"] = 0.5 + rng.normal(0, 0.02, n)
    runs["share_B"] = 1.0 - runs["share_A"]
    edges = np.linspace(0.0, 1.0, 11)
    middle = 0.5 * (edges[:-1] + edges[1:])
    mass = np.diff(np.clip(edges, 0, 1) ** 3 * (4 - 3 * np.clip(edges, 0, 1)))  # most customer-periods satisfied
    rows = []
    for run_id, c in zip(runs["run_id"], cost, strict=True):
        trials = rng.multinomial(4000, mass)
        stay = expit(1.0 + (6.0 - 0.4 * c) * middle + 0.3 * c + rng.normal(0, 0.1))
        switchers = rng.binomial(trials, 1.0 - stay)
        respondents = rng.multinomial(1000, mass)
        loyalty = expit(12.0 * (middle - 0.65))  # a threshold link
        answers = rng.binomial(10 * respondents, loyalty) / np.maximum(10 * respondents, 1)
        rows.append(
            pd.DataFrame(
                {
                    "run_id": run_id,
                    "satisfaction_low": edges[:-1],
                    "satisfaction_high": edges[1:],
                    "customer_periods": trials,
                    "switchers": switchers,
                    "retention_rate": 1.0 - switchers / np.maximum(trials, 1),
                    "respondents": respondents,
                    "satisfaction_mean": np.where(respondents > 0, middle, np.nan),
                    "intention_mean": np.where(respondents > 0, answers, np.nan),
                    "intention_var": np.where(respondents > 0, loyalty * (1 - loyalty) / 10, np.nan),
                }
            )
        )
    return runs, pd.concat(rows, ignore_index=True)


def _with_failed_runs(runs: pd.DataFrame, rows: pd.Series) -> pd.DataFrame:
    """``runs`` where the ``rows`` (a boolean mask) failed: status "failed", an error, every metric NaN."""
    failed = runs.copy()
    metrics = [c for c in runs.columns if c not in IDENTITY and c not in factor_columns(runs)]
    failed.loc[rows, "status"] = "failed"
    if "error" in failed.columns:
        failed.loc[rows, "error"] = "RuntimeError: the run failed"
    for column in metrics:
        numeric = pd.api.types.is_numeric_dtype(failed[column])
        failed[column] = failed[column].astype(float if numeric else object)
        failed.loc[rows, column] = np.nan if numeric else None
    return failed


def _extra_failed_runs(runs: pd.DataFrame, curves: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The tables plus a failed copy of every other run (new run ids, no curve rows)."""
    extra = runs.iloc[::2].copy()
    extra["run_id"] = runs["run_id"].max() + 1 + np.arange(len(extra))
    extra = _with_failed_runs(extra, pd.Series(True, index=extra.index))
    return pd.concat([runs, extra], ignore_index=True), curves


def _empty_cell(runs: pd.DataFrame, curves: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """The tables where every run of the first factor's first value failed (None without factors)."""
    factors = factor_columns(runs)
    if not factors:
        return None
    cell = runs[factors[0]] == sorted(runs[factors[0]].unique())[0]
    failed = _with_failed_runs(runs, cell)
    kept = curves[~curves["run_id"].isin(runs.loc[cell, "run_id"])] if curves is not None else None
    return failed, kept


class _Checker:
    """Calls one test with fixed options and names the rule a result breaks."""

    def __init__(self, test: Callable[..., list[HypothesisResult]], options: Mapping[str, Any]) -> None:
        self.test = test
        self.options = dict(options)
        self.name = getattr(test, "__name__", repr(test))

    def fail(self, rule: str, what: str) -> ContractViolation:
        return ContractViolation(f"{self.name}: {rule}: {what}")

    def call(self, runs: pd.DataFrame, curves: pd.DataFrame | None, where: str) -> list[HypothesisResult]:
        try:
            return self.test(runs, curves, **self.options)
        except Exception as exc:
            hint = ""
            if isinstance(exc, KeyError):
                hint = f"; the runs table has {', '.join(map(str, runs.columns))} (pass tables= of a sweep with yours)"
            raise self.fail("runs", f"raised {type(exc).__name__}: {exc} {where}{hint}") from exc

    def results(self, results: Any, where: str) -> None:
        if not isinstance(results, list) or not results:
            raise self.fail("results", f"expected a non-empty list of HypothesisResult {where}, got {results!r:.200}")
        for result in results:
            if not isinstance(result, HypothesisResult):
                raise self.fail("results", f"expected HypothesisResult items {where}, got {type(result).__name__}")
            self._result(result, where)

    def _result(self, r: HypothesisResult, where: str) -> None:
        if r.verdict not in VERDICTS:
            raise self.fail("results", f"verdict {r.verdict!r} {where} is not one of {', '.join(VERDICTS)}")
        if not isinstance(r.test, str) or not isinstance(r.cell, str) or not isinstance(r.note, str):
            raise self.fail("results", f"test, cell and note must be text {where}, got {r.test!r}, {r.cell!r}, {r.note!r}")
        for field in ("statistic", "effect", "ci_low", "ci_high", "p_value"):
            value = getattr(r, field)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise self.fail("results", f"{field} must be a number (NaN when undefined) {where}, got {value!r}")
        if r.ci_low > r.ci_high:
            raise self.fail("results", f"ci_low {r.ci_low} is above ci_high {r.ci_high} {where}")
        if not (math.isnan(r.p_value) or 0.0 <= r.p_value <= 1.0):
            raise self.fail("results", f"p_value {r.p_value} is not in [0, 1] {where}")
        if r.alternative not in ("greater", "less", "two-sided"):
            raise self.fail("results", f"alternative must be greater, less or two-sided {where}, got {r.alternative!r}")
        if isinstance(r.alpha, bool) or not isinstance(r.alpha, numbers.Real) or not 0.0 < r.alpha < 1.0:
            raise self.fail("results", f"alpha must be a level in (0, 1) {where}, got {r.alpha!r}")
        if isinstance(r.n, bool) or not isinstance(r.n, numbers.Integral) or r.n < 0:
            raise self.fail("results", f"n must be a whole number ≥ 0 {where}, got {r.n!r}")
        plain = (int, float)  # numpy's float64 is a float; its int64 is not an int (and not JSON)
        if not isinstance(r.details, dict) or not all(
            isinstance(k, str) and isinstance(v, plain) and not isinstance(v, bool) for k, v in r.details.items()
        ):
            raise self.fail("results", f"details must map names to numbers (float or int) {where}, got {r.details!r:.200}")


def check_hypothesis_test(
    test: Callable[..., list[HypothesisResult]],
    *,
    options: Mapping[str, Any] | None = None,
    tables: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
) -> None:
    """Check that ``test`` keeps the contract of a hypothesis test (the rules in this module's docstring).

    Parameters
    ----------
    test
        The test function.
    options
        Options to call it with: its required ones at least (the synthetic sweep's factor is
        :data:`FACTOR`, with values 1.0 and 8.0). Smaller bootstraps make the check faster.
    tables
        ``(runs, curves)`` to check on instead of :func:`synthetic_tables` (e.g. a small sweep's
        ``load_results(...).runs`` and ``.curves``), when the test reads metrics they lack.

    Raises
    ------
    ContractViolation
        Naming the test, the rule it breaks and what was seen.
    """
    checker = _Checker(test, options or {})
    try:
        check_signature(test)
    except TypeError as exc:
        raise checker.fail("signature", str(exc).removeprefix(f"{checker.name}: ")) from None
    runs, curves = tables if tables is not None else synthetic_tables()
    where = "on the synthetic sweep" if tables is None else "on the tables given"
    before = (runs.copy(), None if curves is None else curves.copy())
    first = checker.call(runs, curves, where)
    checker.results(first, where)
    if not results_frame(checker.call(runs, curves, "when called again")).equals(results_frame(first)):
        raise checker.fail("deterministic", "two calls on the same tables gave different results (seed it from an option)")
    if not runs.equals(before[0]) or (curves is not None and not curves.equals(before[1])):
        raise checker.fail("inputs untouched", "it modified the runs or curves table it was given (work on a copy)")
    with_failed = checker.call(*_extra_failed_runs(runs, curves), "with failed runs added")
    if not results_frame(with_failed).equals(results_frame(first)):
        raise checker.fail("failed runs ignored", "adding failed runs (status 'failed', metrics NaN) changed its results")
    _check_empty_cell(checker, runs, curves)
    _check_invalid_options(checker, runs, curves)


def _check_empty_cell(checker: _Checker, runs: pd.DataFrame, curves: pd.DataFrame | None) -> None:
    tables = _empty_cell(runs, curves)
    if tables is None:
        return
    where = "when every run of a design cell failed"
    try:
        results = checker.test(*tables, **checker.options)
    except ValueError:
        return  # a clear refusal: the cell cannot be tested
    except Exception as exc:
        raise checker.fail(
            "empty cells", f"raised {type(exc).__name__}: {exc} {where}; return results or raise ValueError"
        ) from exc
    checker.results(results, where)


def _check_invalid_options(checker: _Checker, runs: pd.DataFrame, curves: pd.DataFrame | None) -> None:
    try:
        checker.test(runs, curves, **checker.options, definitely_not_an_option=1)
    except TypeError:
        pass
    else:
        raise checker.fail("invalid options", "an unknown option was accepted silently")
    if "by" not in inspect.signature(checker.test).parameters:
        return
    try:
        checker.test(runs, curves, **{**checker.options, "by": [NOT_A_FACTOR]})
    except ValueError as exc:
        if NOT_A_FACTOR not in str(exc):
            raise checker.fail(
                "invalid options", f"by=[{NOT_A_FACTOR!r}] raised ValueError without naming the column: {exc}"
            ) from None
    except Exception as exc:
        raise checker.fail(
            "invalid options", f"by=[{NOT_A_FACTOR!r}] raised {type(exc).__name__}: {exc}; raise ValueError naming it"
        ) from exc
    else:
        raise checker.fail("invalid options", f"by=[{NOT_A_FACTOR!r}] (not a factor) was accepted silently")
