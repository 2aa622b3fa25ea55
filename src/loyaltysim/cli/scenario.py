"""Scenario commands: ``loyaltysim run``, ``validate`` and ``config``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from loyaltysim.cli.options import add_command, add_no_figures, add_out, add_quiet, add_set, overrides_from
from loyaltysim.config.loading import load_config
from loyaltysim.config.schema import NETWORK_TYPES, Config
from loyaltysim.i18n import _

__all__ = ["add_config", "add_run", "add_validate"]

EPILOG_RUN = """examples:
  loyaltysim run configs/baseline.yaml
  loyaltysim run configs/baseline.yaml --set customers.n=5000 --set loyalty.link=linear --seed 7
  loyaltysim run configs/near_monopoly.yaml --steps 240 --out results/monopoly
"""


def _load(args: argparse.Namespace) -> Config:
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
    _warn_short_run(config)
    out = new_output_dir(args.out, name=f"{Path(args.config).stem}_seed{config.run.seed}")
    progress = sys.stderr.isatty() and not args.quiet
    model = run_scenario(config, out, source=str(args.config), figures=not args.no_figures, progress=progress)
    if not args.quiet:
        print(run_summary(model.summary(), steps=model.steps, customers=config.customers.n))
        print(_("results written to {folder}").format(folder=out))
    return 0


def _number(value: object, spec: str) -> str:
    """``value`` formatted, or "n/a" when there is none (NaN, missing)."""
    if not isinstance(value, int | float) or math.isnan(value):
        return _("n/a")
    return format(value, spec)


def run_summary(summary: dict[str, object], *, steps: int, customers: int) -> str:
    """The one-line summary ``loyaltysim run`` prints (rates pooled after the burn-in; "n/a" where there are none)."""
    return _(
        "{steps} periods × {customers} customers: annual churn {churn}, mean satisfaction {satisfaction}, "
        "satisfied defectors {defectors} of defectors, NPS {nps}"
    ).format(
        steps=steps,
        customers=customers,
        churn=_number(summary.get("annualised_churn"), ".1%"),
        satisfaction=_number(summary.get("mean_satisfaction"), ".3f"),
        defectors=_number(summary.get("satisfied_defector_share"), ".1%"),
        nps=_number(summary.get("nps"), ".0f"),
    )


def _warn_short_run(config: Config) -> None:
    """Warn (on stderr) when the run is not longer than its burn-in: it has no run-level rates."""
    if config.run.steps <= config.run.burn_in:
        message = _(
            "warning: the run ({steps} periods) is not longer than its burn-in ({burn_in} periods), so its summary "
            "rates are n/a; use --steps {more} or more, or lower run.burn_in"
        )
        print(message.format(steps=config.run.steps, burn_in=config.run.burn_in, more=config.run.burn_in + 1), file=sys.stderr)


EXPERIMENT_MARKERS = frozenset({"base", "factors", "design", "replicates", "hypotheses", "outcomes", "derived"})
"""Keys only an experiment file has (named here: validating a scenario must not import the experiment stack)."""


def _is_experiment(path: str) -> bool:
    """Whether a YAML file is an experiment rather than a scenario."""
    from loyaltysim.config.loading import read_yaml

    return bool(set(read_yaml(path)) & EXPERIMENT_MARKERS)


def _cmd_validate(args: argparse.Namespace) -> int:
    if _is_experiment(args.config):
        from loyaltysim.workflows.plan import plan_sweep

        print(plan_sweep(args.config, overrides_from(args.set)).describe(args.config))
        return 0
    config = _load(args)
    if config.network.type == "file":  # read it now: a missing or mismatched file should not wait for `run`
        import numpy as np

        from loyaltysim.model.network import build_network

        build_network(config.network, config.customers.n, np.random.default_rng())  # a file draws nothing
    elif config.network.type not in NETWORK_TYPES:  # a registered name or module:function: resolve it now
        from loyaltysim.model.network import network_builder

        network_builder(config.network.type)
    print(
        _(
            "{file}: valid ({customers} customers, {firms} firms, {steps} periods of one {period}, link '{link}', "
            "network '{network}')"
        ).format(
            file=args.config,
            customers=config.customers.n,
            firms=len(config.firms),
            steps=config.run.steps,
            period=config.run.period,
            link=config.loyalty.link,
            network=config.network.type,
        )
    )
    _warn_short_run(config)
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from loyaltysim.config.explain import explain, markdown_reference, unknown_term

    if args.reference:
        print(markdown_reference(), end="")
    elif args.explain is not None:
        text = explain(args.explain)
        if not text:
            print(f"error: {unknown_term(args.explain)}", file=sys.stderr)
            return 2
        print(text)
    else:
        import yaml

        print(yaml.safe_dump(_load(args).to_dict(), sort_keys=False, allow_unicode=True), end="")
    return 0


def _add_scenario_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("config", nargs=None if required else "?", help="scenario YAML file (e.g. configs/baseline.yaml)")
    add_set(parser)


def add_run(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim run CONFIG``: simulate one scenario."""
    p = add_command(
        sub,
        "run",
        _cmd_run,
        help="simulate one scenario and write tables, summary and figures",
        description="Simulate one scenario. Writes timeseries.parquet, firms.parquet, summary.json, "
        "config.resolved.yaml, manifest.json and figures/*.png into a new folder.",
        epilog=EPILOG_RUN,
    )
    _add_scenario_argument(p)
    p.add_argument("--seed", type=int, help="root random seed (overrides run.seed; 0 is a valid seed)")
    p.add_argument("--steps", type=int, help="number of periods (overrides run.steps)")
    add_out(p, default="a new folder under results/")
    add_no_figures(p)
    add_quiet(p)


def add_validate(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim validate FILE``: check a scenario or an experiment file."""
    p = add_command(
        sub,
        "validate",
        _cmd_validate,
        help="check a scenario or experiment file and say what is wrong or that it is fine",
        description="Check a scenario file (after extends and --set) without running it. Prints a one-line "
        "summary, or every problem with its file and key path and exits with status 2. An experiment file "
        "is checked whole (as loyaltysim sweep --plan): factors, outcomes, hypotheses, report options, and its "
        "design is printed.",
        epilog="examples:\n  loyaltysim validate configs/my_market.yaml\n  loyaltysim validate experiments/demo_sweep.yaml\n"
        "  loyaltysim validate configs/my_market.yaml --set customers.n=500 --set loyalty.link=concave",
    )
    _add_scenario_argument(p)


def add_config(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim config [CONFIG]``: a resolved scenario, or the keys explained."""
    p = add_command(
        sub,
        "config",
        _cmd_config,
        help="show a resolved scenario, or explain the config keys",
        description="Print a scenario as YAML with every value resolved (defaults, extends, --set), "
        "or describe the config keys: type, default, allowed range and meaning.",
        epilog="examples:\n  loyaltysim config configs/near_monopoly.yaml   # every value, after extends\n"
        "  loyaltysim config --explain switching        # keys containing 'switching'\n"
        "  loyaltysim config --reference > docs/config-reference.md",
    )
    _add_scenario_argument(p, required=False)
    p.add_argument("--explain", nargs="?", const="", metavar="MATCH", help="describe keys (containing MATCH)")
    p.add_argument("--reference", action="store_true", help="print the Markdown reference of every key")
