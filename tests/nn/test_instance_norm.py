"""InstanceNorm1d/2d/3d against PyTorch: defaults and repr, values and float64 gradients in
training and eval mode, running statistics over several steps, unbatched inputs, errors
and warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import build, compare_module, same_error, same_state, torch

RNG = np.random.default_rng(0)


def _x(*shape, dtype="float64"):
    return (RNG.standard_normal(shape) * 2.0 + 0.5).astype(dtype)


def _affine(lib, name, options):
    """The module with non-trivial affine parameters (float64 where asked)."""
    m = getattr(lib.nn, name)(3, **options)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(np.linspace(0.5, 1.5, p.numel()).reshape(tuple(p.shape))))
    return m


NORMS = [("InstanceNorm1d", (4, 3, 5)), ("InstanceNorm1d", (3, 6)),
         ("InstanceNorm2d", (2, 3, 4, 5)), ("InstanceNorm2d", (3, 2, 4)),
         ("InstanceNorm3d", (2, 3, 2, 3, 2)), ("InstanceNorm3d", (3, 2, 2, 3))]
OPTIONS = [{}, {"affine": True}, {"affine": True, "bias": False},
           {"track_running_stats": True}, {"track_running_stats": True, "momentum": 0.3},
           {"track_running_stats": True, "momentum": None, "affine": True}, {"eps": 1e-2}]


def test_defaults_and_repr():
    for name in ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"):
        for options in OPTIONS:
            tm, gm = build(lambda lib, name=name, options=options:
                           getattr(lib.nn, name)(3, **options))
            assert repr(gm) == repr(tm)
            assert (gm.affine, gm.track_running_stats, gm.eps, gm.momentum) == \
                (tm.affine, tm.track_running_stats, tm.eps, tm.momentum)
            assert list(gm.state_dict()) == list(tm.state_dict())
            same_state(gm, tm)


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("name,shape", NORMS, ids=str)
def test_train_steps_then_eval(name, shape, options):
    tm, gm = build(lambda lib: _affine(lib, name, dict(options, dtype=lib.float64)))
    pair = (tm, gm)
    for step in range(3):   # running statistics (where tracked) after several steps
        compare_module(lambda lib: pair[0] if lib is torch else pair[1], [_x(*shape) + step],
                       rtol=1e-10, atol=1e-10, exact_init=None)
        tm.zero_grad()
        gm.zero_grad()
    same_state(gm, tm, exact=False)
    if options.get("track_running_stats"):
        # PyTorch's instance norm leaves num_batches_tracked alone (and momentum=None
        # passes momentum 0: the running statistics stay put)
        assert int(gm.num_batches_tracked) == int(tm.num_batches_tracked) == 0
        moved = options.get("momentum", 0.1) is not None
        assert bool((tm.running_var != 1).any()) == moved
    # eval: the running statistics where tracked, else the input's own
    compare_module(lambda lib: pair[0] if lib is torch else pair[1], [_x(*shape)],
                   train=False, rtol=1e-10, atol=1e-10, exact_init=None)


def test_float32_forward():
    compare_module(lambda lib: lib.nn.InstanceNorm2d(3, affine=True), [_x(2, 3, 4, 4, dtype=
                   "float32")], rtol=1e-5, atol=1e-5)


def test_errors():
    same_error(lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5)))
    same_error(lambda lib: lib.nn.InstanceNorm2d(3)(lib.ones(2, 3)))
    same_error(lambda lib: lib.nn.InstanceNorm3d(3)(lib.ones(2, 3, 4)))
    same_error(lambda lib: lib.nn.InstanceNorm1d(3, affine=True)(lib.ones(2, 4, 5)))
    same_error(lambda lib: lib.nn.InstanceNorm2d(4, affine=True)(lib.ones(3, 5, 5)))
    same_error(lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 1)))  # one element


def test_channel_mismatch_without_affine_warns_like_pytorch():
    messages = []
    for lib in (torch, gt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.InstanceNorm1d(3)(lib.ones(2, 4, 5))
        messages.append([str(w.message) for w in caught])
    assert messages[1] == messages[0] and len(messages[0]) == 1


def test_state_dict_round_trip_and_old_checkpoint_running_stats():
    tm, gm = build(lambda lib: lib.nn.InstanceNorm2d(3, track_running_stats=True))
    gm.load_state_dict({k: gt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    # a pre-0.4 checkpoint (no version) with stats for a module that tracks none
    for lib in (torch, gt):
        m = lib.nn.InstanceNorm2d(3)
        state = {"running_mean": lib.zeros(3), "running_var": lib.ones(3)}
        with pytest.raises(RuntimeError, match="Unexpected running stats buffer"):
            m.load_state_dict(state)
