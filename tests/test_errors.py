"""The error bar: common mistakes raise PyTorch's exception type with a clear message
(checked against the installed torch)."""

from __future__ import annotations

from tests.autograd.diff import raises_like_torch


def _leaf(lib, *shape):
    return lib.ones(*(shape or (3,)), requires_grad=True)


def test_broadcast_shape_mismatch_add():
    raises_like_torch(lambda lib: lib.ones(2, 3) + lib.ones(4, 3),
                      match=r"The size of tensor a \(2\) must match the size of tensor b \(4\) "
                            r"at non-singleton dimension 0")
    raises_like_torch(lambda lib: lib.add(lib.ones(3), lib.ones(2)),
                      match=r"The size of tensor a \(3\) must match the size of tensor b \(2\) "
                            r"at non-singleton dimension 0")
    raises_like_torch(lambda lib: lib.ones(2, 3, 4) * lib.ones(5, 1),
                      match=r"must match the size of tensor b \(5\) at non-singleton dimension 1")


def test_broadcast_shape_mismatch_inplace():
    raises_like_torch(lambda lib: lib.ones(2, 3).add_(lib.ones(3, 3)),
                      match="must match the size of tensor")


def test_matmul_shape_mismatch():
    raises_like_torch(lambda lib: lib.ones(2, 3) @ lib.ones(4, 5),
                      match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)")
    raises_like_torch(lambda lib: lib.matmul(lib.ones(3), lib.ones(4)))
    raises_like_torch(lambda lib: lib.ones(2, 2, 3) @ lib.ones(2, 4, 5))


def test_matmul_zero_d():
    raises_like_torch(lambda lib: lib.tensor(1.0) @ lib.ones(2),
                      match="both arguments to matmul need to be at least 1D")


def test_view_on_noncontiguous():
    raises_like_torch(lambda lib: lib.ones(2, 3).t().view(6),
                      match=r"view size is not compatible with input tensor's size and stride.*"
                            r"Use .reshape\(...\) instead")


def test_backward_on_non_scalar_without_gradient():
    raises_like_torch(lambda lib: (_leaf(lib) * 2).backward(),
                      match="grad can be implicitly created only for scalar outputs")


def test_inplace_on_leaf_that_requires_grad():
    raises_like_torch(lambda lib: _leaf(lib).add_(1),
                      match="a leaf Variable that requires grad is being used in an in-place "
                            "operation")
    raises_like_torch(lambda lib: _leaf(lib, 2, 2)[0].mul_(1),
                      match="a view of a leaf Variable that requires grad is being used in an "
                            "in-place operation")


def test_second_backward_through_freed_buffers():
    def fn(lib):
        x = _leaf(lib)
        y = (x.exp() * x).sum()
        y.backward()
        y.backward()
    raises_like_torch(fn, match=r"Trying to backward through the graph a second time \(or "
                                r"directly access saved tensors after they have already been "
                                r"freed\).*Specify retain_graph=True")


def test_inplace_change_of_saved_tensor():
    def fn(lib):
        x = _leaf(lib)
        h = x * 2
        y = h.sin()
        h.add_(1)
        y.sum().backward()
    raises_like_torch(fn, match=r"one of the variables needed for gradient computation has been "
                                r"modified by an inplace operation: \[torch.FloatTensor \[3\]\]"
                                r", which is output 0 of Add, is at version 1; expected "
                                r"version 0 instead")


def test_bool_subtraction_and_negation():
    b = [True, False]
    raises_like_torch(lambda lib: lib.tensor(b) - lib.tensor(b),
                      match="Subtraction, the `-` operator, with two bool tensors is not "
                            "supported")
    raises_like_torch(lambda lib: -lib.tensor(b),
                      match="Negation, the `-` operator, on a bool tensor is not supported")
    raises_like_torch(lambda lib: lib.tensor(b).neg_(), match="Negation")


def test_bool_subtraction_mixed():
    raises_like_torch(lambda lib: lib.tensor([True]) - 1,
                      match="Subtraction, the `-` operator, with a bool tensor is not supported")


def test_bitwise_on_floats():
    raises_like_torch(lambda lib: lib.ones(2) & lib.ones(2),
                      match="\"bitwise_and_cpu\" not implemented for 'Float'")
    raises_like_torch(lambda lib: lib.bitwise_or(lib.ones(2), lib.ones(2)),
                      match="not implemented for 'Float'")
    raises_like_torch(lambda lib: ~lib.ones(2, dtype=lib.float64),
                      match=r"~ \(operator.invert\) is only implemented on integer and "
                            r"Boolean-type tensors")
    raises_like_torch(lambda lib: lib.bitwise_not(lib.ones(2, dtype=lib.float64)),
                      match="\"bitwise_not_cpu\" not implemented for 'Double'")
    raises_like_torch(lambda lib: lib.ones(2, dtype=lib.int64) << 1.5)


def test_int_tensor_requires_grad():
    raises_like_torch(lambda lib: lib.ones(2, dtype=lib.int64).requires_grad_(),
                      match="only Tensors of floating point")
    raises_like_torch(lambda lib: lib.tensor([1, 2], requires_grad=True),
                      match="Only Tensors of floating point and complex dtype can require "
                            "gradients")
    raises_like_torch(lambda lib: lib.arange(3, requires_grad=True),
                      match="Only Tensors of floating point and complex dtype")
    raises_like_torch(lambda lib: lib.zeros(2, dtype=lib.int32, requires_grad=True),
                      match="Only Tensors of floating point and complex dtype")


def test_dimension_out_of_range():
    raises_like_torch(lambda lib: lib.ones(2, 3).sum(2),
                      match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but "
                            r"got 2\)")
    raises_like_torch(lambda lib: lib.ones(2, 3).transpose(0, 3), match="Dimension out of range")


def test_index_out_of_bounds():
    raises_like_torch(lambda lib: lib.ones(2, 3)[2],
                      match="index 2 is out of bounds for dimension 0 with size 2")


def test_reshape_invalid():
    raises_like_torch(lambda lib: lib.ones(2, 3).reshape(4, 2),
                      match=r"shape '\[4, 2\]' is invalid for input of size 6")


def test_item_on_many_elements():
    raises_like_torch(lambda lib: lib.ones(3).item(),
                      match="a Tensor with 3 elements cannot be converted to Scalar")


def test_grad_of_unused_input():
    raises_like_torch(lambda lib: lib.autograd.grad((_leaf(lib) * 2).sum(), _leaf(lib)),
                      match="The differentiated Tensor at index 0 appears to not have been used "
                            "in the graph. Set allow_unused=True if this is the desired behavior.")


def test_backward_without_grad():
    raises_like_torch(lambda lib: lib.ones(3).sum().backward(),
                      match="element 0 of tensors does not require grad and does not have a "
                            "grad_fn")


def test_numpy_of_requires_grad():
    raises_like_torch(lambda lib: _leaf(lib).numpy(),
                      match=r"Can't call numpy\(\) on Tensor that requires grad. Use "
                            r"tensor.detach\(\).numpy\(\) instead.")


def test_cat_mismatch():
    raises_like_torch(lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]),
                      match="Sizes of tensors must match except in dimension 0")


def test_where_condition_dtype():
    raises_like_torch(lambda lib: lib.where(lib.ones(2), lib.ones(2), lib.zeros(2)),
                      match="where expected condition to be a boolean tensor, but got a tensor "
                            "with dtype Float")


def test_out_with_autograd():
    raises_like_torch(lambda lib: lib.mul(_leaf(lib), 2, out=lib.zeros(3)),
                      match="don't support automatic differentiation, but one of the arguments "
                            "requires grad")


def test_inplace_cast_error():
    raises_like_torch(lambda lib: lib.ones(2, dtype=lib.int64).div_(2),
                      match="result type Float can't be cast to the desired output type Long")


def test_expand_error():
    raises_like_torch(lambda lib: lib.ones(2, 3).expand(4, 3),
                      match=r"The expanded size of the tensor \(4\) must match the existing size "
                            r"\(2\) at non-singleton dimension 0")
