"""Scenario discovery: where in the factor space does a condition hold? (PRIM, from ema_workbench)

Given the runs of a finished sweep (factor columns + metrics, one row per run) and a
condition such as ``satisfied_defector_share > 0.6``, PRIM (Friedman & Fisher 1999, as
implemented in ema_workbench) peels the factor space down to a box of factor ranges
where the condition is frequent. The box is reported with its

- coverage — share of all runs meeting the condition that fall inside the box, and
- density — share of the runs inside the box that meet the condition,

and the whole peeling trajectory (the coverage–density trade-off) is kept for a figure.

As in ema_workbench's box inspection, each restriction of the box comes with its quasi-p value (a
one-sided binomial test of whether the restriction raises the density by more than chance): by
default restrictions whose quasi-p exceeds ``max_qp`` (0.05) are dropped one at a time, the least
significant first, and the box's coverage and density are those of the box without them; the dropped
restrictions are listed in ``dropped`` with their quasi-p.
Needs the optional extra ``loyaltysim[discovery]`` (ema_workbench); without it :func:`discover` says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.config.errors import ConfigError, suggest
from loyaltysim.config.optional import require

__all__ = ["DiscoveryResult", "discover", "factor_columns", "load_runs"]


@dataclass
class DiscoveryResult:
    """The box PRIM found, its quality, and the peeling trajectory it was chosen from."""

    where: str
    box: pd.DataFrame  # factor, low, high, values (categorical), full_low, full_high, qp_low, qp_high
    coverage: float
    density: float
    mass: float
    runs: int
    cases: int
    trajectory: pd.DataFrame
    chosen: int
    meets_min_density: bool
    dropped: pd.DataFrame | None = None  # factor, qp: restrictions dropped as insignificant (quasi-p > max_qp)
    max_qp: float | None = 0.05


def factor_columns(runs: pd.DataFrame, names: Sequence[str] | None = None) -> list[str]:
    """The factor columns of a sweep's runs table PRIM can restrict: ``names`` (the experiment's factors, e.g.
    from its manifest), or else the columns named by a dotted config path; columns of lists or mappings
    (a whole ``firms`` list) are left out: vary their parts, or ``n_firms``, to find regions of them."""
    columns = [c for c in names if c in runs] if names is not None else [c for c in runs.columns if "." in c]
    return [c for c in columns if not runs[c].map(lambda v: isinstance(v, list | dict | np.ndarray)).any()]


def load_runs(results: str | Path) -> pd.DataFrame:
    """runs.parquet of a results folder (successful runs only)."""
    path = Path(results) / "runs.parquet"
    if not path.is_file():
        raise ConfigError(f"no runs.parquet in {results} (expected the folder of a finished sweep)", source=str(results))
    runs = pd.read_parquet(path)
    return runs[runs["status"] == "ok"].reset_index(drop=True) if "status" in runs else runs


def _condition(runs: pd.DataFrame, where: str) -> np.ndarray:
    """Evaluate ``where`` (a pandas expression over the columns) to one boolean per run."""
    try:
        flags = runs.eval(where)
    except pd.errors.UndefinedVariableError as exc:
        name = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
        raise ConfigError(f"--where: unknown column '{name}'{suggest(name, list(runs.columns))}", source=where) from None
    except (SyntaxError, ValueError, TypeError) as exc:
        raise ConfigError(f"--where: cannot evaluate {where!r}: {exc}", source=where) from None
    if not isinstance(flags, pd.Series) or flags.dtype != bool:
        raise ConfigError(f"--where: expected a condition (true/false per run), such as 'churn_rate > 0.1'; got {where!r}")
    return flags.to_numpy()


def _box_table(prim: Any, box: Any, factors: list[str], chosen: int) -> pd.DataFrame:
    """Restricted factors of box ``chosen``: its range, the full range, and PRIM's quasi-p values."""
    limits, initial = box.box_lims[chosen], prim.box_init
    qp = box.qp[chosen]
    rows = []
    for name in factors:
        low, high = limits.loc[0, name], limits.loc[1, name]
        if isinstance(low, set):  # categorical: the box keeps a subset of the values
            if low == initial.loc[0, name]:
                continue
            row = {
                "low": np.nan,
                "high": np.nan,
                "values": ", ".join(map(str, sorted(low))),
                "full_low": np.nan,
                "full_high": np.nan,
            }
        else:
            if low == initial.loc[0, name] and high == initial.loc[1, name]:
                continue
            row = {"low": float(low), "high": float(high), "values": None}
            row |= {"full_low": float(initial.loc[0, name]), "full_high": float(initial.loc[1, name])}
        p_low, p_high = (np.nan if p < 0 else float(p) for p in qp.get(name, (-1, -1)))  # -1: that side is not restricted
        rows.append({"factor": name, **row, "qp_low": p_low, "qp_high": p_high})
    columns = ["factor", "low", "high", "values", "full_low", "full_high", "qp_low", "qp_high"]
    return pd.DataFrame(rows, columns=columns)


def _prim(x: pd.DataFrame, flags: np.ndarray, *, peel_alpha: float, mass_min: float) -> tuple[Any, Any]:
    """ema_workbench's PRIM on binary ``flags``: the first box found and the Prim object."""
    from ema_workbench.analysis import prim

    # y is 1 for runs meeting the condition, else 0. ema_workbench counts y ≥ threshold as cases of interest and
    # keeps the peeled box only if its final density ≥ threshold: a threshold just above 0 selects the 1s and always
    # keeps the trajectory, from which discover's min_density picks the box.
    finder = prim.Prim(x, flags.astype(int), threshold=1e-9, peel_alpha=peel_alpha, mass_min=mass_min)
    return finder.find_box(), finder


def discover(
    runs: pd.DataFrame,
    where: str,
    *,
    factors: list[str] | None = None,
    min_density: float = 0.8,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    max_qp: float | None = 0.05,
) -> DiscoveryResult:
    """Find the box of factor ranges where ``where`` holds, with PRIM.

    Parameters
    ----------
    runs
        One row per run: factor columns and metric columns (a sweep's runs.parquet).
    where
        Condition over the columns, pandas syntax: ``"satisfied_defector_share > 0.6"``,
        ``"churn_rate > 0.05 and nps < 0"``; quote dotted names with backticks.
    factors
        Columns PRIM may restrict (default: :func:`factor_columns`).
    min_density
        The reported box is the one of highest coverage among those with at least this
        density (the densest box if none reaches it).
    peel_alpha, mass_min
        PRIM's share of runs peeled per step and smallest box (share of runs).
    max_qp
        Drop restrictions whose quasi-p value exceeds this, least significant first (None keeps them all).

    Raises
    ------
    ConfigError
        Unknown columns, a condition that is not true/false, no run (or every run) meeting it.
    """
    require("ema_workbench", purpose="scenario discovery (PRIM)")
    factors = factors or factor_columns(runs)
    unknown = [f for f in factors if f not in runs]
    if unknown:
        raise ConfigError(f"--factors: unknown column '{unknown[0]}'{suggest(unknown[0], list(runs.columns))}")
    if not factors:
        raise ConfigError("no factor columns (dotted config paths) in the runs table; name them with --factors")
    if not 0 < min_density <= 1:
        raise ConfigError(f"--min-density: expected a share in (0, 1], got {min_density}")
    flags = _condition(runs, where)
    cases = int(flags.sum())
    if cases == 0 or cases == len(flags):
        raise ConfigError(f"--where: {cases} of {len(flags)} runs meet {where!r}; there is no region to find")
    x = runs[factors].reset_index(drop=True)
    x = x.astype({c: float for c in factors if pd.api.types.is_numeric_dtype(x[c])})
    with warnings.catch_warnings():  # ema_workbench warns about optional back-ends and pandas deprecations
        warnings.simplefilter("ignore")
        box, finder = _prim(x, flags, peel_alpha=peel_alpha, mass_min=mass_min)
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    dense = trajectory[trajectory["density"] >= min_density]
    chosen = int(dense["coverage"].idxmax()) if len(dense) else int(trajectory["density"].idxmax())
    box_table = _box_table(finder, box, factors, chosen)
    dropped = []
    if max_qp is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while len(box_table):
                worst = box_table.assign(qp=box_table[["qp_low", "qp_high"]].min(axis=1)).sort_values("qp").iloc[-1]
                if not worst["qp"] > max_qp:
                    break
                dropped.append({"factor": worst["factor"], "qp": float(worst["qp"])})
                box.drop_restriction(worst["factor"], i=chosen)
                chosen = len(box.peeling_trajectory) - 1
                box_table = _box_table(finder, box, factors, chosen)
    row = box.peeling_trajectory.reset_index(drop=True).iloc[chosen]
    return DiscoveryResult(
        where=where,
        box=box_table,
        coverage=float(row["coverage"]),
        density=float(row["density"]),
        mass=float(row["mass"]),
        runs=len(flags),
        cases=cases,
        trajectory=trajectory[["coverage", "density", "mass", "res_dim", "n", "k"]].astype(float),
        chosen=chosen if not dropped else _closest(trajectory, row),
        meets_min_density=bool(float(row["density"]) >= min_density),
        dropped=pd.DataFrame(dropped, columns=["factor", "qp"]),
        max_qp=max_qp,
    )


def _closest(trajectory: pd.DataFrame, row: pd.Series) -> int:
    """The trajectory's box nearest in (coverage, density) to the reported box (for the figure's marker)."""
    distance = (trajectory["coverage"] - row["coverage"]) ** 2 + (trajectory["density"] - row["density"]) ** 2
    return int(distance.idxmin())
