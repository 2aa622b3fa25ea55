"""History matching in waves (Craig et al. 1997; Vernon et al. 2010; Andrianakis et al. 2015).

Each wave runs design points drawn from the space not yet ruled out (NROY), trains a Gaussian-process
emulator of every target on the runs inside it, and rules out every candidate point whose
implausibility

    I_j(x) = |z_j − E[f_j(x)]| / sqrt(Var[f_j(x)] + tolerance_j²)

exceeds the cut-off for some target j (``max`` over targets; Var includes the emulator's
uncertainty and the model's seed noise; the tolerance stands for observation error and model
discrepancy). A fixed set of candidate points drawn from the prior box maps the space, so the NROY
share of each wave is the share of candidates still in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyaltysim.analysis.inference.emulator import GaussianProcessEmulator, validate
from loyaltysim.analysis.inference.posterior import Box, Simulate
from loyaltysim.analysis.inference.settings import HistoryMatchingSettings

__all__ = ["HistoryMatchingResult", "history_matching", "implausibility"]


@dataclass
class HistoryMatchingResult:
    """Every run, the NROY candidates after the last wave, a table per wave and the emulators' validation."""

    points: np.ndarray
    summaries: np.ndarray
    nroy: np.ndarray
    waves: pd.DataFrame
    validation: pd.DataFrame
    emulators: list[GaussianProcessEmulator]


def implausibility(
    emulator: GaussianProcessEmulator, points: np.ndarray, observed: np.ndarray, tolerance: np.ndarray
) -> np.ndarray:
    """``I_j(x)`` for every point and target (n × targets)."""
    mean, sd = emulator.predict(points)
    return np.abs(observed - mean) / np.sqrt(sd**2 + tolerance**2)


def history_matching(
    simulate: Simulate,
    box: Box,
    observed: np.ndarray,
    tolerance: np.ndarray,
    labels: list[str],
    settings: HistoryMatchingSettings,
    rng: np.random.Generator,
) -> HistoryMatchingResult:
    """Run the waves; stop early when every candidate is ruled out."""
    candidates = box.sample(settings.candidates, rng)
    inside = np.ones(len(candidates), dtype=bool)
    run_index: list[np.ndarray] = []
    summaries: list[np.ndarray] = []
    waves, validations, emulators = [], [], []
    for wave in range(1, settings.waves + 1):
        pool = np.flatnonzero(inside)
        if not len(pool):
            break
        chosen = rng.choice(pool, size=min(settings.points, len(pool)), replace=False)
        step = settings.batch_size
        values = np.vstack(
            [
                simulate(candidates[chosen[i : i + step]], f"hm_{wave:02d}_{k:04d}")
                for k, i in enumerate(range(0, len(chosen), step))
            ]
        )
        run_index.append(chosen)
        summaries.append(values)
        known, known_values = np.concatenate(run_index), np.vstack(summaries)
        train = inside[known]  # every run so far that earlier waves did not rule out
        x, y = candidates[known[train]], known_values[train]
        order = rng.permutation(len(x))
        held = order[: max(2, round(settings.holdout * len(x)))]
        fitted = order[len(held) :]
        emulator = GaussianProcessEmulator(box, labels, seed=int(rng.integers(2**31))).fit(x[fitted], y[fitted])
        validations.append(validate(emulator, x[held], y[held]).assign(wave=wave))
        emulator.fit(x, y)  # validated on the held-out runs; then trained on all of them
        emulators.append(emulator)
        before = int(inside.sum())
        cut = implausibility(emulator, candidates[inside], observed, tolerance).max(axis=1) <= settings.cutoff
        inside[np.flatnonzero(inside)[~cut]] = False
        waves.append(
            {
                "wave": wave,
                "runs_points": len(chosen),
                "training_points": len(x),
                "nroy_before": before / len(candidates),
                "nroy_after": float(inside.mean()),
            }
        )
    known = np.concatenate(run_index)
    return HistoryMatchingResult(
        points=candidates[known],
        summaries=np.vstack(summaries),
        nroy=candidates[inside],
        waves=pd.DataFrame(waves),
        validation=pd.concat(validations, ignore_index=True),
        emulators=emulators,
    )
