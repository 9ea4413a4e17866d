"""Op-table rows: convolution (1-3 d, transposed, groups, stride/padding/dilation, 'same')
and its weight-gradient op through double backward."""

from __future__ import annotations

import types

from .harness import Row

_GT_F = None


def F(lib):
    """torch.nn.functional, or graphtorch's implementation of the same names."""
    global _GT_F
    if lib.__name__ != "graphtorch":
        return lib.nn.functional
    if _GT_F is None:
        from graphtorch.functions.nn_ops import FUNCTIONAL

        _GT_F = types.SimpleNamespace(**FUNCTIONAL)
    return _GT_F


def double_backward(forward, n_diff):
    """fn(lib, *inputs, cot) -> first-order gradients of forward's first `n_diff` inputs,
    built with create_graph so that the harness differentiates them once more."""
    def fn(lib, *inputs):
        *args, cot = inputs
        diff = [a if a.requires_grad else a.detach().requires_grad_() for a in args[:n_diff]]
        out = forward(lib, *diff, *args[n_diff:])
        return lib.autograd.grad(out, diff, cot, create_graph=True)
    return fn


def conv(name, **kw):
    return lambda lib, *a: getattr(F(lib), name)(*a, **kw)


FLOATS = ("float32", "float64")

ROWS = [
    # conv1d: plain, bias, stride/padding/dilation, groups, unbatched, 'same'/'valid'
    Row("convolution", conv("conv1d"), [((2, 3, 7), (4, 3, 3)), ((1, 2, 5), (2, 2, 2), (2,))],
        dtypes=FLOATS, name="conv1d"),
    Row("convolution", conv("conv1d", stride=2, padding=1, dilation=2),
        [((2, 3, 9), (4, 3, 3), (4,)), ((1, 1, 6), (2, 1, 2))], dtypes=FLOATS,
        name="conv1d_stride_pad_dil"),
    Row("convolution", conv("conv1d", groups=2), [((2, 4, 6), (6, 2, 3), (6,)),
                                                  ((1, 2, 5), (2, 1, 3))],
        dtypes=FLOATS, name="conv1d_groups"),
    Row("convolution", conv("conv1d", padding="same"), [((3, 7), (4, 3, 3)),
                                                        ((2, 5), (2, 2, 3), (2,))],
        dtypes=FLOATS, name="conv1d_unbatched_same"),
    Row("convolution", conv("conv1d", padding="same", dilation=2),
        [((1, 2, 6), (2, 2, 3))], name="conv1d_same_dilated"),
    Row("convolution", conv("conv1d", padding="valid", stride=3), [((2, 3, 10), (2, 3, 4))],
        name="conv1d_valid"),
    Row("convolution", conv("conv1d"), [((2, 3, 5), (4, 3, 2))], dtypes=("int64",),
        grad=False, name="conv1d_int"),
    # conv2d
    Row("convolution", conv("conv2d"), [((2, 3, 6, 5), (4, 3, 3, 3), (4,)),
                                        ((1, 1, 4, 4), (2, 1, 2, 2), (2,))],
        dtypes=FLOATS, name="conv2d"),
    Row("convolution", conv("conv2d", stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        [((2, 2, 7, 6), (3, 2, 3, 2), (3,)), ((1, 1, 4, 4), (2, 1, 2, 2))], dtypes=FLOATS,
        name="conv2d_stride_pad_dil"),
    Row("convolution", conv("conv2d", stride=2, padding=1),
        [((1, 3, 8, 8), (5, 3, 3, 3), (5,)), ((1, 1, 5, 5), (1, 1, 3, 3))], dtypes=FLOATS,
        name="conv2d_stride2_pad1"),
    Row("convolution", conv("conv2d", groups=3), [((2, 6, 5, 5), (6, 2, 3, 3), (6,)),
                                                  ((1, 3, 3, 3), (3, 1, 2, 2))],
        dtypes=FLOATS, name="conv2d_groups"),
    Row("convolution", conv("conv2d", groups=4, padding=1),
        [((2, 4, 4, 4), (8, 1, 3, 3), (8,))], name="conv2d_depthwise"),
    Row("convolution", conv("conv2d", padding="same"), [((3, 5, 5), (2, 3, 3, 3)),
                                                        ((1, 1, 3, 4), (2, 1, 3, 3))],
        dtypes=FLOATS, name="conv2d_unbatched_same"),
    Row("convolution", conv("conv2d"), [((0, 3, 5, 5), (4, 3, 3, 3)),
                                        ((0, 2, 4, 4), (3, 2, 2, 2), (3,))],
        name="conv2d_empty_batch"),
    Row("convolution", conv("conv2d", stride=2), [((2, 3, 5, 5), (4, 3, 3, 3))],
        dtypes=("int64", "int32"), grad=False, name="conv2d_int"),
    # conv3d
    Row("convolution", conv("conv3d", padding=1, stride=(1, 2, 1)),
        [((2, 2, 4, 5, 3), (3, 2, 2, 3, 2), (3,)), ((1, 1, 3, 3, 3), (1, 1, 2, 2, 2))],
        dtypes=FLOATS, name="conv3d"),
    Row("convolution", conv("conv3d", groups=2, dilation=(2, 1, 1)),
        [((1, 4, 5, 3, 3), (2, 2, 2, 2, 2), (2,))], name="conv3d_groups_dil"),
    # transposed
    Row("convolution", conv("conv_transpose1d"), [((2, 3, 5), (3, 2, 3), (2,)),
                                                  ((1, 2, 4), (2, 2, 3))],
        dtypes=FLOATS, name="conv_transpose1d"),
    Row("convolution", conv("conv_transpose1d", stride=3, padding=1, output_padding=2,
                            dilation=2, groups=2),
        [((2, 4, 5), (4, 3, 3), (6,)), ((1, 2, 3), (2, 1, 2))], dtypes=FLOATS,
        name="conv_transpose1d_all"),
    Row("convolution", conv("conv_transpose2d"), [((2, 3, 4, 5), (3, 2, 3, 3), (2,)),
                                                  ((1, 1, 3, 3), (1, 2, 2, 2))],
        dtypes=FLOATS, name="conv_transpose2d"),
    Row("convolution", conv("conv_transpose2d", stride=2, padding=1, output_padding=1),
        [((2, 4, 4, 3), (4, 3, 3, 3), (3,)), ((1, 1, 3, 3), (1, 1, 3, 3))], dtypes=FLOATS,
        name="conv_transpose2d_stride_pad_outpad"),
    Row("convolution", conv("conv_transpose2d", stride=(1, 2), dilation=(2, 1), groups=2,
                            output_padding=(1, 0)),
        [((1, 4, 3, 3), (4, 1, 2, 2), (2,))], name="conv_transpose2d_groups_dil"),
    Row("convolution", conv("conv_transpose2d", stride=2), [((3, 3, 3), (3, 2, 2, 2))],
        name="conv_transpose2d_unbatched"),
    Row("convolution", conv("conv_transpose3d", stride=2, padding=1),
        [((1, 2, 2, 3, 2), (2, 1, 3, 2, 2), (1,))], name="conv_transpose3d"),
    Row("convolution",
        lambda lib, x, w, b: lib.convolution(x, w, b, (2, 1), (1, 0), (1, 1), False, (0, 0), 1),
        [((1, 2, 5, 4), (3, 2, 3, 2), (3,))], name="torch_convolution"),
    # second order: the input and weight gradients are themselves differentiated
    Row(("convolution", "convolution_backward_weight"),
        double_backward(lambda lib, x, w: F(lib).conv2d(x, w, stride=2, padding=1), 2),
        [((1, 2, 4, 3), (2, 2, 2, 2), (1, 2, 3, 2))],
        dtypes=FLOATS, name="conv2d_double_backward"),
    Row(("convolution", "convolution_backward_weight"),
        double_backward(lambda lib, x, w: F(lib).conv1d(x, w, padding=1, dilation=2,
                                                        groups=2), 2),
        [((2, 4, 5), (4, 2, 2), (2, 4, 5))], dtypes=FLOATS, name="conv1d_groups_double_backward"),
    Row(("convolution", "convolution_backward_weight"),
        double_backward(lambda lib, x, w: F(lib).conv_transpose1d(
            x, w, stride=2, padding=1, output_padding=1), 2),
        [((1, 2, 3), (2, 2, 3), (1, 2, 6))], dtypes=FLOATS,
        name="conv_transpose1d_double_backward"),
]
