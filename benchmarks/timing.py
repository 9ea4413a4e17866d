"""The one timer the side-by-side benchmarks share."""

from __future__ import annotations

import statistics
import time


def median_time(fn, runs: int, warmup: int = 3) -> float:
    """Median wall time of `runs` calls of `fn` (seconds), after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
