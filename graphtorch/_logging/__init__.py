"""`torch._logging.set_logs`: turn on what `gt.compile` reports, by PyTorch's names.

graphtorch logs recompiles (with the guard that failed), graph breaks (with the user's
line), dynamic-size decisions and eager fallbacks to one logger, ``graphtorch.recompiles``
(also ``GRAPHTORCH_LOG=recompiles``). Any of `recompiles`, `graph_breaks`, `dynamic`,
`guards` or `dynamo` turns it on; setting them all false (or `set_logs()` with no
arguments) turns it off. `graph_code` prints each compiled variant's optimised graph.
PyTorch's other artifact names are accepted and have nothing to show here.
"""

from __future__ import annotations

import logging

__all__ = ["set_logs"]

_COMPILE_LOG = ("recompiles", "recompiles_verbose", "graph_breaks", "dynamic", "guards",
                "dynamo")
_ACCEPTED = _COMPILE_LOG + (
    "all", "aot", "aot_graphs", "aot_joint_graph", "autograd", "bytecode", "compiled_autograd",
    "ddp_graphs", "distributed", "dtensor", "export", "fsdp", "fusion", "graph", "graph_code",
    "graph_sizes", "inductor", "modules", "onnx", "output_code", "overlap", "perf_hints",
    "post_grad_graphs", "schedule", "trace_bytecode", "trace_call", "trace_source",
    "kernel_code", "cudagraphs", "sym_node", "compiled_autograd_verbose")
_STATE = {"handler": None}


def set_logs(**kwargs) -> None:
    """``set_logs(recompiles=True, graph_breaks=True)`` as PyTorch's: each keyword a bool,
    `dynamo`/`all` a logging level; an unknown name raises ValueError as PyTorch's."""
    unknown = sorted(set(kwargs) - set(_ACCEPTED))
    if unknown:
        raise ValueError(f"Unrecognized log or artifact name passed to set_logs: "
                         f"{unknown[0]}")
    on = any(_enabled(kwargs.get(name)) for name in _COMPILE_LOG + ("all",))
    _switch(logging.getLogger("graphtorch.recompiles"), on)
    _switch(logging.getLogger("graphtorch.graph_code"), _enabled(kwargs.get("graph_code")))


def _enabled(value) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    return isinstance(value, int) and value <= logging.INFO  # a level: INFO or DEBUG


def _switch(log: logging.Logger, on: bool) -> None:
    handler = _STATE.setdefault(log.name, None)
    if on and handler is None:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[graphtorch] %(message)s"))
        log.addHandler(handler)
        _STATE[log.name] = handler
    elif not on and handler is not None:
        log.removeHandler(handler)
        _STATE[log.name] = None
    log.setLevel(logging.INFO if on else logging.NOTSET)
