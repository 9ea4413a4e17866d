"""The tutorial probes' shared harness (rounds 5-7): a program runs once with PyTorch
(cached, one thread), then with graphtorch eagerly or with `gt.compile` counted; results
are compared with round 4's `_compare` and no compiled function may overflow its variants."""

from __future__ import annotations

import functools

import pytest

import graphtorch as gt
from tests.autograd.diff import torch
from tests.examples.test_tutorial_probes_round4 import _compare


class CountingCompile:
    """`gt.compile` that remembers what it made, to check no variant cache overflowed."""

    def __init__(self, compile_):
        self.compile_ = compile_
        self.made = []

    def __call__(self, *args, **kwargs):
        compiled = self.compile_(*args, **kwargs)
        self.made.append(compiled)
        return compiled


def reference_of(probes: dict):
    """name -> the probe's PyTorch results, computed once."""
    @functools.lru_cache(maxsize=None)
    def reference(name):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny ops: PyTorch's thread pool only waits on a busy machine
        try:
            return probes[name](torch, None)
        finally:
            torch.set_num_threads(threads)
    return reference


def check_probe(probes: dict, reference, name: str, mode: str, monkeypatch, *,
                tolerances=None, compile_limits=None, xfail=None) -> None:
    """Run probe `name` with graphtorch in `mode` ("eager", "model" or "step") and compare
    it with `reference(name)`; at most ``compile_limits.get(name, 6)`` variants each."""
    if xfail and (name, mode) in xfail:
        pytest.xfail(xfail[name, mode])
    want = reference(name)
    counting = CountingCompile(gt.compile)
    monkeypatch.setattr(gt, "compile", counting)
    got = probes[name](gt, None if mode == "eager" else mode)
    errors = _compare(want, got, **(tolerances or {}).get(name, {}))
    assert not errors, "\n".join(errors[:10])
    assert mode != "eager" or not counting.made  # (hogwild compiles in its child process)
    for compiled in counting.made:  # train/eval and grad-mode flips reuse their variants
        assert compiled.compile_count <= (compile_limits or {}).get(name, 6), \
            (name, compiled.compile_count)
