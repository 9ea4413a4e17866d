"""`gt.nn.attention.flex_attention`, as PyTorch's: attention whose scores a Python
`score_mod(score, b, h, q_idx, kv_idx)` rewrites and whose keys a `mask_mod(b, h, q_idx,
kv_idx)` selects.

Both functions run once, on broadcast index tensors (b: (B,1,1,1), h: (1,H,1,1), q_idx:
(1,1,Q,1), kv_idx: (1,1,1,KV), int64 as PyTorch's eager path) and the whole (B,H,Q,KV)
score tensor, in graphtorch ops: autograd differentiates them and gt.compile traces them.
This is PyTorch's unfused "math" path: the scores are materialised; a BlockMask records
which BLOCK_SIZE tiles hold any allowed key, for inspection only.
"""

from __future__ import annotations

import math

from ... import dtypes
from ...functions.creation import arange, full, ones
from ...functions.math import where
from ...functions.movement import pad
from ...functions.statistics import argsort
from ...tensor import Tensor
from ..functional.attention import _safe_softmax

__all__ = ["BlockMask", "and_masks", "create_block_mask", "create_mask", "flex_attention",
           "noop_mask", "or_masks"]


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """The mask_mod allowing every key."""
    return ones((), dtype=dtypes.bool_, device=batch.device)


def _identity(score, b, h, q_idx, kv_idx):
    return score


def and_masks(*mask_mods):
    """A mask_mod allowing a key where every one of `mask_mods` allows it."""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        result = ones((), dtype=dtypes.bool_, device=b.device)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result
    return and_mask


def or_masks(*mask_mods):
    """A mask_mod allowing a key where any one of `mask_mods` allows it."""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        result = ones((), dtype=dtypes.bool_, device=b.device).logical_not()
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result
    return or_mask


def _indices(B, H, Q_LEN, KV_LEN, device):
    """b, h, q_idx, kv_idx as broadcastable int64 tensors."""
    return (arange(B, device=device).view(B, 1, 1, 1), arange(H, device=device).view(1, H, 1, 1),
            arange(Q_LEN, device=device).view(1, 1, Q_LEN, 1),
            arange(KV_LEN, device=device).view(1, 1, 1, KV_LEN))


def create_mask(mod_fn, B, H, Q_LEN, KV_LEN, device="cpu") -> Tensor:
    """The dense (B, H, Q_LEN, KV_LEN) bool mask of a mask_mod (or, for a score_mod, its
    scores from zeros). B or H None means 1."""
    B, H = B or 1, H or 1
    b, h, q_idx, kv_idx = _indices(B, H, Q_LEN, KV_LEN, device)
    if _arity(mod_fn) == 5:
        scores = full((B, H, Q_LEN, KV_LEN), 0.0, device=device)
        return mod_fn(scores, b, h, q_idx, kv_idx).expand(B, H, Q_LEN, KV_LEN)
    mask = mod_fn(b, h, q_idx, kv_idx)
    return mask.to(dtypes.bool_).expand(B, H, Q_LEN, KV_LEN)


def _arity(fn) -> int:
    code = getattr(fn, "__code__", None)
    return code.co_argcount if code is not None else 4


class BlockMask:
    """Which BLOCK_SIZE tiles of the (B, H, Q_LEN, KV_LEN) scores hold an allowed key, and
    the mask_mod that flex_attention evaluates exactly (created by `create_block_mask`)."""

    def __init__(self, tile_mask: Tensor, shape: tuple, BLOCK_SIZE: tuple, mask_mod):
        self._tiles = tile_mask  # int32 (B, H, Q tiles, KV tiles), 1 where any key is allowed
        self.shape = shape
        self.seq_lengths = shape[-2:]
        self.BLOCK_SIZE = BLOCK_SIZE
        self.mask_mod = mask_mod
        self.kv_num_blocks = tile_mask.sum(-1).to(dtypes.int32)
        self.kv_indices = argsort(tile_mask, -1, descending=True, stable=True).to(dtypes.int32)
        by_kv = tile_mask.transpose(-2, -1)
        self.q_num_blocks = by_kv.sum(-1).to(dtypes.int32)
        self.q_indices = argsort(by_kv, -1, descending=True, stable=True).to(dtypes.int32)
        self.full_kv_num_blocks = self.full_kv_indices = None
        self.full_q_num_blocks = self.full_q_indices = None

    def to_dense(self) -> Tensor:
        """The int32 (B, H, Q tiles, KV tiles) tile mask: 1 where a tile is computed."""
        return self._tiles

    def numel(self) -> int:
        return math.prod(self.shape)

    def sparsity(self) -> float:
        """The percentage of tiles skipped (PyTorch's formula: over whole tiles' elements)."""
        computed = int(self.kv_num_blocks.sum().item()) * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - computed / self.numel())

    def __repr__(self) -> str:
        def shape_or_none(t):
            return None if t is None else t.shape
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (f"BlockMask(\n    kv_num_blocks={self.kv_num_blocks.shape},\n"
                f"    kv_indices={self.kv_indices.shape},\n"
                f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
                f"    q_num_blocks={self.q_num_blocks.shape},\n"
                f"    q_indices={self.q_indices.shape},\n"
                f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shape_or_none(self.full_q_indices)},\n"
                f"    BLOCK_SIZE={self.BLOCK_SIZE},\n    shape={self.shape},\n"
                f"    sparsity={self.sparsity():.2f}%,\n    mask_mod={name}\n)")


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device="cpu", BLOCK_SIZE=128,
                      _compile=False) -> BlockMask:
    """A BlockMask for `mask_mod` over (B, H, Q_LEN, KV_LEN); B or H None means 1 (the mask
    broadcasts over that dim).

    >>> causal = lambda b, h, q_idx, kv_idx: q_idx >= kv_idx
    >>> create_block_mask(causal, None, None, 256, 256).to_dense()[0, 0]
    tensor([[1, 0],
            [1, 1]], dtype=torch.int32)
    """
    B, H = B or 1, H or 1
    rows, cols = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else tuple(BLOCK_SIZE)
    allowed = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device).to(dtypes.int32)
    q_tiles, kv_tiles = -(-Q_LEN // rows), -(-KV_LEN // cols)
    allowed = pad(allowed, (0, kv_tiles * cols - KV_LEN, 0, q_tiles * rows - Q_LEN))
    tiles = allowed.reshape(B, H, q_tiles, rows, kv_tiles, cols).amax((-1, -3))
    return BlockMask(tiles.to(dtypes.int32), (B, H, Q_LEN, KV_LEN), (rows, cols), mask_mod)


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None,
                   enable_gqa=False, return_lse=False, kernel_options=None):
    """softmax(score_mod(Q K^T * scale) where mask_mod allows, else -inf) V over (B, H, L, E)
    inputs; rows with no allowed key give 0 (and lse -inf). return_lse: also the natural-log
    logsumexp of each row's scores, (B, H, L) in float32 (float64 for float64 inputs).

    >>> out = flex_attention(q, k, v, score_mod=lambda s, b, h, q_idx, kv_idx: s + (q_idx - kv_idx))
    """
    _validate(query, key, value, enable_gqa, block_mask)
    if kernel_options is not None and not isinstance(kernel_options, dict):
        raise TypeError(f"kernel_options must be a dict, got {type(kernel_options).__name__}")
    score_mod = _identity if score_mod is None else score_mod
    mask_mod = noop_mask if block_mask is None else block_mask.mask_mod
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key, value = key.repeat_interleave(groups, 1), value.repeat_interleave(groups, 1)
    if key.shape[0] != query.shape[0]:  # one key/value batch shared by every query batch
        key = key.expand(query.shape[0], *key.shape[1:])
        value = value.expand(query.shape[0], *value.shape[1:])
    working = dtypes.float64 if query.dtype == dtypes.float64 else dtypes.float32
    scores = query.to(working).matmul(key.to(working).transpose(-2, -1)) * scale
    B, H, L, S = scores.shape
    b, h, q_idx, kv_idx = _indices(B, H, L, S, query.device)
    minus_inf = full((), -math.inf, dtype=working, device=query.device)
    scores = where(mask_mod(b, h, q_idx, kv_idx), score_mod(scores, b, h, q_idx, kv_idx),
                   minus_inf)
    out = _safe_softmax(scores).to(query.dtype).matmul(value.to(query.dtype))
    if not return_lse:
        return out
    dead = (scores == -math.inf).all(-1)
    lse = where(dead, minus_inf, where(dead.unsqueeze(-1), 0.0, scores).logsumexp(-1))
    return out, lse


def _validate(query, key, value, enable_gqa, block_mask) -> None:
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but "
                         f"got E={query.shape[-1]} and E={key.shape[-1]}.")
    if not enable_gqa and query.shape[-3] != key.shape[-3]:
        raise ValueError(f"Expect query and key/value to have the same number of heads but got "
                         f"Hq={query.shape[-3]} and Hkv={key.shape[-3]}. Try setting "
                         f"enable_gqa=True for GQA.")
    if enable_gqa and query.shape[1] % key.shape[1]:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA "
                         f"but got Hq={query.shape[1]} and Hkv={key.shape[1]}.")
    if query.shape[0] != key.shape[0]:
        if block_mask is None:
            raise ValueError(f"Expect query and key/value to have the same batch size, or "
                             f"non-none block_mask, but got block_mask=None, "
                             f"Bq={query.shape[0]}, and Bkv={key.shape[0]}.")
        if block_mask.kv_num_blocks.shape[0] != query.shape[0]:
            raise ValueError(f"Expect query and key/value to have the same batch size, or "
                             f"block_mask and query to have the same batch size, but got "
                             f"Bq={query.shape[0]}, Bkv={key.shape[0]}, "
                             f"B_block_mask={block_mask.kv_num_blocks.shape[0]}.")
        if key.shape[0] != 1:
            raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={query.shape[0]} and "
                               f"Bkv={key.shape[0]}")
    if block_mask is not None and (query.shape[-2], key.shape[-2]) != tuple(block_mask.shape[-2:]):
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but "
                         f"got q_len={query.shape[-2]} and kv_len={key.shape[-2]}. Create a new "
                         f"block mask with the correct length.")
