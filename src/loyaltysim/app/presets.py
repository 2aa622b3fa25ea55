"""Preset scenarios of the teaching app: the files in ``configs/`` with an Info panel each.

The Info panel follows NetLogo's Info tab: what it is, how it works, how to use it,
things to notice, things to try. Every "thing to try" is a :class:`Tip` that names the
controls it changes, the number it says will move and in which direction; the test
suite checks each one over several seeds (``tests/test_app_tips.py``). Texts are
marked for translation (:mod:`loyaltysim.i18n`) and translated when shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loyaltysim.config.loading import SHIPPED_CONFIGS, load_config
from loyaltysim.config.schema import Config
from loyaltysim.i18n import N_

__all__ = ["CONFIG_DIR", "CUSTOM_TEXT", "HOW_IT_WORKS", "HOW_TO_USE", "PRESETS", "Preset", "Tip", "load_preset", "preset_for"]

CONFIG_DIR = SHIPPED_CONFIGS


@dataclass(frozen=True)
class Tip:
    """A thing to try, and the claim it makes: ``metric`` moves in ``direction`` (+1 up, −1 down).

    With ``change`` (app controls and their new values) the claim compares the changed run
    with the untouched one at period ``at``; without, it compares period ``since`` with
    period ``at`` of the untouched run (a thing to watch while it plays). ``metric`` is a
    name understood by :func:`loyaltysim.app.tips.measure`; ``margin`` is the least
    difference that counts as visible.
    """

    text: str
    metric: str
    direction: int
    at: int
    change: dict[str, Any] = field(default_factory=dict)
    since: int = 1
    margin: float = 0.02


@dataclass(frozen=True)
class Preset:
    """A named scenario file with its Info panel."""

    name: str
    title: str
    file: str
    what: str
    notice: tuple[str, ...]
    tips: tuple[Tip, ...]

    @property
    def path(self) -> Path:
        """The scenario file (in ``configs/`` unless an absolute path)."""
        return CONFIG_DIR / self.file

    @property
    def what_to_try(self) -> tuple[str, ...]:
        """The texts of the things to try."""
        return tuple(tip.text for tip in self.tips)


HOW_IT_WORKS = (
    N_(
        "Each period every customer buys from its firm and compares what it got (the firm's quality plus luck) "
        "with what it expected. Falling short hurts more than doing better pleases (**loss aversion**)."
    ),
    N_(
        "Satisfaction builds up over many purchases. **Loyalty** follows satisfaction through the chosen **link**: "
        "a straight line, or a threshold past which loyalty jumps."
    ),
    N_(
        "A customer leaves when another firm looks clearly better than its own firm plus its loyalty and its "
        "**switching cost**. So satisfied customers can still leave, and unhappy ones can stay."
    ),
    N_(
        "Customers who are very happy or very unhappy tell their neighbours in the network (**word of mouth**); "
        "what they hear changes what they expect of each firm."
    ),
)

HOW_TO_USE = (
    N_("**Step** runs one period; **▶ Play** runs until you press **❚❚ Pause** or the run ends."),
    N_("Move a control, then press **Reset**: the market is rebuilt with it (the page tells you when a change waits)."),
    N_("Keep the **seed** to compare two settings on the same random draws; change it to see another market."),
    N_("Dotted vertical lines mark quality shocks and market entries."),
)

_NEWCOMER_SLOWED = Tip(
    N_("Raise the **mean switching cost** to 12 and press **Reset**: New grows more slowly."),
    "share:New",
    -1,
    at=60,
    change={"switching_cost": 12},
)
"""A thing to try in both markets with a newcomer (market entry, online reviews)."""

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "baseline",
            N_("Baseline: five firms"),
            "baseline.yaml",
            N_(
                "Five firms of slightly different quality (A worst, E best) compete for customers who talk over "
                "a small-world network. Switching costs are moderate and loyalty has a threshold."
            ),
            (
                N_("Market share moves slowly: customers need many purchases to learn which firm is better."),
                N_("In **Satisfaction → loyalty**, loyalty stays low until satisfaction passes the threshold."),
            ),
            (
                Tip(
                    N_("Press **▶ Play**: customers drift to the better firms, and E's market share grows."),
                    "share:E",
                    +1,
                    at=36,
                ),
                Tip(
                    N_("Set the **link** to `linear` and press **Reset**: customers are more loyal on average."),
                    "mean_loyalty",
                    +1,
                    at=36,
                    change={"link": "linear"},
                ),
                Tip(
                    N_("Raise the **mean switching cost** to 12 and press **Reset**: churn falls."),
                    "churn",
                    -1,
                    at=36,
                    change={"switching_cost": 12},
                ),
            ),
        ),
        Preset(
            "near_monopoly",
            N_("Near-monopoly: one incumbent"),
            "near_monopoly.yaml",
            N_(
                "An incumbent of middling quality that promises more than it delivers and starts with four customers "
                "in five, a small rival slightly better and cheaper, and high switching costs. The rival gains slowly: "
                "after ten years the incumbent still holds about half the market."
            ),
            (
                N_("Many customers are neutral or dissatisfied, yet few leave: false loyalty, kept by the cost of leaving."),
                N_("Look at **Lost a year, by satisfaction**: even the dissatisfied mostly stay."),
            ),
            (
                Tip(
                    N_(
                        "Lower the **mean switching cost** to 1 and press **Reset**: "
                        "the rival wins customers once leaving is cheap."
                    ),
                    "share:Rival",
                    +1,
                    at=36,
                    change={"switching_cost": 1},
                ),
                Tip(
                    N_(
                        "Raise the incumbent's **quality** to its **promise** (0.6) and press **Reset**: "
                        "its customers are more satisfied."
                    ),
                    "firm_satisfaction:Incumbent",
                    +1,
                    at=36,
                    change={"firm_quality": 0.6},
                ),
            ),
        ),
        Preset(
            "fierce_competition",
            N_("Fierce competition: eight firms"),
            "fierce_competition.yaml",
            N_("Eight similar firms, low switching costs and some variety seeking."),
            (
                N_(
                    "In **Satisfaction → loyalty**, red crosses are customers who left although satisfied: the satisfaction trap."
                ),
                N_("In **Lost a year, by satisfaction**, satisfied customers still leave every year."),
            ),
            (
                Tip(
                    N_("Raise the **mean switching cost** to 10 and press **Reset**: far fewer satisfied customers leave."),
                    "satisfied_churn",
                    -1,
                    at=36,
                    change={"switching_cost": 10},
                ),
            ),
        ),
        Preset(
            "loyalty_programme",
            N_("Loyalty programme: firm C"),
            "loyalty_programme.yaml",
            N_(
                "The baseline market, but firm C runs a membership programme (leaving it costs its members more) and "
                "recovers failed service."
            ),
            (N_("Follow firm C in **Market share**: it holds its customers better than its quality alone would."),),
            (
                Tip(
                    N_("Raise **loss aversion** to 4 and press **Reset**: bad experiences weigh more, and satisfaction falls."),
                    "mean_satisfaction",
                    -1,
                    at=36,
                    change={"loss_aversion": 4},
                ),
                Tip(
                    N_("Lower the **mean switching cost** to 1 and press **Reset**: churn rises for every firm."),
                    "churn",
                    +1,
                    at=36,
                    change={"switching_cost": 1},
                ),
            ),
        ),
        Preset(
            "service_failure",
            N_("Service failure: firm E at month 24"),
            "service_failure.yaml",
            N_(
                "The baseline market; at month 24 the best firm, E, drops in quality from 0.75 to 0.50 "
                "while still promising 0.75."
            ),
            (
                N_("A dotted line marks the failure at month 24."),
                N_("E's customers complain to their neighbours: watch the rings (talkers) in the network after month 24."),
            ),
            (
                Tip(
                    N_("Play past month 24: the satisfaction of E's customers drops."),
                    "firm_satisfaction:E",
                    -1,
                    at=36,
                    since=23,
                ),
                Tip(
                    N_("Play on to month 60: E's market share falls."),
                    "share:E",
                    -1,
                    at=60,
                    since=24,
                ),
                Tip(
                    N_(
                        "Raise the **mean switching cost** to 12 and press **Reset**: E keeps more of its disappointed customers."
                    ),
                    "share:E",
                    +1,
                    at=60,
                    change={"switching_cost": 12},
                ),
            ),
        ),
        Preset(
            "market_entry",
            N_("Market entry: a better newcomer at month 24"),
            "market_entry.yaml",
            N_(
                "The baseline market; at month 24 a new firm, New, enters with clearly better quality (0.85) but a "
                "modest promise (0.65). Customers learn of it only by trying it or by word of mouth."
            ),
            (N_("A dotted line marks the entry at month 24."),),
            (
                Tip(
                    N_("Play on to month 60: New's market share grows as word of its quality spreads."),
                    "share:New",
                    +1,
                    at=60,
                    since=25,
                ),
                _NEWCOMER_SLOWED,
            ),
        ),
        Preset(
            "online_reviews",
            N_("Online reviews: a better newcomer, rated in public"),
            "online_reviews.yaml",
            N_(
                "The market-entry market with a public review platform: customers post their ratings, most often when "
                "delighted or angry, and everyone reads each firm's average rating and number of reviews. A firm "
                "nobody has tried feels risky, less so the more reviews it has."
            ),
            (
                N_(
                    "Customers read the reviews of firms they have never tried, so New's quality reaches customers "
                    "far from its buyers in the network."
                ),
                N_(
                    "Almost every firm's average rating is above 4 stars: those who post are mostly happy customers "
                    "of the firm they chose."
                ),
                N_("A newcomer with few reviews feels risky: its first customers are the hardest to win."),
            ),
            (
                Tip(
                    N_("Play on to month 60: New's market share grows as its reviews pile up."),
                    "share:New",
                    +1,
                    at=60,
                    since=25,
                ),
                _NEWCOMER_SLOWED,
            ),
        ),
        Preset(
            "identification",
            N_("Brand identification: delighted customers, then E fails"),
            "identification.yaml",
            N_(
                "The service-failure market, but customers come to identify with their firm's brand: every purchase "
                "that delights them adds a little identification, every other purchase lets a little fade, and "
                "identification carries a fifth of their loyalty. Switching firms loses it. At month 48 the best "
                "firm, E, drops in quality from 0.75 to 0.50 while still promising 0.75."
            ),
            (
                N_("A dotted line marks the failure at month 48."),
                N_(
                    "Identification starts at zero and builds slowly: after four years it is still below most "
                    "customers' loyalty, so at first it makes them a little less loyal, not more."
                ),
                N_("After its failure E loses about as much market share as it would without identification."),
            ),
            (
                Tip(
                    N_("Play from month 12 to month 47: customers grow more loyal as their identification builds up."),
                    "mean_loyalty",
                    +1,
                    at=47,
                    since=12,
                ),
                Tip(
                    N_("Play past month 48: the satisfaction of E's customers drops."),
                    "firm_satisfaction:E",
                    -1,
                    at=60,
                    since=47,
                ),
                Tip(
                    N_("Play on to month 96: E's market share falls, although its customers had come to identify with it."),
                    "share:E",
                    -1,
                    at=96,
                    since=48,
                ),
                Tip(
                    N_(
                        "Raise the **mean switching cost** to 12 and press **Reset**: E keeps more of its disappointed customers."
                    ),
                    "share:E",
                    +1,
                    at=96,
                    change={"switching_cost": 12},
                ),
            ),
        ),
        Preset(
            "win_back",
            N_("Win-back: firm C regains lost customers"),
            "win_back.yaml",
            N_(
                "The baseline market, but firm C manages its lost customers: it records who left and why, and for "
                "four months after they leave contacts them with an offer and an apology that fixes what went wrong. "
                "Customers who left dissatisfied are the hardest to win back, those lured away by a rival's offer the easiest."
            ),
            (
                N_("The headline counts each month the lost customers C contacted and those who came back."),
                N_(
                    "A customer won back starts afresh with C, expecting what it expected when it left: "
                    "if C's service has not changed, many leave again."
                ),
            ),
            (
                Tip(
                    N_(
                        "Lower the **mean switching cost** to 1 and press **Reset**: more customers leave, "
                        "and firm C wins more of them back."
                    ),
                    "win_backs",
                    +1,
                    at=36,
                    change={"switching_cost": 1},
                ),
            ),
        ),
        Preset(
            "targeting",
            N_("Targeting: firm C's most valuable customers"),
            "targeting.yaml",
            N_(
                "The baseline market, but firm C gives the quarter of its customers who brought it most revenue "
                "special treatment: leaving C costs them more. It pays for each of them every month and picks them "
                "anew every six months."
            ),
            (
                N_("The headline compares how many of C's targeted customers stay with how many of its other customers stay."),
                N_("The customers who brought most revenue are those who stayed longest: many would have stayed anyway."),
            ),
            (
                Tip(
                    N_(
                        "Lower the **mean switching cost** to 1 and press **Reset**: "
                        "C's customers without special treatment stay less often."
                    ),
                    "untargeted_retention",
                    -1,
                    at=36,
                    change={"switching_cost": 1},
                ),
            ),
        ),
        Preset(
            "stickiness",
            N_("Stickiness: purchases follow satisfaction"),
            "stickiness.yaml",
            N_(
                "The baseline market, but customers buy more or less often: each needs 1.5 purchases a month and gives "
                "its firm a share of them that rises with its satisfaction and loyalty (its share of wallet); "
                "the rest goes to other shops."
            ),
            (
                N_("The headline shows purchases per customer and the share of wallet this month."),
                N_("A satisfied customer is worth more than one who merely stays: it also buys more."),
            ),
            (
                Tip(
                    N_(
                        "Raise **loss aversion** to 4 and press **Reset**: customers are less satisfied "
                        "and give their firms a smaller share of their wallet."
                    ),
                    "share_of_wallet",
                    -1,
                    at=36,
                    change={"loss_aversion": 4},
                ),
            ),
        ),
    )
}

CUSTOM_TEXT = (
    N_("Press **Step** and watch market share, satisfaction and churn move."),
    N_("Change one control at a time and press **Reset** to rebuild the market with it."),
    N_("Keep the **seed** fixed to compare two settings on the same random draws."),
)


def preset_for(path: str | Path) -> Preset:
    """The preset of a scenario file, or a custom entry named after the file (with general tips, no claims)."""
    path = Path(path).resolve()
    for preset in PRESETS.values():
        if preset.path == path:
            return preset
    notice = CUSTOM_TEXT
    return Preset(f"custom:{path.stem}", path.name, str(path), "", notice, ())


def load_preset(preset: Preset) -> Config:
    """The validated config of a preset (raises ConfigError on a bad file)."""
    return load_config(preset.path)
