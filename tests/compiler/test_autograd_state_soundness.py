"""Compiled calls against eager ones for autograd state the compiled graph used to get wrong:
views written in place of captured tensors, detach_()/requires_grad_() inside, tensor hooks
and retain_grad(), custom autograd.Functions and module backward hooks, outputs of a call
that ran backward inside, leaves created inside, captured tensors' existing .grad, and
returned containers that existed before the call (found by /tmp/sound_probe2)."""

import random

import pytest

import graphtorch as gt
from graphtorch import nn


def both(make, steps=2):
    """Run the function `make()` returns eagerly and compiled (fresh state, same seed);
    return the per-call results of each."""
    out = []
    for compiled in (False, True):
        gt.manual_seed(0)
        fn, call = make()
        f = gt.compile(fn) if compiled else fn
        out.append([call(f) for _ in range(steps)])
    return out


def close(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y)
    elif isinstance(a, gt.Tensor):
        assert isinstance(b, gt.Tensor) and a.requires_grad == b.requires_grad
        assert gt.allclose(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)
    else:
        assert a == b


@pytest.mark.parametrize("stmt", ["W[0].mul_(2)", "W.view(16)[:4].mul_(2)",
                                  "W.t().mul_(2)"])
def test_in_place_write_through_a_view_of_a_captured_tensor(stmt):
    def make():
        W = gt.randn(4, 4)
        X = gt.randn(3, 4)
        ns = {"W": W}
        exec(f"def fn(x):\n    {stmt}\n    return x @ W\n", ns)
        return ns["fn"], lambda f: (f(X), W.clone())
    eager, compiled = both(make, 3)
    close(eager, compiled)


def test_detach_in_place_is_a_gradient_barrier():
    def make():
        X = gt.randn(3, requires_grad=True)

        def fn(x):
            y = x * 2
            y.detach_()
            return y * x

        def call(f):
            X.grad = None
            f(X).sum().backward()
            return X.grad
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_requires_grad_on_an_argument_runs_eagerly():
    def make():
        def fn(x):
            x.requires_grad_(True)
            return x * 2

        def call(f):
            X = gt.randn(3)
            out = f(X)
            return out, X.requires_grad
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_returned_leaf_created_inside_gets_its_grad():
    def make():
        X = gt.randn(3, requires_grad=True)

        def fn(x):
            z = gt.zeros(3, requires_grad=True)
            return x * z, z

        def call(f):
            out, z = f(X)
            out.sum().backward()
            return z.grad, z.is_leaf, z.requires_grad
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_unreturned_leaf_created_inside_keeps_outputs_differentiable():
    def make():
        X = gt.randn(3, 4)

        def fn(x):
            m = nn.Linear(4, 2)
            return m(x)

        def call(f):
            out = f(X)
            out.sum().backward()  # eager: accumulates into the inner module, unobservable
            return out.requires_grad, out.is_leaf
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


@pytest.mark.parametrize("kind", ["intermediate", "argument", "retain_grad"])
def test_tensor_hooks_registered_inside(kind):
    def make():
        X = gt.randn(3, 4, requires_grad=True)
        W = gt.randn(4, 4, requires_grad=True)

        def fn(x):
            y = x @ W
            if kind == "intermediate":
                y.register_hook(lambda g: g * 2)
            elif kind == "argument":
                x.register_hook(lambda g: g + 1)
            else:
                y.retain_grad()
            return y.tanh(), y

        def call(f):
            X.grad = W.grad = None
            out, y = f(X)
            out.sum().backward()
            return X.grad, W.grad, y.grad if kind == "retain_grad" else None
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_custom_function_backward_after_the_call():
    class Weird(gt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 100

    def make():
        X = gt.ones(3, requires_grad=True)

        def fn(x):
            return Weird.apply(x).sum()

        def call(f):
            X.grad = None
            f(X).backward()
            return X.grad
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_module_full_backward_hook():
    def make():
        M = nn.Linear(4, 4)
        X = gt.randn(3, 4, requires_grad=True)
        calls = []
        M.register_full_backward_hook(lambda m, gi, go: calls.append(len(gi)))

        def fn(x):
            return M(x).tanh()

        def call(f):
            f(X).sum().backward()
            return X.grad, M.weight.grad, len(calls)
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


@pytest.mark.parametrize("retain", [False, True])
def test_outputs_after_a_backward_inside_are_differentiable(retain):
    def make():
        X = gt.ones(3, requires_grad=True)

        def fn(x):
            y = x.exp()
            y.sum().backward(retain_graph=retain)
            return x * 3, y

        def call(f):
            a, y = f(X)
            a.sum().backward()
            second = None
            if not retain:  # y's graph was freed inside: eager raises
                try:
                    y.sum().backward()
                    second = "ok"
                except RuntimeError as exc:
                    second = str(exc)[:40]
            return X.grad.clone(), y.requires_grad, second
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_gradient_penalty_then_backward_outside():
    def make():
        M = nn.Linear(4, 4)
        X = gt.randn(3, 4, requires_grad=True)

        def fn(x):
            y = (M(x) ** 2).sum()
            g, = gt.autograd.grad(y, x, create_graph=True)
            return y + (g ** 2).sum()

        def call(f):
            out = f(X)
            out.backward()
            return out, M.weight.grad.clone(), X.grad.clone()
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)


def test_existing_grad_of_a_captured_tensor_is_read_at_each_call():
    def make():
        X = gt.randn(3, 4, requires_grad=True)
        W = gt.randn(4, 4, requires_grad=True)

        def fn(x):
            (x @ W).sum().backward()
            return W.grad.clone()
        steps = iter(["", "", "W.grad = None", "W.grad = None", "", ""])

        def call(f):
            if next(steps):
                W.grad = None
            return f(X)
        return fn, call
    eager, compiled = both(make, 6)
    close(eager, compiled)


def test_returned_containers_keep_their_identity():
    cache = {}

    def make():
        def fn(x):
            return {"a": x.sin(), "c": cache}

        def call(f):
            r = f(gt.ones(2))
            return r["c"] is cache
        return fn, call
    eager, compiled = both(make)
    close(eager, compiled)

    def make_list():
        def fn(xs):
            return xs

        def call(f):
            xs = [gt.ones(2)]
            return f(xs) is xs
        return fn, call
    eager, compiled = both(make_list)
    close(eager, compiled)


def test_backward_into_a_graph_built_before_the_call_runs_eagerly():
    """REINFORCE's `finish_episode`: the losses were recorded by earlier (eager) steps and
    the compiled function backpropagates through them. Tracing must not run that outside
    graph (it would free it and leave placeholders in `.grad`): the call runs eagerly."""
    w = gt.ones(3, requires_grad=True)
    saved = []
    log = [1.0]

    def finish():
        loss = gt.stack(saved).sum()
        loss.backward()
        del log[:]  # a graph break after the backward, as the tutorial's `del rewards[:]`
        return loss

    compiled = gt.compile(finish)
    for scale in (1.0, 10.0, 100.0):
        w.grad = None
        saved[:] = [(w * gt.tensor([1.0, 2.0, 3.0]) * scale).sum(), (w * w).sum()]
        loss = compiled()
        assert loss.item() == pytest.approx(6 * scale + 3)
        assert gt.allclose(w.grad, gt.tensor([1.0, 2.0, 3.0]) * scale + 2)
    assert any("recorded before the compiled call" in str(reason)
               for reason in compiled.stats.graph_breaks)


@pytest.mark.parametrize("seed", range(20))
def test_random_backward_through_outside_and_inside_graphs_matches_eager(seed):
    """Seeded programs mixing terms recorded before the call (kept in a list, as RL code
    keeps log-probabilities) with terms computed inside, then a backward inside: compiled
    results, `.grad` and a later eager backward match eager's, call after call."""
    rng = random.Random(seed)
    n_outside, n_inside = rng.randint(0, 3), rng.randint(1, 3)
    scales = [rng.uniform(-2.0, 2.0) for _ in range(n_outside + n_inside)]
    retain = rng.random() < 0.5

    def run(compile_it):
        gt.manual_seed(seed)
        w = gt.randn(3, requires_grad=True)
        v = gt.randn(3, requires_grad=True)
        kept = []

        def step(x):
            terms = list(kept) + [((x * v).tanh() * s).sum() for s in scales[n_outside:]]
            loss = gt.stack(terms).sum()
            loss.backward(retain_graph=retain)
            return loss.detach()

        fn = gt.compile(step) if compile_it else step
        seen = []
        for call in range(3):
            w.grad = v.grad = None
            kept[:] = [(w * (k + 1) * s).sum().sin() for k, s in enumerate(scales[:n_outside])]
            x = gt.randn(3)
            seen.append((fn(x), w.grad, v.grad))
        return seen

    for (a, wa, va), (b, wb, vb) in zip(run(True), run(False)):
        assert gt.allclose(a, b)
        assert (wa is None) == (wb is None) and (wa is None or gt.allclose(wa, wb))
        assert gt.allclose(va, vb)


@pytest.mark.parametrize("inside", [False, True])
def test_leaf_hooks_added_between_calls(inside):
    """Hooks registered on a captured leaf after compiling (a second register_hook, a
    post-accumulate-grad hook) count for a backward inside the call: the graph traced
    with the earlier hooks is not reused (helper 39's fuzz family hooks_and_structure)."""
    def make():
        w = gt.randn(3, requires_grad=True)
        calls = []

        def fn(x):
            y = (x * w).sin()
            if inside:
                y.sum().backward()
                return w.grad * 1.0
            return y

        def call(f):
            out = f(gt.ones(3))
            if not inside:
                out.sum().backward()
            calls.append(1)
            if len(calls) == 1:
                w.register_hook(lambda g: g * 2.0)
            elif len(calls) == 2:
                w.register_hook(lambda g: g * 3.0)
            elif len(calls) == 3:
                w.register_post_accumulate_grad_hook(lambda p: p.grad.mul_(0.5))
            return w.grad.clone()
        return fn, call

    eager, compiled = both(make, steps=5)
    close(eager, compiled)


@pytest.mark.parametrize("through_view", [False, True])
def test_inplace_op_saving_self_then_written_raises_in_backward_as_eager(through_view):
    """exp_ saves self (its result) for backward; a later write to it makes eager's backward
    raise (as PyTorch's). The compiled function's backward must raise too, not return
    gradients computed from the value exp_ produced."""
    def target(x):
        b = x * 1.0
        v = b.diagonal() if through_view else b
        v.exp_()
        v += 1.5
        return b

    for fn in (target, gt.compile(target)):
        leaf = gt.randn(3, 3, requires_grad=True)
        out = fn(leaf * 1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
