"""Neural posterior estimation (sbi's NPE, CPU torch): one amortised posterior from a simulated training set.

The training set is ``(θ, x)``: parameter points drawn from the uniform prior (search coordinates)
and the target metrics simulated at them. The trained density estimator gives ``p(θ | x)`` for *any*
``x``: a new set of targets needs no new simulations (:meth:`AmortisedPosterior.sample`), which is
also what makes simulation-based calibration cheap (posteriors for many held-out simulations).

torch and sbi are an optional extra (``pip install 'loyaltysim[inference]'``); :func:`missing_packages`
says what is absent, so the caller can refuse the method before anything runs.
"""

from __future__ import annotations

import importlib.util
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loyaltysim.analysis.inference.posterior import Box
from loyaltysim.analysis.inference.settings import NpeSettings
from loyaltysim.experiments.storage import write_bytes

__all__ = ["AmortisedPosterior", "load_posterior", "missing_packages", "train_npe"]

PACKAGES = ("torch", "sbi")


def missing_packages() -> list[str]:
    """The packages of the ``inference`` extra that are not installed."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


@dataclass
class AmortisedPosterior:
    """A trained sbi posterior over the box's parameters given the targets named by ``labels``."""

    estimator: Any
    box: Box
    labels: list[str]
    stamp: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def sample(self, observed: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """``n`` posterior draws (n × d, search coordinates) given one target vector."""
        import torch

        with torch.random.fork_rng():
            torch.manual_seed(seed)
            x = torch.as_tensor(np.asarray(observed, dtype=np.float32)[None, :])
            draws = self.estimator.sample((n,), x=x, show_progress_bars=False)
        return draws.numpy().astype(np.float64)

    def sample_many(self, xs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """``n`` posterior draws for each row of ``xs``: (m × n × d)."""
        import torch

        with torch.random.fork_rng():
            torch.manual_seed(seed)
            x = torch.as_tensor(np.asarray(xs, dtype=np.float32))
            draws = self.estimator.sample_batched((n,), x=x, show_progress_bars=False)
        return np.swapaxes(draws.numpy().astype(np.float64), 0, 1)

    def save(self, path: Path) -> None:
        """Pickle the posterior (sbi's recommended way) with its box, labels and stamp."""
        write_bytes(pickle.dumps(self), path)


def load_posterior(path: Path) -> AmortisedPosterior:
    """A posterior written by :meth:`AmortisedPosterior.save`."""
    with open(path, "rb") as handle:
        return pickle.load(handle)


def train_npe(
    theta: np.ndarray, x: np.ndarray, box: Box, labels: list[str], settings: NpeSettings, *, seed: int
) -> AmortisedPosterior:
    """Train sbi's NPE on ``(theta, x)`` (rows with a missing metric are dropped) under the uniform prior ``box``.

    Training is seeded (torch's generator is forked, so the caller's is untouched) and stops when
    the validation loss has not improved for 20 epochs, or after ``settings.max_epochs``.
    """
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    ok = np.all(np.isfinite(x), axis=1)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        prior = BoxUniform(torch.as_tensor(box.low, dtype=torch.float32), torch.as_tensor(box.high, dtype=torch.float32))
        trainer = NPE(prior=prior, density_estimator=settings.estimator, device="cpu", show_progress_bars=False)
        trainer.append_simulations(
            torch.as_tensor(theta[ok], dtype=torch.float32), torch.as_tensor(x[ok], dtype=torch.float32)
        )
        trainer.train(max_num_epochs=settings.max_epochs, show_train_summary=False)
        estimator = trainer.build_posterior()
    summary = trainer.summary
    training = {
        "points": int(ok.sum()),
        "dropped": int((~ok).sum()),
        "epochs": int(summary["epochs_trained"][-1]),
        "best_validation_loss": float(summary["best_validation_loss"][-1]),
    }
    return AmortisedPosterior(estimator=estimator, box=box, labels=labels, training=training)
