"""gt.library.custom_op against torch.library.custom_op, as the "Custom Python Operators"
tutorial uses it: a NumPy body, register_fake, register_autograd (gradients as PyTorch's),
mutates_args (versions bumped), gt.ops.<ns>.<name>, PyTorch's errors; under gt.compile a
graph break with eager's values, under gt.trace a clear error."""

# no `from __future__ import annotations`: torch.library reads the type hints as types

import logging

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

_COUNT = [0]


def _unique(prefix: str) -> str:
    """A fresh op name per test (torch's registry is process-wide)."""
    _COUNT[0] += 1
    return f"gt_test::{prefix}_{_COUNT[0]}"


def define_numpy_sin(lib, name):
    """The tutorial's op: sin through NumPy, cos(x) * grad as its backward."""
    @lib.library.custom_op(name, mutates_args=())
    def numpy_sin(x: lib.Tensor) -> lib.Tensor:
        return lib.from_numpy(np.sin(x.numpy()))

    @numpy_sin.register_fake
    def _(x):
        return lib.empty_like(x)

    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()

    numpy_sin.register_autograd(backward, setup_context=setup_context)
    return numpy_sin


def define_crop(lib, name):
    """Two outputs' worth of arguments: a tensor and a list of ints; a backward that pads."""
    @lib.library.custom_op(name, mutates_args=())
    def crop(pic: lib.Tensor, box: list[int]) -> lib.Tensor:
        left, top, width, height = box
        return lib.from_numpy(pic.numpy()[..., top:top + height, left:left + width].copy())

    @crop.register_fake
    def _(pic, box):
        return pic.new_empty(*pic.shape[:-2], box[3], box[2])

    def setup_context(ctx, inputs, output):
        ctx.pic_shape, ctx.box = inputs[0].shape, inputs[1]

    def backward(ctx, grad):
        left, top, width, height = ctx.box
        result = grad.new_zeros(ctx.pic_shape)
        result[..., top:top + height, left:left + width] = grad
        return result, None

    crop.register_autograd(backward, setup_context=setup_context)
    return crop


@pytest.mark.parametrize("define,extra", [(define_numpy_sin, ()), (define_crop, ([1, 2, 3, 2],))])
def test_values_and_gradients_match_pytorch(define, extra):
    x = np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32)
    weights = np.random.default_rng(1).uniform(-1, 1, 200).astype(np.float32)
    results = []
    for lib in (torch, gt):
        op = define(lib, _unique(define.__name__))
        xt = lib.tensor(x * 1, requires_grad=True)
        out = op(xt * 1, *extra)  # a non-leaf input, as in a model
        (out * lib.tensor(weights[:out.numel()].reshape(tuple(out.shape)))).sum().backward()
        results.append((out.detach().numpy(), xt.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-6, atol=1e-7)


def test_backward_without_a_formula_raises_as_pytorch():
    messages = []
    for lib in (torch, gt):
        name = _unique("no_grad_formula")
        op = lib.library.custom_op(name, lambda x: x.clone() * 2, mutates_args=(),
                                   schema="(Tensor x) -> Tensor")
        out = op(lib.ones(2, requires_grad=True))
        assert out.requires_grad
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        messages.append(str(info.value).replace(name.replace("::", "."), "OP"))
    assert messages[0] == messages[1]


def test_mutated_arguments_get_a_new_version():
    versions = []
    for lib in (torch, gt):
        @lib.library.custom_op(_unique("add_into"), mutates_args=("out",))
        def add_into(x: lib.Tensor, out: lib.Tensor) -> None:
            out.add_(x)

        x, out = lib.ones(3), lib.zeros(3)
        before = (x._version, out._version)
        add_into(x, out)
        np.testing.assert_array_equal(out.numpy(), np.ones(3))
        versions.append((x._version - before[0], out._version > before[1]))
    assert versions[0] == versions[1] == (0, True)


def test_ops_namespace_and_register_fake_by_name():
    op = define_numpy_sin(gt, "gt_test_ns::numpy_sin")
    assert gt.ops.gt_test_ns.numpy_sin is op and op.default is op
    assert repr(op) == "<CustomOpDef(gt_test_ns::numpy_sin)>"

    @gt.library.register_fake("gt_test_ns::numpy_sin")
    def fake(x):
        return x.new_empty(x.shape)
    assert op._abstract_fn is fake
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = gt.ops.gt_test_ns.missing
    with pytest.raises(RuntimeError, match="operator gt_test_ns::missing does not exist"):
        gt.library.register_fake("gt_test_ns::missing")


def _error(lib, make):
    with pytest.raises(Exception) as info:
        make(lib)
    return type(info.value), str(info.value).replace("torch.Tensor", "T").replace(
        "graphtorch.tensor.Tensor", "T")


@pytest.mark.parametrize("make", [
    lambda lib: lib.library.custom_op(_unique("e"), lambda x: x, mutates_args=()),
    lambda lib: lib.library.custom_op(_unique("e"), _annotated_no_return(lib), mutates_args=()),
    lambda lib: lib.library.custom_op(_unique("e"), _annotated(lib), mutates_args="x"),
    lambda lib: lib.library.custom_op(_unique("e"), _annotated(lib), mutates_args=("y",)),
], ids=["no_annotation", "no_return_annotation", "mutates_str", "mutates_unknown_name"])
def test_definition_errors_match_pytorch(make):
    assert _error(gt, make) == _error(torch, make)


def _annotated(lib):
    def f(x: lib.Tensor) -> lib.Tensor:
        return x.clone()
    return f


def _annotated_no_return(lib):
    def f(x: lib.Tensor):
        return x.clone()
    return f


def test_returning_an_input_raises_as_pytorch():
    for lib in (torch, gt):
        op = lib.library.custom_op(_unique("alias"), lambda x: x[:1], mutates_args=(),
                                   schema="(Tensor x) -> Tensor")
        with pytest.raises(RuntimeError, match="must not also be an input"):
            op(lib.ones(3))


def test_device_types_limit_the_kernel():
    op = gt.library.custom_op(_unique("only_cuda"), _annotated(gt), mutates_args=(),
                              device_types="cuda")
    with pytest.raises(NotImplementedError, match="no kernel for device type 'cpu'"):
        op(gt.ones(2))
    op.register_kernel("cpu", lambda x: x * 3)
    np.testing.assert_array_equal(op(gt.ones(2)).numpy(), [3.0, 3.0])


def test_compile_runs_the_op_eagerly_with_a_logged_graph_break(caplog):
    numpy_sin = define_numpy_sin(gt, _unique("numpy_sin"))

    def f(x):
        return numpy_sin(x * 2) + 1

    x = gt.randn(4, requires_grad=True)
    with caplog.at_level(logging.INFO, logger="graphtorch"):
        compiled = gt.compile(f)(x)
    assert any("custom op" in r.getMessage() and "eagerly" in r.getMessage()
               for r in caplog.records)
    eager = f(x)
    np.testing.assert_allclose(compiled.detach().numpy(), eager.detach().numpy(), rtol=1e-6)
    compiled.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(2 * x.detach().numpy()), rtol=1e-5)
    with pytest.raises(Exception, match="custom op"):
        gt.compile(f, fullgraph=True)(gt.randn(4))


def test_trace_raises_rather_than_freezing_the_body():
    numpy_sin = define_numpy_sin(gt, _unique("numpy_sin"))
    with pytest.raises(RuntimeError, match="cannot be traced"):
        gt.trace(lambda x: numpy_sin(x), gt.ones(3))


def test_keyword_only_arguments_reach_the_body_and_mutation():
    @gt.library.custom_op(_unique("scaled_add"), mutates_args=("out",))
    def scaled_add(x: gt.Tensor, *, out: gt.Tensor, alpha: float = 1.0) -> None:
        out.add_(x * alpha)

    x, out = gt.ones(2, requires_grad=True), gt.zeros(2)
    version = out._version
    scaled_add(x, out=out, alpha=3.0)
    np.testing.assert_array_equal(out.numpy(), [3.0, 3.0])
    assert out._version > version
