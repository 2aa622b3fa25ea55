"""The command line end to end: outputs, seeds, and exit status 2 on bad input."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from loyaltysim import load_config
from loyaltysim.cli import main

from .conftest import CONFIGS, ROOT

SMALL = ["--set", "customers.n=150", "--set", "run.steps=15", "--set", "run.burn_in=2"]


def test_run_writes_every_output(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(CONFIGS / "baseline.yaml"), *SMALL, "--seed", "0", "--out", str(out)]) == 0
    assert "results written to" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"timeseries.parquet", "firms.parquet", "summary.json", "config.resolved.yaml", "manifest.json", "figures"} <= names
    figures = {p.name for p in (out / "figures").iterdir()}
    assert figures == {"market_share.png", "satisfaction_distribution.png", "churn_by_band.png", "satisfaction_loyalty.png"}
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["step"].tolist() == list(range(1, 16))
    firms = pd.read_parquet(out / "firms.parquet")
    assert len(firms) == 15 * 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0  # --seed reaches the run, and 0 is a seed
    assert manifest["versions"]["mesa"].startswith("3.")
    assert len(manifest["config_hash"]) == 64
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["run"]["seed"] == 0 and resolved["customers"]["n"] == 150
    assert json.loads((out / "summary.json").read_text())["steps"] == 15
    assert len(pd.read_parquet(out / "panel.parquet")) > 0  # baseline.yaml asks for a panel


def test_resolved_config_reruns_identically(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", str(CONFIGS / "baseline.yaml"), *SMALL, "--out", str(first), "--no-figures", "--quiet"]) == 0
    assert main(["run", str(first / "config.resolved.yaml"), "--out", str(second), "--no-figures", "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(first / "timeseries.parquet"), pd.read_parquet(second / "timeseries.parquet"))


def test_existing_output_folder_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert main(["run", str(CONFIGS / "baseline.yaml"), *SMALL, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "precious.txt").read_text() == "keep me"
    assert [p.name for p in out.iterdir()] == ["precious.txt"]


def test_default_output_folder_is_new_each_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["run", str(CONFIGS / "baseline.yaml"), *SMALL, "--no-figures", "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["baseline_seed42", "baseline_seed42-2"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--set", "customers.nn=5"], "customers.nn: unknown key 'nn' (did you mean 'n'?)"),
        (["--set", "customers.n=-1"], "customers.n: Input should be greater than or equal to 1; got -1"),
        (["--set", "network.degree=500", "--set", "customers.n=100"], "network.degree: must be smaller than customers.n"),
        (["--set", "word_of_mouth.reach=2"], "word_of_mouth.reach"),
        (["--set", "customersn"], "expected PATH=VALUE"),
    ],
)
def test_bad_input_exits_2_with_message_and_no_results(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(CONFIGS / "baseline.yaml"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_bad_files_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("run: [unclosed\n")
    for path in ("broken.yaml", "missing.yaml"):
        assert main(["run", path]) == 2
        err = capsys.readouterr().err
        assert path in err and ("malformed YAML" in err or "file not found" in err)
    assert not (tmp_path / "results").exists()


def test_validate_and_config_commands(capsys):
    assert main(["validate", str(CONFIGS / "near_monopoly.yaml")]) == 0
    assert "valid (2000 customers, 2 firms" in capsys.readouterr().out
    assert main(["config", "--explain", "switching_cost"]) == 0
    text = capsys.readouterr().out
    assert "customers.switching_cost" in text and "firms[].loyalty_programme.switching_cost" in text
    assert main(["config", str(CONFIGS / "fierce_competition.yaml"), "--set", "customers.n=77"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["customers"]["n"] == 77 and len(shown["firms"]) == 8
    assert load_config(CONFIGS / "fierce_competition.yaml").to_dict()["firms"] == shown["firms"]


def test_validate_reads_a_network_file(tmp_path, capsys):
    """A missing or mismatched network file is reported by validate, not first by run."""
    ring = tmp_path / "ring.txt"
    ring.write_text("".join(f"{i} {(i + 1) % 50}\n" for i in range(50)))
    base = ["validate", str(CONFIGS / "baseline.yaml"), "--set", "network.type=file"]
    assert main([*base, "--set", f"network.path={ring}", "--set", "customers.n=50"]) == 0
    assert "network 'file'" in capsys.readouterr().out
    assert main([*base, "--set", f"network.path={ring}", "--set", "customers.n=60"]) == 2
    assert "has 50 nodes but customers.n is 60" in capsys.readouterr().err
    assert main([*base, "--set", f"network.path={tmp_path / 'nowhere.txt'}", "--set", "customers.n=50"]) == 2
    assert "network.path: file not found" in capsys.readouterr().err


def test_console_script_and_module_entry_points(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "loyaltysim", "validate", str(CONFIGS / "baseline.yaml"), "--set", "customers.n=0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "customers.n" in result.stderr and "Traceback" not in result.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "loyaltysim", "run", "--help"], capture_output=True, text=True, env=env
    ).stdout
    assert "examples:" in help_text and "--set" in help_text


def test_validate_and_config_do_not_load_the_simulation_stack():
    """`validate` and `config` start fast: they need the schema, not Mesa, pandas or the engine."""
    code = (
        "import sys; from loyaltysim.cli import main; "
        f"assert main(['validate', {str(CONFIGS / 'baseline.yaml')!r}]) == 0; "
        "assert main(['config', '--explain', 'switching']) == 0; "
        "heavy = ('mesa', 'pandas', 'scipy', 'loyaltysim.model.loyalty_model', 'loyaltysim.model.engine'); "
        "heavy = [m for m in heavy if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_run_loads_only_the_simulation_stack_before_its_first_period(tmp_path):
    """`run` imports Mesa, pandas and the engine, but no plotting, statistics or experiment stack before it
    simulates (matplotlib is imported for the figures, after the run)."""
    run = ["run", str(CONFIGS / "baseline.yaml"), "--set", "customers.n=100", "--steps", "3", "--quiet", "--out"]
    code = (
        "import sys; from loyaltysim.model.loyalty_model import LoyaltyModel; seen = []; original = LoyaltyModel.run\n"
        "def run(self, *args, **kwargs):\n"
        "    seen.append(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(later)))\n"
        "    return original(self, *args, **kwargs)\n"
        "LoyaltyModel.run = run\n"
        "heavy = ('matplotlib', 'statsmodels', 'SALib', 'sklearn', 'ema_workbench', 'torch', 'distributed', 'solara')\n"
        "later = ('loyaltysim.reporting', 'loyaltysim.experiments.execution', 'loyaltysim.analysis.hypotheses')\n"
        "from loyaltysim.cli import main\n"
        f"assert main({[*run, str(tmp_path / 'figures')]!r}) == 0\n"
        "assert 'matplotlib' in sys.modules and seen == [[]], seen\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_shared_options_read_the_same_in_every_command():
    """--set, --out, --quiet and the engine options are declared once (cli/options.py): one help text each."""
    from loyaltysim.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    helps: dict[str, set[str]] = {}
    for parser in commands.values():
        for action in parser._actions:
            if action.option_strings and action.dest in ("set", "quiet", "workers", "executor", "scheduler", "no_figures"):
                helps.setdefault(action.dest, set()).add(action.help)
    assert {dest: len(texts) for dest, texts in helps.items()} == dict.fromkeys(helps, 1)
    with_set = sorted(n for n, p in commands.items() if any(a.dest == "set" for a in p._actions))
    assert with_set == ["calibrate", "config", "facts", "run", "sensitivity", "sweep", "validate"]


def test_run_prints_the_library_warnings_as_plain_lines(tmp_path, capsys):
    from loyaltysim.cli import main

    cold = ["--set", "run.warm_start=false", "--set", "run.burn_in=0", "--set", "run.steps=100", "--set", "customers.n=300"]
    assert main(["run", str(CONFIGS / "baseline.yaml"), "--out", str(tmp_path / "run"), "--no-figures", *cold]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith("warning: ") and "MSER-5" in line for line in err)
