"""Errors a user can fix, with the file and key path they come from."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from loyaltysim.i18n import N_, _

__all__ = ["ConfigError", "from_validation_error", "suggest"]

_MESSAGES = {
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "float_type": N_("Input should be a valid number"),
    "int_type": N_("Input should be a valid integer"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "string_type": N_("Input should be a valid string"),
    "list_type": N_("Input should be a valid list"),
    "model_type": N_("expected a section: `key: value` lines indented below this key"),
    "dict_type": N_("expected a section: `key: value` lines indented below this key"),
}
"""Messages for pydantic's common error types, in words a student can act on (and translatable)."""


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
    return " " + _("(did you mean '{choice}'?)").format(choice=close[0]) if close else ""


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


_WRAPPERS = ("constant", "function-after", "function-before")


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(_printable(p) for p in loc if p not in _WRAPPERS)


def _shown(loc: tuple[Any, ...], data: Any) -> str:
    """The key path as a reader finds it: list items counted from 0 and named, e.g. ``firms[0] (A).price``."""
    text = ""
    for part in loc:
        if part in _WRAPPERS:
            continue
        node = data[part] if isinstance(data, list) and isinstance(part, int) and part < len(data) else None
        if isinstance(part, int):
            name = node.get("name") if isinstance(node, Mapping) else None
            text += f"[{part}]" + (f" ({name})" if isinstance(name, str) and name.isprintable() else "")
        else:
            text += ("." if text else "") + _printable(part)
            node = data.get(part) if isinstance(data, Mapping) else None
        data = node
    return text


def _message(item: Mapping[str, Any]) -> str:
    """pydantic's message for one error, reworded (or translated) for the common types."""
    template = _MESSAGES.get(item["type"])
    if template is None:
        return item["msg"].removeprefix("Value error, ")
    ctx = {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in item.get("ctx", {}).items()
    }
    try:
        return _(template).format(**ctx)
    except (KeyError, IndexError):
        return item["msg"]


def _choices(item: Mapping[str, Any]) -> list[str]:
    """The allowed values of a ``literal_error`` ("Input should be 'a', 'b' or 'c'")."""
    return re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", "")))


def from_validation_error(
    error: ValidationError,
    model: type[BaseModel],
    *,
    source: str | Path | None,
    prefix: str = "",
    origin: Callable[[str], str | None] | None = None,
    data: Any = None,
) -> ConfigError:
    """Turn pydantic's error list into one readable paragraph naming each key path.

    ``origin(path)`` may name the file a key path was set in when that is not ``source`` (a parent
    reached through ``extends``); it is added as "(set in FILE)". With ``data`` (the values validated),
    list items are shown with their name: ``firms[0] (A).price``."""
    lines = []
    for item in error.errors():
        *parents, last = item["loc"] or ("",)
        loc = (*(p for p in parents if not (isinstance(p, str) and _SCHEMA_TAG.match(p))), last)  # a key is kept
        path = _dotted(loc)
        shown_path = _shown(loc, data) if data is not None else path
        message = _message(item)
        match = _PATH_PREFIX.match(message)
        if match:  # a model validator naming the key inside its section
            inner, message = match.groups()
            path = f"{path}.{inner}" if path else inner
            shown_path = f"{shown_path}.{inner}" if shown_path else inner
        given = item.get("input")
        if item["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _fields_at(model, loc[:-1])
            shown = f"'{key}'" if key.isprintable() else repr(key)
            message = _("unknown key {key}").format(key=shown) + suggest(key, allowed)
            if allowed:
                message += "; " + _("allowed here: {keys}").format(keys=", ".join(allowed))
        elif item["type"] == "missing":
            message = _("this key is required but missing")
        elif item["type"] == "literal_error":
            choices = _choices(item)
            message = (
                _("expected one of {choices}").format(choices=", ".join(choices)) + "; " + _("got {given!r}").format(given=given)
            )
            message += suggest(str(given), choices) if isinstance(given, str) else ""
        elif not isinstance(given, dict | list):
            message += "; " + _("got {given!r}").format(given=given)
        full = ".".join(p for p in (prefix, shown_path) if p)
        where = origin(path) if origin is not None and path else None
        full = full or _("(top level)")
        lines.append(f"{full}: {message}" + (" " + _("(set in {file})").format(file=where) if where else ""))
    return ConfigError("; ".join(lines), source=source)
