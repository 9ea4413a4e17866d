"""F.affine_grid and F.grid_sample against PyTorch: values, gradients to input and grid,
every mode and padding mode, 2-D and 3-D, argument errors, and compiled equal to eager."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

_CASES = [(nd, mode, pad, ac)
          for nd in (2, 3)
          for mode, pad, ac in itertools.product(("bilinear", "nearest", "bicubic"),
                                                 ("zeros", "border", "reflection"),
                                                 (False, True))
          if not (mode == "bicubic" and nd == 3)]


def _run(lib, x, grid, weight, **kwargs):
    xt = lib.tensor(x, requires_grad=True)
    gridt = lib.tensor(grid, requires_grad=True)
    out = lib.nn.functional.grid_sample(xt, gridt, **kwargs)
    (out * lib.tensor(weight)).sum().backward()
    grid_grad = np.zeros(grid.shape) if gridt.grad is None else gridt.grad.numpy()
    return out.detach().numpy(), xt.grad.numpy(), grid_grad


@pytest.mark.parametrize("nd,mode,pad,align_corners", _CASES)
def test_grid_sample_matches_torch(nd, mode, pad, align_corners):
    rng = np.random.RandomState(nd)
    x = rng.randn(2, 3, *[5, 6, 4][:nd])
    grid = rng.uniform(-1.4, 1.4, (2, *[3, 4, 2][:nd], nd))
    weight = rng.randn(2, 3, *[3, 4, 2][:nd])
    kwargs = {"mode": mode, "padding_mode": pad, "align_corners": align_corners}
    expected = _run(torch, x, grid, weight, **kwargs)
    got = _run(gt, x, grid, weight, **kwargs)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 1, 3, 4, 5)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, align_corners):
    rng = np.random.RandomState(0)
    nd = len(size) - 2
    theta = rng.randn(2, nd, nd + 1)
    with pytest.warns(UserWarning) if align_corners and min(size[2:]) == 1 else _nothing():
        got = gt.nn.functional.affine_grid(gt.tensor(theta, requires_grad=True), size,
                                           align_corners=align_corners)
    with pytest.warns(UserWarning) if align_corners and min(size[2:]) == 1 else _nothing():
        expected = torch.nn.functional.affine_grid(torch.tensor(theta), size,
                                                   align_corners=align_corners)
    np.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_spatial_transformer_gradient_to_theta():
    rng = np.random.RandomState(1)
    x = rng.randn(2, 1, 8, 8).astype(np.float32)
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 1.1, 0.02]]] * 2, np.float32)
    grads = []
    for lib in (torch, gt):
        t = lib.tensor(theta, requires_grad=True)
        grid = lib.nn.functional.affine_grid(t, (2, 1, 8, 8), align_corners=False)
        out = lib.nn.functional.grid_sample(lib.tensor(x), grid, align_corners=False)
        (out * out).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-4)


def test_grid_sample_compiled_equals_eager():
    rng = np.random.RandomState(2)
    x = gt.tensor(rng.randn(2, 3, 6, 6).astype(np.float32))
    theta = gt.tensor(rng.randn(2, 2, 3).astype(np.float32) * 0.3, requires_grad=True)

    def fn(x, theta):
        grid = gt.nn.functional.affine_grid(theta, (2, 3, 5, 5), align_corners=False)
        out = gt.nn.functional.grid_sample(x, grid, padding_mode="reflection",
                                           align_corners=False)
        loss = out.square().sum()
        loss.backward()
        return loss

    eager = fn(x, theta)
    eager_grad = theta.grad.clone()
    theta.grad = None
    compiled = gt.compile(fn)
    for _ in range(2):
        theta.grad = None
        loss = compiled(x, theta)
    np.testing.assert_allclose(loss.item(), eager.item(), rtol=1e-5)
    np.testing.assert_allclose(theta.grad.numpy(), eager_grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("input_shape,grid_shape,kwargs", [
    ((1, 1, 3, 3), (2, 2, 2, 2), {}),
    ((1, 1, 3, 3), (1, 2, 2, 3), {}),
    ((1, 1, 3, 3), (1, 2, 2), {}),
    ((1, 1, 2, 2, 2), (1, 2, 2, 2, 3), {"mode": "bicubic"}),
    ((1, 1, 0, 2), (1, 2, 2, 2), {}),
    ((1, 1, 3, 3), (1, 2, 2, 2), {"mode": "linear"}),
    ((1, 1, 3, 3), (1, 2, 2, 2), {"padding_mode": "wrap"}),
])
def test_grid_sample_errors_match_torch(input_shape, grid_shape, kwargs):
    with pytest.raises(Exception) as expected:
        torch.nn.functional.grid_sample(torch.zeros(input_shape), torch.zeros(grid_shape),
                                        align_corners=False, **kwargs)
    with pytest.raises(type(expected.value)) as got:
        gt.nn.functional.grid_sample(gt.zeros(input_shape), gt.zeros(grid_shape),
                                     align_corners=False, **kwargs)
    assert str(got.value) == str(expected.value)


def test_align_corners_none_warns_as_torch():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        grid = gt.nn.functional.affine_grid(gt.zeros(1, 2, 3), (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        gt.nn.functional.grid_sample(gt.zeros(1, 1, 2, 2), grid)
