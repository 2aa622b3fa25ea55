"""Compiling the model with numba, and caching the compiled code under a key of the model's source.

Every compiled function of the model is made here: numba's ``njit`` with its on-disk cache and numpy's
error model (division by zero gives inf or NaN, as in numpy, instead of raising). :func:`rule` makes the
rules of :mod:`loyaltysim.model.rules`: most are inlined by the compiled code that calls them (typed
there, with no separate function and Python wrapper of their own), the larger ones that several loops
call are compiled once; both choices only serve the compile time. :func:`compiled` makes the loops of
:mod:`loyaltysim.model.kernels`, and ``from_python=False`` the functions only compiled code calls (no
Python wrapper).

numba's own cache key is the file that defines a function (its path and modification time) and the
argument types: a kernel loaded from the cache keeps the rules it was compiled with, even after
``rules.py`` changed. So the cache lives in a folder named after a hash of the source the compiled code
is made of (:data:`SOURCES`: every module of ``loyaltysim/model`` and the config schema, whose fields
become the parameter record): an edit to any of them gives a fresh folder, and the next run compiles
anew. The folder is :data:`CACHE_DIR`, under ``$NUMBA_CACHE_DIR`` if set, else beside the sources in
``__pycache__`` (or ``~/.cache/loyaltysim`` where that is read-only). Folders of earlier sources stay
until deleted.

The parallel kernels run on numba's OpenMP threading layer where it is available. Its threads wait for
work passively (:data:`WAIT_POLICY`, unless ``OMP_WAIT_POLICY`` is set): OpenMP's default spins, which on
a machine whose cores are busy with other work takes the cores from that work and from the other thread
(docs/performance.md, "On a loaded machine").

With ``NUMBA_DISABLE_JIT=1`` nothing is compiled: the same functions run as Python (slowly), which
helps to step through a kernel in a debugger.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numba
from numba.core import config as numba_config

import loyaltysim.config.schema

__all__ = ["CACHE_DIR", "SOURCES", "WAIT_POLICY", "compiled", "rule", "source_digest"]

WAIT_POLICY = "PASSIVE"
"""``OMP_WAIT_POLICY`` of the parallel kernels' OpenMP threads unless set: idle threads sleep rather than spin.
Set here, before numba starts its threading layer (at the first parallel call), which reads it then."""
os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)

SOURCES = (*sorted(Path(__file__).parent.glob("*.py")), Path(loyaltysim.config.schema.__file__))
"""Every module of the model and the config schema: more than is compiled (the rules, the kernels, the
records' fields and constants they read), so that no edit to compiled code can be missed."""


def source_digest(paths: tuple[Path, ...] = SOURCES) -> str:
    """A short hash of the files' names and contents."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_root() -> Path:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    beside = Path(__file__).parent / "__pycache__"
    if os.access(beside if beside.exists() else beside.parent, os.W_OK):
        return beside
    return Path.home() / ".cache" / "loyaltysim"


CACHE_DIR = _cache_root() / f"loyaltysim-numba-{source_digest()}"
"""Where the compiled rules and kernels of this version of the source are cached."""


@contextmanager
def _cached_in(folder: Path) -> Iterator[None]:
    """numba's cache folder set to ``folder`` while functions are decorated (it is read then)."""
    previous = numba_config.CACHE_DIR
    numba_config.CACHE_DIR = str(folder)
    try:
        yield
    finally:
        numba_config.CACHE_DIR = previous


def compiled(func: Callable[..., Any], *, parallel: bool = False, inline: bool = False, from_python: bool = True) -> Any:
    """``func`` compiled by numba on first call (its ``.py_func`` is the Python function), cached in :data:`CACHE_DIR`.

    Parameters
    ----------
    parallel
        Run its ``prange`` loops on all cores.
    inline
        Compiled callers inline it (it is still compiled on its own when called from Python).
    from_python
        False for a function only compiled code calls: no Python wrapper is built for it.
    """
    options = {"inline": "always" if inline else "never", "no_cpython_wrapper": not from_python, "no_cfunc_wrapper": True}
    with _cached_in(CACHE_DIR):
        dispatcher = numba.njit(cache=True, error_model="numpy", parallel=parallel, **options)(func)
    if dispatcher is func:  # NUMBA_DISABLE_JIT: the function itself, which is its own Python version
        func.py_func = func
    return dispatcher


def rule(func: Callable[..., Any] | None = None, *, inline: bool = True) -> Any:
    """A rule, compiled: inlined into the compiled code that calls it (numba types it there), or with
    ``inline=False`` compiled once for all its callers (for the larger rules several loops call: it keeps
    the compile time down, and LLVM still inlines the compiled function)."""
    if func is None:
        return lambda func: compiled(func, inline=inline)
    return compiled(func, inline=inline)
