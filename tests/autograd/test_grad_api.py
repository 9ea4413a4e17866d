"""`autograd.grad`, `backward(inputs=...)` and the legacy `Variable` vs PyTorch."""

from __future__ import annotations

import pytest

from .diff import raises_like_torch, same


def _leaf(lib, values=(1.0, 2.0, 3.0)):
    return lib.tensor(list(values), requires_grad=True)


def test_grad_basic_does_not_touch_dot_grad():
    def fn(lib):
        x = _leaf(lib)
        (g,) = lib.autograd.grad((x * x).sum(), x)
        return g, x.grad is None, g.requires_grad
    same(fn)


def test_grad_multiple_inputs_and_outputs():
    def fn(lib):
        x = _leaf(lib)
        w = _leaf(lib, (0.5, -1.0, 2.0))
        y1 = (x * w).sum()
        y2 = (x.exp() * w).sum()
        return lib.autograd.grad([y1, y2], [x, w])
    same(fn, rtol=1e-6)


def test_grad_outputs():
    def fn(lib):
        x = _leaf(lib)
        y = x ** 2
        return lib.autograd.grad(y, x, grad_outputs=lib.tensor([1.0, 0.1, 0.01]))
    same(fn, rtol=1e-6)


def test_grad_non_scalar_without_grad_outputs_raises():
    raises_like_torch(lambda lib: lib.autograd.grad(_leaf(lib) * 2, _leaf(lib)),
                      match="implicitly created only for scalar outputs")


def test_grad_higher_order_derivatives():
    def fn(lib):
        x = lib.tensor(1.5, requires_grad=True)
        y = x ** 4 + x.sin()
        (d1,) = lib.autograd.grad(y, x, create_graph=True)
        (d2,) = lib.autograd.grad(d1, x, create_graph=True)
        (d3,) = lib.autograd.grad(d2, x)
        return d1, d2, d3, d1.requires_grad, d2.requires_grad, d3.requires_grad
    same(fn, rtol=1e-5)


def test_grad_of_grad_vector_hessian_product():
    def fn(lib):
        x = _leaf(lib)
        y = (x ** 3).sum() * (x ** 2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        v = lib.tensor([1.0, -1.0, 0.5])
        (hv,) = lib.autograd.grad(g, x, grad_outputs=v)
        return g, hv
    same(fn, rtol=1e-5)


def test_double_backward_through_saved_output():
    def fn(lib):
        x = _leaf(lib, (0.1, 0.2, 0.3))
        y = x.exp().sum() + x.tanh().sum() + x.sigmoid().sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return g, h
    same(fn, rtol=1e-5)


def test_grad_allow_unused():
    def fn(lib):
        x = _leaf(lib)
        unused = _leaf(lib)
        return lib.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    same(fn)
    raises_like_torch(lambda lib: lib.autograd.grad((_leaf(lib) * 2).sum(), _leaf(lib)),
                      match="appears to not have been used in the graph")


def test_grad_materialize_grads():
    def fn(lib):
        x = _leaf(lib)
        unused = _leaf(lib)
        return lib.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    same(fn)


def test_grad_input_not_requiring_grad_raises():
    raises_like_torch(lambda lib: lib.autograd.grad((_leaf(lib) * 2).sum(), lib.ones(3)),
                      match="does not require grad")


def test_grad_wrt_intermediate():
    def fn(lib):
        x = _leaf(lib)
        h = x * 3
        y = (h * h).sum()
        return lib.autograd.grad(y, h)
    same(fn)


def test_grad_retain_graph():
    def fn(lib):
        x = _leaf(lib)
        y = (x * x).sum()
        a = lib.autograd.grad(y, x, retain_graph=True)
        b = lib.autograd.grad(y, x)
        return a, b
    same(fn)
    raises_like_torch(lambda lib: [lib.autograd.grad(y, x) for x in [_leaf(lib)]
                                   for y in [(x * x).sum()] for _ in range(2)],
                      match="second time")


def test_grad_only_runs_needed_branch_accumulates_nothing():
    def fn(lib):
        x = _leaf(lib)
        w = _leaf(lib)
        y = (x * w).sum()
        lib.autograd.grad(y, x)
        return x.grad is None, w.grad is None
    same(fn)


def test_backward_inputs_restricts_accumulation():
    def fn(lib):
        x = _leaf(lib)
        w = _leaf(lib, (4.0, 5.0, 6.0))
        (x * w).sum().backward(inputs=[w])
        return x.grad is None, w.grad
    same(fn)


def test_backward_inputs_nonleaf_gets_grad():
    def fn(lib):
        x = _leaf(lib)
        h = x * 2
        (h * h).sum().backward(inputs=[h, x])
        return h.grad, x.grad
    same(fn)


def test_backward_inputs_empty_raises():
    raises_like_torch(lambda lib: (_leaf(lib) * 2).sum().backward(inputs=[]),
                      match="cannot be empty")


def test_backward_inputs_single_tensor():
    def fn(lib):
        x = _leaf(lib)
        w = _leaf(lib)
        (x * w).sum().backward(inputs=x)
        return x.grad, w.grad is None
    same(fn)


# --- Variable --------------------------------------------------------------------------

def test_variable_wrapper():
    def fn(lib):
        from_data = lib.tensor([1.0, 2.0])
        v = lib.autograd.Variable(from_data, requires_grad=True)
        (v * v).sum().backward()
        plain = lib.autograd.Variable(lib.ones(2))
        return (v.grad, v.is_leaf, v.requires_grad, isinstance(v, lib.Tensor),
                isinstance(from_data, lib.autograd.Variable), plain.requires_grad,
                type(v).__name__, v.data_ptr() == from_data.data_ptr())
    same(fn)


def test_variable_shares_memory():
    def fn(lib):
        base = lib.tensor([1.0, 2.0])
        v = lib.autograd.Variable(base, requires_grad=True)
        base.add_(1)
        return v.detach()
    same(fn)


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_create_graph_result_flags(create_graph):
    def fn(lib):
        x = _leaf(lib)
        (g,) = lib.autograd.grad((x ** 2).sum(), x, create_graph=create_graph)
        return g.requires_grad, g.is_leaf
    same(fn)


def test_grad_takes_any_iterable_of_inputs():
    # MAML-style code passes `params.values()`; PyTorch takes any iterable of tensors
    def fn(lib):
        params = {"a": _leaf(lib), "b": _leaf(lib, (4.0, 5.0, 6.0))}
        loss = (params["a"] * params["b"]).sum()
        grads = lib.autograd.grad(loss, params.values(), create_graph=True)
        from_generator = lib.autograd.grad(loss, (p for p in params.values()))
        return grads, from_generator
    same(fn)
