"""CUDA source for fused elementwise nodes: one kernel per fused group, as text.

A fused node's subgraph (`passes.fusion`) becomes a straight-line CUDA body: one local
variable per op, computed in the dtype eager dispatch computes in (`compute_dtype`, inputs
cast to it, Python constants converted as NumPy's weak scalars are: ``x * 0.5`` on float32 is
``x * 0.5f``), then the group's outputs are stored. The body is wrapped two ways:

- `CudaKernel.source`: a complete translation unit with one ``extern "C" __global__``
  grid-stride kernel over the flat output (inputs of the output's shape read ``[i]``, one-
  element inputs read ``[0]``); what `cupy.RawKernel` compiles for C-contiguous operands,
  and what the CPU tests compile with ``nvcc --ptx``.
- `CudaKernel.elementwise_args()`: the same body for `cupy.ElementwiseKernel`, which
  broadcasts and follows strides (for broadcast or non-contiguous operands).

Ops follow PyTorch's semantics where NumPy's and CUDA's differ: ``maximum``/``minimum`` and
``relu`` propagate NaN, integer ``remainder``/``fmod`` by zero give 0 as the NumPy kernels do.
A group with an op, dtype or constant this module cannot express raises `Unsupported`; the
backend then runs that group op by op.

    kernel = fused_kernel(node)          # CudaKernel, or raises Unsupported
    name, source, params = fused_kernel_source(node)
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from ..ir.graph import Node, infer_args
from ..ops.dispatch import _wrap_int_scalar
from ..ops.shape_rules import compute_dtype, output_dtype

CTYPES = {"bool": "bool", "int8": "signed char", "uint8": "unsigned char", "int16": "short",
          "int32": "int", "int64": "long long", "float32": "float", "float64": "double"}


class Unsupported(Exception):
    """The group cannot become one CUDA kernel (the message says which op or dtype)."""


@dataclass(frozen=True)
class CudaKernel:
    """One fused group as CUDA: `body` computes locals from the inputs ``a<k>``; `stores`
    are the (output index, local) pairs; `params` are (name, numpy dtype name, is_output)."""

    name: str
    params: tuple
    body: str
    stores: tuple
    preamble: str
    scalar_inputs: frozenset  # inputs with one element (read at [0] by the flat kernel)
    broadcast: bool = False   # some input is broadcast: only ElementwiseKernel runs it

    @property
    def inputs(self):
        return [p for p in self.params if not p[2]]

    @property
    def outputs(self):
        return [p for p in self.params if p[2]]

    @property
    def source(self) -> str:
        """A complete CUDA translation unit: the flat grid-stride kernel."""
        args = [f"const {CTYPES[d]}* __restrict__ {n}_ptr" for n, d, _ in self.inputs]
        args += [f"{CTYPES[d]}* __restrict__ {n}_ptr" for n, d, _ in self.outputs]
        loads = [f"        const {CTYPES[d]} {n} = {n}_ptr[{self._index(n)}];"
                 for n, d, _ in self.inputs]
        stores = [f"        o{j}_ptr[i] = {v};" for j, v in self.stores]
        loop = ("    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;\n"
                "         i += (long long)gridDim.x * blockDim.x) {")
        how = ("broadcast operands: cupy.ElementwiseKernel runs this body" if self.broadcast
               else "flat kernel for C-contiguous operands; ElementwiseKernel otherwise")
        lines = [self.preamble.rstrip(), "", f"// {how}",
                 f'extern "C" __global__ void {self.name}(',
                 "    " + ",\n    ".join(args + ["long long n"]) + ") {", loop,
                 *loads, *_indent(self.body, 8), *stores, "    }", "}", ""]
        return "\n".join(lines).lstrip("\n")

    def _index(self, name: str) -> str:
        return "0" if name in self.scalar_inputs else "i"

    def elementwise_args(self):
        """(in_params, out_params, operation, name, preamble) for `cupy.ElementwiseKernel`."""
        ins = ", ".join(f"{d} {n}" for n, d, _ in self.inputs)
        outs = ", ".join(f"{d} {n}" for n, d, _ in self.outputs)
        operation = self.body + "\n" + "\n".join(f"o{j} = {v};" for j, v in self.stores)
        return ins, outs, operation, self.name + "_ew", self.preamble


def fused_kernel_source(node: Node):
    """(kernel name, complete CUDA source, params) for a fused node; params are
    (name, numpy dtype name, is_output) triples in argument order (then ``long long n``).
    Raises `Unsupported` for a group that is not one kernel."""
    k = fused_kernel(node)
    return k.name, k.source, k.params


def fused_kernel(node: Node) -> CudaKernel:
    """The `CudaKernel` for a fused node (raises `Unsupported`)."""
    return _Builder(node).build()


def _indent(text: str, n: int) -> list[str]:
    return [" " * n + line for line in text.splitlines()]


# --- literals ---------------------------------------------------------------------------

def literal(value, dtype) -> str:
    """C source for Python scalar `value` converted to numpy `dtype` (NumPy's weak-scalar
    rules: ints wrap around, floats round to the dtype)."""
    dtype = np.dtype(dtype)
    if isinstance(value, complex) or not isinstance(value, (bool, int, float, np.generic)):
        raise Unsupported(f"constant {value!r}")
    if dtype.kind == "b":
        return "true" if value else "false"
    if dtype.kind in "iu":
        if isinstance(value, float):
            raise Unsupported(f"float constant {value!r} in an integer op")
        v = _wrap_int_scalar(int(value), dtype)
        if dtype.itemsize == 8:
            if v == -2 ** 63:
                return "(-9223372036854775807LL - 1)"
            return f"{v}LL"
        if v == -2 ** 31:
            return "(-2147483647 - 1)"
        return str(v) if dtype.itemsize == 4 else f"(({CTYPES[dtype.name]}){v})"
    if dtype.kind != "f" or dtype.name not in CTYPES:
        raise Unsupported(f"dtype {dtype}")
    x = float(np.array(value, dtype=dtype)) if dtype.itemsize == 4 else float(value)
    single = dtype.itemsize == 4
    if math.isnan(x):
        return "__int_as_float(0x7fc00000)" if single else \
            "__longlong_as_double(0x7ff8000000000000LL)"
    if math.isinf(x):
        sign = "-" if x < 0 else ""
        return f"{sign}__int_as_float(0x7f800000)" if single else \
            f"{sign}__longlong_as_double(0x7ff0000000000000LL)"
    text = repr(x)
    return f"{text}f" if single else text


# --- helpers emitted into the preamble (guarded, so several kernels share one file) -------

HELPERS = {
    "gt_remainder": """template <typename T>
static __device__ __forceinline__ T gt_remainder(T a, T b) {
    // Python's modulo (sign of the divisor); an integer divisor of 0 gives 0 (NumPy).
    if (b == T(0)) return (T)(a - a);
    T r = a % b;
    return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? (T)(r + b) : r;
}
static __device__ __forceinline__ float gt_remainder(float a, float b) {
    float r = fmodf(a, b);
    if (r != 0.0f) { if ((b < 0.0f) != (r < 0.0f)) r += b; } else r = copysignf(0.0f, b);
    return r;
}
static __device__ __forceinline__ double gt_remainder(double a, double b) {
    double r = fmod(a, b);
    if (r != 0.0) { if ((b < 0.0) != (r < 0.0)) r += b; } else r = copysign(0.0, b);
    return r;
}""",
    "gt_fmod": """template <typename T> static __device__ __forceinline__ T gt_fmod(T a, T b) {
    return b == T(0) ? (T)(a - a) : (T)(a % b);
}
static __device__ __forceinline__ float gt_fmod(float a, float b) { return fmodf(a, b); }
static __device__ __forceinline__ double gt_fmod(double a, double b) { return fmod(a, b); }""",
    "gt_floor_divide": """template <typename T>
static __device__ __forceinline__ T gt_floor_divide(T a, T b) {
    // PyTorch's div_floor_floating.
    if (b == T(0)) return a / b;
    T mod = fmod(a, b);
    T div = (a - mod) / b;
    if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
    if (div == T(0)) return copysign(T(0), a / b);
    T fl = floor(div);
    return (div - fl > T(0.5)) ? fl + T(1) : fl;
}""",
}


def _preamble(names) -> str:
    parts = []
    for name in sorted(names):
        guard = f"GT_HELPER_{name.upper()}"
        parts.append(f"#ifndef {guard}\n#define {guard}\n{HELPERS[name]}\n#endif")
    return "\n".join(parts)


# --- op table -----------------------------------------------------------------------------

# Float functions: op name -> CUDA name for float (the double one drops the trailing f).
_FLOAT_FNS = {n: f"{n}f" for n in (
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "erfinv", "lgamma",
    "atan2", "hypot", "copysign", "nextafter")}
_FLOAT_FNS.update(asin="asinf", acos="acosf", atan="atanf", fmax="fmaxf", fmin="fminf")
_ROUNDING = {"floor": "floorf", "ceil": "ceilf", "trunc": "truncf", "round": "rintf"}
_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_BITWISE = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^"}
_LOGICAL = {"logical_and": "&&", "logical_or": "||", "logical_xor": "!="}


class _Builder:
    def __init__(self, node: Node):
        self.node = node
        self.sub = node.attrs["graph"]
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.names: dict[int, tuple[str, np.dtype]] = {}

    def build(self) -> CudaKernel:
        sub = self.sub
        shape = tuple(self.node.outputs[0].meta.shape)
        params, scalars, broadcast = [], set(), False
        for k, inp in enumerate(sub.inputs):
            meta = inp.outputs[0].meta
            dt = _np_dtype(meta.dtype)
            params.append((f"a{k}", dt.name, False))
            self.names[inp.outputs[0].id] = (f"a{k}", dt)
            if tuple(meta.shape) != shape:
                broadcast |= math.prod(meta.shape) != 1
                scalars.add(f"a{k}")
        for n in sub.op_nodes:
            self._emit(n)
        stores = []
        for j, v in enumerate(sub.outputs):
            dt = _np_dtype(v.meta.dtype)
            params.append((f"o{j}", dt.name, True))
            name, have = self.names[v.id]
            stores.append((j, name if have == dt else f"(({CTYPES[dt.name]}){name})"))
        body = "\n".join(self.lines)
        preamble = _preamble(self.helpers)
        ops = "_".join(dict.fromkeys(n.op.name for n in sub.op_nodes))[:40]
        digest = hashlib.sha1(repr((params, body, stores, sorted(scalars), broadcast))
                              .encode()).hexdigest()[:10]
        return CudaKernel(f"gt_fused_{ops}_{digest}", tuple(params), body, tuple(stores),
                          preamble, frozenset(scalars), broadcast)

    # --- one op ---

    def _emit(self, n: Node) -> None:
        op = n.op
        out_dt = _np_dtype(n.outputs[0].meta.dtype)
        if op.num_outputs != 1:
            raise Unsupported(f"{op.name} has several outputs")
        if op.promotion is not None:
            cd = compute_dtype(op.promotion, infer_args(n)).np_dtype
            if output_dtype(op.promotion, _dtype_of(cd)).np_dtype != out_dt:
                raise Unsupported(f"{op.name}: output dtype differs from its rule")
        else:
            cd = out_dt
        if cd.name not in CTYPES:
            raise Unsupported(f"{op.name} computes in {cd}")
        args = [self._operand(x, cd) for x in n.inputs]
        expr = self._expression(n, cd, args)
        ct = CTYPES[out_dt.name]
        var = f"v{n.outputs[0].id}"
        self.lines.append(f"const {ct} {var} = ({ct})({expr});  // {op.name}")
        self.names[n.outputs[0].id] = (var, out_dt)

    def _operand(self, x, cd: np.dtype) -> str:
        if isinstance(x, list):
            raise Unsupported("a list operand")
        if x.is_const:
            return literal(x.const, cd)
        name, dt = self.names[x.id]
        return name if dt == cd else f"(({CTYPES[cd.name]}){name})"

    def _expression(self, n: Node, cd: np.dtype, a: list[str]) -> str:
        name, attrs = n.op.name, dict(n.attrs)
        fl = cd.kind == "f"
        single = cd == np.float32

        def lit(value):
            return literal(value, cd)

        def fn(cname):  # a float function of the right precision
            if not fl:
                raise Unsupported(f"{name} on {cd}")
            return cname if single else cname[:-1]

        if name in ("add", "sub"):
            alpha = attrs.pop("alpha", 1)
            rhs = a[1] if alpha == 1 else f"{a[1]} * {lit(alpha)}"
            result = f"{a[0]} {'+' if name == 'add' else '-'} {rhs}"
        elif name == "mul":
            result = f"{a[0]} * {a[1]}"
        elif name == "div" and fl:
            result = f"{a[0]} / {a[1]}"
        elif name == "neg":
            result = f"-{a[0]}"
        elif name in _FLOAT_FNS:
            result = f"{fn(_FLOAT_FNS[name])}({', '.join(a)})"
        elif name in _ROUNDING and not attrs.get("decimals"):
            attrs.pop("decimals", None)
            result = f"{fn(_ROUNDING[name])}({a[0]})" if fl else a[0]
        elif name == "abs":
            result = f"{fn('fabsf')}({a[0]})" if fl else f"({a[0]} < 0 ? -{a[0]} : {a[0]})"
        elif name == "rsqrt":
            result = f"{lit(1)} / {fn('sqrtf')}({a[0]})"
        elif name == "reciprocal":
            result = f"{lit(1)} / {a[0]}"
        elif name == "sigmoid":
            result = f"{lit(1)} / ({lit(1)} + {fn('expf')}(-{a[0]}))"
        elif name == "silu":
            result = f"{a[0]} / ({lit(1)} + {fn('expf')}(-{a[0]}))"
        elif name == "relu":  # NaN stays NaN, as in PyTorch (NumPy's maximum(x, 0))
            result = f"(({a[0]} >= {lit(0)} || {a[0]} != {a[0]}) ? {a[0]} : {lit(0)})"
        elif name in ("maximum", "minimum"):  # NaN propagates from either side
            cmp = ">=" if name == "maximum" else "<="
            result = f"(({a[0]} {cmp} {a[1]} || {a[0]} != {a[0]}) ? {a[0]} : {a[1]})"
        elif name == "clamp":
            x = a[0]
            lo, hi = attrs.pop("min", None), attrs.pop("max", None)
            if lo is None and hi is None:
                raise Unsupported("clamp without bounds")
            if lo is not None:
                x = f"(({x} >= {lit(lo)} || {x} != {x}) ? {x} : {lit(lo)})"
            if hi is not None:
                x = f"(({x} <= {lit(hi)} || {x} != {x}) ? {x} : {lit(hi)})"
            result = x
        elif name == "hardtanh":
            lo, hi = lit(attrs.pop("min_val", -1.0)), lit(attrs.pop("max_val", 1.0))
            result = f"({a[0]} < {lo} ? {lo} : ({a[0]} > {hi} ? {hi} : {a[0]}))"
        elif name == "leaky_relu":
            slope = lit(attrs.pop("negative_slope", 0.01))
            result = f"({a[0]} > {lit(0)} ? {a[0]} : {a[0]} * {slope})"
        elif name == "elu" and fl:
            alpha = lit(attrs.pop("alpha", 1.0))
            result = (f"({a[0]} > {lit(0)} ? {a[0]} : {alpha} * "
                      f"{fn('expm1f')}({a[0]} < {lit(0)} ? {a[0]} : {lit(0)}))")
        elif name == "softplus" and fl:
            beta, thr = attrs.pop("beta", 1.0), attrs.pop("threshold", 20.0)
            z = f"({a[0]} * {lit(beta)})"
            soft = (f"({fn('log1pf')}({fn('expf')}(-{fn('fabsf')}({z}))) + "
                    f"({z} > {lit(0)} ? {z} : {lit(0)}))")
            result = f"({z} > {lit(thr)} ? {a[0]} : {soft} / {lit(beta)})"
        elif name == "gelu" and fl:
            x = a[0]
            if attrs.pop("approximate", "none") == "tanh":  # the registry kernel's order
                inner = f"{lit(math.sqrt(2 / math.pi))} * ({x} + {lit(0.044715)} * {x} * {x} * {x})"
                result = f"{lit(0.5)} * {x} * ({lit(1)} + {fn('tanhf')}({inner}))"
            else:
                result = (f"{lit(0.5)} * {x} * ({lit(1)} + "
                          f"{fn('erff')}({x} / {lit(math.sqrt(2.0))}))")
        elif name == "pow" and fl:
            e = n.inputs[1]
            if e.is_const and type(e.const) in (int, float) and e.const in (1, 2, 3):
                result = " * ".join([a[0]] * int(e.const))
            elif e.is_const and e.const == 0.5:
                result = f"{fn('sqrtf')}({a[0]})"
            else:
                result = f"{fn('powf')}({a[0]}, {a[1]})"
        elif name in _COMPARE:
            result = f"{a[0]} {_COMPARE[name]} {a[1]}"
        elif name in _LOGICAL:
            result = f"(bool){a[0]} {_LOGICAL[name]} (bool){a[1]}"
        elif name == "logical_not":
            result = f"!(bool){a[0]}"
        elif name in _BITWISE and not fl:
            result = f"{a[0]} {_BITWISE[name]} {a[1]}"
        elif name == "bitwise_not" and not fl:
            result = f"!{a[0]}" if cd.kind == "b" else f"~{a[0]}"
        elif name in ("isnan", "isinf", "isfinite", "signbit"):
            if fl:
                result = f"{name}({a[0]})"
            else:
                result = {"isnan": "false", "isinf": "false", "isfinite": "true",
                          "signbit": f"{a[0]} < 0"}[name]
        elif name == "sign":
            result = a[0] if cd.kind == "b" else \
                f"({a[0]} > {lit(0)} ? {lit(1)} : ({a[0]} < {lit(0)} ? {lit(-1)} : {a[0]}))"
        elif name in ("remainder", "fmod") and cd.kind != "b":
            self.helpers.add(f"gt_{name}")
            result = f"gt_{name}({a[0]}, {a[1]})"
        elif name == "floor_divide" and fl:
            self.helpers.add("gt_floor_divide")
            result = f"gt_floor_divide({a[0]}, {a[1]})"
        elif name == "trunc_divide" and fl:
            result = f"{fn('truncf')}({a[0]} / {a[1]})"
        elif name == "xlogy" and fl:
            result = (f"({a[1]} != {a[1]} ? {a[1]} : ({a[0]} == {lit(0)} ? {lit(0)} : "
                      f"{a[0]} * {fn('logf')}({a[1]})))")
        elif name == "where":
            result = f"({self._operand(n.inputs[0], np.dtype(bool))} ? {a[1]} : {a[2]})"
        elif name in ("to_dtype", "clone", "conj", "real"):  # real dtypes only (CTYPES)
            attrs.pop("dtype", None)
            attrs.pop("contiguous", None)
            result = a[0]
        elif name == "copy":
            result = a[1]
        elif name == "fill":
            result = a[1] if len(a) > 1 else lit(attrs.pop("value"))
        elif name == "nan_to_num" and fl:
            info = np.finfo(cd)
            nan = lit(attrs.pop("nan", 0.0) or 0.0)
            pos = attrs.pop("posinf", None)
            neg = attrs.pop("neginf", None)
            pos = lit(float(info.max) if pos is None else pos)
            neg = lit(float(info.min) if neg is None else neg)
            x = a[0]
            result = (f"({x} != {x} ? {nan} : ({x} == {lit(math.inf)} ? {pos} : "
                      f"({x} == {lit(-math.inf)} ? {neg} : {x})))")
        else:
            raise Unsupported(f"no CUDA expression for {name} on {cd}")
        if attrs:
            raise Unsupported(f"{name} with attributes {sorted(attrs)}")
        return result


def _np_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype.np_dtype)
    if dt.name not in CTYPES:
        raise Unsupported(f"dtype {dt}")
    return dt


def _dtype_of(np_dtype):
    from .. import dtypes

    return dtypes.from_numpy_dtype(np_dtype)


