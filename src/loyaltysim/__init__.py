"""loyaltysim: agent-based simulation of customer satisfaction, loyalty and switching."""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .config import Config
from .errors import ConfigError
from .loading import load_config

if TYPE_CHECKING:
    from .execution import sweep
    from .model import LoyaltyModel
    from .results import load_results
    from .sensitivity_study import sensitivity

try:
    __version__ = version("loyaltysim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["Config", "ConfigError", "LoyaltyModel", "__version__", "load_config", "load_results", "sensitivity", "sweep"]

_LAZY = {"LoyaltyModel": "model", "sweep": "execution", "load_results": "results", "sensitivity": "sensitivity_study"}
"""Names imported on first use: they pull in Mesa, pandas and SciPy, which ``loyaltysim validate`` or
``loyaltysim config`` do not need (those commands start in a third of the time)."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
