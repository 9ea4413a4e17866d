"""Per-node value hooks on compiled code (a public face of `graphtorch.compiler.hooks`).

While a hook is registered, compiled functions run node by node and call
``fn(phase, node, values)`` after each op: `phase` is "forward" or "backward", `node` the
graph node (``node.source`` is the user line; backward nodes have ``node.grad_of``), `values`
its output tensors. Registering for one compiled function filters the calls to its graphs.
"""

from __future__ import annotations

from ..compiler import hooks as _compiler_hooks
from .target import resolve


class NodeHookHandle:
    """Returned by `register_node_hook`; `remove()` (or leaving a ``with`` block) ends it."""

    def __init__(self, hook):
        self._hook = hook

    def remove(self) -> None:
        if self._hook in _compiler_hooks.node_hooks:
            _compiler_hooks.node_hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _graphs_of(compiled) -> set:
    target = resolve(compiled)
    cf = target.compiled
    if cf is None:
        raise TypeError("register_node_hook: expected a gt.compile'd function or module, got "
                        f"{type(compiled).__name__}")
    graphs = set()
    for v in cf.variants:
        if v.executable is not None:
            graphs.add(id(v.executable.forward_graph))
            if v.executable.backward_graph is not None:
                graphs.add(id(v.executable.backward_graph))
    return cf, graphs


def register_node_hook(fn, compiled=None) -> NodeHookHandle:
    """Call ``fn(phase, node, values)`` after every op of compiled code (only `compiled`'s
    graphs when given); returns a handle with ``remove()``, usable as a context manager.

    >>> seen = []
    >>> with gt.debug.register_node_hook(lambda ph, n, vals: seen.append(n.op.name), step):
    ...     step(x)
    """
    if compiled is None:
        hook = fn
    else:
        def hook(phase, node, values):
            _, graphs = _graphs_of(compiled)
            if id(node.graph) in graphs:
                fn(phase, node, values)
    _compiler_hooks.node_hooks.append(hook)
    return NodeHookHandle(hook)
