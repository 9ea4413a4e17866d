"""Arguments PyTorch rejects are rejected with its exception types (and messages where they
are stable), and mixed-dtype losses keep PyTorch's result dtype."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same


@pytest.mark.parametrize("case", [
    lambda lib: lib.tensor([5, -3, 7]) % 0,
    lambda lib: lib.tensor([5, -3, 7]) // 0,
    lambda lib: lib.remainder(lib.tensor([5, -3]), lib.tensor([1, 0])),
    lambda lib: lib.fmod(lib.tensor([5, -3]), 0),
    lambda lib: lib.floor_divide(lib.tensor([5, -3]), lib.tensor([0, 1])),
    lambda lib: lib.div(lib.tensor([5, -3]), 0, rounding_mode="trunc"),
    lambda lib: lib.tensor([5, 1]).remainder_(0),
    lambda lib: 5 % lib.tensor([0, 1]),
    lambda lib: 5 // lib.tensor([0, 1]),
    lambda lib: lib.tensor([5], dtype=lib.uint8) % 0,
], ids=lambda f: "")
def test_integer_division_by_zero_raises(case):
    raises_like_torch(case, match="ZeroDivisionError")


def test_float_division_by_zero_still_gives_inf_nan():
    same(lambda lib: (lib.tensor([5.0, -1.0, 0.0]) % 0, lib.tensor([5.0, 0.0]) // 0,
                      lib.tensor([1.0]) / 0))


@pytest.mark.parametrize("case", [
    lambda lib: lib.zeros(2, dtype="float32"),
    lambda lib: lib.tensor([1], dtype="float32"),
    lambda lib: lib.ones(2, dtype=np.float32),
    lambda lib: lib.zeros(2).to(dtype="float32"),
    lambda lib: lib.zeros(2).sum(dtype="float64"),
    lambda lib: lib.full((2,), 1.0, dtype="float64"),
    lambda lib: lib.eye(2, dtype="int64"),
], ids=lambda f: "")
def test_dtype_must_be_a_torch_dtype(case):
    raises_like_torch(case, match="dtype")


def test_python_types_are_dtypes():
    same(lambda lib: [lib.zeros(1, dtype=t).dtype for t in (float, int, bool)])


@pytest.mark.parametrize("case", [
    lambda lib: lib.normal(0.0, -1.0, size=(3,)),
    lambda lib: lib.normal(mean=0.0, std=-1.0, size=(3,)),
    lambda lib: lib.normal(lib.zeros(3), lib.tensor([1.0, -1.0, 1.0])),
    lambda lib: lib.normal(lib.zeros(3), -1.0),
    lambda lib: lib.zeros(3).normal_(0, -1),
    lambda lib: lib.zeros(3).normal_(0, float("nan")),
], ids=lambda f: "")
def test_negative_std_raises(case):
    raises_like_torch(case, match="normal expects")


def test_negative_std_message():
    same(lambda lib: lib.normal(0.0, -0.5, size=(2,)), match=r"found std -0\.5$")


@pytest.mark.parametrize("case", [
    lambda lib: lib.zeros(4).reshape(2.0, 2),
    lambda lib: lib.zeros(4).reshape((2.0, 2)),
    lambda lib: lib.reshape(lib.zeros(4), (2.0, 2)),
    lambda lib: lib.zeros(4).view(2.0, 2),
    lambda lib: lib.zeros(4).view(2, 2.5),
    lambda lib: lib.zeros(2, 1).expand(2, 3.0),
    lambda lib: lib.zeros(2, 3).permute(0.0, 1),
], ids=lambda f: "")
def test_float_sizes_raise_type_error(case):
    raises_like_torch(case)


def test_integer_like_sizes_are_accepted():
    same(lambda lib: lib.zeros(6).reshape(np.int64(2), lib.tensor(3)).shape)


@pytest.mark.parametrize("case", [
    lambda lib: lib.nn.functional.relu([1, 2]),
    lambda lib: lib.nn.functional.relu(np.ones(2)),
    lambda lib: lib.nn.functional.gelu([1.0]),
    lambda lib: lib.relu([1.0]),
], ids=lambda f: "")
def test_non_tensor_input_is_a_type_error(case):
    raises_like_torch(case, match="must be Tensor")


@pytest.mark.parametrize("kernel", [0, (0, 3), (2, 0)])
def test_empty_conv_kernel_raises_when_run(kernel):
    def fn(lib):
        import warnings

        with warnings.catch_warnings():  # both warn that zero-element init is a no-op
            warnings.simplefilter("ignore")
            conv = lib.nn.Conv2d(3, 4, kernel)
        return conv(lib.ones(1, 3, 5, 5))
    same(fn, match="kernel size should be greater than zero")


def test_empty_conv1d_and_conv3d_kernels():
    same(lambda lib: lib.nn.functional.conv1d(lib.ones(1, 3, 5), lib.ones(4, 3, 0)),
         match="kernel_height: 1 kernel_width: 0")
    same(lambda lib: lib.nn.functional.conv3d(lib.ones(1, 3, 4, 4, 4), lib.ones(4, 3, 0, 1, 1)),
         match=r"0 x 1 x 1 \(TxHxW\)")


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("dtypes", [("float32", "int64"), ("int64", "float32"),
                                    ("float64", "int64"), ("float32", "float64"),
                                    ("int64", "int64")], ids=str)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_loss_result_dtypes(loss, dtypes, reduction):
    def fn(lib):
        a = lib.tensor([1, 2, 4]).to(getattr(lib, dtypes[0]))
        b = lib.tensor([1, 3, 2]).to(getattr(lib, dtypes[1]))
        return getattr(lib.nn.functional, loss)(a, b, reduction=reduction)
    same(fn, rtol=1e-6)


def test_loss_dtype_compiled_equals_eager():
    def fn(x, y):
        return gt.nn.functional.mse_loss(x, y)

    x, y = gt.ones(3), gt.tensor([1, 2, 3])
    assert gt.compile(fn)(x, y).dtype is fn(x, y).dtype is gt.float32


def test_format_of_zero_dim_tensors():
    same(lambda lib: (f"{lib.tensor(0.5)}", f"{lib.tensor(2)}", f"{lib.tensor(0.25):.1f}",
                      "{:>6}".format(lib.tensor(3.5, requires_grad=True) * 2)))


def test_float_of_grad_tensor_warns_only_with_grad_enabled():
    x = gt.ones((), requires_grad=True) * 2
    with pytest.warns(UserWarning, match="requires_grad=True to a scalar"):
        float(x)
    with gt.no_grad():
        assert float(x) == 2.0  # no warning: pytest turns warnings into errors


def test_finfo_iinfo_match_torch():
    same(lambda lib: [repr(lib.finfo(d)) for d in (lib.float32, lib.float64, lib.float16,
                                                   lib.bfloat16)] + [repr(lib.finfo())])
    same(lambda lib: [(lib.finfo(d).eps, lib.finfo(d).tiny, lib.finfo(d).max, lib.finfo(d).bits,
                       lib.finfo(d).resolution, lib.finfo(d).dtype)
                      for d in (lib.float32, lib.float16, lib.complex128)])
    same(lambda lib: [(repr(lib.iinfo(d)), lib.iinfo(d).min, lib.iinfo(d).max, lib.iinfo(d).bits)
                      for d in (lib.int8, lib.uint8, lib.int32, lib.int64)])
    raises_like_torch(lambda lib: lib.finfo(lib.int32))
    raises_like_torch(lambda lib: lib.iinfo(lib.float32))
    raises_like_torch(lambda lib: lib.iinfo(lib.bool))


def test_numpy_integer_dims_are_accepted_as_pytorch_does():
    """``x.permute(*np.argsort(order))``, ``x.sum(np.int64(1))``: PyTorch takes NumPy ints
    as dims; graphtorch raised TypeError. Bools stay refused as dims."""
    torch = pytest.importorskip("torch")
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    order = np.argsort([2, 0, 1])
    for lib in (torch, gt):
        x = lib.tensor(data)
        assert tuple(x.permute(*order).shape) == (3, 4, 2)
        assert tuple(x.sum(np.int64(1)).shape) == (2, 4)
        assert tuple(x.transpose(np.int32(0), 1).shape) == (3, 2, 4)
        assert tuple(x.softmax(np.int64(-1)).shape) == (2, 3, 4)
