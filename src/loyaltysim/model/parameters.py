"""The model's parameters as the rules read them: one record whose fields are the config keys.

The record's fields are generated from the config schema, so a new key reaches the rules without an
edit here. Every value of the sections the rules read (:data:`SECTIONS`) becomes a field named
``<section>_<key>``: numbers as they are (``satisfaction_sensitivity``), switches as 0 or 1
(``word_of_mouth_enabled``), choices as their index among the allowed values (``loyalty_link``, see
:func:`choice`), and a fixed-length list as one field per entry (``observation_rating_cutoffs_0`` …);
values that are not numbers (distributions, names) are left out. :data:`DERIVED` adds values computed
from several keys (``periods_per_year``).

The compiled kernels receive the values as one float array (:func:`pack`: numba checks an array's type
in a fraction of the time it takes for a record of 40 fields) and rebuild the record inside compiled
code (``Parameters(*as_tuple(values))``, free there); Python code such as the per-customer reference model uses the
record itself (:func:`record`).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any, Literal, get_args, get_origin

import numpy as np
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple
from numpy.typing import NDArray
from pydantic import BaseModel

from loyaltysim.config.schema import Config

__all__ = ["DERIVED", "FIELDS", "SECTIONS", "Parameters", "as_tuple", "choice", "pack", "record"]

SECTIONS = (
    "satisfaction",
    "expectations",
    "loyalty",
    "switching",
    "word_of_mouth",
    "economics",
    "observation",
    "reviews",
    "risk",
    "identification",
    "win_back",
    "stickiness",
)
"""The config sections whose values are rule parameters."""

DERIVED: dict[str, Callable[[Config], float]] = {"periods_per_year": lambda config: config.periods_per_year}
"""Parameters computed from the config rather than read from one key."""


def _getters(section: str, model: type[BaseModel]) -> Iterator[tuple[str, Callable[[Config], float]]]:
    """(field name, how to read its value from a config) for each numeric key of one section."""
    for key, field in model.model_fields.items():
        annotation, name = field.annotation, f"{section}_{key}"

        def value(config: Config, key: str = key) -> Any:
            return getattr(getattr(config, section), key)

        if annotation is bool or annotation in (int, float):
            yield name, value
        elif get_origin(annotation) is Literal:
            options = get_args(annotation)
            yield name, lambda config, value=value, options=options: options.index(value(config))
        elif get_origin(annotation) is tuple and all(arg in (int, float) for arg in get_args(annotation)):
            for position in range(len(get_args(annotation))):
                yield f"{name}_{position}", lambda config, value=value, position=position: value(config)[position]


_GETTERS = dict(
    [
        *(item for section in SECTIONS for item in _getters(section, Config.model_fields[section].annotation)),
        *DERIVED.items(),
    ]
)
FIELDS: tuple[str, ...] = tuple(_GETTERS)
"""The record's field names, in the order of :func:`pack`."""

Parameters = namedtuple("Parameters", FIELDS)  # type: ignore[misc]  # fields generated from the schema
Parameters.__doc__ = "The rules' parameters (one float per field; see the module docstring)."


def choice(section: str, key: str, option: str) -> int:
    """The value a choice field has in the record when the config chooses ``option``."""
    return get_args(Config.model_fields[section].annotation.model_fields[key].annotation).index(option)


def pack(config: Config) -> NDArray[np.float64]:
    """The parameter values of ``config`` as a float array, in the order of :data:`FIELDS`."""
    return np.array([float(get(config)) for get in _GETTERS.values()])


def record(config: Config) -> Parameters:
    """The parameter record of ``config`` (for Python code; kernels take :func:`pack`'s array)."""
    return Parameters(*pack(config).tolist())


def as_tuple(values: NDArray[np.float64]) -> tuple[float, ...]:
    """:func:`pack`'s array as a tuple, so that ``Parameters(*as_tuple(values))`` is the record.

    In compiled code the tuple has a length known when compiling, and building the record costs nothing.
    (A function that returned the record itself would hide it from numba's parallel loops, which need
    to see each record built by a call of its class.)
    """
    return tuple(values.tolist())


@overload(as_tuple)
def _as_tuple_compiled(values):  # numba compares the signatures, annotations included
    size = len(FIELDS)

    def entries(values):
        return to_fixed_tuple(values, size)

    return entries
