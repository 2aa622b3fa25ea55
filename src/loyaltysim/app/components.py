"""Solara components of the app: the figure views, the headline numbers and the scenario guide.

The view functions take the model and return an element; Mesa's SolaraViz wraps
them so they re-render after every step or reset.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from loyaltysim.app import views
from loyaltysim.app.factory import TeachingModel
from loyaltysim.app.presets import Preset
from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["VIEWS", "Headline", "ScenarioGuide"]


def _figure_view(name: str) -> Callable[[LoyaltyModel], solara.Element]:
    def show(model: LoyaltyModel) -> solara.Element:
        return solara.Image(views.view_png(model, name), format="png", classes=[f"loyaltysim-{name}"])

    show.__name__ = show.__qualname__ = f"{name.replace('-', '_')}_view"
    return show


VIEWS = [_figure_view(name) for name in views.VIEW_CLASSES]


def _inline(text: str) -> str:
    """Escaped text with ``**bold**`` and ```code``` marks as HTML (solara.Markdown would fetch KaTeX from a CDN)."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _percent(value: float) -> str:
    return "–" if value is None or np.isnan(value) else f"{value:.1%}"


@solara.component
def Headline(model: TeachingModel) -> None:
    """The period and this period's headline numbers (updates with every step)."""
    update_counter.get()
    latest = model.latest
    if model.notice:
        solara.Warning(model.notice)
    if not latest:
        lines = [f"Period 0 of {model.config.run.steps}: press **Step** or **▶**."]
    else:
        lines = [
            f"Period {model.steps} of {model.config.run.steps}",
            f"mean satisfaction **{latest['mean_satisfaction']:.3f}**",
            f"churn this period **{_percent(latest['churn_rate'])}** ({_percent(latest['annualised_churn'])} a year)",
            f"satisfied defectors **{_percent(latest['satisfied_defector_share'])}** of defectors",
        ]
    lines.append(_settings(model))
    solara.HTML(tag="div", unsafe_innerHTML="<br>".join(_inline(line) for line in lines), classes=["loyaltysim-headline"])


def _settings(model: TeachingModel) -> str:
    """The settings the model was built with (what Reset applied)."""
    c = model.config
    first = c.firms[0]
    return (
        f"{c.customers.n} customers · {len(c.firms)} firms · switching cost {c.customers.switching_cost.mean:g} · "
        f"loss aversion {c.satisfaction.loss_aversion:g} · word of mouth {c.word_of_mouth.influence:g} "
        f"(negativity {c.word_of_mouth.negativity:g}) · link {c.loyalty.link} · network {c.network.type} · "
        f"firm {first.name} quality {first.quality:g} price {first.price:g} promise {first.promise:g} · seed {c.run.seed}"
    )


@solara.component
def ScenarioGuide(preset: Preset, description: str) -> None:
    """The scenario's description and what to try with it."""
    items = "".join(f"<li>{_inline(item)}</li>" for item in preset.what_to_try)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"<p><b>{html.escape(preset.title)}</b></p><p>{html.escape(description)}</p><ul>{items}</ul>",
        classes=["loyaltysim-guide"],
    )
