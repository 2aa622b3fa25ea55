"""Errors a user can fix, with the file and key path they come from."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["ConfigError", "from_validation_error", "suggest"]


class ConfigError(Exception):
    """Bad input: a file or value the user wrote. The CLI prints it and exits with status 2.

    Parameters
    ----------
    message
        What was wrong: the key path, what was expected and what was given.
    source
        The file (or ``--set`` option) the bad value came from.
    """

    def __init__(self, message: str, *, source: str | Path | None = None) -> None:
        self.message = message
        self.source = str(source) if source is not None else None
        super().__init__(f"{self.source}: {message}" if self.source else message)


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean …?)' hint naming the closest choice, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_PATH_PREFIX = re.compile(r"^([A-Za-z_][\w.]*): (.*)$", re.DOTALL)
_SCHEMA_TAG = re.compile(r"^[a-z-]+\[.*\]$")  # pydantic's names of union/validator branches, e.g. 'function-after[...]'


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Names of the keys allowed at ``loc`` inside ``model`` (for suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside ``X``, ``list[X]`` or ``X | None``, else the annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _printable(part: Any) -> str:
    """A key as shown in a message: as typed, or quoted with escapes if it holds newlines or other controls."""
    text = str(part)
    return text if text.isprintable() else repr(text)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(_printable(p) for p in loc if p not in ("constant", "function-after", "function-before"))


def from_validation_error(
    error: ValidationError,
    model: type[BaseModel],
    *,
    source: str | Path | None,
    prefix: str = "",
    origin: Callable[[str], str | None] | None = None,
) -> ConfigError:
    """Turn pydantic's error list into one readable paragraph naming each key path.

    ``origin(path)`` may name the file a key path was set in when that is not ``source`` (a parent
    reached through ``extends``); it is added as "(set in FILE)"."""
    lines = []
    for item in error.errors():
        *parents, last = item["loc"] or ("",)
        loc = (*(p for p in parents if not (isinstance(p, str) and _SCHEMA_TAG.match(p))), last)  # a key is kept
        path = _dotted(loc)
        message = item["msg"].removeprefix("Value error, ")
        match = _PATH_PREFIX.match(message)
        if match:  # a model validator naming the key inside its section
            inner, message = match.groups()
            path = f"{path}.{inner}" if path else inner
        given = item.get("input")
        if item["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _fields_at(model, loc[:-1])
            shown = f"'{key}'" if key.isprintable() else repr(key)
            message = f"unknown key {shown}{suggest(key, allowed)}"
            if allowed:
                message += f"; allowed here: {', '.join(allowed)}"
        elif item["type"] == "missing":
            message = "this key is required but missing"
        elif not isinstance(given, dict | list):
            message += f"; got {given!r}"
        full = ".".join(p for p in (prefix, path) if p)
        where = origin(path) if origin is not None and path else None
        lines.append(f"{full or '(top level)'}: {message}" + (f" (set in {where})" if where else ""))
    return ConfigError("; ".join(lines), source=source)
