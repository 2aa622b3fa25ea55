"""Experiment files: a design over config factors, replicated, each run with its own derived seed.

An experiment (``experiments/*.yaml``) names a base scenario, the factors to vary
(dotted config paths, declared as :class:`~loyaltysim.experiments.factors.Factor`), a design
(``grid``, SALib's ``lhs``, ``sobol``, ``morris``, ``fast``, or a user's sampler, see
:mod:`loyaltysim.experiments.designs`), the number of replicates and a root seed, plus what the
analysis after the sweep needs (hypotheses, report options, a ``sensitivity:`` section).
:func:`load_experiment` validates it (factor paths included, against the base scenario);
:func:`plan_runs` expands it into :class:`RunSpec` objects, one per design point × replicate,
which :mod:`loyaltysim.experiments.execution` runs.

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
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loyaltysim.config.errors import ConfigError, from_validation_error, suggest
from loyaltysim.config.loading import apply_overrides, config_hash, deep_merge, load_config, read_yaml, validate_config
from loyaltysim.config.schema import NETWORK_TYPES, Config
from loyaltysim.experiments.designs import BUILT_IN, DESIGNS, Design, check_design, sample_factors
from loyaltysim.experiments.factors import Factor
from loyaltysim.experiments.linking import assignments, expression_names, overlapping
from loyaltysim.experiments.reporters import Outcome

__all__ = [
    "SEED_DERIVATION",
    "Experiment",
    "ReportSpec",
    "RunSpec",
    "SensitivitySpec",
    "TimeseriesSpec",
    "derive_seed",
    "experiment_hash",
    "load_experiment",
    "outcome_columns",
    "plan_runs",
    "probe_metrics",
    "read_experiment",
    "run_config",
    "sample_design",
    "validate_experiment",
]

DESIGN_OPTIONS = {"second_order": "sobol", "levels": "morris", "harmonics": "fast"}
"""Each design option and the design it belongs to."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    figure_formats: list[Literal["png", "svg", "pdf"]] = Field(
        ["png"], min_length=1, description="formats of the figures: png (always written), svg, pdf"
    )


class SensitivitySpec(_Section):
    """The ``sensitivity:`` section: what ``loyaltysim sensitivity`` analyses after the sweep, and how."""

    outputs: list[str | dict[str, Any]] | None = Field(
        None, min_length=1, description="metrics to analyse: 'nps', 'nps@final', 'nps@last12' or {metric, window}"
    )
    num_resamples: int = Field(200, ge=10, description="bootstrap resamples for the confidence intervals")
    conf_level: float = Field(0.95, gt=0, lt=1, description="confidence level of the intervals")
    convergence: bool = Field(True, description="re-analyse nested subsets of the sample (convergence figure)")


class Experiment(_Section):
    """A declarative experiment: base scenario, factors, design, replicates, seed, what to keep.

    Build it with :func:`load_experiment` (relative ``base`` paths resolved, factor
    paths checked against the scenario) or ``Experiment.model_validate(dict)``.
    """

    name: str = Field(pattern=r"^[\w.-]+$", description="short name; results go to results/<name>/")
    description: str = Field("", description="what the experiment asks")
    base: str | None = Field(None, description="base scenario file (relative to the experiment file); None = defaults")
    scenario: dict[str, Any] | None = Field(
        None, description="the base scenario itself, in place of a base file (experiment.resolved.yaml inlines it so)"
    )
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted config paths set in every run")
    factors: dict[str, Factor] = Field(default_factory=dict, description="dotted config path → values, range or distribution")
    derived: dict[str, str] = Field(
        default_factory=dict, description="dotted config path → expression of factors, e.g. 'rival_quality + 0.05'"
    )
    design: str = Field(
        "grid", description="how design points are chosen: grid, lhs, sobol, morris, fast, a registered design or module:function"
    )
    samples: int | None = Field(None, ge=1, description="sample size N of a sampled design (sobol: a power of 2)")
    second_order: bool | None = Field(None, description="sobol: also sample for second-order indices (default true)")
    levels: int | None = Field(None, ge=2, description="morris: number of grid levels (default 4)")
    harmonics: int | None = Field(None, ge=1, description="fast: interference parameter M (default 4; samples > 4·M²)")
    replicates: int = Field(1, ge=1, description="runs per design point, each with its own derived seed")
    seed: int = Field(42, ge=0, description="root seed: run seeds and design samples derive from it")
    seeds: Literal["independent", "common"] = Field(
        "independent",
        description="independent: every run its own seed; common: replicate r uses the same seed at every design point "
        "(common random numbers, for paired comparisons)",
    )
    multiplicity: Literal["holm", "bh", "none"] = Field(
        "holm",
        description="adjustment of the hypotheses' p-values over the experiment: holm (family-wise error), "
        "bh (Benjamini–Hochberg false discovery rate) or none; verdicts use the adjusted p-values",
    )
    metrics: list[str] | None = Field(None, min_length=1, description="summary metrics kept in runs.parquet (default all)")
    outcomes: dict[Annotated[str, Field(pattern=r"^[A-Za-z_]\w*$")], Outcome] = Field(
        default_factory=dict, description="your own outcomes: name → module:function or {function, per: run | period, label}"
    )
    labels: dict[str, str] = Field(default_factory=dict, description="names of metrics in figures and reports, e.g. {nps: NPS}")
    timeseries: TimeseriesSpec = Field(default_factory=TimeseriesSpec, description="'final_only' or {every: k}")
    hypotheses: list[dict[str, Any]] = Field(
        default_factory=list, description="tests evaluated after the sweep: {test: name, label?, options...}"
    )
    report: ReportSpec = Field(default_factory=ReportSpec, description="figure options of the report")
    sensitivity: SensitivitySpec = Field(default_factory=SensitivitySpec, description="options of a sensitivity analysis")

    @field_validator("overrides", "factors", "derived")
    @classmethod
    def _no_seed(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "run.seed" in value:
            raise ValueError("run.seed cannot be set here: each run's seed derives from the experiment's 'seed'")
        return value

    @model_validator(mode="after")
    def _one_base(self) -> Experiment:
        if self.base is not None and self.scenario is not None:
            raise ValueError("give either base (a scenario file) or scenario (the scenario itself), not both")
        return self

    @model_validator(mode="after")
    def _check_paths(self) -> Experiment:
        """Refuse config paths set twice (one inside another would silently win) and unknown names in ``derived``."""
        owned = [(path, f"factors.{name}") for name, factor in self.factors.items() for path in factor.config_paths(name)]
        if any(path == "run.seed" for path, _ in owned):
            raise ValueError("run.seed cannot be set here: each run's seed derives from the experiment's 'seed'")
        pair = overlapping([*owned, *((path, f"derived.{path}") for path in self.derived)])
        if pair is not None:
            (outer, first), (inner, second) = pair
            where = inner if inner == outer else f"{inner} ({outer} contains it)"
            raise ValueError(f"{first} and {second} both set {where}; vary one of them, or give the whole value once")
        for path, expression in self.derived.items():
            for name in expression_names(expression, self.factors):
                if name not in self.factors:
                    raise ValueError(
                        f"derived.{path}: {name!r} is not a factor{suggest(name, list(self.factors))}; "
                        f"factors: {', '.join(self.factors) or 'none'}"
                    )
        return self

    def factor_paths(self) -> dict[str, list[str]]:
        """Each factor's config paths (its name, or its ``paths``)."""
        return {name: factor.config_paths(name) for name, factor in self.factors.items()}

    @field_validator("design")
    @classmethod
    def _known_design(cls, value: str) -> str:
        if value not in BUILT_IN:
            DESIGNS.get(value)  # a registered name or an importable module:function
        return value

    @model_validator(mode="after")
    def _check_design(self) -> Experiment:
        check_design(self.design, self.factors, self.samples, self.design_options())
        for option, design in DESIGN_OPTIONS.items():
            if getattr(self, option) is not None and self.design != design:
                raise ValueError(f"{option} applies to design {design}, not to {self.design}")
        self._check_analysis()
        return self

    def design_options(self) -> dict[str, Any]:
        """The design options as given (None where the design's default applies)."""
        return {option: getattr(self, option) for option in DESIGN_OPTIONS}

    def _check_analysis(self) -> None:
        """Report options name factors (the hypotheses are checked by their tests, in the analysis layer)."""
        factors = list(self.factors)
        for key, columns in (("heatmap", self.report.heatmap), ("by", self.report.by)):
            unknown = [c for c in columns or [] if c not in factors]
            if unknown:
                raise ValueError(f"report.{key}: {unknown[0]!r} is not a factor; factors: {', '.join(factors) or 'none'}")

    def base_config(self) -> Config:
        """The base scenario with ``overrides`` applied (before any factor)."""
        if self.scenario is not None:  # inlined, as in experiment.resolved.yaml
            data = apply_overrides(deep_merge(Config().to_dict(), self.scenario), self.overrides)
            return validate_config(data, source="scenario")
        return load_config(self.base, self.overrides or None)


def experiment_hash(experiment: Experiment) -> str:
    """SHA-256 of what decides the results: the resolved base scenario and the design, seeds and kept metrics.

    ``name``, ``description`` and the base file's location are left out, so renaming or
    moving files does not stop a resume; changing any value that alters a run does.
    """
    analysis = {"hypotheses", "report", "sensitivity", "multiplicity", "labels"}
    values = experiment.model_dump(mode="json", exclude={"name", "description", "base", "scenario", "overrides", *analysis})
    if values["seeds"] == "independent":  # the default derivation hashes as before the option existed: old sweeps resume
        del values["seeds"]
    for factor in values["factors"].values():  # unset options hash as before they existed: old sweeps resume
        for option in ("group", "paths"):
            if factor[option] is None:
                del factor[option]
        for option in ("label", "levels"):  # names shown in figures do not change a run
            del factor[option]
    for option in ("derived", "outcomes"):  # unused options hash as before they existed
        if not values[option]:
            del values[option]
    for outcome in values.get("outcomes", {}).values():
        del outcome["label"]
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


def read_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """An experiment file's mapping with ``--set`` values applied and ``base`` resolved, and its source for messages.

    Nothing is validated yet (:func:`validate_experiment` does that); ``name`` defaults to the file name.
    """
    path = Path(path)
    data = read_yaml(path)
    data.setdefault("name", path.stem)
    source = str(path)
    if overrides:
        data = _apply_experiment_overrides(data, overrides)
        source = f"{path} with --set {', '.join(f'{k}={v}' for k, v in overrides.items())}"
    if isinstance(data.get("base"), str) and not Path(data["base"]).is_absolute():
        data["base"] = str((path.parent / data["base"]).resolve())
    return data, source


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read and validate an experiment file.

    Parameters
    ----------
    path
        The experiment YAML. ``base`` inside it is relative to this file.
    overrides
        ``--set`` values: an experiment key (``replicates``, ``samples``, ``seed``,
        ``sensitivity.num_resamples``…), ``factors.<config path>`` or ``overrides.<config path>``;
        any other dotted path is a config value set in every run (``customers.n``).

    Raises
    ------
    ConfigError
        Naming the file and key path: unknown keys (with a close match), a factor
        path or value the scenario refuses, an empty range, an unknown design,
        ``samples`` missing or not a power of two for sobol, unknown metric names…
    """
    data, source = read_experiment(path, overrides)
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
                validate_config(apply_overrides(base, dict.fromkeys(factor.config_paths(factor_path), value)))
            except ConfigError as exc:
                message = f"factors.{factor_path}: value {value!r} is refused by the scenario: {exc}"
                raise ConfigError(message, source=source) from None
    _check_network_types(experiment, base, source)
    outcome_columns(base, experiment.outcomes, source=source)
    _check_metric_names(experiment, base, source)
    return experiment


def outcome_columns(base: Mapping[str, Any], outcomes: Mapping[str, Outcome], *, source: str | Path | None = None) -> list[str]:
    """The runs-table columns of ``outcomes``, from calling each on a one-period probe run of ``base``.

    Raises
    ------
    ConfigError
        An outcome that fails or returns no numbers (refused before any run).
    """
    if not outcomes:
        return []
    try:
        metrics = probe_metrics(base, outcomes)[0]
    except Exception as exc:
        message = f"outcomes: calling them on a one-period run failed: {type(exc).__name__}: {exc}"
        raise ConfigError(message, source=source) from None
    return [c for c in metrics if any(c == name or c.startswith(f"{name}_") for name in outcomes)]


def _check_network_types(experiment: Experiment, base: dict[str, Any], source: str | Path | None) -> None:
    """Refuse a network type that is neither built in, registered nor importable (the workers would all fail)."""
    from loyaltysim.model.network import network_builder

    factor = experiment.factors.get("network.type")
    kinds = {base["network"]["type"], *(factor.values if factor is not None and factor.values else [])}
    for kind in sorted(kinds - set(NETWORK_TYPES)):
        try:
            network_builder(kind)
        except ConfigError as exc:
            raise ConfigError(exc.message, source=source) from None


def _check_metric_names(experiment: Experiment, base: dict[str, Any], source: str | Path | None) -> None:
    """Refuse unknown ``metrics`` / ``timeseries.metrics`` names (known from a one-period probe run)."""
    wanted = [("metrics", experiment.metrics), ("timeseries.metrics", experiment.timeseries.metrics)]
    if not any(names for _, names in wanted):
        return
    summary, series = probe_metrics(base, experiment.outcomes)
    known = {"metrics": summary, "timeseries.metrics": series}
    for key, names in wanted:
        for name in names or []:
            if name not in known[key]:
                raise ConfigError(f"{key}: unknown metric '{name}'{suggest(name, known[key])}", source=source)


def probe_metrics(base: Mapping[str, Any], outcomes: Mapping[str, Outcome] | None = None) -> tuple[list[str], list[str]]:
    """The metric names a run of the scenario ``base`` produces: (runs-table metrics, time-series columns),
    the columns of ``outcomes`` included.

    Read from a one-period run without a panel (a fraction of a second).
    """
    from loyaltysim.experiments.reporters import reporters
    from loyaltysim.experiments.run_tables import period_metrics, run_metrics
    from loyaltysim.model.loyalty_model import LoyaltyModel

    config = validate_config(apply_overrides(dict(base), {"run.steps": 1, "run.burn_in": 0, "run.panel_size": 0}))
    probe = LoyaltyModel(config, reporters=reporters(outcomes or {})).run()
    return list(run_metrics(probe, outcomes or {})), [c for c in period_metrics(probe, outcomes or {}).columns if c != "step"]


# --- design and runs ----------------------------------------------------------------------


def sample_design(experiment: Experiment) -> Design:
    """Design points: the full factorial for ``grid``, the design's sampler (seeded by ``experiment.seed``) otherwise."""
    return sample_factors(
        experiment.factors, experiment.design, experiment.samples, seed=experiment.seed, **experiment.design_options()
    )


SEED_DERIVATION = {
    "independent": "run seed = SeedSequence(entropy=seed, spawn_key=(point_id, replicate))",
    "common": "common random numbers: run seed = SeedSequence(entropy=seed, spawn_key=(0, replicate)) at every point",
}
"""How run seeds derive from the root seed, for each ``seeds`` choice (recorded in the manifest)."""


def derive_seed(root: int, point_id: int, replicate: int) -> int:
    """A run's seed from the root seed and the run's identity (63 bits, so it fits an int64 column).

    With ``seeds: common`` every design point uses point 0's seeds: ``derive_seed(root, 0, replicate)``.

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
    settings: dict[str, Any] | None = None
    """The config values the run sets (factor paths, linked and derived ones); None: the factors by their names."""


def plan_runs(experiment: Experiment, design: Design | None = None) -> list[RunSpec]:
    """Every run of the experiment, ordered by ``run_id``.

    Seeds: ``derive_seed(seed, point_id, replicate)``, or with ``seeds: common`` (common random numbers)
    ``derive_seed(seed, 0, replicate)`` at every point, so replicate r of two points differ only by the factors.
    """
    design = design or sample_design(experiment)
    r = experiment.replicates
    common = experiment.seeds == "common"
    paths = experiment.factor_paths()
    specs = []
    for point_id, point in enumerate(design.points):
        try:
            settings = assignments(point, paths, experiment.derived)
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise ConfigError(f"derived: design point {point_id} ({point}): {exc}") from None
        for rep in range(r):
            seed = derive_seed(experiment.seed, 0 if common else point_id, rep)
            specs.append(RunSpec(point_id * r + rep, point_id, rep, seed, dict(point), settings))
    return specs


def run_config(base: Config | Mapping[str, Any], spec: RunSpec) -> Config:
    """The validated config of one run: ``base`` + the run's factor values + its seed."""
    data = base.to_dict() if isinstance(base, Config) else dict(base)
    settings = spec.factors if spec.settings is None else spec.settings
    return validate_config(apply_overrides(data, {**settings, "run.seed": spec.seed}), source=f"run {spec.run_id}")
