"""MSER-5 finds a known warm-up, leaves a stationary series alone and flags a drifting one."""

import numpy as np
import pandas as pd
import pytest

from loyaltysim.analysis.warmup import BATCH, mser5, warm_up_table


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


def test_table_per_run_and_metric():
    frame = pd.DataFrame({"run_id": np.repeat([0, 1], 100), "step": np.tile(np.arange(1, 101), 2)})
    frame["churn_rate"] = np.r_[np.linspace(1.0, 0.0, 100), np.zeros(100)]
    table = warm_up_table(frame, ["churn_rate", "absent"], by="run_id")
    assert list(table["run_id"]) == [0, 1] and list(table["metric"]) == ["churn_rate"] * 2
    assert not table["settled"].iloc[0] and table["truncation"].iloc[1] == 0
