"""Reading scenarios from YAML: ``extends`` chains, ``--set`` overrides, clear errors."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from loyaltysim.config.errors import ConfigError, from_validation_error
from loyaltysim.config.schema import Config
from loyaltysim.i18n import _

__all__ = [
    "SHIPPED_CONFIGS",
    "apply_overrides",
    "config_hash",
    "load_config",
    "parse_assignment",
    "read_yaml",
    "yaml_hints",
]

SHIPPED_CONFIGS = Path(__file__).resolve().parents[3] / "configs"
"""The project's scenario files (``configs/`` of the checkout): the presets of the app and the validation."""

FULL_WIDTH = {"：": ":", "，": ",", "；": ";", "（": "(", "）": ")", "【": "[", "】": "]", "｛": "{", "｝": "}", "　": " "}
"""Punctuation a Chinese keyboard types, and what YAML needs instead."""
_BLOCK_SCALAR = re.compile(r":\s*[|>][-+]?\s*$")
_NO_COLON = re.compile(r"^(\s*-?\s*)([A-Za-z_][\w]*)\s+([^\s:#][^:#]*?)\s*$")

MAX_FILE_BYTES = 5_000_000
MAX_DEPTH = 32  # a config is at most a few levels deep; deeper nesting is a mistake (or an attack)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader (libyaml when available), refusing duplicate keys (by default the last one silently wins)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError) as exc:  # PyYAML lets these out on bad tagged values (!!int abc)
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(None, None, f"cannot read a {tag} value: {exc}", node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, list | dict) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given at line {seen[key] + 1})", key_node.start_mark
                )
            if not isinstance(key, list | dict):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _depth(value: Any, memo: dict[int, int]) -> int:
    """Nesting depth of mappings and lists (shared YAML aliases are counted once)."""
    if not isinstance(value, dict | list):
        return 0
    if id(value) not in memo:
        memo[id(value)] = MAX_DEPTH + 1  # a structure that contains itself is too deep
        children = value.values() if isinstance(value, dict) else value
        memo[id(value)] = 1 + max((_depth(child, memo) for child in children), default=0)
    return memo[id(value)]


def _nested_too_deep(text: str) -> bool:
    """Whether the YAML text opens more than :data:`MAX_DEPTH` mappings or lists inside each other.

    Read from the parser's event stream, which stops here long before any nesting limit of PyYAML's
    own (whose wording and depth change between versions) or Python's recursion limit is reached.
    Syntax errors are left for the loader to report.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_UniqueKeyLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except (yaml.YAMLError, RecursionError):
        # The scanner reads a flow collection ([...], {...}) ahead of its events: count its brackets.
        return _flow_depth(text) > MAX_DEPTH
    return False


def _flow_depth(text: str) -> int:
    """Deepest nesting of flow brackets in YAML text, outside quoted strings and comments."""
    depth = deepest = 0
    quote = ""
    previous = "\n"
    chars = iter(text)
    for char in chars:
        if quote:
            if char == "\\" and quote == '"':
                next(chars, None)
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and previous in " \t\n":
            for skipped in chars:
                if skipped == "\n":
                    break
            char = "\n"
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
        previous = char
    return deepest


def _load(text: str) -> tuple[Any, bool]:
    """Parse YAML text; return the data and whether it is nested too deeply (through aliases too)."""
    if _nested_too_deep(text):
        return None, True
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
    except RecursionError:
        return None, True
    return data, _depth(data, {}) > MAX_DEPTH


def _code(line: str) -> str:
    """A YAML line without its comment (a ``#`` after a space or at the start)."""
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0]


def yaml_hints(text: str) -> list[str]:
    """Plain-language hints about lines a beginner often gets wrong: tabs, full-width punctuation, a missing colon.

    Comments and the text of block scalars (``description: >-`` and the lines indented below it) are not checked.
    """
    hints = []
    block = None  # indentation of the key that opened a block scalar
    for number, line in enumerate(text.splitlines(), start=1):
        code = _code(line)
        indent = code[: len(code) - len(code.lstrip())]
        if block is not None and (not code.strip() or len(indent) > block):
            continue
        block = len(indent) if _BLOCK_SCALAR.search(code) else None
        if "\t" in indent:
            hints.append(_("line {n} is indented with a tab: YAML indents with spaces only").format(n=number))
        wide = next((char for char in code if char in FULL_WIDTH), None)
        if wide:
            hints.append(
                _("line {n} has the full-width '{char}' of a Chinese keyboard: type '{plain}' instead").format(
                    n=number, char=wide, plain=FULL_WIDTH[wide]
                )
            )
        missing = _NO_COLON.match(code) if not wide and code.strip() else None
        if missing:
            _lead, key, value = missing.groups()
            hints.append(_("line {n} has no colon after '{key}': write '{key}: {value}'").format(n=number, key=key, value=value))
    return hints


def _with_hints(message: str, text: str) -> str:
    hints = yaml_hints(text)
    return message + (". " + _("Hint: {hints}.").format(hints="; ".join(hints)) if hints else "")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read one YAML mapping, refusing missing, binary, empty, non-mapping or too deeply nested files."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(_("file not found") if not path.exists() else _("not a file"), source=path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"file is larger than {MAX_FILE_BYTES} bytes; is it a config?", source=path)
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", source=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not a text file (it is not valid UTF-8)", source=path) from None
    if "\x00" in text:
        raise ConfigError("not a text file (it contains NUL bytes)", source=path)
    try:
        data, too_deep = _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            _with_hints(_("malformed YAML{where}: {problem}").format(where=where, problem=problem), text), source=path
        ) from None
    except (ValueError, KeyError, TypeError) as exc:  # from PyYAML's deferred constructors (!!set [1])
        raise ConfigError(f"malformed YAML: cannot read a tagged value: {exc}", source=path) from None
    if too_deep:
        raise ConfigError(f"nested more than {MAX_DEPTH} levels deep (or refers to itself); is it a config?", source=path)
    if data is None:
        raise ConfigError(_("the file is empty; expected a mapping of config keys"), source=path)
    if not isinstance(data, dict):
        message = _("expected a mapping of config keys at the top, got {kind}").format(kind=type(data).__name__)
        raise ConfigError(_with_hints(message, text), source=path)
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge mappings; lists and scalars in ``override`` replace those in ``base``."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_extends(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and the files it ``extends`` (relative to the including file), merged."""
    merged: dict[str, Any] = {}
    for _file, data in extends_chain(path, _chain):
        merged = deep_merge(merged, data)
    return merged


def extends_chain(path: str | Path, _chain: tuple[Path, ...] = ()) -> list[tuple[Path, dict[str, Any]]]:
    """``path`` and the files it ``extends``, each with its own keys, the farthest parent first."""
    path = Path(path).resolve() if Path(path).exists() else Path(path)
    if path in _chain:
        cycle = " → ".join(str(p) for p in (*_chain, path))
        raise ConfigError(f"extends: include cycle {cycle}", source=_chain[-1])
    data = read_yaml(path)
    _anchor_network_path(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return [(path, data)]
    if not isinstance(parent, str) or not parent.strip():
        raise ConfigError(f"extends: expected a file path, got {parent!r}", source=path)
    parent_path = Path(parent) if Path(parent).is_absolute() else path.parent / parent
    if not parent_path.is_file():
        problem = "not a file" if parent_path.exists() else "file not found"
        raise ConfigError(f"extends: {problem}: {parent_path}", source=path)
    return [*extends_chain(parent_path, (*_chain, path)), (path, data)]


def _set_in(data: Any, parts: list[str]) -> bool:
    """Whether the dotted path ``parts`` is written in ``data`` (a list counts whole: files replace lists)."""
    for part in parts:
        if isinstance(data, list):
            return True
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _origin_in(chain: list[tuple[Path, dict[str, Any]]], overridden: Mapping[str, Any]) -> Callable[[str], str | None]:
    """For error messages: the parent file a key path was set in (None if set in the top file or by
    ``--set``, or not found)."""

    def origin(dotted: str) -> str | None:
        if any(dotted == key or dotted.startswith(f"{key}.") for key in overridden):
            return None
        for file, data in reversed(chain):
            if _set_in(data, dotted.split(".")):
                return None if file == chain[-1][0] else str(file)
        return None

    return origin


def _anchor_network_path(data: dict[str, Any], folder: Path) -> None:
    """Make a relative ``network.path`` relative to the file that names it."""
    network = data.get("network")
    if isinstance(network, dict) and isinstance(network.get("path"), str) and not Path(network["path"]).is_absolute():
        network["path"] = str(folder / network["path"])


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``'customers.n=5000'`` into the path and a YAML-parsed value."""
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ConfigError(f"expected PATH=VALUE (e.g. customers.n=5000), got {text!r}", source="--set")
    try:
        parsed, too_deep = _load(value) if value.strip() else (value, False)
    except (yaml.YAMLError, ValueError, KeyError, TypeError):
        parsed, too_deep = value, False
    if too_deep:
        raise ConfigError(f"{path}: the value is nested more than {MAX_DEPTH} levels deep", source="--set")
    return path, parsed


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set dotted paths (``firms.0.price``) in a nested dict of config values."""
    result = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node: Any = result
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            here = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"{here}: expected an index below {len(node)} into the list", source="--set")
                index: Any = int(part)
            elif isinstance(node, dict):
                index = part
            else:
                raise ConfigError(f"{here}: cannot set a key inside a {type(node).__name__}", source="--set")
            if last:
                node[index] = copy.deepcopy(value)  # a list-valued factor must never be changed through the config
            else:
                if isinstance(node, dict) and not isinstance(node.get(index), dict | list):
                    node[index] = {}
                node = node[index]
    return result


def load_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Load and validate a scenario.

    Parameters
    ----------
    path
        A YAML file (``extends:`` chains are followed), or None for all defaults.
    overrides
        Dotted paths to values, applied last: ``{"customers.n": 5000, "firms.0.price": 12}``.

    Raises
    ------
    ConfigError
        Naming the file, the key path, what was expected and what was given.
    """
    chain = extends_chain(path) if path is not None else []
    data = Config().to_dict()
    for _file, layer in chain:
        data = deep_merge(data, layer)
    source: str | Path | None = path
    if overrides:
        data = apply_overrides(data, overrides)
        source = f"{path} with --set {', '.join(f'{k}={v}' for k, v in overrides.items())}" if path else "--set"
    try:
        return validate_config(data, source=source, origin=_origin_in(chain, overrides or {}) if len(chain) > 1 else None)
    except ConfigError as exc:
        hints = [hint for file, _layer in chain for hint in yaml_hints(file.read_text(encoding="utf-8"))] if chain else []
        if not hints:
            raise
        raise ConfigError(exc.message + ". " + _("Hint: {hints}.").format(hints="; ".join(hints)), source=exc.source) from None


def validate_config(
    data: Mapping[str, Any], *, source: str | Path | None = None, origin: Callable[[str], str | None] | None = None
) -> Config:
    """Validate a nested dict of config values (as read from YAML); ``origin`` as in
    :func:`~loyaltysim.config.errors.from_validation_error`."""
    try:
        return Config.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc, Config, source=source, origin=origin, data=data) from None


def config_hash(config: Config) -> str:
    """A stable SHA-256 of every resolved config value."""
    text = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
