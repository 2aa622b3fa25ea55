"""The scenario: its schema, loading from YAML (``extends``, ``--set``) and its generated documentation."""

from loyaltysim.config.errors import ConfigError
from loyaltysim.config.loading import apply_overrides, config_hash, load_config, validate_config
from loyaltysim.config.schema import Config

__all__ = ["Config", "ConfigError", "apply_overrides", "config_hash", "load_config", "validate_config"]
