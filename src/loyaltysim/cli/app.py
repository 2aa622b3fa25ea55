"""``loyaltysim app``: start the teaching app (a Solara page over the Mesa model) in a browser."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loyaltysim.cli.options import add_command
from loyaltysim.config.loading import load_config
from loyaltysim.i18n import LANG_ENV, LANGUAGES

__all__ = ["add_app"]


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
    # no "This website runs on Solara" banner over the charts
    env = {
        **os.environ,
        "LOYALTYSIM_APP_CONFIG": str(path.resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "SOLARA_THEME_SHOW_BANNER": "false",
        "SOLARA_THEME_TITLE": "loyaltysim",
    }
    if args.lang:
        env[LANG_ENV] = args.lang
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


def add_app(sub: argparse._SubParsersAction) -> None:
    """``loyaltysim app [CONFIG]``: start the teaching app."""
    p = add_command(
        sub,
        "app",
        _cmd_app,
        help="start the teaching app in the browser (needs the viz extra)",
        description="Start the interactive teaching app (a Solara page over the Mesa model) on this computer and "
        "print its address. Works offline. Stop it with Ctrl+C.",
        epilog="examples:\n  loyaltysim app\n  loyaltysim app configs/near_monopoly.yaml --port 8800\n  loyaltysim app --lang zh",
    )
    p.add_argument("config", nargs="?", help="starting scenario YAML (default: configs/baseline.yaml)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer only)")
    p.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        help=f"language of the page: {', '.join(f'{code} ({name})' for code, name in LANGUAGES.items())}; "
        f"default: ${LANG_ENV} or en",
    )
