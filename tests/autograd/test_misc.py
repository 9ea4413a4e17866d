"""Assorted autograd and tensor behaviours vs PyTorch: gradient layout, .data, shared
subgraphs under in-place ops, views of non-leaves, accumulation and operator identities."""

from __future__ import annotations

import pytest

from .diff import same

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def grad_layout(lib):
    x = lib.ones(3, 4).t().requires_grad_()
    (x * 2).sum().backward()
    return x.grad.stride(), x.grad

@case
def grad_expanded(lib):
    x = lib.ones(3, requires_grad=True)
    x.expand(4, 3).sum().backward()
    return x.grad, x.grad.stride()

@case
def data_setter(lib):
    x = lib.ones(3, requires_grad=True)
    x.data = lib.zeros(2, 2)
    return x.shape, x.requires_grad, x

@case
def inplace_two_branches(lib):
    w = lib.tensor([1., 2., 3.], requires_grad=True)
    a = w * 2
    b = a + 1
    a.mul_(3)
    return lib.autograd.grad((a * b).sum(), w)

@case
def view_of_view_grad(lib):
    w = lib.arange(6.).reshape(2, 3).requires_grad_()
    x = w * 1
    v = x.t()[1:]
    return lib.autograd.grad((v ** 2).sum(), [w, x])

@case
def grad_wrt_view_nonleaf(lib):
    w = lib.arange(6.).requires_grad_()
    x = w * 1
    v = x[2:4]
    y = (x ** 2).sum()
    return lib.autograd.grad(y, v, allow_unused=True)

@case
def sum_to_scalar_int(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = (x > 1).sum()
    return y.requires_grad, y.dtype

@case
def clone_requires(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    c = x.clone()
    return c.requires_grad, c.is_leaf, c.grad_fn.name(), x.detach().clone().requires_grad

@case
def leaf_view_flags(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    v = x[0]
    return v.is_leaf, v.requires_grad, v.grad_fn.name(), v._base is x, x._base is None, v._is_view()

@case
def contiguous_grad(lib):
    x = lib.ones(3, 4, requires_grad=True)
    y = x.t().contiguous()
    y.sum().backward()
    return y.grad_fn.name(), x.grad

@case
def version_of_views(lib):
    x = lib.zeros(4)
    v = x[1:]
    v.add_(1)
    d = x.detach()
    return x._version, v._version, d._version

@case
def zero_grad_pattern(lib):
    x = lib.ones(2, requires_grad=True)
    (x * 3).sum().backward()
    x.grad.zero_()
    g = x.grad
    (x * 4).sum().backward()
    return g is x.grad, x.grad

@case
def accumulate_create_graph(lib):
    x = lib.ones(2, requires_grad=True)
    (x ** 2).sum().backward(create_graph=True)
    g1 = x.grad
    (x ** 2).sum().backward(create_graph=True)
    return g1 is x.grad, x.grad.requires_grad, x.grad

@case
def retain_graph_none_hooks(lib):
    x = lib.ones(2, requires_grad=True)
    y = x.exp()
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    return x.grad

@case
def nonleaf_backward_inputs(lib):
    x = lib.ones(2, requires_grad=True)
    h = x * 3
    h.sum().backward(inputs=[h])
    return h.grad, x.grad

@case
def requires_grad_on_view_of_nograd(lib):
    x = lib.ones(4)
    v = x[1:]
    v.requires_grad_()
    return v.requires_grad, v.is_leaf, x.requires_grad

@case
def inplace_view_no_grad_base(lib):
    x = lib.ones(4)
    w = lib.ones(2, requires_grad=True)
    x[1:3] = w * 2
    x.sum().backward()
    return w.grad, x.requires_grad, x.grad_fn.name()

@case
def sub_rsub(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = (1 - x) * (x - 2) / (3 / x)
    y.sum().backward()
    return y, x.grad

@case
def pow_grads(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = x ** x + 2 ** x + x ** 0.5
    y.sum().backward()
    return x.grad

@case
def mul_scalar_tensor_0d(lib):
    x = lib.tensor(2., requires_grad=True)
    y = x * lib.ones(3)
    y.sum().backward()
    return x.grad

@case
def backward_gradient_dtype(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = x * 2
    y.backward(lib.tensor([1., 1.], dtype=lib.float64))
    return x.grad

@case
def item_grad(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    return x.sum().item(), int(x[0]), float(x[0].detach()), x.tolist()

@case
def int_pow_neg(lib):
    return lib.tensor([2, 3]) ** 2, lib.tensor([2, 3]) ** 2.0, 2 ** lib.tensor([1, 2])

@case
def iadd_identity(lib):
    x = lib.ones(2)
    y = x
    y += 1
    z = x * 1
    z2 = z
    z2 *= 3
    return y is x, x, z2 is z

@case
def div_int(lib):
    return (lib.tensor([3, 4]) / 2, lib.tensor([3, 4]) // 2, lib.tensor([-3, 4]) % 2,
            lib.tensor([3, 4]) / lib.tensor([2, 3]))

@case
def idiv_int_error(lib):
    x = lib.tensor([3, 4])
    x /= 2
    return x


def test_float_of_requires_grad_warns():
    import graphtorch as gt

    from .diff import torch

    for lib in (torch, gt):
        with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True to a "
                                             "scalar may lead to unexpected behavior"):
            float(lib.ones(1, requires_grad=True))


@pytest.mark.parametrize("name", list(CASES))
def test_case_matches_torch(name):
    same(CASES[name], rtol=1e-6)
