"""loyaltysim: agent-based simulation of customer satisfaction, loyalty and switching."""

from importlib.metadata import PackageNotFoundError, version

from .config import Config
from .errors import ConfigError
from .execution import sweep
from .loading import load_config
from .model import LoyaltyModel
from .results import load_results
from .sensitivity_study import sensitivity

try:
    __version__ = version("loyaltysim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["Config", "ConfigError", "LoyaltyModel", "__version__", "load_config", "load_results", "sensitivity", "sweep"]
