"""MSER-5 finds a known warm-up, leaves a stationary series alone and flags a drifting one."""

import numpy as np
import pandas as pd
import pytest

from loyaltysim.analysis.warmup import (
    BATCH,
    StationarityWarning,
    mser5,
    stationarity_warnings,
    sweep_stationarity_warnings,
)


def test_known_transient_is_cut_near_its_end():
    periods, transient = 300, 60
    level = np.where(np.arange(periods) < transient, 2.0 * (1 - np.arange(periods) / transient), 0.0)
    results = [mser5(level + np.random.default_rng(seed).normal(0.0, 0.1, periods)) for seed in range(20)]
    truncations = [r.truncation for r in results]
    assert all(r.settled for r in results) and min(truncations) >= transient - 3 * BATCH
    assert transient - 2 * BATCH <= np.median(truncations) <= transient + 2 * BATCH


def test_stationary_series_needs_little_or_no_warm_up():
    truncations = [mser5(np.random.default_rng(seed).normal(0.0, 1.0, 240)).truncation for seed in range(20)]
    assert np.median(truncations) <= 2 * BATCH


def test_a_drifting_series_has_no_steady_state():
    rng = np.random.default_rng(1)
    result = mser5(np.linspace(0.0, 5.0, 200) + rng.normal(0.0, 0.05, 200))
    assert not result.settled and result.truncation == (200 // BATCH // 2) * BATCH


def test_too_short_and_nan_periods():
    with pytest.raises(ValueError, match="at least 20 periods"):
        mser5([1.0] * 19)
    assert mser5([np.nan] * 5 + [0.0, 1.0] * 20).periods == 40


def _series(values, step0=1, every=1):
    return pd.DataFrame({"step": step0 + every * np.arange(len(values)), "churn_rate": values})


def test_stationarity_warnings_name_the_metric_and_the_burn_in_needed():
    rng = np.random.default_rng(3)
    periods, transient = 240, 60
    settling = np.where(np.arange(periods) < transient, 0.05 * (1 - np.arange(periods) / transient), 0.0) + 0.02
    noisy = settling + rng.normal(0, 0.001, periods)
    (warning,) = stationarity_warnings(_series(noisy), burn_in=12)
    needed = int(warning.split("raise run.burn_in to at least ")[1])
    assert warning.startswith("churn_rate settles after about") and transient - 2 * BATCH <= needed <= transient + 2 * BATCH
    assert stationarity_warnings(_series(noisy), burn_in=needed) == []
    # rows kept every 3 steps: the warm-up is counted in steps, not rows
    (sparse,) = stationarity_warnings(_series(noisy[::3], every=3), burn_in=12)
    assert transient - 6 * BATCH <= int(sparse.split("at least ")[1]) <= transient + 6 * BATCH
    drifting = _series(np.linspace(0.05, 0.01, periods) + rng.normal(0, 0.001, periods))
    assert stationarity_warnings(drifting, burn_in=12, where="point 3: ") == [
        "point 3: churn_rate has no steady state within the run (MSER-5): it still drifts in its second half"
    ]
    assert stationarity_warnings(_series(noisy[:19]), burn_in=0) == []  # too short to check


def test_sweep_warnings_use_each_points_mean_and_its_own_burn_in():
    rng = np.random.default_rng(4)
    steps = np.arange(1, 121)
    settled = 0.02 + 0.05 * np.exp(-steps / 8)  # settles after about 30 periods
    frames, runs = [], []
    for point in range(3):
        for rep in range(2):
            run_id = point * 2 + rep
            frames.append(
                pd.DataFrame({"run_id": run_id, "step": steps, "churn_rate": settled + rng.normal(0, 0.002, steps.size)})
            )
            runs.append({"run_id": run_id, "point_id": point, "status": "ok", "run.burn_in": (6, 48, 6)[point]})
    runs, timeseries = pd.DataFrame(runs), pd.concat(frames)
    found = sweep_stationarity_warnings(runs, timeseries, burn_in=12)
    assert [w.split(":")[0] for w in found] == ["design point 0", "design point 2"]
    assert sweep_stationarity_warnings(runs, timeseries, burn_in=12, limit=1)[-1].startswith("… and 1 more")


def test_a_scenario_run_warns_about_a_window_that_is_not_stationary(tmp_path):
    import json

    from loyaltysim import load_config
    from loyaltysim.workflows.scenario import run_scenario

    # a cold start measured from the first period: the transient lies inside the measurement window
    config = load_config(None, {"customers.n": 300, "run.steps": 100, "run.burn_in": 0, "run.warm_start": False})
    with pytest.warns(StationarityWarning) as caught:
        run_scenario(config, tmp_path / "run", figures=False)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["warnings"] == [str(w.message) for w in caught] and manifest["warnings"]
