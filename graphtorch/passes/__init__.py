"""Graph-to-graph optimisation passes (dead-code elimination, CSE, fusion, autodiff, ...).

Each pass is a function graph -> graph (it may change and return its argument);
`run_passes` runs a named list of them on a copy of a graph (see `pipeline`).
"""

from .constant_folding import fold_constants
from .cse import eliminate_common_subexpressions
from .dce import eliminate_dead_code
from .memory_planning import MemoryPlan, peak_bytes, plan_memory
from .pipeline import DEFAULT_PIPELINE, PASSES, run_passes
from .simplify import simplify

__all__ = [
    "DEFAULT_PIPELINE",
    "PASSES",
    "MemoryPlan",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
    "fold_constants",
    "peak_bytes",
    "plan_memory",
    "run_passes",
    "simplify",
]
