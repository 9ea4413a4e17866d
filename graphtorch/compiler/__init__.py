"""`gt.compile` and its controls: trace once, guard, run generated code.

- `compile(fn_or_module, backend=None, fullgraph=False, dynamic=None, mode=None)`: see
  `compiled_function.compile`; a Module compiles to an `OptimizedModule`.
- `disable()`: a context manager under which compiled functions run their original Python
  (also ``GRAPHTORCH_DISABLE_COMPILE=1``), or a decorator marking a function never compiled.
- `reset()`, `is_compiling()`: as ``torch.compiler``'s.
"""

from .compiled_function import CompiledFunction, compile
from .controls import disable, is_compiling, is_disabled, reset
from .optimized_module import OptimizedModule

__all__ = ["CompiledFunction", "OptimizedModule", "compile", "disable", "is_compiling",
           "is_disabled", "reset"]
