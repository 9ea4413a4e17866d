"""Debugging compiled code (`gt.debug`): compare with eager, hunt NaNs, print, explain.

- `compare(fn, *args)`: the first node where compiled code departs from eager, with its line.
- `detect_anomaly()`: stop at the first op (eager or compiled, forward or backward) that
  produces NaN/Inf, naming the user line.
- `print(fmt, *tensors)`: print values, also from inside compiled code.
- `register_node_hook(fn, compiled=None)`: see every value compiled code computes.
- `explain(fn, *args)`: what was captured, specialised, fused, saved; graph breaks; recompiles.
- `pass_diffs(fn, *args)` / `bisect_passes(fn, *args)`: what each pass changed, and which
  pass makes the result diverge.
"""

from .anomaly import detect_anomaly
from .bisect import BisectResult, bisect_passes
from .compare import Comparison, Divergence, compare
from .explain import Explanation, explain
from .hooks import NodeHookHandle, register_node_hook
from .pass_diff import pass_diffs
from .printing import debug_print

print = debug_print

__all__ = ["BisectResult", "Comparison", "Divergence", "Explanation", "NodeHookHandle",
           "bisect_passes", "compare", "debug_print", "detect_anomaly", "explain",
           "pass_diffs", "print", "register_node_hook"]
