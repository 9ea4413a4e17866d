"""`gt.utils.benchmark`, as ``torch.utils.benchmark``: `Timer` times a statement (string or
callable) with `timeit`, `Measurement` summarises the runs, `Compare` prints a table of
several measurements grouped by label, sub_label and description."""

from __future__ import annotations

from .compare import Compare
from .timer import Measurement, TaskSpec, Timer

__all__ = ["Compare", "Measurement", "TaskSpec", "Timer"]
