"""Diagnostics of a posterior: simulation-based calibration, coverage, misspecification, identifiability.

- :func:`sbc_ranks` and :func:`rank_uniformity`: simulation-based calibration (Talts et al. 2018): for
  parameters drawn from the prior and data simulated from them, the rank of each true value among
  posterior samples is uniform when the posterior is calibrated.
- :func:`expected_coverage`: the share of true values inside the central credible interval at each
  level, read from the same ranks (a calibrated posterior lies on the diagonal; below it is overconfident).
- :func:`misspecification`: is the observed target vector unlike anything the model simulated?
- :func:`identifiability`: which parameters and which combinations the data constrain, from the
  posterior's contraction against the prior and its correlations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from loyaltysim.analysis.inference.posterior import Box

__all__ = ["expected_coverage", "identifiability", "misspecification", "rank_uniformity", "sbc_ranks"]

IDENTIFIED_CONTRACTION = 0.5
"""A parameter (or direction) counts as identified when its posterior variance is at most half the prior's."""
RIDGE_CORRELATION = 0.6
"""Posterior correlations at least this strong (in absolute value) are reported as ridges."""


def sbc_ranks(truths: np.ndarray, posterior_samples: np.ndarray) -> np.ndarray:
    """Rank of each true value among its posterior samples: ``truths`` (m × d), samples (m × L × d) → ranks (m × d) in 0..L."""
    return np.sum(posterior_samples < truths[:, None, :], axis=1)


def rank_uniformity(ranks: np.ndarray, samples: int, names: list[str], *, bins: int = 10) -> pd.DataFrame:
    """Per parameter: a chi-square test that the SBC ranks (0..``samples``) are uniform over ``bins`` bins."""
    rows = []
    for j, name in enumerate(names):
        counts = np.bincount(np.minimum(ranks[:, j] * bins // (samples + 1), bins - 1), minlength=bins)
        chi2, p = stats.chisquare(counts)
        rows.append({"parameter": name, "chi2": float(chi2), "p_value": float(p), "bins": bins, "points": len(ranks)})
    return pd.DataFrame(rows)


def expected_coverage(ranks: np.ndarray, samples: int, names: list[str], levels: np.ndarray | None = None) -> pd.DataFrame:
    """Share of true values inside the central credible interval at each level, per parameter, from the SBC ranks.

    A true value lies inside the central interval at level ``a`` when its rank quantile is within
    ``[(1 − a)/2, (1 + a)/2]``. Returns parameter, level, coverage and the binomial standard error.
    """
    levels = np.round(np.arange(0.1, 1.0, 0.1), 2) if levels is None else np.asarray(levels)
    quantile = (ranks + 0.5) / (samples + 1)
    rows = []
    for j, name in enumerate(names):
        for level in levels:
            inside = np.abs(quantile[:, j] - 0.5) <= level / 2
            covered = float(inside.mean())
            rows.append(
                {
                    "parameter": name,
                    "level": float(level),
                    "coverage": covered,
                    "se": float(np.sqrt(level * (1 - level) / len(ranks))),
                }
            )
    return pd.DataFrame(rows)


def misspecification(simulated: np.ndarray, observed: np.ndarray, labels: list[str], *, alpha: float = 0.01) -> dict:
    """Is the observed target vector unlike the simulated ones (prior predictive)?

    Each target is standardised by the median and MAD of the simulations; the observed point's
    Mahalanobis distance (covariance of the standardised simulations) is compared with every
    simulation's own distance: the p-value is the share of simulations at least as far out. Per
    target, the observed value's quantile among the simulations shows which target is out of reach.

    Returns ``{"p_value", "distance", "flagged", "alpha", "simulations", "targets": DataFrame}``.
    """
    finite = simulated[np.all(np.isfinite(simulated), axis=1)]
    centre = np.median(finite, axis=0)
    spread = np.median(np.abs(finite - centre), axis=0)
    spread = np.where(spread > 0, spread, np.std(finite, axis=0) + 1e-12)
    z, z_obs = (finite - centre) / spread, (observed - centre) / spread
    cov = np.atleast_2d(np.cov(z, rowvar=False)) + 1e-9 * np.eye(z.shape[1])
    inverse = np.linalg.pinv(cov)
    mean = z.mean(axis=0)
    own = np.einsum("ij,jk,ik->i", z - mean, inverse, z - mean)
    d_obs = float((z_obs - mean) @ inverse @ (z_obs - mean))
    p_value = float((1 + np.sum(own >= d_obs)) / (len(own) + 1))
    below = (finite < observed).mean(axis=0)
    targets = pd.DataFrame(
        {
            "target": labels,
            "observed": observed,
            "simulated_low": finite.min(axis=0),
            "simulated_median": centre,
            "simulated_high": finite.max(axis=0),
            "share_below": below,
            "outside_simulated": (observed < finite.min(axis=0)) | (observed > finite.max(axis=0)),
        }
    )
    return {
        "p_value": p_value,
        "distance": float(np.sqrt(d_obs)),
        "flagged": p_value < alpha,
        "alpha": alpha,
        "simulations": len(finite),
        "targets": targets,
    }


def _combination(vector: np.ndarray, names: list[str]) -> str:
    """A direction as a readable combination of the (standardised) parameters with loadings ≥ 0.3."""
    vector = vector * np.sign(vector[np.argmax(np.abs(vector))])
    terms = [f"{v:+.2f}·{name}" for v, name in zip(vector, names, strict=True) if abs(v) >= 0.3]
    return " ".join(terms)


def identifiability(particles: np.ndarray, weights: np.ndarray, box: Box) -> dict:
    """Which parameters, and which combinations of them, the posterior constrains.

    Coordinates are standardised by the prior's standard deviation (search scale: log10 for
    log-scale parameters), so the prior has unit variance in every direction. A parameter is
    identified when its posterior variance is at most half the prior's (contraction ≥ 0.5).
    The posterior covariance's principal directions with variance above half the prior's are the
    *non-identified combinations*; strongly correlated pairs are ridges in the posterior.

    Returns ``{"parameters": DataFrame, "directions": DataFrame, "ridges": DataFrame}``.
    """
    names = box.names
    u = particles / np.sqrt(box.variance())
    cov = np.atleast_2d(np.cov(u, rowvar=False, aweights=weights))
    sd = np.sqrt(np.diag(cov))
    contraction = 1.0 - np.diag(cov)
    parameters = pd.DataFrame(
        {
            "parameter": names,
            "posterior_sd_over_prior_sd": sd,
            "contraction": contraction,
            "identified": contraction >= IDENTIFIED_CONTRACTION,
        }
    )
    variance, vectors = np.linalg.eigh(cov)
    directions = pd.DataFrame(
        {
            "combination": [_combination(vectors[:, i], names) for i in range(len(names))],
            "posterior_variance_over_prior": variance,
            "identified": 1.0 - variance >= IDENTIFIED_CONTRACTION,
        }
    ).sort_values("posterior_variance_over_prior", ascending=False, ignore_index=True)
    corr = cov / np.outer(sd, sd)
    ridges = pd.DataFrame(
        [
            {"a": names[i], "b": names[j], "correlation": float(corr[i, j])}
            for i in range(len(names))
            for j in range(i + 1, len(names))
            if abs(corr[i, j]) >= RIDGE_CORRELATION
        ],
        columns=["a", "b", "correlation"],
    )
    return {"parameters": parameters, "directions": directions, "ridges": ridges, "correlation": corr}
