"""What a survey at the end of a run would collect: each customer's stated repurchase intention.

The model's attitudinal loyalty (``loyalty`` in :meth:`LoyaltyModel.customers`) is the output of the
satisfaction → loyalty link (mixed with trust and habit where their weights are not 0). A survey cannot
read it directly: it asks "how likely are you to buy from <firm> again?" on a 0–10 scale. Each customer
answers ``Binomial(10, loyalty)``, so the answer's mean is exactly the customer's loyalty and its
spread is that of an 11-point scale. The answers are drawn from their own generator, seeded from the
run's seed, so the model's own draws (and every other result of the run) are unchanged.

:func:`intention_bins` pools the answers by satisfaction bin (the bins of the retention curve), the
per-run table the ``nonlinear_link`` hypothesis test reads (columns of ``curves.parquet``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loyaltysim.model.jit import compiled

__all__ = ["INTENTION_COLUMNS", "INTENTION_SCALE", "SURVEY_STREAM", "intention_bins", "intention_columns", "stated_intention"]

INTENTION_SCALE = 10
"""Answers run from 0 (certainly not) to 10 (certainly): an 11-point scale."""
SURVEY_STREAM = 0x5E1F
"""Spawn key of the survey's generator under the run's seed (apart from every stream of the model)."""
INTENTION_COLUMNS = ("respondents", "satisfaction_mean", "intention_mean", "intention_var")
"""The columns :func:`intention_bins` adds to each satisfaction bin."""


def stated_intention(loyalty: np.ndarray, seed: int) -> np.ndarray:
    """Each customer's answer on the 0–10 scale, divided by 10 (so it is on the loyalty scale, 0–1)."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(SURVEY_STREAM,)))
    p = np.clip(np.asarray(loyalty, dtype=np.float64), 0.0, 1.0)
    return rng.binomial(INTENTION_SCALE, p) / INTENTION_SCALE


def intention_bins(customers: pd.DataFrame, seed: int, bins: int = 20) -> pd.DataFrame:
    """Stated intention by satisfaction bin of width ``1 / bins``: one row per bin.

    Parameters
    ----------
    customers
        One row per customer with ``satisfaction`` and ``loyalty`` (:meth:`LoyaltyModel.customers`).
    seed
        The run's seed (the survey's draws derive from it).

    Returns
    -------
    DataFrame
        ``satisfaction_low``, ``respondents``, ``satisfaction_mean`` (mean latent satisfaction of the bin's
        respondents), ``intention_mean`` and ``intention_var`` (mean and variance of their answers, 0–1); NaN
        where a bin has no respondent.
    """
    satisfaction = customers["satisfaction"].to_numpy(dtype=np.float64)
    columns = intention_columns(satisfaction, customers["loyalty"].to_numpy(), seed, bins)
    return pd.DataFrame({"satisfaction_low": np.linspace(0.0, 1.0, bins + 1)[:-1], **columns})


def intention_columns(
    satisfaction: NDArray[np.float64], loyalty: NDArray[np.float64], seed: int, bins: int = 20
) -> dict[str, NDArray]:
    """:func:`intention_bins` but ``satisfaction_low``, column by column (:data:`INTENTION_COLUMNS`), from the
    customers' satisfaction and loyalty arrays."""
    satisfaction = np.asarray(satisfaction, dtype=np.float64)
    answers = stated_intention(loyalty, seed)
    index = np.clip(np.floor(satisfaction * bins).astype(np.int64), 0, bins - 1)
    respondents, satisfaction_sum, answer_sum, answer_squares = _bin_moments(index, satisfaction, answers, bins)
    answered = respondents > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "respondents": respondents,
            "satisfaction_mean": np.where(answered, satisfaction_sum / respondents, np.nan),
            "intention_mean": np.where(answered, answer_sum / respondents, np.nan),
            "intention_var": np.where(answered, answer_squares / respondents, np.nan),
        }


def _bin_moments(
    index: NDArray[np.int64], satisfaction: NDArray[np.float64], answers: NDArray[np.float64], bins: int
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per bin: respondents, the sums of satisfaction and answers, and the answers' sum of squared deviations
    from their mean, in one pass in customer order with pandas' own arithmetic (Kahan-compensated sums,
    Welford's update), so the means and variances equal a pandas ``groupby`` to the last bit (tested)."""
    respondents = np.zeros(bins, np.int64)
    sums = np.zeros((2, bins))
    compensation = np.zeros((2, bins))
    mean = np.zeros(bins)
    squares = np.zeros(bins)
    for i in range(index.shape[0]):
        b = index[i]
        respondents[b] += 1
        for column, value in enumerate((satisfaction[i], answers[i])):
            step = value - compensation[column, b]
            total = sums[column, b] + step
            compensation[column, b] = total - sums[column, b] - step
            sums[column, b] = total
        previous = mean[b]
        mean[b] += (answers[i] - previous) / respondents[b]
        squares[b] += (answers[i] - mean[b]) * (answers[i] - previous)
    return respondents, sums[0], sums[1], squares


_bin_moments = compiled(_bin_moments)
