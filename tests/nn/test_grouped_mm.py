"""F.grouped_mm against PyTorch 2.13's CPU kernel (values, gradients, errors); F.scaled_mm
and F.scaled_grouped_mm raise as PyTorch's CPU build does for what graphtorch can hold."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch

rng = np.random.default_rng(0)


def _i32(lib, values):
    return lib.tensor(values, dtype=lib.int32)


CASES = {
    "3d x 3d": (lambda lib: (lib.tensor(rng.standard_normal((4, 8, 16)).astype("f4")),
                             lib.tensor(rng.standard_normal((4, 16, 8)).astype("f4")), None)),
    "2d x 3d": (lambda lib: (lib.tensor(rng.standard_normal((10, 16)).astype("f4")),
                             lib.tensor(rng.standard_normal((3, 16, 8)).astype("f4")),
                             _i32(lib, [3, 3, 10]))),
    "3d x 2d": (lambda lib: (lib.tensor(rng.standard_normal((3, 8, 16)).astype("f4")),
                             lib.tensor(rng.standard_normal((16, 12)).astype("f4")),
                             _i32(lib, [4, 8, 12]))),
    "2d x 2d": (lambda lib: (lib.tensor(rng.standard_normal((8, 12)).astype("f4")),
                             lib.tensor(rng.standard_normal((12, 8)).astype("f4")),
                             _i32(lib, [4, 12]))),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_values_as_torch(case, dtype):
    state = rng.bit_generator.state

    def run(lib):
        rng.bit_generator.state = state
        a, b, offs = CASES[case](lib)
        a, b = a.to(getattr(lib, dtype)), b.to(getattr(lib, dtype))
        return lib.nn.functional.grouped_mm(a, b, offs=offs).float()
    same(run, rtol=1e-2 if dtype == "bfloat16" else 1e-5, atol=1e-2 if dtype == "bfloat16"
         else 1e-5)


def test_gradients_match_per_group_matmuls():
    """PyTorch's CPU backward fails for 2-D x 3-D ("Invalid strides/sizes"), so the
    gradients are checked against the products the groups stand for."""
    x = gt.randn(10, 16, requires_grad=True)
    w = gt.randn(2, 16, 8, requires_grad=True)
    y = gt.nn.functional.grouped_mm(x, w, offs=gt.tensor([4, 7], dtype=gt.int32))
    assert y[7:].abs().sum().item() == 0  # rows past offs[-1]
    y.sum().backward()
    np.testing.assert_allclose(x.grad[:4].numpy(), np.tile(w[0].sum(1).detach().numpy(), (4, 1)),
                               rtol=1e-5)
    np.testing.assert_allclose(x.grad[7:].numpy(), 0)
    np.testing.assert_allclose(w.grad[1].numpy(), np.outer(x[4:7].sum(0).detach().numpy(),
                                                           np.ones(8)), rtol=1e-5)


def test_3d_gradient_as_torch():
    a, b = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 8, 4))

    def grads(lib):
        ta = lib.tensor(a.astype("f4"), requires_grad=True)
        tb = lib.tensor(b.astype("f4"), requires_grad=True)
        lib.nn.functional.grouped_mm(ta, tb).square().sum().backward()
        return ta.grad, tb.grad
    same(grads, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("call, match", [
    (lambda lib: (lib.randn(4, 8, 16).double(), lib.randn(4, 16, 8).double(), {}),
     "Expected mat_a to be Float32, BFloat16 or Float16 matrix, got Double"),
    (lambda lib: (lib.randn(16), lib.randn(3, 16, 8), {}), "mat_a has to be 2 or 3d"),
    (lambda lib: (lib.randn(10, 16), lib.randn(3, 16, 8), {}),
     "Have to provide offsets if there is a 2d matrix"),
    (lambda lib: (lib.randn(4, 8, 16), lib.randn(4, 16, 8),
                  {"offs": lib.tensor([1, 2, 3, 4], dtype=lib.int32)}),
     "no offset if both matrices are 3d"),
    (lambda lib: (lib.randn(4, 8, 16), lib.randn(4, 8, 8), {}), "contraction dimension"),
    (lambda lib: (lib.randn(4, 8, 16), lib.randn(3, 16, 8), {}), "batched dimension has to"),
    (lambda lib: (lib.randn(10, 16), lib.randn(3, 16, 8), {"offs": lib.tensor([3, 7, 10])}),
     "Offsets have to be int32"),
    (lambda lib: (lib.randn(10, 16), lib.randn(3, 16, 8),
                  {"offs": lib.tensor([[3, 7, 10]], dtype=lib.int32)}), "offs has to be 1D"),
    (lambda lib: (lib.randn(10, 16), lib.randn(3, 16, 8),
                  {"offs": lib.tensor([3, 10], dtype=lib.int32)}), "batch sizes have to match"),
    (lambda lib: (lib.randn(4, 8, 16), lib.randn(4, 16, 8), {"bias": lib.randn(4, 8)}),
     "Bias not supported yet"),
    (lambda lib: (lib.randn(4, 8, 16).bfloat16(), lib.randn(4, 16, 8).bfloat16(),
                  {"out_dtype": lib.float32}), "output dtype must match `mat_a` dtype"),
    (lambda lib: (lib.randn(4, 8, 6), lib.randn(4, 6, 8), {}), "multiple of 16 bytes"),
    (lambda lib: (lib.randn(4, 16, 6).transpose(1, 2), lib.randn(4, 16, 8), {}),
     "multiple of 16 bytes"),
])
def test_errors_as_torch(call, match):
    def run(lib):
        a, b, kwargs = call(lib)
        return lib.nn.functional.grouped_mm(a, b, **kwargs)
    same(run, match=match)


def test_offsets_out_of_order_raise_where_torch_reads_garbage():
    with pytest.raises(RuntimeError, match="offs must be non-decreasing and at most 10"):
        gt.nn.functional.grouped_mm(gt.randn(10, 16), gt.randn(3, 16, 8),
                                    offs=gt.tensor([7, 3, 10], dtype=gt.int32))
    with pytest.raises(RuntimeError, match="at most 10"):
        gt.nn.functional.grouped_mm(gt.randn(10, 16), gt.randn(3, 16, 8),
                                    offs=gt.tensor([3, 7, 12], dtype=gt.int32))


def test_scaled_forms_raise_as_torch_cpu_for_non_float8():
    def scaled(lib):
        F = lib.nn.functional
        return F.scaled_mm(lib.randn(16, 32), lib.randn(32, 16), lib.tensor(1.0),
                           F.ScalingType.TensorWise, lib.tensor(1.0), F.ScalingType.TensorWise)
    same(scaled, match=r"Invalid scaling configuration.\n- For TensorWise scaling, a and b "
                       "should be float8")
    with pytest.raises(NotImplementedError, match="_scaled_grouped_mm_v2.*'CPU' backend"):
        torch.nn.functional.scaled_grouped_mm(
            torch.randn(16, 32).to(torch.float8_e4m3fn), torch.randn(2, 32, 16).to(
                torch.float8_e4m3fn), torch.ones(16), torch.nn.functional.ScalingType.RowWise,
            torch.ones(2, 16), torch.nn.functional.ScalingType.RowWise,
            offs=torch.tensor([8, 16], dtype=torch.int32))
    with pytest.raises(NotImplementedError, match="_scaled_grouped_mm_v2.*'CPU' backend"):
        F = gt.nn.functional
        F.scaled_grouped_mm(gt.randn(16, 32), gt.randn(2, 32, 16), gt.ones(16),
                            F.ScalingType.RowWise, gt.ones(2, 16), F.ScalingType.RowWise,
                            offs=gt.tensor([8, 16], dtype=gt.int32))
    assert [m.name for m in gt.nn.functional.ScalingType] == \
           list(torch.nn.functional.ScalingType.__members__)
    assert [m.name for m in gt.nn.functional.SwizzleType] == \
           list(torch.nn.functional.SwizzleType.__members__)
