"""``loyaltysim calibrate``: fit a scenario's free parameters to targets (a thin adapter over the library)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loyaltysim.cli.options import add_command, add_engine_options, add_out, add_quiet, add_set, engine_options, overrides_from

__all__ = ["add_calibrate"]

EPILOG = """examples:
  loyaltysim calibrate experiments/calibrate_kotler.yaml                 # process pool on all cores
  loyaltysim calibrate experiments/calibrate_kotler.yaml --workers 2 --executor process
  loyaltysim calibrate experiments/calibrate_kotler.yaml --out results/kotler --set customers.n=500
  loyaltysim calibrate experiments/calibrate_kotler.yaml --set method=abc --set abc.samples=128
  loyaltysim calibrate experiments/calibrate_kotler_bayes.yaml                  # ABC-SMC: posterior, checks, predictive runs
  loyaltysim calibrate experiments/calibrate_kotler_bayes.yaml --set method=npe --out results/kotler_npe
  loyaltysim calibrate new_targets.yaml --set npe.reuse=results/kotler_npe     # trained posterior, new targets: no new runs
  loyaltysim calibrate experiments/calibrate_kotler.yaml --out results/kotler --resume   # continue after an interruption

Writes best parameters, fit.csv (fitted vs target), evaluations.parquet, figures/*.png,
calibrated.yaml (run it with `loyaltysim run calibrated.yaml`), report.md and report.html;
Bayesian methods (abc, abc-smc, npe) also the posterior, its credible intervals, posterior
checks and predictive runs. npe and history-matching need: pip install 'loyaltysim[inference]'.
"""


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from loyaltysim.analysis.calibration import load_calibration
    from loyaltysim.workflows.calibration import run_calibration

    calibration = load_calibration(args.file, overrides_from(args.set))
    out = Path(args.out) if args.out else Path("results") / calibration.spec.name
    try:
        result = run_calibration(calibration, out, **engine_options(args))
    except KeyboardInterrupt:
        print(f"finished runs are saved in {out}; continue with the same command and --resume", file=sys.stderr)
        raise
    except RuntimeError as exc:  # runs lost by the executor (a worker died): they are redone on --resume
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        best = ", ".join(f"{name} = {value:.4g}" for name, value in result.best.items())
        print(f"best: {best}")
        points = result.details["points"]
        print(f"loss {result.best_loss:.4g} (fresh-seed check {result.check_loss:.4g}); {points} points evaluated")
        print(result.fit[["metric", "per", "target", "fitted", "fitted_sd", "within_tolerance"]].to_string(index=False))
        if result.intervals is not None:
            print(result.intervals.to_string(index=False))
        if result.checks.get("misspecification", {}).get("flagged"):
            print(f"warning: the targets are unlike anything simulated (p = {result.checks['misspecification']['p_value']:.3g})")
        print(f"results written to {out}")
    return 0


def add_calibrate(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim calibrate FILE``: fit free parameters to targets."""
    p = add_command(
        sub,
        "calibrate",
        _cmd_calibrate,
        help="fit free parameters to target metrics (differential evolution, ABC, ABC-SMC, NPE, history matching)",
        description="Fit the free parameters of a calibration file to its targets.",
        epilog=EPILOG,
    )
    p.add_argument("file", help="calibration YAML (e.g. experiments/calibrate_kotler.yaml)")
    add_out(p, default="results/<calibration name>; must be new or empty unless --resume")
    add_engine_options(p, resume_help="continue an interrupted calibration in --out, reusing finished runs")
    add_set(p)
    add_quiet(p)
