"""`gt.compile` and its controls: trace once, guard, run generated code.

- `compile(fn_or_module, backend=None, fullgraph=False, dynamic=None, mode=None)`: see
  `compiled_function.compile`; a Module compiles to an `OptimizedModule`.
- `disable()`: a context manager under which compiled functions run their original Python
  (also ``GRAPHTORCH_DISABLE_COMPILE=1``), or a decorator marking a function never compiled.
- `set_stance(...)`: force eager, refuse or skip recompiles, compile from the second call
  (`stance`).
- `reset()`, `is_compiling()`, `list_backends()`, and `allow_in_graph`,
  `assume_constant_result`, `cudagraph_mark_step_begin` (no-ops here): as
  ``torch.compiler``'s.
"""

from .compiled_function import BACKEND_ALIASES, CompiledFunction, compile
from .controls import disable, is_compiling, is_disabled, reset
from .counters import counters
from .optimized_module import OptimizedModule
from .stance import set_stance

__all__ = ["CompiledFunction", "OptimizedModule", "allow_in_graph", "assume_constant_result",
           "compile", "counters", "cudagraph_mark_step_begin", "disable", "is_compiling",
           "is_disabled", "is_dynamo_compiling", "list_backends", "reset", "set_stance"]

is_dynamo_compiling = is_compiling


def allow_in_graph(fn):
    """Returns `fn`: graphtorch traces into every function it reaches, so a function of
    tensor ops is in the graph already (one that needs values breaks it, naming its line)."""
    return fn


def assume_constant_result(fn):
    """Returns `fn`. PyTorch bakes the result in unchecked; graphtorch traces the call and
    guards what it reads, so a changed result recompiles instead of going stale."""
    return fn


def cudagraph_mark_step_begin() -> None:
    """Nothing to do: the CuPy backend replays CUDA graphs without step markers."""


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    """The backend names `compile` takes ("eager" and "aot_eager" are tagged debug)."""
    names = {"inductor", "numpy", "cupy"} | {n for n in BACKEND_ALIASES if n}
    if "debug" not in (exclude_tags or ()):
        names |= {"eager", "aot_eager"}
    else:
        names -= {"eager", "aot_eager"}
    return sorted(names)
