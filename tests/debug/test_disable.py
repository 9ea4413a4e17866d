"""Item 1 of the debugging tools: compiled functions can run their original Python."""

from __future__ import annotations

import graphtorch as gt


def test_prints_and_data_dependent_code_run_under_disable(capsys):
    def f(x):
        print("called with", tuple(x.shape))
        if x.sum() > 0:          # a graph break when compiled; plain Python when disabled
            return x * 2
        return x

    step = gt.compile(f, fullgraph=False)
    with gt.compiler.disable():
        for _ in range(2):
            assert gt.equal(step(gt.ones(2)), gt.full((2,), 2.0))
    assert capsys.readouterr().out == "called with (2,)\n" * 2
    assert step.stats.compiles == 0 and not step.stats.graph_breaks


def test_eager_backend_runs_the_traced_graph_op_by_op():
    step = gt.compile(lambda x: (x * 3).tanh().sum(), backend="eager")
    x = gt.randn(4, requires_grad=True)
    step(x).backward()
    assert "backend='eager'" in step.code
    expected = (1 - (x.detach() * 3).tanh() ** 2) * 3
    assert gt.allclose(x.grad, expected, atol=1e-6)
