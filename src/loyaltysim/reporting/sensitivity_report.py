"""Write a sensitivity analysis to disk: tables, figures and a Markdown report section.

Folder layout (inside the study's results folder)::

    indices.parquet       method, output, factor, index, value, conf
    variance.parquet      seed noise versus parameter-driven variance, per output
    convergence.parquet   indices on nested subsets of the sample
    figures/indices_<output>.png, figures/convergence_<output>.png, figures/morris.png
    sensitivity.md        ranked factors per output and the noise statement
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from loyaltysim.analysis.sensitivity import SensitivityResult
from loyaltysim.experiments.storage import write_parquet

__all__ = ["NEGLIGIBLE", "report_markdown", "write_result"]

NEGLIGIBLE = 0.01  # ST (upper end of its interval) below this: the factor explains < 1 % of the variance
NOISY = 0.2  # noise share of the analysed means above this: the indices are partly seed noise


def _slug(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label)


def _pct(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1%}"


def _noise_section(variance: pd.DataFrame) -> list[str]:
    lines = [
        "### Seed noise versus parameter-driven variance",
        "",
        "Noise = mean variance between replicates of the same design point. The indices are computed on "
        "the replicate means, so the last column is the share of the analysed variance that is noise.",
        "",
        "| output | runs' variance | noise share of runs' variance | noise share of analysed variance |",
        "|---|---:|---:|---:|",
    ]
    for row in variance.itertuples():
        lines.append(f"| {row.output} | {row.total_variance:.4g} | {_pct(row.noise_share)} | {_pct(row.noise_share_of_means)} |")
    lines.append("")
    if (variance["replicates"] < 2).all():
        lines.append("One replicate per design point: seed noise cannot be separated from the indices. Use replicates ≥ 2.")
    else:
        noisy = variance[variance["noise_share_of_means"] > NOISY]["output"].tolist()
        if noisy:
            lines.append(
                f"**Caution:** more than {NOISY:.0%} of the analysed variance of {', '.join(noisy)} is seed noise; "
                "their indices partly measure noise (raise `replicates` or the number of customers)."
            )
        else:
            lines.append(f"Seed noise is below {NOISY:.0%} of the analysed variance of every output.")
    return [*lines, ""]


def _ranking_table(result: SensitivityResult, output: str) -> list[str]:
    wide = result.indices[result.indices["output"] == output].pivot(index="factor", columns="index", values=["value", "conf"])
    if result.method == "morris":
        header = "| rank | factor | μ* | ± | σ | ± | μ |\n|---:|---|---:|---:|---:|---:|---:|"
        order = wide[("value", "mu_star")].sort_values(ascending=False).index
        rows = [
            f"| {rank} | `{f}` | {wide.loc[f, ('value', 'mu_star')]:.4g} | {wide.loc[f, ('conf', 'mu_star')]:.2g} | "
            f"{wide.loc[f, ('value', 'sigma')]:.4g} | {wide.loc[f, ('conf', 'sigma')]:.2g} | {wide.loc[f, ('value', 'mu')]:.4g} |"
            for rank, f in enumerate(order, 1)
        ]
    else:
        header = "| rank | factor | ST | ± | S1 | ± | |\n|---:|---|---:|---:|---:|---:|---|"
        order = wide[("value", "ST")].sort_values(ascending=False).index
        rows = []
        for rank, f in enumerate(order, 1):
            st, st_conf = wide.loc[f, ("value", "ST")], wide.loc[f, ("conf", "ST")]
            note = "negligible" if st + st_conf < NEGLIGIBLE else ""
            rows.append(
                f"| {rank} | `{f}` | {st:.3f} | {st_conf:.3f} | {wide.loc[f, ('value', 'S1')]:.3f} | "
                f"{wide.loc[f, ('conf', 'S1')]:.3f} | {note} |"
            )
    return [header, *rows, ""]


def report_markdown(result: SensitivityResult, *, title: str = "Sensitivity analysis", figures: str = "figures") -> str:
    """A Markdown section: setting, seed noise, then the ranked factors of every output with its figure."""
    runs = int(result.variance["points"].max() * result.variance["replicates"].max()) if len(result.variance) else 0
    key = "μ* (Morris)" if result.method == "morris" else "total-order index ST"
    lines = [
        f"## {title}",
        "",
        f"Method **{result.method}** (SALib), {result.problem.get('num_vars', '?')} factors, "
        f"{int(result.variance['points'].max()) if runs else 0} design points × {result.variance['replicates'].max():g} "
        f"replicates. Factors are ranked by {key}; ± is the half-width of the 95 % confidence interval"
        + (" (eFAST intervals are bootstrap estimates SALib calls indicative only)." if result.method == "fast" else "."),
        "",
        *_noise_section(result.variance),
    ]
    if result.method != "morris":
        lines += [f"`negligible`: ST + its interval below {NEGLIGIBLE:g}.", ""]
    analysed = list(dict.fromkeys(result.indices["output"]))
    skipped = [o for o in result.variance["output"] if o not in analysed]
    for output in analysed:
        lines += [f"### {output}", "", *_ranking_table(result, output), f"![{output}]({figures}/indices_{_slug(output)}.png)", ""]
        if not result.convergence.empty:
            lines += [f"![convergence of {output}]({figures}/convergence_{_slug(output)}.png)", ""]
    if result.method == "morris" and analysed:
        lines += [f"![Morris screening]({figures}/morris.png)", ""]
    if skipped:
        lines += [f"Not analysed (undefined at some design point, or constant): {', '.join(skipped)}.", ""]
    return "\n".join(lines)


def write_result(result: SensitivityResult, out: str | Path, *, figures: bool = True) -> Path:
    """Write tables, figures and ``sensitivity.md`` of ``result`` into ``out``; returns the report path."""
    from loyaltysim.reporting.figures.sensitivity import convergence_figure, indices_figure, morris_figure
    from loyaltysim.reporting.figures.style import save_figure

    out = Path(out)
    write_parquet(result.indices, out / "indices.parquet")
    write_parquet(result.variance, out / "variance.parquet")
    write_parquet(result.convergence, out / "convergence.parquet")
    if figures:
        folder = out / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        for output in dict.fromkeys(result.indices["output"]):
            save_figure(indices_figure(result.indices, output), folder / f"indices_{_slug(output)}.png")
            if not result.convergence.empty:
                save_figure(convergence_figure(result.convergence, output), folder / f"convergence_{_slug(output)}.png")
        if result.method == "morris" and not result.indices.empty:
            save_figure(morris_figure(result.indices), folder / "morris.png")
    report = out / "sensitivity.md"
    report.write_text(report_markdown(result), encoding="utf-8")
    return report
