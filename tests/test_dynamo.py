"""`gt._dynamo` and `gt._logging`, PyTorch's compiler-facing names, on gt.compile: the
torch.compile tutorial's calls run and mean what they say."""

from __future__ import annotations

import logging

import pytest

import graphtorch as gt


def _bar(a, b):
    x = a / (gt.abs(a) + 1)
    if b.sum() < 0:
        b = b * -1
    return x * b


def test_explain_counts_graphs_breaks_and_ops():
    out = gt._dynamo.explain(_bar)(gt.randn(10), gt.randn(10))
    assert (out.graph_count, out.graph_break_count) == (0, 1)
    assert "test_dynamo.py" in out.break_reasons[0].user_stack[0]
    text = str(out)
    assert text.startswith("Graph Count: 0\nGraph Break Count: 1\n")
    assert "Break Reason 1:" in text

    out = gt._dynamo.explain(lambda a: gt.sin(a) + gt.cos(a))(gt.randn(3))
    assert (out.graph_count, out.graph_break_count, out.op_count) == (1, 0, 3)
    assert out.ops_per_graph == [["sin", "cos", "add"]]
    assert out.out_guards


def test_fullgraph_errors_are_dynamo_exceptions():
    with pytest.raises(gt._dynamo.exc.Unsupported, match="test_dynamo.py"):
        gt.compile(_bar, fullgraph=True)(gt.randn(3), gt.randn(3))
    assert issubclass(gt._dynamo.exc.TorchDynamoException, RuntimeError)


def test_cache_size_limit_is_read_at_call_time():
    compiled = gt.compile(lambda x: x * 2)
    old = gt._dynamo.config.cache_size_limit
    try:
        gt._dynamo.config.cache_size_limit = 2
        assert gt._dynamo.config.recompile_limit == 2
        with pytest.warns(RuntimeWarning, match="recompile limit"):
            for dtype in (gt.float32, gt.float64, gt.int32, gt.int64):
                x = gt.ones(2, dtype=dtype)
                assert gt.equal(compiled(x), x * 2)
        assert compiled.compile_count == 2
    finally:
        gt._dynamo.config.cache_size_limit = old
    assert gt._dynamo.config.recompile_limit == old


def test_mark_dynamic_and_mark_static():
    compiled = gt.compile(lambda x: x * 2)
    for n in (3, 4, 5):
        x = gt.randn(n, 2)
        gt._dynamo.mark_dynamic(x, 0)
        assert gt.allclose(compiled(x), x * 2)
    assert compiled.compile_count == 1
    y = gt.randn(3, 2)
    gt._dynamo.mark_dynamic(y, [0, 1])
    gt._dynamo.mark_static(y, 1)
    from graphtorch.symbolic import marked_dims
    assert marked_dims(y) == {0}
    gt._dynamo.mark_static(y)
    assert marked_dims(y) == set()


def test_reset_disable_allow_in_graph_and_optimize():
    def g(x):
        return x + 1
    assert gt._dynamo.allow_in_graph(g) is g
    compiled = gt._dynamo.optimize("inductor")(g)
    assert gt.equal(compiled(gt.ones(2)), gt.full((2,), 2.))
    assert compiled.compile_count == 1
    gt._dynamo.reset()
    assert compiled.variants == []
    assert gt._dynamo.is_compiling() is False
    with gt._dynamo.disable():
        assert gt.equal(compiled(gt.ones(2)), gt.full((2,), 2.))
    assert compiled.variants == []


def test_set_logs_turns_the_compile_log_on_and_off(caplog):
    f = gt.compile(lambda x: x.sin())
    gt._logging.set_logs(recompiles=True, graph_code=True)
    try:
        with caplog.at_level(logging.INFO, logger="graphtorch"):
            f(gt.randn(3))
            f(gt.randn(4))
        text = caplog.text
        assert "compiled graph (variant 1)" in text and "sin(" in text
        assert "guard failed" in text
    finally:
        gt._logging.set_logs()
    assert logging.getLogger("graphtorch.recompiles").level == logging.NOTSET
    with pytest.raises(ValueError, match="Unrecognized log"):
        gt._logging.set_logs(not_a_log=True)
