"""Memory planning: last uses, frees that never touch inputs, outputs or aliased buffers,
and buffer reuse that a NumPy executor honouring the plan (del / out=) runs correctly."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.backends.interpreter import Interpreter
from graphtorch.ir.graph import NodeKind
from graphtorch.ir.rewrite import copy_graph
from graphtorch.passes import MemoryPlan, peak_bytes, plan_memory
from graphtorch.passes.memory_planning import may_alias_inputs


def _program(x):
    return (x.exp() * 2).sin(), x.t().exp().sum(), x.reshape(9).exp() + 1


def test_plan_of_a_small_graph():
    graph = plan_memory(copy_graph(gt.trace(_program, gt.randn(3, 3), optimize=False).graph))
    plan = graph.memory_plan
    assert isinstance(plan, MemoryPlan)
    # %0 x, %1 exp, %2 mul, %3 sin (out), %4 transpose(x), %5 exp, %6 sum (out),
    # %7 view(x), %8 exp, %9 add (out); node 10 is the OUTPUT node
    assert plan.last_use == {0: 7, 1: 2, 2: 3, 3: 10, 4: 5, 5: 6, 6: 10, 7: 8, 8: 9, 9: 10}
    assert plan.frees == {2: [1], 3: [2], 6: [5], 9: [8]}  # views of x are never freed
    # mul into exp's buffer, sin into mul's (an output may take a dead buffer), add into exp's
    assert plan.reuse == {2: 1, 3: 2, 9: 8}
    without, with_plan = peak_bytes(graph)
    assert with_plan < without
    assert "free after node 2: %1" in plan.format() and "%2 reuses %1" in plan.format()


def test_a_view_of_an_intermediate_keeps_it_alive():
    def fn(x):
        y = x.exp()
        v = y.t()          # aliases y
        return (v * 3).sum() + y.sum()

    graph = plan_memory(copy_graph(gt.trace(fn, gt.randn(3, 3), optimize=False).graph))
    plan = graph.memory_plan
    ids = {n.target: n.outputs[0].id for n in graph.nodes if n.outputs}
    exp_id, t_id = ids["exp"], ids["transpose"]
    where = {v: p for p, vs in plan.frees.items() for v in vs}
    assert where[exp_id] == where[t_id] == max(plan.last_use[exp_id], plan.last_use[t_id])
    assert exp_id not in plan.reuse.values() and t_id not in plan.reuse.values()


def test_inputs_params_and_outputs_are_never_freed_or_donated():
    lin = gt.nn.Linear(3, 3)
    traced = gt.trace(lambda x: (lin(x).relu() * 2, x + 1), gt.randn(2, 3), optimize=False)
    graph = plan_memory(copy_graph(traced.graph))
    plan = graph.memory_plan
    protected = {n.outputs[0].id for n in graph.nodes if n.kind in (NodeKind.INPUT,
                                                                      NodeKind.PARAM)}
    protected |= {v.id for v in graph.outputs}
    freed = {v for vs in plan.frees.values() for v in vs}
    assert not freed & protected
    assert not set(plan.reuse.values()) & protected


def _run_with_plan(graph, inputs):
    """A NumPy executor that deletes values as `frees` says and writes `reuse` outputs
    into their donors' buffers with the op's ufunc (what the code generator will do)."""
    plan = graph.memory_plan
    env = {}
    results = None
    for pos, node in enumerate(graph.nodes):
        if node.kind is NodeKind.INPUT:
            env[node.outputs[0].id] = inputs[len(env)]
        elif node.kind is NodeKind.OUTPUT:
            results = [env[v.id] for v in node.inputs]
        else:
            out = node.outputs[0]
            args = [v.const if v.is_const else env[v.id] for v in node.inputs]
            if out.id in plan.reuse:
                assert node.op.ufunc and node.attrs.get("alpha", 1) == 1
                buffer = env[plan.reuse[out.id]]
                env[out.id] = getattr(np, node.op.ufunc)(*args, out=buffer)
            else:
                arrays = [gt.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
                env[out.id] = np.array(_eager_call(node, arrays))
        for v in plan.frees.get(pos, ()):
            del env[v]
    return results


def _eager_call(node, args):
    """One eager op, as the interpreter runs it."""
    from graphtorch.ops.dispatch import call

    return call(node.op, *args, **node.attrs).numpy()


def test_executing_with_frees_and_reuse_gives_the_interpreter_results():
    def fn(x, y):
        a = (x * y).exp()
        b = (a + 1) * a - y
        c = b.t().sin() / 2
        return c * c, (a - b).sum()

    x, y = gt.randn(4, 4), gt.randn(4, 4)
    graph = plan_memory(copy_graph(gt.trace(fn, x, y, optimize=False).graph))
    assert graph.memory_plan.reuse  # the test is only useful when buffers are reused
    expected = Interpreter(graph).run(x, y)
    got = _run_with_plan(graph, [x.numpy().copy(), y.numpy().copy()])
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e.numpy())


def test_only_known_ops_may_alias():
    traced = gt.trace(lambda x: (x.exp(), x.t(), x.reshape(9)), gt.randn(3, 3), optimize=False)
    flags = {n.target: may_alias_inputs(n) for n in traced.graph.op_nodes}
    assert flags == {"exp": False, "transpose": True, "view": True}


def test_registry_ops_assumed_fresh_never_return_their_inputs_memory():
    """Run every op-table row eagerly and check that ops the planner treats as fresh
    never return memory shared with an input (views and `may_alias_input` ops may)."""
    from graphtorch.ops.registry import REGISTRY, Category

    from ..ops import harness as H
    from ..ops.test_op_table import ROWS

    shared = set()
    originals = {}

    def wrap(op):
        kernel = op.kernel

        def checked(xp, *args, **attrs):
            out = kernel(xp, *args, **attrs)
            arrays = [a for x in args for a in (x if isinstance(x, list) else [x])
                      if isinstance(a, np.ndarray)]
            for o in out if isinstance(out, tuple) else (out,):
                if isinstance(o, np.ndarray) and any(np.may_share_memory(o, a)
                                                     for a in arrays):
                    shared.add(op.name)
            return out
        return checked

    fresh = [op for op in REGISTRY.values()
             if op.category is not Category.VIEW and not op.may_alias_input]
    try:
        for op in fresh:
            originals[op] = op.kernel
            object.__setattr__(op, "kernel", wrap(op))
        for row in ROWS:
            for case in row.cases:
                for dtype in row.dtypes:
                    try:
                        row.fn(gt, *H.to_lib(gt, H.make_inputs(row, case, dtype), ()))
                    except Exception:  # noqa: BLE001, S112 - error rows are not the point
                        continue
    finally:
        for op, kernel in originals.items():
            object.__setattr__(op, "kernel", kernel)
    assert not shared
