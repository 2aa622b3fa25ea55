"""A sweep's results folder: checkpoint chunks while it runs, tidy tables when it ends.

Layout of ``results/<name>/``::

    runs.parquet        one row per run: run_id, point_id, replicate, factor columns
                        (named by dotted config path), seed, status, error, wall_time, metrics
    timeseries.parquet  run_id, step, market metrics, market_share_<firm>, per-period outcomes (the steps the
                        experiment keeps)
    firms.parquet       run_id, step, firm, customers, share, purchases, won, lost, retention_rate,
                        mean_satisfaction, revenue, costs, profit, clv, quality, price (the same steps)
    curves.parquet      run_id + pooled retention by satisfaction bin (satisfaction_low,
                        satisfaction_high, customer_periods, switchers, retention_rate)
    manifest.json       experiment file and hash, versions, seeds, counts, timings, failed runs
    chunks/             checkpoints: one folder per finished batch, renamed into place atomically

Plain Parquet columns only: pandas, polars or DuckDB read them without loyaltysim.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from loyaltysim.config.errors import ConfigError
from loyaltysim.experiments.storage import write_parquet

__all__ = ["TABLES", "SweepResults", "load_results", "merge_chunks", "write_chunk"]

TABLES = ("runs", "timeseries", "curves", "firms")
CHUNK_TABLES = ("runs", "failures", "timeseries", "curves", "firms")
OPTIONAL_TABLES = ("firms",)
"""Tables a sweep made before they existed does not have (read as empty)."""
CHUNKS = "chunks"


@dataclass
class SweepResults:
    """The tables of a sweep, as pandas DataFrames sorted by ``run_id``.

    Attributes
    ----------
    runs
        One row per run (see the module docstring for the columns).
    timeseries
        ``run_id``, ``step`` and market metrics.
    curves
        ``run_id`` and the pooled satisfaction → retention bins of each run.
    manifest
        The contents of ``manifest.json`` (empty if the sweep never finished a session).
    path
        The results folder.
    firms
        ``run_id``, ``step``, ``firm`` and the firm's metrics in that period (the steps the experiment keeps).
    """

    runs: pd.DataFrame
    timeseries: pd.DataFrame
    curves: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    firms: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def failed(self) -> pd.DataFrame:
        """The runs whose status is ``failed`` (run_id, error, …)."""
        return self.runs[self.runs["status"] == "failed"] if len(self.runs) else self.runs


def write_chunk(folder: Path, name: str, tables: dict[str, pd.DataFrame]) -> Path:
    """Write one batch's tables into ``folder/chunks/name/``, atomically (staged folder, then rename).

    ``tables`` holds ``runs`` (finished runs), ``failures`` (failed runs), ``timeseries`` and ``curves``.
    """
    chunks = folder / CHUNKS
    stage = chunks / f".{name}.{os.getpid()}.tmp"
    target = chunks / name
    stage.mkdir(parents=True)
    try:
        for table in CHUNK_TABLES:
            write_parquet(tables[table], stage / f"{table}.parquet")
        os.replace(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target


def clean_partial_chunks(folder: Path) -> None:
    """Remove staged chunk folders left by a killed sweep (call only while holding the lock)."""
    for stale in (folder / CHUNKS).glob(".*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def _chunk_dirs(folder: Path) -> list[Path]:
    """Finished chunks, oldest first (names sort by session, then sequence)."""
    chunks = folder / CHUNKS
    return sorted(p for p in chunks.iterdir() if p.is_dir() and not p.name.startswith(".")) if chunks.is_dir() else []


def _concat(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(keys, keep="last")
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def merge_chunks(folder: Path, in_memory: Mapping[str, Mapping[str, pd.DataFrame]] | None = None) -> dict[str, pd.DataFrame]:
    """All finished chunks as the final tables, sorted by ``run_id``.

    Finished runs are never redone, so each appears once; a failed run appears only
    if it has not succeeded since, with its latest error. The tables are the same
    whatever the batching, worker count or interruptions were. ``in_memory`` holds the
    tables of chunks the caller wrote itself, by chunk name: those are not read back.
    """
    loaded: dict[str, list[pd.DataFrame]] = {table: [] for table in CHUNK_TABLES}
    for chunk in _chunk_dirs(folder):
        written = (in_memory or {}).get(chunk.name)
        for table in CHUNK_TABLES:
            if written is not None:
                loaded[table].append(written[table])
            elif (chunk / f"{table}.parquet").is_file() or table not in OPTIONAL_TABLES:
                loaded[table].append(pd.read_parquet(chunk / f"{table}.parquet"))
    runs = _concat(loaded["runs"], ["run_id"])
    failures = _concat(loaded["failures"], ["run_id"])
    if len(failures) and len(runs):
        failures = failures[~failures["run_id"].isin(runs["run_id"])]
    return {
        "runs": _concat([runs, failures], ["run_id"]),
        "timeseries": _concat(loaded["timeseries"], ["run_id", "step"]),
        "curves": _concat(loaded["curves"], ["run_id", "satisfaction_low"]),
        "firms": _concat(loaded["firms"], ["run_id", "step", "firm"]),
    }


def completed_run_ids(folder: Path) -> set[int]:
    """Run ids that finished (never redone on resume; failed runs are not among them)."""
    done: set[int] = set()
    for chunk in _chunk_dirs(folder):
        runs = pd.read_parquet(chunk / "runs.parquet")
        if len(runs):
            done.update(int(i) for i in runs["run_id"])
    return done


def session_count(folder: Path) -> int:
    """How many sweep sessions already wrote chunks here (chunk names start with ``s<session>-``)."""
    sessions = {p.name.split("-")[0] for p in _chunk_dirs(folder)}
    return len(sessions)


def load_results(path: str | Path) -> SweepResults:
    """Load a sweep's results folder.

    Reads the final tables when the sweep finished; otherwise (interrupted, or running)
    merges the checkpoint chunks written so far.

    Raises
    ------
    ConfigError
        If ``path`` is not a sweep results folder.
    """
    folder = Path(path)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    finished = manifest.get("status", "").startswith("complete")
    if finished and all((folder / f"{table}.parquet").is_file() for table in TABLES if table not in OPTIONAL_TABLES):
        tables = {table: _read(folder / f"{table}.parquet") for table in TABLES}
    elif (folder / CHUNKS).is_dir() or manifest.get("kind") == "sweep":  # a sweep stopped before its first chunk is empty
        tables = merge_chunks(folder)
    else:
        raise ConfigError("not a sweep results folder (no runs.parquet and no chunks/)", source=folder)
    return SweepResults(tables["runs"], tables["timeseries"], tables["curves"], manifest, folder, tables["firms"])


def _read(path: Path) -> pd.DataFrame:
    """A table of the folder, or an empty one for an optional table a sweep made before it existed."""
    return pd.read_parquet(path) if path.is_file() or path.stem not in OPTIONAL_TABLES else pd.DataFrame()
