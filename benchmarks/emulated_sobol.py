"""Sobol' indices of experiments/sensitivity_churn.yaml: direct (SALib on the model) vs on Gaussian-process emulators.

    python benchmarks/emulated_sobol.py [--samples 32] [--points 64] [--emulator-samples 1024] [--draws 50]
        [--workers 2] [--set customers.n=250 ...]

Runs the direct Sobol' study at its file's size (``--samples`` base N × (8 + 2) points × 2 replicates)
and an emulator study of the same factors and outputs (``--points`` Latin-hypercube points × 2
replicates, :func:`loyaltysim.workflows.emulation.emulate_study`; Sobol' indices from a Saltelli sample
of ``--emulator-samples`` base N on the emulators' mean and on ``--draws`` functions drawn from them),
in the same process, and prints:
the runs and wall time of each, the emulators' held-out validation, and per output the total
indices side by side with whether their intervals overlap.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load

from loyaltysim.cli.options import overrides_from
from loyaltysim.workflows.emulation import emulate_study
from loyaltysim.workflows.sensitivity import run_study

STUDY = ROOT / "experiments" / "sensitivity_churn.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=32, help="direct study: Sobol' base N")
    parser.add_argument("--points", type=int, default=64, help="emulator: Latin-hypercube design points")
    parser.add_argument(
        "--emulator-samples",
        type=int,
        default=1024,
        help="Saltelli base N evaluated on the emulators; each drawn function needs an eigendecomposition of N·(d+2) points",
    )
    parser.add_argument("--draws", type=int, default=50, help="functions drawn from each emulator for its uncertainty")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="study overrides, for both routes")
    args = parser.parse_args()
    overrides = overrides_from(args.set)
    print(
        f"{STUDY.name} {overrides}: direct Sobol' (N = {args.samples}) vs emulated ({args.points} LHS points; "
        f"emulator Saltelli N = {args.emulator_samples}, {args.draws} drawn functions); {load()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        _, folder = run_study(
            STUDY, samples=args.samples, overrides=overrides, out=Path(tmp) / "direct", workers=args.workers, progress=False
        )
        direct_s = time.perf_counter() - start
        start = time.perf_counter()
        emulated = emulate_study(
            STUDY,
            points=args.points,
            samples=args.emulator_samples,
            draws=args.draws,
            direct=folder,
            overrides=overrides,
            out=Path(tmp) / "emulated",
            workers=args.workers,
            progress=False,
        )
        emulated_s = time.perf_counter() - start
        runs_direct = len(pd.read_parquet(folder / "runs.parquet"))
        runs_emulated = len(pd.read_parquet(emulated.folder / "runs.parquet"))
    print(f"direct:   {runs_direct} runs, {direct_s:.0f} s (sweep, SALib analysis and figures)")
    print(f"emulated: {runs_emulated} runs, {emulated_s:.0f} s (sweep, emulator training and Sobol' on the emulator)")
    print("\nemulator validation on held-out design points:")
    print(emulated.validation.round(3).to_string(index=False))
    table = emulated.comparison.query("index == 'ST'")
    columns = ["output", "factor", "value_direct", "conf_direct", "value_emulated", "emulator_low", "emulator_high", "agree"]
    print("\ntotal indices (ST):")
    print(table[columns].round(3).to_string(index=False))
    both = emulated.comparison
    print(f"\nintervals overlap for {int(both['agree'].sum())} of {len(both)} indices (S1 and ST)")
    for output, part in table.groupby("output", sort=False):
        top_direct = part.sort_values("value_direct", ascending=False)["factor"].iloc[0]
        top_emulated = part.sort_values("value_emulated", ascending=False)["factor"].iloc[0]
        print(f"{output}: most influential factor, direct {top_direct}, emulated {top_emulated}")


if __name__ == "__main__":
    main()
