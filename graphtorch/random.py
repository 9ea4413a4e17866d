"""Random numbers that match PyTorch's CPU generator bit for bit.

PyTorch's CPU generator is MT19937 seeded with `init_genrand(seed)`; NumPy's legacy
MT19937 seeding is the same algorithm, so its raw 32-bit stream equals PyTorch's. The
sampling formulas (uniform from the low 24/53 bits, Box-Muller normals) follow PyTorch's
CPU kernels, so `gt.manual_seed(1); gt.randn(5)` prints what PyTorch prints.
"""

from __future__ import annotations

import math
import time

import numpy as np

_FLOAT_BITS = {np.dtype(np.float32): 24, np.dtype(np.float16): 11, np.dtype(np.float64): 53}


class Generator:
    """A random number generator (`torch.Generator`)."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(67280421310721)  # PyTorch's default seed

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self._mt = np.random.RandomState(seed & 0xFFFFFFFF)._bit_generator
        self._next_double_normal = None
        self._next_float_normal = None
        return self

    def seed(self) -> int:
        seed = time.time_ns() & 0xFFFFFFFFFFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        state = self._mt.state
        return {"mt": state, "seed": self._seed, "normal": (self._next_double_normal,
                                                           self._next_float_normal)}

    def set_state(self, state) -> "Generator":
        self._seed = state["seed"]
        self._mt.state = state["mt"]
        self._next_double_normal, self._next_float_normal = state["normal"]
        return self

    # --- raw streams ---
    def random32(self, n: int) -> np.ndarray:
        return self._mt.random_raw(n).astype(np.uint64)

    def random64(self, n: int) -> np.ndarray:
        raw = self._mt.random_raw(2 * n).astype(np.uint64)
        return (raw[0::2] << np.uint64(32)) | raw[1::2]

    # --- distributions (PyTorch's CPU formulas) ---
    def uniform(self, n: int, low: float, high: float, dtype) -> np.ndarray:
        """U[low, high): the low `digits` bits of one draw each, scaled in double."""
        dtype = np.dtype(dtype)
        bits = _FLOAT_BITS.get(dtype, 24)
        raw = self.random64(n) if bits == 53 else self.random32(n)
        unit = (raw & np.uint64((1 << bits) - 1)).astype(np.float64) * 2.0 ** -bits
        return (unit * (high - low) + low).astype(dtype)

    def normal(self, n: int, mean: float, std: float, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        if n >= 16:
            return self._normal_fill(n, mean, std, dtype)
        return np.array([self._normal_scalar(mean, std) for _ in range(n)],
                        dtype=np.float64).astype(dtype)

    def _normal_fill(self, n, mean, std, dtype):
        # Box-Muller over blocks of 16 uniforms; a ragged tail redraws the last 16.
        data = self.uniform(n, 0.0, 1.0, dtype).astype(np.float64)
        work = dtype if dtype == np.float64 else np.float32
        out = np.empty(n, dtype=np.float64)
        full = n - n % 16
        if full:
            out[:full] = _box_muller_16(data[:full].reshape(-1, 16), mean, std, work).ravel()
        if n % 16:
            tail = self.uniform(16, 0.0, 1.0, dtype).astype(np.float64)
            out[n - 16:] = _box_muller_16(tail.reshape(1, 16), mean, std, work).ravel()
        return out.astype(dtype)

    def _normal_scalar(self, mean, std):
        if self._next_double_normal is not None:
            value, self._next_double_normal = self._next_double_normal, None
            return value * std + mean
        u1, u2 = self.uniform(2, 0.0, 1.0, np.float64)
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_double_normal = radius * math.sin(theta)
        return radius * math.cos(theta) * std + mean

    def integers(self, n: int, low: int, high: int) -> np.ndarray:
        """Uniform integers in [low, high): a draw modulo the range, as PyTorch."""
        span = high - low
        if span <= 0:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={low} >= to={high}")
        raw = self.random64(n) if span >= 1 << 32 else self.random32(n)
        return (raw % np.uint64(span)).astype(np.int64) + low

    def permutation(self, n: int) -> np.ndarray:
        """Fisher-Yates with PyTorch's CPU draw order."""
        perm = np.arange(n, dtype=np.int64)
        if n < 2:
            return perm
        raw = self.random32(n - 1)
        for i in range(n - 1):
            z = int(raw[i]) % (n - i)
            perm[i], perm[i + z] = perm[i + z], perm[i]
        return perm

    def bernoulli(self, p, shape, dtype) -> np.ndarray:
        """Bernoulli(p) draws (same distribution as PyTorch, not the same stream)."""
        n = int(np.prod(shape))
        unit = self.uniform(n, 0.0, 1.0, np.float64).reshape(shape)
        return (unit < p).astype(dtype)


def _box_muller_16(block, mean, std, work_dtype):
    u1 = (1.0 - block[:, :8]).astype(work_dtype)
    u2 = block[:, 8:].astype(work_dtype)
    radius = np.sqrt(-2 * np.log(u1))
    theta = (2.0 * np.pi * u2.astype(np.float64)).astype(work_dtype)
    first = radius * np.cos(theta) * std + mean
    second = radius * np.sin(theta) * std + mean
    return np.concatenate([first, second], axis=1)


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and CuPy's, when CUDA is in use)."""
    default_generator.manual_seed(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def generator_or_default(generator) -> Generator:
    return default_generator if generator is None else generator
