"""Random numbers that match PyTorch's CPU generator bit for bit.

PyTorch's CPU generator is MT19937 seeded with `init_genrand(seed)`; NumPy's legacy
MT19937 seeding is the same algorithm, so its raw 32-bit stream equals PyTorch's. The
sampling formulas (uniform from the low 24/53 bits, Box-Muller normals) follow PyTorch's
CPU kernels, so `gt.manual_seed(1); gt.randn(5)` prints what PyTorch prints.
"""

from __future__ import annotations

import contextlib

import math
import time

import numpy as np

from .cuda import manual_seed_all
from .ops.dispatch import call
from .tensor import Tensor
from .trace_state import TracingError, current_tracer, user_frame

# float16 draws like float32 (24 bits) and rounds, as PyTorch's CPU kernel.
_FLOAT_BITS = {np.dtype(np.float32): 24, np.dtype(np.float16): 24, np.dtype(np.float64): 53}

# PyTorch's CPUGeneratorImplState, byte for byte (get_rng_state returns these 5056 bytes).
_STATE_LAYOUT = np.dtype([
    ("seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"),
    ("state", "<u8", (624,)), ("normal_x", "<f8"), ("normal_y", "<f8"), ("normal_rho", "<f8"),
    ("normal_is_valid", "<i4"), ("_pad", "V4"), ("float_normal", "<f4"),
    ("float_normal_is_valid", "u1"), ("_pad2", "V3")])


def _fma(a, b, c):
    """a * b + c rounded once, as PyTorch's FMA-contracted kernels compute it: Dekker's exact
    product and Knuth's exact sum, then one final rounding (float64 arrays)."""
    a = np.asarray(a, dtype=np.float64)
    b, c = np.float64(b), np.float64(c)
    if b == 1.0 and c == 0.0:
        return a
    if abs(b) > 1e300:  # Dekker's split of b overflows near float64's max: round twice there
        return a * b + c
    p = a * b
    split = 134217729.0  # 2**27 + 1
    t = split * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = split * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    product_err = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    s = p + c
    v = s - p
    sum_err = (p - (s - v)) + (c - v)
    return s + (sum_err + product_err)


def _libm(fn, values: np.ndarray) -> np.ndarray:
    """`fn` (a `math` function: the C library's, as PyTorch's scalar kernels call) per item;
    NumPy's float64 log/cos/sin are SIMD approximations that differ in the last bit."""
    return np.fromiter(map(fn, values.ravel().tolist()), dtype=np.float64,
                       count=values.size).reshape(values.shape)


def _tracing() -> bool:
    return current_tracer() is not None


def _record_seed(generator, seed) -> None:
    call(random_ops.SEED, seed=int(seed),
         generator=None if generator is default_generator else generator)


class Generator:
    """A random number generator (`torch.Generator`)."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(67280421310721)  # PyTorch's default seed

    def __repr__(self):
        return f"<torch._C.Generator object at {hex(id(self))}>"

    def manual_seed(self, seed: int) -> Generator:
        if _tracing():  # inside a trace: a graph op reseeding at every run, as eager code
            _record_seed(self, seed)
            return self
        seed = int(seed) & 0xFFFFFFFFFFFFFFFF  # PyTorch keeps the seed as uint64
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
        """The generator state as PyTorch's 5056-byte uint8 tensor (same bytes as torch's)."""
        mt = self._mt.state["state"]
        key, pos = mt["key"], int(mt["pos"])
        fresh = pos == 624 and np.array_equal(
            key, np.random.RandomState(self._seed & 0xFFFFFFFF)._bit_generator.state[
                "state"]["key"])
        record = np.zeros((), dtype=_STATE_LAYOUT)
        record["seed"] = self._seed
        record["left"] = 625 - pos
        record["seeded"] = 1
        record["next"] = 0 if fresh else pos
        record["state"] = key.astype(np.uint64)
        if self._next_double_normal is not None:
            record["normal_is_valid"] = 1
            record["normal_y"] = self._next_double_normal
        if self._next_float_normal is not None:
            record["float_normal_is_valid"] = 1
            record["float_normal"] = self._next_float_normal
        return Tensor._wrap(np.frombuffer(record.tobytes(), dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from `get_state` (also accepts PyTorch's own state tensors)."""
        raw = np.asarray(new_state.numpy() if hasattr(new_state, "numpy") else new_state)
        if raw.dtype != np.uint8 or raw.size != _STATE_LAYOUT.itemsize:
            raise RuntimeError(f"Expected either a THGeneratorState of size 5048 or a "
                               f"CPUGeneratorImplState of size {_STATE_LAYOUT.itemsize} but "
                               f"found the input RNG state size to be {raw.size}")
        record = np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype=_STATE_LAYOUT)[0]
        left = int(record["left"])
        if not 1 <= left <= 624:
            raise RuntimeError("The RNG state is invalid: `left` must be in [1, 624]")
        self._seed = int(record["seed"])
        self._mt.state = {"bit_generator": "MT19937",
                          "state": {"key": (record["state"] & 0xFFFFFFFF).astype(np.uint32),
                                    "pos": 625 - left}}
        self._next_double_normal = float(record["normal_y"]) if record["normal_is_valid"] \
            else None
        self._next_float_normal = float(record["float_normal"]) if \
            record["float_normal_is_valid"] else None
        return self

    # --- raw streams ---
    def _refuse_while_tracing(self) -> None:
        if current_tracer() is not None:
            source = user_frame()
            where = f"{source[0]}:{source[1]}" if source else "<unknown>"
            raise TracingError(f"{where}: random numbers cannot be drawn inside gt.trace yet "
                               "(the draw would be frozen into the graph as a constant); "
                               "trace in eval mode or pass random tensors as inputs")

    def random32(self, n: int) -> np.ndarray:
        self._refuse_while_tracing()
        return self._mt.random_raw(n).astype(np.uint64)

    def random64(self, n: int) -> np.ndarray:
        self._refuse_while_tracing()
        raw = self._mt.random_raw(2 * n).astype(np.uint64)
        return (raw[0::2] << np.uint64(32)) | raw[1::2]

    # --- distributions (PyTorch's CPU formulas) ---
    def uniform(self, n: int, low: float, high: float, dtype) -> np.ndarray:
        """U[low, high) as PyTorch's uniform_real: the low `digits` bits of one draw each,
        times (to - from) plus from with one rounding (an FMA). Below float64 the bounds and
        the arithmetic are float32's."""
        dtype = np.dtype(dtype)
        bits = _FLOAT_BITS.get(dtype, 24)
        raw = self.random64(n) if bits == 53 else self.random32(n)
        unit = (raw & np.uint64((1 << bits) - 1)).astype(np.float64) * 2.0 ** -bits
        if dtype == np.float64:
            return _fma(unit, float(high) - float(low), float(low))
        lo, hi = np.float32(low), np.float32(high)  # float32 arithmetic, also for float16
        span = float(np.float32(hi - lo))
        # unit * span is exact in float64; one more rounding stands in for float32's FMA.
        out = (unit * span + float(lo)).astype(np.float32).astype(dtype)
        # A value rounded up to `to` wraps to `from`, keeping [from, to) half-open.
        out[out == dtype.type(high)] = dtype.type(low)
        return out

    def normal(self, n: int, mean: float, std: float, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        if n >= 16:
            return self._normal_fill(n, mean, std, dtype)
        values = np.array([self._standard_normal_scalar() for _ in range(n)], dtype=np.float64)
        return _fma(values, float(std), float(mean)).astype(dtype)

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

    def _standard_normal_scalar(self) -> float:
        """One N(0, 1) draw of PyTorch's normal_distribution<double> (caches the twin)."""
        if self._next_double_normal is not None:
            value, self._next_double_normal = self._next_double_normal, None
            return value
        u1, u2 = (float(u) for u in self.uniform(2, 0.0, 1.0, np.float64))
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_double_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

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
        """Bernoulli(p) draws as PyTorch's CPU kernel: one uniform per element, 1 where it is
        below p. A scalar or float64 p compares a 53-bit double; float32/float16 probability
        arrays a 24-bit float (PyTorch's bernoulli_distribution<float>)."""
        n = int(np.prod(shape))
        p_dtype = getattr(p, "dtype", None)
        low_precision = p_dtype is not None and p_dtype != np.float64
        unit = self.uniform(n, 0.0, 1.0, np.float32 if low_precision else np.float64)
        return (unit.reshape(shape) < p).astype(dtype)

    def exponential(self, n: int, lambd: float) -> np.ndarray:
        """Exp(lambd) draws in float64 as PyTorch's CPU kernel: -1/lambd * log1p(-u) for
        one 53-bit uniform u each (the C library's log1p, as PyTorch calls it)."""
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
        unit = self.uniform(n, 0.0, 1.0, np.float64)
        return (-1.0 / lambd) * _libm(math.log1p, -unit)


def _box_muller_16(block, mean, std, work_dtype):
    """PyTorch's normal_fill_16: per block of 16 uniforms, the first 8 give radii and the
    last 8 angles. float64 calls the C library's log/cos/sin, as PyTorch's scalar kernel;
    float32 replays its AVX2 kernel (avx_mathfun's log and sincos, FMA-contracted as
    compiled) operation by operation, so the values are bit-identical."""
    if work_dtype == np.float64:
        u1 = 1.0 - block[:, :8]
        u2 = block[:, 8:]
        radius = np.sqrt(-2 * _libm(math.log, u1))
        theta = 2.0 * np.pi * u2
        first = _fma(radius * _libm(math.cos, theta), std, mean)
        second = _fma(radius * _libm(math.sin, theta), std, mean)
        return np.concatenate([first, second], axis=1)
    block = block.astype(_F32)
    u1 = _F32(1) - block[:, :8]
    radius = np.sqrt(_F32(-2) * _avx_log(u1))
    sin, cos = _avx_sincos(_F32(2.0 * np.pi) * block[:, 8:])
    out = np.empty(block.shape, dtype=_F32)
    out[:, :8] = _fma32(radius * cos, _F32(std), _F32(mean))
    out[:, 8:] = _fma32(radius * sin, _F32(std), _F32(mean))
    return out


_F32 = np.float32


def _fma32(a, b, c):
    """float32 a * b + c with one rounding (the product is exact in float64)."""
    return (np.asarray(a, dtype=np.float64) * np.float64(b) + c).astype(_F32)


def _poly32(x, coefficients):
    y = np.full(x.shape, coefficients[0], dtype=_F32)
    for c in coefficients[1:]:
        y = _fma32(y, x, _F32(c))
    return y


_LOG_P = (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
          1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
          3.3333331174E-1)


def _avx_log(x):
    """avx_mathfun's log256_ps (Cephes) on float32 arrays, x > 0."""
    bits = x.view(np.int32)
    exponent = ((bits >> 23) & 0xFF) - 0x7F
    x = ((bits & ~np.int32(0x7F800000)) | np.int32(0x3F000000)).view(_F32)  # mantissa in [.5, 1)
    small = x < _F32(0.707106781186547524)
    e = exponent.astype(_F32) + _F32(1) - small.astype(_F32)
    x = (x - _F32(1)) + np.where(small, x, _F32(0))
    z = x * x
    y = _poly32(x, _LOG_P) * x
    y = _fma32(y, z, e * _F32(-2.12194440e-4))
    y = _fma32(z, _F32(-0.5), y)
    return _fma32(e, _F32(0.693359375), x + y)


def _avx_sincos(x):
    """avx_mathfun's sincos256_ps (Cephes) on float32 arrays: (sin, cos)."""
    sign_sin = x.view(np.int32) & np.int32(-0x80000000)
    x = np.abs(x)
    j = (x * _F32(1.27323954473516)).astype(np.int32)
    j = (j + 1) & ~np.int32(1)
    y = j.astype(_F32)
    sign_sin = sign_sin ^ ((j & 4) << 29)
    sign_cos = (~(j - 2) & 4) << 29
    use_sin_poly = (j & 2) == 0
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, _F32(dp), x)  # extended-precision reduction to [-pi/4, pi/4]
    z = x * x
    cos_poly = _poly32(z, (2.443315711809948E-005, -1.388731625493765E-003,
                           4.166664568298827E-002)) * z
    cos_poly = _fma32(cos_poly, z, -(z * _F32(0.5))) + _F32(1)
    sin_poly = _poly32(z, (-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1)) * z
    sin_poly = _fma32(sin_poly, x, x)
    sin = np.where(use_sin_poly, sin_poly, cos_poly)
    cos = np.where(use_sin_poly, cos_poly, sin_poly)
    return ((sin.view(np.int32) ^ sign_sin).view(_F32),
            (cos.view(np.int32) ^ sign_cos).view(_F32))


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, and CuPy's when CuPy is installed and sees a GPU."""
    if _tracing():
        _record_seed(default_generator, seed)
        return default_generator
    default_generator.manual_seed(seed)
    manual_seed_all(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


seed._graph_break_reason = "seeding from the clock (gt.seed())"


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state: a uint8 tensor laid out as PyTorch's."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator from `get_rng_state()`."""
    default_generator.set_state(new_state)


set_rng_state._graph_break_reason = "restoring the generator's state (gt.set_rng_state)"
get_rng_state._graph_break_reason = "reading the generator's state (gt.get_rng_state)"


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda"):
    """``with gt.random.fork_rng():`` draws inside the block leave the default generator's
    state as it was before (as PyTorch's, for the CPU generator; graphtorch's CUDA draws
    come from the same generator)."""
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)


fork_rng._graph_break_reason = "saving and restoring the generator's state (fork_rng)"


def generator_or_default(generator) -> Generator:
    return default_generator if generator is None else generator


# The random ops draw from this module's generators; seeding inside a trace records one.
from .ops import random_ops  # noqa: E402
