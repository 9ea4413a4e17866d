"""Property test for the guard that leaves the strides of size-1 dims free (guards.py): an
argument of under four dims with at most one dim longer than 1, C-contiguous, passed with a
new size-1 stride at every call (a slice of a longer base), through random programs. Every
call returns eager's values, strides and contiguity; programs that read `stride()` keep the
exact guard."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt

SHAPES = [(1, 5), (5, 1), (1, 1, 5), (1, 5, 1), (5, 1, 1), (1, 1), (1,)]

STEPS = {
    "mul": lambda t: t * 2.0,
    "exp": lambda t: t.exp(),
    "sum_keep": lambda t: t.sum(-1, keepdim=True),
    "sum_first": lambda t: t.sum(0),
    "transpose": lambda t: t.transpose(0, -1),
    "flatten": lambda t: t.reshape(-1),
    "unsqueeze": lambda t: t.unsqueeze(0),
    "contiguous": lambda t: t.contiguous(),
    "cat": lambda t: gt.cat([t, t], dim=-1),
    "slice": lambda t: t[..., 1:],
    "add_clone": lambda t: t.clone().add_(1.0),
    "stride_read": lambda t: t * float(t.stride()[0] % 7 + 1),
    "contig_read": lambda t: t + (1.0 if t.is_contiguous() else 2.0),
}


def _argument(shape, outer: int, offset: int):
    """A C-contiguous `shape` tensor whose size-1 dims carry strides from a longer base."""
    n = max(shape)
    base = gt.arange(float(outer * (n + offset))).reshape(outer, n + offset)
    view = base[0:1, offset:offset + n]      # (1, n): the size-1 dim's stride is n + offset
    return view.reshape(shape) if view.shape != shape else view


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(SHAPES),
       steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4),
       offsets=st.lists(st.integers(0, 6), min_size=3, max_size=5))
def test_new_size_one_strides_every_call_match_eager(shape, steps, offsets):
    def program(x):
        outs = []
        for name in steps:
            x = STEPS[name](x)
            outs.append(x)
        return outs

    compiled = gt.compile(program)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a recompile limit warning is allowed, not wrong
        for offset in offsets:
            x = _argument(shape, 2, offset)
            try:
                want = program(x)
            except (IndexError, RuntimeError) as exc:  # a step that needs more dims
                with pytest.raises(type(exc)):
                    compiled(x)
                continue
            got = compiled(x)
            for w, g in zip(want, got):
                assert w.shape == g.shape and gt.equal(w, g)
                assert w.stride() == g.stride(), (steps, w.stride(), g.stride())
                assert w.is_contiguous() == g.is_contiguous()
