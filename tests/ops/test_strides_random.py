"""Random layouts through the ops whose result strides follow rules of their own (cat,
stack, roll, flip, rot90, sort, gather, layer_norm, index_put, conv/pool on channels-last):
shapes with size-0 and size-1 dims, random permutations, channels-last, slices. Strides
(of dims longer than 1) and values match PyTorch's eagerly, and compiled calls (static
and dynamic sizes) return eager's strides and values.

Known difference, not tested: NumPy gives the size-1 dims of a fresh elementwise result
(``x * 2``) other strides than PyTorch's TensorIterator, and PyTorch's channels-last
heuristic reads them, so cat of such a result with a size-1 spatial dim may differ."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt

torch = pytest.importorskip("torch")


@st.composite
def layouts(draw):
    ndim = draw(st.integers(1, 5))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    perm = tuple(draw(st.permutations(range(ndim))))
    how = draw(st.sampled_from(["permuted", "channels_last", "sliced"]))
    if how == "channels_last" and ndim not in (4, 5):
        how = "permuted"
    return shape, perm, how


def _make(lib, shape, perm, how):
    n = int(np.prod(shape))
    base = lib.arange(n, dtype=lib.float32).reshape(shape) * 0.37 - 1.0
    base = base.sin()  # distinct values: sort orders are unambiguous
    if how == "channels_last":
        fmt = lib.channels_last if len(shape) == 4 else lib.channels_last_3d
        return base.contiguous(memory_format=fmt)
    if how == "sliced":
        return base.permute(*perm)[..., ::2] if base.ndim else base
    return base.permute(*perm)


def _significant(t) -> tuple:
    """The strides that decide the layout: of dims longer than 1 in a non-empty tensor
    (PyTorch's strides of size-1 dims and of empty tensors follow rules of their own, a
    known difference), and whether it is contiguous."""
    if t.numel() == 0:
        return ()
    return tuple(s for s, n in zip(t.stride(), t.shape) if n > 1) + (t.is_contiguous(),)


def _ops(x_ndim, data):
    dim = data.draw(st.integers(-x_ndim, x_ndim - 1))
    shift = data.draw(st.integers(-5, 5))
    name = data.draw(st.sampled_from(["cat", "cat_mixed", "stack", "roll", "roll_flat",
                                      "flip", "sort", "argsort", "index_put", "gather",
                                      "layer_norm", "rot90", "clone", "contiguous"]))
    return name, dim, shift


def _apply(lib, name, x, dim, shift):
    if name == "cat":  # x itself: a fresh x * 2 may differ in size-1 strides (docstring)
        return lib.cat([x, x], dim)
    if name == "cat_mixed":
        return lib.cat([x, x.contiguous()], dim)
    if name == "stack":
        return lib.stack([x, x], dim if dim >= 0 else dim - 1 + 1)
    if name == "roll":
        return lib.roll(x, shift, dim)
    if name == "roll_flat":
        return lib.roll(x, shift)
    if name == "flip":
        return lib.flip(x, [dim])
    if name == "sort":
        return lib.sort(x, dim=dim, stable=True)[0]
    if name == "argsort":
        return lib.argsort(x, dim=dim, stable=True)
    if name == "index_put":
        return x.index_put((lib.tensor([0]),), lib.tensor(5.0)) if x.shape[0] else x.clone()
    if name == "gather":
        return x.gather(dim, lib.zeros_like(x, dtype=lib.long)) if x.shape[dim] else x.clone()
    if name == "layer_norm":
        return lib.nn.functional.layer_norm(x, x.shape[-1:])
    if name == "rot90":
        return lib.rot90(x, shift, [0, -1]) if x.ndim >= 2 else x.clone()
    if name == "clone":
        return x.clone()
    return x.contiguous()


def _torch_result(layout, name, dim, shift):
    try:
        return _apply(torch, name, _make(torch, *layout), dim, shift)
    except (RuntimeError, IndexError):
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(layout=layouts(), data=st.data())
def test_random_layouts_match_pytorch_eagerly(layout, data):
    name, dim, shift = _ops(len(layout[0]), data)
    want = _torch_result(layout, name, dim, shift)
    if want is None:
        return
    got = _apply(gt, name, _make(gt, *layout), dim, shift)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    if name != "cat_mixed":  # mixed layouts into cat: PyTorch's choice is its heuristic's
        assert _significant(got) == _significant(want), (name, layout, dim, shift)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(layout=layouts(), data=st.data(), dynamic=st.sampled_from([False, True]))
def test_random_layouts_compiled_match_eager(layout, data, dynamic):
    name, dim, shift = _ops(len(layout[0]), data)
    if _torch_result(layout, name, dim, shift) is None:
        return
    x = _make(gt, *layout)
    want = _apply(gt, name, x, dim, shift)
    compiled = gt.compile(lambda t: _apply(gt, name, t, dim, shift), dynamic=dynamic)
    for _ in range(2):
        got = compiled(x)
        assert got.stride() == want.stride() and gt.equal(got, want), (name, layout)
    # a write into the result reaches the input exactly when eager's result aliases it
    if want.numel() and want.is_contiguous() and want.dtype == gt.float32:
        inputs = [_make(gt, *layout), _make(gt, *layout)]
        for fn, t in zip((lambda t: _apply(gt, name, t, dim, shift), compiled), inputs):
            fn(t).view(-1)[0] = 99.0
        assert gt.equal(inputs[0], inputs[1]), (name, layout)
