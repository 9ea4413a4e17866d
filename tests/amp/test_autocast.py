"""`gt.autocast` / `gt.amp.autocast` against PyTorch's CPU autocast (float16): result dtypes
of the lower-precision ops, float32 losses, gradients, state queries, decorator form,
PyTorch's warnings and errors; bfloat16 autocast is compared in tests/test_bfloat16.py."""

from __future__ import annotations

import warnings

import pytest

import graphtorch as gt
from graphtorch.ops import interpose
from tests.autograd.diff import raises_like_torch, same


def _ops(T):
    T.manual_seed(0)
    a, b = T.randn(3, 4), T.randn(4, 5)
    w = T.randn(2, 1, 3, 3)
    with T.autocast(device_type="cpu", dtype=T.float16):
        h = a @ b
        out = {
            "matmul": h, "mm": T.mm(a, b), "bmm": T.bmm(a[None], b[None]),
            "linear": T.nn.functional.linear(a, b.t(), T.ones(5)),
            "conv2d": T.nn.functional.conv2d(T.randn(1, 1, 5, 5), w),
            "conv1d": T.nn.functional.conv1d(T.randn(1, 2, 6), T.randn(3, 2, 2)),
            "relu": h.relu(), "softmax": h.softmax(-1), "sum": h.sum(),
            "mse": T.nn.functional.mse_loss(h, T.zeros(3, 5)),
            "ce": T.nn.functional.cross_entropy(h, T.tensor([0, 1, 2])),
            "mixed": h + a[:, :1], "double": a.double() @ b.double(),
            "enabled": T.is_autocast_enabled("cpu"), "dtype": T.get_autocast_dtype("cpu"),
        }
    out["after"] = (T.is_autocast_enabled("cpu"), (a @ b).dtype)
    return {k: (v.dtype if hasattr(v, "dtype") else v) for k, v in out.items()}


def test_op_dtypes_like_torch():
    same(_ops)


@pytest.mark.parametrize("api", ["autocast", "amp", "decorator", "disabled"])
def test_training_step_like_torch(api):
    def program(T):
        T.manual_seed(0)
        m = T.nn.Sequential(T.nn.Linear(4, 8), T.nn.ReLU(), T.nn.Linear(8, 3))
        x, y = T.randn(5, 4), T.tensor([0, 1, 2, 0, 1])

        def fwd():
            out = m(x)
            return out, T.nn.functional.cross_entropy(out, y)

        if api == "autocast":
            with T.autocast(device_type="cpu", dtype=T.float16):
                out, loss = fwd()
        elif api == "amp":
            with T.amp.autocast("cpu", dtype=T.float16):
                out, loss = fwd()
        elif api == "decorator":
            out, loss = T.autocast("cpu", dtype=T.float16)(fwd)()
        else:
            with T.autocast("cpu", enabled=False):
                out, loss = fwd()
        loss.backward()
        return out, loss, m[0].weight.grad, m[2].bias.grad

    tol = 1e-5 if api == "disabled" else 2e-3
    same(program, atol=tol, rtol=tol)


def test_nesting_restores_state():
    with gt.autocast("cpu", dtype=gt.float16):
        with gt.autocast("cpu", enabled=False):
            assert (gt.ones(2, 2) @ gt.ones(2, 2)).dtype == gt.float32
        assert (gt.ones(2, 2) @ gt.ones(2, 2)).dtype == gt.float16
    assert not gt.is_autocast_enabled("cpu")
    assert not interpose.installed()


@pytest.mark.parametrize("case", ["float32_dtype", "cuda"])
def test_warns_and_disables_like_torch(case):
    def program(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kwargs = {"device_type": "cpu", "dtype": T.float32} if case == "float32_dtype" \
                else {"device_type": "cuda"}
            with T.autocast(**kwargs):
                enabled = T.is_autocast_enabled("cpu")
                dtype = (T.ones(2, 2) @ T.ones(2, 2)).dtype
        return enabled, dtype, [(c.category.__name__, str(c.message)) for c in caught]

    same(program)


@pytest.mark.parametrize("case", ["device_type_int", "device_type_name", "custom_fwd"])
def test_errors_like_torch(case):
    def program(T):
        if case == "device_type_int":
            return T.autocast(1)
        if case == "device_type_name":
            return T.autocast("foo")
        return T.amp.custom_fwd(lambda x: x, device_type=1)

    raises_like_torch(program)


def test_cpu_default_is_bfloat16_as_torch():
    # PyTorch's CPU default dtype is bfloat16 (tests/test_bfloat16.py compares the values)
    with gt.autocast("cpu"):
        assert (gt.ones(2, 2) @ gt.ones(2, 2)).dtype == gt.bfloat16
    with gt.autocast("cpu", enabled=False):  # disabled works for any dtype
        assert (gt.ones(2, 2) @ gt.ones(2, 2)).dtype == gt.float32


def test_docstrings():
    for obj in (gt.autocast, gt.amp.autocast, gt.amp.GradScaler, gt.cpu.amp.autocast,
                gt.cuda.amp.autocast, gt.cuda.amp.GradScaler, gt.is_autocast_enabled):
        assert obj.__doc__
