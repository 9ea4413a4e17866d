"""`grad_fn._saved_<name>` against PyTorch: the saved input tensors themselves, a saved
result (equal, not the same object), scalars, inputs not saved (None), freed nodes and
unknown names."""

from __future__ import annotations

import pytest

import graphtorch as gt
from tests.autograd.diff import torch


@pytest.mark.parametrize("lib", [torch, gt], ids=["torch", "gt"])
def test_saved_attributes_as_the_saved_tensors_hooks_tutorial_reads_them(lib):
    x = lib.randn(5, requires_grad=True)
    y = x.pow(2)
    assert y.grad_fn._saved_self is x and y.grad_fn._saved_exponent == 2
    y = x.exp()
    assert y.grad_fn._saved_result.equal(y) and y.grad_fn._saved_result is not y
    c = lib.ones(5)
    y = x * c
    assert y.grad_fn._saved_self is None and y.grad_fn._saved_other is c
    assert x.sin().grad_fn._saved_self is x


@pytest.mark.parametrize("lib", [torch, gt], ids=["torch", "gt"])
def test_saved_attribute_errors(lib):
    x = lib.randn(3, requires_grad=True)
    y = x.exp()
    with pytest.raises(AttributeError, match="'ExpBackward0' object has no attribute "
                                             "'_saved_nothing'"):
        _ = y.grad_fn._saved_nothing
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second"):
        _ = y.grad_fn._saved_result


@pytest.mark.parametrize("lib", [torch, gt], ids=["torch", "gt"])
def test_raw_saved_tensor_register_hooks(lib):
    # the saved-tensor hooks tutorial: pack runs at once, unpack when backward reads it
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x.pow(2)
    y.grad_fn._raw_saved_self.register_hooks(lambda t: t * 4, lambda t: t / 2)
    assert y.grad_fn._saved_self.tolist() == [2.0, 4.0]
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]
    events = []
    y = x.exp()
    y.grad_fn._raw_saved_result.register_hooks(
        lambda t: events.append("pack") or t.detach() * 0 + 1,
        lambda t: events.append("unpack") or t)
    x.grad = None
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and events == ["pack", "unpack"]
    saved = x.sin().grad_fn._raw_saved_self
    saved.register_hooks(lambda t: t, lambda t: t)
    with pytest.raises(RuntimeError, match="hooks have already been set"):
        saved.register_hooks(lambda t: t, lambda t: t)
