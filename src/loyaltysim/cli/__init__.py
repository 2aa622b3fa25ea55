"""The ``loyaltysim`` command: one module per group of subcommands, shared options in :mod:`~loyaltysim.cli.options`,
the parser and the entry point in :mod:`~loyaltysim.cli.main`."""

from loyaltysim.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
