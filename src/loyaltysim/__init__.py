"""loyaltysim: agent-based simulation of customer satisfaction, loyalty and switching."""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from loyaltysim.config import Config, ConfigError, config_hash, load_config

if TYPE_CHECKING:
    from loyaltysim.analysis.hypotheses import register_hypothesis_test
    from loyaltysim.analysis.hypothesis_checks import check_hypothesis_test
    from loyaltysim.experiments.designs import register_design
    from loyaltysim.experiments.results import load_results
    from loyaltysim.model.agents import register_strategy
    from loyaltysim.model.loyalty_model import LoyaltyModel
    from loyaltysim.model.network import register_network
    from loyaltysim.workflows.sensitivity import sensitivity
    from loyaltysim.workflows.sweep import sweep

try:
    __version__ = version("loyaltysim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "Config",
    "ConfigError",
    "LoyaltyModel",
    "__version__",
    "check_hypothesis_test",
    "config_hash",
    "load_config",
    "load_results",
    "register_design",
    "register_hypothesis_test",
    "register_network",
    "register_strategy",
    "sensitivity",
    "sweep",
]

_LAZY = {
    "LoyaltyModel": "loyaltysim.model.loyalty_model",
    "register_strategy": "loyaltysim.model.agents",
    "sweep": "loyaltysim.workflows.sweep",
    "load_results": "loyaltysim.experiments.results",
    "sensitivity": "loyaltysim.workflows.sensitivity",
    "register_network": "loyaltysim.model.network",
    "register_design": "loyaltysim.experiments.designs",
    "register_hypothesis_test": "loyaltysim.analysis.hypotheses",
    "check_hypothesis_test": "loyaltysim.analysis.hypothesis_checks",
}
"""Names imported on first use: they pull in Mesa, pandas and SciPy, which ``loyaltysim validate`` or
``loyaltysim config`` do not need (those commands start in a third of the time). The ``register_*``
functions and ``check_hypothesis_test`` are the extension points (docs/sweeps.md, docs/hypotheses.md)."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
