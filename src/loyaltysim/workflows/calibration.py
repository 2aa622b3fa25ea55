"""A calibration from file to written results: run it through the sweep engine, then write its tables,
figures, ``calibrated.yaml`` and report.

Folder layout (``results/<name>/`` by default)::

    calibration.json      the calibration file as validated (defaults filled in) + base config hash
    batches/*.parquet     finished batches of runs (reused by --resume)
    evaluations.parquet   one row per evaluated point: parameters, mean target metrics, loss
    runs.parquet          one row per run (batches and the fresh-seed check of the best point)
    fit.csv               fitted vs target at the best point
    posterior.parquet     posterior sample (abc, abc-smc, npe; with weights) · intervals.csv: credible intervals
    identifiability.csv, misspecification.csv, predictive.csv   posterior checks (Bayesian methods)
    generations.csv       (abc-smc) epsilon, proposals, acceptance, effective sample size per generation
    npe/posterior.pkl     (npe) the trained amortised posterior · sbc_ranks.parquet, sbc_uniformity.csv, coverage.csv
    waves.csv, emulator_validation.csv, nroy.parquet, nroy_bounds.csv   (history-matching)
    calibrated.yaml       the base scenario with the best parameters: loyaltysim run calibrated.yaml
    figures/*.png         loss history, parameter–loss profiles, fit, marginal posteriors (abc)
    report.md, report.html, manifest.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from loyaltysim.analysis.calibration import Calibration, CalibrationResult, Evaluator, calibrate
from loyaltysim.config.errors import ConfigError
from loyaltysim.config.loading import config_hash
from loyaltysim.experiments.execution import ExecutorChoice, resolve_executor
from loyaltysim.experiments.storage import now_iso, versions, write_json, write_parquet, write_yaml
from loyaltysim.reporting.calibration_report import build_report
from loyaltysim.reporting.render import write_report

__all__ = ["prepare_folder", "run_calibration", "write_outputs"]


def prepare_folder(calibration: Calibration, out: Path, *, resume: bool) -> Path:
    """Create (or, with ``resume``, check) the output folder; returns its ``batches`` folder.

    Raises
    ------
    ConfigError
        If ``out`` holds something else, or a different calibration when resuming.
    """
    stamp = {"calibration": calibration.spec.model_dump(mode="json"), "base_config_hash": config_hash(calibration.base)}
    marker = out / "calibration.json"
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise ConfigError(
                f"output folder {out} already exists and is not empty; use --resume to continue it or choose another --out",
                source="--out",
            )
        if not marker.is_file() or json.loads(marker.read_text(encoding="utf-8")) != json.loads(json.dumps(stamp)):
            raise ConfigError(f"cannot resume {out}: it holds a different calibration (or none)", source="--out")
    try:
        (out / "batches").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output folder {out}: {exc.strerror}", source="--out") from None
    write_json(stamp, marker)
    return out / "batches"


def write_outputs(result: CalibrationResult, out: Path, *, started: str, wall_time: float) -> None:
    """Write the tables, ``calibrated.yaml``, ``report.md``, ``report.html``, ``figures/`` and ``manifest.json``
    into ``out``."""
    cal = result.calibration
    write_parquet(result.evaluations, out / "evaluations.parquet")
    write_parquet(result.runs, out / "runs.parquet")
    result.fit.to_csv(out / "fit.csv", index=False)
    if result.posterior is not None and result.intervals is not None:
        write_parquet(result.posterior, out / "posterior.parquet")
        result.intervals.to_csv(out / "intervals.csv", index=False)
    _write_checks(result, out)
    calibrated = result.calibrated_config()
    best = ", ".join(f"{k} = {v:.6g}" for k, v in result.best.items())
    header = (
        f"# Calibrated by `loyaltysim calibrate {cal.source}` on {now_iso()} ({cal.spec.method}).\n"
        f"# Best parameters: {best}\n# Loss {result.best_loss:.4g} (fresh-seed check: {result.check_loss:.4g}).\n"
        "# Run it: loyaltysim run calibrated.yaml\n"
    )
    write_yaml(calibrated.to_dict(), out / "calibrated.yaml", header=header)
    write_report(build_report(result), out)
    write_json(
        {
            "name": cal.spec.name,
            "source": cal.source,
            "calibration": cal.spec.model_dump(mode="json"),
            "base_config_hash": config_hash(cal.base),
            "calibrated_config_hash": config_hash(calibrated),
            "best": result.best,
            "best_loss": result.best_loss,
            "check_loss": result.check_loss,
            "details": result.details,
            "checks": _check_summary(result),
            "started": started,
            "finished": now_iso(),
            "wall_time": wall_time,
            "versions": versions(),
        },
        out / "manifest.json",
    )


PARQUET_TABLES = ("nroy", "sbc_ranks")
"""Method tables written as Parquet (they can be long); the others are small CSV files."""


def _write_checks(result: CalibrationResult, out: Path) -> None:
    """The method's tables, the posterior checks and (npe) the trained posterior."""
    for name, table in result.tables.items():
        if name in PARQUET_TABLES:
            write_parquet(table, out / f"{name}.parquet")
        else:
            table.to_csv(out / f"{name}.csv", index=False)
    if "identifiability" in result.checks:
        found = result.checks["identifiability"]
        found["parameters"].to_csv(out / "identifiability.csv", index=False)
        found["directions"].to_csv(out / "identifiability_directions.csv", index=False)
    if "misspecification" in result.checks:
        result.checks["misspecification"]["targets"].to_csv(out / "misspecification.csv", index=False)
    if result.amortised is not None:
        (out / "npe").mkdir(exist_ok=True)
        result.amortised.save(out / "npe" / "posterior.pkl")


def _check_summary(result: CalibrationResult) -> dict[str, object]:
    """The verdicts of the posterior checks, for the manifest."""
    summary: dict[str, object] = {}
    if "misspecification" in result.checks:
        found = result.checks["misspecification"]
        summary["misspecification"] = {"p_value": found["p_value"], "flagged": bool(found["flagged"])}
    if "identifiability" in result.checks:
        found = result.checks["identifiability"]
        summary["identified"] = dict(
            zip(found["parameters"]["parameter"], map(bool, found["parameters"]["identified"]), strict=True)
        )
        loose = found["directions"][~found["directions"]["identified"]]
        summary["non_identified_combinations"] = list(loose["combination"])
    if "predictive" in result.tables and len(result.tables["predictive"]):
        summary["predictive_inside"] = dict(
            zip(result.tables["predictive"]["target"], map(bool, result.tables["predictive"]["inside"]), strict=True)
        )
    return summary


def run_calibration(
    calibration: Calibration,
    out: Path,
    *,
    resume: bool = False,
    executor: ExecutorChoice = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    evaluator: Evaluator | None = None,
) -> CalibrationResult:
    """Calibrate through the sweep engine and write every output into ``out``.

    Finished runs and batches are kept in ``out/batches`` (``resume`` continues from them);
    ``executor``, ``workers`` and ``scheduler`` are as for :func:`loyaltysim.sweep`.
    """
    resolve_executor(executor, workers, scheduler)  # bad options fail before any folder is made
    batches = prepare_folder(calibration, out, resume=resume)
    started, clock = now_iso(), time.perf_counter()
    result = calibrate(calibration, batches=batches, executor=executor, workers=workers, scheduler=scheduler, evaluator=evaluator)
    write_outputs(result, out, started=started, wall_time=time.perf_counter() - clock)
    return result
