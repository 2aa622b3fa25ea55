"""Sweep commands: ``loyaltysim sweep`` (every run of an experiment, then its report) and ``report``."""

from __future__ import annotations

import argparse
import sys

from loyaltysim.cli.options import add_command, add_engine_options, add_out, add_quiet, add_set, engine_options, overrides_from

__all__ = ["add_report", "add_sweep"]

EPILOG_SWEEP = """examples:
  loyaltysim sweep experiments/demo_sweep.yaml                      # all cores, results/demo_sweep/
  loyaltysim sweep experiments/demo_sweep.yaml --plan               # check it, print the design and time; run nothing
  loyaltysim sweep experiments/demo_sweep.yaml --set replicates=5 --set customers.n=500
  loyaltysim sweep experiments/demo_sweep.yaml --resume             # after Ctrl-C or a crash
  loyaltysim sweep experiments/demo_sweep.yaml --scheduler tcp://10.0.0.5:8786   # a Dask cluster

--set PATH=VALUE sets an experiment key (replicates, samples, seed, ...),
factors.<config path>, overrides.<config path>, or else a config value of every run.
"""


def _cmd_sweep(args: argparse.Namespace) -> int:
    from loyaltysim.experiments.execution import SweepInterrupted, summary_line
    from loyaltysim.workflows.sweep import sweep

    if args.plan:
        from loyaltysim.workflows.plan import plan_sweep

        print(plan_sweep(args.experiment, overrides_from(args.set), workers=args.workers).describe(args.experiment))
        return 0

    try:
        results = sweep(
            args.experiment,
            overrides=overrides_from(args.set),
            out=args.out,
            batch_size=args.batch_size,
            **engine_options(args),
            progress=None if not args.quiet else False,
            report=not args.no_report,
            figure_formats=_formats(args.figure_format),
        )
    except SweepInterrupted as stop:
        again = " ".join(
            ["loyaltysim", "sweep", args.experiment, *(f"--set {a}" for a in args.set or []), "--out", str(stop.folder)]
        )
        print(f"interrupted: {stop}; continue with: {again} --resume", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before the sweep's folder existed: nothing to keep
        print("interrupted before any run; nothing was saved", file=sys.stderr)
        return 130
    failed = results.failed
    if not args.quiet:
        print(summary_line(results))
    if len(failed):
        print(f"{len(failed)} runs failed (rerun with --resume to retry them):", file=sys.stderr)
        for row in failed.head(20).itertuples():
            print(f"  run {row.run_id}: {row.error}", file=sys.stderr)
        return 1
    return 0


def _formats(text: str | None) -> list[str] | None:
    """``--figure-format png,pdf`` as a list (None: the experiment's own choice)."""
    from loyaltysim.config.errors import ConfigError
    from loyaltysim.reporting.render import FIGURE_FORMATS

    if text is None:
        return None
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown or not formats:
        raise ConfigError(
            f"unknown figure format {unknown[0] if unknown else text!r}; expected {', '.join(FIGURE_FORMATS)}",
            source="--figure-format",
        )
    return formats


def _add_figure_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--figure-format",
        metavar="FORMATS",
        help="figure formats, comma-separated: png (always written), svg, pdf (default: report.figure_formats, else png)",
    )


def add_sweep(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim sweep EXPERIMENT``: run an experiment and write its report."""
    p = add_command(
        sub,
        "sweep",
        _cmd_sweep,
        help="run an experiment: a design of factor values × replicates, in parallel, resumable",
        description="Run every run of an experiment file and write runs.parquet, timeseries.parquet, "
        "curves.parquet and manifest.json (default folder results/<name>/). Finished runs are saved as "
        "they complete; after an interruption, rerun with --resume.",
        epilog=EPILOG_SWEEP,
    )
    p.add_argument("experiment", help="experiment YAML file (e.g. experiments/demo_sweep.yaml)")
    add_engine_options(p, resume_help="continue the sweep in the results folder")
    add_out(p, default="results/<experiment name>")
    p.add_argument("--batch-size", type=int, help="runs per task and checkpoint chunk (default: automatic)")
    add_set(p)
    add_quiet(p)
    p.add_argument("--no-report", action="store_true", help="skip the hypotheses and report at the end")
    _add_figure_format(p)
    p.add_argument(
        "--plan",
        action="store_true",
        help="check the whole file and print the design (points, replicates, runs, estimated time); run and write nothing",
    )


EPILOG_REPORT = """examples:
  loyaltysim report results/satisfaction_trap       # → report.md, report.html, hypotheses.parquet
  loyaltysim sweep experiments/nonlinear_link.yaml --no-report && loyaltysim report results/nonlinear_link
"""


def _cmd_report(args: argparse.Namespace) -> int:
    from loyaltysim.workflows.sweep import report_sweep

    paths = report_sweep(args.folder, figure_formats=_formats(args.figure_format))
    if not args.quiet:
        print(f"wrote {paths['markdown']}, {paths['html']} and {paths['hypotheses']}")
    return 0


def add_report(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim report FOLDER``: evaluate a sweep's hypotheses and rewrite its report."""
    p = add_command(
        sub,
        "report",
        _cmd_report,
        help="evaluate a sweep's hypotheses and write report.md and report.html",
        description="Evaluate the hypotheses declared by the experiment of a finished sweep (hypotheses.parquet) "
        "and write report.md, report.html (figures embedded) and figures/*.png into its results folder. "
        "A sweep does this itself at the end unless run with --no-report.",
        epilog=EPILOG_REPORT,
    )
    p.add_argument("folder", help="results folder of a sweep (e.g. results/satisfaction_trap)")
    _add_figure_format(p)
    add_quiet(p)
