"""`gt.testing.make_tensor` against `torch.testing.make_tensor`: shapes, dtypes, strides
(noncontiguous, memory_format), PyTorch's value range per dtype, requires_grad, exclude_zero
and the same errors. Values differ (each library draws its own)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]


def _make(lib, *shape, dtype, **kwargs):
    return lib.testing.make_tensor(*shape, dtype=getattr(lib, dtype), device="cpu", **kwargs)


def _range(t, lib):
    values = (lib.view_as_real(t) if t.is_complex() else t).detach()
    values = values.to(lib.float64) if t.dtype != lib.bool else values.to(lib.int64)
    return float(values.min()), float(values.max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_shape_dtype_and_default_range_match_pytorch(dtype):
    theirs = _make(torch, 40, 50, dtype=dtype)
    ours = _make(gt, 40, 50, dtype=dtype)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    low, high = {"bool": (0, 1), "uint8": (0, 9)}.get(dtype, (-9, 9))
    for t, lib in ((theirs, torch), (ours, gt)):
        t_low, t_high = _range(t, lib)
        assert low <= t_low and t_high <= high
        assert t_high - t_low > (high - low) / 2  # the whole range is used


@pytest.mark.parametrize("kwargs", [
    {"low": 2, "high": 5}, {"low": -1e300, "high": 1e300}, {"low": None, "high": -5},
])
@pytest.mark.parametrize("dtype", ["int8", "float32", "float64"])
def test_low_and_high_are_clamped_as_pytorch(dtype, kwargs):
    for lib in (torch, gt):
        t = _make(lib, 500, dtype=dtype, **kwargs)
        values = t.to(lib.float64).numpy()
        assert np.isfinite(values).all()
        info = np.iinfo(dtype) if dtype == "int8" else np.finfo(dtype)
        low = max(kwargs["low"] if kwargs["low"] is not None else -9, float(info.min))
        high = min(kwargs["high"], float(info.max))
        assert (values >= low).all() and (values <= high).all()


def test_layout_and_flags_match_pytorch():
    for lib in (torch, gt):
        t = _make(lib, 3, 4, dtype="float32", noncontiguous=True, requires_grad=True,
                  exclude_zero=True)
        assert not t.is_contiguous() and t.requires_grad and tuple(t.shape) == (3, 4)
        assert t.stride() == (8, 2)
        assert (t != 0).all()
        cl = _make(lib, 2, 3, 4, 5, dtype="float32", memory_format=lib.channels_last)
        assert cl.stride() == (60, 1, 15, 3)
        assert _make(lib, (2, 3), dtype="int64").shape == (2, 3)
        assert _make(lib, 1, dtype="float32", noncontiguous=True).is_contiguous()


@pytest.mark.parametrize("kwargs", [
    {"dtype": "int64", "requires_grad": True},
    {"dtype": "float32", "low": 3, "high": 1},
    {"dtype": "float32", "low": float("nan")},
    {"dtype": "uint8", "low": -20, "high": -10},
    {"dtype": "float32", "noncontiguous": True, "memory_format": "channels_last"},
])
def test_errors_match_pytorch(kwargs):
    errors = []
    for lib in (torch, gt):
        args = {k: getattr(lib, v) if k == "memory_format" else v for k, v in kwargs.items()}
        with pytest.raises(ValueError) as info:
            _make(lib, 2, 3, **args)
        errors.append(str(info.value).replace("torch.", ""))
    assert errors[0] == errors[1]
