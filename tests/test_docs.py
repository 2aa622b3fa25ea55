"""The docs stay true to the code: links resolve, functions named in the ODD exist, citation metadata match."""

import importlib
import re
import tomllib

import pytest
import yaml

from loyaltysim.cli import build_parser

from .conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MODULES = {  # how the ODD names a module → where it lives under loyaltysim
    "rules": "model.rules",
    "engine": "model.engine",
    "kernels": "model.kernels",
    "state": "model.state",
    "initialisation": "model.initialisation",
    "parameters": "model.parameters",
    "scales": "model.scales",
    "metrics": "model.metrics",
    "cohort": "model.cohort",
    "network": "model.network",
    "agents": "model.agents",
    "loyalty_model": "model.loyalty_model",
    "per_customer": "model.per_customer",
    "practices": "model.practices",
    "scenario": "workflows.scenario",
    "loading": "config.loading",
    "explain": "config.explain",
}


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_relative_links_resolve(doc):
    targets = [t for t in LINK.findall(doc.read_text(encoding="utf-8")) if "://" not in t]
    missing = [t for t in targets if not (doc.parent / t).exists()]
    assert not missing, f"{doc.name}: broken links {missing}"


def test_functions_named_in_the_odd_exist():
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    config_keys = {"network.path", "network.type"}
    names = {n for n in re.findall(rf"`((?:{'|'.join(MODULES)})\.\w+)`", text) if not n.endswith(".py")} - config_keys
    assert len(names) > 25
    missing = []
    for name in sorted(names):
        module, attribute = name.split(".")
        if not hasattr(importlib.import_module(f"loyaltysim.{MODULES[module]}"), attribute):
            missing.append(name)
    assert not missing, f"docs/ODD.md names functions that do not exist: {missing}"


def _in_code(name: str) -> bool:
    module, attribute = name.split(".")
    try:
        return module in MODULES and hasattr(importlib.import_module(f"loyaltysim.{MODULES[module]}"), attribute)
    except ImportError:
        return False


def test_config_keys_named_in_the_odd_exist():
    from loyaltysim.config.explain import iter_keys

    keys = {k.path for k in iter_keys()}
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    sections = ("run", "customers", "satisfaction", "expectations", "loyalty", "switching", "word_of_mouth", "network")
    sections += ("economics", "strategy", "observation")
    named = {n for n in re.findall(rf"`((?:{'|'.join(sections)})\.\w+)`", text) if not n.endswith(".parquet") and not _in_code(n)}
    assert named and not named - keys, f"unknown keys in docs/ODD.md: {named - keys}"


def test_citation_is_cff_1_2_with_the_package_version():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert citation["cff-version"] == "1.2.0"
    assert citation["version"] == project["version"]
    assert citation["authors"] == [{"name": "loyaltysim developers"}]
    assert citation["message"] and citation["title"].startswith("loyaltysim")


def test_every_command_help_shows_an_example():
    parser = build_parser()
    assert "examples:" in parser.format_help()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        text = sub.format_help()
        assert re.search(r"examples?:\n\s+loyaltysim " + name, text), f"'loyaltysim {name} --help' shows no example"
        assert sub.description, f"'loyaltysim {name} --help' has no description"


def test_the_factor_keys_in_the_sweep_docs_are_the_schemas():
    """docs/sweeps.md shows the table generated from the one factor declaration (experiments/factors.py)."""
    from loyaltysim.experiments.factors import factor_reference

    assert factor_reference() in (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")


def test_the_architecture_page_names_every_module_and_only_modules_that_exist():
    package = ROOT / "src" / "loyaltysim"
    # every module of a layer (the layers' own __init__.py only hold their docstrings)
    modules = {str(path.relative_to(package)) for path in package.glob("*/**/*.py")} - {
        f"{layer.name}/__init__.py" for layer in package.iterdir()
    }
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+/[a-z_/]*\.py)`", text))
    assert not modules - named, f"docs/ARCHITECTURE.md does not name {sorted(modules - named)}"
    files = {name for name in named if not (package / name).exists() and not (ROOT / name).exists()}
    assert not files, f"docs/ARCHITECTURE.md names files that do not exist: {sorted(files)}"
