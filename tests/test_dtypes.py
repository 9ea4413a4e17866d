"""dtype objects vs PyTorch: names, aliases, properties, promote_types for every pair,
can_cast, and the default dtype's effect on tensor creation."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
         "complex64", "complex128"]
ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
           "int": "int32", "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}


SHELL_UINTS = ["uint16", "uint32", "uint64"]  # storage, conversion and printing only
FLOAT8 = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu"]


@pytest.mark.parametrize("name", NAMES + ["bfloat16", "complex32"] + SHELL_UINTS + FLOAT8)
def test_dtype_repr_and_properties(name):
    g, t = getattr(gt, name), getattr(torch, name)
    assert repr(g) == repr(t) == str(g) == str(t)
    assert g.is_floating_point == t.is_floating_point
    assert g.is_complex == t.is_complex
    assert g.is_signed == t.is_signed
    assert g.itemsize == t.itemsize
    assert isinstance(g, gt.dtype)


@pytest.mark.parametrize("alias,name", list(ALIASES.items()))
def test_aliases_are_the_same_object(alias, name):
    assert getattr(gt, alias) is getattr(gt, name)
    assert getattr(torch, alias) is getattr(torch, name)


def test_bool_dtype_name():
    assert repr(gt.bool) == "torch.bool"
    assert gt.bool is not bool


@pytest.mark.parametrize("name", NAMES)
def test_dtype_pickle_and_copy_preserve_identity(name):
    d = getattr(gt, name)
    assert pickle.loads(pickle.dumps(d)) is d
    assert copy.deepcopy(d) is d
    assert hash(d) == hash(getattr(gt, name))


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_promote_types_table(a, b):
    assert repr(gt.promote_types(getattr(gt, a), getattr(gt, b))) == \
        repr(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_can_cast_table(a, b):
    assert gt.can_cast(getattr(gt, a), getattr(gt, b)) == \
        torch.can_cast(getattr(torch, a), getattr(torch, b))


@pytest.mark.parametrize("name", NAMES)
def test_tensor_dtype_roundtrip(name):
    def fn(lib):
        d = getattr(lib, name)
        t = lib.zeros(2, dtype=d)
        return (t.dtype, t.dtype is d, t.is_floating_point(), t.is_complex(), t.element_size(),
                t.is_signed(), lib.empty(0, dtype=d).dtype, lib.ones(1, dtype=d).tolist())
    same(fn)


def test_finfo_like_properties_via_numpy():
    for name in ["float16", "float32", "float64"]:
        assert np.dtype(getattr(gt, name).np_dtype).itemsize == getattr(torch, name).itemsize


# --- default dtype ------------------------------------------------------------------------

@pytest.fixture
def restore_default():
    yield
    torch.set_default_dtype(torch.float32)
    gt.set_default_dtype(gt.float32)


@pytest.mark.parametrize("default", ["float64", "float16", "float32"])
def test_default_dtype_effects(default, restore_default):
    def fn(lib):
        lib.set_default_dtype(getattr(lib, default))
        return (lib.get_default_dtype(), lib.tensor([1.5]).dtype, lib.tensor([1]).dtype,
                lib.zeros(2).dtype, lib.ones(1).dtype, lib.empty(1).dtype, lib.rand(2).dtype,
                lib.randn(2).dtype, lib.arange(3.0).dtype, lib.arange(3).dtype,
                lib.full((1,), 2.0).dtype, lib.full((1,), 2).dtype, lib.linspace(0, 1, 3).dtype,
                lib.eye(2).dtype, lib.Tensor(2).dtype,
                lib.tensor(1j).dtype if default != "float16" else None,  # complex32: no NumPy
                (lib.arange(3) / 2).dtype, (lib.ones(2, dtype=lib.int32) * 1.5).dtype,
                lib.zeros(2).to(float).dtype,  # Python's float is float64, whatever the default
                lib.tensor([1.5], dtype=lib.float64).dtype, lib.zeros(2, dtype=lib.int64).dtype,
                lib.tensor(np.float32(1.5)).dtype, lib.from_numpy(np.ones(1)).dtype,
                lib.tensor([1, 2.5]).dtype, lib.sqrt(lib.tensor([4])).dtype)
    same(fn)


def test_set_default_dtype_rejects_non_float(restore_default):
    for lib in (torch, gt):
        with pytest.raises(TypeError):
            lib.set_default_dtype(lib.int64)
        assert lib.get_default_dtype() == lib.float32


def test_default_dtype_does_not_change_existing_tensors(restore_default):
    def fn(lib):
        t = lib.ones(2)
        lib.set_default_dtype(lib.float64)
        return t.dtype, (t * 2.5).dtype, (t + lib.ones(2)).dtype
    same(fn)


@pytest.mark.parametrize("a", SHELL_UINTS)
@pytest.mark.parametrize("b", NAMES + SHELL_UINTS)
def test_shell_unsigned_types_promote_as_in_pytorch(a, b):
    def fn(lib):
        return lib.promote_types(getattr(lib, a), getattr(lib, b))
    same(fn)


@pytest.mark.parametrize("a", ["bfloat16", "complex32"] + FLOAT8)
@pytest.mark.parametrize("b", NAMES + ["bfloat16", "complex32"] + SHELL_UINTS + FLOAT8)
def test_storage_less_types_promote_as_in_pytorch(a, b):
    # float16 + bfloat16 -> float32, complex32 + float32 -> complex64, float8 with any
    # other type raises (with PyTorch's message); both orders.
    for x, y in ((a, b), (b, a)):
        ours, theirs = [], []
        for lib, found in ((gt, ours), (torch, theirs)):
            try:
                found.append(repr(lib.promote_types(getattr(lib, x), getattr(lib, y))))
            except RuntimeError as exc:
                found.append(str(exc))
        assert ours == theirs, (x, y)


@pytest.mark.parametrize("name", SHELL_UINTS)
def test_shell_unsigned_tensors_convert_and_print(name):
    def fn(lib):
        t = lib.tensor([1, 2, 3]).to(getattr(lib, name))
        return repr(t), t.type(), t.is_signed(), t.element_size(), t.to(lib.int64).tolist()
    same(fn)
