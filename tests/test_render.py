"""The one report renderer: blocks to Markdown and to a self-contained HTML page, files written, figures closed."""

from __future__ import annotations

import base64
import re

import matplotlib.pyplot as plt
import pandas as pd

from loyaltysim.reporting.render import Figure, Heading, Paragraph, Table, to_html, to_markdown, write_report


def blocks_with_a_figure() -> list:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    table = pd.DataFrame({"factor": ["`a|b`", "<c>"], "ST": ["0.5", "0.1"]})
    return [
        Heading("Title <1>", 1),
        Paragraph("Churn **fell** in `cell 1` & rose elsewhere."),
        Heading("Numbers", 3),
        Table(table, align="lr"),
        Figure("curve.png", "A falling line", fig),
    ]


def test_markdown_of_every_block_kind():
    blocks = blocks_with_a_figure()
    text = to_markdown(blocks)
    plt.close(blocks[-1].figure)
    assert text.startswith("# Title <1>\n\nChurn **fell** in `cell 1` & rose elsewhere.\n\n### Numbers\n\n")
    assert "| factor | ST |\n|---|---:|\n| `a\\|b` | 0.5 |\n| <c> | 0.1 |" in text  # a | inside a cell is escaped
    assert text.endswith("![A falling line](figures/curve.png)\n\n*A falling line*\n")


def test_html_escapes_text_renders_inline_markup_and_embeds_images():
    blocks = blocks_with_a_figure()
    image = b"\x89PNG fake"
    page = to_html(blocks, {"curve.png": image})
    plt.close(blocks[-1].figure)
    assert "<title>Title &lt;1&gt;</title>" in page and "<h1>Title &lt;1&gt;</h1>" in page
    assert "<p>Churn <strong>fell</strong> in <code>cell 1</code> &amp; rose elsewhere.</p>" in page
    assert "<td><code>a|b</code></td><td class=num>0.5</td>" in page and "<td>&lt;c&gt;</td>" in page
    assert "data:image/png;base64," + base64.b64encode(image).decode() in page
    assert "<figcaption>A falling line</figcaption>" in page
    assert "<script" not in page and not re.search(r"(src|href)=\"(?!data:)", page)  # nothing to fetch


def test_write_report_writes_markdown_html_and_pngs_and_closes_figures(tmp_path):
    already_open = set(plt.get_fignums())  # figures another test in this process left open are not ours
    blocks = blocks_with_a_figure()
    paths = write_report(blocks, tmp_path, name="study")
    assert set(paths) == {"markdown", "html", "curve.png"}
    assert paths["markdown"] == tmp_path / "study.md" and paths["html"] == tmp_path / "study.html"
    png = (tmp_path / "figures" / "curve.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    assert base64.b64encode(png).decode() in paths["html"].read_text()  # the same image, embedded
    assert "](figures/curve.png)" in paths["markdown"].read_text()
    assert set(plt.get_fignums()) <= already_open
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "study.html", "study.md"]  # no temporary files left
