"""The ``loyaltysim`` command: a thin adapter over the library (the workflows).

Exit status: 0 success, 1 a run failed unexpectedly, 2 bad input (the message
names the file and key path), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from loyaltysim import __version__
from loyaltysim.cli.analysis import add_discover, add_sensitivity
from loyaltysim.cli.app import add_app
from loyaltysim.cli.calibrate import add_calibrate
from loyaltysim.cli.facts import add_facts
from loyaltysim.cli.scenario import add_config, add_run, add_validate
from loyaltysim.cli.sweep import add_report, add_sweep
from loyaltysim.config.errors import ConfigError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_run,
    add_validate,
    add_config,
    add_sweep,
    add_calibrate,
    add_app,
    add_report,
    add_sensitivity,
    add_discover,
    add_facts,
]
"""Each adds one subcommand, in the order ``loyaltysim --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="loyaltysim",
        description="Agent-based simulation of customer satisfaction, loyalty and switching. "
        "Scenarios are YAML files (see configs/); every value can be overridden with --set PATH=VALUE.",
        epilog="examples:\n  loyaltysim run configs/baseline.yaml\n"
        "  loyaltysim run configs/fierce_competition.yaml --set customers.n=5000 --seed 7\n"
        "  loyaltysim validate configs/baseline.yaml\n  loyaltysim config --explain loyalty\n\n"
        "Run 'loyaltysim COMMAND --help' for a command's options and examples.\n"
        "Exit status: 0 success, 1 unexpected failure, 2 bad input (the message names file and key), "
        "130 interrupted.\nDocs: docs/tutorials/, docs/ODD.md (the model), docs/config-reference.md (every key).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"loyaltysim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """The library's warnings about results (e.g. a window that is not stationary) as plain ``warning:`` lines."""
    if category.__module__.startswith("loyaltysim."):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyaltysim`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except ConfigError as exc:
        if exc.source is None and getattr(args, "config", None):  # e.g. a bad network file found while building
            exc = ConfigError(exc.message, source=args.config)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder…: say what and where, keep what was written
        where = f"{exc.filename}: " if exc.filename else ""
        hint = "; finished runs are saved: fix this, then rerun with --resume" if args.command == "sweep" else ""
        print(f"error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
