"""`gt.multinomial` and the Exp/Bernoulli streams under it: seeded draws equal PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch


def _probs(rng, rows, cats, dtype, zeros=0.2):
    p = rng.random((rows, cats)) ** 3
    p[rng.random((rows, cats)) < zeros] = 0
    p[:, 0] += 1e-3  # every row keeps some mass
    return p.astype(dtype)


@pytest.mark.parametrize("replacement", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("one_d", [False, True], ids=["2d", "1d"])
def test_seeded_draws_equal_torch(replacement, dtype, one_d):
    rng = np.random.default_rng(int(replacement) * 4 + int(one_d) * 2 + (dtype == np.float64))
    for trial in range(25):
        rows, cats = int(rng.integers(1, 5)), int(rng.integers(1, 60))
        p = _probs(rng, rows, cats, dtype)
        if one_d:
            p = p[0]
        nonzero = int((p > 0).sum(-1).min())
        n = int(rng.integers(1, 80)) if replacement else int(rng.integers(1, nonzero + 1))
        seed = int(rng.integers(0, 2 ** 31))

        def draw(lib):
            # the draws after multinomial show that it consumed the stream as PyTorch does
            return lib.multinomial(lib.from_numpy(p.copy()), n, replacement), lib.rand(3)

        same(lambda lib: (lib.manual_seed(seed), draw(lib))[1])


def test_generator_argument_and_method():
    def fn(lib):
        g = lib.Generator().manual_seed(11)
        p = lib.tensor([[0.1, 0.0, 0.9, 0.5], [1.0, 1.0, 1.0, 1.0]])
        return (lib.multinomial(p, 6, True, generator=g), p.multinomial(3, generator=g),
                lib.multinomial(p[0], 1, generator=g))
    same(fn)


def test_float16_probabilities():
    def fn(lib):
        lib.manual_seed(3)
        p = lib.tensor([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]], dtype=lib.float16)
        return lib.multinomial(p, 50, True), lib.multinomial(p, 1)
    same(fn)


def test_out_and_empty_batch():
    same(lambda lib: lib.multinomial(lib.ones(0, 3), 2))

    def with_out(lib):
        lib.manual_seed(0)
        out = lib.empty(4, dtype=lib.int64)
        r = lib.multinomial(lib.tensor([1.0, 2.0, 3.0]), 4, True, out=out)
        return r, out
    same(with_out)


@pytest.mark.parametrize("case", [
    lambda lib: lib.multinomial(lib.tensor([0.2, 0.8]), 3),
    lambda lib: lib.multinomial(lib.tensor([[0.2, 0.8]]), 0),
    lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([float("nan"), 1.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([-1.0, 1.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 2, True),
    lambda lib: lib.multinomial(lib.tensor([1.0, -1.0]), 2, True),
    lambda lib: lib.multinomial(lib.tensor([float("inf"), 1.0]), 2, True),
    lambda lib: lib.multinomial(lib.tensor([[0.0, 0.0], [1.0, -1.0]]), 2, True),
    lambda lib: lib.multinomial(lib.tensor(1.0), 1),
    lambda lib: lib.multinomial(lib.zeros(2, 2, 2), 1),
    lambda lib: lib.multinomial([0.5, 0.5], 1),
], ids=lambda f: "")
def test_errors_as_torch(case):
    raises_like_torch(case)


def test_error_messages():
    for fn, text in [
        (lambda lib: lib.multinomial(lib.tensor([0.2, 0.8]), 3), "without replacement"),
        (lambda lib: lib.multinomial(lib.tensor([1, 2]), 1), "floating-point dtypes"),
        (lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1), "sum of probabilities"),
        (lambda lib: lib.multinomial(lib.tensor([-1.0, 1.0]), 1), "element < 0"),
        (lambda lib: lib.multinomial(lib.tensor([1.0, -1.0]), 2, True), "entry < 0"),
        (lambda lib: lib.multinomial(lib.tensor([float("inf"), 1.0]), 2, True),
         "infinity or NaN"),
    ]:
        same(fn, match=text)


def test_sampling_frequencies():
    gt.manual_seed(0)
    p = gt.tensor([0.1, 0.2, 0.7])
    counts = np.bincount(gt.multinomial(p, 20000, True).numpy(), minlength=3) / 20000
    np.testing.assert_allclose(counts, [0.1, 0.2, 0.7], atol=0.02)
    first = np.bincount(gt.multinomial(p.expand(20000, 3), 1).numpy().ravel(),
                        minlength=3) / 20000
    np.testing.assert_allclose(first, [0.1, 0.2, 0.7], atol=0.02)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exponential_stream(dtype):
    def fn(lib):
        lib.manual_seed(7)
        d = getattr(lib, dtype)
        return lib.empty(300, dtype=d).exponential_(), lib.empty(40, dtype=d).exponential_(2.5)
    same(fn)
    raises_like_torch(lambda lib: lib.empty(3).exponential_(0.0), match="lambda > 0")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_bernoulli_tensor_probabilities(dtype):
    """A float32/float16 probability tensor compares 24-bit uniforms, float64 53-bit ones."""
    def fn(lib):
        lib.manual_seed(5)
        p = lib.rand(500).to(getattr(lib, dtype))
        return lib.bernoulli(p), lib.bernoulli(p, 0.3), lib.rand(2)
    same(fn)
    torch.manual_seed(0)  # keep the oracle's global stream independent of test order


def test_draws_inside_a_trace_are_graph_ops_equal_to_eager():
    for fn in (lambda t: gt.multinomial(t.softmax(-1), 2),
               lambda t: gt.normal(t, t.exp())):
        traced = gt.trace(fn, gt.zeros(3))
        assert {n.op.name for n in traced.graph.op_nodes} & {"multinomial", "random_draw"}
        gt.manual_seed(4)
        want = fn(gt.zeros(3))
        gt.manual_seed(4)
        np.testing.assert_array_equal(traced(gt.zeros(3)).numpy(), want.numpy())

