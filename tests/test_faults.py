"""Faults during sweeps: kills at several points, a Dask worker killed from outside, a run that raises,
a full disk, a read-only folder, two sweeps on one folder. Nothing finished may be lost or corrupted.

These extend tests/test_execution.py (one SIGKILL, a Dask worker that exits inside a task, a
monkeypatched failing run, the lock taken in-process) with the faults seen in practice.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyaltysim import load_results, sweep
from loyaltysim.cli import main
from loyaltysim.experiments import execution as execution_module
from loyaltysim.experiments import results as results_module

from .test_execution import OVERRIDES, assert_same_results, comparable, write_experiment

pytestmark = pytest.mark.faults

RUNS = 40
KILL_SEED = 20260107  # kill points are drawn from this seed, so a failure can be replayed


def many_runs(folder: Path, runs: int = RUNS) -> Path:
    """An experiment of ``runs`` short runs (one factor, one replicate), each made to last at least 0.1 s (an
    outcome that waits, ``tests.extensions:pause``) so that a kill aimed between chunks lands before the sweep
    ends however fast the model runs."""
    return write_experiment(
        folder,
        replicates=1,
        overrides={**OVERRIDES, "customers.n": 300, "run.steps": 60},
        factors={"switching.loyalty_weight": [float(w) for w in range(1, runs + 1)]},
        outcomes={"pause": "tests.extensions:pause"},
    )


def chunk_count(out: Path) -> int:
    chunks = out / "chunks"
    return len([p for p in chunks.iterdir() if not p.name.startswith(".")]) if chunks.is_dir() else 0


def assert_intact(partial, reference) -> None:
    """Every run on disk is unique and identical to the same run of an uninterrupted sweep."""
    runs = partial.runs
    if runs.empty:
        assert partial.timeseries.empty and partial.curves.empty
        return
    assert runs["run_id"].is_unique and (runs["status"] == "ok").all()
    expected = reference.runs[reference.runs["run_id"].isin(runs["run_id"])]
    pd.testing.assert_frame_equal(comparable(runs), comparable(expected))
    ts = reference.timeseries[reference.timeseries["run_id"].isin(runs["run_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(partial.timeseries.reset_index(drop=True), ts)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The many-runs experiment, run serially in one go."""
    folder = tmp_path_factory.mktemp("whole")
    return sweep(many_runs(folder), out=folder / "out", executor="serial", progress=False)


# --- kills -----------------------------------------------------------------------------------


def _start(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "loyaltysim", "sweep", str(path), "--out", str(out), "--batch-size", "1", "--quiet", *extra]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # a session of its own: SIGKILL to the group kills the sweep and its worker processes, as a job scheduler does
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )


def _sessions_recorded(out: Path) -> int:
    """Sessions the sweep's manifest lists (written atomically, so always readable)."""
    manifest = out / "manifest.json"
    return len(json.loads(manifest.read_text(encoding="utf-8"))["sessions"]) if manifest.is_file() else 0


def test_sigkill_at_several_points_then_resume_gives_identical_tables(whole, tmp_path, capsys):
    path, out = many_runs(tmp_path), tmp_path / "out"
    rng = np.random.default_rng(KILL_SEED)
    # kill once before the first chunk, then after random numbers of finished chunks, each plus a random delay
    targets = [0, *sorted(int(x) for x in rng.choice(np.arange(3, RUNS - 8), size=3, replace=False))]
    executors = [["--executor", "serial"], ["--executor", "process", "--workers", "2"]]
    seen = 0
    for session, target in enumerate(targets):
        process = _start(path, out, *executors[session % 2], *(["--resume"] if session else []))
        deadline = time.monotonic() + 180
        while process.poll() is None and time.monotonic() < deadline:
            if _sessions_recorded(out) > session and chunk_count(out) >= target:  # this session has started
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.05))
        assert process.poll() is None, f"session {session} ended before the kill: {process.stderr.read()}"
        if session == 1:  # while it runs, a second sweep on the folder is refused, with or without --resume
            for extra in (["--resume"], []):
                assert main(["sweep", str(path), "--out", str(out), "--executor", "serial", *extra]) == 2
                err = capsys.readouterr().err
                assert ("another sweep (PID" in err) if extra else ("already exists" in err), err
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        process.stderr.close()

        partial = load_results(out)
        assert len(partial.runs) >= max(seen, target) and len(partial.runs) < RUNS
        assert_intact(partial, whole)
        seen = len(partial.runs)

    resumed = sweep(path, out=out, executor="serial", resume=True, progress=False)
    assert resumed.manifest["status"] == "complete" and resumed.manifest["counts"]["ok"] == RUNS
    assert resumed.manifest["sessions"][-1]["runs_done"] == RUNS - seen
    assert [s["session"] for s in resumed.manifest["sessions"]] == list(range(1, len(targets) + 2))
    assert_same_results(resumed, whole)
    assert not any(p.name.startswith(".") for p in (out / "chunks").iterdir())  # staged chunks of killed sessions cleaned


def test_dask_worker_killed_from_outside_mid_sweep(whole, tmp_path):
    distributed = pytest.importorskip("distributed")
    path, out = many_runs(tmp_path), tmp_path / "out"
    options = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None, "host": "127.0.0.1"}
    with distributed.LocalCluster(**options) as cluster, distributed.Client(cluster) as client:
        before = client.run(os.getpid)
        outcome: dict[str, object] = {}

        def run_sweep() -> None:
            try:
                outcome["results"] = sweep(path, out=out, scheduler=cluster.scheduler_address, batch_size=1, progress=False)
            except BaseException as exc:  # reported by the main thread
                outcome["error"] = exc

        thread = threading.Thread(target=run_sweep)
        thread.start()
        deadline = time.monotonic() + 180
        while chunk_count(out) < 4 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert thread.is_alive(), "the sweep ended before a worker could be killed"
        victim = sorted(before.values())[0]
        os.kill(victim, signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
        assert victim not in client.run(os.getpid).values()  # the worker really died (its nanny started a new one)
    results = outcome["results"]
    assert results.runs["run_id"].tolist() == list(range(RUNS))  # all runs, none duplicated
    assert (results.runs["status"] == "ok").all() and results.manifest["status"] == "complete"
    assert_same_results(results, whole)


# --- a run that raises -----------------------------------------------------------------------


def test_a_run_that_raises_in_a_worker_is_recorded_and_the_rest_finish(tmp_path, capsys):
    # a real error, not a mock: the network file has 120 nodes, so the runs with 130 customers cannot be built
    edges = tmp_path / "ring.txt"
    edges.write_text("".join(f"{i} {(i + 1) % 120}\n" for i in range(120)))
    overrides = {"customers.n": 120, "run.steps": 6, "run.burn_in": 1, "network.type": "file", "network.path": str(edges)}
    path = write_experiment(tmp_path, replicates=2, overrides=overrides, factors={"customers.n": [120, 130]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "process", "--workers", "2", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "2 runs failed" in err and "Traceback" not in err and "network.path" in err
    results = load_results(out)
    runs = results.runs.set_index("run_id")
    assert runs["status"].tolist() == ["ok", "ok", "failed", "failed"]
    assert runs.loc[[2, 3], "error"].str.startswith("ConfigError: network.path").all()
    assert runs.loc[[0, 1], "annualised_churn"].notna().all()
    assert [r["run_id"] for r in results.manifest["failed_runs"]] == [2, 3]
    assert sorted(results.timeseries["run_id"].unique()) == [0, 1]


# --- a full disk -----------------------------------------------------------------------------


def _fail_after(calls: int, real, *, when=lambda path: True):
    """A write_parquet that raises ENOSPC once ``calls`` matching writes have succeeded."""
    count = {"n": 0}

    def write(frame: pd.DataFrame, path: Path) -> None:
        if when(Path(path)):
            if count["n"] >= calls:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            count["n"] += 1
        real(frame, path)

    return write


def _sweep_cli(path: Path, out: Path, capsys, *extra: str) -> tuple[int, str]:
    status = main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--batch-size", "1", "--quiet", *extra])
    captured = capsys.readouterr()
    return status, captured.err


def check_clear_error(status: int, err: str, *expect: str) -> None:
    assert status in (1, 2) and err.startswith("error: ") and "Traceback" not in err, err
    assert "\n" not in err.rstrip("\n"), err
    for text in expect:
        assert text in err, err


@pytest.mark.parametrize("where", ["chunk", "final_tables"])
def test_full_disk_gives_a_clear_error_and_keeps_finished_runs(whole, tmp_path, capsys, monkeypatch, where):
    path, out = many_runs(tmp_path), tmp_path / "out"
    if where == "chunk":  # the disk fills up while the 8th chunk is written
        monkeypatch.setattr(
            results_module, "write_parquet", _fail_after(7 * len(results_module.CHUNK_TABLES) + 2, results_module.write_parquet)
        )
    else:  # … or only when the final tables are written
        monkeypatch.setattr(execution_module, "write_parquet", _fail_after(1, execution_module.write_parquet))
    status, err = _sweep_cli(path, out, capsys)
    check_clear_error(status, err, "No space left on device", "--resume")
    assert status == 1
    partial = load_results(out)
    assert len(partial.runs) == (7 if where == "chunk" else RUNS)
    assert_intact(partial, whole)
    assert not (out / ".lock").exists() and not any(p.name.startswith(".") for p in (out / "chunks").iterdir())

    monkeypatch.undo()  # space freed
    status, err = _sweep_cli(path, out, capsys, "--resume")
    assert status == 0 and err == ""
    assert_same_results(load_results(out), whole)


# --- a read-only folder (real file permissions) ------------------------------------------------


def _unprivileged() -> list[str]:
    """A command prefix under which file permissions apply (root bypasses them otherwise)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder read-only for the sweep")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _set_writable(folder: Path, writable: bool) -> None:
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755 if writable else 0o555)


def test_read_only_folder_gives_a_clear_error_and_changes_nothing(whole, tmp_path, capsys, monkeypatch):
    prefix = _unprivileged()
    path = many_runs(tmp_path)
    folder = Path(tempfile.mkdtemp(prefix="loyaltysim-ro-"))
    try:
        out = folder / "out"
        monkeypatch.setattr(results_module, "write_parquet", _fail_after(5 * 4, results_module.write_parquet))
        assert _sweep_cli(path, out, capsys)[0] == 1  # a partial sweep: 5 runs
        monkeypatch.undo()
        before = _snapshot(out)
        _set_writable(folder, writable=False)
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1"}
        base = [*prefix, sys.executable, "-m", "loyaltysim", "sweep", str(path), "--executor", "serial", "--quiet"]
        resumed = subprocess.run([*base, "--out", str(out), "--resume"], capture_output=True, text=True, env=env, timeout=300)
        check_clear_error(resumed.returncode, resumed.stderr, "Permission denied")
        fresh = subprocess.run([*base, "--out", str(folder / "new")], capture_output=True, text=True, env=env, timeout=300)
        check_clear_error(fresh.returncode, fresh.stderr, "cannot create the results folder: Permission denied")
        assert fresh.returncode == 2 and not (folder / "new").exists()
        assert _snapshot(out) == before  # nothing changed, nothing lost
    finally:
        _set_writable(folder, writable=True)
    assert_intact(load_results(out), whole)
    status, err = _sweep_cli(path, out, capsys, "--resume")
    assert status == 0 and err == ""
    assert_same_results(load_results(out), whole)
    shutil.rmtree(folder)
