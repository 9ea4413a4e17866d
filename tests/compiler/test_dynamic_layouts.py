"""Results whose layout depends on dynamic sizes (permuted views, results computed from
them) come back laid out as eager's at every size: `ir.layout_hints` learns their memory
order at the trace-time sizes, `compiler.outputs.DimOrder` lays them out per call, and
`contiguous()` / `is_contiguous()` answer from that order instead of guessing."""

from __future__ import annotations

import random

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.compiler.outputs import UNKNOWN_LAYOUT, DimOrder, _dense_order


def _check_like_eager(fn, sizes, make):
    compiled = gt.compile(fn)
    for n in sizes:
        x = make(n)
        got, want = compiled(x), fn(x)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want):
            if not isinstance(w, gt.Tensor):
                assert g == w
                continue
            assert g.shape == w.shape
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-6)
            wide = [d for d in range(w.ndim) if w.shape[d] > 1]
            assert [g.stride(d) for d in wide] == [w.stride(d) for d in wide], (n, fn)
            assert g.is_contiguous() == w.is_contiguous()
            # a result that is a new tensor in eager code shares no memory with the input
            assert (g._base is None) == (w._base is None)


def test_contiguous_of_a_permuted_view_is_a_contiguous_copy():
    """It was the transposed input itself (a view, not contiguous) once sizes went dynamic:
    `contiguous()` read the untracked layout as contiguous."""
    _check_like_eager(lambda x: x.t().contiguous(), (3, 5, 6, 9), lambda n: gt.randn(n, 4))
    compiled = gt.compile(lambda x: x.t().contiguous())
    for n in (3, 5, 6):
        x = gt.randn(n, 4)
        out = compiled(x)
        out.view(-1)  # eager's result is contiguous: view works
        out[0, 0] = 100.0
        assert x[0, 0].item() != 100.0  # a copy, as eager's


def test_is_contiguous_and_reshape_of_permuted_views_stay_compiled():
    fn = lambda x: (x.t().is_contiguous(), (x.t() * 1).contiguous().view(-1))  # noqa: E731
    compiled = gt.compile(fn)
    for n in (3, 5, 6, 7):
        flag, flat = compiled(gt.randn(n, 4))
        assert flag is False and flat.shape == (4 * n,)
    assert compiled.stats.graph_breaks == []  # the dynamic graph runs, not eager code


def test_stride_of_a_permuted_view_with_dynamic_sizes_still_breaks():
    """The order is known at the trace-time sizes; the strides' values are not."""
    compiled = gt.compile(lambda x: x.t().stride())
    for n in (3, 5, 6):
        x = gt.randn(n, 4)
        assert compiled(x) == x.t().stride()
    assert compiled.stats.graph_breaks


OPS = [
    lambda t: t * 2,
    lambda t: t.exp(),
    lambda t: t + t,
    lambda t: t.contiguous(),
    lambda t: t.clone(),
    lambda t: t.sum(-1, keepdim=True) + t,
    lambda t: t.cumsum(0),
    lambda t: t.to(gt.float64),
    lambda t: gt.where(t > 0, t, 0.5 * t),
    lambda t: t.softmax(-1),
]
VIEWS = [
    lambda t: t.transpose(0, 1),
    lambda t: t.permute(2, 0, 1),
    lambda t: t.permute(1, 2, 0),
    lambda t: t,
    lambda t: t.transpose(1, 2),
]


@pytest.mark.parametrize("seed", range(40))
def test_random_chains_of_views_and_ops_match_eager_layouts(seed):
    """Random chains of permutations and layout-keeping ops on an input whose first dim
    changes between calls (so it goes dynamic): every result's strides (over dims of more
    than one element), contiguity and aliasing as eager's."""
    rng = random.Random(seed)
    chain = [(rng.choice(VIEWS), rng.choice(OPS)) for _ in range(rng.randint(1, 3))]
    keep = rng.sample(range(len(chain)), rng.randint(1, len(chain)))

    def fn(x):
        outs, t = [], x
        for k, (view, op) in enumerate(chain):
            t = op(view(t))
            if k in keep:
                outs.append(t)
        return tuple(outs)

    sizes = [rng.randint(2, 4)]
    while len(sizes) < 4:
        n = rng.randint(2, 9)
        if n != sizes[-1]:
            sizes.append(n)
    _check_like_eager(fn, sizes, lambda n: gt.randn(n, 3, 5))


def test_dense_order_reads_the_memory_order():
    assert _dense_order((4, 5), (1, 4)) == DimOrder([1, 0])
    assert _dense_order((2, 3, 4), (12, 4, 1)) == DimOrder([0, 1, 2])
    assert _dense_order((2, 3, 4), (1, 8, 2)) == DimOrder([1, 2, 0])
    assert _dense_order((4, 5), (0, 1)) is UNKNOWN_LAYOUT  # expanded: not dense
    assert _dense_order((4, 5), (10, 1)) is UNKNOWN_LAYOUT  # gaps
    assert _dense_order((4, 5), None) is UNKNOWN_LAYOUT
    assert DimOrder([1, 0]).strides((4, 7), 4) == (4, 16)
