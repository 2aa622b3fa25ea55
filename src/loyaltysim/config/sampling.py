"""Drawing values of a configured :class:`~loyaltysim.config.schema.Distribution` (customers' attributes,
generated firms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from loyaltysim.config.schema import Distribution

__all__ = ["sample"]


def sample(dist: Distribution, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Draw ``n`` values of a configured distribution (clipped to ``low``/``high`` if given)."""
    mean, sd = dist.mean, dist.sd
    if dist.dist == "constant" or (sd == 0 and dist.dist != "uniform"):
        values = np.full(n, mean, dtype=np.float64)
    elif dist.dist == "normal":
        values = rng.normal(mean, sd, n)
    elif dist.dist == "lognormal":
        sigma2 = np.log1p((sd / mean) ** 2)
        values = rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), n)
    elif dist.dist == "gamma":
        shape = (mean / sd) ** 2
        values = rng.gamma(shape, mean / shape, n)
    elif dist.dist == "beta":
        common = mean * (1 - mean) / sd**2 - 1
        values = rng.beta(mean * common, (1 - mean) * common, n)
    else:  # uniform
        values = rng.uniform(dist.low, dist.high, n)
    if dist.low is not None or dist.high is not None:
        values = np.clip(values, dist.low, dist.high)
    return values
