"""What a student meets at the command line: short runs, unknown terms, YAML slips, misspelt values, firm names."""

import pytest

from loyaltysim import ConfigError, load_config
from loyaltysim.cli import main
from loyaltysim.config.loading import yaml_hints

from .conftest import CONFIGS

BASELINE = CONFIGS / "baseline.yaml"


def test_a_run_within_the_burn_in_prints_na_and_warns(tmp_path, capsys):
    out = tmp_path / "short"
    short = ["--set", "customers.n=200", "--set", "run.burn_in=12", "--no-figures"]
    assert main(["run", str(BASELINE), "--steps", "10", *short, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "annual churn n/a" in captured.out and "nan" not in captured.out
    assert "not longer than its burn-in (12 periods)" in captured.err and "--steps 13" in captured.err
    assert main(["run", str(BASELINE), "--steps", "13", *short, "--out", str(out) + "2"]) == 0
    captured = capsys.readouterr()
    assert "n/a" not in captured.out and "burn-in" not in captured.err


def test_validate_warns_about_a_run_within_the_burn_in(capsys):
    assert main(["validate", str(BASELINE), "--set", "run.steps=12"]) == 0
    captured = capsys.readouterr()
    assert "valid" in captured.out and "not longer than its burn-in" in captured.err
    assert main(["validate", str(BASELINE)]) == 0
    assert "burn-in" not in capsys.readouterr().err


def test_explain_an_unknown_term_says_so_and_suggests_keys(capsys):
    assert main(["config", "--explain", "nps"]) == 2
    err = capsys.readouterr().err
    assert "no config key contains 'nps'" in err and "Traceback" not in err
    assert main(["config", "--explain", "swiching"]) == 2
    assert "did you mean: switching." in capsys.readouterr().err
    assert main(["config", "--explain", "negativity"]) == 0
    assert "word_of_mouth.negativity" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("customers:\n\tn: 500\n", "line 2 is indented with a tab: YAML indents with spaces only"),
        ("customers:\n  n 500\n", "line 2 has no colon after 'n': write 'n: 500'"),
        ("customers：\n  n: 500\n", "line 1 has the full-width '：' of a Chinese keyboard: type ':' instead"),
        ("run:\n  steps： 10\n", "line 2 has the full-width '：' of a Chinese keyboard: type ':' instead"),
        ("firms:\n  - {name: A，price: 3}\n", "line 2 has the full-width '，'"),
    ],
)
def test_yaml_slips_get_a_plain_hint_naming_the_line(tmp_path, capsys, text, hint):
    path = tmp_path / "slip.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and hint in err
    assert "valid dictionary" not in err and "Traceback" not in err


def test_hints_ignore_comments_and_correct_lines():
    assert yaml_hints("# a comment： with a full-width colon\nrun:\n  steps: 10  # ten periods\n") == []
    assert yaml_hints("description: >-\n  Five firms compete\n  on quality\nrun:\n  steps 5\n") == [
        "line 5 has no colon after 'steps': write 'steps: 5'"
    ]  # the folded description is text, not keys


def test_misspelt_allowed_value_gets_did_you_mean(tmp_path):
    path = tmp_path / "link.yaml"
    path.write_text("loyalty:\n  link: treshold\n")
    with pytest.raises(
        ConfigError, match=r"loyalty\.link: expected one of linear, threshold, .*got 'treshold' \(did you mean 'threshold'\?\)"
    ):
        load_config(path)


def test_firm_errors_name_the_firm(tmp_path):
    path = tmp_path / "firms.yaml"
    path.write_text("firms:\n  - {name: A, price: -1}\n  - {name: Bee, quality: 3}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "firms[0] (A).price" in str(info.value) and "firms[1] (Bee).quality" in str(info.value)
