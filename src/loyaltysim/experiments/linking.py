"""From a design point to config values: linked factors, derived values, overlap checks and read-back.

A factor sets the config path it is named by, or, with ``paths:``, one sampled value at several
paths (a linked factor: a rival's quality and its promise move together; Sobol' and Morris see one
input). ``derived:`` in an experiment sets config paths from an expression of the factors
(``firms.1.promise: "rival_quality + 0.05"``). Paths that overlap (one inside another, e.g.
``firms`` and ``firms.1.quality``) are refused: one would silently overwrite the other. What a
run records for each factor is read back from the config it ran with (:func:`read_back`).

Examples
--------
>>> evaluate("min(q + 0.1, 1)", {"q": 0.95})
1.0
>>> overlapping([("firms", "factors.firms"), ("customers.n", "factors.customers.n"), ("firms.1.quality", "factors.q")])
(('firms', 'factors.firms'), ('firms.1.quality', 'factors.q'))
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["assignments", "config_value", "evaluate", "expression_names", "overlapping", "read_back"]

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round, "sqrt": math.sqrt, "log": math.log, "exp": math.exp}


def _placeholders(expression: str, names: Iterable[str]) -> tuple[str, dict[str, str]]:
    """Replace factor names (dotted ones included, longest first) by identifiers Python can parse."""
    mapping: dict[str, str] = {}
    for index, name in enumerate(sorted(names, key=len, reverse=True)):
        if name in expression and not name.isidentifier():
            token = f"_factor_{index}"
            expression = expression.replace(name, token)
            mapping[token] = name
    return expression, mapping


def expression_names(expression: str, names: Iterable[str]) -> list[str]:
    """The names an expression uses (factor names and functions), or ValueError if it does not parse."""
    text, mapping = _placeholders(expression, names)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse {expression!r}: {exc.msg}") from None
    used = [mapping.get(node.id, node.id) for node in ast.walk(tree) if isinstance(node, ast.Name)]
    return [name for name in used if name not in _FUNCTIONS]


def evaluate(expression: str, values: Mapping[str, Any]) -> Any:
    """The value of an arithmetic ``expression`` of factor values (+ − × ÷ **, min, max, abs, round, sqrt, log, exp).

    Raises
    ------
    ValueError
        Unknown names, or anything beyond arithmetic on numbers.
    """
    text, mapping = _placeholders(expression, values)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            name = mapping.get(node.id, node.id)
            if name not in values:
                raise ValueError(f"{expression!r}: {name!r} is not a factor; factors: {', '.join(values)}")
            return values[name]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
            return _FUNCTIONS[node.func.id](*(walk(arg) for arg in node.args))
        raise ValueError(f"{expression!r}: only arithmetic on factors and numbers is allowed ({', '.join(_FUNCTIONS)})")

    try:
        return walk(ast.parse(text, mode="eval"))
    except SyntaxError as exc:
        raise ValueError(f"cannot parse {expression!r}: {exc.msg}") from None


def overlapping(paths: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The first two ``(config path, owner)`` items whose paths overlap (the same path, or one inside the
    other), the outer one first; None if no two do."""
    for a, b in itertools.combinations(paths, 2):
        if a[0] == b[0] or b[0].startswith(f"{a[0]}.") or a[0].startswith(f"{b[0]}."):
            return (a, b) if len(a[0]) <= len(b[0]) else (b, a)
    return None


def assignments(
    point: Mapping[str, Any], paths: Mapping[str, list[str]], derived: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The config values a design point sets: each factor at its paths, then the derived paths."""
    values = {path: value for name, value in point.items() for path in paths.get(name, [name])}
    for path, expression in (derived or {}).items():
        values[path] = evaluate(expression, point)
    return values


def config_value(config: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of a nested config mapping (list items by index)."""
    node: Any = config
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _shaped(resolved: Any, planned: Any) -> Any:
    """``resolved`` restricted to the keys ``planned`` gives (list items by position), so a list-valued factor
    records the values it set, as the config resolved them, not every default of every item."""
    if isinstance(planned, Mapping) and isinstance(resolved, Mapping):
        return {key: _shaped(resolved[key], planned[key]) for key in planned if key in resolved}
    if isinstance(planned, list) and isinstance(resolved, list):
        keys = [item for item in planned if isinstance(item, Mapping)]
        template = {k: v for item in keys for k, v in item.items()}
        return [_shaped(item, planned[i] if i < len(planned) else template) for i, item in enumerate(resolved)]
    return resolved


def read_back(config: Mapping[str, Any], point: Mapping[str, Any], paths: Mapping[str, list[str]]) -> dict[str, Any]:
    """Each factor's value as the run's resolved ``config`` holds it (at the factor's first path)."""
    return {name: _shaped(config_value(config, paths.get(name, [name])[0]), value) for name, value in point.items()}
