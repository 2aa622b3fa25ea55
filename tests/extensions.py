"""User extensions as a researcher writes them in her own module: a network builder, a design and a
hypothesis test. Importable by name (``tests.extensions:ring``…), so they also run in process pools and
on Dask workers (tests/test_extensions.py)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from loyaltysim.analysis.hypotheses import HypothesisResult, decide


def pause(model) -> float:
    """A run outcome that takes a tenth of a second (and is 0): keeps a sweep of tiny runs busy long enough to
    interrupt or kill it mid-way, however fast the runs are."""
    time.sleep(0.1)
    return 0.0


def ring(config, n: int, rng: np.random.Generator) -> nx.Graph:
    """Each customer knows the ``config.degree // 2`` nearest customers on each side (no randomness)."""
    return nx.circulant_graph(n, range(1, config.degree // 2 + 1))


def halton(problem: dict, samples: int, *, seed: int) -> np.ndarray:
    """A scrambled Halton sequence scaled to the problem's bounds (SALib's sampler signature)."""
    low, high = zip(*problem["bounds"], strict=True)
    return qmc.scale(qmc.Halton(d=problem["num_vars"], seed=seed).random(samples), low, high)


def churn_below(
    runs: pd.DataFrame, curves: pd.DataFrame | None = None, *, level: float = 0.05, by: Sequence[str] | None = None
) -> list[HypothesisResult]:
    """Mean churn per period is below ``level``, per cell (t interval over replicate runs)."""
    ok = runs[runs["status"] == "ok"]
    columns = [c for c in runs.columns if "." in c] if by is None else list(by)
    unknown = [c for c in columns if c not in runs.columns]
    if unknown:
        raise ValueError(f"by: unknown column(s) {unknown}")
    cells = ok.groupby(columns) if columns else [((), ok)]
    results = []
    for key, group in cells:
        values = group["churn_rate"].dropna().to_numpy(dtype=float)
        mean = float(values.mean()) if len(values) else math.nan
        low = high = statistic = p_value = math.nan
        if len(values) >= 2 and np.ptp(values) > 0:
            test = stats.ttest_1samp(values, level, alternative="less")
            low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
            statistic, p_value = float(test.statistic), float(test.pvalue)
        cell = ", ".join(f"{c}={v}" for c, v in zip(columns, key if isinstance(key, tuple) else (key,), strict=True))
        results.append(
            HypothesisResult(
                test="churn_below",
                cell=cell or "all runs",
                verdict=decide(mean, float(low), float(high), direction="less", null=level),
                statistic=statistic,
                effect=mean,
                ci_low=float(low),
                ci_high=float(high),
                p_value=p_value,
                n=len(values),
                note=f"mean churn {mean:.4f} per period against {level}",
            )
        )
    return results
