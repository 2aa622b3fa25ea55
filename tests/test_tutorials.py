"""Every tutorial in docs/tutorials/*.md is executed, so the docs never rot.

How a tutorial is checked
-------------------------
Each tutorial runs in a fresh working directory holding a copy of the
project's input folders (``configs/``, and ``experiments/`` when it exists), as
a reader would from the project folder. Its fenced ``bash`` and ``python``
blocks run in order (``bash -e``; Python with this interpreter). ``loyaltysim``
on PATH is the installed command, with the run size reduced
(``--set customers.n=200 --set run.steps=20 --set run.burn_in=5`` put before
the reader's own options, which therefore still win). Comment lines inside a
block steer the check:

``# expect-exit: N``
    the block must exit with status N (default 0);
``# creates: PATH [PATH ...]``
    these files must exist after the block;
``# not run by the tests: REASON``
    the block is shown but not executed (e.g. it starts a server).

A tutorial named ``*.zh.md`` runs with ``LOYALTYSIM_LANG=zh`` (its commands
print Simplified Chinese); the others with English.

A ``text`` block right after a command block is its expected output: each
non-empty line must appear in what the block printed (stdout and stderr), with
``...`` matching anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.tutorial

TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
SMALL_RUN = ("--set", "customers.n=200", "--set", "run.steps=20", "--set", "run.burn_in=5")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
SKIP = "# not run by the tests:"
TIMEOUT_SECONDS = 300
INPUT_FOLDERS = ("configs", "experiments")


@dataclass
class Block:
    """One executable block of a tutorial and what it must do."""

    language: str
    code: str
    line: int
    expect_exit: int = 0
    creates: list[str] = field(default_factory=list)
    skip: bool = False
    expected_output: str | None = None


def parse_blocks(markdown: str) -> list[Block]:
    """The ``bash``/``python`` blocks of a tutorial, with their markers and expected output."""
    blocks: list[Block] = []
    previous: tuple[int, bool] | None = None  # (end of the last fence, was it a command block)
    for match in FENCE.finditer(markdown):
        language, code = match.group(1), match.group(2)
        right_after_command = previous is not None and previous[1] and not markdown[previous[0] : match.start()].strip()
        previous = (match.end(), language in ("bash", "python"))
        if language == "text" and right_after_command:
            blocks[-1].expected_output = code
            continue
        if language not in ("bash", "python"):
            continue
        block = Block(language, code, line=markdown.count("\n", 0, match.start()) + 1)
        for text in code.splitlines():
            stripped = text.strip()
            if stripped.startswith("# expect-exit:"):
                block.expect_exit = int(stripped.split(":", 1)[1])
            elif stripped.startswith("# creates:"):
                block.creates += stripped.split(":", 1)[1].split()
            elif stripped.startswith(SKIP):
                block.skip = True
        blocks.append(block)
    return blocks


def output_matches(expected: str, output: str) -> list[str]:
    """Lines of ``expected`` (``...`` = anything) that do not appear in ``output``."""
    missing = []
    for line in expected.splitlines():
        if not line.strip():
            continue
        pattern = ".*?".join(re.escape(part.strip()) for part in line.split("..."))
        if not re.search(pattern, output):
            missing.append(line)
    return missing


def _shim(bin_dir: Path) -> Path:
    """A ``loyaltysim`` command that runs the real one, with small runs for ``run``."""
    real = Path(sys.executable).with_name("loyaltysim")
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "loyaltysim"
    small = " ".join(SMALL_RUN)
    script.write_text(
        f'#!/usr/bin/env bash\nif [ "$1" = run ]; then shift; exec "{real}" run {small} "$@"; fi\nexec "{real}" "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return bin_dir


def run_tutorial(path: Path, workdir: Path) -> None:
    """Execute every block of the tutorial at ``path`` in ``workdir``; fail on the first broken promise."""
    for folder in INPUT_FOLDERS:
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, workdir / folder)
    bin_dir = _shim(workdir.parent / f"{workdir.name}_bin")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "MPLBACKEND": "Agg",
        # a tutorial NAME.zh.md is read in Simplified Chinese: its commands print Chinese
        "LOYALTYSIM_LANG": "zh" if path.name.endswith(".zh.md") else "en",
    }
    for block in parse_blocks(path.read_text(encoding="utf-8")):
        if block.skip:
            continue
        shell = ["bash", "-e", "-o", "pipefail", "-c"] if block.language == "bash" else [sys.executable, "-c"]
        command = [*shell, block.code]
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
        where = f"{path.name} line {block.line}"
        output = done.stdout + done.stderr
        assert done.returncode == block.expect_exit, f"{where}: exit {done.returncode}, expected {block.expect_exit}\n{output}"
        assert "Traceback" not in done.stderr or block.expect_exit == 1, f"{where}: traceback\n{output}"
        for name in block.creates:
            assert (workdir / name).exists(), f"{where}: promised {name}, not created\n{output}"
        if block.expected_output is not None:
            missing = output_matches(block.expected_output, output)
            assert not missing, f"{where}: expected output lines not printed: {missing}\n{output}"


def test_tutorials_exist():
    assert {p.name for p in TUTORIALS} >= {"students.md", "educators.md"}


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    blocks = parse_blocks(path.read_text(encoding="utf-8"))
    assert any(not b.skip for b in blocks), f"{path.name} has no executed block"
    run_tutorial(path, tmp_path / "work")


# --- the harness itself ----------------------------------------------------------------------

SAMPLE = """# A tutorial

```bash
# creates: out.txt
echo hello > out.txt
cat out.txt
```

```text
hel...
```

Some prose.

```bash
# expect-exit: 3
exit 3
```

```bash
# not run by the tests: needs a browser
loyaltysim app
```

```yaml
not: executed
```
"""


def test_parse_blocks_reads_markers_and_expected_output():
    blocks = parse_blocks(SAMPLE)
    assert [b.language for b in blocks] == ["bash", "bash", "bash"]
    assert blocks[0].creates == ["out.txt"] and blocks[0].expected_output == "hel...\n"
    assert blocks[1].expect_exit == 3 and blocks[1].expected_output is None
    assert blocks[2].skip and not blocks[0].skip


def test_output_matching_uses_ellipsis_as_wildcard():
    assert output_matches("error: ... unknown key 'nn'", "error: a.yaml: customers.nn: unknown key 'nn'") == []
    assert output_matches("results written to x\nmissing line", "results written to x") == ["missing line"]


@pytest.mark.parametrize(
    "body,message",
    [
        ("```bash\nexit 1\n```\n", "exit 1, expected 0"),
        ("```bash\n# creates: never.txt\ntrue\n```\n", "promised never.txt"),
        ("```bash\necho one\n```\n\n```text\ntwo\n```\n", "expected output lines not printed"),
        ("```bash\n# expect-exit: 2\ntrue\n```\n", "exit 0, expected 2"),
    ],
)
def test_harness_fails_on_broken_promises(tmp_path, body, message):
    tutorial = tmp_path / "broken.md"
    tutorial.write_text(body, encoding="utf-8")
    with pytest.raises(AssertionError, match=message):
        run_tutorial(tutorial, tmp_path / "work")


def test_shim_reduces_run_size_but_the_reader_wins(tmp_path):
    tutorial = tmp_path / "sizes.md"
    tutorial.write_text(
        "```bash\n# creates: results/a/summary.json\n"
        "loyaltysim run configs/baseline.yaml --set run.steps=7 --out results/a --no-figures --quiet\n```\n",
        encoding="utf-8",
    )
    run_tutorial(tutorial, tmp_path / "work")
    resolved = (tmp_path / "work" / "results" / "a" / "config.resolved.yaml").read_text()
    assert "n: 200" in resolved and "steps: 7" in resolved
