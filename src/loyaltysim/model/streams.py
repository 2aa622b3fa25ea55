"""The random streams of a run: one generator per block of customers.

Customers are split into consecutive blocks of :data:`BLOCK`; block ``b`` draws every random number
of its customers from its own ``numpy.random.Generator``, spawned from the model's generator (so a
run is still a pure function of (config, seed)). Blocks can therefore draw and run in parallel, and
the numbers a customer gets do not depend on how many threads run or in what order blocks finish.

Each period, block ``b`` (customers ``a … z−1``, ``L = z − a`` of them) draws, in this order:

1. ``standard_normal(L)``: performance noise; ``random((r, L))``: the uniform rows switched on for the
   run, recovery then talk (r = 0, 1 or 2);
2. if the talk row was drawn: ``random(m)``, one delivery draw per neighbour of each of the block's
   talkers, talkers in customer order, neighbours in stored order;
3. ``standard_normal((2, L))``: rating and recommendation noise; ``random((r', L))``: variety,
   consider, offer and rival (each if switched on), then choice.

:func:`loyaltysim.model.engine.draw_experience`, :meth:`CustomerStreams.deliveries` and
:func:`loyaltysim.model.engine.draw_response` draw these with numpy; the compiled kernels draw the same
numbers in the same order (numba's generators reproduce numpy's).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba.typed import List
from numpy.typing import NDArray

from loyaltysim.model.jit import compiled

__all__ = ["BLOCK", "CustomerStreams"]

BLOCK = 4096
"""Customers per random stream (and per parallel work item of the compiled kernels)."""


@dataclass
class CustomerStreams:
    """One generator per block of ``block`` customers (the last block may be shorter)."""

    generators: list[np.random.Generator]
    n: int
    block: int = BLOCK
    _typed: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def spawn(cls, rng: np.random.Generator, n: int, block: int = BLOCK) -> CustomerStreams:
        """Streams for ``n`` customers, spawned from ``rng`` (its own stream is not consumed)."""
        if block < 1:
            raise ValueError(f"block must be at least 1, got {block}")
        return cls(rng.spawn(-(-n // block)), n, block)

    @property
    def bounds(self) -> list[tuple[int, int]]:
        """First and one-past-last customer of each block."""
        return [(start, min(start + self.block, self.n)) for start in range(0, self.n, self.block)]

    def typed(self):
        """The generators as a numba typed list (built once, by compiled code that numba caches: building it
        from Python compiles the typed list's methods anew in every process, about 0.3 s), for the kernels."""
        if self._typed is None:
            self._typed = _typed_list(self.generators[0])
            for generator in self.generators[1:]:
                _append(self._typed, generator)
        return self._typed

    def copy(self) -> CustomerStreams:
        """Independent generators in the same state (what the reference model steps with)."""
        return CustomerStreams([copy.deepcopy(g) for g in self.generators], self.n, self.block)

    def normal_rows(self, rows: int) -> NDArray[np.float64]:
        """``rows`` standard-normal rows of length n, each block drawing its slice."""
        return np.concatenate(
            [g.standard_normal((rows, z - a)) for g, (a, z) in zip(self.generators, self.bounds, strict=True)], axis=1
        )

    def uniform_rows(self, rows: int) -> NDArray[np.float64]:
        """``rows`` uniform rows of length n, each block drawing its slice."""
        return np.concatenate([g.random((rows, z - a)) for g, (a, z) in zip(self.generators, self.bounds, strict=True)], axis=1)

    def deliveries(self, talkers: NDArray[np.int64], degree: NDArray[np.int64]) -> NDArray[np.float64]:
        """One uniform per neighbour of each talker (talkers ascending), drawn by the talker's block."""
        block_of = talkers // self.block
        needed = np.bincount(block_of, weights=degree[talkers], minlength=len(self.generators)).astype(np.int64)
        return np.concatenate([g.random(m) for g, m in zip(self.generators, needed.tolist(), strict=True)])


def _typed_list(first: np.random.Generator) -> List:
    """A numba typed list holding ``first``."""
    generators = List()
    generators.append(first)
    return generators


def _append(generators: List, generator: np.random.Generator) -> None:
    """Append ``generator`` to a typed list of generators."""
    generators.append(generator)


_typed_list = compiled(_typed_list)
_append = compiled(_append)
