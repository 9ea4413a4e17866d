"""The NumPy backend on a compiled training step: state updated in place, constants bound
once, cheap ops rendered as direct NumPy calls - all with eager's values and memory
semantics (fresh results, writeable outputs)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.backends.numpy_backend import RENDERINGS


def _mlp():
    gt.manual_seed(0)
    return gt.nn.Sequential(gt.nn.Linear(6, 8), gt.nn.ReLU(), gt.nn.Linear(8, 3))


def _step_fn(model):
    opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = gt.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def test_sgd_momentum_step_updates_parameters_and_buffers_in_place():
    rng = np.random.default_rng(0)
    x = gt.from_numpy(rng.standard_normal((5, 6)).astype(np.float32))
    y = gt.from_numpy(rng.integers(0, 3, 5))
    eager_model, compiled_model = _mlp(), _mlp()
    eager = _step_fn(eager_model)
    compiled = gt.compile(_step_fn(compiled_model))
    buffers = [p._data for p in compiled_model.parameters()]
    for _ in range(4):
        want, got = eager(x, y), compiled(x, y)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)
    for pe, pc, data in zip(eager_model.parameters(), compiled_model.parameters(), buffers):
        np.testing.assert_allclose(pc.detach().numpy(), pe.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        assert pc._data is data  # the same array, as eager's in-place update
    program = compiled._last.executable.forward_program
    # 4 parameters and their 4 momentum buffers are computed straight into their arrays
    assert len(program.in_place) == 8, program.code
    assert program.code.count("out=(") >= 4


def test_in_place_state_update_reached_through_alias_is_not_copied_back():
    w = gt.nn.Parameter(gt.ones(4))

    def f(x):
        with gt.no_grad():
            w.sub_(x * 0.5)
        return w.sum()

    compiled = gt.compile(f)
    data = w._data
    for k in range(3):
        out = compiled(gt.ones(4))
        np.testing.assert_allclose(w.detach().numpy(), np.full(4, 1 - 0.5 * (k + 1)))
        assert out.item() == pytest.approx(4 * (1 - 0.5 * (k + 1)))
    assert w._data is data


def test_new_state_value_that_is_also_returned_stays_separate_memory():
    w = gt.nn.Parameter(gt.ones(4))

    def f(x):
        with gt.no_grad():
            q = w * 2 - x
            w.copy_(q)
        return q

    compiled = gt.compile(f)
    for _ in range(3):
        out = compiled(gt.ones(4))
    before = out.numpy().copy()
    with gt.no_grad():
        w.add_(1)
    np.testing.assert_array_equal(out.numpy(), before)  # eager's q is its own tensor


def test_returned_constants_and_their_views_are_fresh_writeable_arrays():
    def f(x):
        c = gt.tensor([[1.0, 2.0], [3.0, 4.0]])
        return c, c.t(), x + c

    compiled = gt.compile(f)
    x = gt.zeros(2, 2)
    for _ in range(3):
        c, ct, s = compiled(x)
        assert c.numpy().flags.writeable
        c.add_(10)
        ct.mul_(0)
    c, ct, s = compiled(x)
    np.testing.assert_array_equal(c.numpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(s.numpy(), [[1, 2], [3, 4]])


def test_constants_only_read_are_bound_once():
    def f(x):
        return x * gt.tensor([1.0, 2.0, 3.0]) + 1

    compiled = gt.compile(f)
    for _ in range(2):
        out = compiled(gt.ones(3))
    np.testing.assert_array_equal(out.numpy(), [2, 3, 4])
    assert "const_" in compiled.code


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64, gt.int64])
def test_rendered_views_reductions_and_matmul_equal_eager(dtype):
    def f(a, b, v):
        return (a.sum(), a.sum(-1), a.sum((0, 2), keepdim=True), a.sum(dim=()),
                a.transpose(-1, 0), a.transpose(1, 1), b.t(), b.transpose(-2, -1) @ b,
                v.unsqueeze(-1), v.unsqueeze(0), v @ v, b @ v, b.reshape(-1),
                a.detach())

    rng = np.random.default_rng(1)
    a = gt.from_numpy((rng.standard_normal((2, 3, 4)) * 4).astype(dtype.np_dtype))
    b = gt.from_numpy((rng.standard_normal((3, 5)) * 4).astype(dtype.np_dtype))
    v = gt.from_numpy((rng.standard_normal(5) * 4).astype(dtype.np_dtype))
    want = f(a, b, v)  # (integer sums and matmuls run their kernels, not the renderings)
    compiled = gt.compile(f)
    for _ in range(2):
        got = compiled(a, b, v)
    for g, e in zip(got, want):
        assert g.dtype is e.dtype and g.shape == e.shape
        assert type(g.numpy()) is np.ndarray
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)


def test_renderings_are_keyed_by_opdef():
    from graphtorch.ops.registry import OpDef

    assert all(isinstance(op, OpDef) for op in RENDERINGS)
