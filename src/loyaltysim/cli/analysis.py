"""Analysis subcommands: ``loyaltysim sensitivity`` (SALib through the sweep engine) and ``loyaltysim discover`` (PRIM).

Each ``add_<name>(sub)`` adds one subcommand to the parser; :mod:`loyaltysim.cli` lists them in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loyaltysim.cli.options import (
    add_command,
    add_engine_options,
    add_no_figures,
    add_out,
    add_quiet,
    add_set,
    engine_options,
    overrides_from,
)

__all__ = ["add_discover", "add_sensitivity"]

EPILOG_SENSITIVITY = """examples:
  loyaltysim sensitivity experiments/sensitivity_churn.yaml
  loyaltysim sensitivity experiments/sensitivity_churn.yaml --method morris --samples 20
  loyaltysim sensitivity experiments/sensitivity_churn.yaml --samples 256 --workers 8 --out results/sobol256
  loyaltysim sensitivity experiments/sensitivity_churn.yaml --resume      # after an interruption
  loyaltysim sensitivity experiments/sensitivity_churn.yaml --executor dask --scheduler tcp://10.0.0.5:8786

Writes the sweep's tables plus indices.parquet (method, output, factor, index, value, conf),
variance.parquet (seed noise), convergence.parquet, figures/, sensitivity.md and sensitivity.html.
"""

EPILOG_DISCOVER = """examples:
  loyaltysim discover results/sensitivity_churn --where "satisfied_defector_share > 0.6"
  loyaltysim discover results/my_sweep --where "churn_rate > 0.05 and nps < 0" --min-density 0.9
  loyaltysim discover results/my_sweep --where "nps > 20" --factors customers.switching_cost.mean,loyalty.threshold

The condition is a pandas expression over the columns of runs.parquet; quote dotted
names with backticks (`customers.switching_cost.mean` > 0.3).
"""


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from loyaltysim.workflows.sensitivity import IncompleteStudyError, run_study

    try:
        result, folder = run_study(
            args.experiment,
            method=args.method,
            samples=args.samples,
            overrides=overrides_from(args.set),
            out=args.out,
            **engine_options(args),
            progress=None if not args.quiet else False,
            figures=not args.no_figures,
        )
    except IncompleteStudyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        for output in dict.fromkeys(result.indices["output"]):
            top = result.ranking(output).head(3)
            noise = result.variance.set_index("output").loc[output, "noise_share_of_means"]
            ranked = ", ".join(f"{r.factor} {r.value:.2f}±{r.conf:.2f}" for r in top.itertuples())
            print(f"{output}: {ranked}" + ("" if noise != noise else f"  (seed noise {noise:.0%} of analysed variance)"))
        print(f"indices, figures, sensitivity.md and sensitivity.html written to {folder}")
    return 0


def add_sensitivity(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim sensitivity EXPERIMENT [--method …] [--samples N] …``."""
    p = add_command(
        sub,
        "sensitivity",
        _cmd_sensitivity,
        help="global sensitivity analysis (Sobol', Morris, eFAST with SALib) of an experiment's factors",
        description="Sample the experiment's factor ranges with SALib, run every sample through the sweep engine "
        "(parallel, checkpointed, resumable), then estimate sensitivity indices with confidence intervals for "
        "several outputs, and say how much of each output's variance is seed noise.",
        epilog=EPILOG_SENSITIVITY,
    )
    p.add_argument("experiment", help="experiment YAML with factor ranges (e.g. experiments/sensitivity_churn.yaml)")
    p.add_argument("--method", choices=["sobol", "morris", "fast"], help="replaces the file's design")
    p.add_argument("--samples", type=int, help="sobol: base N (power of two); morris: trajectories; fast: per factor")
    add_engine_options(p, resume_help="continue an interrupted study in its results folder")
    add_out(p, default="results/<experiment name>")
    add_set(p)
    add_no_figures(p)
    add_quiet(p)


def _cmd_discover(args: argparse.Namespace) -> int:
    from loyaltysim.workflows.discovery import run_discovery

    factors = [f.strip() for f in args.factors.split(",") if f.strip()] if args.factors else None
    options = {"min_density": args.min_density, "peel_alpha": args.peel_alpha, "mass_min": args.mass_min}
    options["max_qp"] = None if args.max_qp <= 0 or args.max_qp >= 1 else args.max_qp
    result, out = run_discovery(args.results, args.where, factors=factors, out=args.out, **options)
    print(
        f"{result.cases} of {result.runs} runs meet {result.where!r}; box: coverage {result.coverage:.1%}, "
        f"density {result.density:.1%}, mass {result.mass:.1%}"
    )
    for row in result.box.itertuples():
        span = f"{{{row.values}}}" if row.values else f"[{row.low:.4g}, {row.high:.4g}]"
        print(f"  {row.factor} in {span}")
    print(f"written to {out}")
    return 0


def add_discover(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim discover RESULTS_DIR --where CONDITION``."""
    p = add_command(
        sub,
        "discover",
        _cmd_discover,
        help="find the region of factor space where a condition holds (PRIM scenario discovery)",
        description="Scenario discovery on a finished sweep: PRIM finds a box of factor ranges where the condition "
        "is frequent and reports it with coverage and density. Writes discovery.md, discovery.html, box.parquet, "
        "trajectory.parquet, discovery.json and figures/peeling.png into RESULTS_DIR/discovery (or --out).",
        epilog=EPILOG_DISCOVER,
    )
    p.add_argument("results", type=Path, help="results folder of a finished sweep (with runs.parquet)")
    p.add_argument("--where", required=True, help="condition over runs.parquet columns, e.g. 'satisfied_defector_share > 0.6'")
    p.add_argument("--factors", help="comma-separated columns PRIM may restrict (default: every dotted config path)")
    p.add_argument("--min-density", type=float, default=0.8, help="report the widest box with at least this density (0.8)")
    p.add_argument("--peel-alpha", type=float, default=0.05, help="share of runs peeled per PRIM step (0.05)")
    p.add_argument("--mass-min", type=float, default=0.05, help="smallest box, as a share of the runs (0.05)")
    p.add_argument(
        "--max-qp",
        type=float,
        default=0.05,
        help="drop restrictions whose quasi-p exceeds this, least significant first (0.05; 1 keeps them all)",
    )
    add_out(p, default="RESULTS_DIR/discovery, or discovery-2, …")
