"""A cheap simulator with a known posterior, for checking calibration procedures (not the model).

:class:`LinearGaussianEvaluator` stands in for the sweep engine (it is an ``Evaluator`` of
:func:`loyaltysim.analysis.calibration.calibrate`): each run's summary metrics are
``offset + matrix @ parameters + noise · ε``, with ε standard normal drawn from the run's own seed.
Under the uniform prior of a calibration the exact posterior is a Gaussian truncated to the prior
box (:meth:`LinearGaussianEvaluator.exact_posterior`), so coverage and accuracy can be measured
against the truth. A column of zeros in ``matrix`` makes a parameter non-identified; two equal
columns make only their sum identified.

Examples
--------
>>> import pandas as pd
>>> toy = LinearGaussianEvaluator(["a", "b"], ["churn_rate", "nps"], [[1.0, 0.0], [0.0, 2.0]], noise=[0.1, 0.1])
>>> runs = pd.DataFrame({"run_id": ["r0"], "point_id": [0], "replicate": [0], "seed": [1], "a": [0.5], "b": [0.25]})
>>> list(toy("batch", runs).columns)
['run_id', 'status', 'error', 'churn_rate', 'nps']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = ["LinearGaussianEvaluator"]


@dataclass
class LinearGaussianEvaluator:
    """Summary metrics ``offset + matrix @ θ + noise · ε`` per run (metrics × parameters matrix)."""

    parameters: Sequence[str]
    metrics: Sequence[str]
    matrix: Sequence[Sequence[float]]
    noise: Sequence[float]
    offset: Sequence[float] | None = None

    def __post_init__(self) -> None:
        self.A = np.asarray(self.matrix, dtype=np.float64)
        self.sd = np.asarray(self.noise, dtype=np.float64)
        self.c = np.zeros(len(self.metrics)) if self.offset is None else np.asarray(self.offset, dtype=np.float64)

    def mean(self, theta: np.ndarray) -> np.ndarray:
        """The expected metrics at each parameter point (points × metrics)."""
        return self.c + np.atleast_2d(theta) @ self.A.T

    def simulate(self, theta: np.ndarray, seeds: Sequence[int]) -> np.ndarray:
        """One run per row of ``theta``, seeded by ``seeds``."""
        eps = np.array([np.random.default_rng(int(s)).standard_normal(len(self.metrics)) for s in seeds])
        return self.mean(theta) + eps * self.sd

    def __call__(self, batch: str, runs: pd.DataFrame) -> pd.DataFrame:
        values = self.simulate(runs[list(self.parameters)].to_numpy(dtype=np.float64), runs["seed"].to_numpy())
        table = pd.DataFrame(values, columns=list(self.metrics))
        table.insert(0, "error", None)
        table.insert(0, "status", "ok")
        table.insert(0, "run_id", runs["run_id"].to_numpy())
        return table

    def calibration_file(
        self,
        path: Path,
        *,
        base: Path,
        bounds: Mapping[str, tuple[float, float]],
        observed: np.ndarray,
        **keys: Any,
    ) -> Path:
        """Write a calibration file of this toy's parameters (``bounds``) and metrics (targets ``observed``,
        tolerance = the toy's noise); ``keys`` add or replace top-level keys (method, seed, settings)."""
        spec = {
            "name": "known_truth",
            "base": str(base),
            "parameters": {name: {"low": low, "high": high} for name, (low, high) in bounds.items()},
            "targets": [
                {"metric": metric, "value": float(value), "tolerance": float(sd)}
                for metric, value, sd in zip(self.metrics, observed, self.sd, strict=True)
            ],
            "replicates": 1,
            "check_replicates": 1,
            "predictive": {"draws": 0},
            **keys,
        }
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return path

    def exact_posterior(
        self, observed: np.ndarray, low: np.ndarray, high: np.ndarray, replicates: int, n: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``n`` draws from the exact posterior given ``observed`` (the mean of ``replicates`` runs), uniform prior on the box.

        The likelihood is Gaussian with covariance ``diag(noise²) / replicates``; with a flat prior the
        posterior is Gaussian (full-rank ``matrix``), truncated here to the box by rejection.
        """
        precision = self.A.T @ np.diag(replicates / self.sd**2) @ self.A
        cov = np.linalg.inv(precision)
        mean = cov @ self.A.T @ np.diag(replicates / self.sd**2) @ (np.asarray(observed) - self.c)
        draws = np.empty((0, len(low)))
        while len(draws) < n:
            proposal = rng.multivariate_normal(mean, cov, size=4 * n)
            draws = np.vstack([draws, proposal[np.all((proposal >= low) & (proposal <= high), axis=1)]])
        return draws[:n]
