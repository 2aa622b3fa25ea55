"""What the commands share: how a command is added, and the options several take, each declared once."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from loyaltysim.config.loading import parse_assignment

__all__ = [
    "add_command",
    "add_engine_options",
    "add_no_figures",
    "add_out",
    "add_quiet",
    "add_set",
    "engine_options",
    "overrides_from",
]


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    help: str,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, run by ``handler``; its ``--help`` shows the examples of ``epilog`` as written."""
    parser = sub.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.set_defaults(handler=handler)
    return parser


def overrides_from(assignments: Sequence[str] | None) -> dict[str, object]:
    """``--set PATH=VALUE`` options as a mapping of dotted paths to YAML-parsed values."""
    return dict(parse_assignment(a) for a in assignments or [])


def add_set(parser: argparse.ArgumentParser) -> None:
    """``--set PATH=VALUE`` (repeatable): a config value, or a key of the experiment, study or calibration file."""
    parser.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="set a value by its dotted path, e.g. --set customers.n=5000 (repeatable; VALUE is YAML); "
        "with an experiment, study or calibration file also its own keys, e.g. --set replicates=5",
    )


def add_out(parser: argparse.ArgumentParser, *, default: str) -> None:
    """``--out FOLDER``; ``default`` says where results go without it."""
    parser.add_argument("--out", metavar="FOLDER", help=f"output folder (default: {default})")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet``."""
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def add_no_figures(parser: argparse.ArgumentParser) -> None:
    """``--no-figures``."""
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")


def add_engine_options(parser: argparse.ArgumentParser, *, resume_help: str) -> None:
    """``--workers``, ``--executor``, ``--scheduler`` and ``--resume`` of the sweep engine."""
    parser.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    parser.add_argument("--executor", choices=["serial", "process", "dask"], default="process", help="where runs execute")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (implies --executor dask)")
    parser.add_argument("--resume", action="store_true", help=resume_help)


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The values of :func:`add_engine_options`, as keyword arguments of ``sweep`` and the other workflows."""
    return {"executor": args.executor, "workers": args.workers, "scheduler": args.scheduler, "resume": args.resume}
