"""Command-line options shared by several commands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from loyaltysim.config.loading import parse_assignment

__all__ = ["add_engine_options", "overrides_from"]


def overrides_from(assignments: Sequence[str] | None) -> dict[str, object]:
    """``--set PATH=VALUE`` options as a mapping of dotted paths to YAML-parsed values."""
    return dict(parse_assignment(a) for a in assignments or [])


def add_engine_options(parser: argparse.ArgumentParser, *, resume_help: str) -> None:
    """``--workers``, ``--executor``, ``--scheduler`` and ``--resume`` of the sweep engine."""
    parser.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    parser.add_argument("--executor", choices=["serial", "process", "dask"], default="process", help="where runs execute")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (implies --executor dask)")
    parser.add_argument("--resume", action="store_true", help=resume_help)
