"""MaxUnpool1d/2d/3d, LPPool1d/2d/3d, FeatureAlphaDropout and TripletMarginWithDistanceLoss
against PyTorch: values, input gradients, reprs, errors, and a compiled unpool."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import compare_module, npy, same_error, torch

RNG = np.random.default_rng(17)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


UNPOOL = [
    (1, (2, 3, 8), dict(kernel_size=2), None),
    (1, (3, 9), dict(kernel_size=3, stride=2, padding=1), None),
    (2, (2, 3, 6, 6), dict(kernel_size=2), None),
    (2, (2, 5, 7), dict(kernel_size=3, stride=2, padding=1), [5, 7]),
    (2, (1, 2, 5, 6), dict(kernel_size=2, stride=2), [1, 2, 5, 7]),
    (3, (1, 2, 4, 4, 6), dict(kernel_size=2), None),
    (3, (2, 5, 4, 6), dict(kernel_size=(3, 2, 2), stride=(2, 1, 2)), None),
]


@pytest.mark.parametrize("dims, shape, options, output_size", UNPOOL, ids=str)
def test_max_unpool_matches_pytorch(dims, shape, options, output_size):
    x = _x(*shape)

    def call(m, x):
        lib = torch if isinstance(m, torch.nn.Module) else gt
        pool = getattr(lib.nn.functional, f"max_pool{dims}d")
        out, idx = pool(x, **options, return_indices=True)
        return m(out, idx, output_size=output_size)

    tm, gm = compare_module(lambda lib: getattr(lib.nn, f"MaxUnpool{dims}d")(**options), [x],
                            call=call)
    assert repr(gm) == repr(tm)


def test_max_unpool_functional_and_errors():
    x, idx = _x(1, 1, 2, 2), np.array([[[[0, 3], [9, 15]]]])
    out = gt.nn.functional.max_unpool2d(gt.tensor(x), gt.tensor(idx), 2)
    expected = torch.nn.functional.max_unpool2d(torch.tensor(x), torch.tensor(idx), 2)
    np.testing.assert_array_equal(npy(out), npy(expected))
    same_error(lambda lib: lib.nn.functional.max_unpool2d(
        lib.zeros(1, 1, 2, 2), lib.full((1, 1, 2, 2), 99), 2))
    same_error(lambda lib: lib.nn.functional.max_unpool1d(
        lib.zeros(1, 1, 2), lib.full((1, 1, 2), 100), 2))
    same_error(lambda lib: lib.nn.functional.max_unpool3d(
        lib.zeros(1, 1, 2, 2, 2), lib.full((1, 1, 2, 2, 2), -1), 2))
    same_error(lambda lib: lib.nn.functional.max_unpool2d(
        lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 2, 2), 2))
    same_error(lambda lib: lib.nn.functional.max_unpool2d(
        lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 2, 3, dtype=lib.int64), 2))
    same_error(lambda lib: lib.nn.functional.max_unpool2d(
        lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 2, 2, dtype=lib.int64), 2, output_size=[9, 9]))
    same_error(lambda lib: lib.nn.functional.max_unpool2d(
        lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 2, 2, dtype=lib.int64), 2, output_size=[4]))


def test_compiled_max_unpool_equals_eager():
    pool, unpool = gt.nn.MaxPool2d(2, return_indices=True), gt.nn.MaxUnpool2d(2)

    def f(x):
        return unpool(*pool(x)) * 2

    step = gt.compile(f)
    for _ in range(2):
        x = gt.randn(2, 3, 4, 4)
        np.testing.assert_allclose(npy(step(x)), npy(f(x)))
    assert step.stats.compiles == 1


LP = [
    (1, (2, 3, 9), dict(norm_type=2, kernel_size=3)),
    (1, (3, 10), dict(norm_type=1.5, kernel_size=3, stride=2, ceil_mode=True)),
    (2, (2, 3, 6, 7), dict(norm_type=2, kernel_size=2)),
    (2, (2, 6, 7), dict(norm_type=3, kernel_size=(2, 3), stride=1)),
    (2, (1, 2, 5, 5), dict(norm_type=float("inf"), kernel_size=2)),
    (3, (1, 2, 4, 4, 6), dict(norm_type=2, kernel_size=2)),
    (3, (1, 2, 5, 4, 6), dict(norm_type=1, kernel_size=(3, 2, 2), stride=(1, 2, 2))),
]


@pytest.mark.parametrize("dims, shape, options", LP, ids=str)
def test_lp_pool_matches_pytorch(dims, shape, options):
    x = np.abs(_x(*shape)) + 0.1 if options["norm_type"] % 1 else _x(*shape)
    tm, gm = compare_module(lambda lib: getattr(lib.nn, f"LPPool{dims}d")(**options), [x],
                            rtol=1e-5, atol=1e-5)
    assert repr(gm) == repr(tm)
    out = getattr(gt.nn.functional, f"lp_pool{dims}d")(gt.tensor(x), **options)
    np.testing.assert_allclose(npy(out), npy(tm(torch.tensor(x))), rtol=1e-5, atol=1e-6)


def test_feature_alpha_dropout_module():
    x = _x(4, 6, 3, 3)
    tm = torch.nn.FeatureAlphaDropout(0.3)
    gm = gt.nn.FeatureAlphaDropout(0.3)
    assert repr(gm) == repr(tm)
    torch.manual_seed(4)
    gt.manual_seed(4)
    np.testing.assert_allclose(npy(gm(gt.tensor(x))), npy(tm(torch.tensor(x))),
                               rtol=1e-6, atol=1e-6)
    gm.eval()
    np.testing.assert_array_equal(npy(gm(gt.tensor(x))), x)
    same_error(lambda lib: lib.nn.FeatureAlphaDropout(1.5))


@pytest.mark.parametrize("options", [
    dict(), dict(margin=0.5, swap=True, reduction="sum"), dict(reduction="none"),
    dict(distance_function="cosine"), dict(distance_function="linf", swap=True)], ids=str)
def test_triplet_margin_with_distance_loss(options):
    options = dict(options)
    choice = options.pop("distance_function", None)

    def make(lib):
        if choice == "cosine":
            return lib.nn.TripletMarginWithDistanceLoss(
                distance_function=lambda a, b: 1.0 - lib.nn.functional.cosine_similarity(a, b),
                **options)
        if choice == "linf":
            return lib.nn.TripletMarginWithDistanceLoss(
                distance_function=lambda a, b: (a - b).abs().max(dim=1).values, **options)
        return lib.nn.TripletMarginWithDistanceLoss(**options)

    tm, gm = compare_module(make, [_x(5, 4), _x(5, 4), _x(5, 4)])
    assert repr(gm) == repr(tm)
    if choice is None:
        a, p, n = (_x(5, 4) for _ in range(3))
        got = gt.nn.functional.triplet_margin_with_distance_loss(
            gt.tensor(a), gt.tensor(p), gt.tensor(n), **options)
        want = torch.nn.functional.triplet_margin_with_distance_loss(
            torch.tensor(a), torch.tensor(p), torch.tensor(n), **options)
        np.testing.assert_allclose(npy(got), npy(want), rtol=1e-5, atol=1e-6)


def test_triplet_margin_with_distance_loss_errors():
    same_error(lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=0))
    same_error(lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(
        lib.zeros(2, 3), lib.zeros(2, 3), lib.zeros(3), reduction="mean"))
    same_error(lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(
        lib.zeros(2, 3), lib.zeros(2, 3), lib.zeros(2, 3), reduction="avg"))
