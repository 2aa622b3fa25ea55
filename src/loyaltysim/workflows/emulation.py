"""Sobol' indices from an emulator: a study's factor space run as a Latin-hypercube sweep, one
Gaussian-process emulator per output trained on it (validated on held-out design points), Sobol'
indices computed on the emulator with their uncertainty, and compared with a direct Sobol' study.

The sweep goes through :func:`loyaltysim.sweep` (process pool, Dask, checkpoints, ``resume``). The
factors must be plain uniform ranges (the emulator's box); the outputs are the study's own.

Folder (``results/<study name>_emulator/`` by default): the sweep's tables, plus
``emulator_validation.csv``, ``emulated_indices.parquet`` and, with ``direct``, ``comparison.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.analysis.inference.emulated_sobol import compare_indices, emulated_sobol
from loyaltysim.analysis.inference.emulator import GaussianProcessEmulator, validate
from loyaltysim.analysis.inference.posterior import Box
from loyaltysim.analysis.outputs import output_values
from loyaltysim.analysis.sensitivity import load_study
from loyaltysim.config.errors import ConfigError
from loyaltysim.experiments.factors import salib_problem
from loyaltysim.experiments.storage import write_parquet
from loyaltysim.workflows.sweep import sweep

__all__ = ["EmulationResult", "emulate_study"]


@dataclass
class EmulationResult:
    """The emulator, its held-out validation, the emulated indices and (with a direct study) the comparison."""

    emulator: GaussianProcessEmulator
    validation: pd.DataFrame
    indices: pd.DataFrame
    comparison: pd.DataFrame | None
    folder: Path


def _box(factors: Mapping[str, Any], source: str) -> Box:
    names = list(factors)
    for name, factor in factors.items():
        if not factor.is_range or factor.dist != "uniform" or factor.log or factor.integer or factor.group:
            raise ConfigError(
                f"factors.{name}: an emulator needs plain uniform ranges {{low, high}} (no log, integer, group or other dist)",
                source=source,
            )
    return Box(names, np.array([factors[n].low for n in names]), np.array([factors[n].high for n in names]))


def emulate_study(
    path: str | Path,
    *,
    points: int = 64,
    holdout: float = 0.2,
    samples: int = 1024,
    draws: int = 50,
    direct: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    **options: Any,
) -> EmulationResult:
    """Run ``points`` Latin-hypercube design points of the study at ``path``, emulate its outputs, estimate Sobol' indices.

    Parameters
    ----------
    path
        A sensitivity study file (e.g. ``experiments/sensitivity_churn.yaml``): its factors, outputs, replicates, seed.
    points, holdout
        Design points run, and the share of them held out to validate the emulators (then trained on all).
    samples, draws
        Saltelli base sample evaluated on the emulator, and Gaussian-process functions drawn for the uncertainty.
    direct
        Folder of a direct Sobol' study of the same file (its ``indices.parquet``) to compare with.
    overrides, out, options
        As for :func:`loyaltysim.sweep` (``executor``, ``workers``, ``scheduler``, ``resume``, ``progress``).
    """
    study, outputs = load_study(path, overrides)
    box = _box(study.factors, str(path))
    lhs = study.model_copy(
        update={"name": f"{study.name}_emulator", "design": "lhs", "samples": points, "second_order": None, "levels": None}
    )
    folder = Path(out) if out is not None else Path("results") / lhs.name
    results = sweep(lhs, out=folder, report=False, **options)
    values = output_values(results.runs, outputs, results.timeseries)
    labels = [o.label for o in outputs]
    means = values.groupby("point_id")[labels].mean()
    x = results.runs.groupby("point_id")[box.names].first().loc[means.index].to_numpy(dtype=np.float64)
    y = means.to_numpy(dtype=np.float64)
    order = np.random.default_rng(study.seed).permutation(len(x))
    held, trained = order[: max(2, round(holdout * len(x)))], order[max(2, round(holdout * len(x))) :]
    emulator = GaussianProcessEmulator(box, labels, seed=study.seed).fit(x[trained], y[trained])
    validation = validate(emulator, x[held], y[held])
    emulator.fit(x, y)
    indices = emulated_sobol(emulator, salib_problem(study.factors), samples=samples, draws=draws, seed=study.seed)
    validation.to_csv(folder / "emulator_validation.csv", index=False)
    write_parquet(indices, folder / "emulated_indices.parquet")
    comparison = None
    if direct is not None:
        comparison = compare_indices(indices, pd.read_parquet(Path(direct) / "indices.parquet"))
        comparison.to_csv(folder / "comparison.csv", index=False)
    return EmulationResult(emulator, validation, indices, comparison, folder)
