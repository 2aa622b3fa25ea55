"""The teaching app: a classroom page over :class:`~loyaltysim.app.factory.TeachingModel` (a Mesa model).

Start it with ``loyaltysim app [CONFIG] [--lang zh]`` (which runs ``solara run loyaltysim.app.app``
with the scenario path in ``LOYALTYSIM_APP_CONFIG`` and the language in ``LOYALTYSIM_LANG``).
The page lets a teacher pick a preset scenario, read its Info panel, move the controls and
press Reset to rebuild the market with them, then Step or Play.

Play runs the model in a background thread; each step publishes a frozen snapshot that the
views read (several tabs each have their own model), so the page never reads a half-made step.
The page replaces Mesa's generic SolaraViz frame (its "Page 0" tabs, play and render
intervals, thread switch) with what a class needs; ``LoyaltyModel`` still works in SolaraViz.
"""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Known noise from solara on plain-http localhost.
warnings.filterwarnings("ignore", message=r"Cookies with samesite=none require https", category=UserWarning)

import solara  # noqa: E402
import solara.lab  # noqa: E402

from loyaltysim.app.components import FirmKey, Headline, InfoPanel, ViewGrid  # noqa: E402
from loyaltysim.app.controls import ControlPanel, pending_changes  # noqa: E402
from loyaltysim.app.factory import TeachingModel  # noqa: E402
from loyaltysim.app.presets import PRESETS, Preset, preset_for  # noqa: E402
from loyaltysim.config.loading import load_config  # noqa: E402
from loyaltysim.i18n import _  # noqa: E402

__all__ = ["CONFIG_ENV", "PLAY_INTERVAL", "Layout", "Page", "scenario_choices"]

CONFIG_ENV = "LOYALTYSIM_APP_CONFIG"
PLAY_INTERVAL = 0.15
"""Least seconds between two periods while playing (so a class can follow)."""
CSS = Path(__file__).with_name("style.css")

tick = solara.reactive(0)
"""Counts the steps shown in this browser tab (solara keeps one per tab); the views re-render when it changes."""


def scenario_choices(start: str | None) -> dict[str, Preset]:
    """The scenarios offered in the app: the starting file first, then the presets found in ``configs/``."""
    choices: dict[str, Preset] = {}
    if start:
        first = preset_for(start)
        choices[first.name] = first
    for preset in PRESETS.values():
        if preset.path.is_file():
            choices.setdefault(preset.name, preset)
    return choices


def _title(preset: Preset) -> str:
    return _(preset.title) if preset.name in PRESETS else _("Your scenario: {file}").format(file=preset.title)


@solara.component
def RunButtons(model: TeachingModel, playing: solara.Reactive[bool], step: Callable[[], None]) -> None:
    """Step, Play/Pause and the period counter: the only header parts that change with every step."""
    tick.get()
    with solara.Div(classes=["ls-run"]):
        solara.Button(_("Step"), on_click=step, color="primary", disabled=playing.value or not model.running)
        solara.Button(
            _("❚❚ Pause") if playing.value else _("▶ Play"),
            on_click=lambda: playing.set(not playing.value),
            color="primary",
            disabled=not model.running,
        )
        solara.Text(_("Period {step} of {steps}").format(step=model.steps, steps=model.config.run.steps), classes=["ls-period"])


@solara.component
def Classroom(preset: Preset, choices: dict[str, Preset], chosen: solara.Reactive[str]) -> None:
    """The page for one scenario; it is rebuilt when the scenario changes."""
    path = str(preset.path)
    config = solara.use_memo(lambda: load_config(path), [path])
    model = solara.use_reactive(solara.use_memo(lambda: TeachingModel(config_path=path), [path]))
    pending = solara.use_reactive(dict(model.value.controls))
    playing = solara.use_reactive(False)
    changed = pending_changes(pending.value, model.value.controls)
    current = model.value

    async def play() -> None:
        # the model steps in a worker thread; the page updates on the event loop, from the step's frozen snapshot
        while playing.value and current.running:
            started = time.monotonic()
            await asyncio.to_thread(current.step)
            tick.value += 1
            await asyncio.sleep(max(0.0, PLAY_INTERVAL - (time.monotonic() - started)))
        playing.value = False

    solara.lab.use_task(play, dependencies=[playing.value, current], prefer_threaded=False)

    def step() -> None:
        if current.running:
            current.step()
            tick.value += 1

    def reset() -> None:
        playing.value = False
        model.value = TeachingModel(config_path=path, **pending.value)
        pending.value = dict(model.value.controls) if not model.value.notice else pending.value
        tick.value += 1

    titles = {_title(p): name for name, p in choices.items()}
    with solara.Div(classes=["ls-app"]):
        with solara.Div(classes=["ls-header"]):
            solara.Text(_("loyaltysim classroom"), classes=["ls-title"])
            solara.Select(
                "",
                value=_title(preset),
                values=list(titles),
                on_value=lambda title: chosen.set(titles[title]),
                dense=True,
                classes=["ls-scenario"],
            )
            solara.Button(_("Reset"), on_click=reset, color="warning" if changed else "primary")
            RunButtons(current, playing, step)
            if changed:
                solara.Text(_("Changed: press Reset to apply"), classes=["ls-pending"])
        with solara.Div(classes=["ls-body"]):
            with solara.Div(classes=["ls-side"]), solara.lab.Tabs():
                with solara.lab.Tab(_("Controls")):
                    if current.notice:
                        solara.Warning(current.notice)
                    ControlPanel(current.config, pending, changed)
                with solara.lab.Tab(_("Info")):
                    InfoPanel(preset, config.description)
            with solara.Div(classes=["ls-main"]):
                with solara.Div(classes=["ls-numbers"]):
                    Headline(current, tick)
                    FirmKey(tuple(current.snapshot.names))
                ViewGrid(current, tick)


@solara.component
def Page() -> None:
    """The app: a scenario chosen from the presets (the starting file first), its page below."""
    choices = solara.use_memo(lambda: scenario_choices(os.environ.get(CONFIG_ENV)), [])
    chosen = solara.use_reactive(next(iter(choices)))
    solara.Title(_("loyaltysim: satisfaction, loyalty and switching"))
    solara.Style(CSS)
    Classroom(choices[chosen.value], choices, chosen).key(chosen.value)


@solara.component
def Layout(children: Any = ()) -> None:
    """No app bar, side drawer or badge: the page is all the class sees."""
    solara.Column(children=list(children), style={"padding": "0", "gap": "0"})


def _check_start() -> None:
    """Fail at import (so ``solara run`` reports it) if the starting scenario is unusable."""
    start = os.environ.get(CONFIG_ENV)
    if start:
        load_config(Path(start))


_check_start()
