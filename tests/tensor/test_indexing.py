"""Indexing and index assignment vs PyTorch: basic (views), advanced (copies), errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch


def _x(lib):
    return lib.arange(60.0).reshape(3, 4, 5)


def _idx(lib, values):
    return lib.tensor(values)


GET = {
    "int": lambda lib, x: x[1],
    "neg_int": lambda lib, x: x[-1, -2],
    "slice": lambda lib, x: x[1:, :3],
    "step": lambda lib, x: x[::2, 1::2, ::3],
    "neg_slice": lambda lib, x: x[-2:, :-1],
    "out_of_range_slice": lambda lib, x: x[5:10],
    "clamped_slice": lambda lib, x: x[1:100, -100:2],
    "ellipsis": lambda lib, x: x[..., 1],
    "ellipsis_mid": lambda lib, x: x[0, ..., 2],
    "none": lambda lib, x: x[None],
    "none_mid": lambda lib, x: x[:, None, 1],
    "none_end": lambda lib, x: x[..., None],
    "zero_d_tensor_int": lambda lib, x: x[lib.tensor(1)],
    "int_tensor_in_tuple": lambda lib, x: x[lib.tensor(2), 1:],
    "list": lambda lib, x: x[[0, 2]],
    "list_neg": lambda lib, x: x[[-1, 0, -1]],
    "tensor_idx": lambda lib, x: x[_idx(lib, [2, 0, 1, 2])],
    "tensor_2d_idx": lambda lib, x: x[_idx(lib, [[0, 1], [2, 0]])],
    "two_tensors": lambda lib, x: x[_idx(lib, [0, 2]), _idx(lib, [1, 3])],
    "broadcast_tensors": lambda lib, x: x[_idx(lib, [[0], [2]]), _idx(lib, [1, 3])],
    "tensor_slice": lambda lib, x: x[_idx(lib, [0, 2]), 1:3],
    "slice_tensor": lambda lib, x: x[:, _idx(lib, [3, 0])],
    "separated_tensors": lambda lib, x: x[_idx(lib, [0, 2]), :, _idx(lib, [1, 4])],
    "int_and_tensor": lambda lib, x: x[1, _idx(lib, [0, 3])],
    "int_tensor_int": lambda lib, x: x[1, :, _idx(lib, [0, 3])],
    "bool_mask": lambda lib, x: x[x > 30],
    "bool_mask_rows": lambda lib, x: x[_idx(lib, [True, False, True])],
    "bool_mask_2d": lambda lib, x: x[(x.sum(2) > 50)],
    "bool_mask_after_slice": lambda lib, x: x[:, _idx(lib, [True, False, True, False])],
    "python_bool": lambda lib, x: x[True],
    "python_false": lambda lib, x: x[False],
    "none_and_tensor": lambda lib, x: x[None, _idx(lib, [1])],
    "ellipsis_tensor": lambda lib, x: x[..., _idx(lib, [0, 4])],
    "bool_and_int": lambda lib, x: x[1, True],
    "true_first": lambda lib, x: x[True, 1],
    "none_int_none_tensor": lambda lib, x: x[None, 1, None, _idx(lib, [0, 1])],
    "int_ellipsis_tensor": lambda lib, x: x[1, ..., _idx(lib, [0, 1])],
    "tensor_int_tensor": lambda lib, x: x[_idx(lib, [0, 1]), 1, _idx(lib, [0, 1])],
    "tensor_slice_int": lambda lib, x: x[_idx(lib, [0, 1]), :, 1],
    "zero_d_then_tensor": lambda lib, x: x[lib.tensor(1), _idx(lib, [0, 1])],
    "slice_zero_d_tensor": lambda lib, x: x[:, lib.tensor(1), _idx(lib, [0, 1])],
    "int32_index": lambda lib, x: x[lib.tensor([0, 2], dtype=lib.int32)],
    "uint8_like_bool": lambda lib, x: x[lib.tensor([1, 0, 1], dtype=lib.bool)],
    "numpy_index": lambda lib, x: x[np.array([0, 2])],
    "empty_index": lambda lib, x: x[lib.tensor([], dtype=lib.int64)],
    "zero_d_base": lambda lib, x: lib.tensor(5.0)[None],
    "zero_d_ellipsis": lambda lib, x: lib.tensor(5.0)[...],
    "zero_d_bool": lambda lib, x: lib.tensor(5.0)[lib.tensor(True)],
}


@pytest.mark.parametrize("name", list(GET))
def test_getitem_matches_torch(name):
    same(lambda lib: GET[name](lib, _x(lib)))


BASIC_VIEWS = ["int", "neg_int", "slice", "step", "neg_slice", "ellipsis", "ellipsis_mid",
               "none", "none_mid", "none_end", "zero_d_tensor_int", "int_tensor_in_tuple",
               "clamped_slice"]


@pytest.mark.parametrize("name", BASIC_VIEWS)
def test_basic_indexing_returns_views(name):
    def fn(lib):
        x = _x(lib)
        v = GET[name](lib, x)
        return (v._base is x._base if x._base is not None else v._base is x,
                v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr(),
                v.stride(), v.storage_offset())
    same(fn)


@pytest.mark.parametrize("name", ["list", "tensor_idx", "bool_mask", "two_tensors"])
def test_advanced_indexing_copies(name):
    def fn(lib):
        x = _x(lib)
        v = GET[name](lib, x)
        v.fill_(-1)
        return x.sum(), v._base is None, v.is_contiguous()
    same(fn)


@pytest.mark.parametrize("index", [
    lambda lib: (3,), lambda lib: (0, 4), lambda lib: (-4,), lambda lib: (0, 0, 0, 0),
    lambda lib: (lib.tensor([3]),), lambda lib: (lib.tensor([0, 1]), lib.tensor([0, 1, 2])),
    lambda lib: (lib.tensor([1.0]),),
    lambda lib: (lib.tensor([True, False]),), lambda lib: ("a",),
    lambda lib: (slice(None, None, -1),), lambda lib: (slice(None, None, 0),),
], ids=["row_oob", "col_oob", "neg_oob", "too_many", "tensor_oob", "shape_mismatch",
        "float_index", "mask_shape", "string", "neg_step", "zero_step"])
def test_getitem_errors(index):
    raises_like_torch(lambda lib: _x(lib)[index(lib)])


def test_getitem_zero_d_errors():
    raises_like_torch(lambda lib: lib.tensor(5.0)[0], match="invalid index of a 0-dim tensor")


SET = {
    "int": lambda lib, x: x.__setitem__(1, 0.5),
    "slice_scalar": lambda lib, x: x.__setitem__((slice(1, None), 2), -1.0),
    "broadcast_row": lambda lib, x: x.__setitem__(0, lib.arange(5.0)),
    "tensor_value": lambda lib, x: x.__setitem__((Ellipsis, 0), lib.ones(3, 4) * 7),
    "zero_d_value": lambda lib, x: x.__setitem__(2, lib.tensor(3.0)),
    "int_value_into_float": lambda lib, x: x.__setitem__(0, 3),
    "double_value": lambda lib, x: x.__setitem__(0, lib.ones(5, dtype=lib.float64)),
    "list_index": lambda lib, x: x.__setitem__([0, 2], 9.0),
    "tensor_index": lambda lib, x: x.__setitem__(_idx(lib, [2, 0]), lib.zeros(2, 4, 5)),
    "two_tensors": lambda lib, x: x.__setitem__((_idx(lib, [0, 1]), _idx(lib, [3, 2])),
                                                lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0])),
    "mask_scalar": lambda lib, x: x.__setitem__(x > 40, 0.0),
    "mask_values": lambda lib, x: x.__setitem__(x < 3, lib.tensor([-1.0, -2.0, -3.0])),
    "mask_rows": lambda lib, x: x.__setitem__(_idx(lib, [False, True, False]), 1.0),
    "ellipsis_all": lambda lib, x: x.__setitem__(Ellipsis, 2.0),
    "none": lambda lib, x: x.__setitem__((None, 0), 4.0),
    "step": lambda lib, x: x.__setitem__((slice(None, None, 2), 0, slice(None, None, 2)), 8.0),
    "slice_tensor": lambda lib, x: x.__setitem__((slice(None), _idx(lib, [1, 3])), -5.0),
    "duplicate_indices": lambda lib, x: x.__setitem__(_idx(lib, [0, 0]), lib.zeros(2, 4, 5)),
    "int_then_tensor": lambda lib, x: x.__setitem__((1, slice(None), _idx(lib, [0, 3])), -2.0),
    "int_then_tensor_values": lambda lib, x: x.__setitem__((1, slice(None), _idx(lib, [0, 3])),
                                                           lib.ones(4, 2)),
    "bool_python": lambda lib, x: x.__setitem__((0, True), 6.0),
}


@pytest.mark.parametrize("name", list(SET))
def test_setitem_matches_torch(name):
    def fn(lib):
        x = _x(lib)
        ptr = x.data_ptr()
        SET[name](lib, x)
        return x, x.data_ptr() == ptr, x._version > 0
    same(fn)


@pytest.mark.parametrize("bad", [
    lambda lib, x: x.__setitem__(0, lib.ones(3)),
    lambda lib, x: x.__setitem__(_idx(lib, [0, 1]), lib.ones(3, 4, 5)),
    lambda lib, x: x.__setitem__(5, 1.0),
    lambda lib, x: x.__setitem__(x > 3, lib.ones(2)),
    lambda lib, x: x.__setitem__(1, np.ones((4, 5))),
    lambda lib, x: x.__setitem__((0, 0), [1.0, 2.0, 3.0, 4.0, 5.0]),
    lambda lib, x: x.__setitem__(_idx(lib, [0]), lib.ones(4, 5, dtype=lib.float64)),
], ids=["shape", "adv_shape", "oob", "mask_count", "numpy_value", "list_value",
        "dtype_mismatch"])
def test_setitem_errors(bad):
    raises_like_torch(lambda lib: bad(lib, _x(lib)))


def test_setitem_int_tensor_casts_values():
    def fn(lib):
        x = lib.zeros(4, dtype=lib.int64)
        x[1] = 2.7
        x[lib.tensor([2, 3])] = -1.9
        x[2:] = lib.tensor([1.5, 2.5])
        b = lib.zeros(3, dtype=lib.bool)
        b[0] = 5
        return x, b
    same(fn)


def test_list_of_sequences_is_a_tuple_index():
    for lib in (torch, gt):
        x = _x(lib)
        with pytest.warns(UserWarning, match="non-tuple sequence for multidimensional"):
            r = x[[[0, 1], [1, 2]]]
        assert tuple(r.shape) == (2, 5)
        with pytest.warns(UserWarning, match="non-tuple sequence"):
            r = x[[0, slice(1, 3)]]
        assert tuple(r.shape) == (2, 5)


def test_index_put_dtype_mismatch():
    raises_like_torch(lambda lib: lib.zeros(3, dtype=lib.int64).index_put_(
        (lib.tensor([0]),), lib.tensor([1.5])), match="Index put requires the source and "
                                                      "destination dtypes match, got Long for "
                                                      "the destination and Float for the source")


def test_index_put_and_accumulate():
    def fn(lib):
        x = lib.zeros(5)
        i = lib.tensor([0, 0, 3])
        v = lib.tensor([1.0, 2.0, 3.0])
        a = x.index_put((i,), v, accumulate=True)
        b = x.clone().index_put_((i,), v, accumulate=True)
        c = x.index_put((i,), v)
        return a, b, c[3], x
    same(fn)


def test_getitem_gradients():
    def fn(lib):
        x = lib.arange(12.0).reshape(3, 4).requires_grad_()
        y = (x[1:, ::2] * 2).sum() + (x[[0, 0, 2]] ** 2).sum() + x[x > 5].sum() + x[..., 1].sum()
        y.backward()
        return x.grad
    same(fn)


def test_slice_by_a_symbolic_size_stays_dynamic():
    # x[:n] with n from another input's dynamic size: one graph for every n
    f = gt.compile(lambda x, ref: x[:ref.shape[0]] * 2, dynamic=True)
    x = gt.arange(10.)
    for n in (3, 5, 8):
        np.testing.assert_array_equal(f(x, gt.zeros(n)).numpy(), np.arange(n) * 2.)
    assert f.stats.compiles == 1


def test_setitem_drops_leading_size_one_dims_of_the_value():
    """PyTorch views the value without its leading 1s (`slicePrefix1sSize`); copy_ does not.
    cleanRL's GAE writes ``advantages[t] = delta`` with delta of shape (1, num_envs)."""
    def fn(lib):
        a = lib.zeros(3, 2)
        a[1] = lib.ones(1, 2)
        b = lib.zeros(4)
        b[1:3] = lib.ones(1, 1, 2) * 2
        c = lib.zeros(3)
        c[0] = lib.ones(1) * 3
        d = lib.zeros(3, 2)
        d[lib.tensor([0, 2])] = lib.ones(1, 2, 2) * 4
        e = lib.zeros(3, 2)
        e[lib.tensor([True, False, True])] = lib.ones(1, 1, 2) * 5
        v = lib.ones(1, 2, requires_grad=True)
        f = lib.zeros(3, 2).clone()
        f[2] = v * 6
        f.sum().backward()
        return a, b, c, d, e, f.detach(), v.grad
    same(fn)
    raises_like_torch(lambda lib: lib.zeros(2).__setitem__(slice(None), lib.ones(2, 1)))
    raises_like_torch(lambda lib: lib.zeros(2).copy_(lib.ones(1, 2)))


def test_slices_with_zero_dim_tensor_bounds():
    # nanoGPT's get_batch: `torch.stack([data[i:i+block_size] for i in ix])`, i a 0-d tensor
    same(lambda T: [T.arange(20)[i:i + 4] for i in T.tensor([3, 0, 15])])
    same(lambda T: T.arange(20).view(4, 5)[T.tensor(1):, :T.tensor(3):T.tensor(2)])
