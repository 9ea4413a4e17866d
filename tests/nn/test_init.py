"""nn.init against PyTorch: after the same manual_seed every random initialiser gives
exactly PyTorch's values; the statistics match the formulas; errors and warnings match."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import NORMAL_BITWISE, RANDOM_RTOL, UNIFORM_BITWISE, npy, same_error, torch


def assert_same_draws(ours, theirs, what=""):
    """Bitwise equal once graphtorch.random matches PyTorch's fills exactly (see
    test_random_fills_bitwise); until then equal to float rounding."""
    if RANDOM_RTOL:
        np.testing.assert_allclose(ours, theirs, rtol=RANDOM_RTOL,
                                   atol=RANDOM_RTOL * max(1.0, float(np.abs(theirs).max(
                                       initial=0))), err_msg=what)
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=what)

SEEDED = [
    ("uniform_", (), {}), ("uniform_", (), {"a": -0.5, "b": 2.0}),
    ("normal_", (), {}), ("normal_", (), {"mean": 1.0, "std": 0.1}),
    ("trunc_normal_", (), {}), ("trunc_normal_", (), {"std": 0.02}),
    ("trunc_normal_", (), {"mean": 0.5, "std": 3.0, "a": -1.0, "b": 1.0}),   # rejection path
    ("trunc_normal_", (), {"mean": 0.0, "std": 1.0, "a": 0.5, "b": 0.9}),
    ("xavier_uniform_", (), {}), ("xavier_uniform_", (), {"gain": 2.0}),
    ("xavier_normal_", (), {}), ("xavier_normal_", (), {"gain": 0.5}),
    ("kaiming_uniform_", (), {}), ("kaiming_uniform_", (), {"a": math.sqrt(5)}),
    ("kaiming_uniform_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", (), {}), ("kaiming_normal_", (), {"mode": "FAN_OUT"}),
    ("kaiming_normal_", (), {"nonlinearity": "tanh"}),
    ("sparse_", (0.3,), {}), ("sparse_", (0.5,), {"std": 1.0}),
]
SHAPES = [(7, 5), (16, 3), (4, 3, 3, 2), (40, 30)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,args,kwargs", SEEDED, ids=lambda v: str(v))
def test_seeded_initialisers_equal_torch(name, args, kwargs, shape):
    if name == "sparse_" and len(shape) != 2:
        pytest.skip("sparse_ is 2-D only")
    results = []
    for lib in (torch, gt):
        lib.manual_seed(3)
        t = lib.empty(shape)
        out = getattr(lib.nn.init, name)(t, *args, **kwargs)
        assert out is t
        after = lib.rand(3)          # the generator advanced by the same amount
        results.append((npy(t), npy(after)))
    (tv, ta), (gv, ga) = results
    assert_same_draws(gv, tv)
    np.testing.assert_array_equal(ga, ta)


@pytest.mark.xfail(not (UNIFORM_BITWISE and NORMAL_BITWISE), strict=False,
                   reason="graphtorch/random.py: PyTorch computes uniform_(a, b) as "
                          "fma(u, b - a, a) (one rounding) and float32 normal fills of 16+ "
                          "elements with SLEEF's vectorised log/sin/cos; graphtorch rounds "
                          "twice and uses libm, so 1-4 ulp differences remain")
@pytest.mark.parametrize("fill", ["uniform", "normal"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_fills_bitwise(fill, dtype):
    results = []
    for lib in (torch, gt):
        lib.manual_seed(3)
        t = lib.empty(7, 5, dtype=getattr(lib, dtype))
        results.append(npy(t.uniform_(-0.7, 0.55) if fill == "uniform" else t.normal_(1, 2)))
    np.testing.assert_array_equal(results[1], results[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_seeded_with_generator_and_dtype(dtype):
    results = []
    for lib in (torch, gt):
        g = lib.Generator().manual_seed(11)
        t = lib.empty(20, 10, dtype=getattr(lib, dtype))
        lib.nn.init.kaiming_normal_(t, generator=g)
        u = lib.empty(5, 4, dtype=getattr(lib, dtype))
        lib.nn.init.trunc_normal_(u, std=0.02, generator=g)
        w = lib.empty(5, 4, dtype=getattr(lib, dtype))
        lib.nn.init.xavier_uniform_(w, generator=g)
        results.append((npy(t), npy(u), npy(w)))
    for g_arr, t_arr in zip(*results[::-1]):
        assert_same_draws(g_arr, t_arr)


def test_initialisers_do_not_record_grad():
    for name in ("uniform_", "normal_", "xavier_uniform_", "kaiming_normal_", "zeros_",
                 "ones_", "eye_", "orthogonal_", "trunc_normal_"):
        p = gt.nn.Parameter(gt.empty(4, 3))
        getattr(gt.nn.init, name)(p)
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
    p = gt.nn.Parameter(gt.empty(4, 3, 3))
    gt.nn.init.dirac_(p)
    assert p.is_leaf and p.grad_fn is None


def test_deterministic_fills_equal_torch():
    for name, shape, kwargs in [("constant_", (3, 2), {"val": 0.7}), ("ones_", (3,), {}),
                                ("zeros_", (2, 2), {}), ("eye_", (3, 5), {}),
                                ("eye_", (4, 2), {}), ("dirac_", (4, 2, 3), {}),
                                ("dirac_", (6, 3, 3, 3), {"groups": 2}),
                                ("dirac_", (2, 2, 3, 1, 2), {})]:
        t = torch.nn.init.__dict__[name](torch.full(shape, 9.0), **kwargs)
        g = gt.nn.init.__dict__[name](gt.full(shape, 9.0), **kwargs)
        np.testing.assert_array_equal(npy(g), npy(t), err_msg=name)


@pytest.mark.parametrize("shape", [(6, 6), (3, 7), (7, 3), (4, 2, 3)], ids=str)
@pytest.mark.parametrize("gain", [1, 2.5])
def test_orthogonal_matches_torch(shape, gain):
    torch.manual_seed(0)
    t = torch.nn.init.orthogonal_(torch.empty(shape), gain=gain)
    gt.manual_seed(0)
    g = gt.nn.init.orthogonal_(gt.empty(shape), gain=gain)
    np.testing.assert_allclose(npy(g), npy(t), rtol=1e-4, atol=1e-5)
    flat = npy(g).reshape(shape[0], -1)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-4)
    assert np.array_equal(npy(torch.rand(2)), npy(gt.rand(2)))


def test_statistics_follow_the_formulas():
    gt.manual_seed(0)
    big = (400, 300)
    fan_in, fan_out = 300, 400
    checks = [
        (lambda t: gt.nn.init.uniform_(t, -1, 3), 1.0, math.sqrt(16 / 12)),
        (lambda t: gt.nn.init.normal_(t, 2.0, 0.5), 2.0, 0.5),
        (lambda t: gt.nn.init.xavier_uniform_(t), 0.0, math.sqrt(2 / (fan_in + fan_out))),
        (lambda t: gt.nn.init.xavier_normal_(t, gain=3), 0.0,
         3 * math.sqrt(2 / (fan_in + fan_out))),
        (lambda t: gt.nn.init.kaiming_uniform_(t, nonlinearity="relu"), 0.0,
         math.sqrt(2 / fan_in)),
        (lambda t: gt.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), 0.0,
         math.sqrt(2 / fan_out)),
        (lambda t: gt.nn.init.trunc_normal_(t, std=0.02), 0.0, 0.02),
        (lambda t: gt.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04), 0.0, 0.02 * 0.8796),
    ]
    for fill, mean, std in checks:
        v = npy(fill(gt.empty(big)))
        assert abs(v.mean() - mean) < 5 * std / math.sqrt(v.size) + 1e-6
        assert abs(v.std() - std) / std < 0.02
    v = npy(gt.nn.init.trunc_normal_(gt.empty(big), mean=1.0, std=2.0, a=-0.5, b=1.5))
    assert v.min() >= -0.5 and v.max() <= 1.5
    v = npy(gt.nn.init.sparse_(gt.empty(10, 50), sparsity=0.3))
    assert ((v == 0).sum(0) >= 3).all()
    bound = math.sqrt(6 / (fan_in + fan_out))
    v = npy(gt.nn.init.xavier_uniform_(gt.empty(big)))
    assert v.min() >= -bound and v.max() <= bound


def test_calculate_gain_and_fans():
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                 ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu",)]:
        g, t = gt.nn.init.calculate_gain(*args), torch.nn.init.calculate_gain(*args)
        assert g == t and type(g) is type(t), args
    for shape in [(3, 4), (5, 2, 3, 3), (2, 7, 4)]:
        assert gt.nn.init._calculate_fan_in_and_fan_out(gt.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.init.calculate_gain("foo"),
    lambda lib: lib.nn.init.calculate_gain("leaky_relu", "x"),
    lambda lib: lib.nn.init.calculate_gain("leaky_relu", True),
    lambda lib: lib.nn.init.xavier_uniform_(lib.empty(3)),
    lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3, 2), mode="fan_avg"),
    lambda lib: lib.nn.init.eye_(lib.empty(3, 2, 1)),
    lambda lib: lib.nn.init.dirac_(lib.empty(3, 2)),
    lambda lib: lib.nn.init.dirac_(lib.empty(3, 2, 3), groups=2),
    lambda lib: lib.nn.init.orthogonal_(lib.empty(3)),
    lambda lib: lib.nn.init.sparse_(lib.empty(3, 2, 2), 0.1),
])
def test_errors_match_torch(call):
    same_error(call)


def test_warnings_match_torch():
    for lib in (torch, gt):
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            lib.nn.init.kaiming_uniform_(lib.empty(0, 3))
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            lib.nn.init.kaiming_normal_(lib.empty(3, 0))
        with pytest.warns(UserWarning, match="mean is more than 2 std from"):
            lib.nn.init.trunc_normal_(lib.empty(3), mean=10.0)
        with pytest.warns(FutureWarning, match="`nn.init.normal` is now deprecated in favor "
                                               "of `nn.init.normal_`."):
            lib.nn.init.normal(lib.empty(3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.nn.init.orthogonal_(lib.empty(0, 3))       # no-op, silent


def test_modules_are_initialised_like_torch():
    """Default initialisation of every parametrised layer, draw for draw."""
    ctors = ["nn.Linear(5, 3)", "nn.Linear(5, 3, bias=False)", "nn.Bilinear(2, 3, 4)",
             "nn.Conv2d(3, 4, 3)", "nn.Conv1d(4, 2, 5, groups=2)", "nn.Embedding(6, 3)",
             "nn.Embedding(6, 3, padding_idx=2)", "nn.LSTM(3, 4, 2, bidirectional=True)",
             "nn.GRU(3, 4)", "nn.RNN(3, 4, bias=False)", "nn.LSTMCell(3, 2)", "nn.GRUCell(3, 2)",
             "nn.RNNCell(3, 2)", "nn.BatchNorm2d(3)", "nn.LayerNorm(4)", "nn.GroupNorm(2, 4)",
             "nn.Linear(0, 3)"]
    for expr in ctors:
        states = []
        for lib in (torch, gt):
            lib.manual_seed(7)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = eval(expr, {"nn": lib.nn})
            states.append({k: npy(v) for k, v in m.state_dict().items()})
            states[-1]["__next__"] = npy(lib.rand(2))
        assert list(states[1]) == list(states[0]), expr
        for k in states[0]:
            assert_same_draws(states[1][k], states[0][k], f"{expr} {k}")
