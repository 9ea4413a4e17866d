"""Random primitives: ops that draw from graphtorch's generator when they run.

They take no tensor inputs; their attributes give the shape and dtype. Inside `gt.trace`
they become graph nodes (so a traced dropout draws a fresh mask on every run, as eager
does); `random=True` tells passes never to merge or constant-fold them.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..random import default_generator, generator_or_default
from .registry import Category, OpDef, TensorMeta, register


def _bernoulli_kernel(xp, shape, p, dtype):
    mask = default_generator.bernoulli(p, tuple(shape), dtype.np_dtype)
    return mask if xp.__name__ == "numpy" else xp.asarray(mask)


def _bernoulli_infer(shape, p, dtype):
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return TensorMeta(tuple(shape), dtypes.as_dtype(dtype))


BERNOULLI_MASK = register(OpDef(
    "bernoulli_mask", Category.OPAQUE, _bernoulli_kernel, _bernoulli_infer, random=True,
    doc="a fresh 0/1 tensor, 1 with probability p (dropout's keep mask)"))


# Generator methods whose last argument is the dtype to draw in (the output's).
_TAKES_DTYPE = frozenset({"uniform", "normal"})


def draw(generator, method: str, args: tuple, np_dtype):
    """`method` of `generator` (None: the default one) with `args` (and the dtype). A
    complex dtype draws as PyTorch's CPU kernels do: 2n values of the real dtype (real and
    imaginary parts interleaved), a normal one with its std scaled by 1/sqrt(2)."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype is dtypes.BFLOAT16_NP and method in _TAKES_DTYPE:
        # PyTorch's CPU kernels draw bfloat16 as float32 values, rounded
        return draw(generator, method, args, np.float32).astype(np_dtype)
    if np_dtype.kind == "c" and method in _TAKES_DTYPE:
        n, a, b = args
        real = np.dtype(np_dtype.char.lower())  # complex64 -> float32, complex128 -> float64
        pair = (2 * n, a, b * np.sqrt(0.5)) if method == "normal" else (2 * n, a, b)
        values = getattr(generator_or_default(generator), method)(*pair, real)
        return np.ascontiguousarray(values, dtype=real).view(np_dtype)
    extra = (np_dtype,) if method in _TAKES_DTYPE else ()
    return getattr(generator_or_default(generator), method)(*args, *extra)


def _draw_kernel(xp, method, args, shape, dtype, generator):
    values = draw(generator, method, args, dtype.np_dtype)
    array = values.reshape(shape).astype(dtype.np_dtype, copy=False)
    return array if xp.__name__ == "numpy" else xp.asarray(array)


def _draw_infer(method, args, shape, dtype, generator):
    return TensorMeta(tuple(shape), dtypes.as_dtype(dtype))


RANDOM_DRAW = register(OpDef(
    "random_draw", Category.OPAQUE, _draw_kernel, _draw_infer, random=True,
    doc="draws from a generator (`method` of graphtorch.random.Generator with `args`: "
        "uniform, normal, integers, permutation) as the eager functions do, in the same "
        "order, so a seeded compiled run equals the seeded eager run"))


def _seed_kernel(xp, seed, generator):
    generator_or_default(generator).manual_seed(seed)
    return xp.zeros((), dtype=xp.int64)


SEED = register(OpDef(
    "manual_seed", Category.OPAQUE, _seed_kernel,
    lambda seed, generator: TensorMeta((), dtypes.int64), side_effects=True,
    doc="reseeds a generator when it runs (`gt.manual_seed` inside compiled code); its "
        "output is a dummy 0-d tensor"))


# --- multinomial: PyTorch's CPU algorithms and draw order --------------------------------
# Without replacement (or for one sample) PyTorch takes the Gumbel-max route: one Exp(1)
# draw per probability, then the arg-max (top-k) of p / q. With replacement it walks each
# row's normalised cumulative distribution with one 53-bit uniform per sample. Both are
# replayed on `graphtorch.random`'s stream, so a seeded call returns PyTorch's indices.

def _gumbel_top_k(probs: np.ndarray, n_sample: int, gen) -> np.ndarray:
    """argmax / top-k of p / q with q ~ Exp(1), computed in the probabilities' dtype."""
    if not (np.all(probs >= 0) and np.all(probs < np.inf)):  # NaN fails both
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(probs.sum(axis=1, dtype=np.float64) == 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    q = gen.exponential(probs.size, 1.0).astype(probs.dtype).reshape(probs.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = probs / q
    if n_sample == 1:
        return np.argmax(keys, axis=1).reshape(-1, 1).astype(np.int64)
    # Largest first; equal keys (only zero-probability categories, in practice) by index.
    return np.argsort(-keys, axis=1, kind="stable")[:, :n_sample].astype(np.int64)


def _inverse_cdf(probs: np.ndarray, n_sample: int, gen) -> np.ndarray:
    """PyTorch's with-replacement kernel: a running sum in the dtype (float for half types),
    divided by the total, the last bucket forced to 1, one binary search per uniform."""
    acc = np.float32 if probs.dtype.itemsize < 4 else probs.dtype
    indices = np.empty((probs.shape[0], n_sample), dtype=np.int64)
    for row, p in enumerate(probs):
        if np.any(p < 0):
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if not np.all(np.isfinite(p)):
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
        cumulative = np.cumsum(p.astype(acc), dtype=acc)  # sequential, as the C loop
        total = cumulative[-1]
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cumulative = cumulative / total
        cumulative[-1] = 1
        uniforms = gen.uniform(n_sample, 0.0, 1.0, np.float64)
        # first bucket whose cumulative probability is not below the draw
        indices[row] = np.searchsorted(cumulative.astype(np.float64), uniforms, side="left")
    return indices



def _multinomial_kernel(xp, probs, num_samples, replacement, generator):
    host = probs if xp.__name__ == "numpy" else probs.get()
    rows = np.ascontiguousarray(host).reshape(-1, host.shape[-1])
    gen = generator_or_default(generator)
    if rows.shape[0] == 0:
        indices = np.zeros((0, num_samples), dtype=np.int64)
    elif not replacement or num_samples == 1:
        indices = _gumbel_top_k(rows, num_samples, gen)
    else:
        indices = _inverse_cdf(rows, num_samples, gen)
    indices = indices.reshape(host.shape[:-1] + (num_samples,))
    return indices if xp.__name__ == "numpy" else xp.asarray(indices)


MULTINOMIAL = register(OpDef(
    "multinomial", Category.OPAQUE, _multinomial_kernel,
    lambda probs, num_samples, replacement, generator: TensorMeta(
        tuple(probs.shape[:-1]) + (num_samples,), dtypes.int64, probs.device), random=True,
    doc="category indices drawn from the rows of `probs` (torch.multinomial's CPU draws)"))


def _bernoulli_probs_kernel(xp, probs, shape, dtype, generator, check):
    host = probs if xp.__name__ == "numpy" else probs.get()
    if check and (np.any(host < 0) or np.any(host > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    out = generator_or_default(generator).bernoulli(host, tuple(shape), dtype.np_dtype)
    return out if xp.__name__ == "numpy" else xp.asarray(out)


BERNOULLI = register(OpDef(
    "bernoulli", Category.OPAQUE, _bernoulli_probs_kernel,
    lambda probs, shape, dtype, generator, check: TensorMeta(tuple(shape),
                                                            dtypes.as_dtype(dtype),
                                                            probs.device), random=True,
    doc="0/1 draws, 1 where a uniform is below the probability tensor (PyTorch's CPU "
        "bernoulli: the uniform's precision follows the probabilities' dtype)"))
