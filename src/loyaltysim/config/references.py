"""User extensions named in YAML: names registered at run time, or ``module:function`` references.

A reference such as ``mypkg.nets:ring`` is resolved by importing ``mypkg.nets`` and reading its
attribute ``ring``, so it resolves the same way in any process: a process pool's workers and Dask
workers import it themselves. A name registered with a ``register_*`` function lives in the process
that registered it.

Examples
--------
>>> networks = Registry("network type", reserved=("complete", "none"))
>>> networks.register("ring", print)
>>> networks.get("ring") is print, networks.get("builtins:len") is len
(True, True)
>>> networks.get("rnig")
Traceback (most recent call last):
...
ValueError: unknown network type 'rnig' (did you mean 'ring'?); expected one of complete, none, ring, or module:function
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from loyaltysim.config.errors import suggest

__all__ = ["NAME", "REFERENCE", "Registry", "is_reference", "resolve_reference"]

T = TypeVar("T", bound=Callable[..., Any])

NAME = re.compile(r"^[A-Za-z_][\w-]*$")
"""A registered name: a letter or underscore, then letters, digits, ``_`` or ``-``."""
REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
"""``module.path:attribute`` (the attribute may be dotted, e.g. ``mypkg.tests:Suite.check``)."""


def is_reference(text: str) -> bool:
    """Whether ``text`` is written as a ``module:function`` reference."""
    return bool(REFERENCE.match(text))


def resolve_reference(text: str) -> Any:
    """The object a ``module:function`` reference names (imported now).

    Raises
    ------
    ValueError
        Not written as ``module:function``, the module cannot be imported, or it has no such attribute.
    """
    if not is_reference(text):
        raise ValueError(f"expected a reference written module:function (e.g. mypkg.tests:my_test), got {text!r}")
    module_name, _, attribute = text.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} (for {text}): {exc}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r} (for {text})")
        found = getattr(found, part)
    return found


class Registry(Generic[T]):
    """The user extensions of one kind: names registered in this process, and ``module:function`` references.

    Parameters
    ----------
    kind
        What is registered, as error messages name it (``"network type"``).
    reserved
        The built-in names (looked up by their owner, not here): they cannot be registered.
    """

    def __init__(self, kind: str, *, reserved: Iterable[str]) -> None:
        self.kind = kind
        self.reserved = tuple(reserved)
        self._registered: dict[str, T] = {}

    def names(self) -> list[str]:
        """The built-in names, then the registered ones, in registration order."""
        return [*self.reserved, *self._registered]

    def register(self, name: str, extension: T) -> None:
        """Make ``extension`` available as ``name`` (registering a name again replaces it).

        Raises
        ------
        ValueError
            ``name`` is built in or not a plain name.
        TypeError
            ``extension`` is not callable.
        """
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"a {self.kind} name is a plain name such as 'ring' (letters, digits, _ and -), got {name!r}")
        if name in self.reserved:
            raise ValueError(f"{name!r} is a built-in {self.kind}; register yours under another name")
        if not callable(extension):
            raise TypeError(f"a {self.kind} must be callable, got {extension!r}")
        self._registered[name] = extension

    def get(self, name: str) -> T:
        """The extension registered as ``name``, or the one a ``module:function`` reference names.

        Raises
        ------
        ValueError
            Unknown name (with a close match), or a reference that cannot be imported or is not callable.
        """
        if not isinstance(name, str):
            raise ValueError(f"expected the name of a {self.kind}, got {name!r}")
        if name in self._registered:
            return self._registered[name]
        if not is_reference(name):
            choices = self.names()
            raise ValueError(
                f"unknown {self.kind} {name!r}{suggest(name, choices)}; expected one of {', '.join(choices)}, or module:function"
            )
        found = resolve_reference(name)
        if not callable(found):
            raise ValueError(f"{name} is not callable (a {self.kind} must be a function)")
        return found
