"""Digests of whole runs, to check that a change to how runs execute leaves their results bit for bit alone.

    python tests/run_digests.py > tests/data/run_digests.json

writes, for each case of :data:`CASES` (the baseline at test size, several seeds and feature switches), a
SHA-256 of every column of ``timeseries()`` and ``firm_timeseries()`` and the exact ``summary()``; and for
each run of a small sweep (:data:`SWEEP`, with a per-period outcome), a SHA-256 of every column of the
tables ``run_one`` returns (but the run's wall time and its config hash, which changes whenever the config
gains a setting).
``tests/test_compiled_run.py`` recomputes them. The stored file was written by the code of commit
f48cd73 (main, before runs executed in compiled code).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loyaltysim import LoyaltyModel
from loyaltysim.experiments.execution import run_one
from loyaltysim.experiments.spec import load_experiment, plan_runs
from tests.conftest import CONFIGS, SWITCHES, small_config

CASES: dict[str, dict[str, Any]] = {
    "baseline seed 1": {"run.seed": 1},
    "baseline seed 2": {"run.seed": 2},
    "baseline seed 3, monthly burn-in 12": {"run.seed": 3, "run.burn_in": 12},
    **{name: {"run.seed": 4, **SWITCHES[name]} for name in SWITCHES},
}
"""Name → dotted overrides of ``small_config`` (200 customers, 30 periods)."""


def config_of(overrides: dict[str, Any]):
    """The case's config: the test baseline at 200 customers and 30 periods, plus the case's overrides."""
    return small_config(**{"customers.n": 200, "run.steps": 30, **overrides})


def column_digest(column: pd.Series) -> str:
    """SHA-256 (16 hex digits) of a column's dtype and values."""
    values = column.to_numpy()
    data = "\x00".join(map(str, values)).encode() if values.dtype == object else np.ascontiguousarray(values).tobytes()
    return hashlib.sha256(str(values.dtype).encode() + data).hexdigest()[:16]


def digests(model: LoyaltyModel) -> dict[str, Any]:
    """The digests of a finished run's tables and its exact summary."""
    return {
        "timeseries": {name: column_digest(column) for name, column in model.timeseries().items()},
        "firms": {name: column_digest(column) for name, column in model.firm_timeseries().items()},
        "summary": model.summary(),
    }


SWEEP = {
    "overrides.customers.n": 200,
    "overrides.run.steps": 30,
    "replicates": 1,
    "outcomes.false_loyalty": {"function": "loyaltysim.outcomes:false_loyalty", "per": "period"},
}
"""Overrides of ``experiments/demo_sweep.yaml``: 6 runs of 200 customers × 30 periods, yearly rows kept."""


def sweep_digests() -> list[dict[str, dict[str, str]]]:
    """Per run of :data:`SWEEP`: the digests of the columns of each table ``run_one`` returns."""
    experiment = load_experiment(CONFIGS.parent / "experiments" / "demo_sweep.yaml", SWEEP)
    base = experiment.base_config().to_dict()
    return [
        {
            table: {name: column_digest(column) for name, column in frame.items() if name not in ("wall_time", "config_hash")}
            for table, frame in run_one(base, spec, experiment).items()
        }
        for spec in plan_runs(experiment)
    ]


def main() -> None:
    cases = {name: digests(LoyaltyModel(config_of(overrides)).run()) for name, overrides in CASES.items()}
    print(json.dumps({**cases, "sweep": sweep_digests()}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
