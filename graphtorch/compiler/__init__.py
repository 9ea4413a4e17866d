"""`gt.compile` and its controls: trace once, guard, run generated code.

- `compile(fn_or_module, backend="numpy"|"eager", fullgraph=False)`: see
  `compiled_function.compile`.
- `disable()`: a context manager under which compiled functions run their original Python
  (also ``GRAPHTORCH_DISABLE_COMPILE=1``).
"""

from .compiled_function import CompiledFunction, CompiledModule, compile, disable, is_disabled

__all__ = ["CompiledFunction", "CompiledModule", "compile", "disable", "is_disabled"]
