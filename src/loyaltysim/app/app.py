"""The teaching app: Mesa SolaraViz over :class:`~loyaltysim.app.factory.TeachingModel`.

Start it with ``loyaltysim app [CONFIG]`` (which runs ``solara run loyaltysim.app.app``
with the scenario path in ``LOYALTYSIM_APP_CONFIG``). The page lets a teacher pick a
preset scenario, move the controls, and press Reset to rebuild the market with them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

# Known noise from Mesa 3.3.1 (a hook after an early return) and from solara on plain-http localhost.
warnings.filterwarnings("ignore", message=r".*`use_state` found despite early return", category=UserWarning)
warnings.filterwarnings("ignore", message=r"Cookies with samesite=none require https", category=UserWarning)

import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.user_param import Slider  # noqa: E402

from loyaltysim.app.components import VIEWS, Headline, ScenarioGuide  # noqa: E402
from loyaltysim.app.factory import MAX_FIRMS, NETWORK_CHOICES, TeachingModel, control_defaults  # noqa: E402
from loyaltysim.app.presets import PRESETS, Preset, preset_for  # noqa: E402
from loyaltysim.config.loading import load_config  # noqa: E402
from loyaltysim.config.schema import LINK_FUNCTIONS, Config  # noqa: E402

__all__ = ["CONFIG_ENV", "Page", "model_params", "scenario_choices"]

CONFIG_ENV = "LOYALTYSIM_APP_CONFIG"
TITLE = "loyaltysim: satisfaction, loyalty and switching"


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


def model_params(path: str, config: Config) -> dict[str, Any]:
    """SolaraViz parameters: the scenario file (fixed) and one control per teaching parameter, starting at its value."""
    start = control_defaults(config)
    networks = list(NETWORK_CHOICES) if start["network"] in NETWORK_CHOICES else [start["network"], *NETWORK_CHOICES]
    first = config.firms[0].name
    return {
        "config_path": path,
        "n_customers": Slider("customers", start["n_customers"], 100, max(5000, start["n_customers"]), 100),
        "n_firms": Slider("firms", start["n_firms"], 1, max(MAX_FIRMS, start["n_firms"]), 1),
        "switching_cost": Slider("mean switching cost", start["switching_cost"], 0.0, max(15.0, start["switching_cost"]), 0.5),
        "loss_aversion": Slider("loss aversion", start["loss_aversion"], 1.0, max(5.0, start["loss_aversion"]), 0.25),
        "wom_influence": Slider("word-of-mouth strength", start["wom_influence"], 0.0, 0.5, 0.01),
        "wom_negativity": Slider(
            "word-of-mouth negativity", start["wom_negativity"], 0.0, max(5.0, start["wom_negativity"]), 0.25
        ),
        "link": {
            "type": "Select",
            "label": "satisfaction → loyalty link",
            "value": start["link"],
            "values": list(LINK_FUNCTIONS),
        },
        "network": {"type": "Select", "label": "network", "value": start["network"], "values": networks},
        "firm_quality": Slider(f"firm {first}: quality", start["firm_quality"], 0.0, 1.0, 0.01),
        "firm_price": Slider(f"firm {first}: price", start["firm_price"], 0.0, max(20.0, start["firm_price"]), 0.5),
        "firm_promise": Slider(f"firm {first}: promise", start["firm_promise"], 0.0, 1.0, 0.01),
        "seed": {"type": "InputText", "label": "seed", "value": str(start["seed"])},
    }


@solara.component
def ScenarioApp(preset: Preset) -> None:
    """SolaraViz for one scenario; the page remounts it when the scenario changes."""
    path = str(preset.path)
    config = solara.use_memo(lambda: load_config(path), [path])
    initial = solara.use_memo(lambda: TeachingModel(config_path=path), [path])
    model = solara.use_reactive(initial)
    with solara.Columns([1, 2]):
        with solara.Card("This period"):
            Headline(model.value)
        with solara.Card("What to try"):
            ScenarioGuide(preset, config.description)
    SolaraViz(model, components=[(view, 0) for view in VIEWS], model_params=model_params(path, config), name=TITLE)


@solara.component
def Page() -> None:
    """The app: a scenario selector above the SolaraViz controls and views."""
    choices = solara.use_memo(lambda: scenario_choices(os.environ.get(CONFIG_ENV)), [])
    chosen = solara.use_reactive(next(iter(choices)))
    with solara.Sidebar(), solara.Card("Scenario"):
        solara.Select(
            "preset scenario",
            value=chosen.value,
            values=list(choices),
            on_value=chosen.set,
        )
    ScenarioApp(choices[chosen.value]).key(chosen.value)


def _check_start() -> None:
    """Fail at import (so ``solara run`` reports it) if the starting scenario is unusable."""
    start = os.environ.get(CONFIG_ENV)
    if start:
        load_config(Path(start))


_check_start()
