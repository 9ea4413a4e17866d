"""The padding modules (ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad,
1d/2d/3d) against PyTorch: stored padding and repr, values, float64 gradients and the
errors of bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import compare_module, same_error

RNG = np.random.default_rng(0)


def _x(*shape, dtype="float64"):
    return RNG.standard_normal(shape).astype(dtype)


# (constructor text, input shape); every family at each rank, batched and unbatched, with
# an int padding, an asymmetric tuple and (where the mode allows it) negative entries.
CASES = [
    ("ZeroPad1d(2)", (2, 3, 4)),
    ("ZeroPad1d((1, -2))", (3, 5)),
    ("ZeroPad2d((1, 0, 2, 3))", (2, 3, 4, 5)),
    ("ZeroPad2d(1)", (1, 3, 4)),
    ("ZeroPad3d((1, 2, 0, 1, 2, 0))", (1, 2, 3, 4, 2)),
    ("ConstantPad1d(3, 3.5)", (2, 3, 4)),
    ("ConstantPad1d((0, 2), -1)", (3, 4)),
    ("ConstantPad2d((2, 1, -1, 1), 0.25)", (2, 2, 4, 5)),
    ("ConstantPad3d(1, 2.0)", (2, 1, 2, 3, 2)),
    ("ConstantPad3d((1, 0, 0, 2, 1, 1), -0.5)", (2, 2, 3, 2)),
    ("ReflectionPad1d(2)", (2, 3, 5)),
    ("ReflectionPad1d((3, 1))", (3, 4)),
    ("ReflectionPad2d((1, 2, 3, 0))", (2, 2, 4, 5)),
    ("ReflectionPad2d(1)", (3, 3, 3)),
    ("ReflectionPad3d((1, 1, 2, 0, 1, 2))", (1, 2, 3, 4, 3)),
    ("ReplicationPad1d((4, 1))", (2, 3, 2)),
    ("ReplicationPad2d((2, 0, 1, 3))", (2, 2, 3, 4)),
    ("ReplicationPad2d(2)", (2, 3, 3)),
    ("ReplicationPad3d(1)", (2, 2, 3, 2, 2)),
    ("ReplicationPad3d((0, 2, 1, 0, 3, 1))", (2, 2, 3, 2)),
    ("CircularPad1d(2)", (2, 3, 4)),
    ("CircularPad1d((1, -1))", (3, 4)),
    ("CircularPad2d((1, 2, 2, 0))", (2, 2, 3, 4)),
    ("CircularPad2d(1)", (2, 3, 3)),
    ("CircularPad3d((1, 0, 2, 1, 0, 1))", (1, 2, 2, 3, 3)),
]


def _make(ctor):
    return lambda lib: eval("nn." + ctor, {"nn": lib.nn})


@pytest.mark.parametrize("ctor,shape", CASES, ids=str)
def test_padding_module_values_gradients_and_repr(ctor, shape):
    tm, gm = compare_module(_make(ctor), [_x(*shape)], rtol=1e-12, atol=1e-12)
    assert repr(gm) == repr(tm)
    assert gm.padding == tm.padding
    if hasattr(tm, "value"):
        assert gm.value == tm.value


@pytest.mark.parametrize("ctor", ["ZeroPad2d((1, 2, 0, 1))", "ReflectionPad2d(1)",
                                  "CircularPad1d(1)"])
def test_padding_float32_no_grad(ctor):
    compare_module(_make(ctor), [_x(2, 3, 4, dtype="float32")], grad=False)


def test_padding_modules_are_the_same_classes_as_pytorch():
    for name in ("ZeroPad1d", "ZeroPad2d", "ZeroPad3d"):
        assert issubclass(getattr(gt.nn, name), getattr(gt.nn, name.replace("Zero", "Constant")))
    assert not isinstance(gt.nn.ReflectionPad2d(1), gt.nn.ReflectionPad1d)
    assert gt.nn.ConstantPad2d(1, 3).value == 3


@pytest.mark.parametrize("ctor,shape", [
    ("ReflectionPad2d(1)", (3, 4)),                # rank the mode does not support
    ("ReflectionPad1d(3)", (1, 2, 3)),             # reflection as wide as the dim
    ("ReplicationPad3d(1)", (2, 3)),               # more padding than dims
    ("ReplicationPad1d(1)", (2, 0, 3)),            # an empty non-batch dim
    ("CircularPad2d(1)", (2, 2, 3, 4, 5)),         # the module's own rank check
    ("CircularPad3d(1)", (2, 3, 4)),
    ("CircularPad1d(4)", (1, 2, 3)),               # wrapping around more than once
    ("ConstantPad3d(1, 2.0)", (2, 3)),
    ("ZeroPad1d((1, 2, 3))", (2, 3)),              # odd padding length
])
def test_padding_errors(ctor, shape):
    same_error(lambda lib: _make(ctor)(lib)(lib.ones(*shape)))
