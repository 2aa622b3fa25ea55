"""Loading, extends, overrides and the error messages of bad configs."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from loyaltysim import Config, ConfigError, load_config
from loyaltysim.config.loading import MAX_DEPTH, apply_overrides, parse_assignment

from .conftest import CONFIGS


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_valid_and_frozen():
    config = Config()
    assert config.customers.n == 2000 and config.run.seed == 42 and len(config.firms) == 5
    with pytest.raises(ValidationError):
        config.run.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    assert isinstance(load_config(path), Config)


def test_baseline_yaml_equals_schema_defaults():
    # the commented baseline spells out the defaults, so a student sees every value
    baseline = load_config(CONFIGS / "baseline.yaml").to_dict()
    defaults = Config().to_dict()
    for section in ("satisfaction", "expectations", "loyalty", "switching", "word_of_mouth", "economics"):
        assert baseline[section] == defaults[section], section


def test_extends_chain_relative_paths_and_override_order(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "base.yaml", "customers: {n: 100}\nrun: {steps: 7, seed: 3}\n")
    write(tmp_path, "sub/mid.yaml", "extends: ../base.yaml\nrun: {steps: 9}\n")
    leaf = write(tmp_path, "sub/leaf.yaml", "extends: mid.yaml\ncustomers: {n: 150}\n")
    config = load_config(leaf)
    assert (config.customers.n, config.run.steps, config.run.seed) == (150, 9, 3)
    absolute = write(tmp_path, "abs.yaml", f"extends: {tmp_path / 'base.yaml'}\n")
    assert load_config(absolute).customers.n == 100


def test_a_bad_value_from_a_parent_names_the_file_that_set_it(tmp_path):
    """Errors name the file loaded, and "(set in FILE)" for values that came from a parent through extends."""
    write(tmp_path, "base.yaml", "customers: {n: -3}\nfirms: [{name: A, price: -1}]\n")
    write(tmp_path, "mid.yaml", "extends: base.yaml\nrun: {steps: 0}\n")
    leaf = write(tmp_path, "leaf.yaml", "extends: mid.yaml\nloyalty: {link: sigmoid}\n")
    with pytest.raises(ConfigError) as info:
        load_config(leaf)
    text = str(info.value)
    assert text.startswith(str(leaf))
    assert f"customers.n: Input should be greater than or equal to 1; got -3 (set in {tmp_path / 'base.yaml'})" in text
    assert f"firms[0] (A).price: Input should be greater than or equal to 0; got -1 (set in {tmp_path / 'base.yaml'})" in text
    assert f"run.steps: Input should be greater than or equal to 1; got 0 (set in {tmp_path / 'mid.yaml'})" in text
    assert "loyalty.link" in text and "sigmoid' (set in" not in text  # set in the file loaded: no note
    with pytest.raises(ConfigError) as info:
        load_config(leaf, {"customers.n": -4})  # a --set value is not the parent's
    assert "got -4;" in str(info.value) or str(info.value).endswith("got -4")


def test_partial_distribution_keeps_other_defaults():
    config = load_config(None, {"customers.switching_cost.mean": 2.0})
    assert config.customers.switching_cost.dist == "gamma"
    assert config.customers.switching_cost.sd == Config().customers.switching_cost.sd


def test_scenario_inherits_from_baseline():
    monopoly = load_config(CONFIGS / "near_monopoly.yaml")
    assert [f.name for f in monopoly.firms] == ["Incumbent", "Rival"]
    assert monopoly.customers.n == load_config(CONFIGS / "baseline.yaml").customers.n


def test_include_cycle_is_refused(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match="include cycle"):
        load_config(tmp_path / "a.yaml")


def test_missing_extends_target(tmp_path):
    path = write(tmp_path, "a.yaml", "extends: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="extends: file not found") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_overrides_parse_yaml_scalars_and_list_indices():
    assert parse_assignment("customers.n=5000") == ("customers.n", 5000)
    assert parse_assignment("loyalty.link=linear") == ("loyalty.link", "linear")
    config = load_config(CONFIGS / "baseline.yaml", {"firms.1.price": 12.5, "word_of_mouth.enabled": False})
    assert config.firms[1].price == 12.5 and not config.word_of_mouth.enabled
    assert apply_overrides({"a": {"b": 1}}, {"a.c": 2}) == {"a": {"b": 1, "c": 2}}


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"customers.nn": 10}, r"customers\.nn: unknown key 'nn' \(did you mean 'n'\?\)"),
        ({"custmers.n": 10}, r"unknown key 'custmers' \(did you mean 'customers'\?\)"),
        ({"customers.n": -5}, r"customers\.n: Input should be greater than or equal to 1; got -5"),
        ({"customers.n": "many"}, r"customers\.n: .*valid integer.*'many'"),
        ({"word_of_mouth.reach": 1.5}, r"word_of_mouth\.reach: Input should be less than or equal to 1; got 1\.5"),
        ({"network.degree": 400, "customers.n": 300}, r"network\.degree: must be smaller than customers\.n \(300\), got 400"),
        ({"firms": []}, r"firms: at least one firm is needed"),
        (
            {"loyalty.link": "sigmoid"},
            r"loyalty\.link: expected one of linear, threshold, zone_of_tolerance, concave; got 'sigmoid'$",
        ),
        ({"loyalty.link": "treshold"}, r"loyalty\.link: expected one of .*; got 'treshold' \(did you mean 'threshold'\?\)"),
        ({"firms.0.quality": 2}, r"firms\[0\] \(A\)\.quality: Input should be less than or equal to 1"),
        ({"firms.9.quality": 0.5}, r"firms\.9: expected an index below 5"),
        ({"customers.switching_cost": {"dist": "beta", "mean": 2}}, r"customers\.switching_cost: .*0 < mean < 1"),
        ({"run.period": "fortnight"}, r"run\.period: expected one of day, week, month, quarter, year; got 'fortnight'"),
    ],
)
def test_bad_values_name_the_path_expected_and_given(overrides, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(CONFIGS / "baseline.yaml", overrides)
    assert "baseline.yaml" in str(info.value) or str(info.value).startswith("--set")


@pytest.mark.parametrize(
    "content,expected",
    [
        ("customers: {n: 10\n", "malformed YAML at line"),
        ("", "the file is empty"),
        ("- 1\n- 2\n", "expected a mapping of config keys at the top, got list"),
        ("customers:\n  n: 10\n  size: 5\n", r"customers\.size: unknown key 'size'"),
        ("firms:\n  - {name: A, qualty: 0.5}\n", r"firms\[0\] \(A\)\.qualty: unknown key 'qualty' \(did you mean 'quality'\?\)"),
    ],
)
def test_bad_files(tmp_path, content, expected):
    path = write(tmp_path, "bad.yaml", content)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_binary_and_missing_files(tmp_path):
    binary = tmp_path / "garbage.yaml"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(ConfigError, match="not a text file"):
        load_config(binary)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 40 + "]" * 40 + "\n",  # flow lists, deeper than MAX_DEPTH but within PyYAML's limits
        "a: " + "[" * 5000 + "]" * 5000 + "\n",  # deeper than PyYAML 6.0.4's own nesting limit
        "".join("  " * level + f"k{level}:\n" for level in range(40)) + "  " * 40 + "v: 1\n",  # block mappings
        "c: '" + "[" * 100 + "'\n" + "a: " + "[" * 2000 + "]" * 2000 + "\n",  # brackets in a string do not count
    ],
    ids=["flow-40", "flow-5000", "block-40", "quoted-then-flow"],
)
def test_deep_nesting_gets_the_projects_own_message_whatever_pyyaml_says(tmp_path, text):
    """The loader decides what is too deep (MAX_DEPTH), before any limit of PyYAML's own, whose wording
    and depth change between versions."""
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels") as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "malformed" not in str(caught.value)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_a_deep_set_value_names_the_key(depth):
    with pytest.raises(ConfigError, match=f"run: the value is nested more than {MAX_DEPTH} levels"):
        parse_assignment("run=" + "[" * depth + "]" * depth)


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("description: '" + "[" * 100 + "'\nrun: {steps: 3}\n")
    assert load_config(path).description == "[" * 100
    assert parse_assignment("x=" + "[" * MAX_DEPTH + "]" * MAX_DEPTH)[1] is not None


def test_an_absurd_number_of_firms_is_refused_before_any_firm_is_drawn():
    with pytest.raises(ConfigError, match="n_firms: Input should be less than or equal to 100"):
        load_config(None, {"n_firms": 10**30})
    with pytest.raises(ConfigError, match="n_firms: Input should be a valid integer"):
        load_config(None, {"n_firms": "3"})
    assert [f.name for f in load_config(None, {"n_firms": 2}).firms] == ["A", "B"]
