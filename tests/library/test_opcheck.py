"""gt.library.opcheck: the checks PyTorch's opcheck names, each passing for a correct op
and failing for the fault it looks for (an unregistered or wrong fake function, an argument
changed but not declared in mutates_args, a gradient of the wrong shape)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.library import OpCheckError, opcheck

from .test_custom_ops import _unique, define_crop, define_numpy_sin


def test_correct_ops_pass_every_check():
    for define, args in ((define_numpy_sin, (gt.randn(3),)),
                         (define_crop, (gt.randn(2, 5, 6), [1, 1, 2, 3]))):
        op = define(gt, _unique(define.__name__))
        assert opcheck(op, args) == {name: "SUCCESS" for name in (
            "test_schema", "test_autograd_registration", "test_faketensor",
            "test_aot_dispatch_dynamic")}


def _op(body, **registrations):
    op = gt.library.custom_op(_unique("checked"), body, mutates_args=(),
                              schema="(Tensor x) -> Tensor")
    if "fake" in registrations:
        op.register_fake(registrations["fake"])
    if "backward" in registrations:
        op.register_autograd(registrations["backward"])
    return op


def test_missing_fake_fails_test_faketensor():
    op = _op(lambda x: x * 2)
    with pytest.raises(OpCheckError, match="test_faketensor failed with There was no fake"):
        opcheck(op, (gt.randn(3),))
    results = opcheck(op, (gt.randn(3),), raise_exception=False)
    assert isinstance(results["test_faketensor"], Exception)
    assert results["test_schema"] == "SUCCESS"


def test_wrong_fake_shape_fails_test_faketensor():
    op = _op(lambda x: x * 2, fake=lambda x: x.new_empty(5))
    with pytest.raises(OpCheckError, match="mismatched tensor metadata"):
        opcheck(op, (gt.randn(3),), test_utils="test_faketensor")


def test_undeclared_mutation_fails_test_schema():
    def body(x):
        out = x * 2
        x.numpy()[0] = 7.0  # changes its input behind the declared mutates_args=()
        return out
    op = _op(body, fake=lambda x: gt.empty_like(x))
    with pytest.raises(OpCheckError, match="test_schema failed.*not in mutates_args"):
        opcheck(op, (gt.zeros(3),))


def test_wrong_gradient_shape_fails_autograd_registration():
    op = _op(lambda x: x * 2, fake=lambda x: gt.empty_like(x),
             backward=lambda ctx, grad: grad.sum())
    with pytest.raises(OpCheckError, match="test_autograd_registration failed"):
        opcheck(op, (gt.randn(3),))


def test_unknown_check_name_raises():
    op = _op(lambda x: x * 2)
    with pytest.raises(ValueError, match="unexpected test_util"):
        opcheck(op, (gt.randn(3),), test_utils=["test_everything"])
    assert np.isfinite(op(gt.randn(2)).numpy()).all()
