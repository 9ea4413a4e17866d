"""`gt.autograd.gradcheck` / `gradgradcheck` against PyTorch's: verdicts on correct and
wrong gradients, messages, warnings and argument errors."""

from __future__ import annotations

import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch


def _wrong_backward(lib, factor=3.0):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * factor

    return Scale.apply


def _inputs(lib):
    return (lib.tensor([0.3, -1.1, 2.0], dtype=lib.float64, requires_grad=True),
            lib.tensor([[1.5, 0.2], [-0.7, 0.9]], dtype=lib.float64, requires_grad=True))


FUNCS = [
    lambda lib: lambda x, y: (x.sin() * x).sum() + (y @ y).tanh().sum(),
    lambda lib: lambda x, y: (x.exp(), y.t() @ y, x.sum() * y),
    lambda lib: lambda x, y: lib.nn.functional.softmax(y, dim=1) * x[:2],
    lambda lib: lambda x, y: lib.nn.functional.mse_loss(y, y.t() ** 2),
]


@pytest.mark.parametrize("make", FUNCS, ids=["sum", "tuple", "softmax", "mse"])
def test_correct_gradients_pass(make):
    same(lambda lib: lib.autograd.gradcheck(make(lib), _inputs(lib)))
    same(lambda lib: lib.autograd.gradgradcheck(make(lib), _inputs(lib)))


def test_wrong_gradient_fails_with_torchs_message():
    def fn(lib):
        x = lib.tensor([0.3, -1.1], dtype=lib.float64, requires_grad=True)
        return lib.autograd.gradcheck(_wrong_backward(lib), (x,))
    same(fn, match=r"Jacobian mismatch for output 0 with respect to input 0,\nnumerical:")
    err = raises_like_torch(fn)
    assert isinstance(err, gt.autograd.gradcheck.__globals__["GradcheckError"])
    assert isinstance(err, RuntimeError)


def test_raise_exception_false_returns_false():
    def fn(lib):
        x = lib.tensor([0.3, -1.1], dtype=lib.float64, requires_grad=True)
        return (lib.autograd.gradcheck(_wrong_backward(lib), (x,), raise_exception=False),
                lib.autograd.gradcheck(_wrong_backward(lib, 2.0), x, raise_exception=False))
    same(fn)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    def fn(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * 3 * x.detach() ** 2  # detached: no second derivative

        x = lib.tensor([0.3, -1.1], dtype=lib.float64, requires_grad=True)
        return (lib.autograd.gradcheck(Cube.apply, (x,)),
                lib.autograd.gradgradcheck(Cube.apply, (x,), raise_exception=False))
    same(fn)


def test_explicit_grad_outputs_and_non_contiguous():
    def fn(lib):
        x = lib.tensor([[0.3, -1.1], [0.5, 0.25]], dtype=lib.float64, requires_grad=True)
        g = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        return (lib.autograd.gradgradcheck(lambda t: t ** 3, (x,), (g,)),
                lib.autograd.gradgradcheck(lambda t: t.exp() * t, (x,),
                                           gen_non_contig_grad_outputs=True))
    same(fn)


def test_float32_inputs_warn_as_torch():
    for lib in (gt, torch):
        x = lib.tensor([0.3, -1.1], requires_grad=True)
        with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double"):
            lib.autograd.gradcheck(lambda t: t * 2, (x,), raise_exception=False)


def test_no_differentiable_outputs():
    def fn(lib):
        x = lib.tensor([0.3, -1.1], dtype=lib.float64, requires_grad=True)
        return lib.autograd.gradcheck(lambda t: (t > 0).double(), (x,))
    same(fn)


@pytest.mark.parametrize("case", [
    lambda lib: lib.autograd.gradcheck(lambda t: t * 2, (lib.ones(2, dtype=lib.float64),)),
    lambda lib: lib.autograd.gradcheck(
        lambda t: t * 2, (lib.ones(1, 3, dtype=lib.float64).expand(2, 3).requires_grad_(),)),
    lambda lib: lib.autograd.gradcheck(lambda t: t, (lib.ones(2, dtype=lib.float64,
                                                              requires_grad=True),),
                                       check_forward_ad=False, check_backward_ad=False),
    lambda lib: lib.autograd.gradgradcheck(lambda t: t, (lib.ones(2, dtype=lib.float64,
                                                                  requires_grad=True),),
                                           check_rev_over_rev=False),
], ids=["none_requires_grad", "stride0", "no_mode", "gradgrad_no_mode"])
def test_argument_errors_as_torch(case):
    raises_like_torch(case)
