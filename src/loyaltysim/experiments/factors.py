"""Factors: the one declaration of a varied input, used by grids, every sampled design and SALib.

A factor is a list of ``values``, a range ``{low, high}`` or a distribution, written in the
values a YAML reader expects (a triangular ``peak`` is the most likely value itself, not a
fraction of the range). Sampled designs draw in *sampling space* (:meth:`Factor.salib_bounds`:
index space for lists, log10 for ``log: true``, quantiles [0, 1] for distributions) and map each
draw to a value with :meth:`Factor.from_unit`, so every design samples every distribution the same
way and SALib analyses the matrix it sampled.

Examples
--------
>>> f = Factor.model_validate({"dist": "triangular", "low": 0.5, "high": 10.5, "peak": 2.5})
>>> f.salib_bounds(), round(f.from_unit(0.2), 3), f.describe()
([0.0, 1.0], 2.5, 'triangular on [0.5, 10.5], peak 2.5')
>>> salib_problem({"x": Factor(low=0, high=1), "y": Factor(values=["a", "b"])})
{'num_vars': 2, 'names': ['x', 'y'], 'bounds': [[0.0, 1.0], [0.0, 2.0]]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loyaltysim.config.errors import from_validation_error
from loyaltysim.config.explain import iter_keys, markdown_table

__all__ = ["Factor", "factor_reference", "level_key", "parse_factors", "salib_problem"]

_RENAMED = {
    "loguniform": "write a log-uniform range as {low, high, log: true}",
    "truncnormal": "write a cut normal as {dist: normal, mean, sd, low, high}",
}


def level_key(value: Any) -> str:
    """How a listed value is named in ``levels`` (YAML's ``true`` is ``'true'``, 0.5 is ``'0.5'``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class Factor(BaseModel):
    """One varied config value: a list of ``values``, a range ``{low, high}``, or a distribution.

    In YAML a plain list means ``{values: [...]}``. In a sampled design (lhs, sobol, morris, fast)
    a list is sampled as a categorical factor (each value equally likely); a range is sampled
    uniformly, on a log scale with ``log: true``, and floored to whole numbers with ``integer:
    true`` (each integer of ``[low, high]`` equally likely). ``dist`` samples other distributions
    by their quantiles: ``triangular`` on ``[low, high]`` with its mode at ``peak``; ``normal`` and
    ``lognormal`` with ``mean`` and ``sd`` (of the values), cut to ``[low, high]`` where given.
    Factors sharing a ``group`` move together in Sobol' and Morris designs (one index per group).
    With ``paths`` one value is set at several config paths (a linked factor, one input to every design).
    A grid needs lists.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    values: list[Any] | None = Field(None, min_length=1, description="the values to try (a plain list means this)")
    low: float | None = Field(None, description="lower bound of a range (normal, lognormal: optional cut)")
    high: float | None = Field(None, description="upper bound of a range (normal, lognormal: optional cut)")
    dist: Literal["uniform", "triangular", "normal", "lognormal"] = Field(
        "uniform", description="distribution of sampled values (sampled designs), sampled by its quantiles"
    )
    peak: float | None = Field(None, description="triangular: the most likely value, within [low, high]")
    mean: float | None = Field(None, description="normal, lognormal: mean of the values")
    sd: float | None = Field(None, gt=0, description="normal, lognormal: standard deviation of the values")
    log: bool = Field(False, description="uniform range: sample uniformly on a log scale (low > 0)")
    integer: bool = Field(False, description="uniform range: whole numbers only (low and high are included)")
    group: str | None = Field(None, min_length=1, description="sobol, morris: factors of a group move together, one index")
    paths: list[str] | None = Field(
        None, min_length=1, description="config paths set to this factor's value (a linked factor; default: its name)"
    )
    label: str | None = Field(None, min_length=1, description="name shown in figures and reports (default: the path)")
    levels: dict[str, str] | None = Field(None, description="labels of listed values in figures, e.g. {'false': 'no programme'}")

    @model_validator(mode="before")
    @classmethod
    def _list_means_values(cls, data: object) -> object:
        if isinstance(data, list):
            return {"values": data}
        if isinstance(data, Mapping) and data.get("dist") in _RENAMED:
            raise ValueError(f"dist {data['dist']} is not a distribution name: {_RENAMED[data['dist']]}")
        return data

    @field_validator("levels", mode="before")
    @classmethod
    def _level_keys(cls, value: object) -> object:
        return {level_key(k): v for k, v in value.items()} if isinstance(value, Mapping) else value

    @model_validator(mode="after")
    def _check(self) -> Factor:
        is_range = self.low is not None or self.high is not None
        moments = self.dist in ("normal", "lognormal")
        given = [name for name in ("peak", "mean", "sd") if getattr(self, name) is not None]
        if self.values is not None:
            if is_range or given or self.dist != "uniform":
                raise ValueError("give either a list of values or a range/distribution, not both")
            if self.log or self.integer:
                raise ValueError("log and integer apply to ranges {low, high}, not to lists of values")
            return self
        for name in ("low", "high", "mean", "sd", "peak"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if self.dist != "uniform" and (self.log or self.integer):
            raise ValueError(f"log and integer apply to uniform ranges, not to dist {self.dist}")
        applies = {"peak": self.dist == "triangular", "mean": moments, "sd": moments}
        unexpected = [name for name in given if not applies[name]]
        if unexpected:
            raise ValueError(f"{', '.join(unexpected)} does not apply to dist {self.dist}")
        if moments:
            if self.mean is None or self.sd is None:
                raise ValueError(f"dist {self.dist} needs mean and sd")
            if self.dist == "lognormal" and self.mean <= 0:
                raise ValueError(f"dist lognormal needs mean > 0, got {self.mean}")
            if self.low is not None and self.high is not None and self.low >= self.high:
                raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high (or give a list of values)")
        if self.low >= self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.dist == "triangular" and (self.peak is None or not self.low <= self.peak <= self.high):
            raise ValueError(f"dist triangular needs peak within [low, high] (the most likely value), got {self.peak}")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, got {self.low}")
        if self.integer and not (self.low.is_integer() and self.high.is_integer()):
            raise ValueError(f"integer: true needs whole-number bounds, got {self.low} and {self.high}")
        return self

    def config_paths(self, name: str) -> list[str]:
        """The config paths this factor sets: ``paths``, or its name."""
        return list(self.paths) if self.paths else [name]

    @property
    def is_range(self) -> bool:
        """True for a range or a distribution, False for a list of values."""
        return self.values is None

    def describe(self) -> str:
        """The factor in a few words, as reports show it (``0.5–10``, ``normal(0.2, 0.05) cut to [0, ∞)``)."""
        if not self.is_range:
            return ", ".join(map(str, self.values))
        if self.dist == "uniform":
            kind = "integers " if self.integer else "log-uniform " if self.log else ""
            return f"{kind}{self.low:g}–{self.high:g}"
        if self.dist == "triangular":
            return f"triangular on [{self.low:g}, {self.high:g}], peak {self.peak:g}"
        cut = ""
        if self.low is not None or self.high is not None:
            low = "-∞" if self.low is None else f"{self.low:g}"
            high = "∞" if self.high is None else f"{self.high:g}"
            cut = f" cut to [{low}, {high}]"
        return f"{self.dist}(mean {self.mean:g}, sd {self.sd:g}){cut}"

    def salib_bounds(self) -> list[float]:
        """Bounds of this factor in the space SALib samples (index space for lists, log10 for ``log``,
        quantiles [0, 1] for the other distributions)."""
        if not self.is_range:
            return [0.0, float(len(self.values))]
        if self.dist != "uniform":
            return [0.0, 1.0]
        low, high = self.low, self.high + (1.0 if self.integer else 0.0)
        return [math.log10(low), math.log10(high)] if self.log else [low, high]

    def from_unit(self, x: float) -> Any:
        """The config value for a sample ``x`` drawn within :meth:`salib_bounds`."""
        if not self.is_range:
            return self.values[min(math.floor(x), len(self.values) - 1)]
        if self.dist != "uniform":
            return self._quantile(x)
        value = 10.0**x if self.log else float(x)
        if self.integer:
            return int(min(math.floor(value), self.high))
        return float(min(max(value, self.low), self.high))

    def _quantile(self, q: float) -> float:
        """The value at quantile ``q`` of the distribution (cut to [low, high] where given)."""
        from scipy import stats

        if self.dist == "triangular":
            width = self.high - self.low
            law = stats.triang((self.peak - self.low) / width, loc=self.low, scale=width)
        elif self.dist == "normal":
            law = stats.norm(self.mean, self.sd)
        else:  # lognormal with this mean and sd, as customers' attribute distributions are
            sigma2 = math.log1p((self.sd / self.mean) ** 2)
            law = stats.lognorm(math.sqrt(sigma2), scale=math.exp(math.log(self.mean) - sigma2 / 2))
        below = law.cdf(self.low) if self.low is not None else 0.0
        above = law.cdf(self.high) if self.high is not None else 1.0
        p = below + q * (above - below)
        if self.low is None:  # an open tail: its extreme is the 1e-12 quantile, not infinity
            p = max(p, 1e-12)
        if self.high is None:
            p = min(p, 1.0 - 1e-12)
        value = float(law.ppf(p))
        return min(max(value, self.low if self.low is not None else -math.inf), self.high if self.high is not None else math.inf)

    def edge_values(self) -> list[Any]:
        """Values checked against the config schema at load time (every value, both bounds, or the
        distribution's extreme quantiles)."""
        if not self.is_range:
            return list(self.values)
        if self.dist != "uniform":
            return [self._quantile(0.0), self._quantile(1.0)]
        return [int(self.low), int(self.high)] if self.integer else [self.low, self.high]


def parse_factors(factors: Mapping[str, Any], *, source: str | None = None) -> dict[str, Factor]:
    """Factor declarations (name → :class:`Factor`, mapping or list) as validated factors, names kept in order.

    Raises
    ------
    ConfigError
        Naming ``factors.<name>`` and what is wrong with it.
    """
    parsed = {}
    for name, spec in factors.items():
        try:
            parsed[name] = spec if isinstance(spec, Factor) else Factor.model_validate(spec)
        except ValidationError as exc:
            raise from_validation_error(exc, Factor, source=source, prefix=f"factors.{name}") from None
    return parsed


def salib_problem(factors: Mapping[str, Factor]) -> dict[str, Any]:
    """The SALib problem of ``factors`` in sampling space: ``num_vars``, ``names``, ``bounds`` (and ``groups``).

    With groups, every factor is in one: a factor without a ``group`` is a group of its own.
    """
    problem: dict[str, Any] = {
        "num_vars": len(factors),
        "names": list(factors),
        "bounds": [f.salib_bounds() for f in factors.values()],
    }
    if any(f.group for f in factors.values()):
        problem["groups"] = [f.group or name for name, f in factors.items()]
    return problem


def factor_reference() -> str:
    """The keys of a factor as a Markdown table (docs/sweeps.md shows it; a test keeps the two equal)."""
    return "\n".join(markdown_table(iter_keys(Factor, "", Factor.model_construct()))) + "\n"
