"""`gt.autograd.functional` against `torch.autograd.functional`: values, structure of
tuple results, create_graph, strict-mode errors and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.autograd.diff import raises_like_torch, same


def _x(lib, data=(0.5, -1.2, 2.0)):
    return lib.tensor(data, dtype=lib.float64)


def f_vector(x):
    return x.sin() * x ** 2


def f_two_in_two_out(x, y):
    return (x * y.sum(), (x.exp() * y[:3]).sum())


def f_scalar(x):
    return (x ** 3 * x.cos()).sum()


def f_scalar_two(x, y):
    return (x ** 2 * y[:3]).sum() + (y ** 3).sum()


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("vectorize", [False, True])
def test_jacobian(create_graph, vectorize):
    def fn(lib):
        x, y = _x(lib), lib.arange(4.0, dtype=lib.float64)
        J = lib.autograd.functional
        single = J.jacobian(f_vector, x, create_graph=create_graph, vectorize=vectorize)
        pair = J.jacobian(f_two_in_two_out, (x, y), create_graph=create_graph,
                          vectorize=vectorize)
        return single, pair
    same(fn, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian(create_graph):
    def fn(lib):
        x, y = _x(lib), lib.arange(4.0, dtype=lib.float64)
        J = lib.autograd.functional
        return (J.hessian(f_scalar, x, create_graph=create_graph),
                J.hessian(f_scalar_two, (x, y), create_graph=create_graph))
    same(fn, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["vjp", "jvp"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp_jvp(name, create_graph):
    def fn(lib):
        x, y = _x(lib), lib.arange(4.0, dtype=lib.float64)
        op = getattr(lib.autograd.functional, name)
        if name == "vjp":
            v1, v2 = lib.ones(3, dtype=lib.float64) * 0.5, (lib.ones(3, dtype=lib.float64),
                                                             lib.tensor(2.0, dtype=lib.float64))
        else:
            v1, v2 = lib.ones(3, dtype=lib.float64) * 0.5, (lib.ones(3, dtype=lib.float64),
                                                             lib.ones(4, dtype=lib.float64))
        return (op(f_vector, x, v1, create_graph=create_graph),
                op(f_two_in_two_out, (x, y), v2, create_graph=create_graph),
                op(lambda t: t * 3, lib.tensor([2.0], dtype=lib.float64)))
    same(fn, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["hvp", "vhp"])
def test_hvp_vhp(name):
    def fn(lib):
        x, y = _x(lib), lib.arange(4.0, dtype=lib.float64)
        op = getattr(lib.autograd.functional, name)
        return (op(f_scalar, x, lib.tensor([1.0, 0.5, -2.0], dtype=lib.float64)),
                op(f_scalar_two, (x, y), (lib.ones(3, dtype=lib.float64),
                                          lib.ones(4, dtype=lib.float64))))
    same(fn, rtol=1e-12, atol=1e-12)


def test_create_graph_allows_differentiating_the_result():
    def fn(lib):
        x = _x(lib).requires_grad_()
        jac = lib.autograd.functional.jacobian(f_vector, x, create_graph=True)
        return jac.requires_grad, lib.autograd.grad(jac.sum(), x)[0]
    same(fn, rtol=1e-12, atol=1e-12)


def test_results_are_detached_without_create_graph():
    def fn(lib):
        x = _x(lib).requires_grad_()
        out, vj = lib.autograd.functional.vjp(f_vector, x, lib.ones(3, dtype=lib.float64))
        return out.requires_grad, vj.requires_grad
    same(fn)


def test_independent_inputs_give_zeros_unless_strict():
    def fn(lib):
        x, y = _x(lib), _x(lib)
        return lib.autograd.functional.jacobian(lambda a, b: a * 2, (x, y))
    same(fn)


@pytest.mark.parametrize("case", [
    lambda J, lib: J.jacobian(lambda a, b: a * 2, (_x(lib), _x(lib)), strict=True),
    lambda J, lib: J.jacobian(lambda a: a.detach(), _x(lib), strict=True),
    lambda J, lib: J.jacobian(f_vector, _x(lib), strict=True, vectorize=True),
    lambda J, lib: J.vjp(lambda a, b: a * 2, (_x(lib), _x(lib)), lib.ones(3), strict=True),
    lambda J, lib: J.jvp(lambda a, b: a * 2, (_x(lib), _x(lib)), (_x(lib), _x(lib)),
                         strict=True),
    lambda J, lib: J.hessian(lambda a: a.sum(), _x(lib), strict=True),
    lambda J, lib: J.hvp(lambda a: (a * 2).sum(), _x(lib), _x(lib), strict=True),
    lambda J, lib: J.vhp(lambda a: (a * 2).sum(), _x(lib), _x(lib), strict=True),
    lambda J, lib: J.vjp(f_vector, _x(lib)),
    lambda J, lib: J.jvp(f_vector, _x(lib)),
    lambda J, lib: J.vjp(f_vector, _x(lib), lib.ones(2)),
    lambda J, lib: J.jvp(f_two_in_two_out, (_x(lib), _x(lib)), (lib.ones(3),)),
    lambda J, lib: J.jacobian(f_vector, [1.0, 2.0]),
    lambda J, lib: J.jacobian(lambda a: [a], _x(lib)),
    lambda J, lib: J.hessian(f_vector, _x(lib)),
    lambda J, lib: J.hessian(lambda a: (a, a), _x(lib)),
    lambda J, lib: J.hvp(f_vector, _x(lib), _x(lib)),
    lambda J, lib: J.jacobian(f_vector, _x(lib), strategy="sideways"),
    lambda J, lib: J.jacobian(f_vector, _x(lib), strategy="forward-mode"),
    lambda J, lib: J.jacobian(f_vector, _x(lib), strategy="forward-mode", create_graph=True),
    lambda J, lib: J.jacobian(f_vector, _x(lib), strategy="forward-mode", strict=True),
], ids=lambda f: "")
def test_errors_as_torch(case):
    raises_like_torch(lambda lib: case(lib.autograd.functional, lib))


def test_forward_mode_strategy_gives_the_reverse_mode_values():
    def fn(lib):
        return lib.autograd.functional.jacobian(f_vector, _x(lib), strategy="forward-mode",
                                                vectorize=True)
    same(fn, rtol=1e-12, atol=1e-12)


def test_strict_messages():
    same(lambda lib: lib.autograd.functional.jacobian(lambda a, b: a * 2, (_x(lib), _x(lib)),
                                                      strict=True),
         match="Output 0 of the user-provided function is independent of input 1")
    same(lambda lib: lib.autograd.functional.hessian(lambda a: a.sum(), _x(lib), strict=True),
         match="jacobian of the user-provided function with respect to input 0 is independent")


def test_jacobian_shapes_for_matrices():
    def fn(lib):
        a = lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float64)
        return lib.autograd.functional.jacobian(lambda m: m @ m.T, a).shape
    same(fn)
