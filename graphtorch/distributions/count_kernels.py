"""ATen's CPU Poisson and binomial samplers (`torch.poisson`, `torch.binomial`), ported so
seeded draws equal PyTorch's: one element after another in memory order, each taking
53-bit uniforms from the generator until its rejection loop accepts (transformed rejection
for rate >= 10, a product of uniforms below; BTRS for count * p >= 10, inversion below)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["binomial", "poisson"]

# Stirling-series tails log k! - (k + 1/2) log(k + 1) + (k + 1) - log sqrt(2 pi), k = 0..9.
_STIRLING_TAILS = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                   0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                   0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                   0.00833056343336287)


def _uniform(generator) -> float:
    return float(generator.uniform(1, 0.0, 1.0, np.float64)[0])


def _poisson_one(lam: float, generator) -> float:
    if lam >= 10:  # transformed rejection (Hormann 1993)
        slam, loglam = math.sqrt(lam), math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = _uniform(generator) - 0.5
            v = _uniform(generator)
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return float(k)
            if k < 0 or (us < 0.013 and v > us):
                continue
            if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                    <= -lam + k * loglam - math.lgamma(k + 1.0)):
                return float(k)
    if lam == 0:
        return 0.0
    enlam, count, prod = math.exp(-lam), 0, 1.0
    while True:
        prod *= _uniform(generator)
        if prod <= enlam:
            return float(count)
        count += 1


def poisson(rates: np.ndarray, generator) -> np.ndarray:
    """One Poisson(rate) draw per element (as float, in the rates' dtype)."""
    flat = [_poisson_one(float(r), generator) for r in rates.ravel().tolist()]
    return np.array(flat, dtype=rates.dtype).reshape(rates.shape)


def _stirling_tail(k: float) -> float:
    if k <= 9:
        return _STIRLING_TAILS[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


def _binomial_inversion(count: float, prob: float, generator) -> float:
    geom_sum, num_geom = 0.0, 0.0
    logprob = math.log1p(-prob)
    while True:
        geom_sum += math.ceil(math.log(_uniform(generator)) / logprob)
        if geom_sum > count:
            return num_geom
        num_geom += 1


def _btrs(count: float, prob: float, generator) -> float:
    """Hormann's BTRS rejection sampler (for count * prob >= 10)."""
    stddev = math.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = math.floor((count + 1) * prob)
    while True:
        u = _uniform(generator) - 0.5
        v = _uniform(generator)
        us = 0.5 - abs(u)
        k = float(math.floor((2 * a / us + b) * u + c))
        if k < 0 or k > count:
            continue
        if us >= 0.07 and v <= v_r:
            return k
        v = math.log(v * alpha / (a / (us * us) + b))
        upperbound = ((m + 0.5) * math.log((m + 1) / (r * (count - m + 1)))
                      + (count + 1) * math.log((count - m + 1) / (count - k + 1))
                      + (k + 0.5) * math.log(r * (count - k + 1) / (k + 1))
                      + _stirling_tail(m) + _stirling_tail(count - m)
                      - _stirling_tail(k) - _stirling_tail(count - k))
        if v <= upperbound:
            return k


def _binomial_one(count: float, prob: float, generator, dtype) -> float:
    if count <= 0.0 or prob <= 0.0:
        return 0.0
    if prob >= 1.0:
        return count
    if prob <= 0.5:
        sampler = _btrs if count * prob >= 10.0 else _binomial_inversion
        return sampler(count, prob, generator)
    if prob > 0.5:
        q = float(dtype.type(1.0 - prob))  # PyTorch's scalar_t arithmetic
        sampler = _btrs if count * q >= 10.0 else _binomial_inversion
        return count - sampler(count, q, generator)
    return math.nan


def binomial(counts: np.ndarray, probs: np.ndarray, generator) -> np.ndarray:
    """One Binomial(count, prob) draw per element pair (same shapes)."""
    flat = [_binomial_one(float(n), float(p), generator, probs.dtype)
            for n, p in zip(counts.ravel().tolist(), probs.ravel().tolist())]
    return np.array(flat, dtype=probs.dtype).reshape(probs.shape)
