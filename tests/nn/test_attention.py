"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch: values and
gradients (inputs and parameters) with bool/float/causal/padding masks, dropout draws from
the same seed, seeded initialisation, state_dicts loaded both ways, reprs and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, compare_module, same_error, torch

RNG = np.random.default_rng(5)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else gt


def _compare_fn(fn, inputs, grad_positions, rtol=1e-5, atol=1e-6, seed=None):
    """fn(lib, *tensors) in both libraries (after manual_seed(seed) when given): the output
    and the gradients of the inputs at `grad_positions`."""
    results = []
    cot = RNG.uniform(-1, 1, 1000)
    for lib in (torch, gt):
        tensors = [lib.tensor(x.copy(), requires_grad=i in grad_positions) if
                   isinstance(x, np.ndarray) else x for i, x in enumerate(inputs)]
        if seed is not None:
            lib.manual_seed(seed)
        out = fn(lib, *tensors)
        if grad_positions:
            weights = lib.tensor(cot[:out.numel()].reshape(tuple(out.shape)).astype(
                np.float64 if out.dtype == lib.float64 else np.float32))
            (out * weights).sum().backward()
        results.append((out, [tensors[i].grad for i in grad_positions]))
    (t_out, t_grads), (g_out, g_grads) = results
    close(g_out, t_out, rtol, atol, "output")
    for i, (g, t) in enumerate(zip(g_grads, t_grads)):
        close(g, t, rtol * 10, atol * 10, f"grad of input {grad_positions[i]}")
    return g_out


def _sdpa(lib, q, k, v, mask=None, **kwargs):
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs)


# --- scaled_dot_product_attention ----------------------------------------------------------

SDPA_SHAPES = [((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)),
               ((3, 4, 8), (3, 5, 8), (3, 5, 8)),
               ((4, 8), (5, 8), (5, 2)),
               ((2, 1, 4, 8), (3, 5, 8), (3, 5, 8))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SDPA_SHAPES, ids=str)
def test_sdpa_plain_and_causal(shapes, dtype):
    inputs = [_x(*s, dtype=dtype) for s in shapes]
    for kwargs in ({}, {"is_causal": True}, {"scale": 0.3}, {"scale": -0.5}):
        _compare_fn(lambda lib, q, k, v, kw=kwargs: _sdpa(lib, q, k, v, **kw), inputs,
                    (0, 1, 2))


MASKS = [
    ("bool 2-D", lambda: RNG.random((4, 5)) > 0.3),
    ("bool broadcast", lambda: RNG.random((2, 1, 4, 5)) > 0.4),
    ("bool with empty rows", lambda: np.array([[True] * 5, [False] * 5, [True, False] * 2
                                               + [True], [False] * 5])),
    ("float", lambda: _x(4, 5)),
    ("float -inf", lambda: np.where(RNG.random((3, 4, 5)) > 0.3, 0.0, -np.inf).astype(
        np.float32)),
]


@pytest.mark.parametrize("name,make_mask", MASKS, ids=[m[0] for m in MASKS])
def test_sdpa_masks(name, make_mask):
    q, k, v = _x(2, 3, 4, 8), _x(2, 3, 5, 8), _x(2, 3, 5, 8)
    out = _compare_fn(_sdpa, [q, k, v, make_mask()], (0, 1, 2))
    if name == "bool with empty rows":  # rows with no key to attend are 0, not NaN
        assert np.all(out.detach().numpy()[:, :, 1] == 0)


def test_sdpa_causal_with_a_mask_combines_both_where_pytorch_does():
    """PyTorch's CPU flash kernel (4-D inputs with equal head sizes, no dropout) applies
    both; its math kernel (everything else) refuses the pair (see test_sdpa_errors)."""
    for mask in (RNG.random((4, 5)) > 0.3, _x(2, 1, 4, 5)):
        _compare_fn(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, m, is_causal=True),
                    [_x(2, 3, 4, 8), _x(2, 3, 5, 8), _x(2, 3, 5, 8), mask], (0, 1, 2))


def test_sdpa_dropout_draws_what_pytorch_draws():
    inputs = [_x(2, 3, 6, 8), _x(2, 3, 7, 8), _x(2, 3, 7, 4)]
    _compare_fn(lambda lib, q, k, v: _sdpa(lib, q, k, v, dropout_p=0.3), inputs, (0, 1, 2),
                seed=3)
    _compare_fn(lambda lib, q, k, v: _sdpa(lib, q, k, v, dropout_p=0.5, is_causal=True),
                inputs, (0, 1, 2), seed=4)


def test_sdpa_grouped_query_attention():
    _compare_fn(lambda lib, q, k, v: _sdpa(lib, q, k, v, enable_gqa=True),
                [_x(2, 4, 3, 8), _x(2, 2, 5, 8), _x(2, 1, 5, 8)], (0, 1, 2))


@pytest.mark.parametrize("call", [
    lambda lib: _sdpa(lib, lib.ones(2, 4, 8), lib.ones(2, 5, 8, dtype=lib.float64),
                      lib.ones(2, 5, 8)),
    lambda lib: _sdpa(lib, lib.ones(8), lib.ones(2, 5, 8), lib.ones(2, 5, 8)),
    lambda lib: _sdpa(lib, lib.ones(2, 4, 8), lib.ones(2, 5, 8), lib.ones(2, 5, 8),
                      lib.ones(4, 5, dtype=lib.int64)),
    lambda lib: _sdpa(lib, lib.ones(2, 4, 8), lib.ones(2, 5, 8), lib.ones(2, 5, 8),
                      lib.ones(4, 5, dtype=lib.float64)),
    lambda lib: _sdpa(lib, lib.ones(2, 4, 8), lib.ones(2, 5, 8), lib.ones(2, 5, 8),
                      dropout_p=1.5),
    lambda lib: _sdpa(lib, lib.ones(2, 4, 8), lib.ones(2, 5, 8), lib.ones(2, 5, 8),
                      lib.ones(4, 5, dtype=lib.bool), is_causal=True, dropout_p=0.1),
    lambda lib: _sdpa(lib, lib.ones(1, 3, 4, 8), lib.ones(1, 2, 5, 8), lib.ones(1, 2, 5, 8),
                      enable_gqa=True),
    lambda lib: _sdpa(lib, lib.ones(2, 4, 8), lib.ones(2, 5, 8), lib.ones(2, 5, 8),
                      lib.ones(4, 5, dtype=lib.bool), is_causal=True),
    lambda lib: _sdpa(lib, lib.ones(1, 2, 4, 8), lib.ones(1, 2, 5, 8), lib.ones(1, 2, 5, 6),
                      lib.ones(4, 5, dtype=lib.bool), is_causal=True),
])
def test_sdpa_errors(call):
    same_error(call)


def test_sdpa_compiles_into_one_graph():
    q, k, v = (gt.tensor(_x(2, 3, 4, 8), requires_grad=True) for _ in range(3))
    compiled = gt.compile(lambda q, k, v: _sdpa(gt, q, k, v, is_causal=True))
    out = compiled(q, k, v)
    close(out, _sdpa(gt, q, k, v, is_causal=True), 1e-6, 1e-6)
    assert compiled.stats.graph_breaks == []


# --- MultiheadAttention ---------------------------------------------------------------------

def _mha_call(need_weights=True, **kwargs):
    def call(module, *args):
        lib = _lib(args[0])
        extra = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v
                 for k, v in kwargs.items()}
        query, key, value = (args + (args[0],) * 2)[:3] if len(args) < 3 else args
        out, weights = module(query, key, value, need_weights=need_weights, **extra)
        return [out] if weights is None else [out, weights]
    return call


MHA_OPTIONS = [dict(), dict(batch_first=True), dict(bias=False), dict(kdim=3, vdim=5),
               dict(add_bias_kv=True), dict(add_zero_attn=True),
               dict(add_bias_kv=True, add_zero_attn=True, kdim=6, vdim=6)]


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("options", MHA_OPTIONS, ids=str)
def test_mha_cross_attention(options, need_weights):
    kdim, vdim = options.get("kdim", 8), options.get("vdim", 8)
    q, k, v = _x(4, 2, 8), _x(6, 2, kdim), _x(6, 2, vdim)
    if options.get("batch_first"):
        q, k, v = (a.transpose(1, 0, 2).copy() for a in (q, k, v))
    tm, gm = compare_module(lambda lib: lib.nn.MultiheadAttention(8, 2, **options), [q, k, v],
                            call=_mha_call(need_weights))
    assert repr(gm) == repr(tm)


KPM = np.array([[False] * 5, [False, False, False, True, True], [False, True] * 2 + [False]])
CAUSAL = np.triu(np.ones((5, 5), dtype=bool), 1)


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False),
                                                  (False, True)])
@pytest.mark.parametrize("masks", [
    dict(key_padding_mask=KPM),
    dict(attn_mask=CAUSAL),
    dict(attn_mask=CAUSAL, is_causal=True),
    dict(key_padding_mask=KPM, attn_mask=CAUSAL),
    dict(attn_mask=np.where(CAUSAL, -np.inf, 0.0).astype(np.float32),
         key_padding_mask=np.where(KPM, -1e9, 0.0).astype(np.float32)),
    dict(attn_mask=RNG.random((3 * 4, 5, 5)) > 0.7),
], ids=["kpm", "causal", "is_causal", "both", "float", "3-D"])
def test_mha_self_attention_masks(masks, need_weights, average):
    compare_module(lambda lib: lib.nn.MultiheadAttention(8, 4), [_x(5, 3, 8)],
                   call=_mha_call(need_weights, average_attn_weights=average, **masks))


def test_mha_unbatched_and_batch_first_self_attention():
    compare_module(lambda lib: lib.nn.MultiheadAttention(6, 3), [_x(4, 6)],
                   call=_mha_call(key_padding_mask=np.array([False, False, True, False])))
    compare_module(lambda lib: lib.nn.MultiheadAttention(6, 2, batch_first=True),
                   [_x(3, 4, 6)], call=_mha_call(False, attn_mask=CAUSAL[:4, :4]))


def test_mha_dropout_in_training_draws_what_pytorch_draws():
    for need_weights in (True, False):
        compare_module(lambda lib: lib.nn.MultiheadAttention(8, 2, dropout=0.4), [_x(5, 2, 8)],
                       call=lambda m, x, nw=need_weights: (_lib(x).manual_seed(9),
                                                           _mha_call(nw)(m, x))[1])
    compare_module(lambda lib: lib.nn.MultiheadAttention(8, 2, dropout=0.4), [_x(5, 2, 8)],
                   call=_mha_call(), train=False)


def test_mha_mismatched_mask_types_warn_as_pytorch():
    for lib in (torch, gt):
        mha = lib.nn.MultiheadAttention(4, 2)
        x = lib.ones(3, 1, 4)
        with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and "
                                             "attn_mask is deprecated"):
            mha(x, x, x, key_padding_mask=lib.zeros(1, 3, dtype=lib.bool),
                attn_mask=lib.zeros(3, 3))


def test_mha_state_dict_loads_both_ways():
    tm = torch.nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=4, vdim=4)
    gm = gt.nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=4, vdim=4)
    assert list(gm.state_dict()) == list(tm.state_dict())
    gm.load_state_dict({k: gt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    back = torch.nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=4, vdim=4)
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in gm.state_dict().items()})
    q, kv = _x(3, 2, 8), _x(5, 2, 4)
    close(gm(gt.tensor(q), gt.tensor(kv), gt.tensor(kv))[0],
          back(torch.tensor(q), torch.tensor(kv), torch.tensor(kv))[0])


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.MultiheadAttention(6, 4),
    lambda lib: lib.nn.MultiheadAttention(0, 1),
    lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 4), lib.ones(3, 1, 4),
                                                lib.ones(3, 1, 4)),
    lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 1, 4), lib.ones(3, 1, 4),
                                                lib.ones(3, 1, 4), attn_mask=lib.ones(2, 2)),
    lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 1, 4), lib.ones(3, 1, 4),
                                                lib.ones(3, 1, 4),
                                                key_padding_mask=lib.ones(1, 3,
                                                                          dtype=lib.int64)),
    lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 1, 4), lib.ones(3, 1, 4),
                                                lib.ones(3, 1, 4), is_causal=True),
    lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 1, 4), lib.ones(2, 1, 4),
                                                lib.ones(3, 1, 4)),
    lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 1, 4), lib.ones(3, 1, 4),
                                                lib.ones(3, 1, 4),
                                                key_padding_mask=lib.ones(1, 2,
                                                                          dtype=lib.bool)),
])
def test_mha_errors(call):
    same_error(call)


def test_mha_compiled_self_attention_block_matches_eager_in_one_graph():
    gt.manual_seed(0)
    mha = gt.nn.MultiheadAttention(8, 2, batch_first=True)
    x = gt.tensor(_x(2, 5, 8), requires_grad=True)
    mask = gt.nn.Transformer.generate_square_subsequent_mask(5)
    compiled = gt.compile(lambda x: mha(x, x, x, attn_mask=mask, need_weights=False)[0])
    out = compiled(x)
    out.square().sum().backward()
    grad, weight_grad = x.grad.clone(), mha.in_proj_weight.grad.clone()
    x.grad = None
    mha.zero_grad()
    want = mha(x, x, x, attn_mask=mask, need_weights=False)[0]
    want.square().sum().backward()
    close(out, want, 1e-6, 1e-6)
    close(grad, x.grad, 1e-5, 1e-6)
    close(weight_grad, mha.in_proj_weight.grad, 1e-5, 1e-6)
    assert compiled.stats.graph_breaks == []
