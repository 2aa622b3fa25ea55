"""The look of every figure: Okabe–Ito colours (safe for colour-blind readers) plus line styles, markers
and hatches, so every series also reads in black and white; saving."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.figure import Figure

from loyaltysim.i18n import N_, _

__all__ = [
    "BAND_LABELS",
    "CJK_FONTS",
    "DPI",
    "HATCHES",
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "band_labels",
    "save_figure",
    "style",
    "use_cjk_fallback",
]


PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


HATCHES = ("", "//", "..", "xx", "\\\\")


DPI = 150
"""Resolution of every saved figure (PNG files and the figures embedded in HTML reports)."""


BAND_LABELS = (N_("highly\ndissatisfied"), N_("dissatisfied"), N_("neutral"), N_("satisfied"), N_("highly\nsatisfied"))
"""Kotler's five satisfaction bands as written in English; :func:`band_labels` gives them in the current language."""

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)
"""Fonts with Chinese glyphs, in order of preference (Debian: ``apt-get install fonts-noto-cjk``)."""


def band_labels() -> tuple[str, ...]:
    """:data:`BAND_LABELS` in the current language."""
    return tuple(_(label) for label in BAND_LABELS)


def use_cjk_fallback() -> list[str]:
    """Make the installed :data:`CJK_FONTS` the fallback after DejaVu Sans (``rcParams["font.family"]``).

    matplotlib (≥ 3.6) takes each glyph from the first font of the family list that has it (a generic
    name like ``sans-serif`` would stand for one font only): Latin text looks as before and Chinese
    text renders instead of empty boxes. Only installed fonts are listed, so no "font not found"
    warnings. Returns the list set.
    """
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans", *(name for name in CJK_FONTS if name in installed)]
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["font.sans-serif"] = [*families, *matplotlib.rcParams["font.sans-serif"]]
    return families


use_cjk_fallback()


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
