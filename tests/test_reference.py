"""The generated config reference: complete, well-formed Markdown, and the committed copy up to date."""

import re

from loyaltysim.cli import main
from loyaltysim.config.explain import explain, iter_keys, markdown_reference
from loyaltysim.config.schema import Config

from .conftest import ROOT

REFERENCE = ROOT / "docs" / "config-reference.md"


def test_committed_reference_matches_the_command(capsys):
    assert main(["config", "--reference"]) == 0
    generated = capsys.readouterr().out
    committed = REFERENCE.read_text(encoding="utf-8")
    hint = "docs/config-reference.md is out of date: run `loyaltysim config --reference > docs/config-reference.md`"
    assert generated == committed, hint


DISTRIBUTIONS = {"initial_expectation", "switching_cost", "price_sensitivity", "talkativeness", "response_bias", "tolerance"}
DISTRIBUTIONS |= {"quality", "promise", "price"}  # firm_template's distributions


def _leaf_paths(data: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in data.items():
        if isinstance(value, dict) and key not in DISTRIBUTIONS:
            paths |= _leaf_paths(value, f"{prefix}{key}.")
        else:
            paths.add(f"{prefix}{key}")
    return paths


def test_every_config_key_is_documented_with_a_meaning():
    documented = {key.path: key for key in iter_keys()}
    assert _leaf_paths(Config().to_dict()) <= set(documented)
    assert {"firms[].price", "firms[].loyalty_programme.switching_cost", "customers.segments[].share"} <= set(documented)
    assert all(key.description for key in documented.values())


def test_defaults_are_written_as_yaml_and_types_readably():
    keys = {key.path: key for key in iter_keys()}
    assert keys["word_of_mouth.enabled"].default == "true"
    assert keys["network.path"].default == "null" and keys["network.path"].type == "str (optional)"
    assert keys["loyalty.link"].type == "choice" and "zone_of_tolerance" in keys["loyalty.link"].allowed
    assert keys["observation.rating_cutoffs"].default == "[0.2, 0.4, 0.6, 0.8]"
    assert keys["customers.switching_cost"].default == "{dist: gamma, mean: 5.0, sd: 2.5}"
    assert keys["firms[].name"].default == "required"
    assert keys["satisfaction.memory"].allowed == "≥ 0.0, < 1.0"


def test_every_table_row_has_five_cells():
    for line in markdown_reference().splitlines():
        if line.startswith("| "):
            assert len(re.findall(r"(?<!\\)\|", line)) == 6, line


def test_explain_filters_by_path():
    text = explain("word_of_mouth.re")
    assert "word_of_mouth.reach = 0.5  (float) [≥ 0.0, ≤ 1.0]" in text
    assert "customers.n" not in text
