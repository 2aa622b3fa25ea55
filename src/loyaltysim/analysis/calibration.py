"""Calibration: fit free config parameters to target metrics (published facts or a firm's data).

A calibration file names a base scenario, the free parameters with their bounds
(dotted config paths), the targets (metric, window, period, value, tolerance or
weight), the replicates per evaluation, a seed and a method:

``differential_evolution``
    scipy's global optimiser (``vectorized=True``): each generation is one batch
    of runs. No gradient polish (the objective is noisy).
``abc``
    rejection ABC: a Sobol or Latin-hypercube sample of the prior box (uniform,
    or log-uniform for ``log: true``) evaluated in batches, every point with its
    own seeds; the points with the smallest loss are accepted as the posterior sample.
``abc-smc``
    sequential ABC with an adaptive distance and epsilon schedule
    (:mod:`loyaltysim.analysis.inference.abc_smc`).
``npe``
    neural posterior estimation with sbi (:mod:`loyaltysim.analysis.inference.npe`): an amortised
    posterior, saved and reusable for new targets without new simulations.
``history-matching``
    waves of Gaussian-process emulators and implausibility cut-offs that rule out regions of the
    parameter space (:mod:`loyaltysim.analysis.inference.history_matching`).

The Bayesian methods (``abc``, ``abc-smc``, ``npe``) and history matching also give the checks of
:mod:`loyaltysim.analysis.inference.diagnostics` (and, with a posterior, posterior predictive runs).
Their simulations use fresh seeds for every point (a posterior needs independent draws of the
simulator's noise: with common random numbers the 90% intervals of rejection ABC covered known
truths in only 60–70% of 20 repetitions), derived from ``seed`` and the batch's name, so a replay
asks for the same runs.

The loss of a parameter point is ``Σ weight · ((simulated − value) / tolerance)²``
(tolerance 1 when not given), where ``simulated`` is the target metric averaged
over the replicates. Differential evolution runs every point with the same replicate
seeds (common random numbers), so the loss is a deterministic function of the parameters and
differences between points are not masked by seed noise; the best point is
then re-run with fresh seeds (``check_replicates``) for an honest fit table.

Runs are handed to a pluggable *evaluator* one batch at a time (a DE
generation, or a slice of the ABC sample); the default :class:`SweepEvaluator`
sends them through the sweep engine (serial, process pool or Dask). With an
output folder every finished batch is written to ``batches/<name>.parquet``
(and, while it runs, the engine checkpoints its chunks); a resumed calibration
replays the same deterministic algorithm and reads finished batches and runs
back instead of running them again.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import warnings
import zlib
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError
from scipy import optimize
from scipy.stats import qmc

from loyaltysim.analysis.inference.diagnostics import misspecification
from loyaltysim.analysis.inference.history_matching import HistoryMatchingResult, history_matching
from loyaltysim.analysis.inference.methods import (
    BayesianResult,
    Observed,
    check_posterior,
    predictive_table,
    run_abc_smc,
    run_npe,
)
from loyaltysim.analysis.inference.npe import AmortisedPosterior, load_posterior
from loyaltysim.analysis.inference.posterior import Box, weighted_quantile
from loyaltysim.analysis.inference.posterior import intervals as weighted_intervals
from loyaltysim.analysis.inference.settings import (
    AbcSmcSettings,
    HistoryMatchingSettings,
    NpeSettings,
    PredictiveSettings,
    Strict,
)
from loyaltysim.config.errors import ConfigError, from_validation_error, suggest
from loyaltysim.config.loading import apply_overrides, config_hash, deep_merge, read_yaml, resolve_extends, validate_config
from loyaltysim.config.schema import Config
from loyaltysim.experiments.execution import ExecutorChoice, execute, process_pool, resolve_executor
from loyaltysim.experiments.reporters import Outcome
from loyaltysim.experiments.results import clean_partial_chunks, completed_run_ids, merge_chunks, session_count, write_chunk
from loyaltysim.experiments.spec import Experiment, RunSpec, outcome_columns, probe_metrics
from loyaltysim.experiments.storage import write_parquet
from loyaltysim.model.metrics import BANDS, RATINGS

__all__ = [
    "FINAL_METRICS",
    "POOLED_METRICS",
    "RATE_METRICS",
    "Calibration",
    "CalibrationResult",
    "CalibrationSpec",
    "SweepEvaluator",
    "calibrate",
    "load_calibration",
    "loss_terms",
    "measure",
    "target_loss",
]

RATE_METRICS = ("churn_rate", "retention_rate", *(f"churn_{b}" for b in BANDS), *(f"churn_rating_{r}" for r in RATINGS))
POOLED_METRICS = (
    *RATE_METRICS,
    "annualised_churn",
    "satisfied_defector_share",
    "mean_satisfaction",
    "nps",
    "promoter_share",
    "detractor_share",
    "profit_per_period",
)
FINAL_METRICS = (
    *(m for m in POOLED_METRICS if m != "profit_per_period"),
    "customers",
    "switchers",
    "sd_satisfaction",
    "mean_loyalty",
    "mean_expectation",
    "mean_rating",
    "hhi",
    "wom_positive",
    "wom_negative",
    "revenue",
    "profit",
    *(f"share_{b}" for b in BANDS),
)
WINDOWS = {"pooled": "pooled over the periods after run.burn_in", "final": "the last period of the run"}

Positive = Annotated[float, Field(gt=0.0)]

Evaluator = Callable[[str, pd.DataFrame], pd.DataFrame]
"""``evaluator(batch_name, runs) -> results``: ``runs`` has run_id, point_id, replicate, seed and one
column per free parameter; ``results`` has run_id, status ("ok"/"failed"), error and the run's summary metrics."""


_Strict = Strict
METHODS = ("differential_evolution", "abc", "abc-smc", "npe", "history-matching")
BAYESIAN = ("abc", "abc-smc", "npe")
"""Methods that give a posterior (and so posterior predictive runs and posterior checks)."""
NEEDS = {"npe": ("torch", "sbi"), "history-matching": ("sklearn",)}
"""Packages of the ``inference`` extra each method needs."""


class FreeParameter(_Strict):
    """A config value the calibration may change, within ``[low, high]``."""

    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    log: bool = Field(False, description="search (and sample the prior) on a log scale; needs low > 0")


class Target(_Strict):
    """One observed fact the model should reproduce."""

    metric: str = Field(description="summary metric, e.g. churn_satisfied, satisfied_defector_share")
    window: Literal["pooled", "final"] = Field("pooled", description="pooled after burn-in, or the final period")
    per: Literal["period", "year"] | None = Field(
        None, description="rates only (churn, retention): value is per period (one step) or per calendar year"
    )
    value: float = Field(description="the observed value")
    tolerance: Positive | None = Field(None, description="deviation that counts as one unit of loss (default 1)")
    weight: Positive = Field(1.0, description="multiplier of this target's squared deviation")

    @property
    def label(self) -> str:
        """Metric, window and period in one short string."""
        per = f", per {self.per}" if self.per else ""
        return f"{self.metric} ({self.window}{per})"


class DifferentialEvolutionSettings(_Strict):
    generations: Annotated[int, Field(ge=1)] = Field(10, description="scipy maxiter: generations after the initial one")
    popsize: Annotated[int, Field(ge=2)] = Field(8, description="scipy popsize: population = popsize × free parameters")
    mutation: float | tuple[float, float] = Field((0.5, 1.0), description="differential weight (or dithering range)")
    recombination: Annotated[float, Field(ge=0.0, le=1.0)] = Field(0.7, description="crossover probability")
    tol: Annotated[float, Field(ge=0.0)] = Field(0.01, description="stop when the population's loss spread is this small")
    init: Literal["latinhypercube", "sobol", "halton", "random"] = Field("latinhypercube", description="initial population")


class ABCSettings(_Strict):
    samples: Annotated[int, Field(ge=2)] = Field(256, description="points drawn from the prior box")
    sampler: Literal["sobol", "lhs"] = Field("sobol", description="space-filling design (scipy.stats.qmc)")
    accept: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.1, description="share of points with the lowest loss accepted")
    epsilon: Positive | None = Field(None, description="accept points with loss ≤ epsilon instead of a share")
    level: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(0.9, description="credible level of the reported intervals")
    batch_size: Annotated[int, Field(ge=1)] = Field(64, description="points per batch of runs")


class CalibrationSpec(_Strict):
    """A calibration file (``experiments/calibrate_*.yaml``)."""

    name: str = Field(description="label; default output folder results/<name>")
    description: str = Field("", description="free text shown in the report")
    base: str = Field(description="scenario YAML, relative to the calibration file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted config paths → values applied to base")
    parameters: dict[str, FreeParameter] = Field(description="dotted config path → {low, high, log?}")
    targets: list[Target] = Field(description="facts to reproduce")
    outcomes: dict[str, Outcome] = Field(
        default_factory=dict, description="your own outcomes (as in experiment files); targets may name their columns"
    )
    replicates: Annotated[int, Field(ge=1)] = Field(2, description="runs per evaluated point (averaged)")
    check_replicates: Annotated[int, Field(ge=1)] = Field(4, description="fresh-seed runs of the best point for the fit table")
    seed: Annotated[int, Field(ge=0)] = Field(0, description="root seed of replicate seeds and of the algorithm")
    method: Literal["differential_evolution", "abc", "abc-smc", "npe", "history-matching"] = Field(
        "differential_evolution", description="fitting method"
    )
    differential_evolution: DifferentialEvolutionSettings = Field(default_factory=DifferentialEvolutionSettings)
    abc: ABCSettings = Field(default_factory=ABCSettings)
    abc_smc: AbcSmcSettings = Field(default_factory=AbcSmcSettings)
    npe: NpeSettings = Field(default_factory=NpeSettings)
    history_matching: HistoryMatchingSettings = Field(default_factory=HistoryMatchingSettings)
    predictive: PredictiveSettings = Field(default_factory=PredictiveSettings)


@dataclass(frozen=True)
class Calibration:
    """A validated calibration: the spec, the base scenario (overrides applied) and where it came from."""

    spec: CalibrationSpec
    base: Config
    source: str

    @property
    def names(self) -> list[str]:
        """Free parameter paths, in file order."""
        return list(self.spec.parameters)


# --- loading and checking --------------------------------------------------------------------


def load_calibration(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Calibration:
    """Read and check a calibration file.

    Parameters
    ----------
    path
        The calibration YAML.
    overrides
        ``--set`` values: a dotted path starting with a calibration key (``replicates``,
        ``seed``, ``method``, ``differential_evolution.generations``, ``abc.samples``…)
        changes the calibration; any other path is a config value of the base scenario
        (``customers.n``), applied after the file's ``overrides``.

    Raises
    ------
    ConfigError
        Naming the file and key path: unknown target metric, inverted bounds, no free parameters, ...
    """
    path = Path(path)
    data = read_yaml(path)
    overrides = dict(overrides or {})
    own = {k: v for k, v in overrides.items() if k.split(".")[0] in CalibrationSpec.model_fields}
    source: str | Path = path
    if overrides:
        data = apply_overrides(data, own)
        source = f"{path} with --set {', '.join(f'{k}={v}' for k, v in overrides.items())}"
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, CalibrationSpec, source=source) from None
    base_path = Path(spec.base) if Path(spec.base).is_absolute() else path.parent / spec.base
    if not base_path.is_file():
        raise ConfigError(f"base: scenario file not found: {base_path}", source=source)
    config_overrides = {**spec.overrides, **{k: v for k, v in overrides.items() if k not in own}}
    base_source = f"{source} (base {base_path} with its overrides)"
    try:
        values = apply_overrides(deep_merge(Config().to_dict(), resolve_extends(base_path)), config_overrides)
    except ConfigError as exc:
        raise ConfigError(f"overrides: {exc.message}", source=base_source) from None
    base = validate_config(values, source=base_source)
    _check(spec, base, source=source)
    calibration = Calibration(spec=spec, base=base, source=str(path))
    if spec.method == "npe" and spec.npe.reuse is not None:
        _reused_posterior(calibration, source=source)
    return calibration


def _needs_extra(method: str, *, source: str | Path) -> None:
    """Refuse a method whose packages (the ``inference`` extra) are not installed."""
    missing = [name for name in NEEDS.get(method, ()) if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"method: {method} needs the inference extra ({', '.join(missing)} not installed): "
            "pip install 'loyaltysim[inference]'",
            source=source,
        )


def _npe_stamp(calibration: Calibration) -> dict[str, Any]:
    """What an amortised posterior depends on: parameters and bounds, target metrics, replicates, base scenario."""
    spec = calibration.spec
    return {
        "parameters": {name: p.model_dump() for name, p in spec.parameters.items()},
        "targets": [t.label for t in spec.targets],
        "replicates": spec.replicates,
        "base_config_hash": config_hash(calibration.base),
    }


def _reused_posterior(calibration: Calibration, *, source: str | Path) -> AmortisedPosterior:
    """The posterior of ``npe.reuse`` (a results folder, relative to the current folder like ``--out``), checked
    against ``calibration``.

    Raises
    ------
    ConfigError
        If there is no posterior there, or it was trained for other parameters, targets, replicates or base scenario.
    """
    path = Path(calibration.spec.npe.reuse) / "npe" / "posterior.pkl"
    if not path.is_file():
        raise ConfigError(
            f"npe.reuse: no trained posterior at {path} (run an npe calibration with --out there first)", source=source
        )
    posterior = load_posterior(path)
    expected = _npe_stamp(calibration)
    differs = [key for key in expected if posterior.stamp.get(key) != expected[key]]
    if differs:
        raise ConfigError(
            f"npe.reuse: the posterior at {path} was trained for other {', '.join(differs)}; "
            "only the target values and tolerances may change",
            source=source,
        )
    return posterior


def _pooled_metrics(base: dict[str, Any]) -> tuple[str, ...]:
    """Every pooled metric a run of ``base`` reports: :data:`POOLED_METRICS` first, then the rest of its
    summary (e.g. the survey cohort's ``defection_rating_<k>``), read from a one-period probe run."""
    summary, _ = probe_metrics(base)
    skipped = (*POOLED_METRICS, "steps", "periods")
    extra = [m for m in summary if m not in skipped and not m.startswith(("final_", "share_"))]
    return (*POOLED_METRICS, *extra)


def _check(spec: CalibrationSpec, base: Config, *, source: str | Path) -> None:
    if not spec.parameters:
        raise ConfigError(
            "parameters: no free parameters; name at least one dotted config path with bounds, "
            "e.g. switching.variety_seeking: {low: 0.0, high: 0.02}",
            source=source,
        )
    values = base.to_dict()
    for name, p in spec.parameters.items():
        where = f"parameters.{name}"
        if not p.low < p.high:
            raise ConfigError(f"{where}: bounds inverted or empty: low ({p.low}) must be below high ({p.high})", source=source)
        if p.log and p.low <= 0:
            raise ConfigError(f"{where}: log: true needs low > 0, got low = {p.low}", source=source)
        current = _lookup(values, name, where, source)
        if isinstance(current, bool) or not isinstance(current, float):
            raise ConfigError(
                f"{where}: only real-valued config keys can be calibrated; {name} is {current!r} ({type(current).__name__})",
                source=source,
            )
        for bound in ("low", "high"):
            try:
                validate_config(apply_overrides(values, {name: getattr(p, bound)}))
            except ConfigError as exc:
                raise ConfigError(
                    f"{where}.{bound}: {getattr(p, bound)} is not a valid value: {exc.message}", source=source
                ) from None
    firm_shares = tuple(f"share_{f.name}" for f in base.firms)
    pooled = _pooled_metrics(values) if any(t.window == "pooled" and t.metric not in POOLED_METRICS for t in spec.targets) else ()
    own = outcome_columns(base.to_dict(), spec.outcomes, source=source)
    seen: set[tuple[str, str]] = set()
    for i, target in enumerate(spec.targets):
        where = f"targets.{i}"
        known = (*(pooled or POOLED_METRICS), *own) if target.window == "pooled" else (*FINAL_METRICS, *firm_shares, *own)
        if target.metric not in known:
            raise ConfigError(
                f"{where}.metric: unknown {target.window} metric '{target.metric}'{suggest(target.metric, known)}; "
                f"known: {', '.join(known)}",
                source=source,
            )
        if target.metric in RATE_METRICS and target.per is None:
            raise ConfigError(
                f"{where}.per: {target.metric} is a rate; say whether value is per period (one {base.run.period}) "
                "or per year: per: period | year",
                source=source,
            )
        if target.metric not in RATE_METRICS and target.per is not None:
            raise ConfigError(f"{where}.per: only churn and retention rates take per; {target.metric} does not", source=source)
        if (target.metric, target.window) in seen:
            raise ConfigError(f"{where}: target {target.metric} ({target.window}) is given twice", source=source)
        seen.add((target.metric, target.window))
    _needs_extra(spec.method, source=source)
    if spec.method == "abc" and spec.abc.sampler == "sobol" and spec.abc.samples & (spec.abc.samples - 1):
        raise ConfigError(
            f"abc.samples: the Sobol sampler needs a power of 2 (e.g. 256), got {spec.abc.samples}; or use sampler: lhs",
            source=source,
        )


def _lookup(values: Mapping[str, Any], dotted: str, where: str, source: str | Path) -> Any:
    node: Any = values
    for depth, part in enumerate(dotted.split(".")):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            here = ".".join(dotted.split(".")[: depth + 1])
            choices = list(node) if isinstance(node, dict) else []
            raise ConfigError(f"{where}: '{here}' is not a config key{suggest(part, choices)}", source=source)
    return node


# --- measuring and scoring --------------------------------------------------------------------


def summary_key(target: Target) -> str:
    """The key of ``LoyaltyModel.summary()`` that holds ``target``'s metric."""
    if target.window == "pooled" or target.metric not in FINAL_METRICS:  # firm shares are stored without prefix
        return target.metric
    return f"final_{target.metric}"


def measure(summary: Mapping[str, Any], target: Target, periods_per_year: int) -> float:
    """The value of ``target``'s metric in one run's summary, per year when the target says so (NaN if absent)."""
    value = summary.get(summary_key(target))
    value = float("nan") if value is None else float(value)
    if target.per == "year":
        value = value**periods_per_year if target.metric == "retention_rate" else 1.0 - (1.0 - value) ** periods_per_year
    return value


def loss_terms(simulated: np.ndarray, targets: list[Target]) -> np.ndarray:
    """Each target's share of the loss: ``weight · ((simulated − value) / tolerance)²`` (points × targets).

    A metric that could not be measured (NaN, e.g. no customer ever in that band) counts
    as a deviation of ``max(|value|, 1)``: worse than simulating 0 for any rate.
    """
    simulated = np.atleast_2d(np.asarray(simulated, dtype=np.float64))
    value = np.array([t.value for t in targets])
    scale = np.array([t.tolerance or 1.0 for t in targets])
    weight = np.array([t.weight for t in targets])
    deviation = np.where(np.isnan(simulated), np.maximum(np.abs(value), 1.0), simulated - value)
    return weight * (deviation / scale) ** 2


def target_loss(simulated: np.ndarray, targets: list[Target]) -> np.ndarray:
    """Weighted, tolerance-scaled squared distance of each row of ``simulated`` (points × targets) to the targets."""
    return loss_terms(simulated, targets).sum(axis=1)


# --- evaluation -------------------------------------------------------------------------------


class SweepEvaluator:
    """Run each batch through the sweep engine (:func:`loyaltysim.experiments.execution.execute`).

    Serially, on a local process pool or on a Dask cluster. With a ``folder``, every
    engine chunk is checkpointed in ``folder/<batch>/chunks/`` as it finishes, so an
    interrupted batch resumes where it stopped (finished runs are never redone).

    With the process executor the worker processes start at the first batch and serve every later one
    (a calibration runs many small batches, one per generation); :meth:`close` (or ``with``) stops them.

    Parameters
    ----------
    base
        The base scenario; each run sets its free parameters and ``run.seed``.
    executor, workers, scheduler
        As for :func:`loyaltysim.sweep` (checked by :func:`loyaltysim.experiments.execution.resolve_executor`).
    folder
        Where to checkpoint chunks (None: nothing on disk).
    """

    def __init__(
        self,
        base: Config,
        *,
        executor: ExecutorChoice = "serial",
        workers: int | None = None,
        scheduler: str | None = None,
        folder: Path | None = None,
        outcomes: Mapping[str, Outcome] | None = None,
    ) -> None:
        self.base = base.to_dict()
        self.executor, self.workers = resolve_executor(executor, workers, scheduler)
        self.scheduler = scheduler
        self.folder = folder
        # all summary metrics and the outcomes' columns, final time-series row
        self.experiment = Experiment(name="calibration", outcomes=dict(outcomes or {}))
        self._pool = None  # the process pool, started at the first batch and kept for the next ones

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> SweepEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, batch: str, runs: pd.DataFrame) -> pd.DataFrame:
        params = [c for c in runs.columns if c not in ("run_id", "point_id", "replicate", "seed")]
        specs = [
            RunSpec(i, int(row["point_id"]), int(row["replicate"]), int(row["seed"]), {name: float(row[name]) for name in params})
            for i, row in enumerate(runs.to_dict("records"))
        ]
        folder = self.folder / batch if self.folder is not None else None
        done: set[int] = set()
        if folder is not None and folder.exists():
            clean_partial_chunks(folder)
            done = completed_run_ids(folder)
        todo = [spec for spec in specs if spec.run_id not in done]
        session = session_count(folder) + 1 if folder is not None else 1
        parts: list[pd.DataFrame] = []
        if self.executor == "process" and self._pool is None:
            self._pool = process_pool(self.workers)
        executor = self._pool if self._pool is not None else self.executor
        stream = execute(self.base, todo, self.experiment, executor=executor, workers=self.workers, scheduler=self.scheduler)
        with closing(stream):
            for seq, tables in enumerate(stream):
                if folder is not None:
                    write_chunk(folder, f"s{session:03d}-{seq:06d}", tables)
                parts += [tables["runs"], tables["failures"]]
        table = merge_chunks(folder)["runs"] if folder is not None else pd.concat(parts, ignore_index=True)
        lost = table[table["error"].fillna("").str.startswith("batch lost")]
        if len(lost):
            first = lost["error"].iloc[0]
            raise RuntimeError(f"{len(lost)} runs of batch {batch} were lost ({first}); rerun with --resume to redo them")
        table = table.sort_values("run_id")
        results = table.drop(columns=["point_id", "replicate", "seed", *params])
        return results.assign(run_id=runs["run_id"].to_numpy()[table["run_id"].to_numpy()])


class BatchStore:
    """Hand batches to an evaluator; with a folder, keep each finished batch on disk and reuse it on resume."""

    def __init__(self, evaluator: Evaluator, folder: Path | None) -> None:
        self.evaluator = evaluator
        self.folder = folder

    def run(self, name: str, runs: pd.DataFrame) -> pd.DataFrame:
        path = self.folder / f"{name}.parquet" if self.folder is not None else None
        if path is not None and path.exists():
            stored = pd.read_parquet(path)
            if stored[list(runs.columns)].reset_index(drop=True).equals(runs.reset_index(drop=True)):
                return stored
            raise ConfigError(
                f"batch {name} on disk was made from different inputs (the calibration changed since); use a new --out",
                source=str(path),
            )
        results = self.evaluator(name, runs)
        table = runs.merge(results, on="run_id", how="left", validate="one_to_one")
        if path is not None:
            write_parquet(table, path)
        return table


@dataclass
class _Space:
    """Free parameters in search coordinates (log10 for ``log: true``)."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray

    @classmethod
    def of(cls, spec: CalibrationSpec) -> _Space:
        params = list(spec.parameters.values())
        log = np.array([p.log for p in params])
        low = np.array([math.log10(p.low) if p.log else p.low for p in params])
        high = np.array([math.log10(p.high) if p.log else p.high for p in params])
        return cls(list(spec.parameters), low, high, log)

    def natural(self, z: np.ndarray) -> np.ndarray:
        """Search coordinates (points × parameters) → config values, clipped to the bounds."""
        z = np.clip(np.atleast_2d(z), self.low, self.high)
        return np.where(self.log, 10.0**z, z)

    def search(self, x: np.ndarray) -> np.ndarray:
        """Config values (points × parameters) → search coordinates."""
        x = np.atleast_2d(x)
        return np.where(self.log, np.log10(np.where(self.log, x, 1.0)), x)

    @property
    def box(self) -> Box:
        """The uniform prior over the search coordinates."""
        return Box(self.names, self.low, self.high)

    def simulator(self, objective: _Objective) -> Callable[[np.ndarray, str], np.ndarray]:
        """``objective.simulate`` over search coordinates (what the Bayesian algorithms work in)."""
        return lambda z, batch: objective.simulate(self.natural(z), batch)


@dataclass
class _Objective:
    """Loss of batches of parameter points, recording every evaluation."""

    calibration: Calibration
    store: BatchStore
    seeds: list[int]
    history: list[pd.DataFrame] = field(default_factory=list)
    runs: list[pd.DataFrame] = field(default_factory=list)

    def measured(self, points: np.ndarray, batch: str, seeds: list[int] | np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
        """Per point, the target metrics averaged over ``seeds`` (points × targets), and the run table.

        ``seeds`` is one list for every point (common random numbers) or a (points × replicates) array.
        """
        names, targets = self.calibration.names, self.calibration.spec.targets
        seeds = np.asarray(seeds, dtype=np.int64)
        n, r = len(points), seeds.shape[-1]
        runs = pd.DataFrame(
            {
                "run_id": [f"{batch}-{i:04d}-{k}" for i in range(n) for k in range(r)],
                "point_id": np.repeat(np.arange(n), r),
                "replicate": np.tile(np.arange(r), n),
                "seed": np.tile(seeds, n) if seeds.ndim == 1 else seeds.reshape(-1),
                **{name: np.repeat(points[:, j], r) for j, name in enumerate(names)},
            }
        )
        table = self.store.run(batch, runs).assign(batch=batch)
        ppy = self.calibration.base.periods_per_year
        per_run = np.array([[measure(row, t, ppy) for t in targets] for row in table.to_dict("records")]).reshape(
            n, r, len(targets)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN points: scored by target_loss
            return np.nanmean(per_run, axis=1), table

    def __call__(self, points: np.ndarray, batch: str) -> np.ndarray:
        """The loss of each point, its runs seeded alike (common random numbers)."""
        return self._recorded(points, batch, self.seeds)[1]

    def simulate(self, points: np.ndarray, batch: str) -> np.ndarray:
        """The target metrics of each point (points × targets), every run with its own seed.

        The seeds are spawned from the calibration's seed and the batch's name, so the same batch
        always gets the same seeds (a resumed calibration finds its runs).
        """
        spec = self.calibration.spec
        sequence = np.random.SeedSequence(spec.seed, spawn_key=(3, zlib.crc32(batch.encode())))
        seeds = sequence.generate_state(len(points) * spec.replicates).reshape(len(points), spec.replicates)
        return self._recorded(points, batch, seeds)[0]

    def _recorded(self, points: np.ndarray, batch: str, seeds: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        means, table = self.measured(points, batch, seeds)
        loss = target_loss(means, self.calibration.spec.targets)
        start = sum(len(h) for h in self.history)
        frame = pd.DataFrame(points, columns=self.calibration.names)
        for j, target in enumerate(self.calibration.spec.targets):
            frame[target.label] = means[:, j]
        frame.insert(0, "batch", batch)
        frame.insert(0, "evaluation", np.arange(start, start + len(points)))
        frame["failed_runs"] = table.groupby("point_id")["status"].apply(lambda s: int((s != "ok").sum())).to_numpy()
        frame["loss"] = loss
        self.history.append(frame)
        self.runs.append(table)
        return means, loss


# --- the methods ------------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """What a calibration found: best point, fit table, every evaluation and (ABC) the posterior sample."""

    calibration: Calibration
    best: dict[str, float]
    best_loss: float
    evaluations: pd.DataFrame
    runs: pd.DataFrame
    fit: pd.DataFrame
    check_loss: float
    posterior: pd.DataFrame | None
    intervals: pd.DataFrame | None
    details: dict[str, Any]
    checks: dict[str, Any] = field(default_factory=dict)
    """Bayesian methods: ``identifiability`` and ``misspecification`` (see :mod:`loyaltysim.analysis.inference.diagnostics`)."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Method tables: ``predictive``; abc-smc ``generations``; npe ``sbc_ranks``, ``sbc_uniformity``, ``coverage``;
    history-matching ``waves``, ``emulator_validation``, ``nroy``, ``nroy_bounds``."""
    amortised: AmortisedPosterior | None = None
    """npe: the trained posterior (written to ``npe/posterior.pkl``)."""

    def calibrated_config(self) -> Config:
        """The base scenario with the best parameters set."""
        return validate_config(apply_overrides(self.calibration.base.to_dict(), self.best), source="calibrated parameters")


def _seeds(spec: CalibrationSpec) -> tuple[list[int], list[int], np.random.Generator]:
    """Replicate seeds, fresh check seeds and the algorithm's generator, all spawned from ``spec.seed``."""
    runs, check, algorithm = np.random.SeedSequence(spec.seed).spawn(3)
    return (
        [int(s) for s in runs.generate_state(spec.replicates)],
        [int(s) for s in check.generate_state(spec.check_replicates)],
        np.random.default_rng(algorithm),
    )


def _differential_evolution(objective: _Objective, space: _Space, rng: np.random.Generator) -> dict[str, Any]:
    settings = objective.calibration.spec.differential_evolution
    generation = itertools.count()

    def batch_loss(z: np.ndarray) -> np.ndarray:  # z: parameters × population (vectorized=True)
        return objective(space.natural(z.T), f"de_{next(generation):04d}")

    result = optimize.differential_evolution(
        batch_loss,
        list(zip(space.low, space.high, strict=True)),
        maxiter=settings.generations,
        popsize=settings.popsize,
        mutation=settings.mutation,
        recombination=settings.recombination,
        tol=settings.tol,
        init=settings.init,
        rng=rng,
        polish=False,
        updating="deferred",
        vectorized=True,
    )
    return {"generations": int(result.nit), "converged": bool(result.success), "message": str(result.message)}


def _abc(objective: _Objective, space: _Space, rng: np.random.Generator) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    settings = objective.calibration.spec.abc
    d = len(space.names)
    sampler = qmc.Sobol(d, scramble=True, rng=rng) if settings.sampler == "sobol" else qmc.LatinHypercube(d, rng=rng)
    points = space.natural(qmc.scale(sampler.random(settings.samples), space.low, space.high))
    targets = objective.calibration.spec.targets
    losses = np.concatenate(
        [
            target_loss(objective.simulate(points[i : i + settings.batch_size], f"abc_{k:04d}"), targets)
            for k, i in enumerate(range(0, len(points), settings.batch_size))
        ]
    )
    epsilon = settings.epsilon if settings.epsilon is not None else float(np.quantile(losses, settings.accept))
    accepted = losses <= epsilon
    posterior = pd.DataFrame(points[accepted], columns=space.names).assign(loss=losses[accepted])
    tail = (1.0 - settings.level) / 2.0
    intervals = pd.DataFrame(
        [
            {
                "parameter": name,
                "median": float(np.median(posterior[name])) if accepted.any() else math.nan,
                "low": float(np.quantile(posterior[name], tail)) if accepted.any() else math.nan,
                "high": float(np.quantile(posterior[name], 1.0 - tail)) if accepted.any() else math.nan,
                "level": settings.level,
            }
            for name in space.names
        ]
    )
    details = {"samples": len(points), "accepted": int(accepted.sum()), "epsilon": epsilon}
    return details, posterior, intervals


def calibrate(
    calibration: Calibration,
    *,
    batches: Path | None = None,
    executor: ExecutorChoice = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    evaluator: Evaluator | None = None,
) -> CalibrationResult:
    """Fit the free parameters of ``calibration`` by its method.

    Parameters
    ----------
    calibration
        From :func:`load_calibration`.
    batches
        Folder for finished batches; existing ones are reused (resume). None keeps nothing on disk.
    executor, workers, scheduler
        Where the runs execute (see :func:`loyaltysim.sweep`); the results do not depend on it.
    evaluator
        Runs batches of runs instead (default: a :class:`SweepEvaluator` with the options above).
    """
    spec = calibration.spec
    seeds, check_seeds, rng = _seeds(spec)
    if evaluator is None:
        with SweepEvaluator(
            calibration.base,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            folder=batches,
            outcomes=calibration.spec.outcomes,
        ) as own:
            return calibrate(calibration, batches=batches, evaluator=own)
    store = BatchStore(evaluator, batches)
    objective = _Objective(calibration, store, seeds)
    space = _Space.of(spec)
    observed = _observed(spec.targets)
    posterior = intervals = found = None
    checks: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame] = {}
    if spec.method == "differential_evolution":
        details = _differential_evolution(objective, space, rng)
    elif spec.method == "abc":
        details, posterior, intervals = _abc(objective, space, rng)
        z = space.search(posterior[calibration.names].to_numpy())
        found = BayesianResult(z, np.full(len(z), 1.0 / len(z)), _summaries(objective.history, spec.targets), details)
    elif spec.method == "history-matching":
        matched = history_matching(
            space.simulator(objective), space.box, observed.values, observed.scales, observed.labels, spec.history_matching, rng
        )
        details = {"waves": len(matched.waves), "nroy_share": float(matched.waves["nroy_after"].iloc[-1])}
        tables = _nroy_tables(matched, space)
        first_wave = matched.summaries[: int(matched.waves["runs_points"].iloc[0])]  # drawn from the prior
        checks = {"misspecification": misspecification(first_wave, observed.values, observed.labels)}
    else:
        found = _posterior_method(calibration, objective, space, rng)
        details = found.details
        posterior, intervals = _posterior_tables(found, space, spec)
    evaluations = pd.concat(objective.history, ignore_index=True) if objective.history else _no_evaluations(calibration)
    if spec.method in ("abc-smc", "npe"):  # the posterior's (weighted) median: the evaluated points are not a fit
        median = [weighted_quantile(found.particles[:, j], found.weights, 0.5) for j in range(len(space.names))]
        best = space.natural(np.array(median))[0]
        in_calibration = np.full(len(spec.targets), math.nan)
    else:
        best_row = evaluations.loc[evaluations["loss"].idxmin()]  # DE keeps its best evaluation; ABC: best sample
        best = best_row[calibration.names].to_numpy(dtype=np.float64)
        in_calibration = best_row[[t.label for t in spec.targets]].to_numpy(dtype=np.float64)
    check, check_runs = objective.measured(best[None, :], "check", check_seeds)
    check_loss = float(target_loss(check, spec.targets)[0])
    fit = _fit_table(spec.targets, check_runs, calibration.base.periods_per_year, in_calibration)
    if found is not None:
        checks = check_posterior(found, space.box, observed)
        tables = {**found.tables, "predictive": _predictive(objective, space, found, observed, spec.predictive, rng)}
    runs = pd.concat([*objective.runs, check_runs], ignore_index=True)
    return CalibrationResult(
        calibration=calibration,
        best=dict(zip(calibration.names, best.tolist(), strict=True)),
        best_loss=float(evaluations["loss"].min()) if spec.method not in ("abc-smc", "npe") else check_loss,
        evaluations=evaluations,
        runs=runs,
        fit=fit,
        check_loss=check_loss,
        posterior=posterior,
        intervals=intervals,
        details={
            "method": spec.method,
            **details,
            "points": len(evaluations),
            "runs": len(runs),
            "replicates": spec.replicates,
            "check_replicates": spec.check_replicates,
        },
        checks=checks,
        tables=tables,
        amortised=found.posterior if found is not None else None,
    )


def _observed(targets: list[Target]) -> Observed:
    """The targets as the Bayesian methods see them (scale: the tolerance, 1 when not given)."""
    values, scales = np.array([t.value for t in targets]), np.array([t.tolerance or 1.0 for t in targets])
    return Observed([t.label for t in targets], values, scales, np.array([t.weight for t in targets]))


def _summaries(history: list[pd.DataFrame], targets: list[Target]) -> np.ndarray:
    """Every evaluated point's mean target metrics (points × targets)."""
    return pd.concat(history, ignore_index=True)[[t.label for t in targets]].to_numpy(dtype=np.float64)


def _no_evaluations(calibration: Calibration) -> pd.DataFrame:
    """The evaluations table of a calibration that ran no search (npe reusing a trained posterior)."""
    columns = ["evaluation", "batch", *calibration.names, *(t.label for t in calibration.spec.targets), "failed_runs", "loss"]
    return pd.DataFrame({c: pd.Series(dtype="object" if c == "batch" else "float64") for c in columns})


def _posterior_method(calibration: Calibration, objective: _Objective, space: _Space, rng: np.random.Generator) -> BayesianResult:
    spec = calibration.spec
    observed = _observed(spec.targets)
    if spec.method == "abc-smc":
        return run_abc_smc(space.simulator(objective), space.box, observed, spec.abc_smc, rng)
    reuse = _reused_posterior(calibration, source=calibration.source) if spec.npe.reuse else None
    found = run_npe(space.simulator(objective), space.box, observed, spec.npe, rng, seed=spec.seed, reuse=reuse)
    if reuse is None:
        found.posterior.stamp = _npe_stamp(calibration)
    return found


def _posterior_tables(found: BayesianResult, space: _Space, spec: CalibrationSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The posterior sample in config values (with weights) and its credible intervals."""
    level = spec.abc_smc.level if spec.method == "abc-smc" else spec.npe.level
    sample = pd.DataFrame(space.natural(found.particles), columns=space.names)
    return sample.assign(weight=found.weights), weighted_intervals(sample, found.weights, level)


def _predictive(
    objective: _Objective,
    space: _Space,
    found: BayesianResult,
    observed: Observed,
    settings: PredictiveSettings,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Posterior predictive runs: ``settings.draws`` posterior draws run with fresh seeds, checked against the targets."""
    if settings.draws == 0:
        return pd.DataFrame()
    chosen = rng.choice(len(found.particles), size=settings.draws, p=found.weights)
    summaries = objective.simulate(space.natural(found.particles[chosen]), "predictive")
    objective.history.pop()  # predictive runs are checks, not evaluations of the search
    return predictive_table(summaries, observed, settings.level)


def _nroy_tables(matched: HistoryMatchingResult, space: _Space) -> dict[str, pd.DataFrame]:
    nroy = (
        pd.DataFrame(space.natural(matched.nroy), columns=space.names) if len(matched.nroy) else pd.DataFrame(columns=space.names)
    )
    bounds = pd.DataFrame(
        {
            "parameter": space.names,
            "prior_low": space.natural(space.low)[0],
            "prior_high": space.natural(space.high)[0],
            "nroy_low": nroy.min().to_numpy(dtype=np.float64) if len(nroy) else math.nan,
            "nroy_high": nroy.max().to_numpy(dtype=np.float64) if len(nroy) else math.nan,
        }
    )
    return {"waves": matched.waves, "emulator_validation": matched.validation, "nroy": nroy, "nroy_bounds": bounds}


def _fit_table(
    targets: list[Target], check_runs: pd.DataFrame, periods_per_year: int, in_calibration: np.ndarray
) -> pd.DataFrame:
    rows = []
    records = check_runs.to_dict("records")
    for target, seen in zip(targets, in_calibration, strict=True):
        values = np.array([measure(row, target, periods_per_year) for row in records])
        ok = values[~np.isnan(values)]
        fitted = float(ok.mean()) if len(ok) else math.nan
        rows.append(
            {
                "metric": target.metric,
                "window": target.window,
                "per": target.per or "",
                "target": target.value,
                "tolerance": target.tolerance if target.tolerance is not None else math.nan,
                "weight": target.weight,
                "in_calibration": float(seen),
                "fitted": fitted,
                "fitted_sd": float(ok.std(ddof=1)) if len(ok) > 1 else math.nan,
                "deviation": fitted - target.value,
                "within_tolerance": bool(target.tolerance is not None and abs(fitted - target.value) <= target.tolerance),
            }
        )
    table = pd.DataFrame(rows)
    table["loss"] = loss_terms(table["fitted"].to_numpy()[None, :], targets)[0]
    return table
