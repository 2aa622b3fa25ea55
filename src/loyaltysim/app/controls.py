"""The teacher's controls: what each one is called, its range, and the panel that shows them.

A control's value is always printed beside its name. Moving a control does not change
the running market: the page shows "press Reset to apply" until Reset rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import solara

from loyaltysim.app.factory import MAX_FIRMS, NETWORK_CHOICES, control_defaults
from loyaltysim.config.schema import LINK_FUNCTIONS, Config
from loyaltysim.i18n import N_, _

__all__ = ["CONTROLS", "Control", "ControlPanel", "controls_for", "pending_changes"]


@dataclass(frozen=True)
class Control:
    """One control: its key (a parameter of :class:`~loyaltysim.app.factory.TeachingModel`), label and range."""

    key: str
    label: str
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    choices: tuple[str, ...] = ()

    @property
    def is_whole(self) -> bool:
        return float(self.step).is_integer() and not self.choices

    def shown(self, value: Any) -> str:
        """The value as printed beside the label."""
        if self.choices or isinstance(value, str):
            return str(value)
        return f"{int(value)}" if self.is_whole else f"{float(value):g}"


CONTROLS = (
    Control("n_customers", N_("customers"), 100, 5000, 100),
    Control("n_firms", N_("firms"), 1, MAX_FIRMS, 1),
    Control("switching_cost", N_("mean switching cost"), 0.0, 15.0, 0.5),
    Control("loss_aversion", N_("loss aversion"), 1.0, 5.0, 0.25),
    Control("wom_influence", N_("word-of-mouth strength"), 0.0, 0.5, 0.01),
    Control("wom_negativity", N_("word-of-mouth negativity"), 0.0, 5.0, 0.25),
    Control("link", N_("satisfaction → loyalty link"), choices=tuple(LINK_FUNCTIONS)),
    Control("network", N_("network"), choices=NETWORK_CHOICES),
    Control("firm_quality", N_("{firm}: quality"), 0.0, 1.0, 0.01),
    Control("firm_price", N_("{firm}: price"), 0.0, 20.0, 0.5),
    Control("firm_promise", N_("{firm}: promise"), 0.0, 1.0, 0.01),
    Control("seed", N_("seed (random draws)")),
)


def controls_for(config: Config) -> list[Control]:
    """The controls with ranges wide enough for ``config``'s values and the first firm's name in the labels."""
    start = control_defaults(config)
    out = []
    for control in CONTROLS:
        label = _(control.label).format(firm=config.firms[0].name)
        value = start[control.key]
        if control.choices:
            choices = control.choices if value in control.choices else (value, *control.choices)
            out.append(Control(control.key, label, choices=choices))
        elif control.key == "seed":
            out.append(Control(control.key, label))
        else:
            out.append(Control(control.key, label, control.low, max(control.high, value), control.step))
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


def pending_changes(pending: dict[str, Any], applied: dict[str, Any]) -> list[str]:
    """The keys whose pending value differs from the one the running model was built with."""
    return [key for key, value in pending.items() if not _same(value, applied.get(key))]


@solara.component
def ControlPanel(config: Config, pending: solara.Reactive[dict[str, Any]], changed: list[str]) -> None:
    """Every control with its value shown; changed ones marked until Reset."""
    controls = solara.use_memo(lambda: controls_for(config), [config])

    def setter(key: str) -> Callable[[Any], None]:
        def set_value(value: Any) -> None:
            pending.set({**pending.value, key: round(value, 6) if isinstance(value, float) else value})

        return set_value

    for control in controls:
        value = pending.value[control.key]
        mark = " ●" if control.key in changed else ""
        label = (
            f"{control.label}{mark}"
            if control.choices or control.key == "seed"
            else f"{control.label}: {control.shown(value)}{mark}"
        )
        classes = ["ls-control", *(["ls-changed"] if mark else [])]
        with solara.Column(gap="0px", classes=classes):
            solara.Text(label, classes=["ls-label"])
            if control.choices:
                solara.Select(label="", value=value, values=list(control.choices), on_value=setter(control.key), dense=True)
            elif control.key == "seed":
                solara.InputText(label="", value=str(value), on_value=setter(control.key), continuous_update=False)
            elif control.is_whole:
                solara.SliderInt(
                    "", value=int(value), min=int(control.low), max=int(control.high), step=int(control.step),
                    on_value=setter(control.key), thumb_label=False,
                )  # fmt: skip
            else:
                solara.SliderFloat(
                    "", value=float(value), min=control.low, max=control.high, step=control.step,
                    on_value=setter(control.key), thumb_label=False,
                )  # fmt: skip
