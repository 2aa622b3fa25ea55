"""The Bayesian calibration methods over a ``simulate(points, batch)`` function, each with its checks.

Each method returns a :class:`BayesianResult`: posterior draws (search coordinates) with weights,
the prior-predictive simulations it saw (for the misspecification check), a table of what it did,
and the diagnostics it can give (simulation-based calibration and coverage for NPE; validation of
the emulators and the share of space ruled out by each wave for history matching).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.analysis.inference.abc_smc import abc_smc
from loyaltysim.analysis.inference.diagnostics import (
    expected_coverage,
    identifiability,
    misspecification,
    rank_uniformity,
    sbc_ranks,
)
from loyaltysim.analysis.inference.npe import AmortisedPosterior, train_npe
from loyaltysim.analysis.inference.posterior import Box, Simulate
from loyaltysim.analysis.inference.settings import AbcSmcSettings, NpeSettings

__all__ = ["BayesianResult", "Observed", "check_posterior", "predictive_table", "run_abc_smc", "run_npe"]


@dataclass(frozen=True)
class Observed:
    """The targets as the methods see them: labels, values, scales (tolerances) and weights."""

    labels: list[str]
    values: np.ndarray
    scales: np.ndarray
    weights: np.ndarray


@dataclass
class BayesianResult:
    """Posterior draws (search coordinates) and weights, with what the method did and its diagnostics."""

    particles: np.ndarray
    weights: np.ndarray
    prior_summaries: np.ndarray
    details: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    posterior: AmortisedPosterior | None = None


def run_abc_smc(
    simulate: Simulate, box: Box, observed: Observed, settings: AbcSmcSettings, rng: np.random.Generator
) -> BayesianResult:
    """ABC-SMC (:func:`~loyaltysim.analysis.inference.abc_smc.abc_smc`); tables: ``generations``."""
    result = abc_smc(simulate, box, observed.values, scale=observed.scales, weight=observed.weights, settings=settings, rng=rng)
    last = result.generations.iloc[-1]
    details = {
        "simulated_points": result.simulations,
        "generations": len(result.generations),
        "final_epsilon": float(last["epsilon"]),
        "final_acceptance": float(last["acceptance"]),
        "effective_sample_size": float(last["ess"]),
        "stopped": result.stopped,
    }
    return BayesianResult(
        particles=result.particles,
        weights=result.weights,
        prior_summaries=result.prior_summaries,
        details=details,
        tables={"generations": result.generations},
    )


def _training_set(simulate: Simulate, box: Box, settings: NpeSettings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``settings.simulations`` prior draws and their simulated targets, in batches."""
    theta = box.sample(settings.simulations, rng)
    step = settings.batch_size
    x = np.vstack([simulate(theta[i : i + step], f"npe_{k:04d}") for k, i in enumerate(range(0, len(theta), step))])
    return theta, x


def sbc_tables(posterior: AmortisedPosterior, samples: int, *, seed: int) -> dict[str, pd.DataFrame]:
    """Simulation-based calibration on the held-out simulations: ranks, their uniformity, expected coverage."""
    theta, x = posterior.simulations
    held = posterior.holdout[np.all(np.isfinite(x[posterior.holdout]), axis=1)]
    draws = posterior.sample_many(x[held], samples, seed=seed)
    ranks = sbc_ranks(theta[held], draws)
    names = posterior.box.names
    return {
        "sbc_ranks": pd.DataFrame(ranks, columns=names),
        "sbc_uniformity": rank_uniformity(ranks, samples, names),
        "coverage": expected_coverage(ranks, samples, names),
    }


def run_npe(
    simulate: Simulate,
    box: Box,
    observed: Observed,
    settings: NpeSettings,
    rng: np.random.Generator,
    *,
    seed: int,
    reuse: AmortisedPosterior | None = None,
) -> BayesianResult:
    """Neural posterior estimation: simulate a training set (or ``reuse`` a trained posterior), train, sample.

    A share ``settings.validation`` of the simulations is held out of training for simulation-based
    calibration; tables: ``sbc_ranks``, ``sbc_uniformity``, ``coverage``.
    """
    if reuse is None:
        theta, x = _training_set(simulate, box, settings, rng)
        order = rng.permutation(len(theta))
        held = round(settings.validation * len(theta))
        holdout, train = order[:held], order[held:]
        posterior = train_npe(theta[train], x[train], box, observed.labels, settings, seed=seed)
        posterior.simulations, posterior.holdout = (theta, x), holdout
    else:
        posterior = reuse
    particles = posterior.sample(observed.values, settings.posterior_samples, seed=seed + 1)
    _, x = posterior.simulations
    details = {
        "simulated_points": 0 if reuse is not None else len(x),
        "reused": reuse is not None,
        **{f"training_{k}": v for k, v in posterior.training.items()},
        "held_out": len(posterior.holdout),
    }
    return BayesianResult(
        particles=particles,
        weights=np.full(len(particles), 1.0 / len(particles)),
        prior_summaries=x,
        details=details,
        tables=sbc_tables(posterior, settings.sbc_samples, seed=seed + 2),
        posterior=posterior,
    )


def predictive_table(summaries: np.ndarray, observed: Observed, level: float) -> pd.DataFrame:
    """Posterior predictive check per target: where the observed value falls among the predictive runs.

    ``summaries`` holds one row per posterior draw (its targets simulated with fresh seeds). A target
    passes when its observed value lies inside the central ``level`` interval of the predictive values;
    ``p_value`` is the two-sided predictive p-value ``2 · min(P(sim ≤ obs), P(sim ≥ obs))``.
    """
    tail = (1.0 - level) / 2.0
    rows = []
    for j, label in enumerate(observed.labels):
        values = summaries[:, j][np.isfinite(summaries[:, j])]
        obs = observed.values[j]
        if not len(values):
            rows.append({"target": label, "observed": obs, "draws": 0, "inside": False})
            continue
        low, median, high = np.quantile(values, [tail, 0.5, 1.0 - tail])
        p = min(1.0, 2.0 * min(np.mean(values <= obs), np.mean(values >= obs)))
        rows.append(
            {
                "target": label,
                "observed": obs,
                "predictive_median": median,
                "predictive_low": low,
                "predictive_high": high,
                "p_value": p,
                "draws": len(values),
                "inside": bool(low <= obs <= high),
            }
        )
    return pd.DataFrame(rows)


def check_posterior(result: BayesianResult, box: Box, observed: Observed) -> dict[str, Any]:
    """Identifiability of the posterior and the misspecification check of the observed targets."""
    return {
        "identifiability": identifiability(result.particles, result.weights, box),
        "misspecification": misspecification(result.prior_summaries, observed.values, observed.labels),
    }
