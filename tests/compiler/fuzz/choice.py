"""Where a generator's random decisions come from: a seeded `random.Random` (the big
campaign) or hypothesis' `data.draw` (CI, with shrinking). Generators only talk to a
`Chooser`, so one generator serves both drivers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Chooser:
    """The decisions a scenario generator may ask for."""

    closure_step = False  # set by generators whose step takes a closure (LBFGS)

    def integer(self, lo: int, hi: int) -> int:   # inclusive bounds
        raise NotImplementedError

    def choice(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items) - 1)]

    def boolean(self) -> bool:
        return self.integer(0, 1) == 1

    def real(self, lo: float, hi: float) -> float:
        """A float in [lo, hi] on a grid of 1/100 steps, so the source stays readable."""
        steps = max(1, round((hi - lo) * 100))
        return round(lo + (hi - lo) * self.integer(0, steps) / steps, 2)

    def subset(self, items: Sequence[T], min_size: int = 0) -> list[T]:
        picked = [x for x in items if self.boolean()]
        while len(picked) < min_size:
            extra = self.choice(items)
            if extra not in picked:
                picked.append(extra)
        return picked


class RandomChooser(Chooser):
    """Decisions from ``random.Random(seed)``: the same seed gives the same scenario."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class HypothesisChooser(Chooser):
    """Decisions drawn from a hypothesis ``data`` object (``st.data()``), so failures shrink
    to the simplest decisions (low integers, first choices)."""

    def __init__(self, data):
        from hypothesis import strategies as st

        self.data = data
        self._st = st

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self._st.integers(lo, hi))
