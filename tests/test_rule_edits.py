"""Editing a rule changes what the default engine computes, whatever numba has cached.

Each case runs in a fresh interpreter (the kernels are compiled once per process) with its own numba
cache folder, so it compiles: these are the slowest tests of the model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from loyaltysim import LoyaltyModel

from .conftest import ROOT, small_config

RUN = """
import json, sys
{prelude}
from loyaltysim import LoyaltyModel
from loyaltysim.model import jit
from tests.conftest import small_config
model = LoyaltyModel(small_config(customers__n=200, run__steps=6, loyalty__link="threshold")).run()
print(json.dumps({{"loyalty": model.state.loyalty.tolist(), "cache": str(jit.CACHE_DIR)}}))
"""

NEVER_LOYAL = """
import numba
from loyaltysim.model import rules
rules.link_threshold = numba.njit(lambda satisfaction, p: 0.0)  # before anything is compiled
"""


def run(prelude: str, *, cache: Path, pythonpath: Path | None = None) -> dict:
    """Run :data:`RUN` in a new interpreter with numba's cache in ``cache`` (and the package from ``pythonpath``)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-c", RUN.format(prelude=prelude)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_rule_patched_before_compiling_changes_the_engines_output(tmp_path):
    """A link that gives no loyalty: loyalty is then only trust and habit, in the compiled engine."""
    config = small_config(customers__n=200, run__steps=6, loyalty__link="threshold")
    usual = LoyaltyModel(config).run().state.loyalty
    patched = np.array(run(NEVER_LOYAL, cache=tmp_path / "cache")["loyalty"])
    assert not np.allclose(patched, usual)
    assert patched.max() <= config.loyalty.trust_weight + config.loyalty.habit_weight + 1e-12
    assert usual.max() > config.loyalty.trust_weight + config.loyalty.habit_weight


@pytest.mark.slow
def test_editing_a_rule_file_is_not_hidden_by_numbas_cache(tmp_path):
    """The same cache folder, three runs: the source, the source with an edited rule, the source again.
    The edit gives its own cache (and other numbers); undoing it finds the first cache again."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "loyaltysim", source / "loyaltysim", ignore=shutil.ignore_patterns("__pycache__"))
    rules = source / "loyaltysim" / "model" / "rules.py"
    original = rules.read_text(encoding="utf-8")
    edited = original.replace(
        "return (sigmoid(steepness * (satisfaction - threshold)) - low) / (high - low)", "return 0.0 * satisfaction"
    )
    assert edited != original
    cache = tmp_path / "cache"

    first = run("", cache=cache, pythonpath=source)
    compiled_first = _files(Path(first["cache"]))
    rules.write_text(edited, encoding="utf-8")
    after_edit = run("", cache=cache, pythonpath=source)
    rules.write_text(original, encoding="utf-8")
    undone = run("", cache=cache, pythonpath=source)

    assert Path(first["cache"]).parent == cache and after_edit["cache"] != first["cache"]
    assert after_edit["loyalty"] != first["loyalty"]
    assert undone == first
    assert _files(Path(first["cache"])) == compiled_first  # loaded as it was: nothing compiled or written again


def _files(folder: Path) -> dict[Path, int]:
    """Every file under ``folder`` with its modification time."""
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}
