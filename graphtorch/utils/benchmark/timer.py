"""`Timer` and `Measurement` (see the package docstring)."""

from __future__ import annotations

import statistics
import timeit
from dataclasses import dataclass, field

from ...threads import get_num_threads, set_num_threads


@dataclass
class TaskSpec:
    """What was timed: the statement, its setup and the labels `Compare` groups by."""

    stmt: str
    setup: str = "pass"
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        return self.stmt


@dataclass
class Measurement:
    """Runs of one statement: `raw_times` (seconds per block of `number_per_run` runs),
    `times` (seconds per run), and their `mean`, `median`, `iqr`."""

    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: dict | None = None
    times: list = field(init=False)

    def __post_init__(self):
        self.times = [t / self.number_per_run for t in self.raw_times]

    def __getattr__(self, name):  # stmt, label, sub_label, ... as PyTorch's
        if name in ("stmt", "setup", "label", "sub_label", "description", "env",
                    "num_threads", "title"):
            return getattr(self.task_spec, name)
        raise AttributeError(name)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def iqr(self) -> float:
        if len(self.times) < 2:
            return 0.0
        q = statistics.quantiles(self.times, n=4, method="inclusive")
        return q[2] - q[0]

    def __repr__(self):
        spec = self.task_spec
        lines = [f"<{type(self).__module__}.{type(self).__name__} object at {id(self):#x}>",
                 spec.title]
        if spec.description:
            lines.append(spec.description)
        elif spec.label is None and spec.setup != "pass":
            lines.append(f"setup: {spec.setup}")
        many = len(self.times) > 1
        lines.append(f"  {'Median: ' if many else ''}{_format_time(self.median)}")
        threads = f"{spec.num_threads} thread{'s' if spec.num_threads != 1 else ''}"
        lines.append(f"  {len(self.times)} measurement{'s' if many else ''}, "
                     f"{self.number_per_run} runs {'per measurement' if many else ''}, "
                     f"{threads}")
        return "\n".join(lines)


class Timer:
    """``Timer(stmt, setup, globals=..., label=..., num_threads=...)``: `timeit(number)`
    times `number` runs once; `blocked_autorange(min_run_time)` repeats blocks of runs
    until `min_run_time` seconds have passed; `adaptive_autorange` as blocked_autorange.
    Runs with `num_threads` threads (restored afterwards)."""

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=timeit.default_timer,
                 globals=None, label=None, sub_label=None, description=None, env=None,
                 num_threads: int = 1, language="python"):
        if language not in ("python", "py"):
            raise ValueError("graphtorch's Timer times Python statements only")
        self._spec = TaskSpec(stmt if isinstance(stmt, str) else getattr(
            stmt, "__name__", repr(stmt)), setup if isinstance(setup, str) else "pass",
            label, sub_label, description, env, num_threads)
        namespace = dict(globals or {})
        self._timer = timeit.Timer(stmt, setup, timer=timer, globals=namespace)

    def _run(self, fn):
        before = get_num_threads()
        set_num_threads(self._spec.num_threads)
        try:
            return fn()
        finally:
            set_num_threads(before)

    def timeit(self, number: int = 1000000) -> Measurement:
        self._run(lambda: self._timer.timeit(1))  # warm-up, as PyTorch's
        seconds = self._run(lambda: self._timer.timeit(number))
        return Measurement(number, [seconds], self._spec)

    def repeat(self, repeat: int = -1, number: int = -1):
        raise NotImplementedError("Timer.repeat is not implemented in PyTorch either")

    def autorange(self, callback=None):
        raise NotImplementedError("use blocked_autorange")

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> Measurement:
        def measure():
            number = self._block_size()
            times, total = [], 0.0
            while total < min_run_time or not times:
                seconds = self._timer.timeit(number)
                total += seconds
                times.append(seconds)
                if callback is not None:
                    callback(number, seconds)
            return Measurement(number, times, self._spec)
        return self._run(measure)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None) -> Measurement:
        measurement = self.blocked_autorange(callback, min_run_time)
        total = sum(measurement.raw_times)
        while measurement.median and measurement.iqr / measurement.median > threshold and \
                total < max_run_time:
            more = self.blocked_autorange(callback, min_run_time)
            measurement.raw_times += more.raw_times
            measurement.__post_init__()
            total += sum(more.raw_times)
        return measurement

    def _block_size(self) -> int:
        """Runs per block: enough for a block to take about 1 ms."""
        number = 1
        while self._timer.timeit(number) < 1e-3 and number < 10 ** 7:
            number *= 10
        return number


def _format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.2f} {unit}"
    return f"{seconds / 1e-9:.2f} ns"
