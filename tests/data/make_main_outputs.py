"""Writes ``main_outputs.npz``: outputs of the model before the firm practices existed (ODD 7.17).

Run with the sources of that version first on the path (main at f48cd73), from any folder::

    PYTHONPATH=/path/to/main/src python tests/data/make_main_outputs.py tests/data/main_outputs.npz

``tests/test_practices.py`` runs the same configs with every practice off and requires equal outputs, bit for bit.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from loyaltysim import LoyaltyModel
from tests.conftest import SWITCHES, small_config

CASES = {"baseline": {}, "everything": {**SWITCHES["everything"], **SWITCHES["loud word of mouth"]}}


def main(path: str) -> None:
    out = {}
    for name, switches in CASES.items():
        model = LoyaltyModel(small_config(customers__n=200, run__steps=30, **switches)).run()
        ts, firms = model.timeseries(), model.firm_timeseries()
        out[f"{name}/timeseries"] = ts.to_numpy(dtype=float)
        out[f"{name}/timeseries_columns"] = np.array(ts.columns)
        out[f"{name}/firms"] = firms.drop(columns="firm").to_numpy(dtype=float)
        for field in ("firm", "tenure", "belief", "satisfaction", "trust", "loyalty"):
            out[f"{name}/state_{field}"] = getattr(model.state, field)
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])
