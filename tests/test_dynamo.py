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


def test_graph_break_runs_the_function_eagerly_and_is_counted():
    gt._dynamo.utils.counters.clear()

    @gt.compile
    def f(x):
        y = x.sin()
        gt._dynamo.graph_break()
        return y + 1

    x = gt.randn(4)
    assert gt.allclose(f(x), x.sin() + 1)
    assert f.stats.compiles == 0 and len(f.stats.graph_breaks) == 1
    assert "test_dynamo.py" in f.stats.graph_breaks[0]
    (reason, count), = gt._dynamo.utils.counters["graph_break"].items()
    assert "graph_break() called" in reason and count == 1
    with pytest.raises(gt._dynamo.exc.Unsupported, match="graph_break"):
        gt.compile(f.fn, fullgraph=True)(x)
    gt._dynamo.graph_break()  # eagerly: nothing happens


def test_counters_count_graphs_and_recompiles():
    counters = gt._dynamo.utils.counters
    counters.clear()
    f = gt.compile(lambda x: x.cos() * 2)
    f(gt.randn(3))
    f(gt.randn(3))
    assert counters["stats"]["unique_graphs"] == 1
    assert counters["stats"]["calls_captured"] >= 2
    assert counters["frames"]["total"] == counters["frames"]["ok"] == 1
    f(gt.randn(5))
    assert counters["stats"]["unique_graphs"] == 2 and sum(counters["recompiles"].values()) == 1


def test_inductor_config_and_backend_switches_accept_assignments():
    gt._inductor.config.coordinate_descent_tuning = True
    gt._inductor.config.triton.unique_kernel_names = True
    assert gt._inductor.config.coordinate_descent_tuning is True
    assert gt._inductor.config.max_autotune is False
    gt.backends.cuda.matmul.allow_tf32 = True
    gt.backends.cudnn.allow_tf32 = True
    assert gt.backends.cuda.is_built() is False
    with gt.backends.cuda.sdp_kernel(enable_flash=False):
        assert not gt.backends.cuda.flash_sdp_enabled()
    assert gt.backends.cuda.flash_sdp_enabled()
    assert gt.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT")
    assert gt.backends.opt_einsum.enabled and gt.backends.opt_einsum.is_available()


def test_higher_order_ops_names():
    xs = gt.arange(6.0).reshape(3, 2)
    assert gt._higher_order_ops.map(lambda x, k: x * k, xs, 2.0).tolist() == \
        (xs * 2).tolist()
    assert gt._higher_order_ops.cond is gt.cond
    assert gt._higher_order_ops.while_loop is gt.while_loop
