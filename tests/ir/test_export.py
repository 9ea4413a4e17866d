"""Export: networkx, DOT text and the JSON round trip."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from graphtorch import dtypes
from graphtorch.ir import Graph, GraphError
from graphtorch.ir.export import decode_attr, encode_attr
from graphtorch.ops.registry import REGISTRY as R

from .graphs import copy_into_view_graph, mixed_graph, mlp_graph

BUILDERS = (mlp_graph, mixed_graph, copy_into_view_graph)


@pytest.mark.parametrize("build", BUILDERS)
def test_networkx_same_nodes_and_edges(build):
    g = build()
    d = g.to_networkx()
    assert nx.is_directed_acyclic_graph(d)
    assert d.number_of_nodes() == len(g.nodes)
    expected = {(g.nodes.index(v.node), j) for j, n in enumerate(g.nodes)
                for v in n.tensor_inputs()}
    assert set(d.edges) == expected
    for i, node in enumerate(g.nodes):
        attrs = d.nodes[i]
        assert attrs["op"] == node.target
        if node.outputs:
            assert attrs["shape"] == node.outputs[0].meta.shape
            assert attrs["dtype"] == node.outputs[0].meta.dtype.name
    assert list(nx.topological_sort(d))[-1] == len(g.nodes) - 1


def test_networkx_attributes_of_mlp():
    d = mlp_graph().to_networkx()
    assert d.nodes[3]["op"] == "matmul" and d.nodes[3]["category"] == "opaque"
    assert d.nodes[5]["category"] == "elementwise"
    assert d.nodes[3]["source"] == ("/src/model.py", 12, "forward")
    assert d.nodes[1]["kind"] == "param" and d.nodes[1]["name"] == "fc1.weight"
    assert d.edges[0, 3]["values"] == [0]


@pytest.mark.parametrize("build", BUILDERS)
def test_json_round_trip_identical_dump(build):
    g = build()
    text = g.to_json()
    json.loads(text)  # plain JSON
    g2 = Graph.from_json(text)
    assert str(g2) == str(g)
    assert g2.to_json() == text
    g2.verify()


def test_json_references_ops_by_name_and_tags_attrs():
    data = json.loads(copy_into_view_graph().to_json())
    node = data["nodes"][2]
    assert node["op"] == "copy_into_view"
    assert node["attrs"]["view_ops"] == {"$tuple": [{"$tuple": [
        {"$op": "select"}, {"$dict": [["dim", 0], ["index", 1]]}]}]}


def test_json_round_trip_keeps_constants_and_new_ids_continue():
    g2 = Graph.from_json(mixed_graph().to_json())
    mul = next(n for n in g2.nodes if n.target == "mul")
    assert mul.inputs[1].is_const and mul.inputs[1].const == 2.0
    new = g2.add_node(R["neg"], [g2.outputs[2]])
    assert new.id == 9


@pytest.mark.parametrize("value", [
    (1, 2), [1, (2, 3)], {"a": (1,)}, dtypes.float16, R["view"], slice(1, None, 2),
    Ellipsis, 1 + 2j, None, True, 1.5, float("inf"), "mean", ((R["slice"], {"dim": 0}, 1),)])
def test_attr_encoding_round_trips(value):
    decoded = decode_attr(json.loads(json.dumps(encode_attr(value))))
    assert decoded == value and type(decoded) is type(value)


def test_from_json_rejects_tampered_meta():
    data = json.loads(mlp_graph().to_json())
    data["nodes"][5]["outputs"][0]["dtype"] = "float64"  # relu's output
    with pytest.raises(GraphError, match="disagree"):
        Graph.from_json(json.dumps(data))


def test_dot_contains_nodes_edges_and_clusters():
    g = mlp_graph()
    dot = g.to_dot()
    assert dot.startswith('digraph "graph" {') and dot.rstrip().endswith("}")
    for i in range(len(g.nodes)):
        assert f"  n{i} [label=" in dot
    assert "n0 -> n3" in dot and "n5 -> n6" in dot
    assert 'subgraph cluster_0 {\n    label="fc1";' in dot
    assert "%3 = matmul\\nf32[2, 4]\\nmodel.py:12 in forward" in dot
    assert "#ffc9c9" in dot and "#cfe8ff" in dot  # opaque and elementwise colours


def test_dot_mixed_graph_lists_every_op():
    dot = mixed_graph().to_dot()
    for name in ("max_dim", "cat", "view", "transpose", "to_dtype"):
        assert f"= {name}\\n" in dot
