"""Solara components of the app: the views, the headline numbers, the firms' key and the Info panel.

Text is rendered as escaped HTML with ``**bold**`` and ```code``` marks (solara.Markdown would
fetch KaTeX from a CDN, which a classroom may not reach).
"""

from __future__ import annotations

import html
import re

import numpy as np
import solara

from loyaltysim.app import views
from loyaltysim.app.factory import TeachingModel
from loyaltysim.app.presets import HOW_IT_WORKS, HOW_TO_USE, Preset
from loyaltysim.app.snapshot import SMOOTHING, Snapshot
from loyaltysim.i18n import _
from loyaltysim.model.scales import annualise
from loyaltysim.reporting.figures.style import PALETTE

__all__ = ["FirmKey", "Headline", "InfoPanel", "ViewGrid", "headline_lines", "inline", "practice_lines"]


def inline(text: str) -> str:
    """Escaped text with ``**bold**`` and ```code``` marks as HTML."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _percent(numerator: float, denominator: float) -> str:
    return "–" if denominator <= 0 else f"{numerator / denominator:.1%}"


def headline_lines(snapshot: Snapshot, periods_per_year: int) -> list[str]:
    """This period's numbers with their counts, and the same pooled over the last :data:`SMOOTHING` periods."""
    if snapshot.step == 0 or not len(snapshot.customers):
        return [_("Press **Step** or **▶ Play** to start.")]
    customers, switchers = int(snapshot.customers[-1]), int(snapshot.switchers[-1])
    satisfied = int(snapshot.satisfied_switchers[-1])
    year_customers, year_switchers = snapshot.recent(snapshot.customers), snapshot.recent(snapshot.switchers)
    year_satisfied = snapshot.recent(snapshot.satisfied_switchers)
    yearly = float(annualise(year_switchers / year_customers, periods_per_year)) if year_customers else float("nan")
    n = min(SMOOTHING, len(snapshot.customers))
    return [
        _(
            "**Switched** this period: {switchers} of {customers} ({rate}); last {n} periods: {rate_n}, {yearly:.0%} a year"
        ).format(
            switchers=switchers,
            customers=customers,
            rate=_percent(switchers, customers),
            n=n,
            rate_n=_percent(year_switchers, year_customers),
            yearly=yearly,
        ),
        _(
            "**Satisfied** among them: {satisfied} of {switchers}; "
            "last {n} periods: {year_satisfied} of {year_switchers} ({share})"
        ).format(
            satisfied=satisfied,
            switchers=switchers,
            n=n,
            year_satisfied=year_satisfied,
            year_switchers=year_switchers,
            share=_percent(year_satisfied, year_switchers),
        ),
        _("**Mean satisfaction** {now:.3f}; last {n} periods: {smooth:.3f}").format(
            now=snapshot.mean_satisfaction[-1], n=n, smooth=float(np.mean(snapshot.mean_satisfaction[-SMOOTHING:]))
        ),
        *practice_lines(snapshot.practices),
    ]


def practice_lines(numbers: dict[str, float]) -> list[str]:
    """Headline lines of the firm practices switched on (win-back, targeting, stickiness), this period."""
    lines = []
    if "win_backs" in numbers:
        lines.append(
            _("**Win-back**: {won} of {contacts} lost customers contacted came back").format(
                won=int(numbers["win_backs"]), contacts=int(numbers["win_back_contacts"])
            )
        )
    if "targeted" in numbers:
        lines.append(
            _("**Targeted** customers: {n}; stayed: {kept}, the others: {others}").format(
                n=int(numbers["targeted"]),
                kept=_percent(numbers["targeted_retention"], 1.0) if numbers["targeted"] else "–",
                others=_percent(numbers["untargeted_retention"], 1.0),
            )
        )
    if "share_of_wallet" in numbers:
        lines.append(
            _("**Purchases** per customer: {frequency:.2f}; share of wallet: {wallet:.0%}").format(
                frequency=numbers["purchase_frequency"], wallet=numbers["share_of_wallet"]
            )
        )
    return lines


@solara.component
def Headline(model: TeachingModel, tick: solara.Reactive[int]) -> None:
    """The headline numbers of the model's current snapshot (re-rendered when ``tick`` changes)."""
    tick.get()
    lines = headline_lines(model.snapshot, model.config.periods_per_year)
    solara.HTML(tag="div", unsafe_innerHTML="<br>".join(inline(line) for line in lines), classes=["ls-headline"])


@solara.component
def FirmKey(names: tuple[str, ...]) -> None:
    """Which colour and marker is which firm (one key for every chart)."""
    items = "".join(
        f'<span style="color:{PALETTE[i % len(PALETTE)]}">{views.MARKER_SYMBOLS[i % len(views.MARKER_SYMBOLS)]}</span>'
        f"&nbsp;{html.escape(name)}&ensp;"
        for i, name in enumerate(names)
    )
    title = html.escape(_("Firms"))
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{title}:</b> {items}", classes=["ls-key"])


@solara.component
def ViewGrid(model: TeachingModel, tick: solara.Reactive[int]) -> None:
    """Every view of the model's current snapshot, as images (re-rendered when ``tick`` changes)."""
    tick.get()
    with solara.Div(classes=["ls-grid"]):
        for name in views.VIEW_CLASSES:
            solara.Image(views.view_png(model, name), format="png", classes=[f"loyaltysim-{name}"])


def _section(title: str, items: tuple[str, ...] | list[str]) -> str:
    entries = "".join(f"<li>{inline(_(item))}</li>" for item in items)
    return f"<h3>{html.escape(title)}</h3><ul>{entries}</ul>"


@solara.component
def InfoPanel(preset: Preset, description: str) -> None:
    """NetLogo-style Info: what it is, how it works, how to use it, things to notice, things to try."""
    what = _(preset.what) if preset.what else description
    heading = html.escape(_("What is it?"))
    parts = [
        f"<h3>{heading}</h3><p>{inline(what)}</p>",
        _section(_("How it works"), HOW_IT_WORKS),
        _section(_("How to use it"), HOW_TO_USE),
        _section(_("Things to notice"), preset.notice),
    ]
    if preset.tips:
        parts.append(_section(_("Things to try"), preset.what_to_try))
    solara.HTML(tag="div", unsafe_innerHTML="".join(parts), classes=["ls-info"])
