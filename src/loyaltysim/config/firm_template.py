"""The number of firms as one number: ``n_firms``, with firms beyond those listed drawn from ``firm_template``.

Generated when the config is resolved, so the resolved config (and its hash) lists every firm a run
has. A generated firm has the template's quality, promise and price and every other key's
default. Firm ``k`` (counting from 0 over all firms) is drawn from its own stream,
``SeedSequence(run.seed, spawn_key=(FIRM_STREAM, k))``: the same seed gives the same firms, and a run
with more firms has the same first ones. Generated firms are marked ``generated: true`` and drawn
again whenever the config is resolved (a new seed or ``n_firms`` gives new ones). With fewer
``n_firms`` than listed firms, the first ``n_firms`` are kept.

Examples
--------
>>> from loyaltysim.config.schema import Config
>>> config = Config.model_validate({"n_firms": 7})
>>> [f.name for f in config.firms], config.firms[6].generated
(['A', 'B', 'C', 'D', 'E', 'F', 'G'], True)
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from loyaltysim.config.sampling import sample

__all__ = ["FIRM_STREAM", "resolve_firms"]

FIRM_STREAM = 0xF12
"""First spawn key of the generated firms' random streams (apart from every other stream of a run)."""


def _names() -> Iterator[str]:
    """A, B, …, Z, AA, AB, …"""
    for size in itertools.count(1):
        for letters in itertools.product(string.ascii_uppercase, repeat=size):
            yield "".join(letters)


def _generated(template: Any, index: int, name: str, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(FIRM_STREAM, index)))
    quality = float(np.clip(sample(template.quality, 1, rng)[0], 0.0, 1.0))
    promise = quality if template.promise is None else float(np.clip(sample(template.promise, 1, rng)[0], 0.0, 1.0))
    price = float(max(sample(template.price, 1, rng)[0], 0.0))
    return {"name": name, "quality": quality, "promise": promise, "price": price, "generated": True}


def resolve_firms(data: Mapping[str, Any], default_firms: list[dict[str, Any]], template_class: type) -> dict[str, Any]:
    """``data`` (a raw config mapping) with its firms list made ``n_firms`` long: listed firms kept (the first
    ``n_firms`` of them), generated ones drawn again."""
    data = dict(data)
    firms = data.get("firms", default_firms)
    n_firms = data.get("n_firms")
    if not isinstance(firms, list) or n_firms is None or isinstance(n_firms, bool) or not isinstance(n_firms, int):
        return data  # nothing to generate (the schema reports wrong types)
    listed = [f for f in firms if not (isinstance(f, Mapping) and f.get("generated"))]
    if n_firms <= len(listed):
        data["firms"] = listed[:n_firms]
        return data
    try:
        template = template_class.model_validate(data.get("firm_template") or {})
    except ValueError:  # pydantic's ValidationError: the schema reports it under firm_template
        return data
    run = data.get("run") if isinstance(data.get("run"), Mapping) else {}
    seed = run.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        return data  # the schema reports it
    taken = {f.get("name") for f in listed if isinstance(f, Mapping)}
    names = (name for name in _names() if name not in taken)
    extra = [_generated(template, index, next(names), seed) for index in range(len(listed), n_firms)]
    data["firms"] = [*listed, *extra]
    return data
