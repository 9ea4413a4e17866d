"""Loss modules and functional losses against PyTorch: values, input (and target)
gradients, grad_fn names, error types/messages and warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import close, npy, same_error, torch

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def _run(make_loss, inputs, grad_positions=(0,), dtype="float32", check_grad_fn=True):
    """make_loss(lib) -> callable(*tensors); inputs: NumPy arrays (or None). Compares the
    loss value, grad_fn name and the gradients of `grad_positions`."""
    results = []
    for lib in (torch, gt):
        tensors = []
        for i, x in enumerate(inputs):
            if x is None:
                tensors.append(None)
                continue
            t = lib.tensor(x.copy())
            if i in grad_positions:
                t.requires_grad_(True)
            tensors.append(t)
        out = make_loss(lib)(*tensors)
        cot = np.random.default_rng(1).uniform(0.5, 1.5, size=tuple(out.shape))
        if grad_positions:
            (out * lib.tensor(cot.astype(npy(out).dtype))).sum().backward()
        grads = [npy(tensors[i].grad) if tensors[i].grad is not None else None
                 for i in grad_positions]
        results.append((out, out.grad_fn.name() if out.grad_fn is not None else None, grads))
    (t_out, t_fn, t_grads), (g_out, g_fn, g_grads) = results
    tol = 1e-5 if dtype == "float32" else 1e-10
    close(g_out, t_out, tol, tol, "loss")
    if check_grad_fn:
        assert g_fn == t_fn, f"grad_fn {g_fn} != torch {t_fn}"
    for i, (g, t) in enumerate(zip(g_grads, t_grads)):
        assert (g is None) == (t is None), f"grad {i}"
        if t is not None:
            np.testing.assert_allclose(g, t, rtol=tol * 10, atol=tol * 10, err_msg=f"grad {i}")


def _logits(*shape, dtype="float32"):
    return RNG.standard_normal(shape).astype(dtype)


def _targets(classes, *shape, ignore=None):
    t = RNG.integers(0, classes, size=shape).astype(np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[::3] = ignore
    return t


def _probs(*shape, dtype="float32"):
    x = RNG.uniform(0.05, 1, size=shape)
    return (x / x.sum(1 if len(shape) > 1 else 0, keepdims=True)).astype(dtype)


# --- cross entropy / nll -----------------------------------------------------------------

CE_CASES = [
    ("2d", (5, 4), (5,)),
    ("1d", (4,), ()),
    ("3d", (2, 4, 3), (2, 3)),
    ("4d", (2, 4, 3, 2), (2, 3, 2)),
    ("5d", (2, 4, 2, 2, 2), (2, 2, 2, 2)),
    ("empty", (0, 4), (0,)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, 2, -100])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("name,shape,tshape", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_class_indices(name, shape, tshape, smoothing, ignore, weighted,
                                     reduction):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = _logits(*shape)
    t = _targets(classes, *tshape, ignore=ignore)
    w = RNG.uniform(0.5, 2, size=classes).astype(np.float32) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore is not None:
        kwargs["ignore_index"] = ignore

    def make(lib):
        return lambda x, t, w: lib.nn.CrossEntropyLoss(weight=w, **kwargs)(x, t)
    _run(make, [x, t, w], check_grad_fn=name != "1d" or reduction != "none")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 4, 3), (0, 4)], ids=str)
def test_cross_entropy_probability_targets(shape, smoothing, weighted, reduction):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = _logits(*shape)
    p = _probs(*shape) if shape[0] else np.zeros(shape, np.float32)
    w = RNG.uniform(0.5, 2, size=classes).astype(np.float32) if weighted else None

    def make(lib):
        return lambda x, p, w: lib.nn.functional.cross_entropy(
            x, p, w, reduction=reduction, label_smoothing=smoothing)
    # the mean divides by a Python int: DivBackward1 in PyTorch, DivBackward0 here
    _run(make, [x, p, w], grad_positions=(0, 1), check_grad_fn=reduction != "mean")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,shape,tshape", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_nll_loss_module(name, shape, tshape, weighted, reduction):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = _logits(*shape)
    t = _targets(classes, *tshape, ignore=1)
    w = RNG.uniform(0.5, 2, size=classes).astype(np.float32) if weighted else None

    def make(lib):
        nn = lib.nn
        return lambda x, t, w: nn.NLLLoss(weight=w, ignore_index=1, reduction=reduction)(
            nn.LogSoftmax(dim=0 if x.dim() == 1 else 1)(x), t)
    _run(make, [x, t, w])


def test_nll_all_ignored_and_float64():
    x = _logits(3, 4, dtype="float64")
    for target in (np.array([-100, -100, -100]), np.array([1, 2, 0])):
        for reduction in REDUCTIONS:
            _run(lambda lib: lambda x, t: lib.nn.functional.cross_entropy(
                x, t, reduction=reduction), [x, target], dtype="float64")
    _run(lambda lib: lambda x, t: lib.nn.functional.nll_loss(x, t),
         [_logits(4), np.array(-100)])
    _run(lambda lib: lambda x, t: lib.nn.functional.cross_entropy(x, t, label_smoothing=0.2),
         [x, np.array([-100, -100, -100])], dtype="float64")


def test_cross_entropy_seed_note_training_step():
    """The seed note 003 loop: Linear + CrossEntropyLoss, one SGD-style update."""
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    target = np.array([0, 1, 1])
    results = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        model = lib.nn.Linear(4, 2)
        loss = lib.nn.CrossEntropyLoss()(model(lib.tensor(x)), lib.tensor(target))
        loss.backward()
        results.append((npy(loss), npy(model.weight.grad), npy(model.bias.grad),
                        f"{loss.item():.5}"))
    for g, t in zip(results[1][:3], results[0][:3]):
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-6)
    assert results[1][3] == results[0][3]


# --- binary cross entropy ------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 4), (3, 1)], ids=str)
def test_bce_loss(weight_shape, reduction):
    p = RNG.uniform(0.02, 0.98, size=(3, 4)).astype(np.float32)
    y = RNG.uniform(0, 1, size=(3, 4)).astype(np.float32)
    w = RNG.uniform(0.5, 2, size=weight_shape).astype(np.float32) if weight_shape else None
    _run(lambda lib: lambda p, y, w: lib.nn.BCELoss(weight=w, reduction=reduction)(p, y),
         [p, y, w], grad_positions=(0, 1))


def test_bce_clamps_logs_at_minus_100():
    p = np.array([0.0, 1.0, 0.5, 1e-30], np.float32)
    y = np.array([1.0, 0.0, 1.0, 1.0], np.float32)
    _run(lambda lib: lambda p, y: lib.nn.functional.binary_cross_entropy(p, y, reduction="none"),
         [p, y], grad_positions=())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 4)], ids=str)
@pytest.mark.parametrize("pos_weight_shape", [None, (4,), (3, 4)], ids=str)
def test_bce_with_logits_loss(pos_weight_shape, weight_shape, reduction):
    x = (RNG.standard_normal((3, 4)) * 4).astype(np.float32)
    y = RNG.uniform(0, 1, size=(3, 4)).astype(np.float32)
    w = RNG.uniform(0.5, 2, size=weight_shape).astype(np.float32) if weight_shape else None
    pw = RNG.uniform(0.5, 3, size=pos_weight_shape).astype(np.float32) \
        if pos_weight_shape else None
    _run(lambda lib: lambda x, y, w, pw: lib.nn.BCEWithLogitsLoss(
        weight=w, reduction=reduction, pos_weight=pw)(x, y), [x, y, w, pw],
        grad_positions=(0, 1))


def test_bce_with_logits_is_stable_for_large_logits():
    x = np.array([-200.0, -30.0, 0.0, 30.0, 200.0], np.float32)
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0], np.float32)
    _run(lambda lib: lambda x, y: lib.nn.functional.binary_cross_entropy_with_logits(
        x, y, reduction="none"), [x, y], grad_positions=(0, 1))


# --- regression losses and KL ----------------------------------------------------------------

REGRESSION = {
    "L1Loss": lambda nn, r: nn.L1Loss(reduction=r),
    "MSELoss": lambda nn, r: nn.MSELoss(reduction=r),
    "SmoothL1Loss": lambda nn, r: nn.SmoothL1Loss(reduction=r),
    "SmoothL1Loss_beta": lambda nn, r: nn.SmoothL1Loss(reduction=r, beta=0.3),
    "SmoothL1Loss_beta0": lambda nn, r: nn.SmoothL1Loss(reduction=r, beta=0.0),
    "HuberLoss": lambda nn, r: nn.HuberLoss(reduction=r),
    "HuberLoss_delta": lambda nn, r: nn.HuberLoss(reduction=r, delta=0.4),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(3, 4), (), (2, 3, 2), (0, 3)], ids=str)
@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_losses(name, shape, reduction):
    a = (RNG.standard_normal(shape) * 2).astype(np.float32)
    b = (RNG.standard_normal(shape) * 2).astype(np.float32)
    _run(lambda lib: lambda a, b: REGRESSION[name](lib.nn, reduction)(a, b), [a, b],
         grad_positions=(0, 1))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses(name, reduction):
    a, b = _logits(3, 4), _logits(3, 4)
    w = RNG.uniform(0.5, 2, size=(3, 4)).astype(np.float32)
    _run(lambda lib: lambda a, b, w: getattr(lib.nn.functional, name)(
        a, b, reduction=reduction, weight=w), [a, b, w], grad_positions=(0, 1, 2))


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_broadcast_warns_like_torch(fn):
    a, b = _logits(3, 4), _logits(4)
    messages = []
    for lib in (torch, gt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(lib.nn.functional, fn)(lib.tensor(a), lib.tensor(b))
        messages.append([str(w.message) for w in caught])
    assert messages[1] == messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(lambda lib: lambda a, b: getattr(lib.nn.functional, fn)(a, b), [a, b],
             grad_positions=(0, 1))


@pytest.mark.parametrize("reduction", ["sum", "none", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss(log_target, reduction):
    x = np.log(_probs(4, 5))
    p = _probs(4, 5)
    p[0, 0] = 0.0 if not log_target else p[0, 0]
    t = np.log(p) if log_target else p
    grads = (0, 1) if log_target else (0,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reduction='mean' warns in both libraries
        _run(lambda lib: lambda x, t: lib.nn.KLDivLoss(reduction=reduction,
                                                       log_target=log_target)(x, t),
             [x, t], grad_positions=grads, check_grad_fn=reduction != "batchmean")


def test_kl_div_mean_warning_matches():
    messages = []
    for lib in (torch, gt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.KLDivLoss()(lib.zeros(2, 3), lib.full((2, 3), 1 / 3))
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0]


def test_legacy_size_average_reduce():
    x, t = _logits(4, 3), _targets(3, 4)
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        outs = []
        for lib in (torch, gt):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                m = lib.nn.CrossEntropyLoss(size_average=size_average, reduce=reduce)
                out = m(lib.tensor(x), lib.tensor(t))
            outs.append((m.reduction, npy(out), [str(w.message) for w in caught]))
        assert outs[1][0] == outs[0][0] and outs[1][2] == outs[0][2]
        np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-5)


def test_loss_modules_buffers_and_state_dict():
    for lib in (torch, gt):
        m = lib.nn.CrossEntropyLoss(weight=lib.ones(3))
        assert list(m.state_dict()) == ["weight"]
        m = lib.nn.BCEWithLogitsLoss(pos_weight=lib.ones(2))
        assert list(m.state_dict()) == ["pos_weight"]
        assert [n for n, _ in m.named_buffers()] == ["pos_weight"]
        assert m.weight is None


# --- errors ---------------------------------------------------------------------------------

def _t(lib, x):
    return lib.tensor(x)


ERRORS = [
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 4]))),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, -1]))),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1]))),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([[0, 1, 1]]))),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 1], np.int32))),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0., 1, 1]))),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 1])),
                              weight=lib.ones(3)),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)).double(), _t(lib, np.array([0, 1, 1])),
                              weight=lib.ones(4)),
    lambda lib, F: F.nll_loss(lib.tensor(1.0), lib.tensor(0)),
    lambda lib, F: F.nll_loss(_t(lib, _logits(2, 3, 4)), lib.zeros(2, 5, dtype=lib.long)),
    lambda lib, F: F.nll_loss(_t(lib, _logits(2, 3, 4, 5)), lib.zeros(2, 4, 4, dtype=lib.long)),
    lambda lib, F: F.nll_loss(_t(lib, _logits(2, 3, 4, 5)), lib.zeros(2, 4, dtype=lib.long)),
    lambda lib, F: F.nll_loss(_t(lib, _logits(2, 3, 4, 5)), lib.full((2, 4, 5), 7)),
    lambda lib, F: F.nll_loss(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 1])),
                              reduction="bad"),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 4]))),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), lib.zeros(3, 4, dtype=lib.long)),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), lib.zeros(3, 5)),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 1])),
                                   label_smoothing=1.5),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), lib.rand(3, 4), label_smoothing=1.5),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), lib.rand(3, 4), ignore_index=1),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), lib.rand(3, 4), weight=lib.ones(3)),
    lambda lib, F: F.cross_entropy(_t(lib, _logits(3, 4)), _t(lib, np.array([0, 1, 1])),
                                   weight=lib.ones(4, requires_grad=True)),
    lambda lib, F: F.binary_cross_entropy(lib.tensor([0.5, 1.5]), lib.tensor([0., 1.])),
    lambda lib, F: F.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([0., 1.5])),
    lambda lib, F: F.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([0., 1., 1.])),
    lambda lib, F: F.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([0, 1])),
    lambda lib, F: F.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([0., 1.]),
                                          weight=lib.ones(2, requires_grad=True)),
    lambda lib, F: F.binary_cross_entropy_with_logits(lib.tensor([0.5, 0.5]),
                                                      lib.tensor([0., 1., 1.])),
    lambda lib, F: F.binary_cross_entropy_with_logits(lib.tensor([0.5, 0.5]),
                                                      lib.tensor([0, 1])),
    lambda lib, F: F.binary_cross_entropy_with_logits(lib.tensor([0.5, 0.5]),
                                                      lib.tensor([0., 1.]),
                                                      pos_weight=lib.ones(2, requires_grad=True)),
    lambda lib, F: F.mse_loss(lib.tensor([1, 2]), lib.tensor([0, 1])),
    lambda lib, F: F.mse_loss(lib.tensor([1., 2.]), lib.tensor([0., 1.]), reduction="avg"),
    lambda lib, F: F.mse_loss(lib.ones(2), lib.ones(2), weight=lib.ones(3)),
    lambda lib, F: F.huber_loss(lib.ones(3), lib.ones(3), delta=0),
    lambda lib, F: F.smooth_l1_loss(lib.ones(3), lib.ones(3), beta=-1),
    lambda lib, F: F.kl_div(lib.ones(3), lib.ones(3, dtype=lib.long), reduction="sum"),
    lambda lib, F: lib.nn.HuberLoss(delta="1"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_loss_errors_match_torch(index):
    same_error(lambda lib: ERRORS[index](lib, lib.nn.functional))


def test_shape_mismatch_warning_then_error():
    def broadcast_fail(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.nn.functional.mse_loss(lib.ones(2), lib.ones(3))
    same_error(broadcast_fail)


def test_mse_loss_history_as_printed_in_the_60_minute_blitz():
    # loss.grad_fn -> MseLossBackward0 -> AddmmBackward0 -> AccumulateGrad (no expand of
    # inputs that already have the same shape)
    names = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        loss = lib.nn.MSELoss()(lib.nn.Linear(4, 3)(lib.randn(1, 4)), lib.randn(1, 3))
        fn, chain = loss.grad_fn, []
        while fn is not None:
            chain.append(repr(fn).split(" object at ")[0])
            fn = fn.next_functions[0][0] if fn.next_functions else None
        names.append(chain)
    assert names[0] == names[1] == ["<MseLossBackward0", "<AddmmBackward0", "<AccumulateGrad"]
