"""Sweeps: identical results on any executor and worker count, checkpoints, resume, failures, lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from loyaltysim import ConfigError, LoyaltyModel, load_results, sweep
from loyaltysim.cli import main
from loyaltysim.experiments import execution as execution_module
from loyaltysim.experiments.execution import SweepLock
from loyaltysim.experiments.results import merge_chunks, write_chunk
from loyaltysim.experiments.spec import load_experiment, plan_runs, run_config

from .conftest import CONFIGS

OVERRIDES = {"customers.n": 120, "run.steps": 12, "run.burn_in": 2, "run.panel_size": 0}


def write_experiment(folder: Path, replicates: int = 3, **keys: object) -> Path:
    data = {
        "name": "small",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": OVERRIDES,
        "factors": {"loyalty.link": ["linear", "threshold"], "switching.loyalty_weight": [2.0, 6.0]},
        "replicates": replicates,
        "seed": 11,
        "timeseries": {"every": 4},
        **keys,
    }
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.drop(columns="wall_time").sort_values("run_id").reset_index(drop=True)


def assert_same_results(a, b) -> None:
    pd.testing.assert_frame_equal(comparable(a.runs), comparable(b.runs))
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.curves, b.curves)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small experiment run serially, in one go."""
    folder = tmp_path_factory.mktemp("reference")
    return sweep(write_experiment(folder), out=folder / "out", executor="serial", progress=False)


def test_serial_sweep_tables_and_manifest(reference):
    runs = reference.runs
    assert len(runs) == 12 and runs["run_id"].tolist() == list(range(12))
    assert list(runs.columns[:9]) == [
        "run_id", "point_id", "replicate", "loyalty.link", "switching.loyalty_weight", "seed", "status", "error", "wall_time",
    ]  # fmt: skip
    assert (runs["status"] == "ok").all() and runs["seed"].is_unique
    assert {"annualised_churn", "satisfied_defector_share", "share_A", "final_mean_satisfaction"} <= set(runs.columns)
    assert sorted(reference.timeseries["step"].unique()) == [4, 8, 12]
    assert len(reference.timeseries) == 12 * 3
    assert len(reference.curves) == 12 * 20 and {"customer_periods", "switchers"} <= set(reference.curves.columns)
    manifest = reference.manifest
    assert manifest["status"] == "complete" and manifest["counts"]["runs"] == 12 and manifest["counts"]["ok"] == 12
    assert manifest["seed"] == 11 and "replicates: 3" in manifest["experiment_text"]
    assert manifest["versions"]["numpy"] and manifest["failed_runs"] == []
    # plain Parquet: readable without loyaltysim's classes
    assert pd.read_parquet(reference.path / "runs.parquet")["seed"].dtype == "int64"
    assert not (reference.path / ".lock").exists()


def test_a_run_reproduces_alone(reference, tmp_path):
    experiment = load_experiment(write_experiment(tmp_path))
    spec = plan_runs(experiment)[7]
    alone = LoyaltyModel(run_config(experiment.base_config(), spec)).run().summary()
    row = reference.runs.set_index("run_id").loc[7]
    assert row["seed"] == spec.seed
    assert alone["annualised_churn"] == row["annualised_churn"] and alone["share_C"] == row["share_C"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_process_pool_equals_serial(reference, tmp_path, workers):
    results = sweep(write_experiment(tmp_path), out=tmp_path / "out", executor="process", workers=workers, progress=False)
    assert_same_results(results, reference)
    assert len(list((tmp_path / "out" / "chunks").iterdir())) >= 2


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real Dask scheduler and two worker processes on 127.0.0.1 (workers see LOYALTYSIM_TEST_MARK)."""
    distributed = pytest.importorskip("distributed")
    mark = tmp_path_factory.mktemp("dask") / "died"
    os.environ["LOYALTYSIM_TEST_MARK"] = str(mark)
    try:
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster:
            yield cluster
    finally:
        del os.environ["LOYALTYSIM_TEST_MARK"]


@pytest.mark.slow
def test_dask_cluster_equals_serial(reference, tmp_path, dask_cluster):
    address = dask_cluster.scheduler_address
    code = main(["sweep", str(write_experiment(tmp_path)), "--out", str(tmp_path / "out"), "--scheduler", address])
    assert code == 0
    results = load_results(tmp_path / "out")
    assert results.manifest["sessions"][-1]["executor"] == "dask"
    assert_same_results(results, reference)


def test_a_thread_pool_equals_serial_and_stays_up(reference, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as threads:
        results = sweep(write_experiment(tmp_path), out=tmp_path / "out", executor=threads, progress=False)
        assert threads.submit(sum, [1, 2]).result() == 3  # the caller's executor is left running
    assert_same_results(results, reference)
    assert results.manifest["sessions"][-1]["executor"] == "ThreadPoolExecutor"
    with pytest.raises(ConfigError, match="scheduler applies to the dask executor"):
        sweep(write_experiment(tmp_path), out=tmp_path / "bad", executor=threads, scheduler="tcp://127.0.0.1:1")


@pytest.mark.slow
def test_a_users_process_pool_equals_serial(reference, tmp_path):
    from loyaltysim.experiments.execution import process_pool

    with process_pool(2) as pool:
        results = sweep(write_experiment(tmp_path), out=tmp_path / "out", executor=pool, progress=False)
    assert_same_results(results, reference)
    assert results.manifest["sessions"][-1]["executor"] == "ProcessPoolExecutor"


@pytest.mark.slow
def test_a_dask_client_executor_equals_serial(reference, tmp_path, dask_cluster):
    from distributed import Client

    with Client(dask_cluster.scheduler_address) as client:
        results = sweep(write_experiment(tmp_path), out=tmp_path / "out", executor=client.get_executor(), progress=False)
    assert_same_results(results, reference)
    assert results.manifest["sessions"][-1]["executor"] == "ClientExecutor"


def _die_once_on_run_3(threads, base, specs, experiment):
    """A batch function whose Dask worker dies the first time it meets run 3 (marker file in LOYALTYSIM_TEST_MARK)."""
    mark = Path(os.environ["LOYALTYSIM_TEST_MARK"])
    if any(spec.run_id == 3 for spec in specs) and not mark.exists():
        mark.touch()
        os._exit(1)
    return execution_module.run_batch_in_worker(threads, base, specs, experiment)


@pytest.mark.slow
def test_dask_reschedules_the_batch_of_a_lost_worker(reference, tmp_path, monkeypatch, dask_cluster):
    monkeypatch.setattr(execution_module, "run_batch_in_worker", _die_once_on_run_3)
    address = dask_cluster.scheduler_address
    results = sweep(write_experiment(tmp_path), out=tmp_path / "out", scheduler=address, batch_size=2, progress=False)
    assert Path(os.environ["LOYALTYSIM_TEST_MARK"]).exists()  # a worker really died
    assert_same_results(results, reference)


@pytest.mark.slow
def test_existing_folder_refused_without_resume_and_resume_is_idempotent(reference, tmp_path):
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    sweep(path, out=out, executor="serial", progress=False)
    before = (out / "runs.parquet").read_bytes()
    with pytest.raises(ConfigError, match="already exists and is not empty; add --resume"):
        sweep(path, out=out, executor="serial", progress=False)
    assert (out / "runs.parquet").read_bytes() == before
    again = sweep(path, out=out, executor="serial", resume=True, progress=False)
    assert again.manifest["sessions"][-1]["runs_done"] == 0
    assert_same_results(again, reference)


@pytest.mark.slow
def test_sweep_accepts_an_experiment_object_and_checks_it(reference, tmp_path):
    experiment = load_experiment(write_experiment(tmp_path))
    results = sweep(experiment, out=tmp_path / "out", executor="serial", progress=False)
    assert_same_results(results, reference)
    bad = experiment.model_copy(update={"factors": {"customers.nn": experiment.factors["loyalty.link"]}})
    with pytest.raises(ConfigError, match=r"factors\.customers\.nn"):
        sweep(bad, out=tmp_path / "bad", executor="serial", progress=False)
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_resume_refuses_a_changed_experiment(tmp_path):
    out = tmp_path / "out"
    sweep(write_experiment(tmp_path), out=out, executor="serial", progress=False)
    with pytest.raises(ConfigError, match=r"experiment .* changed"):
        sweep(write_experiment(tmp_path, replicates=4), out=out, executor="serial", resume=True, progress=False)


def one_run_fails(tmp_path, monkeypatch):
    """An experiment of 8 runs with a per-period outcome whose fourth run crashes: (experiment, base, specs)."""
    outcome = {"false_loyalty": {"function": "loyaltysim.outcomes:false_loyalty", "per": "period"}}
    experiment = load_experiment(write_experiment(tmp_path, replicates=2, outcomes=outcome))
    base, specs = experiment.base_config().to_dict(), plan_runs(experiment)
    doomed = specs[3].seed

    class Flaky(LoyaltyModel):
        def __init__(self, config, **kwargs):
            if config.run.seed == doomed:
                raise RuntimeError("simulated crash")
            super().__init__(config, **kwargs)

    monkeypatch.setattr(execution_module, "LoyaltyModel", Flaky)
    return experiment, base, specs


def test_a_batchs_tables_equal_its_runs_tables_one_by_one(tmp_path, monkeypatch):
    """A batch builds its runs and failures tables from the runs' rows at once: the same columns, dtypes and
    values as each run's own tables stacked, a failed run included, with a per-period outcome."""
    experiment, base, specs = one_run_fails(tmp_path, monkeypatch)
    batch = execution_module.run_batch(base, specs, experiment)
    alone = [execution_module.run_one(base, spec, experiment) for spec in specs]
    assert batch["failures"]["run_id"].tolist() == [specs[3].run_id]
    assert len(batch["runs"]) == len(specs) - 1 and "false_loyalty_A" in batch["runs"]
    for table, frame in batch.items():
        parts = [tables[table] for tables in alone if len(tables[table])]
        expected = pd.concat(parts, ignore_index=True)
        pd.testing.assert_frame_equal(
            frame.drop(columns="wall_time", errors="ignore"), expected.drop(columns="wall_time", errors="ignore")
        )


def test_the_final_merge_of_chunks_in_memory_equals_reading_them_back(tmp_path, monkeypatch):
    """A sweep merges the chunks it wrote from memory: the same tables, dtypes included, as read from disk, also
    beside a chunk of an earlier session read from disk, with a failed run and a per-period outcome."""
    experiment, base, specs = one_run_fails(tmp_path, monkeypatch)
    folder = tmp_path / "out"
    chunks = {
        name: execution_module.run_batch(base, part, experiment)
        for name, part in [("s001-000000", specs[:3]), ("s002-000000", specs[3:6]), ("s002-000001", specs[6:])]
    }
    for name, tables in chunks.items():
        write_chunk(folder, name, tables)
    from_disk = merge_chunks(folder)
    merged = merge_chunks(folder, {name: chunks[name] for name in ("s002-000000", "s002-000001")})
    assert len(merged["runs"]) == len(specs) and merged["runs"]["status"].tolist().count("failed") == 1
    assert (
        len(merged["timeseries"]) and len(merged["firms"]) and len(merged["curves"]) and "false_loyalty_A" in merged["timeseries"]
    )
    assert merged.keys() == from_disk.keys()
    for table, frame in merged.items():
        pd.testing.assert_frame_equal(frame, from_disk[table], check_exact=True)


@pytest.mark.slow
def test_failed_runs_are_recorded_then_retried_on_resume(reference, tmp_path, monkeypatch):
    path = write_experiment(tmp_path)
    doomed = {int(s) for s in reference.runs.loc[[2, 9], "seed"]}

    class Flaky(LoyaltyModel):
        def __init__(self, config, **kwargs):
            if config.run.seed in doomed:
                raise RuntimeError("simulated crash")
            super().__init__(config, **kwargs)

    monkeypatch.setattr(execution_module, "LoyaltyModel", Flaky)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--quiet"]) == 1
    first = load_results(out)
    assert first.failed["run_id"].tolist() == [2, 9]
    assert first.failed["error"].tolist() == ["RuntimeError: simulated crash"] * 2
    assert first.manifest["status"] == "complete_with_failures"
    assert [r["run_id"] for r in first.manifest["failed_runs"]] == [2, 9]
    assert (first.runs["status"] == "ok").sum() == 10

    monkeypatch.setattr(execution_module, "LoyaltyModel", LoyaltyModel)
    second = sweep(path, out=out, executor="serial", resume=True, progress=False)
    assert second.manifest["sessions"][-1]["runs_done"] == 2  # only the failed runs ran again
    assert second.manifest["status"] == "complete"
    assert_same_results(second, reference)


def _die_on_run_3(threads, base, specs, experiment):
    """A batch function whose worker process dies (as if killed) when it meets run 3."""
    if any(spec.run_id == 3 for spec in specs):
        os._exit(1)
    return execution_module.run_batch_in_worker(threads, base, specs, experiment)


@pytest.mark.slow
def test_dead_worker_process_loses_no_run(reference, tmp_path, monkeypatch):
    path = write_experiment(tmp_path)
    monkeypatch.setattr(execution_module, "run_batch_in_worker", _die_on_run_3)
    out = tmp_path / "out"
    first = sweep(path, out=out, executor="process", workers=2, batch_size=2, progress=False)
    lost = first.failed
    assert 3 in set(lost["run_id"]) and lost["error"].str.startswith("batch lost: BrokenProcessPool").all()
    assert len(first.runs) == 12  # every run is either finished or recorded as failed
    monkeypatch.undo()
    second = sweep(path, out=out, executor="serial", resume=True, progress=False)
    assert second.manifest["sessions"][-1]["runs_done"] == len(lost)
    assert_same_results(second, reference)


POOL_OUTPUT = """
from loyaltysim.experiments.execution import process_pool

def talk(x):
    print(f"worker says {x}")  # stdout is a pipe here: buffered, written when flushed
    return x * 2

if __name__ == "__main__":
    pool = process_pool(2)
    results = list(pool.map(talk, range(4)))
    workers = list(pool._processes.values())
    pool.shutdown(wait=True)
    print("results", results, "exit codes", sorted({w.exitcode for w in workers}))
"""


def test_pool_workers_end_cleanly_and_keep_their_output(tmp_path):
    """Workers end without the interpreter's teardown (execution._end_worker): exit code 0, every result
    back, and what they printed is flushed, not lost."""
    script = tmp_path / "pool.py"
    script.write_text(POOL_OUTPUT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "results [0, 2, 4, 6] exit codes [0]" in done.stdout
    assert sorted(line for line in done.stdout.splitlines() if line.startswith("worker says")) == [
        f"worker says {x}" for x in range(4)
    ]


def test_metric_selection_and_final_only(tmp_path):
    path = write_experiment(tmp_path, replicates=1, metrics=["annualised_churn", "nps"], timeseries="final_only")
    results = sweep(path, out=tmp_path / "out", executor="serial", progress=False)
    assert list(results.runs.columns[-2:]) == ["annualised_churn", "nps"] and "share_A" not in results.runs
    assert results.timeseries["step"].unique().tolist() == [12] and len(results.timeseries) == 4


def test_lock_refuses_a_second_sweep(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with SweepLock(out):
        assert f"PID {os.getpid()}" in (out / ".lock").read_text()
        with pytest.raises(ConfigError, match="another sweep"):
            sweep(write_experiment(tmp_path), out=out, executor="serial", resume=True, progress=False)
    assert not (out / "runs.parquet").exists()


@pytest.mark.slow
def test_killed_sweep_resumes_to_identical_tables(tmp_path):
    """SIGKILL a sweep mid-way (after some chunks), check the lock and the partial tables, resume, compare."""
    factors = {"switching.loyalty_weight": [float(w) for w in range(1, 21)]}
    slow = {"pause": "tests.extensions:pause"}  # 0.1 s a run: the sweep is still going when three runs are saved
    path = write_experiment(tmp_path, replicates=1, factors=factors, outcomes=slow)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "loyaltysim", "sweep", str(path), "--out", str(out)]
    command += ["--executor", "serial", "--batch-size", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    chunks = out / "chunks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if chunks.is_dir() and len([p for p in chunks.iterdir() if not p.name.startswith(".")]) >= 3:
            break
        time.sleep(0.02)
    assert process.poll() is None, f"the sweep finished before it could be interrupted: {process.communicate()[1]}"
    with pytest.raises(ConfigError, match=r"another sweep \(PID \d+"):
        sweep(path, out=out, executor="serial", resume=True, progress=False)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    partial = load_results(out)  # merged from the chunks written so far
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert 3 <= len(partial.runs) < 20 and partial.runs["run_id"].is_unique

    resumed = sweep(path, out=out, executor="process", workers=2, resume=True, progress=False)
    assert resumed.manifest["sessions"][-1]["runs_done"] == 20 - len(partial.runs)
    whole = sweep(path, out=tmp_path / "whole", executor="serial", progress=False)
    assert_same_results(resumed, whole)
    pd.testing.assert_frame_equal(
        comparable(partial.runs), comparable(resumed.runs[resumed.runs["run_id"].isin(partial.runs["run_id"])])
    )


def test_the_results_folder_reruns_itself_identically(reference, tmp_path):
    resolved = reference.path / "experiment.resolved.yaml"
    data = yaml.safe_load(resolved.read_text())
    assert data["base"] is None and data["scenario"]["customers"]["n"] == 120 and data["overrides"] == {}
    assert reference.manifest["git"]["loyaltysim"]["commit"]  # run from this checkout
    again = sweep(resolved, out=tmp_path / "again", executor="serial", progress=False, report=False)
    assert_same_results(again, reference)
    assert again.manifest["experiment_hash"] == reference.manifest["experiment_hash"]


def test_resume_names_what_changed(reference, tmp_path):
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    sweep(path, out=out, executor="serial", progress=False, report=False)
    with pytest.raises(ConfigError) as caught:
        sweep(path, overrides={"replicates": 4, "customers.n": 150}, out=out, resume=True, executor="serial", progress=False)
    assert "scenario.customers.n: 120 → 150" in str(caught.value) and "replicates: 3 → 4" in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["process", "serial"])
def test_ctrl_c_stops_at_once_keeps_every_finished_run_and_resumes_row_for_row(tmp_path, executor):
    """SIGINT to the main process while runs are in flight: exit 130 with the count and the resume command;
    the saved runs are exactly the finished ones; after --resume the tables equal an uninterrupted sweep's."""
    factors = {"switching.loyalty_weight": [float(w) for w in range(1, 25)]}
    slow = {"pause": "tests.extensions:pause"}  # 0.1 s a run: the sweep is still going when two runs are saved
    path = write_experiment(
        tmp_path, replicates=1, factors=factors, outcomes=slow, overrides={**OVERRIDES, "customers.n": 1500, "run.steps": 60}
    )
    out = tmp_path / "interrupted"
    command = [sys.executable, "-m", "loyaltysim", "sweep", str(path), "--out", str(out), "--executor", executor]
    process = subprocess.Popen([*command, "--workers", "2", "--batch-size", "1"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "chunks").is_dir() and len([p for p in (out / "chunks").iterdir() if not p.name.startswith(".")]) >= 2:
            break
        time.sleep(0.02)
    assert process.poll() is None, f"the sweep ended before it could be interrupted: {process.communicate()[1]}"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err, err
    manifest = json.loads((out / "manifest.json").read_text())
    saved = load_results(out).runs
    assert f"interrupted: {len(saved)} of 24 runs are saved in {out}" in err and f"--out {out} --resume" in err
    assert manifest["status"] == "interrupted" and manifest["sessions"][-1]["runs_done"] == len(saved) < 24
    assert not (out / ".lock").exists()
    resumed = sweep(path, out=out, executor="serial", resume=True, progress=False, report=False)
    whole = sweep(path, out=tmp_path / "whole", executor="serial", progress=False, report=False)
    assert_same_results(resumed, whole)
    pd.testing.assert_frame_equal(resumed.firms, whole.firms)


def test_workers_run_numba_with_their_share_of_the_cores(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import numba

    from loyaltysim.experiments import execution

    assert execution.worker_threads(1) == (os.cpu_count() or 1)
    assert execution.worker_threads(10 * (os.cpu_count() or 1)) == 1
    monkeypatch.setattr(execution, "run_batch", lambda base, specs, experiment: numba.get_num_threads())
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(execution.run_batch_in_worker, 1, {}, [], None).result() == 1
