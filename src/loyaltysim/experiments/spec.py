"""Experiment files: a design over config factors, replicated, each run with its own derived seed.

An experiment (``experiments/*.yaml``) names a base scenario, the factors to vary
(dotted config paths), a design (``grid``, ``lhs``, ``sobol``, ``morris``,
``fast``; sampled designs use SALib's samplers), the number of replicates and a
root seed. :func:`load_experiment` validates it (factor paths included, against
the base scenario); :func:`plan_runs` expands it into :class:`RunSpec` objects,
one per design point × replicate, which :mod:`loyaltysim.experiments.execution` runs.

Examples
--------
>>> exp = Experiment.model_validate(
...     {"name": "demo", "factors": {"loyalty.link": ["linear", "threshold"]}, "replicates": 2, "seed": 7}
... )
>>> [(r.run_id, r.point_id, r.replicate, r.factors["loyalty.link"]) for r in plan_runs(exp)]
[(0, 0, 0, 'linear'), (1, 0, 1, 'linear'), (2, 1, 0, 'threshold'), (3, 1, 1, 'threshold')]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loyaltysim.config.errors import ConfigError, from_validation_error, suggest
from loyaltysim.config.loading import apply_overrides, config_hash, load_config, read_yaml, validate_config
from loyaltysim.config.schema import Config

__all__ = [
    "DESIGNS",
    "Design",
    "Experiment",
    "Factor",
    "ReportSpec",
    "RunSpec",
    "TimeseriesSpec",
    "derive_seed",
    "experiment_hash",
    "load_experiment",
    "plan_runs",
    "run_config",
    "sample_design",
    "validate_experiment",
]

DESIGNS = ("grid", "lhs", "sobol", "morris", "fast")
SAMPLED = ("lhs", "sobol", "morris", "fast")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(_Section):
    """One varied config value: a list of ``values``, a range ``{low, high}``, or a distribution.

    In YAML a plain list means ``{values: [...]}``. In a sampled design (lhs,
    sobol, morris, fast) a list is sampled as a categorical factor (each value
    equally likely); a range is sampled uniformly, on a log scale with ``log:
    true``, and floored to whole numbers with ``integer: true`` (each integer of
    ``[low, high]`` equally likely). ``dist`` samples other distributions by their
    quantiles: ``triangular`` on ``[low, high]`` with its mode at ``peak``;
    ``normal`` and ``lognormal`` with ``mean`` and ``sd`` (of the values), cut to
    ``[low, high]`` where given. A grid needs lists.
    """

    values: list[Any] | None = Field(None, min_length=1, description="the values to try")
    low: float | None = Field(None, description="lower bound of a range (a normal or lognormal: optional cut)")
    high: float | None = Field(None, description="upper bound of a range (a normal or lognormal: optional cut)")
    dist: Literal["uniform", "triangular", "normal", "lognormal"] = Field(
        "uniform", description="distribution of sampled values (sampled designs)"
    )
    peak: float | None = Field(None, description="triangular: the most likely value, within [low, high]")
    mean: float | None = Field(None, description="normal, lognormal: mean of the values")
    sd: float | None = Field(None, gt=0, description="normal, lognormal: standard deviation of the values")
    log: bool = Field(False, description="sample uniformly on a log scale (low > 0)")
    integer: bool = Field(False, description="whole numbers only (low and high are included)")

    @model_validator(mode="before")
    @classmethod
    def _list_means_values(cls, data: object) -> object:
        if isinstance(data, list):
            return {"values": data}
        return data

    @model_validator(mode="after")
    def _check(self) -> Factor:
        is_range = self.low is not None or self.high is not None
        moments = self.dist in ("normal", "lognormal")
        given = [name for name in ("peak", "mean", "sd") if getattr(self, name) is not None]
        if self.values is not None:
            if is_range or given or self.dist != "uniform":
                raise ValueError("give either a list of values or a range/distribution, not both")
            if self.log or self.integer:
                raise ValueError("log and integer apply to ranges {low, high}, not to lists of values")
            return self
        for name in ("low", "high", "mean", "sd", "peak"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if self.dist != "uniform" and (self.log or self.integer):
            raise ValueError(f"log and integer apply to uniform ranges, not to dist {self.dist}")
        applies = {"peak": self.dist == "triangular", "mean": moments, "sd": moments}
        unexpected = [name for name in given if not applies[name]]
        if unexpected:
            raise ValueError(f"{', '.join(unexpected)} does not apply to dist {self.dist}")
        if moments:
            if self.mean is None or self.sd is None:
                raise ValueError(f"dist {self.dist} needs mean and sd")
            if self.dist == "lognormal" and self.mean <= 0:
                raise ValueError(f"dist lognormal needs mean > 0, got {self.mean}")
            if self.low is not None and self.high is not None and self.low >= self.high:
                raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high (or give a list of values)")
        if self.low >= self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.dist == "triangular" and (self.peak is None or not self.low <= self.peak <= self.high):
            raise ValueError(f"dist triangular needs peak within [low, high], got {self.peak}")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, got {self.low}")
        if self.integer and not (self.low.is_integer() and self.high.is_integer()):
            raise ValueError(f"integer: true needs whole-number bounds, got {self.low} and {self.high}")
        return self

    @property
    def is_range(self) -> bool:
        """True for a range or a distribution, False for a list of values."""
        return self.values is None

    def salib_bounds(self) -> list[float]:
        """Bounds of this factor in the space SALib samples (index space for lists, log10 for ``log``,
        quantiles [0, 1] for the other distributions)."""
        if not self.is_range:
            return [0.0, float(len(self.values))]
        if self.dist != "uniform":
            return [0.0, 1.0]
        low, high = self.low, self.high + (1.0 if self.integer else 0.0)
        return [math.log10(low), math.log10(high)] if self.log else [low, high]

    def from_unit(self, x: float) -> Any:
        """The config value for a sample ``x`` drawn within :meth:`salib_bounds`."""
        if not self.is_range:
            return self.values[min(math.floor(x), len(self.values) - 1)]
        if self.dist != "uniform":
            return self._quantile(x)
        value = 10.0**x if self.log else float(x)
        if self.integer:
            return int(min(math.floor(value), self.high))
        return float(min(max(value, self.low), self.high))

    def _quantile(self, q: float) -> float:
        """The value at quantile ``q`` of the distribution (cut to [low, high] where given)."""
        from scipy import stats

        if self.dist == "triangular":
            width = self.high - self.low
            law = stats.triang((self.peak - self.low) / width, loc=self.low, scale=width)
        elif self.dist == "normal":
            law = stats.norm(self.mean, self.sd)
        else:  # lognormal with this mean and sd, as customers' attribute distributions are
            sigma2 = math.log1p((self.sd / self.mean) ** 2)
            law = stats.lognorm(math.sqrt(sigma2), scale=math.exp(math.log(self.mean) - sigma2 / 2))
        below = law.cdf(self.low) if self.low is not None else 0.0
        above = law.cdf(self.high) if self.high is not None else 1.0
        p = below + q * (above - below)
        if self.low is None:  # an open tail: its extreme is the 1e-12 quantile, not infinity
            p = max(p, 1e-12)
        if self.high is None:
            p = min(p, 1.0 - 1e-12)
        value = float(law.ppf(p))
        return min(max(value, self.low if self.low is not None else -math.inf), self.high if self.high is not None else math.inf)

    def edge_values(self) -> list[Any]:
        """Values checked against the config schema at load time (every value, both bounds, or the
        distribution's extreme quantiles)."""
        if not self.is_range:
            return list(self.values)
        if self.dist != "uniform":
            return [self._quantile(0.0), self._quantile(1.0)]
        return [int(self.low), int(self.high)] if self.integer else [self.low, self.high]


class TimeseriesSpec(_Section):
    """Which market time series rows a sweep keeps: the final step only, or every ``every`` steps.

    In YAML ``timeseries: final_only`` or ``timeseries: {every: 12}``. With
    ``every``, steps that are multiples of ``every`` and the final step are kept.
    """

    every: int | None = Field(None, ge=1, description="keep every k-th step (and the last); None = final step only")
    metrics: list[str] | None = Field(None, min_length=1, description="market columns to keep (default: all)")

    @model_validator(mode="before")
    @classmethod
    def _final_only(cls, data: object) -> object:
        if data == "final_only":
            return {}
        if isinstance(data, str):
            raise ValueError(f"expected 'final_only' or a mapping such as {{every: 12}}, got {data!r}")
        return data

    def keeps(self, steps: np.ndarray, last: int) -> np.ndarray:
        """Boolean mask of the kept ``steps``."""
        keep = steps == last
        if self.every is not None:
            keep |= steps % self.every == 0
        return keep


class ReportSpec(_Section):
    """What the report's figures group by: the heatmap's two factors and the conditions of the curves."""

    heatmap: tuple[str, str] | None = Field(None, description="two factors (x, y) of the satisfied-defector heatmap")
    by: list[str] | None = Field(None, description="factors that define the conditions of the curve figures (default all)")


class Experiment(_Section):
    """A declarative experiment: base scenario, factors, design, replicates, seed, what to keep.

    Build it with :func:`load_experiment` (relative ``base`` paths resolved, factor
    paths checked against the scenario) or ``Experiment.model_validate(dict)``.
    """

    name: str = Field(pattern=r"^[\w.-]+$", description="short name; results go to results/<name>/")
    description: str = Field("", description="what the experiment asks")
    base: str | None = Field(None, description="base scenario file (relative to the experiment file); None = defaults")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted config paths set in every run")
    factors: dict[str, Factor] = Field(default_factory=dict, description="dotted config path → values or range")
    design: Literal["grid", "lhs", "sobol", "morris", "fast"] = Field("grid", description="how design points are chosen")
    samples: int | None = Field(None, ge=1, description="sample size N of lhs, sobol (power of 2), morris, fast")
    second_order: bool | None = Field(None, description="sobol: also sample for second-order indices (default true)")
    levels: int | None = Field(None, ge=2, description="morris: number of grid levels (default 4)")
    harmonics: int | None = Field(None, ge=1, description="fast: interference parameter M (default 4; samples > 4·M²)")
    replicates: int = Field(1, ge=1, description="runs per design point, each with its own derived seed")
    seed: int = Field(42, ge=0, description="root seed: run seeds and design samples derive from it")
    metrics: list[str] | None = Field(None, min_length=1, description="summary metrics kept in runs.parquet (default all)")
    timeseries: TimeseriesSpec = Field(default_factory=TimeseriesSpec, description="'final_only' or {every: k}")
    hypotheses: list[dict[str, Any]] = Field(
        default_factory=list, description="tests evaluated after the sweep: {test: name, label?, options...}"
    )
    report: ReportSpec = Field(default_factory=ReportSpec, description="figure options of the report")

    @field_validator("overrides", "factors")
    @classmethod
    def _no_seed(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "run.seed" in value:
            raise ValueError("run.seed cannot be set here: each run's seed derives from the experiment's 'seed'")
        return value

    @model_validator(mode="after")
    def _check_design(self) -> Experiment:
        if self.design == "grid":
            ranges = [path for path, f in self.factors.items() if f.is_range]
            if ranges:
                raise ValueError(f"design: grid needs lists of values, but factor '{ranges[0]}' is a range; use lhs or sobol")
            if self.samples is not None:
                raise ValueError("samples applies to sampled designs (lhs, sobol, morris, fast), not to grid")
        else:
            if not self.factors:
                raise ValueError(f"design: {self.design} needs at least one factor")
            if self.samples is None:
                raise ValueError(f"design: {self.design} needs 'samples' (the sample size N)")
        if self.design == "sobol" and self.samples & (self.samples - 1):
            near = 2 ** round(math.log2(self.samples))
            raise ValueError(f"samples: sobol needs a power of two (e.g. {near}), got {self.samples}")
        if self.design == "fast" and self.samples <= 4 * (self.harmonics or 4) ** 2:
            m = self.harmonics or 4
            raise ValueError(f"samples: fast needs samples > 4·M² = {4 * m * m} (M = harmonics = {m}), got {self.samples}")
        if self.design == "morris" and self.levels is not None and self.levels % 2:
            raise ValueError(f"levels: morris needs an even number of levels, got {self.levels}")
        for option, design in (("second_order", "sobol"), ("levels", "morris"), ("harmonics", "fast")):
            if getattr(self, option) is not None and self.design != design:
                raise ValueError(f"{option} applies to design {design}, not to {self.design}")
        self._check_analysis()
        return self

    def _check_analysis(self) -> None:
        """Report options name factors (the hypotheses are checked by their tests, in the analysis layer)."""
        factors = list(self.factors)
        for key, columns in (("heatmap", self.report.heatmap), ("by", self.report.by)):
            unknown = [c for c in columns or [] if c not in factors]
            if unknown:
                raise ValueError(f"report.{key}: {unknown[0]!r} is not a factor; factors: {', '.join(factors) or 'none'}")

    def base_config(self) -> Config:
        """The base scenario with ``overrides`` applied (before any factor)."""
        return load_config(self.base, self.overrides or None)


def experiment_hash(experiment: Experiment) -> str:
    """SHA-256 of what decides the results: the resolved base scenario and the design, seeds and kept metrics.

    ``name``, ``description`` and the base file's location are left out, so renaming or
    moving files does not stop a resume; changing any value that alters a run does.
    """
    values = experiment.model_dump(mode="json", exclude={"name", "description", "base", "overrides", "hypotheses", "report"})
    payload = {"experiment": values, "base": config_hash(experiment.base_config())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --- loading ------------------------------------------------------------------------------

_SPECIAL_PREFIXES = ("factors.", "overrides.")


def _apply_experiment_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``--set`` on an experiment: experiment keys, ``factors.<path>``, ``overrides.<path>``, else config paths."""
    data = dict(data)
    for path, value in overrides.items():
        prefix = next((p for p in _SPECIAL_PREFIXES if path.startswith(p)), None)
        if prefix is not None:
            key = prefix[:-1]
            data[key] = {**(data.get(key) or {}), path[len(prefix) :]: value}
        elif path.split(".")[0] in Experiment.model_fields:
            data = apply_overrides(data, {path: value})
        else:
            data["overrides"] = {**(data.get("overrides") or {}), path: value}
    return data


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read and validate an experiment file.

    Parameters
    ----------
    path
        The experiment YAML. ``base`` inside it is relative to this file.
    overrides
        ``--set`` values: an experiment key (``replicates``, ``samples``, ``seed``…),
        ``factors.<config path>`` or ``overrides.<config path>``; any other dotted
        path is a config value set in every run (``customers.n``).

    Raises
    ------
    ConfigError
        Naming the file and key path: unknown keys (with a close match), a factor
        path or value the scenario refuses, an empty range, an unknown design,
        ``samples`` missing or not a power of two for sobol, unknown metric names…
    """
    path = Path(path)
    data = read_yaml(path)
    data.setdefault("name", path.stem)
    source: str | Path = path
    if overrides:
        data = _apply_experiment_overrides(data, overrides)
        source = f"{path} with --set {', '.join(f'{k}={v}' for k, v in overrides.items())}"
    if isinstance(data.get("base"), str) and not Path(data["base"]).is_absolute():
        data["base"] = str((path.parent / data["base"]).resolve())
    return validate_experiment(data, source=source)


def validate_experiment(data: Mapping[str, Any], *, source: str | Path | None = None) -> Experiment:
    """Validate an experiment mapping: schema, then base scenario, factor paths and metric names."""
    try:
        experiment = Experiment.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc, Experiment, source=source) from None
    try:
        base = experiment.base_config().to_dict()
    except ConfigError as exc:
        raise ConfigError(f"base: {exc}", source=source) from None
    for factor_path, factor in experiment.factors.items():
        for value in factor.edge_values():
            try:
                validate_config(apply_overrides(base, {factor_path: value}))
            except ConfigError as exc:
                message = f"factors.{factor_path}: value {value!r} is refused by the scenario: {exc}"
                raise ConfigError(message, source=source) from None
    _check_metric_names(experiment, base, source)
    return experiment


def _check_metric_names(experiment: Experiment, base: dict[str, Any], source: str | Path | None) -> None:
    """Refuse unknown ``metrics`` / ``timeseries.metrics`` names (known from a one-period probe run)."""
    wanted = [("metrics", experiment.metrics), ("timeseries.metrics", experiment.timeseries.metrics)]
    if not any(names for _, names in wanted):
        return
    from loyaltysim.model.loyalty_model import LoyaltyModel

    probe = LoyaltyModel(validate_config(apply_overrides(base, {"run.steps": 1, "run.burn_in": 0, "run.panel_size": 0}))).run()
    known = {"metrics": list(probe.summary()), "timeseries.metrics": [c for c in probe.timeseries().columns if c != "step"]}
    for key, names in wanted:
        for name in names or []:
            if name not in known[key]:
                raise ConfigError(f"{key}: unknown metric '{name}'{suggest(name, known[key])}", source=source)


# --- design and runs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Design:
    """The design points of an experiment.

    Attributes
    ----------
    problem
        SALib problem (``num_vars``, ``names`` = factor paths, ``bounds`` in sampling space).
    samples
        Matrix from SALib's sampler, one row per design point, in sampling space
        (what ``SALib.analyze.*`` expects as ``X``); None for a grid.
    points
        One mapping factor path → config value per design point (index = ``point_id``).
    """

    problem: dict[str, Any]
    samples: np.ndarray | None
    points: list[dict[str, Any]]


def sample_design(experiment: Experiment) -> Design:
    """Design points: the full factorial for ``grid``, SALib's sampler (seeded by ``experiment.seed``) otherwise."""
    names = list(experiment.factors)
    factors = [experiment.factors[n] for n in names]
    problem = {"num_vars": len(names), "names": names, "bounds": [f.salib_bounds() for f in factors]}
    if experiment.design == "grid":
        combos = itertools.product(*(f.values for f in factors))
        return Design(problem, None, [dict(zip(names, combo, strict=True)) for combo in combos])
    n, seed = experiment.samples, experiment.seed
    if experiment.design == "lhs":
        from SALib.sample import latin

        samples = latin.sample(problem, n, seed=seed)
    elif experiment.design == "sobol":
        from SALib.sample import sobol

        second = True if experiment.second_order is None else experiment.second_order
        samples = sobol.sample(problem, n, calc_second_order=second, seed=seed)
    elif experiment.design == "morris":
        from SALib.sample import morris

        samples = morris.sample(problem, n, num_levels=experiment.levels or 4, seed=seed)
    else:
        from SALib.sample import fast_sampler

        samples = fast_sampler.sample(problem, n, M=experiment.harmonics or 4, seed=seed)
    points = [{name: f.from_unit(x) for name, f, x in zip(names, factors, row, strict=True)} for row in samples]
    return Design(problem, np.asarray(samples), points)


def derive_seed(root: int, point_id: int, replicate: int) -> int:
    """A run's seed from the root seed and the run's identity (63 bits, so it fits an int64 column).

    >>> derive_seed(42, 0, 0) == derive_seed(42, 0, 0) != derive_seed(42, 0, 1)
    True
    """
    state = np.random.SeedSequence(entropy=root, spawn_key=(point_id, replicate)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: design point × replicate, with its factor values and derived seed.

    ``run_id = point_id * replicates + replicate``. Rerun it alone with
    :func:`run_config` (or ``loyaltysim run`` with the factor values and ``--seed``).
    """

    run_id: int
    point_id: int
    replicate: int
    seed: int
    factors: dict[str, Any]


def plan_runs(experiment: Experiment, design: Design | None = None) -> list[RunSpec]:
    """Every run of the experiment, ordered by ``run_id``."""
    design = design or sample_design(experiment)
    r = experiment.replicates
    return [
        RunSpec(point_id * r + rep, point_id, rep, derive_seed(experiment.seed, point_id, rep), dict(point))
        for point_id, point in enumerate(design.points)
        for rep in range(r)
    ]


def run_config(base: Config | Mapping[str, Any], spec: RunSpec) -> Config:
    """The validated config of one run: ``base`` + the run's factor values + its seed."""
    data = base.to_dict() if isinstance(base, Config) else dict(base)
    return validate_config(apply_overrides(data, {**spec.factors, "run.seed": spec.seed}), source=f"run {spec.run_id}")
