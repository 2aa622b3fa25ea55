"""``loyaltysim facts``: the validation scorecard (does the model reproduce the literature's stylized facts?)."""

from __future__ import annotations

import argparse

from loyaltysim.cli.options import add_command, add_out, add_quiet, add_set, overrides_from

__all__ = ["add_facts"]

EPILOG = """examples:
  loyaltysim facts                                  # 8 replicates per scenario, about a minute on 2 cores
  loyaltysim facts --replicates 20 --workers 8
  loyaltysim facts --set customers.n=5000 --out results/validation-5000

Runs the validation scenarios (baseline, fierce competition, near monopoly, baseline with low switching
costs), measures each stylized fact with a 95% interval over replicates and says whether it holds.
Writes scorecard.parquet, runs.parquet, validation.md and validation.html. docs/validation.md explains
each fact, its source and how it is measured.
"""


def _cmd_facts(args: argparse.Namespace) -> int:
    from loyaltysim.reporting.validation_report import verdict
    from loyaltysim.workflows.validation import run_validation

    card, folder = run_validation(
        args.out,
        replicates=args.replicates,
        seed=args.seed,
        overrides=overrides_from(args.set),
        executor=args.executor,
        workers=args.workers,
    )
    if not args.quiet:
        for _, row in card.iterrows():
            interval = "" if row["ci_low"] == row["ci_high"] else f" [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"
            print(f"{verdict(row):<24} {row['fact']:<36} {row['estimate']:.3g}{interval}   published: {row['published']}")
        held = int((card["holds"] == True).sum())  # noqa: E712 (holds is True, False or None)
        print(f"{held} of {len(card)} facts hold; scorecard and report written to {folder}")
    return 0


def add_facts(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim facts [--replicates R] [--seed S] …``."""
    p = add_command(
        sub,
        "facts",
        _cmd_facts,
        help="validation scorecard: the model against the literature's stylized facts",
        description="Run the shipped presets over replicates and measure, for each stylized fact of the "
        "satisfaction–loyalty literature, the model's value with a confidence interval, the published value "
        "and its source, and whether the fact holds.",
        epilog=EPILOG,
    )
    p.add_argument("--replicates", type=int, default=8, help="runs per scenario (default 8)")
    p.add_argument("--seed", type=int, default=42, help="root seed; replicate r uses the same seed in every scenario")
    p.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    p.add_argument("--executor", choices=["serial", "process"], default="process", help="where runs execute")
    add_out(p, default="results/validation, or validation-2, …")
    add_set(p)
    add_quiet(p)
