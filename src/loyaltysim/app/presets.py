"""Preset scenarios of the teaching app: the files in ``configs/`` and a "what to try" text for each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loyaltysim.config.loading import load_config
from loyaltysim.config.schema import Config

__all__ = ["CONFIG_DIR", "PRESETS", "Preset", "load_preset", "preset_for"]

CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs"


@dataclass(frozen=True)
class Preset:
    """A named scenario file with a short guide for the classroom."""

    name: str
    title: str
    file: str
    what_to_try: tuple[str, ...]

    @property
    def path(self) -> Path:
        """The scenario file in ``configs/``."""
        return CONFIG_DIR / self.file


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "baseline",
            "Baseline: five firms",
            "baseline.yaml",
            (
                "Press **Step** a few times: customers drift towards the better firms (D and E).",
                "Set the **link** to `linear`, then `threshold`, and press **Reset**: with a threshold, "
                "loyalty stays low until satisfaction passes it.",
                "Raise the **mean switching cost** and reset: churn falls, even among the dissatisfied.",
                "Raise **word-of-mouth negativity** and reset: complaints travel, and the weak firms lose share faster.",
            ),
        ),
        Preset(
            "near_monopoly",
            "Near-monopoly: one incumbent",
            "near_monopoly.yaml",
            (
                "Play the run: many customers are neutral or dissatisfied, yet few leave — "
                "false loyalty, kept by high switching costs and a weak rival.",
                "Lower the **mean switching cost** to 1 and reset: watch the rival's share once leaving is cheap.",
                "Raise the incumbent's **quality** to its **promise** and reset: compare satisfaction and churn.",
            ),
        ),
        Preset(
            "fierce_competition",
            "Fierce competition: eight firms",
            "fierce_competition.yaml",
            (
                "Play the run and watch the scatter: red crosses are customers who left although satisfied "
                "(satisfaction ≥ 0.6) — the satisfaction trap.",
                "In **churn by satisfaction band**, satisfied customers still leave every year.",
                "Raise the **mean switching cost** and reset: how many satisfied defectors remain?",
                "Cut the number of **firms** to 2 and reset: with fewer alternatives, who still moves?",
            ),
        ),
        Preset(
            "loyalty_programme",
            "Loyalty programme: firm C",
            "loyalty_programme.yaml",
            (
                "Follow firm C in **market share**: its programme adds to its members' switching cost.",
                "Raise **loss aversion** and reset: bad experiences weigh more, so service recovery matters more.",
                "Switch to the baseline preset with the same seed and compare firm C's share.",
            ),
        ),
        Preset(
            "service_failure",
            "Service failure: firm E at month 24",
            "service_failure.yaml",
            (
                "Play past month 24: firm E's quality drops while its promise stays high. Watch its customers' "
                "satisfaction and its **market share** fall.",
                "Set **word-of-mouth strength** to 0 and reset: E still loses its own customers, but do the "
                "others keep choosing it for longer?",
                "Raise the **mean switching cost** and reset: E keeps its disappointed customers. Are they loyal?",
            ),
        ),
    )
}

CUSTOM_TEXT = (
    "Press **Step** and watch market share, satisfaction and churn move.",
    "Change one control at a time and press **Reset** to rebuild the market with it.",
    "Keep the **seed** fixed to compare two settings on the same random draws.",
)


def preset_for(path: str | Path) -> Preset:
    """The preset of a scenario file, or a custom entry named after the file."""
    path = Path(path).resolve()
    for preset in PRESETS.values():
        if preset.path == path:
            return preset
    return Preset(f"custom:{path.stem}", f"Your scenario: {path.name}", str(path), CUSTOM_TEXT)


def load_preset(preset: Preset) -> Config:
    """The validated config of a preset (raises ConfigError on a bad file)."""
    return load_config(preset.path)
