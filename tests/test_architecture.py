"""The package keeps its layers: each subpackage imports only the layers below it (import-linter)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


def test_layers_contracts_are_kept():
    """cli → app → workflows → reporting → analysis → experiments → model → config, and inside cli:
    main → commands → options, without cycles (pyproject.toml)."""
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(lint).exists():
        pytest.fail("import-linter is not installed (it is in the dev extra)")
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout
