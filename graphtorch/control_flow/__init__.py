"""Structured control flow: `cond`, `while_loop`, `scan`, `fori_loop` (JAX's semantics).

Eagerly each is plain Python, so the dynamic autograd graph just works. Inside `gt.trace`
each becomes ONE graph node whose op (``cond``, ``while_loop``, ``scan``; category OPAQUE,
not in the registry) holds its branches/bodies as subgraph attrs. Subgraphs are
self-contained: outside tensors they read (outer graph values, parameters, captured
tensors) become extra INPUT nodes and extra operands of the node (closure conversion).
The kernels run the subgraphs with the op-by-op interpreter, so every backend that calls
kernels runs them. `cond` and `scan` have vjps written in graphtorch ops (a `cond` of
pullbacks; a reverse `scan`); a traced `while_loop` raises when differentiated.
"""

from .cond import cond
from .scan import scan
from .while_loop import fori_loop, while_loop

__all__ = ["cond", "fori_loop", "scan", "while_loop"]
