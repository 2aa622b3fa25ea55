"""Command-line options shared by the commands that run many models (sweep, sensitivity, calibrate)."""

from __future__ import annotations

import argparse

__all__ = ["add_engine_options"]


def add_engine_options(parser: argparse.ArgumentParser, *, resume_help: str) -> None:
    """``--workers``, ``--executor``, ``--scheduler`` and ``--resume`` of the sweep engine."""
    parser.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    parser.add_argument("--executor", choices=["serial", "process", "dask"], default="process", help="where runs execute")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (implies --executor dask)")
    parser.add_argument("--resume", action="store_true", help=resume_help)
