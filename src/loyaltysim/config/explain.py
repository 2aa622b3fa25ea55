"""Every config key with its type, default, range and meaning, read from the schema."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from loyaltysim.config.schema import Config, Distribution, FirmConfig, SegmentConfig
from loyaltysim.i18n import _

__all__ = ["KeyDoc", "explain", "iter_keys", "markdown_reference", "markdown_table", "unknown_term"]

_LIST_ITEMS = {FirmConfig: "firms", SegmentConfig: "segments"}


@dataclass(frozen=True)
class KeyDoc:
    """Documentation of one config key (default written as in YAML)."""

    path: str
    type: str
    default: str
    allowed: str
    description: str


def _type_name(annotation: Any) -> str:
    """A reader's name for a field type: ``choice``, ``distribution``, ``list of firms``, ``float (optional)``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "choice"
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return f"{_type_name(rest[0]) if len(rest) == 1 else 'value'} (optional)"
    if origin is list:
        return f"list of {_LIST_ITEMS.get(args[0], _type_name(args[0]))}" if args else "list"
    if origin is tuple:
        return f"list of {len(args)} {_type_name(args[0])}s" if args else "list"
    if annotation is Distribution:
        return "distribution"
    return getattr(annotation, "__name__", str(annotation))


def _yaml(value: Any) -> str:
    """``value`` as one line of YAML (flow style), the way a user writes it in a scenario file."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    elif isinstance(value, list | tuple):
        value = [v.model_dump(mode="json", exclude_defaults=True) if isinstance(v, BaseModel) else v for v in value]
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _allowed(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for cls, attr, sign in ((Ge, "ge", "≥"), (Gt, "gt", ">"), (Le, "le", "≤"), (Lt, "lt", "<")):
            if isinstance(item, cls):
                parts.append(f"{sign} {getattr(item, attr)}")
    choices = get_args(field.annotation)
    if get_origin(field.annotation) is Literal:
        parts.append(" | ".join(choices))
    return ", ".join(parts)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def iter_keys(model: type[BaseModel] = Config, prefix: str = "", defaults: Any = None) -> Iterator[KeyDoc]:
    """Walk the schema depth-first, yielding one :class:`KeyDoc` per leaf key.

    List items are documented after the top-level keys, as ``firms[].KEY`` and
    ``customers.segments[].KEY``.
    """
    defaults = defaults if defaults is not None else model()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        value = getattr(defaults, name, None)
        nested = _nested_model(field.annotation)
        if nested is not None and nested is not Distribution:
            yield from iter_keys(nested, f"{path}.", value)
            continue
        default = "required" if field.is_required() else _yaml(value)
        yield KeyDoc(path, _type_name(field.annotation), default, _allowed(field), field.description or "")
    if model is Config:
        yield from iter_keys(FirmConfig, "firms[].", FirmConfig(name="A"))
        yield from iter_keys(SegmentConfig, "customers.segments[].", SegmentConfig(name="s", share=0.5))


def explain(match: str = "") -> str:
    """Plain-text list of keys whose path contains ``match``."""
    lines = []
    for key in iter_keys():
        if match in key.path:
            allowed = f" [{key.allowed}]" if key.allowed else ""
            lines.append(f"{key.path} = {key.default}  ({key.type}){allowed}\n    {key.description}")
    return "\n".join(lines)


def unknown_term(match: str, limit: int = 5) -> str:
    """What to say when no key contains ``match``: that, and the keys whose names come closest."""
    paths = [key.path for key in iter_keys()]
    names = {part: path for path in paths for part in reversed(path.replace("[]", "").split("."))}
    close = difflib.get_close_matches(match.lower(), list(names), n=limit, cutoff=0.6)
    close_paths = list(dict.fromkeys(names[name] for name in close))
    close_paths += difflib.get_close_matches(match.lower(), paths, n=limit, cutoff=0.6)
    message = _("no config key contains '{match}'").format(match=match)
    if close_paths:
        message += "; " + _("did you mean: {keys}?").format(keys=", ".join(list(dict.fromkeys(close_paths))[:limit]))
    return message + " " + _("(`loyaltysim config --explain` lists every key)")


def _cell(text: str, *, code: bool) -> str:
    text = text.replace("|", "\\|")  # GitHub tables split on | even inside code spans
    return f"`{text}`" if code and text else text


def markdown_table(keys: Iterable[KeyDoc]) -> list[str]:
    """Keys as the lines of a Markdown table: key, type, default, allowed, meaning."""
    rows = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for key in keys:
        cells = (
            _cell(key.path, code=True),
            _cell(key.type, code=False),
            _cell(key.default, code=key.default != "required"),
            _cell(key.allowed, code=False),
            _cell(key.description, code=False),
        )
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def markdown_reference() -> str:
    """The config reference as a Markdown document (docs/config-reference.md), one table per section."""
    sections: dict[str, list[KeyDoc]] = {}
    for key in iter_keys():
        sections.setdefault(key.path.rpartition(".")[0], []).append(key)
    rows = [
        "# Configuration reference",
        "",
        "Generated from the config schema (`src/loyaltysim/config.py`) by",
        "`loyaltysim config --reference > docs/config-reference.md`; do not edit by hand",
        "(a test fails when this file is out of date).",
        "",
        "Every key has a default: a scenario file lists only what it changes, and",
        "`--set PATH=VALUE` overrides any key from the command line (list items by",
        "index, e.g. `--set firms.0.price=12`). Defaults are written as in YAML.",
        "A *distribution* (a per-customer attribute) is either a number, which every",
        "customer gets, or a mapping `{dist: normal|lognormal|gamma|beta|uniform|constant,",
        "mean, sd, low, high}`; `low`/`high` bound a uniform draw and clip the others.",
        "Scales: quality, performance and expectations on [0, 1]; satisfaction, loyalty",
        "and trust on [0, 1] with 0.5 neutral; prices and costs per purchase period.",
    ]
    for section, keys in sections.items():
        rows += ["", f"## `{section}`" if section else "## Top level", "", *markdown_table(keys)]
    return "\n".join(rows) + "\n"
