"""The look of every figure: Okabe–Ito colours (safe for colour-blind readers) plus line styles, markers
and hatches, so every series also reads in black and white; saving."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["BAND_LABELS", "DPI", "HATCHES", "LINESTYLES", "MARKERS", "PALETTE", "save_figure", "style"]


PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


HATCHES = ("", "//", "..", "xx", "\\\\")


DPI = 150
"""Resolution of every saved figure (PNG files and the figures embedded in HTML reports)."""


BAND_LABELS = ("highly\ndissatisfied", "dissatisfied", "neutral", "satisfied", "highly\nsatisfied")


def style(i: int) -> dict:
    """Colour, line style and marker of series ``i``."""
    return {
        "color": PALETTE[i % len(PALETTE)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "marker": MARKERS[i % len(MARKERS)],
    }


def save_figure(fig: Figure, path) -> None:
    """Save as PNG (:data:`DPI`) and close the figure."""
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
