"""The ``loyaltysim`` command: a thin adapter over the library.

Exit status: 0 success, 1 a run failed unexpectedly, 2 bad input (the message
names the file and key path), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from loyaltysim import __version__
from loyaltysim.cli import calibrate
from loyaltysim.cli.analysis import add_discover, add_sensitivity
from loyaltysim.cli.options import add_engine_options, overrides_from
from loyaltysim.config.errors import ConfigError
from loyaltysim.config.loading import load_config

__all__ = ["build_parser", "main"]

EPILOG_RUN = """examples:
  loyaltysim run configs/baseline.yaml
  loyaltysim run configs/baseline.yaml --set customers.n=5000 --set loyalty.link=linear --seed 7
  loyaltysim run configs/near_monopoly.yaml --steps 240 --out results/monopoly
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _load(args: argparse.Namespace) -> object:
    overrides = overrides_from(args.set)
    if getattr(args, "seed", None) is not None:
        overrides["run.seed"] = args.seed
    if getattr(args, "steps", None) is not None:
        overrides["run.steps"] = args.steps
    return load_config(args.config, overrides)


def _cmd_run(args: argparse.Namespace) -> int:
    from loyaltysim.experiments.storage import new_output_dir
    from loyaltysim.workflows.scenario import run_scenario

    config = _load(args)
    out = new_output_dir(args.out, name=f"{Path(args.config).stem}_seed{config.run.seed}")
    progress = sys.stderr.isatty() and not args.quiet
    model = run_scenario(config, out, source=str(args.config), figures=not args.no_figures, progress=progress)
    if not args.quiet:
        s = model.summary()
        print(
            f"{model.steps} periods × {config.customers.n} customers: "
            f"annual churn {s.get('annualised_churn', float('nan')):.1%}, "
            f"mean satisfaction {s.get('mean_satisfaction', float('nan')):.3f}, "
            f"satisfied defectors {s.get('satisfied_defector_share', float('nan')):.1%} of defectors, "
            f"NPS {s.get('nps', float('nan')):.0f}"
        )
        print(f"results written to {out}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    config = _load(args)
    if config.network.type == "file":  # read it now: a missing or mismatched file should not wait for `run`
        import numpy as np

        from loyaltysim.model.network import build_network

        build_network(config.network, config.customers.n, np.random.default_rng())  # a file draws nothing
    print(
        f"{args.config}: valid ({config.customers.n} customers, {len(config.firms)} firms, "
        f"{config.run.steps} periods of one {config.run.period}, link '{config.loyalty.link}', "
        f"network '{config.network.type}')"
    )
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from loyaltysim.config.explain import explain, markdown_reference

    if args.reference:
        print(markdown_reference(), end="")
    elif args.explain is not None:
        print(explain(args.explain))
    else:
        import yaml

        print(yaml.safe_dump(_load(args).to_dict(), sort_keys=False, allow_unicode=True), end="")
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    import importlib.util
    import os
    import socket
    import subprocess

    path = Path(args.config) if args.config else None
    if path is None:
        from loyaltysim.app.presets import PRESETS

        path = PRESETS["baseline"].path
    load_config(path)  # a bad scenario fails here, with exit 2
    missing = [name for name in ("solara", "solara_assets", "altair") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"error: the app needs the viz extra ({', '.join(missing)} missing): pip install 'loyaltysim[viz]'", file=sys.stderr
        )
        return 2
    with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            print(
                f"error: cannot listen on {args.host}:{args.port} ({exc.strerror}); is the port in use? Try --port N",
                file=sys.stderr,
            )
            return 2
    # no network: no version check against PyPI, no usage telemetry
    env = {**os.environ, "LOYALTYSIM_APP_CONFIG": str(path.resolve()), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    command = [sys.executable, "-m", "solara", "run", "loyaltysim.app.app", "--host", args.host, "--port", str(args.port)]
    command += ["--no-open", "--no-check-version", "--production", "--log-level", "warning"]
    print(f"loyaltysim app: {path} at http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    server = subprocess.Popen(command, env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        raise


def _add_config_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("config", nargs=None if required else "?", help="scenario YAML file (e.g. configs/baseline.yaml)")
    parser.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override one value by its dotted path, e.g. --set customers.n=5000 (repeatable)",
    )


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="simulate one scenario and write tables, summary and figures",
        description="Simulate one scenario. Writes timeseries.parquet, firms.parquet, summary.json, "
        "config.resolved.yaml, manifest.json and figures/*.png into a new folder.",
        epilog=EPILOG_RUN,
        formatter_class=_Formatter,
    )
    _add_config_options(p)
    p.add_argument("--seed", type=int, help="root random seed (overrides run.seed; 0 is a valid seed)")
    p.add_argument("--steps", type=int, help="number of periods (overrides run.steps)")
    p.add_argument("--out", help="output folder (must not exist or be empty; default: a new folder under results/)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(handler=_cmd_run)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a scenario file and say what is wrong or that it is fine",
        description="Check a scenario file (after extends and --set) without running it. Prints a one-line "
        "summary, or every problem with its file and key path and exits with status 2.",
        epilog="examples:\n  loyaltysim validate configs/my_market.yaml\n"
        "  loyaltysim validate configs/my_market.yaml --set customers.n=500 --set loyalty.link=concave",
        formatter_class=_Formatter,
    )
    _add_config_options(p)
    p.set_defaults(handler=_cmd_validate)


def _add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="show a resolved scenario, or explain the config keys",
        description="Print a scenario as YAML with every value resolved (defaults, extends, --set), "
        "or describe the config keys: type, default, allowed range and meaning.",
        epilog="examples:\n  loyaltysim config configs/near_monopoly.yaml   # every value, after extends\n"
        "  loyaltysim config --explain switching        # keys containing 'switching'\n"
        "  loyaltysim config --reference > docs/config-reference.md",
        formatter_class=_Formatter,
    )
    _add_config_options(p, required=False)
    p.add_argument("--explain", nargs="?", const="", metavar="MATCH", help="describe keys (containing MATCH)")
    p.add_argument("--reference", action="store_true", help="print the Markdown reference of every key")
    p.set_defaults(handler=_cmd_config)


EPILOG_SWEEP = """examples:
  loyaltysim sweep experiments/demo_sweep.yaml                      # all cores, results/demo_sweep/
  loyaltysim sweep experiments/demo_sweep.yaml --set replicates=5 --set customers.n=500
  loyaltysim sweep experiments/demo_sweep.yaml --resume             # after Ctrl-C or a crash
  loyaltysim sweep experiments/demo_sweep.yaml --scheduler tcp://10.0.0.5:8786   # a Dask cluster

--set PATH=VALUE sets an experiment key (replicates, samples, seed, ...),
factors.<config path>, overrides.<config path>, or else a config value of every run.
"""


def _cmd_sweep(args: argparse.Namespace) -> int:
    from loyaltysim.experiments.execution import summary_line
    from loyaltysim.workflows.sweep import sweep

    try:
        results = sweep(
            args.experiment,
            overrides=overrides_from(args.set),
            out=args.out,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            batch_size=args.batch_size,
            progress=None if not args.quiet else False,
            report=not args.no_report,
        )
    except KeyboardInterrupt:
        print("finished runs are saved; continue with the same command and --resume", file=sys.stderr)
        raise
    failed = results.failed
    if not args.quiet:
        print(summary_line(results))
    if len(failed):
        print(f"{len(failed)} runs failed (rerun with --resume to retry them):", file=sys.stderr)
        for row in failed.head(20).itertuples():
            print(f"  run {row.run_id}: {row.error}", file=sys.stderr)
        return 1
    return 0


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run an experiment: a design of factor values × replicates, in parallel, resumable",
        description="Run every run of an experiment file and write runs.parquet, timeseries.parquet, "
        "curves.parquet and manifest.json (default folder results/<name>/). Finished runs are saved as "
        "they complete; after an interruption, rerun with --resume.",
        epilog=EPILOG_SWEEP,
        formatter_class=_Formatter,
    )
    p.add_argument("experiment", help="experiment YAML file (e.g. experiments/demo_sweep.yaml)")
    add_engine_options(p, resume_help="continue the sweep in the results folder")
    p.add_argument("--out", help="results folder (default: results/<experiment name>)")
    p.add_argument("--batch-size", type=int, help="runs per task and checkpoint chunk (default: automatic)")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override an experiment key or a config value, e.g. --set replicates=5 (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--no-report", action="store_true", help="skip the hypotheses and report at the end")
    p.set_defaults(handler=_cmd_sweep)


EPILOG_REPORT = """examples:
  loyaltysim report results/satisfaction_trap       # → report.md, report.html, hypotheses.parquet
  loyaltysim sweep experiments/nonlinear_link.yaml --no-report && loyaltysim report results/nonlinear_link
"""


def _cmd_report(args: argparse.Namespace) -> int:
    from loyaltysim.workflows.sweep import report_sweep

    paths = report_sweep(args.folder)
    if not args.quiet:
        print(f"wrote {paths['markdown']}, {paths['html']} and {paths['hypotheses']}")
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="evaluate a sweep's hypotheses and write report.md and report.html",
        description="Evaluate the hypotheses declared by the experiment of a finished sweep (hypotheses.parquet) "
        "and write report.md, report.html (figures embedded) and figures/*.png into its results folder. "
        "A sweep does this itself at the end unless run with --no-report.",
        epilog=EPILOG_REPORT,
        formatter_class=_Formatter,
    )
    p.add_argument("folder", help="results folder of a sweep (e.g. results/satisfaction_trap)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(handler=_cmd_report)


def _add_app(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "app",
        help="start the teaching app in the browser (needs the viz extra)",
        description="Start the interactive teaching app (Mesa SolaraViz) on this computer and print its address. "
        "Works offline. Stop it with Ctrl+C.",
        epilog="examples:\n  loyaltysim app\n  loyaltysim app configs/near_monopoly.yaml --port 8800",
        formatter_class=_Formatter,
    )
    p.add_argument("config", nargs="?", help="starting scenario YAML (default: configs/baseline.yaml)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer only)")
    p.set_defaults(handler=_cmd_app)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_run,
    _add_validate,
    _add_config,
    _add_sweep,
    calibrate.add_parser,
    _add_app,
    _add_report,
    add_sensitivity,
    add_discover,
]


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
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"loyaltysim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyaltysim`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
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
