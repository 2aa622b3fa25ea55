"""The settings of the Bayesian calibration methods, as they appear in a calibration file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AbcSmcSettings", "HistoryMatchingSettings", "NpeSettings", "PredictiveSettings", "Strict"]


class Strict(BaseModel):
    """A frozen settings block that refuses unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Level = Annotated[float, Field(gt=0.0, lt=1.0)]


class AbcSmcSettings(Strict):
    """ABC-SMC (Beaumont et al. 2009; Del Moral et al. 2012) with an adaptive distance (Prangle 2017)."""

    population: Annotated[int, Field(ge=8)] = Field(200, description="accepted particles per generation")
    generations: Annotated[int, Field(ge=1)] = Field(8, description="maximum number of generations (the first samples the prior)")
    quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.5, description="next epsilon: this quantile of the accepted distances (under the updated distance)"
    )
    adaptive_distance: bool = Field(True, description="rescale each target by the MAD of the last generation's simulations")
    min_acceptance: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.02, description="stop when a generation accepts fewer proposals than this share"
    )
    max_simulations: Annotated[int, Field(ge=1)] | None = Field(None, description="stop before exceeding this many points")
    batch_size: Annotated[int, Field(ge=1)] = Field(64, description="proposals per batch of runs")
    level: Level = Field(0.9, description="credible level of the reported intervals")


class NpeSettings(Strict):
    """Neural posterior estimation (sbi, CPU torch): one amortised posterior from a simulated training set."""

    simulations: Annotated[int, Field(ge=20)] = Field(1000, description="training points drawn from the prior")
    estimator: Literal["maf", "nsf", "mdn"] = Field("maf", description="sbi density estimator")
    validation: Annotated[float, Field(gt=0.0, lt=0.5)] = Field(
        0.1, description="share of the simulations held out from training for the SBC and coverage diagnostics"
    )
    posterior_samples: Annotated[int, Field(ge=100)] = Field(4000, description="samples drawn given the targets")
    sbc_samples: Annotated[int, Field(ge=20)] = Field(500, description="posterior samples per held-out point (SBC ranks)")
    max_epochs: Annotated[int, Field(ge=1)] = Field(500, description="training stops earlier when validation loss stalls")
    batch_size: Annotated[int, Field(ge=1)] = Field(64, description="points per batch of runs")
    reuse: str | None = Field(
        None,
        description="results folder of an earlier npe calibration (relative to the current folder, like --out): "
        "reuse its trained posterior (no training runs)",
    )
    level: Level = Field(0.9, description="credible level of the reported intervals")


class HistoryMatchingSettings(Strict):
    """History matching in waves with Gaussian-process emulators (Andrianakis et al. 2015)."""

    waves: Annotated[int, Field(ge=1)] = Field(3, description="waves of runs, emulators and cut-offs")
    points: Annotated[int, Field(ge=8)] = Field(64, description="design points run per wave, drawn from the NROY candidates")
    cutoff: Annotated[float, Field(gt=0.0)] = Field(3.0, description="implausibility cut-off (Pukelsheim's three-sigma rule)")
    candidates: Annotated[int, Field(ge=100)] = Field(20000, description="candidate points that map the NROY space")
    holdout: Annotated[float, Field(gt=0.0, lt=0.5)] = Field(0.2, description="share of each wave's runs held out to validate")
    batch_size: Annotated[int, Field(ge=1)] = Field(64, description="points per batch of runs")


class PredictiveSettings(Strict):
    """Posterior predictive runs: parameters drawn from the posterior, run with fresh seeds, checked against the targets."""

    draws: Annotated[int, Field(ge=0)] = Field(20, description="posterior draws run (0: none)")
    level: Level = Field(0.9, description="a target inside this central interval of the predictive runs passes")
