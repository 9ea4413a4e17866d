"""Creation functions vs PyTorch: shapes, dtypes, values, keyword forms and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same

CREATE = {
    "zeros_varargs": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_list": lambda lib: lib.zeros([2, 3]),
    "zeros_size": lambda lib: lib.zeros(lib.Size([2, 3])),
    "zeros_kw_size": lambda lib: lib.zeros(size=(2, 3)),
    "zeros_empty": lambda lib: lib.zeros(0, 3),
    "zeros_scalar": lambda lib: lib.zeros(()),
    "ones_dtype": lambda lib: lib.ones(2, dtype=lib.int32),
    "ones_kw": lambda lib: lib.ones(size=[3], dtype=lib.bool),
    "empty_shape": lambda lib: lib.empty(2, 3).shape,
    "full_float": lambda lib: lib.full((2, 2), 1.5),
    "full_int": lambda lib: lib.full((2,), 7),
    "full_bool": lambda lib: lib.full((2,), True),
    "full_complex": lambda lib: lib.full((1,), 1 + 2j),
    "full_dtype": lambda lib: lib.full((2,), 7, dtype=lib.float64),
    "full_int_size": lambda lib: lib.full([3], 2.0),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 4, dtype=lib.int64),
    "arange_int": lambda lib: lib.arange(5),
    "arange_start": lambda lib: lib.arange(2, 8, 2),
    "arange_float": lambda lib: lib.arange(0, 1, 0.25),
    "arange_neg": lambda lib: lib.arange(5, 0, -1.5),
    "arange_float_start": lambda lib: lib.arange(1.0, 4),
    "arange_dtype": lambda lib: lib.arange(4, dtype=lib.float64),
    "arange_kw": lambda lib: lib.arange(start=0, end=8, step=2),
    "arange_empty": lambda lib: lib.arange(3, 3),
    "arange_tensor_end": lambda lib: lib.arange(lib.tensor(4)),
    "linspace": lambda lib: lib.linspace(0, 1, 5),
    "linspace_one": lambda lib: lib.linspace(2, 3, 1),
    "linspace_zero": lambda lib: lib.linspace(2, 3, 0),
    "linspace_int_dtype": lambda lib: lib.linspace(0, 10, 5, dtype=lib.int64),
    "logspace": lambda lib: lib.logspace(0, 2, 3),
    "logspace_base2": lambda lib: lib.logspace(0, 3, 4, base=2),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.int16)),
    "ones_like_dtype": lambda lib: lib.ones_like(lib.ones(2), dtype=lib.float64),
    "full_like": lambda lib: lib.full_like(lib.ones(2, dtype=lib.int64), 3.7),
    "empty_like": lambda lib: lib.empty_like(lib.ones(2, 3, dtype=lib.uint8)).shape,
    "new_zeros": lambda lib: lib.ones(2, dtype=lib.float64).new_zeros(3),
    "new_ones": lambda lib: lib.ones(2, dtype=lib.int32).new_ones((2, 2)),
    "new_full": lambda lib: lib.ones(2).new_full((2,), 4),
    "new_empty": lambda lib: lib.ones(2, dtype=lib.int8).new_empty(3).dtype,
    "new_tensor": lambda lib: lib.ones(2, dtype=lib.float64).new_tensor([1, 2]),
    "scalar_tensor": lambda lib: lib.scalar_tensor(3),
    "scalar_tensor_bool": lambda lib: lib.scalar_tensor(True),
    "tensor_requires_grad": lambda lib: lib.tensor([1.0], requires_grad=True),
    "zeros_requires_grad": lambda lib: lib.zeros(2, requires_grad=True),
    "complex_fn": lambda lib: lib.complex(lib.ones(2), lib.zeros(2)),
    "polar": lambda lib: lib.polar(lib.ones(2), lib.zeros(2)),
}


@pytest.mark.parametrize("name", list(CREATE))
def test_creation_matches_torch(name):
    same(CREATE[name], rtol=1e-6)


@pytest.mark.parametrize("bad", [
    lambda lib: lib.zeros(-1),
    lambda lib: lib.zeros(2.5),
    lambda lib: lib.ones((2, "a")),
    lambda lib: lib.arange(0, 5, 0),
    lambda lib: lib.arange(0, 5, -1),
    lambda lib: lib.eye(-1),
    lambda lib: lib.linspace(0, 1, -1),
    lambda lib: lib.full((2,), 1.5, dtype=lib.int64, requires_grad=True),
    lambda lib: lib.zeros(2, size=(2,)),
], ids=["neg_dim", "float_dim", "str_dim", "zero_step", "bad_sign", "neg_eye", "neg_steps",
        "int_requires_grad", "double_size"])
def test_creation_errors(bad):
    raises_like_torch(bad)


def test_creation_out_argument():
    def fn(lib):
        out = lib.empty(0)
        lib.zeros(2, 2, out=out)
        o2 = lib.empty(3, dtype=lib.int64)
        lib.arange(3, out=o2)
        return out, o2
    same(fn)


def test_linspace_is_pytorchs_bit_for_bit():
    """PyTorch's float32 and float64 linspace (one rounding per value): 1 ulp off moved the
    spatial-transformer tutorial's grid onto the other bilinear neighbour."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    cases = [(-1.0, 1.0, 20), (0.0, 1.0, 2), (5.0, 5.0, 10), (1.0, -1.0, 3), (0.0, 1.0, 1),
             (3.0, 3.0, 0)]
    cases += [(*(rng.uniform(-100, 100, 2) * 10.0 ** rng.integers(-4, 4)),
               int(rng.integers(2, 3000))) for _ in range(100)]
    for start, end, steps in cases:
        want = torch.linspace(float(start), float(end), steps).numpy()
        np.testing.assert_array_equal(gt.linspace(float(start), float(end), steps).numpy(),
                                      want)
        want = torch.linspace(float(start), float(end), steps, dtype=torch.float64).numpy()
        got = gt.linspace(float(start), float(end), steps, dtype=gt.float64).numpy()
        np.testing.assert_array_equal(got, want)
