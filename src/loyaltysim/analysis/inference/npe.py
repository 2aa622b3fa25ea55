"""Neural posterior estimation (sbi's NPE, CPU torch): one amortised posterior from a simulated training set.

The training set is ``(θ, x)``: parameter points drawn from the uniform prior (search coordinates)
and the target metrics simulated at them. The trained density estimator gives ``p(θ | x)`` for *any*
``x``: a new set of targets needs no new simulations (:meth:`AmortisedPosterior.sample`), which is
also what makes simulation-based calibration cheap (posteriors for many held-out simulations).

torch and sbi are an optional extra (``pip install 'loyaltysim[inference]'``), imported only when a
posterior is trained or sampled.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loyaltysim.analysis.inference.posterior import Box
from loyaltysim.analysis.inference.settings import NpeSettings
from loyaltysim.experiments.storage import write_bytes

__all__ = ["AmortisedPosterior", "load_posterior", "train_npe"]


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """torch seeded in a forked generator, on one thread (small networks: measured 2.4× faster than two
    threads on a busy 2-core machine), its progress line kept off the terminal; restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(), contextlib.redirect_stdout(io.StringIO()):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class AmortisedPosterior:
    """A trained sbi posterior over the box's parameters given the targets named by ``labels``."""

    estimator: Any
    box: Box
    labels: list[str]
    stamp: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    simulations: tuple[np.ndarray, np.ndarray] | None = None
    """Every simulated ``(theta, x)`` pair (training and held out), kept for diagnostics of a reused posterior."""
    holdout: np.ndarray | None = None
    """Indices of the pairs held out from training (simulation-based calibration)."""

    def sample(self, observed: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """``n`` posterior draws (n × d, search coordinates) given one target vector."""
        import torch

        with _seeded(seed):
            x = torch.as_tensor(np.asarray(observed, dtype=np.float32)[None, :])
            draws = self.estimator.sample((n,), x=x, show_progress_bars=False)
        return draws.numpy().astype(np.float64)

    def sample_many(self, xs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """``n`` posterior draws for each row of ``xs``: (m × n × d)."""
        import torch

        with _seeded(seed), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Capping max_sampling_batch_size")  # sbi's memory guard: expected
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


class _NoTracking:
    """sbi's experiment tracker that records nothing: its default writes TensorBoard logs into ``./sbi-logs``."""

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    def log_params(self, params: dict[str, Any]) -> None: ...

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None: ...

    def flush(self) -> None: ...


def train_npe(
    theta: np.ndarray, x: np.ndarray, box: Box, labels: list[str], settings: NpeSettings, *, seed: int
) -> AmortisedPosterior:
    """Train sbi's NPE on ``(theta, x)`` (rows with a missing metric are dropped) under the uniform prior ``box``.

    Training is seeded (torch's generator is forked, so the caller's is untouched) and stops when
    the validation loss has not improved for 20 epochs (``converged``), or after ``settings.max_epochs``.
    """
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    ok = np.all(np.isfinite(x), axis=1)
    with _seeded(seed), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prior = BoxUniform(torch.as_tensor(box.low, dtype=torch.float32), torch.as_tensor(box.high, dtype=torch.float32))
        trainer = NPE(
            prior=prior, density_estimator=settings.estimator, device="cpu", show_progress_bars=False, tracker=_NoTracking()
        )
        trainer.append_simulations(torch.as_tensor(theta[ok], dtype=torch.float32), torch.as_tensor(x[ok], dtype=torch.float32))
        trainer.train(max_num_epochs=settings.max_epochs, show_train_summary=False)
        estimator = trainer.build_posterior()
    summary = trainer.summary
    training = {
        "estimator": settings.estimator,
        "points": int(ok.sum()),
        "dropped": int((~ok).sum()),
        "epochs": int(summary["epochs_trained"][-1]),
        "best_validation_loss": float(summary["best_validation_loss"][-1]),
        "converged": not any("not yet fully converged" in str(w.message) for w in caught),
    }
    return AmortisedPosterior(estimator=estimator, box=box, labels=labels, training=training)
