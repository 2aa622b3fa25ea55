"""SALib by method name: how each method samples, what sizes it accepts, and how it analyses.

One table, :data:`METHODS`, serves both ends: a sampled design draws its points with
``METHODS[name].sample`` (experiments), and a sensitivity analysis estimates indices with
``METHODS[name].analyse`` on the same problem and matrix (analysis). Options use loyaltysim's
names (``second_order``, ``levels``, ``harmonics``) and their defaults are in ``options``.

Examples
--------
>>> problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
>>> sobol = METHODS["sobol"]
>>> X = sobol.sample(problem, 8, seed=1, second_order=False)
>>> X.shape, sobol.width(2, second_order=False)
((32, 2), 4)
>>> sorted(index for index, *_ in sobol.analyse(problem, X, X[:, 0] + 0.1 * X[:, 1], seed=3, second_order=False))
['S1', 'ST']
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["METHODS", "Indices", "SalibMethod", "labels"]

Indices = tuple[str, list[str], Sequence[float], Sequence[float] | None]
"""One kind of index of one output: (index name, factor or group labels, values, interval half-widths or None)."""


def labels(problem: Mapping[str, Any]) -> list[str]:
    """Names SALib reports indices for: the groups (first-seen order) when there are groups, else the factors."""
    groups = problem.get("groups")
    return list(dict.fromkeys(groups)) if groups else list(problem["names"])


@dataclass(frozen=True)
class SalibMethod:
    """One SALib method.

    Attributes
    ----------
    sample
        ``sample(problem, samples, *, seed, **options)``: SALib's sample matrix, one row per design point.
    check
        ``check(samples, *, groups, **options)``: raises ``ValueError`` (``"samples: ..."``) for a size or
        option the method cannot use.
    options
        The method's options and their defaults.
    analyse
        ``analyse(problem, X, y, *, seed, num_resamples, conf_level, **options)`` → list of :data:`Indices`
        (the bootstrap settings are SALib's, with its defaults); None for a design SALib does not analyse (lhs).
    width
        ``width(d, **options)``: rows per base sample with ``d`` factors (or groups), for nested subsets;
        None when designs of this method do not nest.
    """

    sample: Callable[..., np.ndarray]
    check: Callable[..., None]
    options: dict[str, Any] = field(default_factory=dict)
    analyse: Callable[..., list[Indices]] | None = None
    width: Callable[..., int] | None = None

    def with_defaults(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """This method's options: its defaults, replaced by the ``options`` given (None = default)."""
        return {name: default if options.get(name) is None else options[name] for name, default in self.options.items()}


# --- latin hypercube ---------------------------------------------------------------------------------


def _lhs_sample(problem: Mapping[str, Any], samples: int, *, seed: int) -> np.ndarray:
    from SALib.sample import latin

    return latin.sample(dict(problem), samples, seed=seed)


def _no_groups(method: str, groups: bool) -> None:
    if groups:
        raise ValueError(f"group: {method} does not support groups of factors; use sobol or morris")


def _lhs_check(samples: int, *, groups: bool) -> None:
    _no_groups("lhs", groups)


# --- Sobol' (Saltelli's scheme) ----------------------------------------------------------------------


def _sobol_sample(problem: Mapping[str, Any], samples: int, *, seed: int, second_order: bool) -> np.ndarray:
    from SALib.sample import sobol

    return sobol.sample(dict(problem), samples, calc_second_order=second_order, seed=seed)


def _sobol_check(samples: int, *, groups: bool, second_order: bool) -> None:
    if samples & (samples - 1):
        near = 2 ** round(math.log2(samples))
        raise ValueError(f"samples: sobol needs a power of two (e.g. {near}), got {samples}")


def _sobol_analyse(
    problem: Mapping[str, Any], X: np.ndarray, y: np.ndarray, *, second_order: bool, **bootstrap: Any
) -> list[Indices]:
    from SALib.analyze import sobol

    names = labels(problem)
    si = sobol.analyze(dict(problem), y, calc_second_order=second_order, **bootstrap)
    found: list[Indices] = [("S1", names, si["S1"], si["S1_conf"]), ("ST", names, si["ST"], si["ST_conf"])]
    if second_order:
        pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
        found.append(
            (
                "S2",
                [f"{names[i]} × {names[j]}" for i, j in pairs],
                [si["S2"][i, j] for i, j in pairs],
                [si["S2_conf"][i, j] for i, j in pairs],
            )
        )
    return found


def _sobol_width(d: int, *, second_order: bool) -> int:
    return 2 * d + 2 if second_order else d + 2


# --- Morris (elementary effects) ---------------------------------------------------------------------


def _morris_sample(problem: Mapping[str, Any], samples: int, *, seed: int, levels: int) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(dict(problem), samples, num_levels=levels, seed=seed)


def _morris_check(samples: int, *, groups: bool, levels: int) -> None:
    if levels < 2 or levels % 2:
        raise ValueError(f"levels: morris needs an even number of levels ≥ 2, got {levels}")


def _morris_analyse(problem: Mapping[str, Any], X: np.ndarray, y: np.ndarray, *, levels: int, **bootstrap: Any) -> list[Indices]:
    from SALib.analyze import morris

    names = labels(problem)
    si = morris.analyze(dict(problem), X, y, num_levels=levels, **bootstrap)
    return [
        ("mu_star", names, si["mu_star"], si["mu_star_conf"]),
        ("mu", names, si["mu"], None),
        ("sigma", names, si["sigma"], None),
    ]


def _morris_width(d: int, *, levels: int) -> int:
    return d + 1


# --- eFAST -------------------------------------------------------------------------------------------


def _fast_sample(problem: Mapping[str, Any], samples: int, *, seed: int, harmonics: int) -> np.ndarray:
    from SALib.sample import fast_sampler

    return fast_sampler.sample(dict(problem), samples, M=harmonics, seed=seed)


def _fast_check(samples: int, *, groups: bool, harmonics: int) -> None:
    _no_groups("fast (eFAST)", groups)
    if samples <= 4 * harmonics**2:
        raise ValueError(f"samples: fast needs samples > 4·M² = {4 * harmonics**2} (M = harmonics = {harmonics}), got {samples}")


def _fast_analyse(problem: Mapping[str, Any], X: np.ndarray, y: np.ndarray, *, harmonics: int, **bootstrap: Any) -> list[Indices]:
    from SALib.analyze import fast

    names = labels(problem)
    with warnings.catch_warnings():  # SALib warns its eFAST bootstrap CIs are indicative only; the report says so
        warnings.filterwarnings("ignore", message="FAST confidence intervals", category=UserWarning)
        si = fast.analyze(dict(problem), y, M=harmonics, **bootstrap)
    return [("S1", names, si["S1"], si["S1_conf"]), ("ST", names, si["ST"], si["ST_conf"])]


METHODS: dict[str, SalibMethod] = {
    "lhs": SalibMethod(sample=_lhs_sample, check=_lhs_check),
    "sobol": SalibMethod(
        sample=_sobol_sample, check=_sobol_check, options={"second_order": True}, analyse=_sobol_analyse, width=_sobol_width
    ),
    "morris": SalibMethod(
        sample=_morris_sample, check=_morris_check, options={"levels": 4}, analyse=_morris_analyse, width=_morris_width
    ),
    "fast": SalibMethod(sample=_fast_sample, check=_fast_check, options={"harmonics": 4}, analyse=_fast_analyse),
}
"""SALib's methods by the name an experiment's ``design`` gives them."""
