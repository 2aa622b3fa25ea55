"""Fuzzed invalid scenario files: always exit 2, one paragraph naming file and key path, no traceback, no results.

Cases are generated from the schema (every field: wrong types, each bound crossed,
NaN/±inf, huge numbers; every section: unknown keys), plus cross-field rules,
broken files (malformed YAML, binary garbage, empty, too large, too deep),
``extends`` mistakes, bad ``--set``/``--seed``/``--steps`` options and bad network
files. Each runs ``loyaltysim run`` in-process in an empty folder; a handful run
as real subprocesses. docs/robustness.md states the case counts; a test checks them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyaltysim.cli import main
from loyaltysim.config.loading import MAX_DEPTH, MAX_FILE_BYTES
from loyaltysim.config.schema import Config

from .conftest import ROOT
from .fuzzcases import ENTRY, Case, dump, garbage_cases, schema_cases, set_path

SEGMENT = {
    "name": "hunters",
    "share": 0.3,
    "switching_cost": {"dist": "gamma", "mean": 2.0, "sd": 1.0},
    "price_sensitivity": {"dist": "lognormal", "mean": 0.5, "sd": 0.2},
    "talkativeness": {"dist": "normal", "mean": 1.0, "sd": 0.2, "low": 0.0, "high": 3.0},
    "initial_expectation": {"dist": "beta", "mean": 0.5, "sd": 0.1},
    "response_bias": {"dist": "uniform", "low": -0.1, "high": 0.1},
}
#: A small valid scenario with every key present (so every key can be broken).
BASE = Config(
    run={"steps": 2, "burn_in": 0, "panel_size": 0},
    customers={"n": 20, "segments": [SEGMENT]},
    network={"degree": 4, "path": "unused.txt"},
    firms=[
        {"name": "A", "loyalty_programme": {"enabled": True}},
        {"name": "B", "enters_at": 1, "service_recovery": {"enabled": True}},
    ],
).to_dict()
BASE_TEXT = dump(BASE)


def _with(path: str, value: object) -> str:
    keys = tuple(int(p) if p.isdigit() else p for p in path.split("."))
    return dump(set_path(BASE, keys, value))


def cross_field_cases() -> list[Case]:
    """Values fine one by one but not together."""

    def case(name: str, path: str, value: object, *expect: str) -> Case:
        return Case(f"cross_field-{name}", "cross_field", {ENTRY: _with(path, value)}, expect=[ENTRY, *expect])

    firm_a = BASE["firms"][0]
    return [
        case("empty_firm_list", "firms", [], "firms", "at least one firm"),
        case("duplicate_firm_names", "firms", [firm_a, firm_a], "firms", "unique"),
        case("nobody_at_step_0", "firms.0.enters_at", 3, "firms", "enters_at"),
        case("no_initial_share", "firms.0.initial_share", 0.0, "firms", "initial_share"),
        case("degree_equals_customers", "network.degree", 20, "network.degree", "smaller than customers.n"),
        case("degree_above_customers", "network.degree", 400, "network.degree", "smaller than customers.n"),
        case("odd_degree_watts_strogatz", "network.degree", 3, "network.degree", "even"),
        case("barabasi_albert_degree_1", "network", {"type": "barabasi_albert", "degree": 1}, "network.degree"),
        case("erdos_renyi_degree_customers", "network", {"type": "erdos_renyi", "degree": 20}, "network.degree"),
        case("file_network_without_path", "network", {"type": "file"}, "network.path"),
        case("zone_inverted", "loyalty.zone_low", 0.9, "loyalty.zone_low: must be below"),
        case("zone_whole_interval", "loyalty", {**BASE["loyalty"], "zone_low": 0.0, "zone_high": 1.0}, "loyalty.zone_high"),
        case("trust_plus_habit_above_1", "loyalty.trust_weight", 0.95, "loyalty.habit_weight", "trust_weight + habit_weight"),
        case(
            "segment_shares_above_1",
            "customers.segments",
            [SEGMENT, {**SEGMENT, "name": "b", "share": 0.8}],
            "customers.segments: shares",
        ),
        case("duplicate_segment_names", "customers.segments", [SEGMENT, SEGMENT], "customers.segments", "unique"),
        case("uniform_without_bounds", "customers.switching_cost", {"dist": "uniform"}, "customers.switching_cost"),
        case("low_above_high", "customers.switching_cost", {"dist": "normal", "low": 3, "high": 1}, "customers.switching_cost"),
        case("gamma_mean_0", "customers.switching_cost", {"dist": "gamma", "mean": 0, "sd": 1}, "customers.switching_cost"),
        case(
            "lognormal_negative", "customers.talkativeness", {"dist": "lognormal", "mean": -1, "sd": 1}, "customers.talkativeness"
        ),
        case(
            "gamma_unsampleable",
            "customers.switching_cost",
            {"dist": "gamma", "mean": 1e11, "sd": 1e-300},
            "customers.switching_cost",
        ),
        case(
            "beta_mean_1",
            "customers.initial_expectation",
            {"dist": "beta", "mean": 1.0, "sd": 0.1},
            "customers.initial_expectation",
        ),
        case(
            "beta_sd_too_big",
            "customers.initial_expectation",
            {"dist": "beta", "mean": 0.5, "sd": 0.5},
            "customers.initial_expectation",
        ),
        case(
            "beta_sd_underflows",
            "customers.initial_expectation",
            {"dist": "beta", "mean": 0.5, "sd": 1e-200},
            "initial_expectation",
        ),
        case(
            "beta_sd_overflows",
            "customers.initial_expectation",
            {"dist": "beta", "mean": 0.5, "sd": 1e200},
            "initial_expectation",
        ),
        case("segment_distribution", "customers.segments.0.switching_cost", {"dist": "beta", "mean": 2}, "customers.segments.0"),
    ]


MALFORMED = {
    "unclosed_list": "run: [1, 2\n",
    "unclosed_mapping": "customers: {n: 10\n",
    "unclosed_quote": 'description: "never ends\n',
    "bad_indentation": "customers:\n  n: 10\n   fit: 0.1\n",
    "tab_indentation": "customers:\n\tn: 10\n",
    "two_colons": "customers: n: 10\n",
    "list_then_mapping": "- a\nb: c\n",
    "reserved_character": "@customers: 1\n",
    "undefined_alias": "customers: *nowhere\n",
    "unknown_directive_version": "%YAML 9.9\n---\ncustomers: {n: 10}\n",
    "python_object_tag": '!!python/object/apply:os.system ["echo hi"]\n',
    "binary_tag_not_base64": "description: !!binary 'é'\n",
    "int_tag_on_text": "customers: {n: !!int abc}\n",
    "float_tag_on_text": "firms: [{name: A, price: !!float cheap}]\n",
    "bool_tag_on_text": "word_of_mouth: {enabled: !!bool maybe}\n",
    "impossible_timestamp": "description: !!timestamp 2001-02-30\n",
    "set_tag_on_a_list": "firms: !!set [1]\n",
    "map_tag_on_a_list": "customers: !!map [1]\n",
    "duplicate_key": "customers: {n: 10}\nrun: {steps: 2}\ncustomers: {n: 20}\n",
    "duplicate_nested_key": "customers:\n  n: 10\n  n: 20\n",
    "unhashable_key": "? [1, 2]\n: 3\n",
    "two_documents": "customers: {n: 10}\n---\nrun: {steps: 2}\n",
}

FILE_PROBLEMS: dict[str, tuple[str | bytes, list[str]]] = {
    "empty": ("", ["empty"]),
    "whitespace_only": ("  \n\n   \n", ["empty"]),
    "comments_only": ("# nothing here\n", ["empty"]),
    "document_marker_only": ("---\n", ["empty"]),
    "null_document": ("~\n", ["empty"]),
    "top_level_list": ("- customers\n- firms\n", ["mapping", "list"]),
    "top_level_text": ("customers n 10\n", ["mapping", "str"]),
    "top_level_number": ("42\n", ["mapping", "int"]),
    "top_level_bool": ("true\n", ["mapping", "bool"]),
    "nul_byte": ("customers:\x00 {n: 10}\n", ["not a text file"]),
    "utf16": ("customers: {n: 10}\n".encode("utf-16"), ["not a text file"]),
    "latin1": ("description: caf\xe9\n".encode("latin-1"), ["not a text file"]),
    "too_large": ("# padding\n" * (MAX_FILE_BYTES // 10 + 1), ["larger than"]),
    "deep_lists": ("a: " + "[" * 5000 + "]" * 5000 + "\n", ["nested more than"]),
    "deep_mappings": ("customers: " + "{a: " * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5) + "\n", ["nested more than"]),
    "self_referential_alias": ("customers: &c {n: 10, fit: *c}\n", ["nested more than"]),
    "integer_key": ("1: 2\n", ["1", "Keys should be strings"]),
    "null_key": ("~: 2\n", ["None", "Keys should be strings"]),
    "bracket_key": ("'[': 1\n", ["unknown key '['"]),
    "newline_key": ('"\\n": 1\n', ["unknown key '\\n'"]),
    "unicode_misspelt_key": ("cüstomers: {n: 10}\n", ["cüstomers", "unknown key", "did you mean 'customers'"]),
    "billion_laughs": (
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)),
        ["unknown key 'a'"],
    ),
    "huge_integer": ("customers: {n: 123456789012345678901234567890}\n", ["customers.n"]),
    "huge_float_overflows_to_inf": ("firms: [{name: A, price: 1.0e+400}]\n", ["firms.0.price", "finite"]),
    "exponent_without_dot": ("customers: {n: 1e400}\n", ["customers.n"]),
    "negative_seed": ("run: {seed: -1}\n", ["run.seed"]),
    "date_as_seed": ("run: {seed: 2024-01-01}\n", ["run.seed"]),
    "binary_value": ("run: !!binary aGVsbG8=\n", ["run"]),
}

EXTENDS: dict[str, tuple[dict[str, str | bytes], list[str]]] = {
    "missing_target": ({ENTRY: "extends: nowhere.yaml\n"}, [ENTRY, "extends", "file not found", "nowhere.yaml"]),
    "self_cycle": ({ENTRY: f"extends: {ENTRY}\n"}, [ENTRY, "include cycle"]),
    "two_file_cycle": ({ENTRY: "extends: b.yaml\n", "b.yaml": f"extends: {ENTRY}\n"}, ["include cycle", "b.yaml"]),
    "three_file_cycle": (
        {ENTRY: "extends: sub/b.yaml\n", "sub/b.yaml": "extends: ../c.yaml\n", "c.yaml": "extends: sub/b.yaml\n"},
        ["include cycle", "b.yaml", "c.yaml"],
    ),
    "not_a_string": ({ENTRY: "extends: 5\n"}, [ENTRY, "extends", "file path"]),
    "a_list": ({ENTRY: "extends: [a.yaml, b.yaml]\n"}, [ENTRY, "extends", "file path"]),
    "empty_string": ({ENTRY: "extends: ''\n"}, [ENTRY, "extends"]),
    "a_directory": ({ENTRY: "extends: sub\n", "sub/x.yaml": "run: {steps: 2}\n"}, [ENTRY, "extends", "not a file"]),
    "binary_parent": (
        {ENTRY: "extends: parent.yaml\n", "parent.yaml": b"\xff\xfe\x00garbage"},
        ["parent.yaml", "not a text file"],
    ),
    "malformed_parent": ({ENTRY: "extends: parent.yaml\n", "parent.yaml": "run: [1\n"}, ["parent.yaml", "malformed YAML"]),
    "empty_parent": ({ENTRY: "extends: parent.yaml\n", "parent.yaml": ""}, ["parent.yaml", "empty"]),
    "bad_value_in_parent": (
        {ENTRY: "extends: parent.yaml\n", "parent.yaml": "customers: {n: -3}\n"},
        [ENTRY, "customers.n", "(set in", "parent.yaml"],
    ),
    "bad_value_in_child": (
        {ENTRY: "extends: parent.yaml\nloyalty: {link: sigmoid}\n", "parent.yaml": BASE_TEXT},
        [ENTRY, "loyalty.link"],
    ),
}

OPTIONS: dict[str, tuple[list[str], list[str]]] = {
    "set_without_equals": (["--set", "customersn"], ["--set", "PATH=VALUE"]),
    "set_without_path": (["--set", "=5"], ["--set", "PATH=VALUE"]),
    "set_index_out_of_range": (["--set", "firms.9.price=1"], ["firms.9", "index below 2"]),
    "set_index_not_a_number": (["--set", "firms.x.price=1"], ["firms.x", "index"]),
    "set_inside_a_number": (["--set", "customers.n.x=1"], ["customers.n"]),
    "set_unknown_key": (["--set", "custmers.n=1"], ["custmers", "did you mean 'customers'"]),
    "set_bad_value": (["--set", "loyalty.link=sigmoid"], [ENTRY, "loyalty.link", "sigmoid"]),
    "set_deep_value": (["--set", "run=" + "[" * 3000 + "]" * 3000], ["--set", "run", "nested more than"]),
    "set_nan": (["--set", "firms.0.price=.nan"], ["firms.0.price"]),
    "set_huge": (["--set", "firms.0.price=1e300"], ["firms.0.price", "within"]),
    "seed_negative": (["--seed", "-1"], ["run.seed"]),
    "steps_zero": (["--steps", "0"], ["run.steps"]),
    "network_file_missing": (["--set", "network.type=file", "--set", "network.path=nope.txt"], [ENTRY, "network.path"]),
}

NETWORK_FILES: dict[str, tuple[str | bytes, list[str]]] = {
    "wrong_node_count": ("0 1\n1 2\n", ["network.path", "3 nodes", "customers.n is 20"]),
    "binary": (b"\x00\xff\xfe" * 50, ["network.path", "cannot read"]),
    "empty": ("", ["network.path"]),
}


def all_cases() -> list[Case]:
    cases = list(schema_cases(Config, BASE))
    cases += cross_field_cases()
    cases += [
        Case(f"malformed_yaml-{k}", "malformed_yaml", {ENTRY: v}, expect=[ENTRY, "malformed YAML"]) for k, v in MALFORMED.items()
    ]
    cases += list(garbage_cases(40, seed=20260101))
    cases += [Case(f"bad_file-{k}", "bad_file", {ENTRY: v}, expect=[ENTRY, *e]) for k, (v, e) in FILE_PROBLEMS.items()]
    cases += [Case(f"extends-{k}", "extends", files, expect=e) for k, (files, e) in EXTENDS.items()]
    cases += [Case(f"option-{k}", "bad_option", {ENTRY: BASE_TEXT}, args=a, expect=e) for k, (a, e) in OPTIONS.items()]
    cases += [
        Case(
            f"network_file-{k}",
            "network_file",
            {ENTRY: _with("network", {"type": "file", "path": "edges.txt"}), "edges.txt": content},
            expect=[ENTRY, *e],
        )
        for k, (content, e) in NETWORK_FILES.items()
    ]
    return cases


CASES = all_cases()
COUNTS = Counter(case.kind for case in CASES)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


LIST_ITEM = re.compile(r"\[(\d+)\](?: \([^)]*\))?")


def check_refusal(status: int, out: str, err: str, expect: list[str], folder: Path) -> None:
    """Exit 2; one paragraph on stderr naming what is expected; nothing else printed or written."""
    assert status == 2, f"exit {status}; stderr: {err}"
    assert "Traceback" not in err and out == ""
    assert err.startswith("error: ") and err.endswith("\n") and "\n" not in err.rstrip("\n"), err
    dotted = LIST_ITEM.sub(r".\1", err)  # list items are shown named, firms[0] (A).price: compare as firms.0.price
    for text in expect:
        assert text in err or text in dotted, f"{text!r} not in: {err}"
    assert not (folder / "results").exists(), "a results folder was created"


def test_base_scenario_is_valid(tmp_path, capsys, monkeypatch):
    (tmp_path / ENTRY).write_text(BASE_TEXT)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["validate", ENTRY], capsys)[0] == 0


def test_enough_cases_of_every_kind():
    assert len(CASES) >= 300 and len({case.id for case in CASES}) == len(CASES)
    assert min(COUNTS.values()) >= 3, COUNTS


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_invalid_input_exits_2_without_traceback_or_results(case, tmp_path, capsys, monkeypatch):
    case.write(tmp_path)
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(["run", ENTRY, "--no-figures", *case.args], capsys)
    check_refusal(status, out, err, case.expect, tmp_path)


def test_missing_and_directory_config_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.yaml").mkdir()
    for name, problem in (("missing.yaml", "file not found"), ("folder.yaml", "not a file")):
        status, out, err = run_cli(["run", name], capsys)
        check_refusal(status, out, err, [name, problem], tmp_path)


def test_unreadable_file_is_a_clear_error(tmp_path, capsys, monkeypatch):
    (tmp_path / ENTRY).write_text(BASE_TEXT)
    monkeypatch.chdir(tmp_path)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)  # root ignores file modes, so simulate the OS refusing
    status, out, err = run_cli(["run", ENTRY], capsys)
    check_refusal(status, out, err, [ENTRY, "cannot read the file: Permission denied"], tmp_path)


def test_command_line_mistakes_exit_2_with_usage(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (["run"], ["run", "x.yaml", "--bogus"], ["run", "x.yaml", "--seed", "seven"], ["nonsense"]):
        status, out, err = run_cli(argv, capsys)
        assert status == 2 and "usage:" in err and "Traceback" not in err and out == "", argv
    assert not (tmp_path / "results").exists()


SUBPROCESS_CASES = ["garbage-001", "extends-two_file_cycle", "nan_inf-firms.0.price-nan", "network_file-wrong_node_count"]


@pytest.mark.slow
def test_real_processes_print_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    chosen = [case for case in CASES if any(case.id.startswith(prefix) for prefix in SUBPROCESS_CASES)]
    assert len(chosen) == len(SUBPROCESS_CASES)
    processes = []
    for case in chosen:
        folder = tmp_path / case.id
        folder.mkdir()
        case.write(folder)
        command = [sys.executable, "-m", "loyaltysim", "run", ENTRY, "--no-figures", *case.args]
        processes.append(
            (
                case,
                folder,
                subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            )
        )
    for case, folder, process in processes:
        out, err = process.communicate(timeout=120)
        check_refusal(process.returncode, out, err, case.expect, folder)


# --- random structures and bytes (hypothesis) ------------------------------------------------

SCHEMA_WORDS = sorted(
    {name for section in Config().to_dict().values() if isinstance(section, dict) for name in section} | set(Config.model_fields)
)
scalars = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=12)
keys = st.sampled_from(SCHEMA_WORDS) | st.text(min_size=1, max_size=10)
documents = st.dictionaries(
    keys,
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=20),
    max_size=6,
)
FUZZ_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ_SETTINGS
@given(documents)
def test_random_documents_are_accepted_or_refused_cleanly(tmp_path, capsys, document):
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    status, out, err = run_cli(["validate", str(path)], capsys)
    if status == 0:
        assert "valid" in out and err == ""
    else:
        check_refusal(status, out, err, [str(path)], tmp_path)


@FUZZ_SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_are_accepted_or_refused_cleanly(tmp_path, capsys, content):
    path = tmp_path / "random.yaml"
    path.write_bytes(content)
    status, out, err = run_cli(["validate", str(path)], capsys)
    if status == 0:
        assert "valid" in out and err == ""
    else:
        check_refusal(status, out, err, [str(path)], tmp_path)


# --- the documented counts -------------------------------------------------------------------


def test_documented_counts_match_the_generated_cases():
    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    section = text[text.index("## Bad input: scenario files") : text.index("## Bad input: experiment files")]
    documented = {kind: int(n) for kind, n in re.findall(r"^\| `(\w+)` \|[^|]*\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == dict(COUNTS)
    assert re.search(rf"\*\*{len(CASES)}\*\* generated invalid scenario cases", section)
