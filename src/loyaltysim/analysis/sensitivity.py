"""Global sensitivity analysis with SALib: problem, samples, outputs, indices, seed noise.

The pipeline is a chain of small functions over arrays and tidy tables; SALib
does every estimate (no hand-written estimators here):

1. :func:`build_problem` — factor declarations (dotted config paths → range,
   optional distribution and group) become a SALib problem, after checks that
   raise :class:`~loyaltysim.config.errors.ConfigError`.
2. :func:`check_samples` and :func:`sample` — SALib's Saltelli/Sobol', Morris or
   eFAST sampler, seeded.
3. :func:`output_values` — one value per run and output, over a window: the run's
   pooled rate (``run``), the last step (``final``) or the mean of the last k steps.
4. :func:`analyse` — replicates averaged per design point, then
   ``SALib.analyze.sobol`` (S1, ST, optional S2), ``morris`` (mu*, mu, sigma) or
   ``fast`` (S1, ST), each with confidence intervals, for every output at once;
   plus :func:`variance_table` (how much variance is seed noise) and
   :func:`convergence_table` (indices re-estimated on nested subsets of the sample).

Examples
--------
>>> problem = build_problem({"x1": {"low": -3.14, "high": 3.14}, "x2": {"low": -3.14, "high": 3.14}})
>>> X = sample(problem, "sobol", 16, seed=1)
>>> X.shape
(64, 2)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loyaltysim.config.errors import ConfigError, from_validation_error, suggest

__all__ = [
    "DEFAULT_OUTPUTS",
    "METHODS",
    "Output",
    "SensitivityFactor",
    "SensitivityResult",
    "analyse",
    "analyse_runs",
    "build_problem",
    "check_samples",
    "convergence_table",
    "default_outputs",
    "output_values",
    "parse_output",
    "point_means",
    "sample",
    "variance_table",
]

METHODS = ("sobol", "morris", "fast")
Method = Literal["sobol", "morris", "fast"]
DEFAULT_OUTPUTS = ("churn_rate", "satisfied_defector_share", "mean_satisfaction", "nps", "profit_per_period")
MIN_SOBOL_N = 8  # base samples: fewer leave the bootstrap CIs meaningless
MIN_MORRIS_TRAJECTORIES = 2  # sigma needs at least two elementary effects per factor
_SALIB_DISTS = {"uniform": "unif", "loguniform": "logunif", "triangular": "triang", "normal": "norm", "truncnormal": "truncnorm"}


class SensitivityFactor(BaseModel):
    """One uncertain input: a range ``{low, high}`` or a (truncated) normal, optionally in a group.

    ``dist``: ``uniform`` (default) or ``loguniform`` on ``[low, high]``; ``triangular`` on
    ``[low, high]`` with its mode at ``peak`` (fraction of the range); ``normal`` with
    ``mean`` and ``sd``; ``truncnormal`` with ``mean`` and ``sd`` cut to ``[low, high]``.
    Factors sharing a ``group`` are moved together by Sobol' and Morris (one index per group).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float | None = Field(None, strict=True, description="lower bound")
    high: float | None = Field(None, strict=True, description="upper bound")
    dist: Literal["uniform", "loguniform", "triangular", "normal", "truncnormal"] = Field("uniform", description="distribution")
    peak: float | None = Field(None, strict=True, ge=0, le=1, description="triangular: mode as a fraction of [low, high]")
    mean: float | None = Field(None, strict=True, description="normal, truncnormal: mean")
    sd: float | None = Field(None, strict=True, gt=0, description="normal, truncnormal: standard deviation")
    group: str | None = Field(None, min_length=1, description="group name (factors of a group share one index)")

    @model_validator(mode="after")
    def _check(self) -> SensitivityFactor:
        needs_range = self.dist != "normal"
        needs_moments = self.dist in ("normal", "truncnormal")
        if needs_range:
            if self.low is None or self.high is None:
                raise ValueError(f"dist {self.dist} needs both low and high")
            if not (math.isfinite(self.low) and math.isfinite(self.high)):
                raise ValueError(f"low and high must be finite numbers, got {self.low} and {self.high}")
            if self.low >= self.high:
                raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.dist == "loguniform" and self.low is not None and self.low <= 0:
            raise ValueError(f"dist loguniform needs low > 0, got {self.low}")
        if self.dist == "triangular" and self.peak is None:
            raise ValueError("dist triangular needs peak (the mode as a fraction of [low, high], e.g. 0.5)")
        if needs_moments and (self.mean is None or self.sd is None):
            raise ValueError(f"dist {self.dist} needs mean and sd")
        if self.dist == "normal" and (self.low is not None or self.high is not None):
            raise ValueError("dist normal takes mean and sd, not low/high (use truncnormal for a bounded normal)")
        return self

    def salib_bounds(self) -> list[float]:
        """The ``bounds`` entry SALib expects for this distribution."""
        if self.dist == "normal":
            return [self.mean, self.sd]
        if self.dist == "triangular":
            return [self.low, self.high, self.peak]
        if self.dist == "truncnormal":
            return [self.low, self.high, self.mean, self.sd]
        return [self.low, self.high]


def build_problem(factors: Mapping[str, Mapping[str, Any] | SensitivityFactor], *, source: str | None = None) -> dict[str, Any]:
    """The SALib problem of ``factors`` (name → declaration), names kept in order.

    Raises
    ------
    ConfigError
        No factors, a non-numeric or empty range, a missing distribution parameter.
    """
    if not factors:
        raise ConfigError("factors: a sensitivity analysis needs at least one factor with a range", source=source)
    declared: dict[str, SensitivityFactor] = {}
    for name, spec in factors.items():
        if isinstance(spec, SensitivityFactor):
            declared[name] = spec
            continue
        if not isinstance(spec, Mapping):
            raise ConfigError(f"factors.{name}: expected a range such as {{low: 0.1, high: 0.9}}, got {spec!r}", source=source)
        try:
            declared[name] = SensitivityFactor.model_validate(dict(spec))
        except ValidationError as exc:
            raise from_validation_error(exc, SensitivityFactor, source=source, prefix=f"factors.{name}") from None
    problem: dict[str, Any] = {
        "num_vars": len(declared),
        "names": list(declared),
        "bounds": [f.salib_bounds() for f in declared.values()],
        "dists": [_SALIB_DISTS[f.dist] for f in declared.values()],
    }
    if any(f.group for f in declared.values()):
        problem["groups"] = [f.group or name for name, f in declared.items()]
    return problem


def _labels(problem: Mapping[str, Any]) -> list[str]:
    """Names SALib reports indices for: the groups (first-seen order) when there are groups, else the factors."""
    groups = problem.get("groups")
    return list(dict.fromkeys(groups)) if groups else list(problem["names"])


def check_samples(
    problem: Mapping[str, Any], method: str, samples: int, *, levels: int = 4, harmonics: int = 4, source: str | None = None
) -> None:
    """Refuse a method or sample size SALib cannot analyse meaningfully (before anything runs).

    Sobol': ``samples`` is the base N, a power of two ≥ 8. Morris: ``samples`` trajectories ≥ 2,
    an even number of levels. eFAST: ``samples`` per factor > 4·M² (M = ``harmonics``), no groups.
    """
    if method not in METHODS:
        raise ConfigError(
            f"method: expected one of {', '.join(METHODS)}, got {method!r}{suggest(str(method), METHODS)}", source=source
        )
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise ConfigError(f"samples: expected a whole number, got {samples!r}", source=source)
    if method == "sobol":
        if samples < MIN_SOBOL_N:
            raise ConfigError(f"samples: sobol needs a base sample N ≥ {MIN_SOBOL_N}, got {samples}", source=source)
        if samples & (samples - 1):
            near = 2 ** round(math.log2(samples))
            raise ConfigError(f"samples: sobol needs N to be a power of two (e.g. {near}), got {samples}", source=source)
    elif method == "morris":
        if samples < MIN_MORRIS_TRAJECTORIES:
            raise ConfigError(f"samples: morris needs ≥ {MIN_MORRIS_TRAJECTORIES} trajectories, got {samples}", source=source)
        if levels < 2 or levels % 2:
            raise ConfigError(f"levels: morris needs an even number of levels ≥ 2, got {levels}", source=source)
    else:
        if problem.get("groups"):
            raise ConfigError("group: fast (eFAST) does not support groups of factors; use sobol or morris", source=source)
        if samples <= 4 * harmonics**2:
            raise ConfigError(
                f"samples: fast needs samples > 4·M² = {4 * harmonics**2} (M = harmonics = {harmonics}), got {samples}",
                source=source,
            )


def sample(
    problem: Mapping[str, Any],
    method: str,
    samples: int,
    *,
    seed: int,
    second_order: bool = False,
    levels: int = 4,
    harmonics: int = 4,
) -> np.ndarray:
    """SALib's sample matrix (one row per design point, in factor units) for ``method``.

    Sobol' gives N·(D+2) rows (N·(2D+2) with ``second_order``), Morris ``samples``·(D+1),
    eFAST ``samples``·D (D = factors, or groups when there are groups).
    """
    check_samples(problem, method, samples, levels=levels, harmonics=harmonics)
    problem = dict(problem)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=second_order, seed=seed)
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, samples, num_levels=levels, seed=seed)
    from SALib.sample import fast_sampler

    return fast_sampler.sample(problem, samples, M=harmonics, seed=seed)


# --- outputs ------------------------------------------------------------------------------


class Output(BaseModel):
    """One analysed output: a metric and the window it is read over.

    ``window``: ``run`` — the run's summary value (pooled over the periods after
    burn-in); ``final`` — the last step (``final_<metric>`` in runs.parquet, else the
    time series); an integer k — the mean of the last k steps of the time series.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1, description="metric name (runs.parquet or timeseries.parquet column)")
    window: Literal["run", "final"] | int = Field("run", description="run | final | k (mean of the last k steps)")

    @model_validator(mode="after")
    def _check(self) -> Output:
        if isinstance(self.window, int) and self.window < 1:
            raise ValueError(f"window: the last k steps need k ≥ 1, got {self.window}")
        return self

    @property
    def label(self) -> str:
        """Column name of this output: ``metric``, ``metric@final`` or ``metric@last<k>``."""
        if self.window == "run":
            return self.metric
        return f"{self.metric}@final" if self.window == "final" else f"{self.metric}@last{self.window}"


def parse_output(spec: str | Mapping[str, Any] | Output, *, source: str | None = None) -> Output:
    """An :class:`Output` from ``"nps"``, ``"nps@final"``, ``"nps@last12"`` or ``{metric, window}``."""
    if isinstance(spec, Output):
        return spec
    if isinstance(spec, str):
        metric, _, window = spec.partition("@")
        data: dict[str, Any] = {"metric": metric}
        if window == "final":
            data["window"] = "final"
        elif window.startswith("last") and window[4:].isdigit():
            data["window"] = int(window[4:])
        elif window:
            raise ConfigError(f"outputs: window of {spec!r} must be @final or @last<k> (e.g. @last12)", source=source)
    else:
        data = dict(spec)
    try:
        return Output.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, Output, source=source, prefix="outputs") from None


def default_outputs(columns: Iterable[str]) -> list[Output]:
    """The standard outputs (churn, satisfied defectors, satisfaction, NPS, profit) plus the first firm's share."""
    columns = list(columns)
    shares = [c for c in columns if c.startswith("share_")]
    return [Output(metric=m) for m in (*DEFAULT_OUTPUTS, *shares[:1]) if m in columns]


def _known(name: str, columns: Sequence[str], where: str) -> None:
    if name not in columns:
        choices = [c for c in columns if c not in ("run_id", "step", "point_id", "replicate")]
        raise ConfigError(f"outputs: unknown metric '{name}' in {where}{suggest(name, choices)}")


def output_values(runs: pd.DataFrame, outputs: Sequence[Output], timeseries: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per successful run (point_id, replicate) and one column per output label.

    ``runs`` has run_id, point_id, replicate, optional status and the summary metrics;
    ``timeseries`` (run_id, step, metrics) is needed for ``final`` metrics without a
    ``final_<metric>`` column and for ``last k`` windows.
    """
    if "status" in runs:
        runs = runs[runs["status"] == "ok"]
    table = runs[["run_id", "point_id", "replicate"]].reset_index(drop=True)
    for output in outputs:
        final_column = f"final_{output.metric}"
        if output.window == "run":
            _known(output.metric, list(runs.columns), "runs.parquet")
            values = runs[output.metric].to_numpy(dtype=float)
        elif output.window == "final" and (final_column in runs or timeseries is None):
            _known(final_column, list(runs.columns), "runs.parquet")
            values = runs[final_column].to_numpy(dtype=float)
        else:
            if timeseries is None:
                raise ConfigError(f"outputs: {output.label} needs the time series (timeseries.parquet)")
            _known(output.metric, list(timeseries.columns), "timeseries.parquet")
            window = _window_means(timeseries, output)
            values = table["run_id"].map(window).to_numpy(dtype=float)
        table[output.label] = values
    return table.drop(columns="run_id")


def _window_means(timeseries: pd.DataFrame, output: Output) -> pd.Series:
    """Mean of ``output.metric`` over each run's last k kept steps (k = 1 for ``final``)."""
    k = 1 if output.window == "final" else int(output.window)
    last = timeseries.groupby("run_id")["step"].transform("max")
    inside = timeseries[timeseries["step"] > last - k]
    counts = inside.groupby("run_id")["step"].nunique()
    if (counts < k).any():
        raise ConfigError(
            f"outputs: {output.label} needs each of the last {k} steps in the time series, but only "
            f"{int(counts.min())} were kept; collect it with timeseries: {{every: 1}}"
        )
    return inside.groupby("run_id")[output.metric].mean()


def point_means(values: pd.DataFrame, labels: Sequence[str], points: int) -> pd.DataFrame:
    """Mean of each output over the replicates of each design point (index 0..points-1).

    Raises ``ValueError`` when a design point has no successful run: SALib needs every point.
    """
    means = values.groupby("point_id")[list(labels)].mean().reindex(range(points))
    missing = means.index[means.isna().all(axis=1)]
    if len(missing):
        raise ValueError(f"design points without a successful run: {list(missing[:10])}; rerun them (--resume) first")
    return means


def variance_table(values: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """How much of each output's variance is seed noise (replicate spread within design points).

    Columns: output, points, replicates (per point, median), total_variance (over runs),
    noise_variance (mean within-point replicate variance), noise_share (noise / total),
    means_variance (variance of the point means that are analysed) and
    noise_share_of_means (noise / replicates / means_variance: the part of the analysed
    variance that is noise). Noise columns are NaN with one replicate per point.
    """
    rows = []
    grouped = values.groupby("point_id")
    replicates = float(grouped.size().median())
    for label in labels:
        total = float(values[label].var(ddof=1))
        noise = float(grouped[label].var(ddof=1).mean()) if replicates > 1 else math.nan
        means = float(grouped[label].mean().var(ddof=1))
        rows.append(
            {
                "output": label,
                "points": int(grouped.ngroups),
                "replicates": replicates,
                "total_variance": total,
                "noise_variance": noise,
                "noise_share": noise / total if total > 0 else math.nan,
                "means_variance": means,
                "noise_share_of_means": noise / replicates / means if means > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows)


# --- analysis -----------------------------------------------------------------------------


def _bootstrap_seed(seed: int) -> int:
    """A nonzero seed for SALib's bootstraps (``SALib.analyze.sobol`` treats seed 0 as 'no seed')."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) | 1


def _rows(method: str, output: str, names: Sequence[str], index: str, values: Any, conf: Any) -> list[dict]:
    conf = np.full(len(names), np.nan) if conf is None else np.asarray(conf, dtype=float)
    return [
        {"method": method, "output": output, "factor": n, "index": index, "value": float(v), "conf": float(c)}
        for n, v, c in zip(names, np.asarray(values, dtype=float), conf, strict=True)
    ]


def _analyse_one(
    problem: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    method: str,
    output: str,
    *,
    second_order: bool,
    levels: int,
    harmonics: int,
    num_resamples: int,
    conf_level: float,
    seed: int,
    sigma_conf: bool,
) -> list[dict]:
    names = _labels(problem)
    if method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(
            problem, y, calc_second_order=second_order, num_resamples=num_resamples, conf_level=conf_level, seed=seed
        )
        rows = _rows(method, output, names, "S1", si["S1"], si["S1_conf"])
        rows += _rows(method, output, names, "ST", si["ST"], si["ST_conf"])
        if second_order:
            pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
            rows += _rows(
                method,
                output,
                [f"{names[i]} × {names[j]}" for i, j in pairs],
                "S2",
                [si["S2"][i, j] for i, j in pairs],
                [si["S2_conf"][i, j] for i, j in pairs],
            )
        return rows
    if method == "morris":
        from SALib.analyze import morris

        si = morris.analyze(problem, X, y, num_resamples=num_resamples, conf_level=conf_level, num_levels=levels, seed=seed)
        spread = (
            _morris_sigma_conf(problem, X, y, levels=levels, num_resamples=num_resamples, conf_level=conf_level, seed=seed)
            if sigma_conf
            else None
        )
        rows = _rows(method, output, names, "mu_star", si["mu_star"], si["mu_star_conf"])
        rows += _rows(method, output, names, "mu", si["mu"], None)
        return rows + _rows(method, output, names, "sigma", si["sigma"], spread)
    import warnings

    from SALib.analyze import fast

    with warnings.catch_warnings():  # SALib warns its eFAST bootstrap CIs are indicative only; the report says so
        warnings.filterwarnings("ignore", message="FAST confidence intervals", category=UserWarning)
        si = fast.analyze(problem, y, M=harmonics, num_resamples=num_resamples, conf_level=conf_level, seed=seed)
    return _rows(method, output, names, "S1", si["S1"], si["S1_conf"]) + _rows(
        method, output, names, "ST", si["ST"], si["ST_conf"]
    )


def _morris_sigma_conf(
    problem: dict[str, Any], X: np.ndarray, y: np.ndarray, *, levels: int, num_resamples: int, conf_level: float, seed: int
) -> np.ndarray:
    """Half-width of a percentile bootstrap CI of sigma: SALib's Morris estimate on trajectories resampled with replacement.

    SALib gives a CI for mu* only; resampling whole trajectories keeps each elementary effect intact
    (at most 100 resamples: each is a full SALib analysis).
    """
    from SALib.analyze import morris

    width = len(_labels(problem)) + 1
    trajectories = len(y) // width
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    draws = []
    for _ in range(min(num_resamples, 100)):
        pick = rng.integers(0, trajectories, trajectories)
        rows = (pick[:, None] * width + np.arange(width)).ravel()
        draws.append(morris.analyze(problem, X[rows], y[rows], num_resamples=2, num_levels=levels, seed=seed)["sigma"])
    low, high = np.quantile(np.asarray(draws, dtype=float), [(1 - conf_level) / 2, (1 + conf_level) / 2], axis=0)
    return (high - low) / 2


def analyse(
    problem: Mapping[str, Any],
    X: np.ndarray,
    means: pd.DataFrame,
    method: str,
    *,
    second_order: bool = False,
    levels: int = 4,
    harmonics: int = 4,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    seed: int = 0,
    sigma_conf: bool = True,
) -> pd.DataFrame:
    """Indices of every output column of ``means`` (one row per design point, in ``X``'s order).

    Returns a tidy table: method, output, factor, index, value, conf (half-width of the
    ``conf_level`` interval). Sobol': S1, ST (and S2); Morris: mu_star, mu, sigma; eFAST:
    S1, ST. An output that is undefined (NaN) at some design point (e.g. the satisfied-defector
    share when nobody defected) or constant is left out: SALib cannot analyse it.
    ``sigma_conf=False`` skips the (slower) bootstrap interval of Morris' sigma.
    """
    problem = dict(problem)
    X = np.asarray(X, dtype=float)
    if len(means) != len(X):
        raise ValueError(f"{len(means)} output rows for {len(X)} design points")
    rows: list[dict] = []
    boot = _bootstrap_seed(seed)
    for label in means.columns:
        y = means[label].to_numpy(dtype=float)
        if not np.isfinite(y).all() or np.ptp(y) == 0:
            continue
        rows += _analyse_one(
            problem,
            X,
            y,
            method,
            label,
            second_order=second_order,
            levels=levels,
            harmonics=harmonics,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=boot,
            sigma_conf=sigma_conf,
        )
    return pd.DataFrame(rows, columns=["method", "output", "factor", "index", "value", "conf"])


def _nested_sizes(total: int, minimum: int, *, powers_of_two: bool, steps: int = 5) -> list[int]:
    """Nested sample sizes total/2^j ≥ minimum, smallest first (Sobol' base samples or Morris trajectories)."""
    sizes = [total >> j for j in range(steps) if total >> j >= minimum]
    if powers_of_two:
        sizes = [n for n in sizes if n & (n - 1) == 0]
    return sorted(set(sizes))


def convergence_table(
    problem: Mapping[str, Any],
    X: np.ndarray,
    means: pd.DataFrame,
    method: str,
    *,
    second_order: bool = False,
    levels: int = 4,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Indices re-estimated on nested leading subsets of the sample (Sobol': N/16 … N; Morris: r/16 … r).

    The first n base points of a scrambled Sobol' sequence (n a power of two) and the first
    trajectories of a Morris design are valid designs of their own. eFAST designs do not nest:
    an empty table is returned. Columns: those of :func:`analyse` plus ``samples`` (base N or
    trajectories) and ``runs`` (design points used).
    """
    columns = ["samples", "runs", "method", "output", "factor", "index", "value", "conf"]
    if method == "fast":
        return pd.DataFrame(columns=columns)
    d = len(_labels(problem))
    width = {"sobol": 2 * d + 2 if second_order else d + 2, "morris": d + 1}[method]
    total = len(X) // width
    minimum = MIN_SOBOL_N if method == "sobol" else MIN_MORRIS_TRAJECTORIES
    frames = []
    for n in _nested_sizes(total, minimum, powers_of_two=method == "sobol"):
        rows = n * width
        part = analyse(
            problem,
            X[:rows],
            means.iloc[:rows],
            method,
            second_order=second_order,
            levels=levels,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
            sigma_conf=False,
        )
        frames.append(part.assign(samples=n, runs=rows))
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


@dataclass
class SensitivityResult:
    """Everything an analysis produced: indices, seed-noise table, convergence, and the setting."""

    method: str
    indices: pd.DataFrame
    variance: pd.DataFrame
    convergence: pd.DataFrame
    problem: dict[str, Any] = field(default_factory=dict)

    def ranking(self, output: str) -> pd.DataFrame:
        """Factors of ``output`` from most to least influential (by ST, or mu* for Morris)."""
        key = "mu_star" if self.method == "morris" else "ST"
        table = self.indices[(self.indices["output"] == output) & (self.indices["index"] == key)]
        return table.sort_values("value", ascending=False).reset_index(drop=True)


def analyse_runs(
    problem: Mapping[str, Any],
    X: np.ndarray,
    runs: pd.DataFrame,
    method: str,
    *,
    outputs: Sequence[str | Mapping[str, Any] | Output] | None = None,
    timeseries: pd.DataFrame | None = None,
    second_order: bool = False,
    levels: int = 4,
    harmonics: int = 4,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    seed: int = 0,
    convergence: bool = True,
) -> SensitivityResult:
    """The whole analysis of a finished set of runs (one per design point × replicate).

    ``runs`` has point_id (row of ``X``), replicate, optional status and the metric columns
    (runs.parquet of a sweep); ``outputs`` default to :func:`default_outputs`.
    """
    chosen = [parse_output(o) for o in outputs] if outputs else default_outputs(runs.columns)
    labels = [o.label for o in chosen]
    values = output_values(runs, chosen, timeseries)
    means = point_means(values, labels, len(X))
    options = {"second_order": second_order, "levels": levels, "conf_level": conf_level, "seed": seed}
    indices = analyse(problem, X, means, method, harmonics=harmonics, num_resamples=num_resamples, **options)
    trend = (
        convergence_table(problem, X, means, method, num_resamples=min(num_resamples, 100), **options) if convergence else None
    )
    return SensitivityResult(
        method=method,
        indices=indices,
        variance=variance_table(values, labels),
        convergence=trend if trend is not None else pd.DataFrame(),
        problem=dict(problem),
    )
