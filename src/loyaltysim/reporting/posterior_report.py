"""The report sections of a Bayesian calibration: posterior, identifiability, misspecification, predictive
check, the method's own diagnostics (ABC-SMC generations, NPE calibration, history-matching waves)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyaltysim.analysis.calibration import CalibrationResult
from loyaltysim.reporting.figures.posterior import coverage_figure, pairs_figure, predictive_figure, rank_histogram_figure
from loyaltysim.reporting.render import Block, Figure, Heading, Paragraph, Table

__all__ = ["posterior_blocks"]


def _formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers to 4 significant digits, booleans as yes/no."""

    def cell(value: object) -> object:
        if isinstance(value, bool | np.bool_):
            return "yes" if value else "no"
        if isinstance(value, float | np.floating):
            return "–" if not np.isfinite(value) else f"{value:.4g}"
        return value

    return frame.map(cell)


def _table(frame: pd.DataFrame) -> Table:
    align = "".join("r" if pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) else "l" for t in frame.dtypes)
    return Table(_formatted(frame), align=align)


def _bounds(result: CalibrationResult) -> dict[str, tuple[float, float]]:
    return {name: (p.low, p.high) for name, p in result.calibration.spec.parameters.items()}


def _log_scale(result: CalibrationResult) -> set[str]:
    return {name for name, p in result.calibration.spec.parameters.items() if p.log}


def _identifiability(result: CalibrationResult) -> list[Block]:
    found = result.checks["identifiability"]
    parameters, directions, ridges = found["parameters"], found["directions"], found["ridges"]
    blocks: list[Block] = [
        Heading("Identifiability"),
        Paragraph(
            "Contraction = 1 − posterior variance / prior variance (search scale, log10 for log parameters): "
            "a parameter counts as identified at ≥ 0.5. Directions are the posterior's principal axes in "
            "prior-standardised coordinates; one whose variance stays above half the prior's is a **non-identified "
            "combination** of the parameters named in it."
        ),
        _table(parameters),
    ]
    loose = directions[~directions["identified"]]
    if len(loose) and len(loose) < len(directions):
        names = "; ".join(f"`{c}`" for c in loose["combination"])
        blocks.append(Paragraph(f"Not identified by these targets: {names}."))
    elif len(loose):
        blocks.append(Paragraph("No direction of the parameter space is identified: the targets barely constrain the posterior."))
    if len(ridges):
        pairs = ", ".join(f"`{a}` × `{b}` (r = {r:+.2f})" for a, b, r in ridges.itertuples(index=False))
        blocks.append(Paragraph(f"Posterior ridges (|correlation| ≥ 0.6): {pairs}."))
    blocks.append(_table(directions))
    return blocks


def _misspecification(result: CalibrationResult) -> list[Block]:
    found = result.checks["misspecification"]
    verdict = (
        f"**The targets are unlike anything simulated** (p = {found['p_value']:.3g} < {found['alpha']}): "
        "no parameter value in the prior box reproduces them together; read the posterior as the least-bad region, "
        "not as the truth."
        if found["flagged"]
        else f"The targets lie within the spread of the simulations (p = {found['p_value']:.3g})."
    )
    outside = found["targets"][found["targets"]["outside_simulated"]]["target"]
    blocks: list[Block] = [
        Heading("Misspecification check"),
        Paragraph(
            f"Robust Mahalanobis distance of the targets to {found['simulations']} prior-predictive simulations; "
            f"p = share of simulations at least as far out. {verdict}"
        ),
    ]
    if len(outside):
        blocks.append(Paragraph(f"Outside the simulated range: {', '.join(f'`{t}`' for t in outside)}."))
    blocks.append(_table(found["targets"]))
    return blocks


def _predictive(result: CalibrationResult) -> list[Block]:
    predictive = result.tables.get("predictive")
    if predictive is None or not len(predictive):
        return []
    spec = result.calibration.spec
    level = spec.predictive.level
    misses = predictive[~predictive["inside"]]["target"]
    verdict = "every target inside" if not len(misses) else f"outside: {', '.join(f'`{t}`' for t in misses)}"
    return [
        Heading("Posterior predictive check"),
        Paragraph(
            f"{spec.predictive.draws} posterior draws, each run {spec.replicates}× with fresh seeds; a target passes "
            f"when it lies inside the central {level:.0%} interval of the predictive values ({verdict})."
        ),
        _table(predictive),
        Figure("predictive.png", "Posterior predictive intervals and the targets", predictive_figure(predictive)),
    ]


def _method(result: CalibrationResult) -> list[Block]:
    tables, method = result.tables, result.calibration.spec.method
    if method == "abc-smc":
        return [
            Heading("ABC-SMC generations"),
            Paragraph(f"Stopped: {result.details['stopped']}."),
            _table(tables["generations"]),
        ]
    if method == "npe":
        details = result.details
        trained = (
            "reused from an earlier calibration (no training runs)"
            if details["reused"]
            else f"trained on {details['training_points']} simulations ({details['training_epochs']} epochs, "
            f"converged: {details['training_converged']})"
        )
        spec = result.calibration.spec.npe
        return [
            Heading("Neural posterior estimation: calibration of the estimator"),
            Paragraph(
                f"sbi NPE ({details['training_estimator']}), {trained}. Simulation-based calibration on {details['held_out']} "
                f"held-out simulations, {spec.sbc_samples} posterior samples each: the ranks of the true parameters are "
                "uniform, and the coverage curve on the diagonal, when the posterior is calibrated (below the diagonal: "
                "overconfident)."
            ),
            _table(tables["sbc_uniformity"]),
            Figure("sbc_ranks.png", "SBC rank histograms", rank_histogram_figure(tables["sbc_ranks"], spec.sbc_samples)),
            Figure("coverage.png", "Expected coverage of central credible intervals", coverage_figure(tables["coverage"])),
        ]
    return []


def _history_matching(result: CalibrationResult) -> list[Block]:
    tables, spec = result.tables, result.calibration.spec.history_matching
    blocks: list[Block] = [
        Heading("History matching"),
        Paragraph(
            f"Implausibility cut-off {spec.cutoff:g} (max over targets); {spec.candidates} candidate points map the "
            f"space; `nroy_after` is the share not ruled out after each wave."
        ),
        _table(tables["waves"]),
        Heading("Emulator validation (held-out runs)", 3),
        Paragraph("Standardised errors should have mean ≈ 0 and sd ≈ 1, with about 95% within ±2."),
        _table(tables["emulator_validation"]),
        Heading("Not-ruled-out-yet region", 3),
        Paragraph("Its bounding box is a narrower prior for a following calibration."),
        _table(tables["nroy_bounds"]),
    ]
    if len(tables["nroy"]) > 1:
        shown = tables["nroy"].sample(min(2000, len(tables["nroy"])), random_state=0)
        figure = pairs_figure(
            shown, result.calibration.names, log_scale=_log_scale(result), bounds=_bounds(result), title="NROY region"
        )
        blocks.append(Figure("nroy.png", "Points not ruled out after the last wave, within the prior box", figure))
    return blocks


def posterior_blocks(result: CalibrationResult) -> list[Block]:
    """Every Bayesian section that applies to ``result`` (none for differential evolution)."""
    blocks: list[Block] = []
    if result.posterior is not None and "identifiability" in result.checks:
        weights = result.posterior["weight"].to_numpy() if "weight" in result.posterior else None
        figure = pairs_figure(
            result.posterior, result.calibration.names, weights=weights, log_scale=_log_scale(result), bounds=_bounds(result)
        )
        blocks += [Figure("pairs.png", "Posterior pair plot within the prior box", figure), *_identifiability(result)]
    if result.calibration.spec.method == "history-matching":
        blocks += _history_matching(result)
    blocks += _method(result)
    if "misspecification" in result.checks:
        blocks += _misspecification(result)
    blocks += _predictive(result)
    return blocks
