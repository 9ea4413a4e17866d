"""A backward through a compiled call raises eager's error when the traced code wrote in
place into a value an op saved for backward (`outputs.stale_saved_tensor`)."""

import pytest

import graphtorch as gt


@pytest.mark.parametrize("op", ["sigmoid", "exp", "tanh"])
def test_saved_output_written_in_place_raises_at_backward(op):
    # sigmoid/exp/tanh save their result: zeroing a view of it breaks eager's backward, and
    # the compiled call used to return gradients of the unmodified value (fuzz views_aliasing)
    def step(x):
        y = getattr(x, op)()
        y[0].zero_()
        return y

    compiled = gt.compile(step)
    for fn in (step, compiled):
        x = gt.randn(3, 4, requires_grad=True)
        y = fn(x)  # kept alive: eager checks a saved output's version through its tensor
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_saved_input_written_in_place_raises_at_backward():
    def step(x, w):
        y = x * 1.0
        z = y * w
        y.add_(1.0)
        return z

    compiled = gt.compile(step)
    for fn in (step, compiled):
        x, w = gt.randn(3, requires_grad=True), gt.randn(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            fn(x, w).sum().backward()
