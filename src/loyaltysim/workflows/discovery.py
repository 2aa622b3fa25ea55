"""A scenario discovery from a finished sweep to written box, tables, figure and report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from loyaltysim.analysis.discovery import DiscoveryResult, discover, factor_columns, load_runs
from loyaltysim.experiments.storage import new_output_dir, staged_output
from loyaltysim.reporting.discovery_report import write_discovery

__all__ = ["run_discovery"]


def run_discovery(
    results: str | Path,
    where: str,
    *,
    factors: Sequence[str] | None = None,
    min_density: float = 0.8,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    max_qp: float | None = 0.05,
    out: str | Path | None = None,
) -> tuple[DiscoveryResult, Path]:
    """Find the box of factor ranges where ``where`` holds among a sweep's runs and write it; returns (result, folder).

    The folder is ``out``, or ``<results>/discovery`` (``discovery-2``, … when taken); it is written
    whole or not at all. The options are those of :func:`loyaltysim.analysis.discovery.discover`.
    """
    runs = load_runs(results)
    if factors is None:  # the experiment's factors (n_firms has no dot), from the manifest when there is one
        manifest = Path(results) / "manifest.json"
        declared = json.loads(manifest.read_text(encoding="utf-8")).get("experiment", {}) if manifest.is_file() else {}
        factors = factor_columns(runs, list(declared["factors"])) if declared.get("factors") else None
    result = discover(
        runs, where, factors=factors, min_density=min_density, peel_alpha=peel_alpha, mass_min=mass_min, max_qp=max_qp
    )
    folder = new_output_dir(out, name="discovery", root=results)
    with staged_output(folder) as stage:
        write_discovery(result, stage)
    return result, folder
