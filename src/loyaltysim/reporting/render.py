"""One report renderer: a document as a list of blocks, written as Markdown and as one self-contained HTML file.

Every report (sweep, sensitivity, calibration, scenario discovery) is built as blocks —
:class:`Heading`, :class:`Paragraph`, :class:`Table`, :class:`Figure` — and written by
:func:`write_report`: ``<name>.md`` (figures referenced as ``figures/<file>``), ``<name>.html``
(figures embedded as base64 PNG, so the page can be mailed or archived alone) and the PNG files.
Paragraphs and table cells may use two bits of inline Markdown: ``**bold**`` and ```code```.

Examples
--------
>>> import pandas as pd
>>> blocks = [Heading("Demo", 1), Paragraph("Churn **fell**."), Table(pd.DataFrame({"factor": ["`a`"], "ST": [0.5]}), align="lr")]
>>> print(to_markdown(blocks))
# Demo
<BLANKLINE>
Churn **fell**.
<BLANKLINE>
| factor | ST |
|---|---:|
| `a` | 0.5 |
<BLANKLINE>
>>> "<p>Churn <strong>fell</strong>.</p>" in to_html(blocks, {})
True
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure as MatplotlibFigure

from loyaltysim.experiments.storage import write_bytes, write_text
from loyaltysim.reporting.figures.style import DPI

__all__ = ["FIGURE_FORMATS", "Block", "Figure", "Heading", "Paragraph", "Table", "to_html", "to_markdown", "write_report"]


@dataclass(frozen=True)
class Heading:
    """A heading of ``level`` 1 (the document's title) to 3."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph (inline ``**bold**`` and ```code``` allowed)."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table, cells already formatted; ``align`` has one letter per column, ``l`` or ``r`` (default: all left)."""

    frame: pd.DataFrame
    align: str = ""

    def alignment(self) -> list[str]:
        """``l`` or ``r`` for every column."""
        return [self.align[i] if i < len(self.align) else "l" for i in range(len(self.frame.columns))]


@dataclass(frozen=True, eq=False)
class Figure:
    """A figure, written to ``figures/<name>`` (a PNG file name) and shown with its ``caption``."""

    name: str
    caption: str
    figure: MatplotlibFigure


Block = Heading | Paragraph | Table | Figure

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _inline_html(text: str) -> str:
    """Escaped text with ``**bold**`` and ```code``` as HTML."""
    escaped = html.escape(str(text), quote=False)
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", escaped))


def _markdown_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_table(table: Table) -> str:
    columns = table.frame.columns
    header = "| " + " | ".join(map(_markdown_cell, columns)) + " |"
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in table.alignment()) + "|"
    rows = ["| " + " | ".join(_markdown_cell(v) for v in row) + " |" for row in table.frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def to_markdown(blocks: Sequence[Block], *, figures: str = "figures") -> str:
    """The document as Markdown; figures are referenced as ``<figures>/<name>``."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Table):
            parts.append(_markdown_table(block))
        else:
            parts.append(f"![{block.caption}]({figures}/{block.name})\n\n*{block.caption}*")
    return "\n\n".join(parts) + "\n"


def _html_table(table: Table) -> str:
    align = table.alignment()

    def cells(values: Sequence[Any], tag: str) -> str:
        return "".join(
            f"<{tag}{' class=num' if a == 'r' else ''}>{_inline_html(v)}</{tag}>" for v, a in zip(values, align, strict=True)
        )

    head = f"<thead><tr>{cells(list(table.frame.columns), 'th')}</tr></thead>"
    body = "".join(f"<tr>{cells(list(row), 'td')}</tr>" for row in table.frame.itertuples(index=False))
    return f"<table>{head}<tbody>{body}</tbody></table>"


_STYLE = (
    "body{font-family:sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
    "table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}"
    "td,th{border-bottom:1px solid #999;padding:.2rem .5rem;text-align:left;vertical-align:top}"
    ".num{text-align:right}code{font-size:.9em}img{max-width:100%}figcaption{font-style:italic;font-size:.9rem}"
)


def to_html(blocks: Sequence[Block], images: Mapping[str, bytes]) -> str:
    """One self-contained HTML page; ``images`` holds the PNG bytes of every figure by its name."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Table):
            body.append(_html_table(block))
        else:
            data = base64.b64encode(images[block.name]).decode("ascii")
            image = f'<img alt="{html.escape(block.caption)}" src="data:image/png;base64,{data}">'
            body.append(f"<figure>{image}<figcaption>{_inline_html(block.caption)}</figcaption></figure>")
    title = next((html.escape(b.text) for b in blocks if isinstance(b, Heading)), "report")
    head = f'<head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style></head>'
    return f'<!DOCTYPE html>\n<html lang="en">{head}\n<body>\n' + "\n".join(body) + "\n</body></html>\n"


def _png(figure: MatplotlibFigure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


FIGURE_FORMATS = ("png", "svg", "pdf")
"""Formats a report's figures can be written in; PNG always (the HTML page embeds it), SVG and PDF on request."""


def write_report(
    blocks: Sequence[Block], folder: str | Path, *, name: str = "report", formats: Sequence[str] = ("png",)
) -> dict[str, Path]:
    """Write ``<name>.md``, ``<name>.html`` and ``figures/*.png`` into ``folder`` (each atomically); close the figures.

    ``formats`` adds the figures as SVG and/or PDF (vector graphics, for print) beside the PNG files.
    Returns the paths: ``markdown``, ``html`` and one entry per figure file name.
    """
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown:
        raise ValueError(f"unknown figure format {unknown[0]!r}; expected {', '.join(FIGURE_FORMATS)}")
    folder = Path(folder)
    images = {}
    written: dict[str, Path] = {}
    try:
        for block in blocks:
            if isinstance(block, Figure):
                images[block.name] = _png(block.figure)
                (folder / "figures").mkdir(parents=True, exist_ok=True)
                written[block.name] = folder / "figures" / block.name
                write_bytes(images[block.name], written[block.name])
                for extra in (f for f in formats if f != "png"):
                    path = written[block.name].with_suffix(f".{extra}")
                    buffer = io.BytesIO()
                    block.figure.savefig(buffer, format=extra, dpi=DPI)
                    write_bytes(buffer.getvalue(), path)
                    written[path.name] = path
    finally:
        for block in blocks:
            if isinstance(block, Figure):
                plt.close(block.figure)
    markdown, page = folder / f"{name}.md", folder / f"{name}.html"
    write_text(to_markdown(blocks), markdown)
    write_text(to_html(blocks, images), page)
    return {"markdown": markdown, "html": page, **written}
