"""Dry runs: ``sweep --plan`` and ``validate EXPERIMENT`` check the whole file and run or write nothing."""

from __future__ import annotations

import pytest
import yaml

from loyaltysim.cli import main

from .conftest import CONFIGS


def write(folder, **keys):
    data = {
        "name": "planned",
        "base": str(CONFIGS / "baseline.yaml"),
        "overrides": {"customers.n": 100, "run.steps": 10},
        "factors": {"n_firms": [2, 3], "switching.loyalty_weight": [1.0, 4.0, 6.0]},
        "outcomes": {"false_loyalty": {"function": "loyaltysim.outcomes:false_loyalty", "per": "period"}},
        "replicates": 4,
        "hypotheses": [{"test": "difference", "metric": "profit", "firm": "A", "factor": "n_firms", "a": 2, "b": 3}],
        **keys,
    }
    path = folder / "planned.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("command", [["sweep", "--plan"], ["validate"]])
def test_plan_prints_the_design_and_writes_nothing(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path)
    assert main([command[0], str(path), *command[1:], "--set", "replicates=5"]) == 0
    out = capsys.readouterr().out
    assert "6 points × 5 replicates = 30 runs of 10 periods × 100 customers" in out
    assert "outcome false_loyalty: loyaltysim.outcomes:false_loyalty (per period)" in out and "hypotheses: 1" in out
    assert "estimated time: about" in out and "ms per period" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planned.yaml"]  # no results folder


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"hypotheses": [{"test": "difference", "metric": "nps", "factor": "n_firm", "a": 2, "b": 3}]}, "hypotheses.0.factor"),
        ({"outcomes": {"x": "loyaltysim.outcomes:nothing_here"}}, "outcomes.x.function"),
        ({"report": {"by": ["firms"]}}, "report.by: 'firms' is not a factor"),
        ({"derived": {"firms.0.price": "loyalty_weight * 2"}}, "derived.firms.0.price"),
    ],
)
def test_plan_refuses_a_bad_file_with_exit_2(tmp_path, capsys, keys, message):
    assert main(["sweep", str(write(tmp_path, **keys)), "--plan"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
