"""Start-up: a warm-cache tiny ``loyaltysim run``, from the command's start to the end of its first period.

    python benchmarks/startup.py [--repeats 7] [--customers 200] [--steps 20] [--baseline-src PATH]

Each repeat starts a fresh interpreter running ``loyaltysim run`` on the baseline scenario at
``--customers`` × ``--steps`` (figures off, numba's cache filled by a first, untimed run) and reports,
from the moment before the process was started: the command's modules imported, the end of the first
call that advanced the model (``LoyaltyModel.step``, or a compiled stretch of periods, which ends after
its first period: an upper bound), and the process's exit (results written). Target: first period
within 1 s.

The baseline, measured in the same run and printed as a ratio: the same command with the package at
``--baseline-src`` (e.g. ``/work/main/src``, the code before a change) if given, and always a fresh
interpreter importing the whole simulation and reporting stack of a run (the modules ``run`` imported
before its first period when it imported them all up front).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load

CHILD = r"""
import importlib.abc, importlib.machinery, json, sys, time
start = float(sys.argv[1])
marks = {}

class FirstPeriod(importlib.abc.MetaPathFinder):
    '''Wraps LoyaltyModel's step and compiled stretch when its module loads, to note when the first returns.'''

    def find_spec(self, name, path, target=None):
        if name != "loyaltysim.model.loyalty_model":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            for method in ("step", "_run_compiled"):
                original = getattr(module.LoyaltyModel, method, None)
                if original is None:
                    continue

                def noted(self, *args, _original=original, **kwargs):
                    result = _original(self, *args, **kwargs)
                    marks.setdefault("first_period", time.time() - start)
                    return result

                setattr(module.LoyaltyModel, method, noted)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, FirstPeriod())
from loyaltysim.cli.main import main
marks["cli_imported"] = time.time() - start
status = main(sys.argv[2:])
marks["exit"] = time.time() - start
print(json.dumps({**marks, "status": status}))
"""

FULL_IMPORT = r"""
import json, sys, time
start = float(sys.argv[1])
import loyaltysim.cli.main, loyaltysim.workflows.scenario, loyaltysim.reporting.figures.scenario
import loyaltysim.analysis.warmup, loyaltysim.experiments.storage, loyaltysim.model.loyalty_model
print(json.dumps({"imported": time.time() - start}))
"""


def timed(code: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; its JSON line of times since just before the process started."""
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code, repr(start), *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--baseline-src", help="another checkout's src/ folder, timed the same way (e.g. main's)")
    args = parser.parse_args()
    print(f"before: {load()}")
    sources = {"this checkout": {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}}
    if args.baseline_src:
        sources["baseline"] = {**sources["this checkout"], "PYTHONPATH": str(Path(args.baseline_src).resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
        full: list[float] = []
        for repeat in range(args.repeats + 1):  # the first round fills numba's caches and the OS's file cache
            for name, env in sources.items():
                command = [
                    "run",
                    str(ROOT / "configs" / "baseline.yaml"),
                    "--set",
                    f"customers.n={args.customers}",
                    "--steps",
                    str(args.steps),
                    "--no-figures",
                    "--quiet",
                    "--out",
                    str(Path(tmp) / f"{name.replace(' ', '_')}_{repeat}"),
                ]
                marks = timed(CHILD, command, env)
                if repeat:
                    results[name].append(marks)
            imported = timed(FULL_IMPORT, [], sources["this checkout"])["imported"]
            if repeat:
                full.append(imported)
    print(f"loyaltysim run, {args.customers} customers × {args.steps} periods, warm caches, median of {args.repeats} (s):")
    medians = {}
    for name, runs in results.items():
        medians[name] = {key: statistics.median(r[key] for r in runs) for key in ("cli_imported", "first_period", "exit")}
        m = medians[name]
        print(
            f"  {name:13s}: command imported {m['cli_imported']:.2f}, first period done {m['first_period']:.2f} "
            f"(best {min(r['first_period'] for r in runs):.2f}; target ≤ 1), exit {m['exit']:.2f}"
        )
    own = medians["this checkout"]["first_period"]
    print(
        f"  importing the whole run stack up front: {statistics.median(full):.2f} s → ratio {own / statistics.median(full):.2f}"
    )
    if "baseline" in medians:
        print(
            f"  first period vs baseline checkout: {own:.2f} / {medians['baseline']['first_period']:.2f} s "
            f"= {own / medians['baseline']['first_period']:.2f}"
        )
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
