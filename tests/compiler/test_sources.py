"""Guards compare Python values strictly (`sources.strict_key`): a value ``==`` the traced
one but treated differently by ops (``-0.0`` for ``0.0``, ``(2.0,)`` for ``(2,)``) must
recompile, never reuse the graph specialised on the other."""

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.compiler.sources import strict_key

ZERO = 0.0
PAIR = (2,)
SEEN = [2, 2]


def divide_by_global(x):
    return x / ZERO


def scale_by_tuple_item(x):
    return x * PAIR[0]


def scale_by_list_sum(x):
    return x * sum(SEEN)


def test_strict_key_tells_equal_values_apart():
    assert strict_key(0.0) != strict_key(-0.0)
    assert strict_key((2,)) != strict_key((2.0,)) != strict_key((True,))
    assert strict_key(complex(0.0, -0.0)) != strict_key(0j)
    assert strict_key(np.float64(-0.0)) != strict_key(np.float64(0.0))
    assert strict_key(float("nan")) == strict_key(float("nan"))
    assert strict_key((1, "a", 2.5)) == strict_key((1, "a", 2.5))


@pytest.mark.parametrize("zero, negative_zero", [(0.0, -0.0),
                                                  (np.float64(0.0), np.float64(-0.0))])
def test_negative_zero_argument_recompiles(zero, negative_zero):
    fn = gt.compile(lambda x, k: x / k)
    x = gt.tensor([1.0, -2.0])
    assert fn(x, zero).tolist() == [float("inf"), float("-inf")]
    assert fn(x, negative_zero).tolist() == [float("-inf"), float("inf")]


def test_negative_zero_global_recompiles():
    global ZERO
    fn = gt.compile(divide_by_global)
    x = gt.tensor([1.0])
    ZERO = 0.0
    assert fn(x).tolist() == [float("inf")]
    ZERO = -0.0
    assert fn(x).tolist() == [float("-inf")]


def test_tuple_item_type_change_recompiles():
    global PAIR
    fn = gt.compile(scale_by_tuple_item)
    x = gt.arange(3)
    PAIR = (2,)
    assert fn(x).dtype == gt.int64
    PAIR = (2.0,)
    assert fn(x).dtype == gt.float32


def test_list_item_type_change_recompiles():
    fn = gt.compile(scale_by_list_sum)
    x = gt.arange(3)
    SEEN[:] = [2, 2]
    assert fn(x).dtype == gt.int64
    SEEN[0] = 2.0
    assert fn(x).dtype == gt.float32
