"""Write a sensitivity analysis to disk: tables, figures and its report.

Folder layout (inside the study's results folder)::

    indices.parquet       method, output, factor, index, value, conf
    flags.parquet         output, factor, problem, samples_needed: when not to trust an index
    variance.parquet      seed noise versus parameter-driven variance, per output
    convergence.parquet   indices on nested subsets of the sample
    figures/indices_<output>.png, figures/convergence_<output>.png, figures/morris.png
    sensitivity.md, sensitivity.html   ranked factors per output and the noise statement
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from loyaltysim.analysis.sensitivity import SensitivityResult
from loyaltysim.experiments.storage import write_parquet
from loyaltysim.reporting.figures.sensitivity import convergence_figure, indices_figure, morris_figure
from loyaltysim.reporting.render import Block, Figure, Heading, Paragraph, Table, write_report

__all__ = ["NEGLIGIBLE", "build_report", "write_result"]

NEGLIGIBLE = 0.01  # ST (upper end of its interval) below this: the factor explains < 1 % of the variance
NOISY = 0.2  # noise share of the analysed means above this: the indices are partly seed noise


def _slug(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label)


def _pct(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1%}"


def _noise_blocks(variance: pd.DataFrame) -> list[Block]:
    table = pd.DataFrame(
        {
            "output": variance["output"],
            "runs' variance": variance["total_variance"].map(lambda v: f"{v:.4g}"),
            "noise share of runs' variance": variance["noise_share"].map(_pct),
            "noise share of analysed variance": variance["noise_share_of_means"].map(_pct),
        }
    )
    if (variance["replicates"] < 2).all():
        verdict = "One replicate per design point: seed noise cannot be separated from the indices. Use replicates ≥ 2."
    else:
        noisy = variance[variance["noise_share_of_means"] > NOISY]["output"].tolist()
        verdict = (
            f"**Caution:** more than {NOISY:.0%} of the analysed variance of {', '.join(noisy)} is seed noise; "
            "their indices partly measure noise (raise `replicates` or the number of customers)."
            if noisy
            else f"Seed noise is below {NOISY:.0%} of the analysed variance of every output."
        )
    return [
        Heading("Seed noise versus parameter-driven variance"),
        Paragraph(
            "Noise = mean variance between replicates of the same design point. The indices are computed on "
            "the replicate means, so the last column is the share of the analysed variance that is noise."
        ),
        Table(table, align="lrrr"),
        Paragraph(verdict),
    ]


def _ranking_table(result: SensitivityResult, output: str) -> Table:
    wide = result.indices[result.indices["output"] == output].pivot(index="factor", columns="index", values=["value", "conf"])

    def column(kind: str, index: str, digits: str, order: pd.Index) -> list[str]:
        return [format(wide.loc[f, (kind, index)], digits) for f in order]

    if result.method == "morris":
        order = wide[("value", "mu_star")].sort_values(ascending=False).index
        table = {
            "μ*": column("value", "mu_star", ".4g", order),
            "± μ*": column("conf", "mu_star", ".2g", order),
            "σ": column("value", "sigma", ".4g", order),
            "± σ": column("conf", "sigma", ".2g", order),
            "μ": column("value", "mu", ".4g", order),
        }
    else:
        order = wide[("value", "ST")].sort_values(ascending=False).index
        upper = wide[("value", "ST")] + wide[("conf", "ST")]
        table = {
            "ST": column("value", "ST", ".3f", order),
            "± ST": column("conf", "ST", ".3f", order),
            "S1": column("value", "S1", ".3f", order),
            "± S1": column("conf", "S1", ".3f", order),
            "note": [_note(result, output, f, upper[f]) for f in order],
        }
    ranked = pd.DataFrame({"rank": range(1, len(order) + 1), "factor": [f"`{f}`" for f in order], **table})
    return Table(ranked, align="rlrrrrr" if result.method == "morris" else "rlrrrrl")


def _note(result: SensitivityResult, output: str, factor: str, upper: float) -> str:
    notes = ["negligible"] if upper < NEGLIGIBLE else []
    flags = result.flags
    if flags is not None and len(flags):
        found = flags[(flags["output"] == output) & (flags["factor"] == factor)]
        for row in found.itertuples():
            notes.append(f"⚠ {row.problem}" + (f" (N ≈ {row.samples_needed:.0f} needed)" if pd.notna(row.samples_needed) else ""))
    return "; ".join(notes)


def _trust_blocks(result: SensitivityResult) -> list[Block]:
    """When not to trust the indices: a paragraph summing up the flags (none for Morris)."""
    flags = result.flags
    if result.method == "morris" or flags is None:
        return []
    if flags.empty:
        return [
            Paragraph("No index is flagged: S1 ≤ ST everywhere, no index is negative beyond its interval, no interval is wide.")
        ]
    needed = flags["samples_needed"].max()
    text = (
        f"**When not to trust these indices.** {len(flags)} (output, factor) pair(s) are flagged (⚠ in the tables): "
        "S1 above ST, an index negative beyond its interval, or an interval wider than ±0.1 — signs that the sample "
        "is too small for these indices to rank the factors."
    )
    if pd.notna(needed):
        text += f" The widest intervals would shrink to ±0.05 at about N = {needed:.0f} base samples (half-widths fall as 1/√N)."
    return [Paragraph(text)]


def build_report(result: SensitivityResult, *, title: str = "Sensitivity analysis", figures: bool = True) -> list[Block]:
    """The report's blocks: setting, seed noise, then the ranked factors of every output with its figures."""
    runs = int(result.variance["points"].max() * result.variance["replicates"].max()) if len(result.variance) else 0
    key = "μ* (Morris)" if result.method == "morris" else "total-order index ST"
    blocks: list[Block] = [
        Heading(title, 1),
        Paragraph(
            f"Method **{result.method}** (SALib), {result.problem.get('num_vars', '?')} factors, "
            f"{int(result.variance['points'].max()) if runs else 0} design points × {result.variance['replicates'].max():g} "
            f"replicates. Factors are ranked by {key}; ± is the half-width of the 95 % confidence interval"
            + (" (eFAST intervals are bootstrap estimates SALib calls indicative only)." if result.method == "fast" else ".")
        ),
        *_noise_blocks(result.variance),
    ]
    if result.method != "morris":
        blocks.append(Paragraph(f"`negligible`: ST + its interval below {NEGLIGIBLE:g}."))
        blocks += _trust_blocks(result)
    analysed = list(dict.fromkeys(result.indices["output"]))
    for output in analysed:
        blocks += [Heading(output), _ranking_table(result, output)]
        if figures:
            blocks.append(Figure(f"indices_{_slug(output)}.png", f"Indices of {output}", indices_figure(result.indices, output)))
            if not result.convergence.empty:
                name, caption = f"convergence_{_slug(output)}.png", f"Convergence of the indices of {output}"
                blocks.append(Figure(name, caption, convergence_figure(result.convergence, output)))
    if figures and result.method == "morris" and analysed:
        blocks.append(Figure("morris.png", "Morris screening: μ* against σ", morris_figure(result.indices)))
    skipped = [o for o in result.variance["output"] if o not in analysed]
    if skipped:
        blocks.append(Paragraph(f"Not analysed (undefined at some design point, or constant): {', '.join(skipped)}."))
    return blocks


def write_result(result: SensitivityResult, out: str | Path, *, figures: bool = True) -> Path:
    """Write the tables, figures, ``sensitivity.md`` and ``sensitivity.html`` of ``result`` into ``out``;
    returns the Markdown report's path."""
    out = Path(out)
    write_parquet(result.indices, out / "indices.parquet")
    write_parquet(result.variance, out / "variance.parquet")
    write_parquet(result.convergence, out / "convergence.parquet")
    if result.flags is not None:
        write_parquet(result.flags, out / "flags.parquet")
    return write_report(build_report(result, figures=figures), out, name="sensitivity")["markdown"]
