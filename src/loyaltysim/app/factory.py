"""Build the app's model from the teacher's controls (values may arrive as strings).

:func:`teaching_config` maps the few controls a teacher moves onto a scenario
config; :class:`TeachingModel` is the model class the page rebuilds on reset
with those keyword parameters. Invalid input never crashes the page: the model
falls back to the scenario as loaded and says why in :attr:`TeachingModel.notice`.
"""

from __future__ import annotations

import string
import threading
from typing import Any

from loyaltysim.app.snapshot import Recorder, Snapshot
from loyaltysim.config.errors import ConfigError
from loyaltysim.config.loading import apply_overrides, load_config, validate_config
from loyaltysim.config.schema import Config
from loyaltysim.i18n import _
from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["MAX_FIRMS", "NETWORK_CHOICES", "TeachingModel", "control_defaults", "teaching_config"]

MAX_FIRMS = 8
NETWORK_CHOICES = ("watts_strogatz", "barabasi_albert", "erdos_renyi", "none")
SOURCE = "app controls"


def _number(name: str, value: Any, kind: type[int] | type[float]) -> int | float:
    """``value`` (number or text) as ``kind``; a ConfigError naming the control otherwise."""
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {value!r}", source=SOURCE) from None
    if kind is int and not number.is_integer():
        raise ConfigError(f"{name}: expected a whole number, got {value!r}", source=SOURCE)
    return kind(number)


def _firms(base: Config, n_firms: int) -> list[dict[str, Any]]:
    """The scenario's first ``n_firms`` firms; beyond its list, identical entrants at its mean quality, promise and price."""
    firms = [firm.model_dump(mode="json") for firm in base.firms[:n_firms]]
    taken = {firm.name for firm in base.firms}
    free = (letter for letter in string.ascii_uppercase if letter not in taken)
    k = len(base.firms)
    for _entrant in range(n_firms - len(firms)):
        firms.append(
            {
                "name": next(free),
                "quality": round(sum(f.quality for f in base.firms) / k, 4),
                "promise": round(sum(f.promise for f in base.firms) / k, 4),
                "price": round(sum(f.price for f in base.firms) / k, 4),
            }
        )
    return firms


def teaching_config(
    base: Config,
    *,
    n_customers: Any = None,
    n_firms: Any = None,
    switching_cost: Any = None,
    loss_aversion: Any = None,
    wom_influence: Any = None,
    wom_negativity: Any = None,
    link: Any = None,
    network: Any = None,
    firm_quality: Any = None,
    firm_price: Any = None,
    firm_promise: Any = None,
    seed: Any = None,
) -> Config:
    """``base`` with the controls applied; ``None`` (or blank text) keeps the scenario's value.

    ``switching_cost`` sets the mean of the customers' switching cost and keeps
    its coefficient of variation (0 gives every customer zero). The firm controls
    change the first firm. The customer panel is turned off (the app does not show it).

    Raises
    ------
    ConfigError
        A control's value is not a number where one is needed, or the result is not a valid config.
    """
    given = {key: value for key, value in locals().items() if key != "base" and value is not None and str(value).strip() != ""}
    data = base.to_dict()
    overrides: dict[str, Any] = {"run.panel_size": 0}
    if "n_customers" in given:
        overrides["customers.n"] = _number("n_customers", given["n_customers"], int)
    if "n_firms" in given:
        n = _number("n_firms", given["n_firms"], int)
        if not 1 <= n <= MAX_FIRMS:
            raise ConfigError(f"n_firms: expected 1 to {MAX_FIRMS}, got {n}", source=SOURCE)
        data["firms"] = _firms(base, n)
    if "switching_cost" in given:
        mean = _number("switching_cost", given["switching_cost"], float)
        old = base.customers.switching_cost
        variation = old.sd / old.mean if old.mean > 0 else 0.0
        data["customers"]["switching_cost"] = (
            {"dist": "constant", "mean": mean}
            if mean == 0
            else {**old.model_dump(mode="json"), "mean": mean, "sd": mean * variation}
        )
    for control, path in (
        ("loss_aversion", "satisfaction.loss_aversion"),
        ("wom_influence", "word_of_mouth.influence"),
        ("wom_negativity", "word_of_mouth.negativity"),
        ("firm_quality", "firms.0.quality"),
        ("firm_price", "firms.0.price"),
        ("firm_promise", "firms.0.promise"),
    ):
        if control in given:
            overrides[path] = _number(control, given[control], float)
    if "link" in given:
        overrides["loyalty.link"] = str(given["link"]).strip()
    if "network" in given:
        overrides["network.type"] = str(given["network"]).strip()
    if "seed" in given:
        overrides["run.seed"] = _number("seed", given["seed"], int)
    return validate_config(apply_overrides(data, overrides), source=SOURCE)


class TeachingModel(LoyaltyModel):
    """The model behind the app: a scenario file plus the teacher's controls.

    Parameters
    ----------
    config_path
        Scenario YAML (``None``: the built-in defaults).
    n_customers, n_firms, switching_cost, loss_aversion, wom_influence, wom_negativity, link, network, \
    firm_quality, firm_price, firm_promise, seed
        The controls of :func:`teaching_config`, as numbers or text (``None``: the scenario's value).

    Attributes
    ----------
    notice
        Why the controls were not applied (empty when they were).
    snapshot
        What the views show: a frozen :class:`~loyaltysim.app.snapshot.Snapshot` of the last
        period, replaced (one assignment) after each step; readers never see a half-made step.
    controls
        The controls the model was built with (what Reset applied).
    """

    def __init__(
        self,
        *,
        config_path: str | None = None,
        n_customers: Any = None,
        n_firms: Any = None,
        switching_cost: Any = None,
        loss_aversion: Any = None,
        wom_influence: Any = None,
        wom_negativity: Any = None,
        link: Any = None,
        network: Any = None,
        firm_quality: Any = None,
        firm_price: Any = None,
        firm_promise: Any = None,
        seed: Any = None,
    ) -> None:
        controls = {key: value for key, value in locals().items() if key not in ("self", "config_path", "__class__")}
        base = load_config(config_path) if config_path else Config()
        self.notice = ""
        try:
            config = teaching_config(base, **controls)
        except ConfigError as exc:
            self.notice = _("{error} — showing the scenario as loaded instead.").format(error=exc)
            config = teaching_config(base)
        super().__init__(config)
        self.controls = control_defaults(config)
        self.lock = threading.Lock()
        self.recorder = Recorder(self)
        self.snapshot: Snapshot = self.recorder.snapshot(self)

    def step(self) -> None:
        """One period (see :meth:`LoyaltyModel.step`), then publish its snapshot; one step at a time."""
        with self.lock:
            super().step()
            self.snapshot = self.recorder.record(self)


def control_defaults(config: Config) -> dict[str, Any]:
    """The controls' values that reproduce ``config`` (the starting position of every slider)."""
    first = config.firms[0]
    return {
        "n_customers": config.customers.n,
        "n_firms": len(config.firms),
        "switching_cost": config.customers.switching_cost.mean,
        "loss_aversion": config.satisfaction.loss_aversion,
        "wom_influence": config.word_of_mouth.influence,
        "wom_negativity": config.word_of_mouth.negativity,
        "link": config.loyalty.link,
        "network": config.network.type,
        "firm_quality": first.quality,
        "firm_price": first.price,
        "firm_promise": first.promise,
        "seed": config.run.seed,
    }
