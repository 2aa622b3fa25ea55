"""The model: behavioural rules, customer and firm state, network, random streams, the period loops,
metrics, and the Mesa model :class:`LoyaltyModel` that steps them."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loyaltysim.model.loyalty_model import LoyaltyModel

__all__ = ["LoyaltyModel"]


def __getattr__(name: str) -> Any:
    if name == "LoyaltyModel":  # imported on first use: it pulls in Mesa and pandas
        from loyaltysim.model.loyalty_model import LoyaltyModel

        return LoyaltyModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
