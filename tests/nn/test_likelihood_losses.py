"""PoissonNLLLoss and GaussianNLLLoss (module and functional forms) against PyTorch: values
and float64 gradients over shapes, options and reductions, the variance's accepted shapes
and clamping, repr, errors; both inside `gt.compile` against eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, same_error, torch
from .loss_helpers import compare_loss

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def _x(*shape):
    return RNG.standard_normal(shape)


def _counts(*shape):
    return RNG.poisson(2.0, size=shape).astype(np.float64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"full": True}, {"log_input": False},
                                     {"log_input": False, "full": True, "eps": 1e-4}], ids=str)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_poisson_nll_loss(shape, options, reduction):
    rate = RNG.uniform(0.1, 3.0, size=shape) if options.get("log_input") is False \
        else _x(*shape)
    target = _counts(*shape)
    target.reshape(-1)[0] = 0.0          # log(0) in the Stirling term is masked out
    kwargs = dict(options, reduction=reduction)
    compare_loss(lambda lib: lib.nn.PoissonNLLLoss(**kwargs), [rate, target],
                 grad_positions=(0, 1))
    compare_loss(lambda lib: lambda x, y: lib.nn.functional.poisson_nll_loss(x, y, **kwargs),
                 [rate, target], grad_positions=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shapes", [
    [(4, 3), (4, 3), (4, 3)],            # heteroscedastic
    [(4, 3), (4, 3), (4,)],              # one variance per sample (one dim short)
    [(4, 3), (4, 3), (4, 1)],            # ... or a size-1 dim
    [(2, 3, 4), (2, 3, 4), (2, 1, 4)],
    [(5,), (5,), (5,)],
], ids=str)
def test_gaussian_nll_loss(shapes, full, reduction):
    var = RNG.uniform(0.2, 2.0, size=shapes[2])
    var.reshape(-1)[0] = 1e-9            # clamped at eps, the gradient still flows
    inputs = [_x(*shapes[0]), _x(*shapes[1]), var]
    kwargs = {"full": full, "reduction": reduction}
    compare_loss(lambda lib: lib.nn.GaussianNLLLoss(**kwargs), inputs, grad_positions=(0, 1, 2),
                 rtol=1e-9)
    compare_loss(lambda lib: lambda *a: lib.nn.functional.gaussian_nll_loss(*a, eps=1e-3,
                                                                             **kwargs),
                 inputs, grad_positions=(0, 1, 2), rtol=1e-9)


def test_gaussian_nll_loss_float_variance_and_float32():
    x, y = _x(3, 4), _x(3, 4)
    compare_loss(lambda lib: lambda a, b: lib.nn.functional.gaussian_nll_loss(a, b, 0.5),
                 [x, y], grad_positions=(0, 1))
    compare_loss(lambda lib: lib.nn.GaussianNLLLoss(), [x.astype(np.float32),
                 y.astype(np.float32), RNG.uniform(0.5, 1, (3, 1)).astype(np.float32)],
                 rtol=1e-5, atol=1e-6)
    compare_loss(lambda lib: lib.nn.PoissonNLLLoss(), [x.astype(np.float32),
                 _counts(3, 4).astype(np.float32)], rtol=1e-5, atol=1e-6)


def test_reprs_and_attributes():
    for text in ("PoissonNLLLoss()", "PoissonNLLLoss(log_input=False, full=True, eps=1e-4)",
                 "GaussianNLLLoss()", "GaussianNLLLoss(full=True, eps=1e-3, reduction='sum')"):
        t, g = (eval("nn." + text, {"nn": lib.nn}) for lib in (torch, gt))
        assert repr(g) == repr(t)
        for name in ("log_input", "full", "eps", "reduction"):
            assert getattr(g, name, None) == getattr(t, name, None), (text, name)


@pytest.mark.parametrize("call", [
    "F.gaussian_nll_loss(ones(2, 3), ones(2, 3), -ones(2, 3))",
    "F.gaussian_nll_loss(ones(2, 3), ones(2, 3), -1.0)",
    "F.gaussian_nll_loss(ones(2, 3), ones(2, 3), ones(3, 2))",
    "F.gaussian_nll_loss(ones(2, 3, 4), ones(2, 3, 4), ones(2, 1, 1))",
    "F.gaussian_nll_loss(ones(2, 3), ones(2, 3), ones(2, 3), reduction='avg')",
    "F.poisson_nll_loss(ones(2, 3), ones(2, 3), reduction='avg')",
    "nn.GaussianNLLLoss(0.1)",                 # full and eps are keyword-only
])
def test_errors(call):
    same_error(lambda lib: eval(call, {"nn": lib.nn, "F": lib.nn.functional,
                                       "int64": lib.int64,
                                       "ones": lambda *s, **k: lib.ones(*s, **k)}),
               match=None)


def test_integer_variance_is_refused():
    # PyTorch names the integer type by its C++ name ("long int"); graphtorch by its
    # scalar type name
    same_error(lambda lib: lib.nn.functional.gaussian_nll_loss(
        lib.ones(2, 3), lib.ones(2, 3), lib.ones(2, 3, dtype=lib.int64)),
        match="result type Float can't be cast to the desired output type")


@pytest.mark.parametrize("predicted_var", [False, True])
def test_likelihood_losses_compiled_match_eager(predicted_var):
    """A regression head predicting a mean (and a variance) for Gaussian NLL and a log rate
    for Poisson NLL: the compiled step agrees with eager on loss and gradients. A fixed
    float variance compiles to one graph; the check for a negative entry of a tensor
    variance reads its value and, as under torch.compile, breaks the graph there."""
    gt.manual_seed(0)
    head = gt.nn.Linear(5, 3)
    gaussian, poisson = gt.nn.GaussianNLLLoss(full=True), gt.nn.PoissonNLLLoss(full=True)
    x = gt.tensor(_x(6, 5).astype(np.float32))
    y = gt.tensor(_x(6).astype(np.float32))
    counts = gt.tensor(_counts(6).astype(np.float32))

    def step(x, y, counts):
        out = head(x)
        var = gt.nn.functional.softplus(out[:, 1]) if predicted_var else 0.5
        return gaussian(out[:, 0], y, var) + poisson(out[:, 2], counts)

    compiled = gt.compile(step)
    results = []
    for fn in (step, compiled):
        head.zero_grad()
        loss = fn(x, y, counts)
        loss.backward()
        results.append((loss, head.weight.grad.clone(), head.bias.grad.clone()))
    for got, want in zip(results[1], results[0]):
        close(got, want, 1e-5, 1e-6)
    if not predicted_var:
        assert compiled.stats.graph_breaks == [] and compiled.compile_count == 1
