"""Rebuild the OpDef of a control-flow node from its name, input count and output metas
(used when a graph is read back from JSON: these ops are not in the registry)."""

from __future__ import annotations

from .cond import _cond_infer, _cond_kernel, _cond_vjp
from .scan import _scan_infer, _scan_kernel, _scan_vjp
from .subgraph import control_op
from .while_loop import _while_infer, _while_kernel, _while_vjp

NAMES = ("cond", "scan", "while_loop")


def control_op_for(name: str, num_inputs: int, output_metas, attrs: dict):
    """The shared OpDef a traced `name` node with these inputs and outputs uses."""
    if name == "cond":
        return control_op("cond", _cond_kernel, _cond_infer, _cond_vjp, num_inputs,
                          output_metas, branch_attrs=("true_graph", "false_graph"))
    if name == "scan":
        return control_op("scan", _scan_kernel, _scan_infer, _scan_vjp, num_inputs,
                          output_metas, save_output=True, num_saved=attrs["num_carry"])
    if name == "while_loop":
        return control_op("while_loop", _while_kernel, _while_infer, _while_vjp, num_inputs,
                          output_metas)
    raise KeyError(name)
