"""fractional_max_pool2d/3d and FractionalMaxPool2d/3d against PyTorch: with explicit
`_random_samples` values, indices and gradients are identical; drawn samples follow
gt.manual_seed as PyTorch's follow torch.manual_seed; errors, modules, compiled calls."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [  # (dims, input shape, kernel_size, output_size)
    (2, (2, 3, 9, 11), 2, (4, 5)),
    (2, (3, 10, 7), (3, 2), (5, 6)),   # unbatched
    (2, (1, 2, 7, 6), 3, (5, 4)),      # windows reach the input's end
    (2, (2, 1, 5, 5), 2, (1, 1)),
    (3, (2, 2, 7, 8, 9), 2, (3, 4, 5)),
    (3, (2, 6, 5, 8), (2, 3, 2), (4, 1, 6)),  # unbatched
]


def _samples(rng, shape, dims, dtype):
    batch = shape[0] if len(shape) == dims + 2 else 1
    channels = shape[-dims - 1]
    return rng.uniform(size=(batch, channels, dims)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dims,shape,kernel,out", CASES)
def test_explicit_samples_match_exactly(dims, shape, kernel, out, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    samples = _samples(rng, shape, dims, dtype)
    results = []
    for lib, fn in ((torch, TF), (gt, F)):
        xt = lib.tensor(x, requires_grad=True)
        pool = getattr(fn, f"fractional_max_pool{dims}d_with_indices")
        output, indices = pool(xt, kernel, out, _random_samples=lib.tensor(samples))
        grad = np.random.default_rng(1).normal(size=tuple(output.shape)).astype(dtype)
        output.backward(lib.tensor(grad))
        results.append((output.detach().numpy(), indices.numpy(), xt.grad.numpy()))
    for a, b in zip(*results):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("dims", [2, 3])
def test_drawn_samples_follow_the_seed(dims):
    """Without _random_samples both draw rand(N, C, dims) in the input's dtype."""
    x = np.random.default_rng(2).normal(size=(2, 3) + (9,) * dims).astype(np.float32)
    outputs = []
    for lib, fn in ((torch, TF), (gt, F)):
        lib.manual_seed(0)
        pool = getattr(fn, f"fractional_max_pool{dims}d")
        ratio = (0.5,) * dims  # PyTorch's 2-D function takes no single float
        first = pool(lib.tensor(x), 2, output_ratio=ratio, return_indices=True)
        second = pool(lib.tensor(x), 2, output_ratio=ratio, return_indices=True)
        outputs.append([t.numpy() for t in (*first, *second)])
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(b, a)
    assert not np.array_equal(outputs[1][1], outputs[1][3])  # new windows each call


@pytest.mark.parametrize("dims", [2, 3])
def test_modules_match_pytorch(dims):
    x = np.random.default_rng(3).normal(size=(2, 3) + (8,) * dims).astype(np.float32)
    samples = np.random.default_rng(4).uniform(size=(2, 3, dims)).astype(np.float32)
    results = []
    for lib in (torch, gt):
        cls = getattr(lib.nn, f"FractionalMaxPool{dims}d")
        with_buffer = cls(3, output_size=4, return_indices=True,
                          _random_samples=lib.tensor(samples))
        by_ratio = cls(2, output_ratio=0.5)
        lib.manual_seed(5)
        results.append([t.numpy() for t in with_buffer(lib.tensor(x))]
                       + [by_ratio(lib.tensor(x)).numpy(), repr(with_buffer),
                          list(with_buffer.state_dict()), list(by_ratio.state_dict())])
    for a, b in zip(*results):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(b, a)
        else:
            assert b == a


MODULE_ERRORS = [
    (2, {"kernel_size": 2}),
    (2, {"kernel_size": 2, "output_size": 3, "output_ratio": 0.5}),
    (2, {"kernel_size": 2, "output_ratio": 1.0}),
    (3, {"kernel_size": 0, "output_size": 3}),
    (3, {"kernel_size": 2, "output_ratio": (0.5, 0.5, 0.0)}),
]


@pytest.mark.parametrize("dims,kwargs", MODULE_ERRORS)
def test_module_errors_match_pytorch(dims, kwargs):
    messages = []
    for lib in (torch, gt):
        with pytest.raises(ValueError) as info:
            getattr(lib.nn, f"FractionalMaxPool{dims}d")(**kwargs)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


CALL_ERRORS = [  # (dims, input shape, kwargs); samples given as (shape, dtype name)
    (2, (1, 1, 7, 6), {"kernel_size": 3, "output_size": (6, 4)}),
    (2, (1, 1, 7, 6), {"kernel_size": 3, "output_size": (6, 5)}),
    (2, (3, 0, 4, 4), {"kernel_size": 2, "output_size": 2}),
    (2, (2, 3, 7, 6), {"kernel_size": 2, "output_size": 3, "_random_samples": ((2, 3, 3),
                                                                                "float32")}),
    (2, (2, 3, 7, 6), {"kernel_size": 2, "output_size": 3, "_random_samples": ((1, 3, 2),
                                                                                "float32")}),
    (2, (2, 3, 7, 6), {"kernel_size": 2, "output_size": 3, "_random_samples": ((2, 3, 2),
                                                                                "float64")}),
    (2, (2, 3, 7, 6), {"kernel_size": 2}),
    (3, (1, 1, 7, 6, 6), {"kernel_size": 2, "output_size": (6, 4, 4)}),
    (3, (1, 1, 7, 6, 6), {"kernel_size": 2, "output_size": (5, 5, 5)}),  # width first
    (3, (1, 1, 7, 6, 8), {"kernel_size": 2, "output_size": (5, 5, 4)}),
]


@pytest.mark.parametrize("dims,shape,kwargs", CALL_ERRORS)
def test_call_errors_match_pytorch(dims, shape, kwargs):
    errors = []
    for lib, fn in ((torch, TF), (gt, F)):
        kw = dict(kwargs)
        if "_random_samples" in kw:
            size, dtype = kw["_random_samples"]
            kw["_random_samples"] = lib.zeros(size, dtype=getattr(lib, dtype))
        with pytest.raises((RuntimeError, ValueError)) as info:
            getattr(fn, f"fractional_max_pool{dims}d")(lib.zeros(shape), **kw)
        errors.append((type(info.value), str(info.value)))
    assert errors[1] == errors[0]


def test_compiled_equals_eager():
    x = gt.randn(2, 3, 9, 9, requires_grad=True)
    samples = gt.rand(2, 3, 2)

    def f(x):
        out, idx = F.fractional_max_pool2d(x, 2, (4, 4), return_indices=True,
                                           _random_samples=samples)
        return (out * out).sum(), idx

    loss, idx = f(x)
    (grad,) = gt.autograd.grad(loss, x)
    compiled = gt.compile(f)
    loss_c, idx_c = compiled(x)
    (grad_c,) = gt.autograd.grad(loss_c, x)
    np.testing.assert_allclose(loss_c.detach().numpy(), loss.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(idx_c.numpy(), idx.numpy())
    np.testing.assert_array_equal(grad_c.numpy(), grad.numpy())


def test_nan_windows_pick_the_last_nan_as_pytorch():
    """PyTorch's kernel keeps a window's first maximum, but its last NaN; the gradient goes
    to the index returned."""
    x = np.arange(72, dtype=np.float32).reshape(1, 2, 6, 6)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[0, 1, 4, 4] = np.nan
    x[0, 1, 0, 0] = x[0, 1, 0, 1] = 100.0  # a tie: the first one wins
    samples = np.array([[[0.3, 0.6], [0.1, 0.9]]], dtype=np.float32)
    results = []
    for lib, fn in ((torch, TF), (gt, F)):
        xt = lib.tensor(x, requires_grad=True)
        out, idx = fn.fractional_max_pool2d_with_indices(xt, 3, (2, 2),
                                                         _random_samples=lib.tensor(samples))
        out.sum().backward()
        results.append((out.detach().numpy(), idx.numpy(), xt.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(b, a)
