"""Tensor hooks and Node hooks vs PyTorch: call order, replacement values, removal."""

from __future__ import annotations

from .diff import raises_like_torch, same


def _leaf(lib, values=(1.0, 2.0, 3.0)):
    return lib.tensor(list(values), requires_grad=True)


def test_leaf_hook_sees_and_replaces_grad():
    def fn(lib):
        x = _leaf(lib)
        seen = []

        def hook(g):
            seen.append(g.clone())
            return g * 10

        x.register_hook(hook)
        (x * x).sum().backward()
        return seen, x.grad
    same(fn)


def test_leaf_hook_returning_none_keeps_grad():
    def fn(lib):
        x = _leaf(lib)
        calls = []
        x.register_hook(lambda g: calls.append(g.sum().item()))
        (x * 2).sum().backward()
        return calls, x.grad
    same(fn)


def test_nonleaf_hook_changes_downstream_grad():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()))
        y.register_hook(lambda g: g + 1)      # hooks chain in registration order
        y.register_hook(lambda g: seen.append(g.clone()))
        (y * y).sum().backward()
        return seen, x.grad
    same(fn)


def test_hook_handle_remove():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        h1 = x.register_hook(lambda g: g * 100)
        h2 = y.register_hook(lambda g: g * 100)
        h1.remove()
        h2.remove()
        (y * 1).sum().backward()
        return x.grad
    same(fn)


def test_hook_handle_as_context_manager():
    def fn(lib):
        x = _leaf(lib)
        with x.register_hook(lambda g: g * 3):
            (x * 1).sum().backward()
        first = x.grad.clone()
        (x * 1).sum().backward()
        return first, x.grad
    same(fn)


def test_hook_on_tensor_without_grad_raises():
    raises_like_torch(lambda lib: lib.ones(2).register_hook(lambda g: g),
                      match="doesn't require gradient")


def test_hook_fires_once_per_backward_with_summed_grad():
    def fn(lib):
        x = _leaf(lib)
        y = x * 1
        calls = []
        y.register_hook(lambda g: calls.append(g.clone()))
        (y * 2 + y * 3).sum().backward()
        return calls
    same(fn)


def test_hook_with_retain_grad_order():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 0 + 7)
        (y * 1).sum().backward()
        return y.grad, x.grad
    same(fn)


def test_hook_runs_in_autograd_grad():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        y.register_hook(lambda g: g * 5)
        return lib.autograd.grad(y.sum(), x)
    same(fn)


def test_node_post_hook_and_prehook():
    def fn(lib):
        x = _leaf(lib)
        y = x * lib.tensor([2.0, 3.0, 4.0])
        log = []

        def post(grad_inputs, grad_outputs):
            log.append(("post", [g.clone() if g is not None else None for g in grad_inputs],
                        [g.clone() for g in grad_outputs]))

        def pre(grad_outputs):
            log.append(("pre", [g.clone() for g in grad_outputs]))
            return (grad_outputs[0] * 2,)

        y.grad_fn.register_hook(post)
        y.grad_fn.register_prehook(pre)
        y.sum().backward()
        return log, x.grad
    same(fn)


def test_node_post_hook_replaces_grad_inputs():
    def fn(lib):
        x = _leaf(lib)
        y = x.exp()
        y.grad_fn.register_hook(lambda gi, go: (gi[0] * 0 + 1,))
        y.sum().backward()
        return x.grad
    same(fn)


def test_node_hook_remove():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        h = y.grad_fn.register_prehook(lambda go: (go[0] * 100,))
        h.remove()
        y.sum().backward()
        return x.grad
    same(fn)


def test_accumulate_grad_node_hooks():
    def fn(lib):
        x = _leaf(lib)
        acc = (x * 1).grad_fn.next_functions[0][0]
        log = []
        acc.register_prehook(lambda go: log.append(go[0].clone()))
        (x * 3).sum().backward()
        return log, x.grad
    same(fn)


def test_grad_fn_callable_directly():
    def fn(lib):
        x = _leaf(lib)
        y = x * lib.tensor([2.0, 3.0, 4.0])
        return y.grad_fn(lib.ones(3))
    same(fn)


def test_hook_modification_in_place_of_grad_seen_by_later_hooks():
    def fn(lib):
        x = _leaf(lib)
        vals = []
        x.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: vals.append(g.clone()))
        (x * 1).sum().backward()
        return vals, x.grad
    same(fn)


def test_autograd_grad_skips_hooks_of_nodes_off_the_path_to_inputs():
    """autograd.grad runs only the nodes that lead to its inputs, hooks included: a hook on
    a leaf (or a non-leaf) outside `inputs` stays quiet even when a gradient reaches it."""
    def fn(lib):
        x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        c = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        log = []
        c.register_hook(lambda g: log.append("leaf c"))
        h = c * 2
        h.register_hook(lambda g: log.append("h, off the path"))
        on_path = x * 2
        on_path.register_hook(lambda g: log.append("x * 2, on the path"))
        loss = (x + c).sum() + h.sum() + on_path.sum()
        grads = lib.autograd.grad(loss, [x])
        return grads, log, c.grad
    same(fn)
