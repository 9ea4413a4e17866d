"""The CuPy stand-ins of graphtorch.ops.devices, run on the CPU through a module that is
not NumPy (so the CuPy code paths run) but computes with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from graphtorch.ops import devices


class NotNumpy:
    """An array module that takes the non-NumPy (CuPy) branches."""

    def __getattr__(self, name):
        return getattr(np, name)


XP = NotNumpy()


@pytest.mark.parametrize("name", ["maximum", "minimum", "logaddexp", "add", "multiply"])
@pytest.mark.parametrize("shape,axis", [((7,), 0), ((3, 5), 1), ((6, 2, 3), 0), ((4, 1), 1),
                                        ((0, 3), 0), ((2, 9, 2), -2)])
def test_log_step_scan_equals_numpy_accumulate(name, shape, axis):
    a = np.random.default_rng(0).normal(size=shape)
    expected = getattr(np, name).accumulate(a, axis=axis)
    got = devices.accumulate(XP, name, a, axis % len(shape))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_log_step_scan_keeps_integer_dtype_and_ties():
    a = np.array([[3, 1, 3, 5, 5, 2]])
    got = devices.accumulate(XP, "maximum", a, 1)
    assert got.dtype == a.dtype and got.tolist() == [[3, 3, 3, 5, 5, 5]]


@pytest.mark.parametrize("shape,axis,keepdims", [((3, 4), 1, False), ((3, 4), None, True),
                                                 ((0, 4), 0, False), ((3, 0), 1, True),
                                                 ((2, 3, 4), (0, 2), False)])
@pytest.mark.parametrize("initial", [0.0, -np.inf])
def test_max_with_initial_equals_numpy(shape, axis, keepdims, initial):
    a = np.random.default_rng(1).normal(size=shape)
    expected = np.max(a, axis=axis, keepdims=keepdims, initial=initial)
    got = devices.max_with_initial(XP, a, axis, keepdims, initial)
    assert np.shape(got) == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_writeable_reads_numpy_flags_and_defaults_to_true():
    a = np.zeros(2)
    assert devices.writeable(a)
    a.flags.writeable = False
    assert not devices.writeable(a)

    class Flags:
        c_contiguous = True

    class CupyLike:
        flags = Flags()

    assert devices.writeable(CupyLike())


class _FakeCudaArray:
    """Stands for a CuPy array on GPU `index` (only what the device rule reads)."""

    def __init__(self, index, ndim=1):
        self.device = type("Device", (), {"id": index})()
        self.ndim = ndim


class _FakeCupy:
    """Stands for the CuPy module: a device context and asarray."""

    class cuda:  # CuPy's own (lower-case) name
        class Device:
            def __init__(self, index):
                self.index = index

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

    def asarray(self, a):
        return _FakeCudaArray(0, a.ndim)


def _op(name="add", variadic=False):
    return type("Op", (), {"name": name, "variadic": variadic})()


def test_same_device_rule_names_both_devices_in_operand_order():
    import graphtorch as gt

    t = gt.ones(3)
    with pytest.raises(RuntimeError, match=r"found at least two devices, cuda:0 and cpu!"):
        devices.same_device_arrays(_op(), (t, t), [_FakeCudaArray(0), np.ones(3)], _FakeCupy())
    with pytest.raises(RuntimeError, match=r"found at least two devices, cpu and cuda:1!"):
        devices.same_device_arrays(_op(), (t, t), [np.ones(3), _FakeCudaArray(1)], _FakeCupy())
    with pytest.raises(RuntimeError, match="cuda:0 and cpu!"):
        devices.same_device_arrays(_op("cat", True), ([t, t],),
                                   [[_FakeCudaArray(0), np.ones(3)]], _FakeCupy())


def test_zero_d_cpu_tensors_and_cpu_indices_join_cuda_operands():
    import graphtorch as gt

    t = gt.ones(3)
    xp = _FakeCupy()
    out = devices.same_device_arrays(_op(), (t, t, 2.0), [_FakeCudaArray(0), np.array(2.0), 2.0],
                                     xp)
    assert isinstance(out[1], _FakeCudaArray) and out[2] == 2.0
    out = devices.same_device_arrays(_op("index"), (t, t), [_FakeCudaArray(0), np.arange(2)], xp)
    assert isinstance(out[1], _FakeCudaArray)
    with pytest.raises(RuntimeError, match="same device"):  # the indexed tensor itself
        devices.same_device_arrays(_op("index"), (t, t), [np.ones(3), _FakeCudaArray(0)], xp)
