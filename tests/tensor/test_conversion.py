"""Conversions vs PyTorch: NumPy sharing, Python scalars and lists, `gt.tensor` dtype
inference, legacy tensor types, `.to()`, devices and the CUDA stubs."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch

# --- NumPy -------------------------------------------------------------------------------

def test_numpy_shares_memory_tensor_to_array():
    def fn(lib):
        a = lib.ones(5)
        b = a.numpy()
        a.add_(1)
        return b.tolist(), a
    same(fn)


def test_from_numpy_shares_memory_array_to_tensor():
    def fn(lib):
        a = np.ones(5)
        b = lib.from_numpy(a)
        np.add(a, 1, out=a)
        b.mul_(3)
        return b, a.tolist(), b.dtype
    same(fn)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool", "complex64", "complex128"])
def test_from_numpy_dtypes(dtype):
    def fn(lib):
        t = lib.from_numpy(np.arange(4).astype(dtype))
        return t, t.numpy().dtype.name
    same(fn)


def test_from_numpy_strided_and_unsupported():
    def fn(lib):
        a = np.arange(12.0).reshape(3, 4)
        t = lib.from_numpy(a.T)
        u = lib.from_numpy(a[:, ::2])
        a[0, 0] = 100
        return t, t.stride(), u, u.stride(), t.is_contiguous()
    same(fn)
    raises_like_torch(lambda lib: lib.from_numpy(np.arange(4)[::-1]), match="negative")
    raises_like_torch(lambda lib: lib.from_numpy(np.array(["a"])))
    raises_like_torch(lambda lib: lib.from_numpy([1, 2]))


def test_numpy_errors():
    raises_like_torch(lambda lib: lib.ones(2, requires_grad=True).numpy(),
                      match="Can't call numpy\\(\\) on Tensor that requires grad")

    def fn(lib):
        x = lib.ones(2, requires_grad=True)
        return x.detach().numpy().tolist(), x.numpy(force=True).tolist()
    same(fn)


def test_numpy_of_view_is_view():
    def fn(lib):
        x = lib.arange(6.0).reshape(2, 3)
        n = x.t().numpy()
        x.add_(1)
        return n.tolist(), n.strides
    same(fn)


def test_np_asarray_and_array_protocol():
    def fn(lib):
        x = lib.arange(6).reshape(2, 3)
        a = np.asarray(x)
        x.add_(1)
        return a.tolist(), x.__array__().tolist()
    same(fn)


def test_as_tensor_and_asarray_share():
    def fn(lib):
        a = np.arange(4.0)
        t = lib.as_tensor(a)
        u = lib.asarray(a)
        c = lib.as_tensor(a, dtype=lib.float32)   # dtype change: a copy
        a[0] = 9
        base = lib.ones(2)
        return t, u, c, lib.as_tensor(base) is base, lib.as_tensor([1, 2])
    same(fn)


# --- Python conversions ---------------------------------------------------------------------

def test_python_scalars_and_lists():
    def fn(lib):
        m = lib.tensor([[1.5, 2.0], [3.0, 4.0]])
        i = lib.tensor([3])
        b = lib.tensor(True)
        return (m.tolist(), lib.tensor(2.5).tolist(), m[0, 0].item(), i.item(), b.item(),
                float(i), int(m[1, 1]), bool(b), complex(lib.tensor(1.0)),
                lib.arange(3).tolist(), lib.tensor([], dtype=lib.int64).tolist(),
                lib.tensor(7).item())
    same(fn)


def test_item_errors():
    raises_like_torch(lambda lib: lib.ones(2).item(), match="a Tensor with 2 elements cannot be "
                                                         "converted to Scalar")
    raises_like_torch(lambda lib: bool(lib.ones(2)), match="Boolean value of Tensor with more "
                                                           "than one value is ambiguous")
    raises_like_torch(lambda lib: float(lib.ones(3)))
    raises_like_torch(lambda lib: lib.ones(0).item(), match="a Tensor with 0 elements")
    raises_like_torch(lambda lib: bool(lib.ones(0)), match="with no values is ambiguous")
    raises_like_torch(lambda lib: int(lib.ones(2)), match="only one element tensors")


def test_size_shape_numel_dim_len():
    def fn(lib):
        x = lib.zeros(2, 3, 4)
        s = x.size()
        return (s, x.shape, x.size(1), x.size(-1), x.numel(), x.dim(), x.ndim, len(x),
                x.nelement(), x.ndimension(), s[1:], s.numel(), lib.numel(x), repr(s),
                str(x.shape), s == (2, 3, 4), isinstance(s, tuple), x.element_size(),
                lib.zeros(()).size(), lib.zeros(()).dim(), x.shape[-2:] + (5,))
    same(fn)


def test_size_errors():
    raises_like_torch(lambda lib: len(lib.tensor(1.0)), match="len\\(\\) of a 0-d tensor")
    raises_like_torch(lambda lib: lib.zeros(2, 3).size(2), match="Dimension out of range")
    raises_like_torch(lambda lib: list(lib.tensor(1.0)), match="iteration over a 0-d tensor")
    raises_like_torch(lambda lib: lib.tensor(1.0).size(0),
                      match="Dimension specified as 0 but tensor has no dimensions")
    raises_like_torch(lambda lib: lib.tensor(1.0).stride(-1),
                      match="Dimension specified as -1 but tensor has no dimensions")


def test_pointers_and_offsets():
    def fn(lib):
        x = lib.arange(12.0).reshape(3, 4)
        return (lib.ones(0).data_ptr(), x[1:, 2:].storage_offset(), x[2].storage_offset(),
                x.t()[1].storage_offset(), x.storage_offset(), x.stride(1), x.size(dim=-1),
                x[1:].data_ptr() - x.data_ptr(), x.untyped_storage().nbytes())
    same(fn)


def test_iteration():
    def fn(lib):
        x = lib.arange(6.0).reshape(3, 2)
        rows = [r for r in x]
        rows[0].add_(10)  # rows are views
        return rows, x, [v.item() for v in lib.tensor([1, 2, 3])]
    same(fn)


def test_index_protocol():
    def fn(lib):
        idx = lib.tensor(2)
        return [10, 20, 30][idx], list(range(5))[lib.tensor([1])], "abc"[lib.tensor(1)]
    same(fn)
    raises_like_torch(lambda lib: [1, 2][lib.tensor(1.0)], match="only integer tensors of a "
                                                                 "single element")
    raises_like_torch(lambda lib: [1, 2][lib.tensor([0, 1])])


def test_format_and_hash():
    def fn(lib):
        t = lib.tensor(2.5)
        return f"{t:.2f}", f"{lib.tensor(3):d}", hash(t) == hash(t), t in {t}
    same(fn)
    # a tensor with dimensions formats only with an empty spec (object.__format__)
    same(lambda lib: f"{lib.ones(2)}")
    raises_like_torch(lambda lib: f"{lib.ones(2):.2f}", match="unsupported format string "
                                                              "passed to Tensor.__format__")
    raises_like_torch(lambda lib: "{:>30}".format(lib.ones(2)))


# --- torch.tensor dtype inference -----------------------------------------------------------

@pytest.mark.parametrize("data", [
    1, 1.5, True, 2j, [1, 2], [1.0, 2], [True, False], [True, 1], [1, 2.5, True],
    [[1, 2], [3, 4]], [], [[]], [1 + 2j, 3], (1, 2), [(1, 2), (3, 4)], [np.float64(1.5)],
    np.float32(2.0), np.int32(3), [np.int16(1), np.int16(2)], np.array([1, 2], np.int32),
    np.array(3.0), [2 ** 40], [-1, 0], [1, np.float32(2.0)], [1.0, np.float64(2)],
    [np.int16(1), 2], [np.int16(1), np.int32(2)], [np.float16(1), 2.5], [True, np.int8(2)],
    np.bool_(True),
    [np.uint8(3)], np.float64(1.5), [[1, 2], [3.5, 4]], range(3), [[1, 2], (3, 4)],
    [[True], [2]], [[1.5 + 0j]],
], ids=lambda d: repr(d)[:30])
def test_tensor_dtype_inference(data):
    same(lambda lib: lib.tensor(data))


def test_tensor_dtype_inference_with_default_float64():
    def fn(lib):
        old = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            return (lib.tensor([1.5]).dtype, lib.tensor([1]).dtype, lib.tensor(2j).dtype,
                    lib.tensor([np.float32(1)]).dtype, lib.zeros(2).dtype,
                    lib.arange(3.0).dtype, lib.full((1,), 2.0).dtype)
        finally:
            lib.set_default_dtype(old)
    same(fn)


def test_tensor_from_tensor_warns_and_copies():
    for lib in (torch, gt):
        src = lib.ones(2)
        with pytest.warns(UserWarning, match="To copy construct from a tensor"):
            c = lib.tensor(src)
        src.add_(1)
        assert c.tolist() == [1.0, 1.0]


def test_tensor_from_tensors_and_mixed():
    def fn(lib):
        return (lib.tensor([lib.tensor(1.0), lib.tensor(2.0)]),
                lib.tensor([lib.tensor(1), lib.tensor(2)]),
                lib.tensor([lib.tensor(1, dtype=lib.int32), 2]),
                lib.tensor([lib.tensor(1.5, dtype=lib.float64), 2]),
                lib.tensor([1, 2], dtype=lib.float64), lib.tensor(3.7, dtype=lib.int32),
                lib.tensor([[1, 2]], dtype=lib.bool))
    same(fn)


def test_tensor_copies_input():
    def fn(lib):
        a = np.ones(3)
        t = lib.tensor(a)
        a[0] = 5
        return t
    same(fn)


def test_tensor_construction_errors():
    raises_like_torch(lambda lib: lib.tensor([[1, 2], [3]]),
                      match=r"expected sequence of length 2 at dim 1 \(got 1\)")
    raises_like_torch(lambda lib: lib.tensor([[[1], [2]], [[3], [4, 5]]]),
                      match=r"expected sequence of length 1 at dim 2 \(got 2\)")
    raises_like_torch(lambda lib: lib.tensor("abc"), match="invalid data type 'str'")
    raises_like_torch(lambda lib: lib.tensor([1, "a"]), match="invalid data type 'str'")
    raises_like_torch(lambda lib: lib.tensor(None), match="Could not infer dtype of NoneType")
    raises_like_torch(lambda lib: lib.tensor([1, None]), match="Could not infer dtype")
    raises_like_torch(lambda lib: lib.tensor({1, 2}), match="Could not infer dtype of set")
    raises_like_torch(lambda lib: lib.tensor([2 ** 64]), match="Overflow")


# --- legacy constructors and types ----------------------------------------------------------

def test_legacy_constructors():
    def fn(lib):
        shape_only = lib.Tensor(2, 3)
        return (shape_only.shape, shape_only.dtype, lib.Tensor([1, 2, 3]), lib.Tensor(),
                lib.FloatTensor([1, 2]), lib.DoubleTensor([1.5]), lib.LongTensor([1, 2]),
                lib.IntTensor(2).shape, lib.BoolTensor([1, 0]), lib.ByteTensor([1, 255]),
                lib.LongTensor(2, 2).shape, lib.Tensor(lib.Size([2])).shape,
                lib.FloatTensor(3).dtype, lib.HalfTensor([1]).dtype,
                lib.ShortTensor([1]).dtype, lib.CharTensor([1]).dtype)
    same(fn)


def test_legacy_isinstance_and_type():
    def fn(lib):
        f = lib.ones(2)
        d = lib.ones(2, dtype=lib.float64)
        i = lib.ones(2, dtype=lib.int64)
        return (isinstance(f, lib.FloatTensor), isinstance(d, lib.FloatTensor),
                isinstance(d, lib.DoubleTensor), isinstance(i, lib.LongTensor),
                isinstance(f, lib.Tensor), f.type(), d.type(), i.type(),
                lib.ones(1, dtype=lib.bool).type(), lib.ones(1, dtype=lib.uint8).type(),
                lib.ones(1, dtype=lib.float16).type(), lib.ones(1, dtype=lib.int8).type(),
                f.type(lib.DoubleTensor), f.type("torch.IntTensor"), f.type(lib.int64),
                type(f.type(lib.DoubleTensor)) is lib.Tensor, lib.is_tensor(f),
                lib.is_tensor([1]))
    same(fn)
    raises_like_torch(lambda lib: lib.ones(1).type("torch.NopeTensor"))


# --- .to() --------------------------------------------------------------------------------

def test_to_variants():
    def fn(lib):
        x = lib.tensor([1.5, -2.5, 3.0])
        other = lib.zeros(1, dtype=lib.float64)
        return (x.to(lib.float64), x.to(lib.int32), x.to("cpu") is x, x.to(lib.float32) is x,
                x.to(other), x.to(dtype=lib.float16), x.to("cpu", lib.float64),
                x.to(lib.device("cpu")) is x, x.to(lib.float32, copy=True) is x,
                x.to(device="cpu", dtype=lib.int64), x.to(lib.bool), x.double(), x.float(),
                x.half(), x.int(), x.long(), x.short(), x.char(), x.byte(), x.bool(),
                x.type_as(lib.ones(1, dtype=lib.int16)), x.to(lib.complex64),
                x.cpu() is x, x.to(lib.float32, copy=True).data_ptr() == x.data_ptr())
    same(fn)


def test_to_is_differentiable():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.to(lib.float64)
        (y * y).sum().backward()
        return y.dtype, y.grad_fn.name(), x.grad, x.to(lib.float32) is x
    same(fn)


def test_to_bad_arguments():
    raises_like_torch(lambda lib: lib.ones(1).to("nope"))
    raises_like_torch(lambda lib: lib.ones(1).to([1]))


# --- devices and CUDA stubs ------------------------------------------------------------------

def test_device_objects():
    def fn(lib):
        d = lib.device("cuda:1")
        return (repr(lib.device("cpu")), str(d), d.type, d.index, lib.device("cuda", 0),
                lib.device("cpu") == lib.device("cpu"), lib.ones(1).device,
                lib.device("cpu") == "cpu", repr(lib.device("cuda")),
                hash(lib.device("cpu")) == hash(lib.device("cpu")), lib.ones(1).is_cuda,
                lib.ones(1).is_cpu, lib.device(lib.device("cpu")))
    same(fn)
    raises_like_torch(lambda lib: lib.device("gpu"))
    raises_like_torch(lambda lib: lib.device("cuda:x"))
    raises_like_torch(lambda lib: lib.device("cuda:0", 1))


@pytest.mark.skipif(gt.cuda.is_available(), reason="a GPU is present")
def test_cuda_unavailable_here():
    assert gt.cuda.is_available() is False
    assert gt.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA"):
        gt.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CUDA"):
        gt.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        gt.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        gt.tensor([1.0], device="cuda:0")
    gt.cuda.manual_seed(0)      # no-ops without a GPU, as in PyTorch
    gt.cuda.manual_seed_all(0)
    gt.cuda.synchronize()


def test_cpu_device_arguments_accepted():
    def fn(lib):
        return (lib.ones(2, device="cpu"), lib.zeros(1, device=lib.device("cpu")),
                lib.tensor([1], device="cpu"), lib.arange(2, device="cpu"),
                lib.ones(1).new_zeros(2).device, lib.empty(1, device="cpu").device)
    same(fn)


# --- copy / pickle ---------------------------------------------------------------------------

def test_deepcopy_and_pickle():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * 2).sum().backward()
        c = copy.deepcopy(x)
        p = pickle.loads(pickle.dumps(x.detach()))
        c_shared = c.data_ptr() != x.data_ptr()
        return c, c.grad, c.requires_grad, c_shared, p, c.is_leaf
    same(fn)
    raises_like_torch(lambda lib: copy.deepcopy(lib.ones(2, requires_grad=True) * 2),
                      match="Only Tensors created explicitly by the user")


def test_numpy_of_a_tensor_that_requires_grad_works_under_no_grad():
    # PyTorch refuses only while grad mode is on: autograd.Function.forward (which runs
    # under no_grad) may call x.numpy() on its inputs, as the torch.func extending
    # tutorial's NumpySort does.
    x = gt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()
    with gt.no_grad():
        assert x.numpy().tolist() == [1.0, 1.0]

    class Twice(gt.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return gt.from_numpy(t.numpy() * 2)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2
    Twice.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
