"""Designs: how the design points of a set of factors are chosen: a grid, a SALib sampler, or yours.

``grid`` is the full factorial of the factors' lists; ``lhs``, ``sobol``, ``morris`` and ``fast``
are SALib's samplers (:data:`loyaltysim.experiments.salib.METHODS`). Any other sampler is a function
with SALib's signature, ``sampler(problem, samples, *, seed) -> matrix``: one row per design point,
column ``j`` within ``problem["bounds"][j]`` (factor ``j``'s sampling space, see
:meth:`~loyaltysim.experiments.factors.Factor.salib_bounds`). Give it a name with
:func:`register_design`, or name it in an experiment file as ``design: mypkg.designs:halton``.

Examples
--------
>>> from scipy.stats import qmc
>>> def halton(problem, samples, *, seed):
...     low, high = zip(*problem["bounds"])
...     return qmc.scale(qmc.Halton(d=problem["num_vars"], seed=seed).random(samples), low, high)
>>> register_design("halton", halton)
>>> design = sample_factors({"a": {"low": 0, "high": 10}, "b": ["x", "y"]}, "halton", 4, seed=1)
>>> len(design.points), sorted(design.points[0])
(4, ['a', 'b'])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.config.errors import ConfigError
from loyaltysim.config.references import Registry
from loyaltysim.experiments.factors import Factor, parse_factors, salib_problem
from loyaltysim.experiments.salib import METHODS

__all__ = ["BUILT_IN", "DESIGNS", "Design", "Sampler", "check_design", "register_design", "sample_factors"]

Sampler = Callable[..., np.ndarray]
"""``sampler(problem, samples, *, seed) -> matrix`` (SALib's signature)."""

BUILT_IN = ("grid", *METHODS)
DESIGNS: Registry[Sampler] = Registry("design", reserved=BUILT_IN)
"""Designs registered in this process (:func:`register_design`) and ``module:function`` references."""


def register_design(name: str, sampler: Sampler) -> None:
    """Make ``sampler`` available as ``design: <name>`` in experiments run by this process.

    Worker processes do not need it (points are sampled before any run starts).

    Raises
    ------
    ValueError
        ``name`` is built in (grid, lhs, sobol, morris, fast) or not a plain name.
    """
    DESIGNS.register(name, sampler)


def check_design(design: str, factors: Mapping[str, Factor], samples: int | None, options: Mapping[str, Any]) -> None:
    """Refuse a design that cannot sample these factors (``ValueError``, message starting with the key).

    ``options`` are the design options given (``second_order``, ``levels``, ``harmonics``; None = default).
    """
    groups = any(f.group for f in factors.values())
    if design == "grid":
        ranges = [path for path, f in factors.items() if f.is_range]
        if ranges:
            raise ValueError(f"design: grid needs lists of values, but factor '{ranges[0]}' is a range; use lhs or sobol")
        if samples is not None:
            raise ValueError("samples applies to sampled designs (lhs, sobol, morris, fast…), not to grid")
        if groups:
            raise ValueError("group: design grid does not support groups of factors; use sobol or morris")
        return
    if not factors:
        raise ValueError(f"design: {design} needs at least one factor")
    if samples is None:
        raise ValueError(f"design: {design} needs 'samples' (the sample size N)")
    method = METHODS.get(design)
    if method is not None:
        method.check(samples, groups=groups, **method.with_defaults(options))
    elif groups:
        raise ValueError(f"group: design {design} does not support groups of factors; use sobol or morris")


@dataclass(frozen=True)
class Design:
    """The design points of a set of factors.

    Attributes
    ----------
    problem
        SALib problem (``num_vars``, ``names`` = factor paths, ``bounds`` in sampling space, ``groups``).
    samples
        The sampler's matrix, one row per design point, in sampling space (what ``SALib.analyze.*``
        expects as ``X``); None for a grid.
    points
        One mapping factor path → config value per design point (index = ``point_id``).
    method
        The design that chose them (``grid``, ``sobol``, a registered name…).
    options
        The options it sampled with, defaults filled in (SALib's designs; what their analysis needs).
    """

    problem: dict[str, Any]
    samples: np.ndarray | None
    points: list[dict[str, Any]]
    method: str = "grid"
    options: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The points as a table: one row per design point, one column per factor (values, not sampling space)."""
        return pd.DataFrame(self.points, columns=self.problem["names"])


def sample_factors(
    factors: Mapping[str, Factor | Mapping[str, Any] | list[Any]],
    design: str = "grid",
    samples: int | None = None,
    *,
    seed: int = 0,
    **options: Any,
) -> Design:
    """The design points of ``factors`` (name → declaration): the grid, or ``samples`` drawn by ``design``.

    Parameters
    ----------
    factors
        Name → :class:`~loyaltysim.experiments.factors.Factor` (or its mapping, or a list of values).
    design
        ``grid``, ``lhs``, ``sobol``, ``morris``, ``fast``, a registered design or ``module:function``.
    samples
        The sample size N (see docs/sweeps.md for the points each design makes of it).
    seed
        Seed of the sampler.
    **options
        ``second_order`` (sobol, default true), ``levels`` (morris, 4), ``harmonics`` (fast, 4).

    Raises
    ------
    ConfigError
        A bad factor, design, size or option, or a sampler whose matrix does not fit the factors.
    """
    parsed = parse_factors(factors)
    try:
        check_design(design, parsed, samples, options)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    names = list(parsed)
    problem = salib_problem(parsed)
    if design == "grid":
        combos = itertools.product(*(f.values for f in parsed.values()))
        return Design(problem, None, [dict(zip(names, combo, strict=True)) for combo in combos])
    used: dict[str, Any] = {}
    if design in METHODS:
        used = METHODS[design].with_defaults(options)
        matrix = np.asarray(METHODS[design].sample(problem, samples, seed=seed, **used))
    else:
        matrix = _user_sample(design, problem, samples, seed)
    points = [{name: f.from_unit(x) for (name, f), x in zip(parsed.items(), row, strict=True)} for row in matrix]
    return Design(problem, matrix, points, design, used)


def _user_sample(design: str, problem: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    """The matrix of a registered or referenced sampler, checked against the problem's shape and bounds."""
    try:
        sampler = DESIGNS.get(design)
    except ValueError as exc:
        raise ConfigError(f"design: {exc}") from None
    matrix = np.asarray(sampler(dict(problem), samples, seed=seed), dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != problem["num_vars"]:
        raise ConfigError(f"design: {design} returned an array of shape {matrix.shape}; expected (points, {problem['num_vars']})")
    bounds = np.asarray(problem["bounds"], dtype=float)
    outside = ((matrix < bounds[:, 0]) | (matrix > bounds[:, 1])).any(axis=0)
    if outside.any():
        name = problem["names"][int(np.argmax(outside))]
        low, high = bounds[int(np.argmax(outside))]
        raise ConfigError(f"design: {design} sampled {name} outside its bounds [{low:g}, {high:g}] in sampling space")
    return matrix
