"""Differential-test helpers: run one function with `lib=torch` and `lib=graphtorch`.

`same(fn)` calls `fn(torch)` and `fn(graphtorch)` and requires equal results: tensors by
dtype, shape, values and requires_grad; dtypes, sizes and devices by their printed form;
exceptions by their (builtin) type, plus an optional message pattern for both.
"""

from __future__ import annotations

import builtins
import re

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

LIBS = (torch, gt)


class Arr:
    """A tensor reduced to plain data for comparison."""

    def __init__(self, t):
        self.dtype = str(t.dtype)
        self.shape = tuple(t.shape)
        self.requires_grad = bool(t.requires_grad)
        t = t.detach()
        if hasattr(t, "resolve_conj"):
            t = t.resolve_conj()
        self.values = np.array(t.numpy())

    def __repr__(self):
        return f"Arr({self.dtype}, {self.shape}, rg={self.requires_grad}, {self.values!r})"


def plain(x):
    """Tensors -> Arr, dtypes/devices/sizes -> strings/tuples, containers recursively."""
    if isinstance(x, (torch.Tensor, gt.Tensor)):
        return Arr(x)
    if isinstance(x, (torch.dtype, gt.dtype, torch.device, gt.device)):
        return str(x)
    if isinstance(x, (torch.Size, gt.Size)):
        return ("Size", tuple(x))
    if isinstance(x, (list, tuple)):
        return type(x)(plain(i) for i in x) if type(x) in (list, tuple) else \
            tuple(plain(i) for i in x)
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    return x


def builtin_type(exc: BaseException) -> type:
    """The first builtin exception class in the MRO (torch subclasses some of them)."""
    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls
    return type(exc)


def outcome(fn, lib):
    try:
        return ("ok", plain(fn(lib)))
    except Exception as exc:  # noqa: BLE001 - compared below
        return ("raise", exc)


def assert_plain_equal(ours, theirs, atol=0.0, rtol=0.0, path="result"):
    if isinstance(theirs, Arr):
        assert isinstance(ours, Arr), f"{path}: {ours!r} is not a tensor (torch: {theirs!r})"
        assert ours.dtype == theirs.dtype, f"{path}: dtype {ours.dtype} != torch {theirs.dtype}"
        assert ours.shape == theirs.shape, f"{path}: shape {ours.shape} != torch {theirs.shape}"
        assert ours.requires_grad == theirs.requires_grad, \
            f"{path}: requires_grad {ours.requires_grad} != torch {theirs.requires_grad}"
        if ours.values.dtype.kind in "fc" and (atol or rtol):
            np.testing.assert_allclose(ours.values, theirs.values, atol=atol, rtol=rtol,
                                       equal_nan=True, err_msg=path)
        else:
            np.testing.assert_array_equal(ours.values, theirs.values, err_msg=path)
        return
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), \
            f"{path}: {ours!r} != torch {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_plain_equal(a, b, atol, rtol, f"{path}[{i}]")
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), \
            f"{path}: {ours!r} != torch {theirs!r}"
        for k in theirs:
            assert_plain_equal(ours[k], theirs[k], atol, rtol, f"{path}[{k!r}]")
        return
    if isinstance(theirs, float) and isinstance(ours, float) and (atol or rtol):
        assert abs(ours - theirs) <= atol + rtol * abs(theirs), f"{path}: {ours} != {theirs}"
        return
    assert type(ours) is type(theirs) and ours == theirs, \
        f"{path}: {ours!r} ({type(ours).__name__}) != torch {theirs!r} ({type(theirs).__name__})"


def same(fn, *, atol=0.0, rtol=0.0, match=None):
    """Run `fn(lib)` on torch and graphtorch; same result or same exception type.

    `match` (a regex) must then be found in both exception messages.
    Returns graphtorch's result (plain form) for further checks.
    """
    theirs = outcome(fn, torch)
    ours = outcome(fn, gt)
    if theirs[0] == "raise":
        expected = builtin_type(theirs[1])
        assert ours[0] == "raise", f"torch raised {expected.__name__}: {theirs[1]}; " \
                                   f"graphtorch returned {ours[1]!r}"
        assert isinstance(ours[1], expected), \
            f"graphtorch raised {type(ours[1]).__name__}: {ours[1]} ; torch raised " \
            f"{expected.__name__}: {theirs[1]}"
        if match is not None:
            assert re.search(match, str(theirs[1])), f"pattern not in torch's message: {theirs[1]}"
            assert re.search(match, str(ours[1])), \
                f"graphtorch's message {str(ours[1])!r} lacks {match!r} (torch: {theirs[1]})"
        return ours[1]
    if ours[0] == "raise":
        raise AssertionError(f"graphtorch raised {type(ours[1]).__name__}: {ours[1]}; torch "
                             f"returned {theirs[1]!r}") from ours[1]
    assert match is None, "match= given but torch did not raise"
    assert_plain_equal(ours[1], theirs[1], atol, rtol)
    return ours[1]


def raises_like_torch(fn, match=None):
    """`fn(lib)` must raise on both libraries, with the same exception type."""
    theirs = outcome(fn, torch)
    assert theirs[0] == "raise", f"torch did not raise: {theirs[1]!r}"
    return same(fn, match=match)
