"""Run one scenario and write its results folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loyaltysim.analysis.warmup import stationarity_warnings, warn_each
from loyaltysim.config.loading import config_hash
from loyaltysim.config.schema import Config
from loyaltysim.experiments.storage import now_iso, staged_output, versions, write_json, write_parquet, write_yaml
from loyaltysim.model.loyalty_model import LoyaltyModel
from loyaltysim.model.metrics import BANDS, RATINGS
from loyaltysim.model.state import link_of

__all__ = ["churn_by_band", "run_scenario", "write_figures"]


def churn_by_band(summary: dict[str, Any], periods_per_year: int) -> pd.DataFrame:
    """Annualised pooled churn per band: latent satisfaction band and survey rating (1–5)."""
    latent = np.array([summary.get(f"churn_{band}", np.nan) for band in BANDS], dtype=float)
    rated = np.array([summary.get(f"churn_rating_{r}", np.nan) for r in RATINGS], dtype=float)
    return pd.DataFrame(
        {
            "band": list(BANDS),
            "latent": 1.0 - (1.0 - latent) ** periods_per_year,
            "rated": 1.0 - (1.0 - rated) ** periods_per_year,
        }
    )


def write_figures(model: LoyaltyModel, folder: Path) -> list[Path]:
    """The standard figures of a finished run, as PNG files in ``folder``."""
    from loyaltysim.reporting.figures import scenario as scenario_figures  # matplotlib: imported after the run
    from loyaltysim.reporting.figures.style import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    customers = model.customers()
    outcome = model.last_outcome
    defectors = None
    if outcome is not None:
        chosen = outcome.switched & (outcome.satisfaction >= 0.6)
        defectors = np.column_stack([outcome.satisfaction[chosen], outcome.loyalty[chosen]])
    figures = {
        "market_share.png": scenario_figures.market_share_figure(model.firm_timeseries()),
        "satisfaction_distribution.png": scenario_figures.satisfaction_distribution_figure(customers["satisfaction"]),
        "churn_by_band.png": scenario_figures.churn_by_band_figure(churn_by_band(model.summary(), model.config.periods_per_year)),
        "satisfaction_loyalty.png": scenario_figures.satisfaction_loyalty_figure(
            customers, link_of(model.config), model.totals.retention_curve(), satisfied_defectors=defectors
        ),
    }
    paths = []
    for name, fig in figures.items():
        save_figure(fig, folder / name)
        paths.append(folder / name)
    return paths


def run_scenario(
    config: Config,
    out: Path,
    *,
    source: str | None = None,
    figures: bool = True,
    progress: bool = False,
) -> LoyaltyModel:
    """Simulate ``config`` and write every output into ``out`` (staged, then renamed).

    Writes ``timeseries.parquet``, ``firms.parquet``, ``retention_curve.parquet``,
    ``customers.parquet`` (final state), ``panel.parquet`` (if a panel is configured),
    ``summary.json``, ``config.resolved.yaml``, ``manifest.json`` and ``figures/*.png``. A measurement window that is not
    stationary (:func:`~loyaltysim.analysis.warmup.stationarity_warnings`) gives a :class:`StationarityWarning` and
    is listed in the manifest's ``warnings``.
    """
    started, clock = now_iso(), time.perf_counter()
    model = LoyaltyModel(config)
    model.run(progress=progress)
    wall = time.perf_counter() - clock
    warnings = stationarity_warnings(model.timeseries(), config.run.burn_in)
    warn_each(warnings)
    with staged_output(out) as stage:
        write_parquet(model.timeseries(), stage / "timeseries.parquet")
        write_parquet(model.firm_timeseries(), stage / "firms.parquet")
        write_parquet(model.totals.retention_curve(), stage / "retention_curve.parquet")
        write_parquet(model.customers(), stage / "customers.parquet")
        if config.run.panel_size:
            write_parquet(model.panel(), stage / "panel.parquet")
        write_json(model.summary(), stage / "summary.json")
        write_yaml(
            config.to_dict(),
            stage / "config.resolved.yaml",
            header=f"# Every value this run used (from {source or 'defaults'}). Rerun: loyaltysim run THIS_FILE\n",
        )
        if figures:
            write_figures(model, stage / "figures")
        write_json(
            {
                "kind": "run",
                "config_source": source,
                "config_hash": config_hash(config),
                "seed": config.run.seed,
                "steps": model.steps,
                "customers": config.customers.n,
                "started": started,
                "finished": now_iso(),
                "wall_seconds": round(wall, 4),
                "command_line": sys.argv,
                "versions": versions(),
                "warnings": warnings,
            },
            stage / "manifest.json",
        )
    return model
