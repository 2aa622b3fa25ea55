"""Optional dependencies: a clear message with the install command when one is missing.

Examples
--------
>>> require("json", purpose="reading JSON")  # present: nothing happens
"""

from __future__ import annotations

import importlib.util

from loyaltysim.config.errors import ConfigError

__all__ = ["EXTRAS", "require"]

EXTRAS = {
    "ema_workbench": ("ema_workbench", "discovery"),
    "distributed": ("dask.distributed", "dask"),
}
"""Module → (package, the loyaltysim extra that installs it)."""


def require(module: str, *, purpose: str) -> None:
    """Refuse, before any work, a feature whose optional ``module`` is not installed.

    Raises
    ------
    ConfigError
        ``<purpose> needs <package>, which is not installed: pip install 'loyaltysim[<extra>]'``.
    """
    if importlib.util.find_spec(module) is not None:
        return
    package, extra = EXTRAS.get(module, (module, None))
    command = f"pip install 'loyaltysim[{extra}]'" if extra else f"pip install {package}"
    raise ConfigError(f"{purpose} needs {package}, which is not installed: {command}")
