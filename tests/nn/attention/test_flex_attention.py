"""gt.nn.attention.flex_attention against PyTorch: forward values and lse against torch's
flex_attention (eager, CPU: no backward there), gradients against a hand-written masked
softmax attention in torch, for causal, sliding-window, ALiBi, relative-bias, document
masks and GQA; BlockMask tiles; gt.compile equal to eager; PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn.attention import flex_attention as gflex

from .. import close, torch

tflex = pytest.importorskip("torch.nn.attention.flex_attention")

RNG = np.random.default_rng(11)
B, H, L, E = 2, 4, 12, 8
ALIBI = RNG.uniform(0.1, 1.0, H).astype(np.float32)
DOCS = np.repeat(np.arange(3), [5, 4, 3])  # three documents of 5, 4 and 3 tokens


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def sliding_window(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx <= 3) & (q_idx >= kv_idx)


def relative_bias(score, b, h, q_idx, kv_idx):
    return score + 0.1 * (q_idx - kv_idx)


def make_alibi(lib):
    slopes = lib.tensor(ALIBI)

    def alibi(score, b, h, q_idx, kv_idx):
        return score + slopes[h] * (kv_idx - q_idx)
    return alibi


def make_document_mask(lib):
    doc = lib.tensor(DOCS)

    def document(b, h, q_idx, kv_idx):
        return doc[q_idx] == doc[kv_idx]
    return document


def last_query_sees_nothing(b, h, q_idx, kv_idx):
    return q_idx < L - 1  # a fully masked row: output 0, lse -inf


CASES = {  # name: (score_mod factory, mask_mod factory, Hkv)
    "plain": (None, None, H),
    "causal": (None, lambda lib: causal, H),
    "sliding_window": (None, lambda lib: sliding_window, H),
    "alibi_causal": (make_alibi, lambda lib: causal, H),
    "relative_bias": (lambda lib: relative_bias, None, H),
    "document": (None, make_document_mask, H),
    "document_and_causal": (None, lambda lib: _lib_flex(lib).and_masks(
        make_document_mask(lib), causal), H),
    "gqa_causal": (None, lambda lib: causal, 2),
    "dead_row": (None, lambda lib: last_query_sees_nothing, H),
}


def _lib_flex(lib):
    return tflex if lib is torch else gflex


def _inputs(lib, hkv, requires_grad=False):
    rng = np.random.default_rng(3)
    shapes = [(B, H, L, E), (B, hkv, L, E), (B, hkv, L, E)]
    return [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=requires_grad)
            for s in shapes]


def _run_flex(lib, case, requires_grad=False):
    score_f, mask_f, hkv = CASES[case]
    flex = _lib_flex(lib)
    q, k, v = _inputs(lib, hkv, requires_grad)
    block_mask = None if mask_f is None else flex.create_block_mask(
        mask_f(lib), None, None, L, L, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: unfused eager path; return_lse deprecated
        out, lse = flex.flex_attention(q, k, v, score_mod=None if score_f is None else
                                       score_f(lib), block_mask=block_mask,
                                       enable_gqa=hkv != H, return_lse=True)
    return (q, k, v), out, lse


def _reference_torch(case, q, k, v):
    """softmax(where(mask, score_mod(QK^T/sqrt(E)), -inf)) V by hand in torch (autograd)."""
    score_f, mask_f, hkv = CASES[case]
    k, v = k.repeat_interleave(H // hkv, 1), v.repeat_interleave(H // hkv, 1)
    scores = q @ k.transpose(-2, -1) / E ** 0.5
    b, h, qi, ki = (torch.arange(n).view(*[n if d == i else 1 for d in range(4)])
                    for i, n in enumerate((B, H, L, L)))
    if score_f is not None:
        scores = score_f(torch)(scores, b, h, qi, ki)
    if mask_f is not None:
        scores = scores.masked_fill(~mask_f(torch)(b, h, qi, ki), float("-inf"))
    weights = torch.softmax(scores, -1).nan_to_num(0.0)
    return weights @ v


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_lse_match_torch_flex(case):
    with torch.no_grad():
        _, theirs, their_lse = _run_flex(torch, case)
    _, ours, our_lse = _run_flex(gt, case)
    close(ours, theirs, rtol=1e-5, atol=1e-5, what="out")
    close(our_lse, their_lse, rtol=1e-5, atol=1e-5, what="lse")


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_masked_softmax_attention(case):
    (tq, tk, tv) = _inputs(torch, CASES[case][2], requires_grad=True)
    (gq, gk, gv), ours, _ = _run_flex(gt, case, requires_grad=True)
    theirs = _reference_torch(case, tq, tk, tv)
    close(ours, theirs, rtol=1e-5, atol=1e-5, what="out")
    weights = np.random.default_rng(1).uniform(-1, 1, tuple(ours.shape)).astype(np.float32)
    (theirs * torch.tensor(weights)).sum().backward()
    (ours * gt.tensor(weights)).sum().backward()
    for name, g, t in (("q", gq, tq), ("k", gk, tk), ("v", gv, tv)):
        close(g.grad, t.grad, rtol=1e-4, atol=1e-5, what=f"grad {name}")


def test_compiled_matches_eager_with_gradients():
    alibi, document = make_alibi(gt), make_document_mask(gt)
    block_mask = gflex.create_block_mask(gflex.and_masks(causal, document), None, None, L, L)

    def attend(q, k, v):
        return gflex.flex_attention(q, k, v, score_mod=alibi, block_mask=block_mask)

    compiled = gt.compile(attend)
    eager_inputs, compiled_inputs = _inputs(gt, H, True), _inputs(gt, H, True)
    eager, ours = attend(*eager_inputs), compiled(*compiled_inputs)
    close(ours, eager, rtol=1e-6, atol=1e-6)
    eager.sum().backward()
    ours.sum().backward()
    for a, b in zip(compiled_inputs, eager_inputs):
        close(a.grad, b.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mask", ["causal", "noop", "window"])
@pytest.mark.parametrize("dims", [(None, None, 256, 256, 128), (2, 3, 300, 200, 128),
                                  (1, 2, 40, 24, (16, 8))])
def test_block_mask_tiles_match_torch(mask, dims):
    fn = {"causal": causal, "noop": None, "window": sliding_window}[mask]
    *shape, block = dims
    theirs = tflex.create_block_mask(fn or tflex.noop_mask, *shape, device="cpu",
                                     BLOCK_SIZE=block)
    ours = gflex.create_block_mask(fn or gflex.noop_mask, *shape, BLOCK_SIZE=block)
    assert ours.shape == theirs.shape and ours.BLOCK_SIZE == theirs.BLOCK_SIZE
    close(ours.to_dense(), theirs.to_dense())
    assert ours.sparsity() == pytest.approx(theirs.sparsity())
    assert "BLOCK_SIZE=" in repr(ours) and f"shape={ours.shape}" in repr(ours)


def test_mask_combinators_and_create_mask():
    both = gflex.or_masks(causal, lambda b, h, q, kv: kv == 0)
    dense = gflex.create_mask(both, 1, 1, 4, 4)
    theirs = tflex.create_mask(tflex.or_masks(causal, lambda b, h, q, kv: kv == 0), 1, 1, 4, 4,
                               device="cpu")
    close(dense, theirs)
    close(gflex.create_mask(gflex.noop_mask, 2, 1, 3, 3),
          tflex.create_mask(tflex.noop_mask, 2, 1, 3, 3, device="cpu"))
    for make in (gflex.and_masks, gflex.or_masks):
        with pytest.raises(RuntimeError, match="callable mask_mods"):
            make(1)


def _error(lib, q_shape, kv_shape, **kwargs):
    flex = _lib_flex(lib)
    q, kv = lib.zeros(*q_shape), lib.zeros(*kv_shape)
    with pytest.raises(Exception) as info:
        flex.flex_attention(q, kv, kv, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("q_shape,kv_shape,kwargs", [
    ((4, 8), (4, 8), {}),
    ((1, 4, 6, 8), (1, 2, 6, 8), {}),
    ((1, 4, 6, 8), (1, 3, 6, 8), {"enable_gqa": True}),
    ((1, 2, 6, 8), (1, 2, 6, 4), {}),
    ((2, 2, 6, 8), (1, 2, 6, 8), {}),
])
def test_errors_match_pytorch(q_shape, kv_shape, kwargs):
    assert _error(gt, q_shape, kv_shape, **kwargs) == _error(torch, q_shape, kv_shape, **kwargs)


def test_one_key_value_batch_broadcasts_with_a_block_mask():
    x = np.random.default_rng(4).standard_normal((3, 2, 5, 4)).astype(np.float32)
    results, errors = [], []
    for lib in (torch, gt):
        flex = _lib_flex(lib)
        q, kv = lib.tensor(x), lib.tensor(x[:1])
        block_mask = flex.create_block_mask(causal, 3, None, 5, 5)
        wrong_batch_mask = flex.create_block_mask(causal, 2, None, 5, 5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(flex.flex_attention(q, kv, kv, block_mask=block_mask))
            for keys, mask in ((q[:2], block_mask), (kv, wrong_batch_mask)):
                with pytest.raises(Exception) as info:
                    flex.flex_attention(q, keys, keys, block_mask=mask)
                errors.append((type(info.value), str(info.value)))
    close(results[1], results[0], rtol=1e-5, atol=1e-6)
    assert errors[:2] == errors[2:]
