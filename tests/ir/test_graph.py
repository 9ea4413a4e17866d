"""Graph building, printing snapshots and verify()'s checks (one test per malformed case)."""

from __future__ import annotations

import pytest

from graphtorch import dtypes
from graphtorch.ir import Graph, GraphError, Node, NodeKind, Value
from graphtorch.ops.registry import REGISTRY as R
from graphtorch.ops.registry import TensorMeta

from .graphs import F32, copy_into_view_graph, mixed_graph, mlp_graph

MLP_TEXT = """\
%0 = input x : f32[2, 3]
%1 = param fc1.weight : f32[3, 4]
%2 = param fc1.bias : f32[4]
%3 = matmul(%0, %1) : f32[2, 4]   # model.py:12 in forward
%4 = add(%3, %2) : f32[2, 4]   # model.py:12 in forward
%5 = relu(%4) : f32[2, 4]   # model.py:13 in forward
%6 = sum(%5) : f32[]
return (%6,)"""

MIXED_TEXT = """\
%0 = input x : f32[2, 3]
%1 = input y : f32[2, 3]
%2 = mul(%0, 2.0) : f32[2, 3]
%3, %4 = max_dim(%2, dim=1) : f32[2], i64[2]
%5 = cat([%0, %1, %2], dim=1) : f32[2, 9]
%6 = view(%5, shape=(3, -1)) : f32[3, 6]
%7 = transpose(%6, dim0=0, dim1=1) : f32[6, 3]
%8 = to_dtype(%7, dtype=f64) : f64[6, 3]
return (%3, %4, %8)"""


def test_print_mlp_snapshot():
    assert str(mlp_graph()) == MLP_TEXT


def test_print_multi_output_variadic_view_snapshot():
    assert str(mixed_graph()) == MIXED_TEXT


def test_print_opdef_attrs_by_name():
    text = str(copy_into_view_graph())
    assert "%2 = copy_into_view(%0, %1, view_ops=(select(dim=0, index=1),)) : f32[3, 4]" in text
    assert "OpDef" not in text


def test_print_attrs_sorted_and_short_dtypes():
    g = Graph()
    x = g.add_input("x", TensorMeta((2, 3), dtypes.int32))
    s = g.add_node(R["sum"], [x], {"keepdim": True, "dims": (1,), "dtype": dtypes.int64})
    g.set_outputs([s])
    assert "%1 = sum(%0, dims=(1,), dtype=i64, keepdim=True) : i64[2, 1]" in str(g)


def test_node_kinds_are_an_enum():
    g = mlp_graph()
    assert [n.kind for n in g.nodes[:3]] == [NodeKind.INPUT, NodeKind.PARAM, NodeKind.PARAM]
    assert g.nodes[-1].kind is NodeKind.OUTPUT
    assert [n.name for n in g.params] == ["fc1.weight", "fc1.bias"]
    assert len(g.op_nodes) == 4 and g.outputs[0].id == 6


def test_multi_output_returns_values_with_metas():
    g = Graph()
    x = g.add_input("x", TensorMeta((2, 5), F32))
    values, indices = g.add_node(R["max_dim"], [x], {"dim": 1, "keepdim": True})
    assert values.meta == TensorMeta((2, 1), F32)
    assert indices.meta == TensorMeta((2, 1), dtypes.int64)
    assert (values.node, values.index, indices.index) == (indices.node, 0, 1)


def test_add_node_shape_errors_come_from_infer():
    g = Graph()
    a = g.add_input("a", TensorMeta((2, 3), F32))
    b = g.add_input("b", TensorMeta((4, 5), F32))
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        g.add_node(R["matmul"], [a, b])


def test_add_node_rejects_values_of_another_graph():
    other = mlp_graph()
    g = Graph()
    with pytest.raises(GraphError, match="another graph"):
        g.add_node(R["relu"], [other.outputs[0]])


def test_set_outputs_keeps_output_node_last():
    g = Graph()
    x = g.add_input("x", TensorMeta((2,), F32))
    g.set_outputs([x])
    y = g.add_node(R["neg"], [x])
    g.set_outputs([y])
    g.verify()
    assert g.nodes[-1].kind is NodeKind.OUTPUT and str(g).endswith("return (%1,)")


def test_wellformed_graphs_verify():
    for build in (mlp_graph, mixed_graph, copy_into_view_graph):
        build().verify()


# --- verify(): one test per malformed case --------------------------------------------------

def test_verify_use_before_definition():
    g = mlp_graph()
    relu = next(n for n in g.nodes if n.target == "relu")
    g.nodes.remove(relu)
    g.nodes.insert(1, relu)  # relu now reads %4 before the add defines it
    with pytest.raises(GraphError, match="used before its definition"):
        g.verify()


def test_verify_value_defined_twice():
    g = mlp_graph()
    relu = next(n for n in g.nodes if n.target == "relu")
    relu.outputs[0].id = 3  # the matmul's id
    with pytest.raises(GraphError, match="defined twice"):
        g.verify()


def test_verify_input_from_another_graph():
    g, other = mlp_graph(), mlp_graph()
    relu = next(n for n in g.nodes if n.target == "relu")
    relu.inputs = (other.nodes[4].outputs[0],)
    with pytest.raises(GraphError, match="another graph"):
        g.verify()


def test_verify_meta_disagrees_with_infer():
    g = mlp_graph()
    relu = next(n for n in g.nodes if n.target == "relu")
    relu.outputs[0].meta = TensorMeta((2, 4), dtypes.float64)
    with pytest.raises(GraphError, match="disagree with relu's infer rule"):
        g.verify()


def test_verify_infer_rejects_inputs():
    g = mlp_graph()
    mm = next(n for n in g.nodes if n.target == "matmul")
    mm.inputs = (mm.inputs[0], mm.inputs[0])  # (2,3) @ (2,3)
    with pytest.raises(GraphError, match="infer rule rejects"):
        g.verify()


def test_verify_missing_outputs():
    g = Graph()
    x = g.add_input("x", TensorMeta((2,), F32))
    g.add_node(R["relu"], [x])
    with pytest.raises(GraphError, match="no outputs"):
        g.verify()


def test_verify_accepts_a_graph_returning_nothing():
    # a compiled function may only write in place, or return its own arguments
    g = Graph()
    g.add_input("x", TensorMeta((2,), F32))
    g.set_outputs([])
    g.verify()


def test_verify_output_of_undefined_value():
    g = mlp_graph()
    stray = Value(99, TensorMeta((), F32), Node(g, NodeKind.OP, R["relu"], (), {}))
    g.set_outputs([stray])
    with pytest.raises(GraphError, match="used before its definition"):
        g.verify()


def test_verify_duplicate_input_names():
    g = Graph()
    a = g.add_input("fc1.weight", TensorMeta((2,), F32), NodeKind.PARAM)
    g.add_input("fc1.weight", TensorMeta((2,), F32), NodeKind.PARAM)
    g.set_outputs([a])
    with pytest.raises(GraphError, match="second graph input named 'fc1.weight'"):
        g.verify()
