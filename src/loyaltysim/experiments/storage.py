"""Results on disk: folder layout, atomic Parquet/JSON/YAML writes, manifests."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from loyaltysim.config.errors import ConfigError

__all__ = [
    "git_commit",
    "new_output_dir",
    "now_iso",
    "staged_output",
    "versions",
    "write_bytes",
    "write_json",
    "write_parquet",
    "write_text",
    "write_yaml",
]

TRACKED_PACKAGES = ("loyaltysim", "mesa", "numpy", "networkx", "pandas", "pyarrow", "pydantic", "scipy", "SALib", "statsmodels")


def versions() -> dict[str, str]:
    """Python, platform and package versions, for manifests."""
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_commit(path: str | Path) -> dict[str, Any] | None:
    """The git commit of the checkout holding ``path`` (and whether it has uncommitted changes), or None
    outside a checkout or without git."""
    folder = Path(path).resolve()
    folder = folder if folder.is_dir() else folder.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status), "root": git("rev-parse", "--show-toplevel")}


def now_iso() -> str:
    """Current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary sibling, then rename over ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(text: str, path: Path) -> None:
    """Write UTF-8 text, atomically."""
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: Path) -> None:
    """Write bytes, atomically."""
    _atomic(path, lambda tmp: tmp.write_bytes(data))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet, atomically."""
    _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _plain(value: Any) -> Any:
    """JSON-safe version of numpy scalars/arrays; NaN becomes null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON (NaN as null), atomically."""
    text = json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n"
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_yaml(data: dict[str, Any], path: Path, *, header: str = "") -> None:
    """Write YAML (keys in schema order), atomically."""
    text = header + yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def new_output_dir(out: str | Path | None, *, name: str, root: str | Path = "results") -> Path:
    """The folder a run will write: ``out`` if free, else a new ``root/name[-k]``.

    Raises
    ------
    ConfigError
        If ``out`` exists and is not empty (results are never silently overwritten).
    """
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(
                f"output folder {path} already exists and is not empty; choose another --out or remove it",
                source="--out",
            )
        return path
    stem = re.sub(r"[^\w.-]+", "_", name) or "run"
    path = Path(root) / stem
    k = 2
    while path.exists():
        path = Path(root) / f"{stem}-{k}"
        k += 1
    return path


class staged_output:
    """Write into ``<dir>.partial`` and rename to ``dir`` only when everything succeeded.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "run"
    >>> with staged_output(target) as stage:
    ...     _ = (stage / "a.txt").write_text("x")
    >>> (target / "a.txt").read_text()
    'x'
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.stage = target.with_name(target.name + ".partial")

    def __enter__(self) -> Path:
        if self.stage.exists():
            shutil.rmtree(self.stage)
        try:
            self.stage.mkdir(parents=True)
        except OSError as exc:
            raise ConfigError(f"cannot create output folder {self.stage}: {exc.strerror}", source="--out") from None
        return self.stage

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            return
        if self.target.exists():  # an empty folder given as --out
            self.target.rmdir()
        os.replace(self.stage, self.target)
