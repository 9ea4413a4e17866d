"""The pass pipeline: order, copy semantics, disable, dump_after, record, unknown names."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.ir.rewrite import copy_graph
from graphtorch.passes import DEFAULT_PIPELINE, PASSES, run_passes

from .helpers import assert_same_results, text


def _traced():
    return gt.trace(lambda x: ((x * 1).exp() + (x * 1).exp(), (x + 2).sum()), gt.randn(3),
                    optimize=False)


def test_run_passes_leaves_the_callers_graph_alone():
    traced = _traced()
    before = str(traced.graph)
    optimized = run_passes(traced.graph)
    assert str(traced.graph) == before
    assert optimized is not traced.graph
    assert optimized.memory_plan is not None
    assert_same_results(traced.graph, optimized, traced.params, gt.randn(3))


def test_record_gets_every_pass_that_ran():
    record = []
    run_passes(_traced().graph, disable=("fuse",), record=record)
    assert [name for name, _ in record] == [p for p in DEFAULT_PIPELINE if p != "fuse"]
    after_simplify = dict(record)["simplify"]
    assert "mul" not in after_simplify and after_simplify.count("exp") == 2
    assert dict(record)["cse"].count("exp") == 1


def test_disable_by_argument_and_by_environment(monkeypatch):
    record = []
    run_passes(_traced().graph, disable="cse", record=record)
    assert "cse" not in [name for name, _ in record]
    monkeypatch.setenv("GRAPHTORCH_DISABLE_PASSES", "simplify, dce")
    record = []
    run_passes(_traced().graph, record=record)
    names = [name for name, _ in record]
    assert "simplify" not in names and "dce" not in names and "cse" in names


def test_dump_after_by_argument_and_environment(capsys, monkeypatch):
    run_passes(_traced().graph, ["simplify", "cse"], dump_after=("cse",))
    err = capsys.readouterr().err
    assert "=== after cse ===" in err and "=== after simplify ===" not in err
    assert err.count("exp(") == 1
    monkeypatch.setenv("GRAPHTORCH_DUMP_AFTER", "all")
    run_passes(_traced().graph, ["simplify", "dce"])
    err = capsys.readouterr().err
    assert "=== after simplify ===" in err and "=== after dce ===" in err


def test_memory_plan_is_shown_in_dumps():
    record = []
    run_passes(_traced().graph, ["memory_plan"], record=record)
    assert "# free after node" in record[0][1]


def test_unknown_names_raise_listing_the_valid_ones(monkeypatch):
    with pytest.raises(ValueError, match="valid names: simplify, cse"):
        run_passes(_traced().graph, ["simplfy"])
    with pytest.raises(ValueError, match="unknown pass"):
        run_passes(_traced().graph, disable=("nope",))
    monkeypatch.setenv("GRAPHTORCH_DUMP_AFTER", "fusee")
    with pytest.raises(ValueError, match="fusee"):
        run_passes(_traced().graph)


def test_a_pass_that_breaks_the_graph_is_caught_by_verification(monkeypatch):
    from graphtorch.ir.graph import GraphError

    def breaks(graph):
        graph.nodes.reverse()
        return graph

    monkeypatch.setitem(PASSES, "dce", breaks)
    with pytest.raises(GraphError, match="after pass 'dce'"):
        run_passes(_traced().graph, ["dce"])


def test_copy_graph_is_independent_and_identical():
    traced = _traced()
    copy = copy_graph(traced.graph)
    assert text(copy) == text(traced.graph) and str(copy) == str(traced.graph)
    copy.verify()
    copy.nodes.pop(1)
    assert len(copy.nodes) == len(traced.graph.nodes) - 1
    assert all(n.graph is copy for n in copy.nodes)
