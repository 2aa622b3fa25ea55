"""Running an experiment's runs: serially, on a local process pool, or on a Dask cluster.

Runs are grouped in batches (few scheduling round trips for short runs). Each
finished batch is written at once as a checkpoint chunk (atomically), so a sweep
killed at any moment loses at most the batches in flight; ``resume=True`` keeps
every completed run and does only the rest (failed runs included). A lock file
keeps two sweeps from writing the same folder.

Examples
--------
>>> from loyaltysim import sweep, load_results            # doctest: +SKIP
>>> results = sweep("experiments/demo_sweep.yaml", workers=2)  # doctest: +SKIP
>>> results.runs.groupby("switching.loyalty_weight")["annualised_churn"].mean()  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from loyaltysim.config.errors import ConfigError
from loyaltysim.config.loading import config_hash, read_yaml
from loyaltysim.config.optional import require
from loyaltysim.config.schema import Config
from loyaltysim.experiments.linking import config_value, read_back
from loyaltysim.experiments.reporters import reporters
from loyaltysim.experiments.resolved import RESOLVED_FILE, changes, resolved_experiment
from loyaltysim.experiments.results import (
    CHUNK_TABLES,
    SweepResults,
    clean_partial_chunks,
    completed_run_ids,
    load_results,
    merge_chunks,
    session_count,
    write_chunk,
)
from loyaltysim.experiments.run_tables import period_metrics, run_metrics
from loyaltysim.experiments.spec import (
    SEED_DERIVATION,
    Experiment,
    RunSpec,
    experiment_hash,
    load_experiment,
    plan_runs,
    run_config,
    sample_design,
    validate_experiment,
)
from loyaltysim.experiments.storage import git_commit, now_iso, versions, write_json, write_parquet, write_yaml
from loyaltysim.experiments.survey import intention_columns
from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = [
    "EXECUTORS",
    "ExecutorChoice",
    "SweepInterrupted",
    "SweepLock",
    "execute",
    "lost_batch",
    "process_pool",
    "resolve_executor",
    "run_batch",
    "run_batch_in_worker",
    "run_one",
    "run_sweep",
    "summary_line",
    "worker_threads",
]

EXECUTORS = ("serial", "process", "dask")
"""The executors named by a string: this process, a local process pool, a Dask cluster."""
ExecutorChoice = Literal["serial", "process", "dask"] | Executor
"""One of :data:`EXECUTORS`, or any ``concurrent.futures.Executor`` (a thread pool, your process pool,
``distributed.Client.get_executor()``…), used as it is and left running."""
DASK_RETRIES = 3
RESOLVED_HEADER = (
    "# The experiment as this sweep ran it, base scenario inlined. Rerun it identically with:\n"
    "#   loyaltysim sweep THIS_FILE --out ANOTHER_FOLDER\n"
)


# --- one run, one batch (these execute in the workers) -------------------------------------


def _identity(spec: RunSpec, recorded: Mapping[str, Any] | None = None, digest: str = "") -> dict[str, Any]:
    """The leading columns of a run's row (the same for finished and failed runs).

    ``recorded`` holds the factor values read back from the config the run resolved (the planned values
    when the config could not be resolved), ``digest`` that config's :func:`~loyaltysim.config.config_hash`.
    """
    row: dict[str, Any] = {"run_id": spec.run_id, "point_id": spec.point_id, "replicate": spec.replicate}
    row.update(spec.factors if recorded is None else recorded)
    row.update(seed=spec.seed, status="ok", error="", wall_time=0.0, config_hash=digest)
    return row


def _recorded(config: Config, spec: RunSpec, experiment: Experiment) -> dict[str, Any]:
    """The run's factor values and derived values, read back from its resolved config."""
    values = config.to_dict()
    recorded = read_back(values, spec.factors, experiment.factor_paths())
    recorded.update({path: config_value(values, path) for path in experiment.derived})
    return recorded


def lost_batch(specs: Sequence[RunSpec], error: BaseException) -> dict[str, pd.DataFrame]:
    """Failure records for a batch that never came back (worker died, retries exhausted): retried on resume."""
    rows = [{**_identity(spec), "status": "failed", "error": f"batch lost: {type(error).__name__}: {error}"} for spec in specs]
    return {**_empty_tables(), "failures": pd.DataFrame(rows)}


def _empty_tables() -> dict[str, pd.DataFrame]:
    return {table: pd.DataFrame() for table in CHUNK_TABLES}


def run_one(base: Mapping[str, Any], spec: RunSpec, experiment: Experiment) -> dict[str, pd.DataFrame]:
    """Simulate one run; never raises for a failing run (status ``failed`` and the error message instead).

    Returns
    -------
    dict
        ``runs`` (one row, or empty if the run failed), ``failures`` (one row, or empty),
        ``timeseries`` (kept steps), ``firms`` (kept steps × firms) and ``curves`` (retention bins and the
        end-of-run survey's stated intentions per bin, :func:`~loyaltysim.experiments.survey.intention_columns`),
        each with ``run_id``.
    """
    return _joined([_simulate(base, spec, experiment)])


@dataclass
class _Run:
    """A run's outcome before it joins a batch's tables: its row of ``runs`` (or ``failures``) and, for a finished
    run, its rows of the other tables. A batch builds its runs table from the rows once (a table of one row
    per run took a millisecond a run)."""

    row: dict[str, Any]
    tables: dict[str, pd.DataFrame] | None = None


def _simulate(base: Mapping[str, Any], spec: RunSpec, experiment: Experiment) -> _Run:
    """:func:`run_one`'s work, its tables not yet joined."""
    row = _identity(spec)
    clock = time.perf_counter()
    try:
        config = run_config(base, spec)
        row = _identity(spec, _recorded(config, spec, experiment), config_hash(config))
        model = LoyaltyModel(config, reporters=reporters(experiment.outcomes)).run()
        metrics = run_metrics(model, experiment.outcomes)
        keeps = experiment.timeseries.keeps
        kept = period_metrics(model, experiment.outcomes, keeps(model.timeseries_columns()["step"], model.steps))
        firm_columns = model.firm_timeseries_columns()
        firm_kept = keeps(firm_columns["step"], model.steps)
        firms = pd.DataFrame({"run_id": spec.run_id, **{key: value[firm_kept] for key, value in firm_columns.items()}})
        retention = model.totals.retention_columns()
        bins = len(retention["satisfaction_low"])  # the survey's answers by the curve's bins
        survey = intention_columns(model.state.satisfaction, model.state.loyalty, spec.seed, bins)
        curve = pd.DataFrame({"run_id": spec.run_id, **retention, **survey})
    except Exception as exc:  # a failing run is recorded, the sweep goes on
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}", wall_time=time.perf_counter() - clock)
        return _Run(row)
    row["wall_time"] = time.perf_counter() - clock
    names = experiment.metrics or list(metrics)
    row.update({name: metrics.get(name, math.nan) for name in names})
    if experiment.timeseries.metrics:  # the market metrics not asked for; firm shares and outcomes stay
        kept = kept.drop(columns=[c for c in model.latest if c != "step" and c not in experiment.timeseries.metrics])
    kept.insert(0, "run_id", spec.run_id)
    tables = {"timeseries": kept, "firms": firms, "curves": curve}
    return _Run(row, tables)


def run_batch(base: Mapping[str, Any], specs: Sequence[RunSpec], experiment: Experiment) -> dict[str, pd.DataFrame]:
    """Run several runs and concatenate their tables (the unit of work sent to a worker)."""
    return _joined([_simulate(base, spec, experiment) for spec in specs])


def _joined(runs: Sequence[_Run]) -> dict[str, pd.DataFrame]:
    """The tables of several runs: ``runs`` and ``failures`` from their rows, the others concatenated."""
    finished = [run for run in runs if run.tables is not None]
    tables = {
        "runs": pd.DataFrame([run.row for run in finished]),
        "failures": pd.DataFrame([run.row for run in runs if run.tables is None]),
    }
    for table in CHUNK_TABLES:
        if table not in tables:
            frames = [run.tables[table] for run in finished if len(run.tables[table])]
            tables[table] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return tables


# --- executors -----------------------------------------------------------------------------


def _serial(base: dict, batches: list[list[RunSpec]], experiment: Experiment) -> Iterator[dict[str, pd.DataFrame]]:
    """Batches run in this process; on Ctrl-C the runs of the current batch that finished are yielded first."""
    for batch in batches:
        parts = []
        try:
            for spec in batch:
                parts.append(_simulate(base, spec, experiment))
        except KeyboardInterrupt:
            if parts:
                yield _joined(parts)
            raise
        yield _joined(parts)


def _start_worker() -> None:
    """In a worker: leave Ctrl-C to the main process, which stops the workers itself; and once the pool lets
    the worker go (every result already sent), end it without the interpreter's teardown of numba, pandas and
    the rest, which took 0.4–0.5 s, a wait at the end of every sweep."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(_end_worker)  # registered last, so it runs first


def _end_worker() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A local pool of ``workers`` processes, started with ``spawn`` (clean workers: no inherited lock file
    descriptor or threads), which leave Ctrl-C to the main process. Pass it to :func:`execute` to reuse it
    over several calls."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker)


def worker_threads(workers: int) -> int:
    """numba threads per worker process, so that threads × workers ≤ this machine's cores (at least 1)."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_batch_in_worker(threads: int, base: Mapping[str, Any], specs: Sequence[RunSpec], experiment: Experiment) -> dict:
    """:func:`run_batch` with numba's parallel kernels limited to ``threads`` threads: several workers on
    one machine must not each start a thread per core (idle numba threads spin and the machine's
    throughput collapses). Results do not depend on the thread count."""
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return run_batch(base, specs, experiment)


def _futures(
    base: dict, batches: list[list[RunSpec]], experiment: Experiment, executor: Executor, threads: int
) -> Iterator[dict[str, pd.DataFrame]]:
    """Batches submitted to any ``concurrent.futures`` executor, yielded as they finish; the executor stays up.

    On Ctrl-C the batches that finished but were not yet yielded are yielded, then the interrupt goes on.
    """
    futures: dict = {}
    waiting: set = set()
    try:
        futures = {executor.submit(run_batch_in_worker, threads, base, batch, experiment): batch for batch in batches}
        waiting = set(futures)
        for future in as_completed(futures):
            waiting.discard(future)
            yield _result(future, futures[future])
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        for future in [f for f in waiting if f.done() and not f.cancelled()]:
            yield _result(future, futures[future])
        raise
    finally:  # drop what this call left unfinished
        for future in futures:
            future.cancel()


def _result(future: Any, batch: list[RunSpec]) -> dict[str, pd.DataFrame]:
    error = future.exception()  # e.g. BrokenProcessPool when a worker was killed, KilledWorker on Dask
    return lost_batch(batch, error) if error is not None else future.result()


def _process(base: dict, batches: list[list[RunSpec]], experiment: Experiment, workers: int) -> Iterator[dict[str, pd.DataFrame]]:
    pool = process_pool(workers)
    try:
        yield from _futures(base, batches, experiment, pool, worker_threads(workers))
    except BaseException:  # Ctrl-C, or the sweep stopped: stop the runs in flight now rather than wait for them
        workers = list((getattr(pool, "_processes", None) or {}).values())  # the standard library's own record
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(
    base: dict, batches: list[list[RunSpec]], experiment: Experiment, workers: int, scheduler: str | None
) -> Iterator[dict[str, pd.DataFrame]]:
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster, threads = None, 1  # a remote cluster's machines are unknown: one numba thread per worker
    if scheduler is None:
        threads = worker_threads(workers)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout="20s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}", source="--scheduler") from None
    futures: dict = {}
    try:
        # the scheduler reschedules a batch whose worker was lost; retries rerun one that raised
        for batch in batches:
            task = (run_batch_in_worker, threads, base, batch, experiment)
            futures[client.submit(*task, pure=False, retries=DASK_RETRIES)] = batch
        waiting = set(futures)
        try:
            for future in dask_completed(list(futures)):
                waiting.discard(future)
                yield _result(future, futures[future])
                future.release()
        except KeyboardInterrupt:  # keep the batches that finished meanwhile
            client.cancel([f for f in waiting if f.status != "finished"])
            for future in [f for f in waiting if f.status == "finished"]:
                yield _result(future, futures[future])
            raise
    finally:
        client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()


def resolve_executor(executor: ExecutorChoice, workers: int | None, scheduler: str | None) -> tuple[ExecutorChoice, int]:
    """Check an executor choice; returns it (``dask`` when a scheduler is given) and the worker count.

    An ``Executor`` instance is returned as it is; ``workers`` (default: this machine's cores) then
    only sizes the batches.

    Raises
    ------
    ConfigError
        Unknown executor, a scheduler without dask, dask not installed, fewer than one worker.
    """
    if isinstance(executor, Executor):
        if scheduler is not None:
            raise ConfigError("a scheduler applies to the dask executor, not to an Executor instance", source="--scheduler")
        workers = workers or os.cpu_count() or 1
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}", source="--workers")
        return executor, workers
    if scheduler is not None and executor == "process":
        executor = "dask"
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}", source="--executor")
    if scheduler is not None and executor != "dask":
        raise ConfigError(f"--scheduler needs the dask executor, not {executor}", source="--scheduler")
    if executor == "dask":
        require("distributed", purpose="the dask executor")
    workers = 1 if executor == "serial" else workers or os.cpu_count() or 1
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}", source="--workers")
    return executor, workers


def execute(
    base: Mapping[str, Any],
    specs: Sequence[RunSpec],
    experiment: Experiment,
    *,
    executor: ExecutorChoice = "serial",
    workers: int = 1,
    scheduler: str | None = None,
    batch_size: int | None = None,
) -> Iterator[dict[str, pd.DataFrame]]:
    """Run planned runs on an executor; yield each batch's tables (as :func:`run_batch`) when it finishes.

    :func:`sweep` plans the runs of an experiment and keeps the results folder; callers that
    plan their own runs (e.g. calibration: arbitrary points, chosen seeds) use this directly.
    Check ``executor`` and ``workers`` first with :func:`resolve_executor`. ``"process"`` starts and
    stops a pool of ``workers`` processes; an ``Executor`` instance (e.g. from :func:`process_pool`) is
    used and left running, so repeated calls skip the workers' start-up.
    """
    size = batch_size or default_batch_size(len(specs), workers)
    batches = [list(specs[i : i + size]) for i in range(0, len(specs), size)]
    if isinstance(executor, Executor):
        return _futures(dict(base), batches, experiment, executor, worker_threads(workers))
    if executor == "serial":
        return _serial(dict(base), batches, experiment)
    if executor == "process":
        return _process(dict(base), batches, experiment, workers)
    return _dask(dict(base), batches, experiment, workers, scheduler)


def default_batch_size(runs: int, workers: int) -> int:
    """About eight batches per worker (load balance, fine checkpoints), at most 64 runs each."""
    return max(1, min(64, math.ceil(runs / (8 * workers))))


# --- the lock ------------------------------------------------------------------------------


class SweepLock:
    """An exclusive lock on a results folder (``.lock``, holding the owner's PID and host).

    Uses ``fcntl.flock``: the operating system releases it when the owner dies, so
    the lock of a killed sweep is taken over by the next one.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> SweepLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise ConfigError(
                f"another sweep ({owner}) is writing this folder; wait for it to finish or choose another --out",
                source=self.path.parent,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with suppress(OSError):  # a folder turned read-only must not hide the original error
                self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None


# --- the sweep -----------------------------------------------------------------------------


def _prepare_folder(out: Path, *, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError("output path exists and is not a folder", source=out)
    if out.exists() and any(out.iterdir()) and not resume:
        message = "results folder already exists and is not empty; add --resume to continue it, or choose another --out"
        raise ConfigError(message, source=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the results folder: {exc.strerror}", source=out) from None


def _check_resumable(out: Path, manifest: dict[str, Any], digest: str, resolved: dict[str, Any]) -> None:
    leftovers = [p.name for p in out.iterdir() if p.name not in (".lock", "manifest.json", RESOLVED_FILE)]
    if not manifest and leftovers:
        message = f"cannot resume: no manifest.json here, so this is not a sweep folder (found {leftovers[0]})"
        raise ConfigError(message, source=out)
    if manifest and manifest.get("experiment_hash") != digest:
        before = out / RESOLVED_FILE
        changed = changes(read_yaml(before), resolved) if before.is_file() else []
        what = f": {'; '.join(changed)}" if changed else ""
        raise ConfigError(
            f"cannot resume: the experiment (or its base scenario) changed since this sweep started{what}; "
            f"use the same file and --set values (or {before}), or another --out",
            source=out,
        )


def run_sweep(
    experiment: str | Path | Experiment,
    *,
    overrides: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    executor: ExecutorChoice = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SweepResults:
    """Run every run of an experiment and return its tables (:func:`loyaltysim.sweep` then writes the report).

    Parameters
    ----------
    experiment
        An experiment file (see :func:`loyaltysim.experiments.spec.load_experiment`) or an :class:`Experiment`.
    overrides
        ``--set`` values applied to the experiment file (only with a path).
    out
        Results folder (default ``results/<name>``). Must be new or empty unless ``resume``.
    executor
        ``"process"`` (local process pool, default), ``"serial"`` (this process), ``"dask"``, or any
        ``concurrent.futures.Executor`` (a ``ThreadPoolExecutor``, your own ``ProcessPoolExecutor``,
        ``distributed.Client.get_executor()``…), which is used as it is and left running. Results are
        the same on every executor.
    workers
        Worker processes for ``process`` and a local Dask cluster (default: number of cores); with an
        ``Executor`` instance, only the batch size follows it.
    scheduler
        Address of a running Dask scheduler (e.g. ``tcp://10.0.0.5:8786``); implies ``executor="dask"``.
        Without it, ``dask`` starts a local cluster of ``workers`` processes.
    resume
        Continue the sweep in ``out``: completed runs are kept, the others (failed ones included) run.
    batch_size
        Runs per task and per checkpoint chunk (default: about eight batches per worker, at most 64).
    progress
        Show a progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    SweepResults
        ``runs``, ``timeseries``, ``curves`` DataFrames sorted by ``run_id`` and the ``manifest``.

    Notes
    -----
    The process pool and a local Dask cluster start fresh worker processes (``spawn``),
    which import the calling script: in a script, call ``sweep`` under
    ``if __name__ == "__main__":`` (notebooks and the command line need nothing).

    Raises
    ------
    ConfigError
        Bad experiment file, a folder that exists (without ``resume``) or is locked by another
        sweep, an experiment that changed since the sweep started, an unreachable scheduler.
    """
    text = None
    if isinstance(experiment, Experiment):
        if overrides:
            raise TypeError("overrides apply to an experiment file; pass a path, or change the Experiment")
        source = None
        experiment = validate_experiment(experiment.model_dump(), source=f"experiment {experiment.name}")
    else:
        source = Path(experiment)
        experiment = load_experiment(source, overrides)  # refuses missing, binary and malformed files first
        text = source.read_text(encoding="utf-8")
    executor, workers = resolve_executor(executor, workers, scheduler)
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}", source="--batch-size")

    design = sample_design(experiment)
    specs = plan_runs(experiment, design)
    base = experiment.base_config().to_dict()
    digest = experiment_hash(experiment)
    resolved = resolved_experiment(experiment)
    folder = Path(out) if out is not None else Path("results") / experiment.name
    _prepare_folder(folder, resume=resume)

    with SweepLock(folder):
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
        if resume:
            _check_resumable(folder, manifest, digest, resolved)
            clean_partial_chunks(folder)
        write_yaml(resolved, folder / RESOLVED_FILE, header=RESOLVED_HEADER)
        done = completed_run_ids(folder)
        todo = [spec for spec in specs if spec.run_id not in done]
        session = max(session_count(folder), len(manifest.get("sessions", []))) + 1
        named = executor if isinstance(executor, str) else type(executor).__name__
        record = {"session": session, "started": now_iso(), "executor": named, "workers": workers, "scheduler": scheduler}
        manifest = {
            "kind": "sweep",
            "status": "running",
            "name": experiment.name,
            "description": experiment.description,
            "experiment_file": str(source) if source else None,
            "experiment_text": text,
            "experiment_sha256": _sha256(text) if text is not None else None,
            "experiment_hash": digest,
            "experiment": experiment.model_dump(mode="json"),
            "problem": design.problem,
            "seed": experiment.seed,
            "seed_derivation": SEED_DERIVATION[experiment.seeds] + ".generate_state(1, uint64)[0] >> 1",
            "counts": {"points": len(design.points), "replicates": experiment.replicates, "runs": len(specs)},
            "period": base["run"]["period"],
            "sessions": [*manifest.get("sessions", []), record],
            "command_line": sys.argv,
            "versions": versions(),
            "git": {"loyaltysim": git_commit(Path(__file__)), "experiment": git_commit(source) if source else None},
        }
        write_json(manifest, manifest_path)

        clock = time.perf_counter()
        saver = _ChunkSaver(folder, session, _progress_bar(len(specs), len(specs) - len(todo), progress))
        stream = execute(base, todo, experiment, executor=executor, workers=workers, scheduler=scheduler, batch_size=batch_size)
        try:
            for tables in stream:
                saver.save(tables)
        except KeyboardInterrupt:
            with _interrupts_ignored():  # a second Ctrl-C must not cut the saving short
                saver.save_rest(stream)
                record.update(_timing(clock, saver.finished, saver.failures), status="interrupted")
                manifest["status"] = "interrupted"
                write_json(manifest, manifest_path)
            raise SweepInterrupted(len(completed_run_ids(folder)), len(specs), folder) from None
        finally:
            stream.close()
            saver.bar.close()
        finished, failures = saver.finished, saver.failures

        merged = merge_chunks(folder, saver.written)
        runs = merged["runs"]
        for table, frame in merged.items():
            write_parquet(frame, folder / f"{table}.parquet")
        failed_rows = runs[runs["status"] != "ok"] if len(runs) else runs
        record.update(_timing(clock, finished, failures), status="complete")
        manifest.update(
            status="complete" if failed_rows.empty else "complete_with_failures",
            finished=now_iso(),
            failed_runs=[{"run_id": int(r.run_id), "error": r.error} for r in failed_rows.itertuples()],
        )
        manifest["counts"].update(ok=len(runs) - len(failed_rows), failed=len(failed_rows))
        write_json(manifest, manifest_path)
    return load_results(folder)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; every finished run is saved (``saved`` of ``total`` runs, in ``folder``)."""

    def __init__(self, saved: int, total: int, folder: Path) -> None:
        super().__init__(f"{saved} of {total} runs are saved in {folder}")
        self.saved, self.total, self.folder = saved, total, folder


class _ChunkSaver:
    """Writes each finished batch as a checkpoint chunk and counts it; after Ctrl-C, also what was still coming.
    Keeps the tables it wrote (``written``, by chunk name), so the final merge need not read them back."""

    def __init__(self, folder: Path, session: int, bar: Any) -> None:
        self.folder, self.session, self.bar = folder, session, bar
        self.seq = self.finished = self.failures = 0
        self.pending: dict[str, pd.DataFrame] | None = None
        self.written: dict[str, dict[str, pd.DataFrame]] = {}

    def save(self, tables: dict[str, pd.DataFrame]) -> None:
        self.pending = tables  # kept until written: an interrupt during the write writes it again
        name = f"s{self.session:03d}-{self.seq:06d}"
        write_chunk(self.folder, name, tables)
        self.written[name] = tables
        self.pending = None
        self.seq += 1
        failed = len(tables["failures"])
        n = len(tables["runs"]) + failed
        self.finished, self.failures = self.finished + n, self.failures + failed
        self.bar.update(n)
        if self.failures:
            self.bar.set_postfix(failed=self.failures)

    def save_rest(self, stream: Any) -> None:
        """After Ctrl-C: the batch being written, then the batches the executor still hands back (finished ones)."""
        if self.pending is not None:
            self.save(self.pending)
        try:
            tables = stream.throw(KeyboardInterrupt())
            while True:
                self.save(tables)
                tables = next(stream)
        except (KeyboardInterrupt, StopIteration):
            return


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _timing(clock: float, finished: int, failures: int) -> dict[str, Any]:
    wall = time.perf_counter() - clock
    return {
        "finished": now_iso(),
        "runs_done": finished,
        "failures": failures,
        "wall_seconds": round(wall, 3),
        "runs_per_second": round(finished / wall, 3) if wall > 0 else None,
    }


def _progress_bar(total: int, initial: int, show: bool | None):
    from tqdm import tqdm

    show = sys.stderr.isatty() if show is None else show
    return tqdm(total=total, initial=initial, unit="run", desc="runs", file=sys.stderr, disable=not show, dynamic_ncols=True)


def summary_line(results: SweepResults) -> str:
    """One line about the last session: runs, failures, wall time, runs/s, folder."""
    session = results.manifest["sessions"][-1]
    counts = results.manifest["counts"]
    rate = session.get("runs_per_second")
    return (
        f"{session['runs_done']} runs in {session['wall_seconds']:.1f} s ({rate or 0:.1f} runs/s, "
        f"{session['executor']}, {session['workers']} workers); {session['failures']} failed; "
        f"total {counts['ok']}/{counts['runs']} ok → {results.path}"
    )
