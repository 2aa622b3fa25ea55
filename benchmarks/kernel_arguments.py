"""What numba's dispatcher costs per call for the ways of passing a period's data to a kernel.

    python benchmarks/kernel_arguments.py

Each line times calls of a compiled function that does nothing (best of 5 repeats of 20,000 calls),
with the arguments of a 1,000-customer model: the previous engine's three kernels with 31, 12 and
34 separate arguments; this engine's one kernel with its arguments grouped in plain tuples and the
parameters as one float array; and a float array, a plain tuple of arrays and the named tuples they
become inside compiled code, passed from Python. See docs/performance.md ("Named, grouped arguments").
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load

from loyaltysim import LoyaltyModel
from loyaltysim.model import kernels, parameters


def per_call(args: tuple, number: int = 20_000) -> float:
    """Microseconds per call of a compiled function of ``len(args)`` parameters that does nothing."""
    names = ", ".join(f"a{i}" for i in range(len(args)))
    namespace: dict = {}
    exec(f"def nothing({names}):\n    return 0", namespace)  # numba's fast path needs named parameters, not *args
    nothing = njit(namespace["nothing"])
    nothing(*args)
    return min(timeit.repeat(lambda: nothing(*args), number=number, repeat=5)) / number * 1e6


def main() -> None:
    print(f"before: {load()}")
    model = LoyaltyModel(customers__n=1000)
    model.step()
    state, market, network = model.state, model.market, model.network
    values, record = parameters.pack(model.config), parameters.record(model.config)
    generators, x, firm = model.streams.typed(), state.satisfaction, state.firm
    message_sums, reached = np.zeros((10, 5, 2)), np.zeros(10, dtype=np.bool_)
    int_sums = [np.zeros((1, 2), dtype=np.int64), np.zeros((1, 4, 5), dtype=np.int64), np.zeros((1, 31, 2), dtype=np.int64)]
    experience = [generators, 4096, firm, state.tenure, state.belief, state.fit, x, state.trust, x, x, market.quality]
    experience += [market.consistency, market.price, market.promise, market.recovery_enabled, market.recovery_success, x]
    experience += [network.indptr, network.indices, 0.5, -1, 0, values, 1, values, x, x, x, firm, firm, firm]
    send = [4096, 1, firm, firm, network.indptr, firm, x, x, 2.0, message_sums, reached, int_sums[0]]
    respond = [generators, 4096, firm, state.tenure, state.belief, x, x, x, x, x, x, market.price, x, market.recovery_enabled]
    respond += [0, message_sums, reached, 0.1, x, x, firm, values, values, values, 1, values, firm, firm, firm, firm]
    respond += [int_sums[1], np.zeros((1, 5)), np.zeros((1, 4)), int_sums[2]]
    previous = [tuple(experience), tuple(send), tuple(respond)]
    work = tuple(np.zeros(3) for _ in kernels.Period._fields)
    grouped = (generators, (4096, 0, -1, 0), state.arrays(), market.arrays(), values, (network.indptr, network.indices), work)
    arrays = len(state.arrays()) + len(market.arrays()) + len(work) + 3
    print(f"previous period, 3 calls (31 + 12 + 34 arguments): {sum(per_call(args) for args in previous):6.2f} µs")
    print(f"this period, 1 call, grouped ({arrays} arrays):      {per_call(grouped):6.2f} µs")
    print(f"parameters as a float array: {per_call((values,)):.2f} µs, as a Parameters record: {per_call((record,)):.2f} µs")
    customers = kernels.Customers(*state.arrays())
    print(f"customers as a tuple: {per_call((state.arrays(),)):.2f} µs, as a Customers record: {per_call((customers,)):.2f} µs")
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
