"""Global sensitivity analysis of finished runs with SALib: indices, seed noise, convergence.

The pipeline is a chain of small functions over arrays and tidy tables; SALib does every
estimate, through the one table of SALib methods (:data:`loyaltysim.experiments.salib.METHODS`)
that also sampled the design:

1. :func:`load_study` — a study file is an experiment file (factors declared once, see
   :mod:`loyaltysim.experiments.factors`) with a Sobol', Morris or eFAST design and a
   ``sensitivity:`` section; checked before anything runs (:func:`check_samples`, the outputs).
2. :func:`~loyaltysim.analysis.outputs.output_values` — one value per run and output.
3. :func:`analyse` — replicates averaged per design point, then SALib's Sobol' (S1, ST,
   optional S2), Morris (mu*, mu, sigma) or eFAST (S1, ST) analysis, each with confidence
   intervals, for every output at once; plus :func:`~loyaltysim.analysis.outputs.variance_table`
   (how much variance is seed noise) and :func:`convergence_table` (indices re-estimated on nested
   subsets of the sample).

Examples
--------
>>> from loyaltysim.experiments.designs import sample_factors
>>> design = sample_factors({"x1": {"low": -3.14, "high": 3.14}, "x2": {"low": 0, "high": 1}}, "sobol", 16, seed=1)
>>> y = pd.DataFrame({"y": design.samples[:, 0] ** 2 + 0.1 * design.samples[:, 1]})
>>> indices = analyse(design, y, seed=2)
>>> sorted(set(indices["index"]))
['S1', 'S2', 'ST']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.analysis.outputs import (
    Output,
    check_outputs,
    default_outputs,
    output_values,
    parse_output,
    point_means,
    variance_table,
)
from loyaltysim.config.errors import ConfigError, suggest
from loyaltysim.experiments.designs import Design
from loyaltysim.experiments.factors import salib_problem
from loyaltysim.experiments.salib import METHODS as SALIB_METHODS
from loyaltysim.experiments.salib import SalibMethod, labels
from loyaltysim.experiments.spec import DESIGN_OPTIONS, Experiment, read_experiment, sample_design, validate_experiment

__all__ = [
    "METHODS",
    "SensitivityResult",
    "analyse",
    "analyse_runs",
    "analyse_study",
    "base_samples",
    "check_samples",
    "convergence_table",
    "load_study",
    "reliability_flags",
]

METHODS = tuple(name for name, method in SALIB_METHODS.items() if method.analyse is not None)
"""The SALib methods a sensitivity analysis can use: sobol, morris, fast."""
MIN_SOBOL_N = 8  # base samples: fewer leave the bootstrap CIs meaningless
MIN_MORRIS_TRAJECTORIES = 2  # sigma needs at least two elementary effects per factor


def _analysed(design: Design) -> SalibMethod:
    """The SALib method that sampled ``design`` (it must be one SALib can analyse)."""
    if design.method not in METHODS:
        raise ConfigError(f"design: SALib analyses designs {', '.join(METHODS)}, not {design.method!r}")
    return SALIB_METHODS[design.method]


def check_samples(problem: Mapping[str, Any], method: str, samples: int, *, source: str | None = None, **options: Any) -> None:
    """Refuse a method or sample size SALib cannot analyse meaningfully (before anything runs).

    Sobol': ``samples`` is the base N, a power of two ≥ 8. Morris: ``samples`` trajectories ≥ 2,
    an even number of ``levels``. eFAST: ``samples`` per factor > 4·M² (M = ``harmonics``), no groups.
    """
    if method not in METHODS:
        raise ConfigError(
            f"method: expected one of {', '.join(METHODS)}, got {method!r}{suggest(str(method), METHODS)}", source=source
        )
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise ConfigError(f"samples: expected a whole number, got {samples!r}", source=source)
    if method == "sobol" and samples < MIN_SOBOL_N:
        raise ConfigError(f"samples: sobol needs a base sample N ≥ {MIN_SOBOL_N}, got {samples}", source=source)
    if method == "morris" and samples < MIN_MORRIS_TRAJECTORIES:
        raise ConfigError(f"samples: morris needs ≥ {MIN_MORRIS_TRAJECTORIES} trajectories, got {samples}", source=source)
    salib = SALIB_METHODS[method]
    try:
        salib.check(samples, groups=bool(problem.get("groups")), **salib.with_defaults(options))
    except ValueError as exc:
        raise ConfigError(str(exc), source=source) from None


def load_study(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    method: str | None = None,
    samples: int | None = None,
) -> tuple[Experiment, list[Output]]:
    """Read and check a study file: the experiment (its ``sensitivity:`` section included) and the outputs.

    ``method`` and ``samples`` replace the file's ``design`` and ``samples`` (the file's options of
    another method are dropped). Everything is checked before anything runs: the experiment
    (factor paths, ranges, sample size), the method, and the output names and windows against a
    one-period probe run.

    Raises
    ------
    ConfigError
        Naming the file and key path.
    """
    data, source = read_experiment(path, overrides)
    if method is not None:
        data["design"] = method
        for option, owner in DESIGN_OPTIONS.items():
            if method != owner:
                data.pop(option, None)
    if samples is not None:
        data["samples"] = samples
    design = data.get("design", "grid")
    if design not in METHODS:
        raise ConfigError(f"design: a sensitivity analysis needs sobol, morris or fast, got {design!r}", source=source)
    experiment = validate_experiment(data, source=source)
    problem = salib_problem(experiment.factors)
    check_samples(problem, design, experiment.samples, source=source, **experiment.design_options())
    wanted = experiment.sensitivity.outputs
    outputs = [parse_output(o, source=source) for o in wanted] if wanted else None
    return experiment, check_outputs(experiment, outputs, source=source)


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


def _morris_sigma_conf(design: Design, y: np.ndarray, *, num_resamples: int, conf_level: float, seed: int) -> np.ndarray:
    """Half-width of a percentile bootstrap CI of sigma: SALib's Morris estimate on trajectories resampled with replacement.

    SALib gives a CI for mu* only; resampling whole trajectories keeps each elementary effect intact
    (at most 100 resamples: each is a full SALib analysis).
    """
    morris, X = SALIB_METHODS["morris"], design.samples
    width = morris.width(len(labels(design.problem)), **design.options)
    trajectories = len(y) // width
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    draws = []
    for _ in range(min(num_resamples, 100)):
        pick = rng.integers(0, trajectories, trajectories)
        rows = (pick[:, None] * width + np.arange(width)).ravel()
        found = morris.analyse(design.problem, X[rows], y[rows], seed=seed, num_resamples=2, conf_level=0.95, **design.options)
        draws.append(next(values for index, _, values, _ in found if index == "sigma"))
    low, high = np.quantile(np.asarray(draws, dtype=float), [(1 - conf_level) / 2, (1 + conf_level) / 2], axis=0)
    return (high - low) / 2


def analyse(
    design: Design,
    means: pd.DataFrame,
    *,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    seed: int = 0,
    sigma_conf: bool = True,
) -> pd.DataFrame:
    """Indices of every output column of ``means`` (one row per design point, in the order of ``design.samples``).

    ``design`` is a Sobol', Morris or eFAST design (:func:`~loyaltysim.experiments.designs.sample_factors`):
    it carries the problem, the matrix and the options it was sampled with, which its analysis needs.
    Returns a tidy table: method, output, factor, index, value, conf (half-width of the
    ``conf_level`` interval). Sobol': S1, ST (and S2 with ``second_order``); Morris: mu_star, mu, sigma;
    eFAST: S1, ST. An output that is undefined (NaN) at some design point (e.g. the satisfied-defector
    share when nobody defected) or constant is left out: SALib cannot analyse it.
    ``sigma_conf=False`` skips the (slower) bootstrap interval of Morris' sigma.
    """
    salib = _analysed(design)
    X = np.asarray(design.samples, dtype=float)
    if len(means) != len(X):
        raise ValueError(f"{len(means)} output rows for {len(X)} design points")
    rows: list[dict] = []
    bootstrap = {"seed": _bootstrap_seed(seed), "num_resamples": num_resamples, "conf_level": conf_level}
    for label in means.columns:
        y = means[label].to_numpy(dtype=float)
        if not np.isfinite(y).all() or np.ptp(y) == 0:
            continue
        found = salib.analyse(design.problem, X, y, **bootstrap, **design.options)
        for index, names, values, conf in found:
            if index == "sigma" and sigma_conf:
                conf = _morris_sigma_conf(design, y, **bootstrap)
            rows += _rows(design.method, label, names, index, values, conf)
    return pd.DataFrame(rows, columns=["method", "output", "factor", "index", "value", "conf"])


def _nested_sizes(total: int, minimum: int, *, powers_of_two: bool, steps: int = 5) -> list[int]:
    """Nested sample sizes total/2^j ≥ minimum, smallest first (Sobol' base samples or Morris trajectories)."""
    sizes = [total >> j for j in range(steps) if total >> j >= minimum]
    if powers_of_two:
        sizes = [n for n in sizes if n & (n - 1) == 0]
    return sorted(set(sizes))


def convergence_table(
    design: Design, means: pd.DataFrame, *, num_resamples: int = 100, conf_level: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Indices re-estimated on nested leading subsets of the sample (Sobol': N/16 … N; Morris: r/16 … r).

    The first n base points of a scrambled Sobol' sequence (n a power of two) and the first
    trajectories of a Morris design are valid designs of their own. eFAST designs do not nest:
    an empty table is returned. Columns: those of :func:`analyse` plus ``samples`` (base N or
    trajectories) and ``runs`` (design points used).
    """
    columns = ["samples", "runs", "method", "output", "factor", "index", "value", "conf"]
    salib = _analysed(design)
    if salib.width is None:
        return pd.DataFrame(columns=columns)
    width = salib.width(len(labels(design.problem)), **design.options)
    total = len(design.samples) // width
    minimum = MIN_SOBOL_N if design.method == "sobol" else MIN_MORRIS_TRAJECTORIES
    frames = []
    for n in _nested_sizes(total, minimum, powers_of_two=design.method == "sobol"):
        rows = n * width
        part = analyse(
            replace(design, samples=design.samples[:rows], points=design.points[:rows]),
            means.iloc[:rows],
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
            sigma_conf=False,
        )
        frames.append(part.assign(samples=n, runs=rows))
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


WIDE = 0.1
"""An index whose interval's half-width exceeds this is flagged as too wide to rank factors by."""
TARGET = 0.05
"""The half-width the "samples needed" estimate aims at."""


def reliability_flags(indices: pd.DataFrame, samples: int | None, *, wide: float = WIDE, target: float = TARGET) -> pd.DataFrame:
    """When not to trust Sobol' or eFAST indices: one row per (output, factor) with a problem.

    Flagged: S1 above ST (impossible in theory: the estimates are too noisy to separate first-order from
    total effects), an index negative beyond its interval (value + half-width < 0: an estimation artefact
    that the interval does not explain), and an interval whose half-width exceeds ``wide``. Half-widths
    shrink as 1/√N, so ``samples_needed`` estimates the base sample size N at which the widest interval
    would reach ``target``: N · (half-width / target)², rounded up to a power of two (Sobol').

    Returns
    -------
    DataFrame
        ``output``, ``factor``, ``problem`` (text), ``samples_needed`` (NaN when width is not the problem).
    """
    columns = ["output", "factor", "problem", "samples_needed"]
    sobol = indices[indices["index"].isin(["S1", "ST"])]
    if sobol.empty:
        return pd.DataFrame(columns=columns)
    wide_table = sobol.pivot_table(index=["output", "factor"], columns="index", values=["value", "conf"], aggfunc="first")
    rows = []
    for (output, factor), row in wide_table.iterrows():
        problems, needed = [], math.nan
        s1, st = row.get(("value", "S1"), math.nan), row.get(("value", "ST"), math.nan)
        if np.isfinite(s1) and np.isfinite(st) and s1 > st:
            problems.append(f"S1 {s1:.3f} > ST {st:.3f}")
        for index in ("S1", "ST"):
            value, conf = row.get(("value", index), math.nan), row.get(("conf", index), math.nan)
            if np.isfinite(value) and np.isfinite(conf) and value + conf < 0:
                problems.append(f"{index} {value:.3f} negative beyond its interval (±{conf:.3f})")
        confs = [row.get(("conf", i), math.nan) for i in ("S1", "ST")]
        widest = max((c for c in confs if np.isfinite(c)), default=math.nan)
        if np.isfinite(widest) and widest > wide:
            problems.append(f"interval ±{widest:.3f} wider than ±{wide:g}")
            if samples:
                needed = float(2 ** math.ceil(math.log2(samples * (widest / target) ** 2)))
        if problems:
            rows.append({"output": output, "factor": factor, "problem": "; ".join(problems), "samples_needed": needed})
    return pd.DataFrame(rows, columns=columns)


def base_samples(design: Design) -> int | None:
    """The base sample size N of a Sobol' or eFAST design (design points per N), None for others."""
    d = int(design.problem.get("num_vars", 0) or len(design.problem.get("names", [])))
    groups = design.problem.get("groups")
    if groups:
        d = len(set(groups))
    points = len(design.samples)
    if design.method == "sobol":
        per = 2 * d + 2 if design.options.get("second_order", True) else d + 2
        return max(points // per, 1)
    if design.method == "fast":
        return max(points // max(d, 1), 1)
    return None


@dataclass
class SensitivityResult:
    """Everything an analysis produced: indices, seed-noise table, convergence, and the setting."""

    method: str
    indices: pd.DataFrame
    variance: pd.DataFrame
    convergence: pd.DataFrame
    problem: dict[str, Any] = field(default_factory=dict)
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["output", "factor", "problem", "samples_needed"]))
    """When not to trust the indices (:func:`reliability_flags`)."""

    def ranking(self, output: str) -> pd.DataFrame:
        """Factors of ``output`` from most to least influential (by ST, or mu* for Morris)."""
        key = "mu_star" if self.method == "morris" else "ST"
        table = self.indices[(self.indices["output"] == output) & (self.indices["index"] == key)]
        return table.sort_values("value", ascending=False).reset_index(drop=True)


def analyse_runs(
    design: Design,
    runs: pd.DataFrame,
    *,
    outputs: Sequence[str | Mapping[str, Any] | Output] | None = None,
    timeseries: pd.DataFrame | None = None,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    seed: int = 0,
    convergence: bool = True,
) -> SensitivityResult:
    """The whole analysis of a finished set of runs (one per design point × replicate).

    ``runs`` has point_id (row of ``design.samples``), replicate, optional status and the metric
    columns (runs.parquet of a sweep); ``outputs`` default to
    :func:`~loyaltysim.analysis.outputs.default_outputs`.
    """
    chosen = [parse_output(o) for o in outputs] if outputs else default_outputs(runs.columns)
    columns = [o.label for o in chosen]
    values = output_values(runs, chosen, timeseries)
    means = point_means(values, columns, len(design.samples))
    options = {"conf_level": conf_level, "seed": seed}
    indices = analyse(design, means, num_resamples=num_resamples, **options)
    trend = convergence_table(design, means, num_resamples=min(num_resamples, 100), **options) if convergence else None
    return SensitivityResult(
        method=design.method,
        indices=indices,
        variance=variance_table(values, columns),
        convergence=trend if trend is not None else pd.DataFrame(),
        problem=dict(design.problem),
        flags=reliability_flags(indices, base_samples(design)),
    )


def analyse_study(
    experiment: Experiment, runs: pd.DataFrame, timeseries: pd.DataFrame | None, outputs: Sequence[Output] | None = None
) -> SensitivityResult:
    """The analysis of a study's finished sweep: its design (sampled again from the experiment, as the sweep
    did) and its ``sensitivity:`` settings."""
    settings = experiment.sensitivity
    return analyse_runs(
        sample_design(experiment),
        runs,
        outputs=outputs,
        timeseries=timeseries,
        num_resamples=settings.num_resamples,
        conf_level=settings.conf_level,
        seed=experiment.seed,
        convergence=settings.convergence,
    )
