"""`view`/`reshape` of permuted views traced with dynamic sizes decide view-or-copy as
eager does (graphtorch/ir/view_hints.py)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


def _shuffle(x):
    return gt.nn.functional.pixel_shuffle(x * 2, 3)


def test_reshape_of_a_permuted_view_copies_with_dynamic_sizes():
    compiled = gt.compile(_shuffle)
    for batch in (4, 4, 8, 8, 5):  # the second size compiles a dynamic graph
        x = gt.randn(batch, 9, 4, 4)
        np.testing.assert_allclose(compiled(x).numpy(), _shuffle(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda x: (x.transpose(1, 2) * 2).reshape(x.shape[0], -1),   # computed from a permuted view
    lambda x: gt.cat(x.transpose(0, 1).chunk(2, 0), 2).reshape(-1),
    lambda x: x.transpose(1, 2).reshape(x.shape[0], -1),
], ids=["elementwise", "cat", "view"])
def test_reshapes_of_untracked_layouts_match_eager_and_stay_dynamic(fn):
    compiled = gt.compile(fn)
    for batch in (4, 5, 6, 3):
        x = gt.randn(batch, 4, 6)
        got, want = compiled(x), fn(x)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
        assert (got._base is None) == (want._base is None)
    assert compiled.compile_count == 2  # the first size, then one dynamic graph


def test_view_of_a_permuted_view_raises_eagers_error_with_dynamic_sizes():
    def f(x):
        return (x * 2).permute(0, 2, 1).view(x.shape[0], -1)

    compiled = gt.compile(f)
    for batch in (3, 5):
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            compiled(gt.randn(batch, 2, 4))


def test_reshape_that_can_view_still_aliases_its_argument_with_dynamic_sizes():
    def f(x):
        return x.transpose(0, 1).reshape(2, x.shape[0], 4)

    compiled = gt.compile(f)
    for batch in (3, 5):
        x = gt.randn(batch, 2, 4)
        y = compiled(x)
        np.testing.assert_array_equal(y.numpy(), f(x).numpy())
        y[0, 0, 0] = 100.0
        assert x[0, 0, 0].item() == 100.0
