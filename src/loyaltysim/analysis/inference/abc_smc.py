"""ABC-SMC with an adaptive distance and an adaptive epsilon schedule, on batches of simulations.

The algorithm is population Monte Carlo ABC (Beaumont, Cornuet, Marin & Robert 2009): generation 0
samples the prior; each later generation perturbs particles of the previous one with a Gaussian
kernel of twice their weighted covariance, keeps proposals whose distance to the observed targets
is at most epsilon, and weights them by prior / proposal density. The distance is a weighted
Euclidean norm whose scales are re-estimated after every generation as the median absolute
deviation of that generation's simulations (Prangle 2017, as ``pyabc.AdaptivePNormDistance``), and
the next epsilon is a quantile of the accepted particles' distances under the new scales (as
``pyabc.QuantileEpsilon``).

Why not pyabc itself: its samplers call an opaque per-particle closure (propose, simulate and
accept in one call) on their own workers, draw from NumPy's global generator (re-seeded from the
operating system in the multicore samplers) and keep state in an SQL database, so its simulations
cannot go through loyaltysim's engine in deterministic, resumable batches. Here proposals are drawn
from one seeded generator, a batch at a time, so a replay asks for the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import multivariate_normal

from loyaltysim.analysis.inference.posterior import Box, Simulate, weighted_quantile
from loyaltysim.analysis.inference.settings import AbcSmcSettings

__all__ = ["SmcResult", "abc_smc", "distances", "mad_scale"]


@dataclass
class SmcResult:
    """The last complete population (search coordinates), its weights, and what each generation did."""

    particles: np.ndarray
    weights: np.ndarray
    generations: pd.DataFrame
    prior_summaries: np.ndarray
    simulations: int
    stopped: str


def mad_scale(summaries: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Median absolute deviation of each summary (column), ignoring NaN; ``fallback`` where it is 0 or undefined."""
    with np.errstate(all="ignore"):
        finite = summaries[np.all(np.isfinite(summaries), axis=1)]
        if not len(finite):
            return fallback
        mad = np.median(np.abs(finite - np.median(finite, axis=0)), axis=0)
    return np.where(np.isfinite(mad) & (mad > 0), mad, fallback)


def distances(summaries: np.ndarray, observed: np.ndarray, scale: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``sqrt(Σ weight · ((summary − observed) / scale)²)`` per row; infinite where a summary is missing."""
    d = np.sqrt(np.sum(weight * ((summaries - observed) / scale) ** 2, axis=1))
    return np.where(np.isfinite(d), d, np.inf)


def _proposals(
    particles: np.ndarray, weights: np.ndarray, cov: np.ndarray, box: Box, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` perturbed particles inside the box (ancestors drawn by weight, Gaussian kernel, redrawn if outside)."""
    out = np.empty((0, particles.shape[1]))
    while len(out) < n:
        ancestors = rng.choice(len(particles), size=n, p=weights)
        moved = particles[ancestors] + rng.multivariate_normal(np.zeros(particles.shape[1]), cov, size=n, method="cholesky")
        out = np.vstack([out, moved[box.contains(moved)]])
    return out[:n]


def _kernel_cov(particles: np.ndarray, weights: np.ndarray, box: Box) -> np.ndarray:
    """Twice the weighted covariance (Beaumont et al. 2009), kept positive definite."""
    cov = 2.0 * np.atleast_2d(np.cov(particles, rowvar=False, aweights=weights))
    return cov + np.diag((1e-6 * box.width) ** 2)


def abc_smc(
    simulate: Simulate,
    box: Box,
    observed: np.ndarray,
    *,
    scale: np.ndarray,
    weight: np.ndarray,
    settings: AbcSmcSettings,
    rng: np.random.Generator,
) -> SmcResult:
    """Run ABC-SMC; the posterior is the last complete population.

    Parameters
    ----------
    simulate
        Batches of points → summaries (see :data:`~loyaltysim.analysis.inference.posterior.Simulate`).
    box
        The uniform prior in search coordinates.
    observed
        The targets (k values).
    scale
        Initial scale of each target's deviation (the targets' tolerances); kept when
        ``settings.adaptive_distance`` is false.
    weight
        The targets' weights in the distance.
    settings
        Population size, generations, epsilon quantile, stopping rules, batch size.
    rng
        Draws every proposal (a replay with the same generator asks for the same batches).
    """
    n = settings.population
    particles = box.sample(n, rng)
    summaries = simulate(particles, "smc_00_0000")
    prior_summaries = summaries
    weights = np.full(n, 1.0 / n)
    count = n
    if settings.adaptive_distance:
        scale = mad_scale(summaries, scale)
    accepted_distance = distances(summaries, observed, scale, weight)
    finite = np.isfinite(accepted_distance)
    epsilon = float(weighted_quantile(accepted_distance[finite], weights[finite], settings.quantile)) if finite.any() else np.inf
    rows = [{"generation": 0, "epsilon": np.inf, "proposals": n, "accepted": n, "acceptance": 1.0, "ess": float(n)}]
    stopped = f"reached {settings.generations} generations"
    for t in range(1, settings.generations):
        cov = _kernel_cov(particles, weights, box)
        new_particles, new_summaries, all_summaries, proposals, batch = [], [], [], 0, 0
        exhausted = False
        while sum(len(p) for p in new_particles) < n:
            size = settings.batch_size
            if settings.max_simulations is not None and count + size > settings.max_simulations:
                exhausted = True
                break
            points = _proposals(particles, weights, cov, box, size, rng)
            sims = simulate(points, f"smc_{t:02d}_{batch:04d}")
            batch, proposals, count = batch + 1, proposals + size, count + size
            keep = distances(sims, observed, scale, weight) <= epsilon
            new_particles.append(points[keep])
            new_summaries.append(sims[keep])
            all_summaries.append(sims)
        if exhausted:
            stopped = f"simulation budget ({settings.max_simulations} points) reached during generation {t}"
            break
        candidates = np.vstack(new_particles)[:n]
        kept_summaries = np.vstack(new_summaries)[:n]
        kernel = multivariate_normal(np.zeros(box.low.size), cov)
        density = np.array([np.sum(weights * kernel.pdf(candidates[i] - particles)) for i in range(n)])
        new_weights = 1.0 / density
        particles, weights = candidates, new_weights / new_weights.sum()
        acceptance = n / proposals
        rows.append(
            {
                "generation": t,
                "epsilon": epsilon,
                "proposals": proposals,
                "accepted": n,
                "acceptance": acceptance,
                "ess": float(1.0 / np.sum(weights**2)),
            }
        )
        if settings.adaptive_distance:
            scale = mad_scale(np.vstack(all_summaries), scale)
        accepted_distance = distances(kept_summaries, observed, scale, weight)
        epsilon = float(weighted_quantile(accepted_distance, weights, settings.quantile))
        if acceptance < settings.min_acceptance:
            stopped = f"acceptance {acceptance:.3g} fell below {settings.min_acceptance:g} in generation {t}"
            break
    return SmcResult(
        particles=particles,
        weights=weights,
        generations=pd.DataFrame(rows),
        prior_summaries=prior_summaries,
        simulations=count,
        stopped=stopped,
    )
