"""Op-table rows: batch norm (training statistics, eval with running statistics, every
rank), layer norm, group norm, instance norm, rms norm, and double backward through the
normalization vjps."""

from __future__ import annotations

import numpy as np

from .harness import Row
from .table_conv import F, double_backward

FLOATS = ("float32", "float64")


def _bn_train(lib, x, *params):
    """F.batch_norm in training mode; returns the output and the updated running stats."""
    c = x.shape[1]
    rm = lib.zeros(c, dtype=x.dtype) + 0.5
    rv = lib.ones(c, dtype=x.dtype) * 2
    w, b = (params + (None, None))[:2]
    out = F(lib).batch_norm(x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)
    return out, rm, rv


def _bn_eval(lib, x, rm, rv, w, b):
    return F(lib).batch_norm(x, rm, rv, w, b, training=False, eps=1e-4)


def _positive_var(rng, case, dtype):
    """x, running_mean, running_var (> 0), weight, bias."""
    x, rm, rv, w, b = (rng.uniform(-2, 2, s).astype(dtype) for s in case)
    return [x, rm, np.abs(rv) + 0.5, w, b]


def _in_train(lib, x, w, b):
    c = x.shape[1]
    rm, rv = lib.zeros(c, dtype=x.dtype), lib.ones(c, dtype=x.dtype)
    out = F(lib).instance_norm(x, rm, rv, w, b, use_input_stats=True, momentum=0.2)
    return out, rm, rv


ROWS = [
    # batch norm with batch statistics (the running stats are outputs too)
    Row("native_batch_norm", _bn_train, [((4, 3),), ((2, 3, 5), (3,), (3,)),
                                         ((2, 2, 3, 3), (2,), (2,)), ((3, 2, 2, 2, 2),)],
        dtypes=FLOATS, name="batch_norm_train"),
    Row("native_batch_norm", _bn_train, [((3, 2), (2,), (2,)), ((2, 2, 4), (2,), (2,))],
        dtypes=FLOATS, name="batch_norm_train_tiny"),
    Row("native_batch_norm", lambda lib, x, w: F(lib).batch_norm(x, None, None, w, None, True),
        [((5, 4, 3), (4,))], name="batch_norm_no_running_stats"),
    Row("native_batch_norm",
        lambda lib, x, w, b: lib.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [((2, 3, 2, 2), (3,), (3,))], name="torch_batch_norm"),
    Row("native_batch_norm",
        lambda lib, x: lib.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5),
        [((3, 2, 4),)], name="torch_native_batch_norm"),
    Row("native_batch_norm", _bn_eval, [((4, 3), (3,), (3,), (3,), (3,)),
                                        ((2, 3, 4, 2), (3,), (3,), (3,), (3,))],
        dtypes=FLOATS, make=_positive_var, grad_inputs=(0, 3, 4), name="batch_norm_eval"),
    Row("native_batch_norm", lambda lib, x: F(lib).batch_norm(x, None, None, training=True),
        [((0, 3),)], name="batch_norm_empty_batch"),
    Row("native_batch_norm",
        double_backward(lambda lib, x, w: F(lib).batch_norm(x, None, None, w, None, True), 2),
        [((3, 2, 2), (2,), (3, 2, 2))], dtypes=FLOATS, name="batch_norm_double_backward"),
    # layer norm
    Row("native_layer_norm", lambda lib, x, w, b: F(lib).layer_norm(x, (4,), w, b),
        [((3, 4), (4,), (4,)), ((2, 3, 4), (4,), (4,)), ((4,), (4,), (4,))], dtypes=FLOATS,
        name="layer_norm"),
    Row("native_layer_norm", lambda lib, x, w: F(lib).layer_norm(x, x.shape[1:], w, eps=1e-3),
        [((2, 3, 4), (3, 4)), ((1, 2, 3), (2, 3))], dtypes=FLOATS, name="layer_norm_2d_shape"),
    Row("native_layer_norm", lambda lib, x: F(lib).layer_norm(x, [5]),
        [((2, 5),), ((0, 5),)], name="layer_norm_no_affine"),
    Row("native_layer_norm", lambda lib, x, w, b: lib.native_layer_norm(x, (3,), w, b, 1e-5),
        [((2, 2, 3), (3,), (3,))], name="torch_native_layer_norm"),
    Row("native_layer_norm",
        double_backward(lambda lib, x, w: F(lib).layer_norm(x, (4,), w), 2),
        [((3, 4), (4,), (3, 4))], dtypes=FLOATS, name="layer_norm_double_backward"),
    # group norm
    Row("native_group_norm", lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b),
        [((2, 4, 3), (4,), (4,)), ((2, 6, 2, 3), (6,), (6,)), ((3, 4), (4,), (4,))],
        dtypes=FLOATS, name="group_norm"),
    Row("native_group_norm", lambda lib, x: F(lib).group_norm(x, 3, eps=1e-2),
        [((1, 3, 4),), ((2, 6, 2, 2, 2),)], dtypes=FLOATS, name="group_norm_no_affine"),
    Row("native_group_norm", lambda lib, x, w: F(lib).group_norm(x, 1, w),
        [((2, 3, 5), (3,))], name="group_norm_one_group"),
    Row("native_group_norm", lambda lib, x: F(lib).group_norm(x, 2), [((0, 4, 3),)],
        grad=False, name="group_norm_empty_batch"),
    Row("native_group_norm",
        double_backward(lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b), 3),
        [((2, 4, 3), (4,), (4,), (2, 4, 3))], dtypes=FLOATS, grad_inputs=(0, 1, 3),
        name="group_norm_double_backward"),  # the first-order grads do not depend on bias
    # instance norm (batch norm of (1, N*C, *)) and rms norm (a decomposition)
    Row("native_batch_norm", _in_train, [((2, 3, 4), (3,), (3,)), ((2, 2, 3, 3), (2,), (2,))],
        dtypes=FLOATS, name="instance_norm"),
    Row("native_batch_norm", lambda lib, x: F(lib).instance_norm(x), [((1, 2, 5),)],
        name="instance_norm_no_stats"),
    Row("native_batch_norm",
        lambda lib, x, rm, rv, w, b: F(lib).instance_norm(x, rm, rv, w, b,
                                                          use_input_stats=False),
        [((2, 3, 4), (3,), (3,), (3,), (3,))], make=_positive_var, grad_inputs=(0, 3, 4),
        name="instance_norm_eval"),
    Row("mul", lambda lib, x, w: F(lib).rms_norm(x, (4,), w), [((3, 4), (4,))], dtypes=FLOATS,
        name="rms_norm"),
    Row("mul", lambda lib, x: F(lib).rms_norm(x, (2, 3), eps=1e-3), [((2, 2, 3),)],
        name="rms_norm_eps"),
]
