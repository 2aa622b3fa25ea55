"""Generators of invalid input files, derived from a pydantic schema (for the fuzz tests).

Each :class:`Case` is a small folder of files plus the command-line arguments
that feed them to ``loyaltysim``, and the substrings the error must contain
(the file and the key path). Cases are deterministic: the same list every run.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types as at
import numpy as np
import yaml
from pydantic import BaseModel

ENTRY = "case.yaml"


@dataclass
class Case:
    """One invalid input: files to write, extra arguments, and what the message must name."""

    id: str
    kind: str
    files: dict[str, str | bytes]
    args: list[str] = field(default_factory=list)
    expect: list[str] = field(default_factory=list)  # substrings; "{dir}" is the case folder

    def write(self, folder: Path) -> Path:
        """Write the files into ``folder``; returns the entry file."""
        for name, content in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder / ENTRY


def dump(data: Any) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


def set_path(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``data`` with ``value`` at ``path`` (keys and list indices)."""
    result = copy.deepcopy(data)
    node = result
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return result


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → X; anything else unchanged."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _bounds(metadata: list[Any]) -> Iterator[tuple[str, Any]]:
    for item in metadata:
        if isinstance(item, at.Ge):
            yield "below_minimum", item.ge
        elif isinstance(item, at.Gt):
            yield "at_exclusive_minimum", item.gt
        elif isinstance(item, at.Le):
            yield "above_maximum", item.le
        elif isinstance(item, at.Lt):
            yield "at_exclusive_maximum", item.lt


def _out_of_range(kind: str, bound: Any, is_int: bool) -> Any:
    step = 1 if is_int else max(abs(bound) * 0.5, 0.5)
    return {
        "below_minimum": bound - step,
        "at_exclusive_minimum": bound,
        "above_maximum": bound + step,
        "at_exclusive_maximum": bound,
    }[kind]


def bad_values(annotation: Any, metadata: list[Any], value: Any) -> Iterator[tuple[str, str, Any]]:
    """(kind, label, bad value) for one schema field whose valid value is ``value``."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if _is_model(annotation):
        if annotation.__name__ == "Distribution":  # a number is a valid (constant) distribution
            yield "wrong_type", "text", "lots"
        else:
            yield "wrong_type", "number", 5
            yield "wrong_type", "text", "nonsense"
        yield "wrong_type", "list", [1, 2]
        return
    if origin is list:
        yield "wrong_type", "text", "abc"
        yield "wrong_type", "mapping", {"a": 1}
        if typing.get_args(annotation)[0] is not Any:  # a list of anything takes numbers
            yield "wrong_type", "list_of_numbers", [5]
        return
    if origin is dict:
        yield "wrong_type", "text", "abc"
        yield "wrong_type", "list", [1, 2]
        return
    if origin is tuple:
        yield "wrong_type", "text", "abc"
        yield "wrong_type", "too_short", list(value)[:2]
        yield "wrong_type", "too_long", [*value, 0.9]
        yield "cross_field", "not_increasing", sorted(value, reverse=True)
        return
    if origin is typing.Literal:
        yield "wrong_type", "unknown_option", "not_an_option"
        yield "wrong_type", "number", 3
        return
    if annotation is bool:
        yield "wrong_type", "word", "maybe"
        yield "wrong_type", "list", [True]
        return
    if annotation is str:
        yield "wrong_type", "list", [1, 2]
        yield "wrong_type", "mapping", {"a": 1}
        return
    if annotation in (int, float):
        is_int = annotation is int
        yield "wrong_type", "word", "many"
        yield "wrong_type", "list", [1]
        yield "wrong_type", "mapping", {"value": 1}
        if is_int:
            yield "wrong_type", "fraction", 1.5
        for kind, bound in _bounds(metadata):
            yield "out_of_range", kind, _out_of_range(kind, bound, is_int)
        if not is_int:
            yield "nan_inf", "nan", math.nan
            yield "nan_inf", "inf", math.inf
            yield "nan_inf", "minus_inf", -math.inf
            yield "huge_number", "1e300", 1e300
            yield "huge_number", "minus_1e300", -1e300
        elif any(isinstance(m, at.Le) for m in metadata):
            yield "huge_number", "10^30", 10**30
        return
    raise TypeError(f"no bad values known for {annotation!r}")


def schema_cases(model: type[BaseModel], data: dict[str, Any], *, prefix: str = "") -> Iterator[Case]:
    """Invalid variants of a valid document ``data`` of ``model``: every field, every section.

    For each leaf: wrong types, each bound crossed, NaN/±inf and huge numbers; for each
    section (and the first item of each list or mapping of sections): a wrong type and an unknown key (a misspelling of a
    real key, so the message can suggest it). Every field of ``data`` must be filled in.
    """

    def walk(model: type[BaseModel], node: dict[str, Any], path: tuple[Any, ...]) -> Iterator[Case]:
        dotted = ".".join(str(p) for p in path)
        names = list(model.model_fields)
        typo = names[0][:-1] + names[0][-1] * 2  # e.g. 'steps' → 'stepss'
        for key, label in ((typo, "misspelt"), ("zz_unknown_key", "invented")):
            bad = set_path(data, (*path, key), 1) if path else {**data, key: 1}
            where = f"{dotted}.{key}" if dotted else key
            yield Case(
                f"unknown_key-{where}-{label}", "unknown_key", {ENTRY: dump(bad)}, expect=[f"{prefix}{where}", "unknown key"]
            )
        for name, info in model.model_fields.items():
            if name not in node:
                continue
            here = (*path, name)
            where = ".".join(str(p) for p in here)
            value = node[name]
            inner = _unwrap(info.annotation)
            if _is_model(inner) and isinstance(value, dict):
                yield from walk(inner, value, here)
            elif typing.get_origin(inner) is list and value and _is_model(typing.get_args(inner)[0]):
                yield from walk(typing.get_args(inner)[0], value[0], (*here, 0))  # the first item stands for all
            elif typing.get_origin(inner) is dict and value and _is_model(typing.get_args(inner)[1]):
                first = next(iter(value))
                yield from walk(typing.get_args(inner)[1], value[first], (*here, first))
            for kind, label, bad in bad_values(info.annotation, info.metadata, value):
                yield Case(f"{kind}-{where}-{label}", kind, {ENTRY: dump(set_path(data, here, bad))}, expect=[f"{prefix}{where}"])

    yield from walk(model, data, ())


def garbage_cases(count: int, seed: int) -> Iterator[Case]:
    """Random bytes of random lengths (from a fixed seed): never a config."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        size = int(rng.integers(1, 4096)) if i % 4 else int(rng.integers(1, 8))
        content = rng.bytes(size)
        yield Case(f"garbage-{i:03d}-{size}B", "binary_garbage", {ENTRY: content}, expect=[ENTRY])
