"""Every layer against PyTorch: seeded initial weights, outputs, input and parameter
gradients (train and eval mode where they differ), running statistics, reprs of the seed
notes' printouts, and a short training run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import RANDOM_RTOL, build, close, compare_module, npy, same_error, same_state, torch

RNG = np.random.default_rng(0)


def _x(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


# --- seed note 003 printouts -------------------------------------------------------------

def test_seed_note_linear_printout():
    outs = []
    for lib in (torch, gt):
        lib.manual_seed(1)
        linear = lib.nn.Linear(in_features=3, out_features=5)
        out = linear(lib.tensor([.0, 1., 2.]))
        outs.append((repr(linear.bias), repr(linear.weight), repr(out), out.grad_fn.name()))
    assert outs[1] == outs[0]


def test_seed_note_embedding_printout():
    outs = []
    for lib in (torch, gt):
        lib.manual_seed(1)
        embed = lib.nn.Embedding(num_embeddings=3, embedding_dim=5)
        out = embed(lib.tensor([0], dtype=lib.int64))
        outs.append((repr(embed.weight), repr(out), out.grad_fn.name()))
    assert outs[1] == outs[0]


# --- linear family --------------------------------------------------------------------------

LINEAR_SHAPES = [(3,), (4, 3), (2, 4, 3), (0, 3), (2, 1, 2, 3)]


@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    compare_module(lambda lib: lib.nn.Linear(3, 5, bias=bias), [_x(*shape)])


@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_grad_fn_names(shape, bias):
    """PyTorch: AddmmBackward0 (2-D with bias), MmBackward0 (2-D), ViewBackward0 (other
    ranks with bias), SqueezeBackward4 (1-D), UnsafeViewBackward0 (3-D+ without bias)."""
    names = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        out = lib.nn.Linear(3, 5, bias=bias)(lib.tensor(_x(*shape)))
        names.append(out.grad_fn.name())
    assert names[1] == names[0]


def test_linear_float64_and_errors():
    compare_module(lambda lib: lib.nn.Linear(3, 2, dtype=lib.float64),
                   [RNG.standard_normal((4, 3))])
    same_error(lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 5)))


def test_linear_dtype_mismatch_error():
    same_error(lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 3, dtype=lib.float64)))


def test_bilinear_identity_flatten_unflatten():
    compare_module(lambda lib: lib.nn.Bilinear(3, 4, 2), [_x(5, 3), _x(5, 4)])
    compare_module(lambda lib: lib.nn.Bilinear(3, 4, 2, bias=False), [_x(2, 5, 3), _x(2, 5, 4)])
    compare_module(lambda lib: lib.nn.Identity(54, unused="x"), [_x(2, 3)])
    compare_module(lambda lib: lib.nn.Flatten(), [_x(2, 3, 4, 5)])
    compare_module(lambda lib: lib.nn.Flatten(0, 2), [_x(2, 3, 4, 5)])
    compare_module(lambda lib: lib.nn.Unflatten(1, (2, 6)), [_x(3, 12)])
    compare_module(lambda lib: lib.nn.Unflatten(-1, [3, -1]), [_x(3, 12)])
    same_error(lambda lib: lib.nn.Unflatten(1, (2, 6.0)))
    same_error(lambda lib: lib.nn.Unflatten(1, 6))


# --- embedding --------------------------------------------------------------------------------

def _indices(*shape, high=6):
    return RNG.integers(0, high, size=shape).astype(np.int64)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("shape", [(4,), (2, 3), ()], ids=str)
def test_embedding(shape, padding_idx):
    idx = _indices(*shape)
    if idx.size and padding_idx is not None:
        idx.reshape(-1)[0] = padding_idx % 6   # the padding row is looked up at least once
    _, gm = compare_module(lambda lib: lib.nn.Embedding(6, 3, padding_idx=padding_idx),
                            [idx])
    if padding_idx is not None:
        assert not np.any(npy(gm.weight)[padding_idx % 6])
        if gm.weight.grad is not None:
            assert not np.any(npy(gm.weight.grad)[padding_idx % 6])


def test_embedding_from_pretrained_and_freeze():
    weights = _x(4, 3)
    for freeze in (True, False):
        res = []
        for lib in (torch, gt):
            emb = lib.nn.Embedding.from_pretrained(lib.tensor(weights), freeze=freeze,
                                                   padding_idx=1)
            out = emb(lib.tensor(np.array([[0, 1], [3, 3]])))
            res.append((npy(out), out.requires_grad, emb.weight.requires_grad, repr(emb)))
            if not freeze:
                out.sum().backward()
                res[-1] += (npy(emb.weight.grad),)
        assert res[1][1:] == res[0][1:] if freeze else True
        for a, b in zip(res[1], res[0]):
            if isinstance(b, np.ndarray):
                np.testing.assert_allclose(a, b)
            else:
                assert a == b
    same_error(lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(3)))
    same_error(lambda lib: lib.nn.Embedding(3, 2, padding_idx=3))
    same_error(lambda lib: lib.nn.Embedding(3, 2, padding_idx=-4))
    same_error(lambda lib: lib.nn.Embedding(3, 2, _weight=lib.ones(2, 2)))
    same_error(lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])))


def test_embedding_max_norm_renormalises_in_place():
    idx = np.array([0, 2, 2, 4])
    tm, gm = compare_module(lambda lib: lib.nn.Embedding(6, 3, max_norm=1.0), [idx])
    close(gm.weight, tm.weight, 1e-5, 1e-6)


# --- convolution -------------------------------------------------------------------------------

CONV2D = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(padding=(2, 1), stride=(1, 2)),
    dict(dilation=2, padding=2),
    dict(groups=2),
    dict(groups=4, padding=1),
    dict(bias=False),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(1, 2), padding_mode="replicate"),
    dict(padding=2, padding_mode="circular"),
    dict(padding="same", padding_mode="reflect"),
]


@pytest.mark.parametrize("kwargs", CONV2D, ids=str)
def test_conv2d(kwargs):
    compare_module(lambda lib: lib.nn.Conv2d(4, 8, 3, **kwargs), [_x(2, 4, 7, 6)],
                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(dilation=2),
                                    dict(groups=2, bias=False), dict(padding="same"),
                                    dict(padding=1, padding_mode="circular"),
                                    dict(padding=2, padding_mode="reflect")], ids=str)
def test_conv1d(kwargs):
    compare_module(lambda lib: lib.nn.Conv1d(4, 6, 3, **kwargs), [_x(3, 4, 9)],
                   rtol=1e-4, atol=1e-5)


def test_conv_unbatched_kernel_tuple_and_errors():
    compare_module(lambda lib: lib.nn.Conv2d(2, 3, (3, 1)), [_x(2, 5, 4)], rtol=1e-4,
                   atol=1e-5)
    compare_module(lambda lib: lib.nn.Conv1d(2, 3, 2), [_x(2, 5)], rtol=1e-4, atol=1e-5)
    same_error(lambda lib: lib.nn.Conv2d(3, 4, 3, groups=2))
    same_error(lambda lib: lib.nn.Conv2d(4, 3, 3, groups=2))
    same_error(lambda lib: lib.nn.Conv2d(4, 4, 3, groups=0))
    same_error(lambda lib: lib.nn.Conv2d(4, 4, 3, padding="same", stride=2))
    same_error(lambda lib: lib.nn.Conv2d(4, 4, 3, padding_mode="mirror"),
               match="padding_mode must be one of")
    same_error(lambda lib: lib.nn.Conv2d(4, 4, 3, padding="full"),
               match="Invalid padding string 'full'")
    same_error(lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.ones(1, 2, 5, 5)))


# --- pooling ---------------------------------------------------------------------------------

POOLS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), dict(stride=2, padding=1)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, dilation=(2, 1))),
    ("MaxPool2d", (3,), dict(stride=2, ceil_mode=True)),
    ("MaxPool2d", (2,), dict(return_indices=True)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AvgPool2d", (3,), dict(stride=2, ceil_mode=True)),
    ("AvgPool2d", (2,), dict(divisor_override=3)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((None, 2),), {}),
    ("AdaptiveAvgPool2d", ((4, 5),), {}),
    ("AdaptiveMaxPool2d", (2,), {}),
    ("AdaptiveMaxPool2d", ((3, 2),), dict(return_indices=True)),
]


@pytest.mark.parametrize("name,args,kwargs", POOLS, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 7, 6)], ids=str)
def test_pool2d(name, args, kwargs, shape):
    compare_module(lambda lib: getattr(lib.nn, name)(*args, **kwargs), [_x(*shape)])


@pytest.mark.parametrize("name,args,kwargs", [
    ("MaxPool1d", (2,), {}), ("MaxPool1d", (3,), dict(stride=2, padding=1)),
    ("AvgPool1d", (2,), {}), ("AvgPool1d", (3,), dict(stride=1, padding=1,
                                                      count_include_pad=False)),
    ("AdaptiveAvgPool1d", (3,), {}), ("AdaptiveMaxPool1d", (4,), {})], ids=str)
def test_pool1d(name, args, kwargs):
    compare_module(lambda lib: getattr(lib.nn, name)(*args, **kwargs), [_x(2, 3, 9)])


# --- normalisation ------------------------------------------------------------------------------

BATCHNORMS = [
    ("BatchNorm1d", (4, 3)),
    ("BatchNorm1d", (4, 3, 5)),
    ("BatchNorm2d", (2, 3, 4, 5)),
    ("BatchNorm3d", (2, 3, 2, 3, 2)),
]
BN_OPTIONS = [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False),
              dict(track_running_stats=False), dict(bias=False)]


@pytest.mark.parametrize("options", BN_OPTIONS, ids=str)
@pytest.mark.parametrize("name,shape", BATCHNORMS, ids=str)
def test_batchnorm_train_steps_then_eval(name, shape, options):
    tm, gm = build(lambda lib: getattr(lib.nn, name)(3, **options))
    same_state(gm, tm)
    for step in range(3):            # running statistics after several training steps
        x = _x(*shape, scale=2.0) + step
        compare_module(lambda lib, m=(tm, gm): m[0] if lib is torch else m[1], [x],
                       rtol=1e-4, atol=1e-5, exact_init=None)
        tm.zero_grad()
        gm.zero_grad()
    same_state(gm, tm, exact=False)
    if options.get("track_running_stats", True):
        assert int(gm.num_batches_tracked) == int(tm.num_batches_tracked) == 3
    compare_module(lambda lib, m=(tm, gm): m[0] if lib is torch else m[1], [_x(*shape)],
                   train=False, rtol=1e-4, atol=1e-5, exact_init=None)


def test_batchnorm_errors_and_eval_without_stats():
    same_error(lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 3, 4)))
    same_error(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 3, 4, 5)))
    same_error(lambda lib: lib.nn.BatchNorm3d(3)(lib.ones(2, 3)))
    same_error(lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)))   # one value per channel
    compare_module(lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False), [_x(5, 3)],
                   train=False, rtol=1e-4, atol=1e-5)


def test_batchnorm_state_dict_without_num_batches_tracked_loads():
    for lib in (torch, gt):
        m = lib.nn.BatchNorm1d(3)
        sd = {k: v for k, v in lib.nn.BatchNorm1d(3).state_dict().items()
              if k != "num_batches_tracked"}
        result = m.load_state_dict(sd)
        assert result.missing_keys == [] and result.unexpected_keys == []


@pytest.mark.parametrize("ctor,shape", [
    ("LayerNorm(5)", (3, 5)), ("LayerNorm([4, 5])", (2, 3, 4, 5)),
    ("LayerNorm(5, elementwise_affine=False)", (3, 5)), ("LayerNorm(5, bias=False)", (3, 5)),
    ("LayerNorm(5, eps=1e-2)", (5,)),
    ("GroupNorm(2, 4)", (3, 4, 5)), ("GroupNorm(1, 4)", (2, 4, 3, 3)),
    ("GroupNorm(4, 4, affine=False)", (2, 4, 6)), ("GroupNorm(2, 4, bias=False)", (2, 4)),
    ("GroupNorm(2, 4, eps=1e-3)", (2, 4, 2, 2, 2)),
], ids=str)
def test_layer_and_group_norm(ctor, shape):
    def make(lib):
        m = eval("nn." + ctor, {"nn": lib.nn})
        with lib.no_grad():   # non-trivial affine parameters
            for p in m.parameters():
                values = np.linspace(0.5, 1.5, p.numel()).astype(np.float32)
                p.copy_(lib.tensor(values.reshape(tuple(p.shape))))
        return m
    compare_module(make, [_x(*shape, scale=3.0) + 1], rtol=1e-4, atol=1e-5)


def test_norm_errors():
    same_error(lambda lib: lib.nn.GroupNorm(3, 4))
    same_error(lambda lib: lib.nn.LayerNorm(4)(lib.ones(2, 5)))
    same_error(lambda lib: lib.nn.GroupNorm(2, 4)(lib.ones(2, 6, 3)))


# --- dropout ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,shape", [("Dropout", (4, 5)), ("Dropout", (3,)),
                                        ("Dropout1d", (2, 4, 5)), ("Dropout2d", (2, 4, 3, 3)),
                                        ("Dropout3d", (2, 3, 2, 2, 2)),
                                        ("AlphaDropout", (4, 6))], ids=str)
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_train_masks_equal_torch_and_eval_identity(name, shape, p):
    x = _x(*shape) + 3.0
    _, gm = compare_module(lambda lib: getattr(lib.nn, name)(p), [x], seed=5)
    g_out = npy(gm(gt.tensor(x)))
    if name == "Dropout" and 0 < p < 1:   # zeroes with scale 1 / (1 - p)
        kept = g_out != 0
        np.testing.assert_allclose(g_out[kept], x[kept] / (1 - p), rtol=1e-6)
    compare_module(lambda lib: getattr(lib.nn, name)(p), [x], train=False)
    gm.eval()
    xt = gt.tensor(x)
    assert np.array_equal(npy(gm(xt)), x)


def test_dropout_statistics_and_inplace():
    gt.manual_seed(0)
    out = npy(gt.nn.Dropout(0.3)(gt.ones(200, 200)))
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    x = gt.ones(4, 4)
    y = gt.nn.Dropout(0.5, inplace=True)(x)
    assert y is x
    same_error(lambda lib: lib.nn.Dropout(1.5))
    same_error(lambda lib: lib.nn.Dropout(-0.1))


# --- activations -------------------------------------------------------------------------------

ACTIVATIONS = ["ReLU()", "ReLU6()", "LeakyReLU()", "LeakyReLU(0.2)", "ELU()", "ELU(alpha=0.5)",
               "CELU(0.7)", "SELU()", "GELU()", "GELU(approximate='tanh')", "Softplus()",
               "Softplus(beta=2, threshold=1)", "Hardtanh()", "Hardtanh(-0.5, 2.0)",
               "Sigmoid()", "Tanh()", "Softsign()", "SiLU()", "Mish()", "Hardsigmoid()",
               "Hardswish()", "LogSigmoid()", "Threshold(0.1, 20.0)", "Hardshrink()",
               "Softshrink(0.3)", "Tanhshrink()", "GLU()", "GLU(dim=1)", "PReLU()",
               "PReLU(C)", "Softmax(dim=1)", "Softmax(dim=-1)", "LogSoftmax(dim=1)",
               "LogSoftmax(0)", "Softmin(1)", "Softmax2d()", "Identity()"]


@pytest.mark.parametrize("expr", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(3, 4, 2, 2), (4, 6)], ids=str)
def test_activation_modules(expr, shape):
    if expr == "Softmax2d()" and len(shape) == 2:
        same_error(lambda lib: lib.nn.Softmax2d()(lib.ones(*shape)))
        return
    expr = expr.replace("PReLU(C)", f"PReLU({shape[1]})")
    compare_module(lambda lib: eval("nn." + expr, {"nn": lib.nn}), [_x(*shape, scale=2.0)])


@pytest.mark.parametrize("expr", ["ReLU(inplace=True)", "LeakyReLU(0.1, True)", "ELU(1.0, True)",
                                  "SiLU(True)", "Hardtanh(inplace=True)", "ReLU6(True)",
                                  "SELU(True)", "Hardswish(True)", "Hardsigmoid(True)",
                                  "Mish(True)", "Threshold(0.0, -1.0, True)", "CELU(inplace=True)"])
def test_inplace_activations(expr):
    def call(m, x):
        y = x * 1.0
        out = m(y)
        assert out is y
        return out
    compare_module(lambda lib: eval("nn." + expr, {"nn": lib.nn}), [_x(3, 4)], call=call)


def test_rrelu_eval():
    compare_module(lambda lib: lib.nn.RReLU(0.1, 0.3), [_x(4, 5)], train=False)


def test_rrelu_train_draws_like_torch():
    """PyTorch draws one U(lower, upper) slope per non-positive element, in order."""
    compare_module(lambda lib: lib.nn.RReLU(), [_x(4, 5)], seed=3)


def test_softmax_implicit_dim_warning():
    for lib in (torch, gt):
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            lib.nn.Softmax()(lib.ones(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_module(lambda lib: lib.nn.Softmax(), [_x(2, 3)])
        compare_module(lambda lib: lib.nn.LogSoftmax(), [_x(2, 3, 4)])


# --- containers of layers and a short training run ------------------------------------------------

def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 5), nn.LogSoftmax(dim=1))


@pytest.mark.parametrize("train", [True, False])
def test_small_cnn_end_to_end(train):
    compare_module(_cnn, [_x(4, 1, 6, 6)], seed=2, train=train, rtol=1e-4, atol=1e-5)


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, 3))


@pytest.mark.parametrize("use_optim", [False, True])
def test_mlp_five_sgd_steps_match(use_optim):
    if use_optim and not hasattr(gt, "optim"):
        pytest.skip("gt.optim not available")
    x = _x(10, 6)
    y = RNG.integers(0, 3, size=10)
    runs = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        model = _mlp(lib)
        if lib is gt:   # identical starting point even if the random fills differ by an ulp
            with gt.no_grad():
                for p, q in zip(model.parameters(), runs[0][2]):
                    p.copy_(gt.tensor(q))
        start = [npy(p).copy() for p in model.parameters()]
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if use_optim else None
        losses = []
        for _ in range(5):
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            if opt is not None:
                opt.zero_grad()
                loss.backward()
                opt.step()
            else:
                model.zero_grad()
                loss.backward()
                with lib.no_grad():
                    for p in model.parameters():
                        p -= 0.1 * p.grad
            losses.append(loss.item())
        runs.append((losses, [npy(p) for p in model.parameters()], start))
    (t_losses, t_params, t_start), (g_losses, g_params, g_start) = runs
    for a, b in zip(g_start, t_start):
        np.testing.assert_allclose(a, b, rtol=RANDOM_RTOL, atol=RANDOM_RTOL)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-5)
    for a, b in zip(g_params, t_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda lib: lib.nn.LayerNorm(3),
                                  lambda lib: lib.nn.BatchNorm1d(3),
                                  lambda lib: lib.nn.GroupNorm(1, 3)], ids=["ln", "bn", "gn"])
def test_in_place_activation_after_a_norm_keeps_backward_legal(make):
    """The norms' backward reads their statistics, not their output (as PyTorch's native
    norms), so `relu_` on the output may run while the output is still referenced."""
    grads, data = [], _x(4, 3)
    for lib in (torch, gt):
        lib.manual_seed(0)
        norm = make(lib)
        x = lib.tensor(data, requires_grad=True)
        y = norm(x)
        lib.relu_(y)
        (y * lib.arange(3.0)).sum().backward()
        grads.append((x.grad, norm.weight.grad))
    for g, t in zip(grads[1], grads[0]):
        close(g, t, 1e-5, 1e-6)
