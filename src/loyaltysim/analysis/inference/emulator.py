"""Gaussian-process emulators of simulated outputs over the parameter (or factor) space, and their validation.

One scikit-learn ``GaussianProcessRegressor`` per output: a constant × Matérn-5/2 kernel with one
length scale per input (inputs scaled to the unit box) plus a white-noise term, which absorbs the
stochastic model's seed noise. ``predict`` returns the emulator's mean and the standard deviation of
a new simulation (code uncertainty plus seed noise); ``sample`` draws whole functions (the latent
mean), which is what carries the emulator's uncertainty into Sobol' indices.

Validation on held-out runs (Bastos & O'Hagan 2009): standardised errors
``(simulated − mean) / sd`` should have mean ≈ 0, sd ≈ 1, and about 95% of them within ±2.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loyaltysim.analysis.inference.posterior import Box

__all__ = ["GaussianProcessEmulator", "validate"]


@dataclass
class GaussianProcessEmulator:
    """Emulators of ``outputs`` (one GP each) over ``box``; :meth:`fit` trains them."""

    box: Box
    outputs: list[str]
    seed: int = 0
    models: list = field(default_factory=list)

    def _unit(self, points: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(points) - self.box.low) / self.box.width

    def fit(self, points: np.ndarray, values: np.ndarray) -> GaussianProcessEmulator:
        """Train on ``points`` (n × d) and ``values`` (n × outputs); rows with a missing value are left out per output."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        d = points.shape[1]
        self.models = []
        for j in range(len(self.outputs)):
            ok = np.isfinite(values[:, j])
            kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=2.5) + WhiteKernel(
                0.1, (1e-8, 1.0)
            )
            model = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=self.seed)
            with warnings.catch_warnings():  # a length scale at its bound means a flat direction: expected, not an error
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.models.append(model.fit(self._unit(points[ok]), values[ok, j]))
        return self

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of a new simulation at each point (n × outputs each)."""
        unit = self._unit(points)
        pairs = [model.predict(unit, return_std=True) for model in self.models]
        return np.column_stack([m for m, _ in pairs]), np.column_stack([s for _, s in pairs])

    def sample(self, points: np.ndarray, output: int, draws: int, rng: np.random.Generator) -> np.ndarray:
        """``draws`` joint draws of the emulated mean function of ``output`` at ``points`` (draws × n), seed noise excluded."""
        model = self.models[output]
        unit = self._unit(points)
        mean, cov = model.predict(unit, return_cov=True)
        noise = model.kernel_.k2.noise_level * model._y_train_std**2  # the white-noise term, in output units
        values, vectors = np.linalg.eigh(cov - noise * np.eye(len(unit)))  # eigh: robust where Cholesky fails on rounding
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        return mean + rng.standard_normal((draws, len(unit))) @ root.T


def validate(emulator: GaussianProcessEmulator, points: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Held-out validation per output: RMSE, R², standardised errors (mean, sd) and the share within ±2 sd."""
    mean, sd = emulator.predict(points)
    rows = []
    for j, output in enumerate(emulator.outputs):
        ok = np.isfinite(values[:, j])
        error = values[ok, j] - mean[ok, j]
        standardised = error / sd[ok, j]
        spread = np.var(values[ok, j])
        rows.append(
            {
                "output": output,
                "held_out": int(ok.sum()),
                "rmse": float(np.sqrt(np.mean(error**2))),
                "r2": float(1.0 - np.mean(error**2) / spread) if spread > 0 else np.nan,
                "standardised_mean": float(np.mean(standardised)),
                "standardised_sd": float(np.std(standardised, ddof=1)) if ok.sum() > 1 else np.nan,
                "within_2sd": float(np.mean(np.abs(standardised) <= 2.0)),
            }
        )
    return pd.DataFrame(rows)
