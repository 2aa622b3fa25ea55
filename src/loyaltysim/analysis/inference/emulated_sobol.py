"""Sobol' indices computed on an emulator, with the emulator's uncertainty, and compared with a direct study.

SALib's Saltelli design (the project's SALib table, :data:`loyaltysim.experiments.salib.METHODS`) is
evaluated on the emulator instead of the model: once on the emulator's mean (indices with SALib's
bootstrap intervals: the Monte Carlo error) and on ``draws`` functions drawn from the Gaussian process
(the spread of their indices is the emulator's own uncertainty; Oakley & O'Hagan 2004, Marrel et al. 2009).
The indices describe the *expected* output (seed noise excluded), as a direct study on replicate means does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.analysis.inference.emulator import GaussianProcessEmulator
from loyaltysim.experiments.salib import METHODS

__all__ = ["compare_indices", "emulated_sobol"]


def emulated_sobol(
    emulator: GaussianProcessEmulator,
    problem: Mapping[str, Any],
    *,
    samples: int = 256,
    draws: int = 50,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """First-order and total Sobol' indices of every emulated output.

    Parameters
    ----------
    emulator
        Trained over the factors of ``problem`` (same order; ``emulator.box`` holds their ranges).
    problem
        The SALib problem (names and bounds).
    samples
        Saltelli base sample N (a power of two); the emulator is evaluated at N · (d + 2) points.
    draws
        Functions drawn from the Gaussian process for the emulator-uncertainty interval.
    seed
        Seeds the Saltelli sample, SALib's bootstrap and the draws.
    level
        Level of the emulator-uncertainty interval.

    Returns
    -------
    pandas.DataFrame
        output, factor, index (S1, ST), value (on the emulator's mean), conf (SALib's bootstrap
        half-width), emulator_low, emulator_high (quantiles over the drawn functions).
    """
    sobol = METHODS["sobol"]
    X = sobol.sample(problem, samples, seed=seed, second_order=False)
    mean, _ = emulator.predict(X)
    rng = np.random.default_rng(seed)
    tail = (1.0 - level) / 2.0
    rows = []
    for j, output in enumerate(emulator.outputs):
        found = sobol.analyse(problem, X, mean[:, j], second_order=False, seed=seed, num_resamples=200, conf_level=0.95)
        functions = emulator.sample(X, j, draws, rng)
        drawn = [sobol.analyse(problem, X, f, second_order=False, seed=seed, num_resamples=2, conf_level=0.95) for f in functions]
        for k, (index, names, values, conf) in enumerate(found):
            spread = np.array([np.asarray(d[k][2]) for d in drawn])
            low, high = np.quantile(spread, [tail, 1.0 - tail], axis=0)
            for i, name in enumerate(names):
                rows.append(
                    {
                        "output": output,
                        "factor": name,
                        "index": index,
                        "value": float(values[i]),
                        "conf": float(conf[i]),
                        "emulator_low": float(low[i]),
                        "emulator_high": float(high[i]),
                    }
                )
    return pd.DataFrame(rows)


def compare_indices(emulated: pd.DataFrame, direct: pd.DataFrame) -> pd.DataFrame:
    """Emulated next to direct Sobol' indices (``direct``: a study's ``indices.parquet``, S1 and ST).

    ``agree`` says whether the two intervals (emulated: bootstrap ± and emulator spread combined;
    direct: its bootstrap half-width) overlap.
    """
    direct = direct[direct["index"].isin(["S1", "ST"])][["output", "factor", "index", "value", "conf"]]
    table = emulated.merge(direct, on=["output", "factor", "index"], suffixes=("_emulated", "_direct"))
    low = np.minimum(table["value_emulated"] - table["conf_emulated"], table["emulator_low"])
    high = np.maximum(table["value_emulated"] + table["conf_emulated"], table["emulator_high"])
    table["agree"] = (low <= table["value_direct"] + table["conf_direct"]) & (
        table["value_direct"] - table["conf_direct"] <= high
    )
    return table
