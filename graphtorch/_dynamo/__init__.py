"""`torch._dynamo`'s user-facing names, on graphtorch's compiler, for code written against
PyTorch's compiler tutorials (``torch._dynamo.reset()``, ``explain(fn)(*args)``,
``config.cache_size_limit``, ``mark_dynamic``, ``exc.Unsupported``).

graphtorch does not split a function at a graph break: the whole call runs eagerly (its
submodules still compiled), so `explain` reports one graph per compiled variant.
"""

from __future__ import annotations

from ..compiler import compile as gt_compile
from ..compiler import config
from ..compiler import disable as _disable
from ..compiler import is_compiling, list_backends, reset
from ..symbolic import mark_dynamic, marked_dims
from ..trace_state import TracingError, current_tracer, user_frame, where
from . import exc, utils
from .explain_output import ExplainOutput, explain

__all__ = ["ExplainOutput", "allow_in_graph", "config", "disable", "exc", "explain",
           "graph_break", "is_compiling", "list_backends", "mark_dynamic", "mark_static",
           "maybe_mark_dynamic", "optimize", "reset", "utils"]


def graph_break(msg: str = "") -> None:
    """Force a graph break here: the compiled function runs eagerly (its submodules still
    compiled), or, with ``fullgraph=True``, raises `exc.Unsupported` naming this line.
    Outside a compiled function it does nothing."""
    if current_tracer() is not None:
        raise TracingError(f"{where(user_frame())}: torch._dynamo.graph_break() called"
                           + (f": {msg}" if msg else ""))


def maybe_mark_dynamic(tensor, dim) -> None:
    """As `mark_dynamic`: graphtorch compiles the dim with a symbolic size either way."""
    mark_dynamic(tensor, dim)


def mark_static(tensor, dim=None) -> None:
    """Undo `mark_dynamic` for `dim` (every dim when None): those sizes are specialised."""
    marked = marked_dims(tensor)
    if dim is None:
        marked.clear()
        return
    for d in [dim] if isinstance(dim, int) else dim:
        marked.discard(d % tensor.dim())


def disable(fn=None, recursive: bool = True):
    """`torch._dynamo.disable`: as `gt.compiler.disable`."""
    return _disable(fn, recursive)


def allow_in_graph(fn):
    """Returns `fn`: graphtorch traces into every function it reaches, so a function that
    runs only tensor ops is in the graph already (one that needs values breaks the graph
    with its line, as always)."""
    return fn


def optimize(backend="inductor", *, nopython: bool = False, dynamic=None, disable=False):
    """PyTorch's older spelling of `gt.compile` (``torch._dynamo.optimize("inductor")(fn)``);
    `nopython` is ``fullgraph``."""
    return lambda fn: gt_compile(fn, backend=backend, fullgraph=nopython, dynamic=dynamic,
                                 disable=disable)
