"""Fuzzed invalid experiment files and sweep options: exit 2, one paragraph naming file and key, no results.

Generated from the experiment schema (every key: wrong types, bounds, NaN/±inf, huge
numbers; every section: unknown keys) plus design rules, factor mistakes, broken
base scenarios, broken files and bad ``sweep`` options. Each runs ``loyaltysim
sweep`` in-process in an empty folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from loyaltysim.experiments.spec import Experiment

from .conftest import ROOT
from .fuzzcases import ENTRY, Case, dump, garbage_cases, schema_cases
from .test_fuzz_config import BASE_TEXT, MALFORMED, check_refusal, run_cli

BASE_FILE = "base.yaml"
#: A small valid sampled experiment with every key present.
EXPERIMENT = {
    "name": "fuzz",
    "description": "",
    "base": BASE_FILE,
    "overrides": {"run.steps": 2},
    "factors": {
        "switching.loyalty_weight": {"low": 1.0, "high": 5.0, "dist": "uniform", "log": False, "integer": False},
        "loyalty.link": {"values": ["linear", "threshold"]},
    },
    "design": "lhs",
    "samples": 4,
    "second_order": None,
    "levels": None,
    "harmonics": None,
    "replicates": 1,
    "seed": 3,
    "metrics": ["annualised_churn", "nps"],
    "timeseries": {"every": 1, "metrics": ["mean_satisfaction"]},
}


def _with(**keys: object) -> str:
    return dump({**EXPERIMENT, **keys})


def _factor(**factors: object) -> str:
    return _with(factors=factors)


def rule_cases() -> list[Case]:
    """Values fine one by one but not together, and factor and base-scenario mistakes."""
    grid_with_range = _with(design="grid", samples=None)
    rules: dict[str, tuple[str, list[str]]] = {
        "grid_with_a_range": (grid_with_range, ["grid needs lists"]),
        "sampled_without_samples": (_with(samples=None), ["samples"]),
        "sobol_not_power_of_2": (_with(design="sobol", samples=5), ["samples: sobol needs a power of two (e.g. 4)"]),
        "fast_too_few_samples": (_with(design="fast", samples=10), ["samples: fast needs samples > 4·M²"]),
        "morris_odd_levels": (_with(design="morris", levels=3), ["levels: morris needs an even number"]),
        "option_of_another_design": (_with(second_order=True), ["second_order applies to design sobol"]),
        "sampled_without_factors": (_with(factors={}), ["needs at least one factor"]),
        "seed_in_overrides": (_with(overrides={"run.seed": 1}), ["overrides", "run.seed cannot be set here"]),
        "seed_as_factor": (_factor(**{"run.seed": [1, 2]}), ["factors", "run.seed cannot be set here"]),
        "factor_value_refused": (_factor(**{"customers.n": [0, 10]}), ["factors.customers.n", "value 0 is refused"]),
        "factor_unknown_path": (_factor(**{"customers.nn": [1]}), ["factors.customers.nn", "did you mean 'n'"]),
        "factor_unknown_section": (_factor(**{"custmers.n": [1]}), ["factors.custmers.n", "did you mean 'customers'"]),
        "factor_empty_list": (_factor(**{"loyalty.link": []}), ["factors.loyalty.link.values"]),
        "factor_list_and_range": (_factor(**{"loyalty.steepness": {"values": [1], "low": 1, "high": 2}}), ["not both"]),
        "factor_range_without_high": (_factor(**{"loyalty.steepness": {"low": 1}}), ["needs both low and high"]),
        "factor_empty_range": (_factor(**{"loyalty.steepness": {"low": 2, "high": 2}}), ["empty range"]),
        "factor_log_from_0": (_factor(**{"loyalty.steepness": {"low": 0, "high": 2, "log": True}}), ["log: true needs low > 0"]),
        "factor_integer_fraction": (_factor(**{"customers.n": {"low": 20.5, "high": 40, "integer": True}}), ["whole-number"]),
        "factor_log_on_list": (_factor(**{"loyalty.link": {"values": ["linear"], "log": True}}), ["apply to ranges"]),
        "factor_range_out_of_schema": (_factor(**{"word_of_mouth.reach": {"low": 0.5, "high": 2.0}}), ["value 2.0 is refused"]),
        "factor_wrong_type": (_factor(**{"customers.n": ["many", 10]}), ["factors.customers.n", "'many' is refused"]),
        "unknown_metric": (_with(metrics=["anualised_churn"]), ["metrics: unknown metric", "did you mean 'annualised_churn'"]),
        "unknown_timeseries_metric": (_with(timeseries={"metrics": ["mean_sat"]}), ["timeseries.metrics: unknown metric"]),
        "timeseries_unknown_word": (_with(timeseries="every_step"), ["timeseries", "final_only"]),
        "name_with_spaces": (_with(name="bad name!"), ["name", "pattern"]),
        "name_escaping_the_folder": (_with(name="../escape"), ["name", "pattern"]),
        "overrides_unknown_key": (_with(overrides={"customers.nn": 1}), ["base", "customers.nn", "unknown key"]),
        "overrides_bad_value": (_with(overrides={"customers.n": -1}), ["base", "customers.n"]),
        "overrides_into_a_number": (_with(overrides={"customers.n.x": 1}), ["base", "customers.n"]),
        "base_missing": (_with(base="nowhere.yaml"), ["base", "nowhere.yaml", "file not found"]),
        "base_a_directory": (_with(base="."), ["base", "not a file"]),
        "base_empty": (_with(base="empty.yaml"), ["base", "empty.yaml", "empty"]),
        "base_malformed": (_with(base="malformed.yaml"), ["base", "malformed.yaml", "malformed YAML"]),
        "base_binary": (_with(base="binary.yaml"), ["base", "binary.yaml", "not a text file"]),
        "base_include_cycle": (_with(base="cycle.yaml"), ["base", "include cycle"]),
        "base_invalid_value": (_with(base="invalid.yaml"), ["base", "customers.n"]),
    }
    extra_files: dict[str, str | bytes] = {
        "empty.yaml": "",
        "malformed.yaml": "run: [1\n",
        "binary.yaml": b"\x89PNG\r\n\x1a\n\x00\x00",
        "cycle.yaml": "extends: cycle.yaml\n",
        "invalid.yaml": "customers: {n: -3}\n",
    }
    return [
        Case(f"rule-{name}", "experiment_rule", {ENTRY: text, **extra_files}, expect=[ENTRY, *expect])
        for name, (text, expect) in rules.items()
    ]


OPTIONS: dict[str, tuple[list[str], list[str]]] = {
    "set_replicates_0": (["--set", "replicates=0"], ["replicates", "greater than or equal to 1"]),
    "set_samples_text": (["--set", "samples=abc"], ["samples", "'abc'"]),
    "set_unknown_factor": (["--set", "factors.customers.nn=[1]"], ["factors.customers.nn"]),
    "set_config_value": (["--set", "customers.n=-5"], ["base", "customers.n"]),
    "set_negative_seed": (["--set", "seed=-1"], ["seed"]),
    "set_design": (["--set", "design=random"], ["design", "unknown design 'random'", "grid, lhs, sobol"]),
    "set_without_equals": (["--set", "replicates"], ["--set", "PATH=VALUE"]),
    "workers_negative": (["--executor", "process", "--workers", "-1"], ["--workers", "at least 1"]),
    "batch_size_zero": (["--batch-size", "0"], ["--batch-size", "at least 1"]),
    "batch_size_negative": (["--batch-size", "-3"], ["--batch-size", "at least 1"]),
    "scheduler_without_dask": (["--scheduler", "tcp://127.0.0.1:1", "--executor", "serial"], ["--scheduler needs the dask"]),
    "out_is_a_file": (["--out", BASE_FILE], [BASE_FILE, "not a folder"]),
    "resume_a_foreign_folder": (["--out", "foreign", "--resume"], ["foreign", "cannot resume: no manifest.json"]),
}


def all_cases() -> list[Case]:
    cases = []
    for case in schema_cases(Experiment, EXPERIMENT):
        # range checks of a factor name the factor (they concern low and high together)
        case.expect = [ENTRY, *(re.sub(r"\.(low|high)$", "", text) for text in case.expect)]
        cases.append(case)
    cases += rule_cases()
    malformed = [ENTRY, "malformed YAML"]
    cases += [Case(f"malformed_yaml-{k}", "malformed_yaml", {ENTRY: v}, expect=malformed) for k, v in MALFORMED.items()]
    cases += list(garbage_cases(20, seed=20260202))
    cases += [Case(f"option-{k}", "bad_option", {ENTRY: _with()}, args=a, expect=e) for k, (a, e) in OPTIONS.items()]
    for case in cases:
        case.files.setdefault(BASE_FILE, BASE_TEXT)
        case.files.setdefault("foreign/notes.txt", "not a sweep")
    return cases


CASES = all_cases()
COUNTS = Counter(case.kind for case in CASES)


def test_base_experiment_is_valid(tmp_path, capsys, monkeypatch):
    (tmp_path / ENTRY).write_text(_with())
    (tmp_path / BASE_FILE).write_text(BASE_TEXT)
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(["sweep", ENTRY, "--executor", "serial", "--quiet"], capsys)
    assert status == 0 and out == "" and err == ""
    assert (tmp_path / "results" / "fuzz" / "runs.parquet").is_file()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_invalid_experiment_exits_2_without_traceback_or_results(case, tmp_path, capsys, monkeypatch):
    case.write(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    status, out, err = run_cli(["sweep", ENTRY, "--executor", "serial", "--quiet", *case.args], capsys)
    check_refusal(status, out, err, case.expect, tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written anywhere


def test_documented_counts_match_the_generated_cases():
    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    section = text[text.index("## Bad input: experiment files") : text.index("## Faults during sweeps")]
    documented = {kind: int(n) for kind, n in re.findall(r"^\| `(\w+)` \|[^|]*\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == dict(COUNTS)
    assert re.search(rf"\*\*{len(CASES)}\*\* generated invalid experiment cases", section)


@pytest.mark.slow
def test_real_processes_print_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    chosen = [c for c in CASES if c.id in ("garbage-001-2682B", "rule-base_binary", "option-batch_size_zero")]
    assert len(chosen) == 3
    for case in chosen:
        folder = tmp_path / case.id
        folder.mkdir()
        case.write(folder)
        command = [sys.executable, "-m", "loyaltysim", "sweep", ENTRY, "--executor", "serial", *case.args]
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        check_refusal(result.returncode, result.stdout, result.stderr, case.expect, folder)
