"""The parallel kernels' threads: OpenMP's wait policy (model/jit.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

SHOW = "import os; from loyaltysim import LoyaltyModel; print(os.environ.get('OMP_WAIT_POLICY'))"


def policy(**env: str) -> str:
    """``OMP_WAIT_POLICY`` after importing the model in a new interpreter with ``env`` set (and the variable
    removed unless ``env`` sets it)."""
    base = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env={**base, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_idle_threads_sleep_by_default():
    """Spinning threads take the cores from other runs: a pool of parallel runs halves its own throughput."""
    assert policy() == "PASSIVE"


@pytest.mark.parametrize("chosen", ["ACTIVE", "passive"])
def test_a_policy_the_user_set_is_kept(chosen):
    assert policy(OMP_WAIT_POLICY=chosen) == chosen
