"""The report of the validation scorecard: each stylized fact, its source, what was measured, holds or fails."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from loyaltysim.reporting.render import Block, Heading, Paragraph, Table, write_report

__all__ = ["build_report", "scorecard_table", "verdict", "write_validation_report"]


class _Scenario(Protocol):
    name: str
    what: str


def verdict(row: Mapping[str, Any]) -> str:
    """``holds``, ``fails`` or ``not measured``; ``(calibrated)`` marks a fact that was a calibration target."""
    holds = row["holds"]
    text = "not measured" if holds is None or (isinstance(holds, float) and math.isnan(holds)) else "holds" if holds else "fails"
    return f"{text} (calibrated)" if row["calibrated"] else text


def _estimate(row: Mapping[str, Any]) -> str:
    estimate, low, high = row["estimate"], row["ci_low"], row["ci_high"]
    if estimate != estimate:
        return "–"
    if low == high:
        return f"{estimate:.3g}"
    return f"{estimate:.3g} [{low:.3g}, {high:.3g}]"


def scorecard_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as the report shows it: fact, published value and source, measured value, verdict."""
    return pd.DataFrame(
        {
            "fact": card["statement"],
            "published": card["published"] + " (" + card["source"] + ")",
            "measured as": card["measured_as"],
            "measured (95% CI)": [_estimate(row) for _, row in card.iterrows()],
            "verdict": [verdict(row) for _, row in card.iterrows()],
        }
    )


def build_report(card: pd.DataFrame, scenarios: Sequence[_Scenario], settings: Mapping[str, Any]) -> list[Block]:
    """The report's blocks: the scenarios, the scorecard table and what lies behind each value."""
    held = int((card["holds"] == True).sum())  # noqa: E712 (holds is True, False or None)
    blocks: list[Block] = [
        Heading("Validation scorecard", 1),
        Paragraph(
            f"{held} of {len(card)} stylized facts hold; {settings['replicates']} replicates per scenario "
            f"(root seed {settings['seed']}, replicate r uses the same seed in every scenario). "
            "Intervals are 95% t-intervals over replicates. A fact marked *calibrated* was a target of the "
            "calibration of the defaults: it shows the fit, not an independent check."
        ),
        Heading("Scenarios", 2),
        Table(pd.DataFrame({"scenario": [s.name for s in scenarios], "what": [s.what for s in scenarios]})),
        Heading("Facts", 2),
        Table(scorecard_table(card)),
        Heading("Behind the values", 2),
    ]
    for row in card.itertuples():
        blocks.append(Paragraph(f"**{row.fact}** ({verdict(row._asdict())}): {row.detail}"))
    if settings.get("overrides"):
        changed = ", ".join(f"`{k}={v}`" for k, v in settings["overrides"].items())
        blocks.append(Paragraph(f"Every scenario ran with {changed}."))
    return blocks


def write_validation_report(
    card: pd.DataFrame, scenarios: Sequence[_Scenario], settings: Mapping[str, Any], folder: Path
) -> dict[str, Path]:
    """Write ``validation.md`` and ``validation.html`` into ``folder``."""
    return write_report(build_report(card, scenarios, settings), folder, name="validation")
