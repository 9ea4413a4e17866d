"""Pass diffs, pass bisection, and source lines that survive every pass."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch import debug, nn
from graphtorch.debug.target import build, reference_graphs, resolve
from graphtorch.ops.fused import is_fused
from graphtorch.passes.pipeline import DEFAULT_PIPELINE, run_passes

from .helpers import cnn, line_of, mlp, planted_passes, with_planted

MODEL = mlp()
X = gt.randn(5, 4)
Y = gt.tensor([0, 1, 2, 0, 1])


def loss_fn(x, y):
    h = MODEL(x)
    return nn.functional.cross_entropy((h * 3.0).tanh() * h, y)


@pytest.fixture(autouse=True)
def planted():
    with planted_passes():
        yield


@pytest.mark.parametrize("bug", ["corrupt_mul", "perturb_constant", "corrupt_backward_mul",
                                 "plant_nan_backward"])
def test_bisection_names_the_planted_pass(bug):
    result = debug.bisect_passes(loss_fn, X, Y, passes=with_planted(bug, 3))
    assert result.culprit == bug, str(result)
    assert [s.ok for s in result.steps] == [True] * 4 + [False]
    assert f"culprit: {bug}" in str(result)


def test_bisection_of_a_compiled_function_and_clean_pipeline():
    step = gt.compile(loss_fn, passes=with_planted("corrupt_mul", 2))
    result = debug.bisect_passes(step, X, Y)
    assert result.culprit == "corrupt_mul"
    assert result.divergence.source[1] == line_of(loss_fn, "h * 3.0")
    clean = debug.bisect_passes(loss_fn, X, Y)
    assert clean.culprit is None and len(clean.steps) == len(DEFAULT_PIPELINE) + 1


def test_bisection_names_a_crashing_pass():
    def crash(graph):
        raise ValueError("boom")

    from graphtorch.passes import pipeline

    pipeline.PASSES["crash"] = crash
    try:
        result = debug.bisect_passes(loss_fn, X, Y, passes=["simplify", "crash"])
    finally:
        del pipeline.PASSES["crash"]
    assert result.culprit == "crash" and "boom" in result.steps[-1].error


def test_pass_diffs_show_what_each_pass_changed():
    diffs = debug.pass_diffs(loss_fn, X, Y)
    assert [d.name for d in diffs] == list(DEFAULT_PIPELINE)
    fuse = next(d for d in diffs if d.name == "fuse")
    assert fuse.changed and "+" in fuse.diff and "fused(" in fuse.diff
    assert diffs[0].before.startswith("%0 = input x")
    backward = debug.pass_diffs(loss_fn, X, Y, phase="backward")
    assert backward[-1].after != backward[0].before
    with pytest.raises(ValueError):
        debug.pass_diffs(loss_fn, X, Y, phase="sideways")


def test_pass_diff_of_planted_pass():
    diffs = debug.pass_diffs(loss_fn, X, Y, passes=with_planted("corrupt_mul"))
    planted = next(d for d in diffs if d.name == "corrupt_mul")
    assert "-%" in planted.diff and "mul(" in planted.diff and "add(" in planted.diff


# --- source lines survive every pass --------------------------------------------------------

def _all_nodes(graph):
    for node in graph.op_nodes:
        yield node
        if is_fused(node.op) and "graph" in node.attrs:
            yield from node.attrs["graph"].op_nodes


def _graphs(model, x):
    def f(x, y):
        return nn.functional.cross_entropy(model(x), y)

    exe, _ = build(resolve(f), (x, gt.tensor([0, 1])))
    return reference_graphs(exe)


CASES = [("mlp", mlp, (2, 4)), ("cnn", cnn, (2, 1, 8, 8))]


def _first_pass_dropping(graph, check) -> list[str]:
    """The passes after which some node fails `check` (none: [])."""
    bad = []
    for name in DEFAULT_PIPELINE:
        graph = run_passes(graph, [name])
        if not all(check(n) for n in _all_nodes(graph)):
            bad.append(name)
    return bad


@pytest.mark.parametrize("name,factory,shape", CASES)
def test_every_node_keeps_its_source(name, factory, shape):
    forward, backward = _graphs(factory(), gt.randn(*shape))
    for graph in (forward, backward):
        assert all(n.source for n in _all_nodes(graph))
        assert _first_pass_dropping(graph, lambda n: n.source) == []
    assert all(n.grad_of is not None for n in backward.op_nodes)


@pytest.mark.parametrize("name,factory,shape", CASES)
def test_every_backward_node_keeps_grad_of(name, factory, shape):
    _, backward = _graphs(factory(), gt.randn(*shape))
    assert _first_pass_dropping(backward, lambda n: n.grad_of is not None) == []
