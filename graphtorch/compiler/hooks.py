"""Per-node hooks on compiled code, for debugging tools (anomaly detection, value hooks).

While `node_hooks` is non-empty, compiled functions run their graphs node by node through
the interpreter instead of the generated code, and call every hook as
``hook(phase, node, outputs)`` after each node: `phase` is "forward" or "backward", `node` the
graph node (backward nodes carry ``grad_of``, the forward node they differentiate), and
`outputs` a tuple of Tensors. A hook may raise to stop the run.
"""

from __future__ import annotations

node_hooks: list = []  # installed by gt.debug.register_node_hook
