"""`gt.debug.print`: print tensor values from eager and from compiled code.

Eagerly it prints at once. Inside `gt.compile` (or `gt.trace`) it records a ``debug_print``
node, an op with ``side_effects=True``: passes keep it although nothing reads its output
(a 0-d bool token, True), and every compiled run prints the values the graph computes, in the
order the nodes run. Arguments that are not tensors are baked into the node.
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes
from ..ops.dispatch import call
from ..ops.registry import Category, OpDef, TensorMeta
from ..tensor import Tensor


def _format(tensors, fmt: str, layout: tuple) -> str:
    values = iter(Tensor._wrap(np.asarray(a)) for a in tensors)
    items = [next(values) if kind == "t" else const for kind, _, const in layout]
    positional = [v for (_, name, _), v in zip(layout, items) if name is None]
    keywords = {name: v for (_, name, _), v in zip(layout, items) if name is not None}
    return fmt.format(*positional, **keywords)


def _print_kernel(xp, tensors, fmt, layout):
    """Print, return a token (the node's output that nothing reads)."""
    builtins.print(_format(tensors, fmt, layout), flush=True)
    return np.ones((), np.bool_)


def _print_infer(metas, fmt, layout):
    return TensorMeta((), dtypes.bool_)


DEBUG_PRINT = OpDef("debug_print", Category.OPAQUE, _print_kernel, _print_infer,
                    variadic=True, side_effects=True, differentiable_outputs=(),
                    doc="print tensors with a format string (gt.debug.print)")


def debug_print(fmt: str, *args, **kwargs) -> None:
    """Print ``fmt.format(*args, **kwargs)`` now (eager) or each time compiled code runs.

    >>> @gt.compile
    ... def f(x):
    ...     y = x * 2
    ...     gt.debug.print("y = {}", y)     # printed on every call, with y's values
    ...     return y + 1
    """
    layout, tensors = [], []
    for name, value in [(None, a) for a in args] + list(kwargs.items()):
        if isinstance(value, Tensor):
            tensors.append(value)
            layout.append(("t", name, None))
        else:
            layout.append(("c", name, value))
    if not tensors:
        builtins.print(fmt.format(*args, **kwargs), flush=True)
        return
    call(DEBUG_PRINT, [t.detach() for t in tensors], fmt=fmt, layout=tuple(layout))
