"""Random programs for differential testing of `gt.compile` against eager execution.

`programs()` is a hypothesis strategy drawing a `Program`: the Python source of a function
``program(x0, x1, ...)`` that calls graphtorch ops on 1-3 floating inputs of
broadcast-compatible shapes (0-d and size-1 dimensions included), 3-15 op lines forming a
DAG (values are reused, some are dead, some lines are exact repeats for CSE), and 1-3
outputs. The very same function runs eagerly and compiled. Values stay finite: unbounded
ops see clamped or shifted arguments (``exp(clamp(x, -4, 4))``, ``log(abs(x) + 1)``,
division by ``abs(y) + 0.5``, ``pow`` with a positive base and a bounded exponent).

Shapes are tracked by hand as the program is drawn so every op line is valid; the shape
rules below mirror PyTorch's.
"""

from __future__ import annotations

import linecache
import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

import graphtorch as gt


@dataclass
class Program:
    """A drawn program: its source, the compiled-from-source function and its inputs."""

    source: str
    input_shapes: list[tuple]
    input_dtypes: list[str]
    num_outputs: int
    fn: object = field(repr=False, default=None)

    @property
    def low_precision(self) -> bool:
        """Whether any input is float32 (results then use float32 tolerances)."""
        return "float32" in self.input_dtypes or "float32" in self.source

    def make_inputs(self, seed: int, requires_grad=False, transposed: bool = False) -> list:
        """Fresh input tensors (normal values scaled by 1.5) drawn from `seed`.

        requires_grad: one flag for all inputs or one per input. transposed: inputs of rank
        >= 2 are non-contiguous (a permuted view of a reversed-shape array; not leaves, so
        only for inputs without grad)."""
        rng = np.random.default_rng(seed)
        flags = requires_grad if isinstance(requires_grad, (list, tuple)) else \
            [requires_grad] * len(self.input_shapes)
        out = []
        for shape, dtype, flag in zip(self.input_shapes, self.input_dtypes, flags):
            data = (rng.standard_normal(shape) * 1.5).astype(dtype)
            if transposed and len(shape) >= 2 and not flag:
                t = gt.tensor(np.ascontiguousarray(data.T)).permute(*reversed(range(len(shape))))
            else:
                t = gt.tensor(data)
            if flag:
                t.requires_grad_(True)
            out.append(t)
        return out


_COUNTER = [0]


def build_function(source: str):
    """Compile `source` (defining ``program``) under a unique file name registered with
    linecache, so tracebacks and the tracer's source lines show the program text."""
    _COUNTER[0] += 1
    filename = f"<random_program_{_COUNTER[0]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"gt": gt}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["program"]


# --- shape helpers ----------------------------------------------------------------------------

def broadcast(a: tuple, b: tuple) -> tuple | None:
    """PyTorch's broadcast of two shapes, or None when they do not broadcast."""
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _norm_dim(dim: int, rank: int) -> int:
    return dim + rank if dim < 0 else dim


# --- the program builder ----------------------------------------------------------------------

class _Builder:
    """Accumulates lines; `values` holds (name, shape) of everything defined so far."""

    def __init__(self, draw, input_shapes, known_bad: bool = False):
        self.draw = draw
        self.known_bad = known_bad
        self.values = [(f"x{i}", s) for i, s in enumerate(input_shapes)]
        self.lines: list[str] = []
        self.exprs: list[tuple[str, tuple]] = []   # (expression, shape) of each op line

    def pick(self, pred=lambda s: True):
        """(name, shape) of a defined value whose shape satisfies `pred` (recent ones
        favoured), or (None, None)."""
        cands = [v for v in self.values if pred(v[1])]
        if not cands:
            return (None, None)
        # Favour recent values so programs are deep rather than wide.
        i = self.draw(st.integers(0, len(cands) - 1))
        j = self.draw(st.integers(0, len(cands) - 1))
        return cands[max(i, j)]

    def emit(self, expr: str, shape: tuple) -> None:
        name = f"v{len(self.exprs)}"
        self.lines.append(f"    {name} = {expr}")
        self.exprs.append((expr, shape))
        self.values.append((name, tuple(shape)))

    def repeat(self) -> bool:
        """Repeat an earlier op line verbatim (a common subexpression)."""
        if not self.exprs:
            return False
        expr, shape = self.exprs[self.draw(st.integers(0, len(self.exprs) - 1))]
        self.emit(expr, shape)
        return True


def _dims(draw, rank: int) -> tuple:
    """A non-empty set of distinct dims of a rank >= 1 tensor, some negative."""
    dims = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    return tuple(d - rank if draw(st.booleans()) else d for d in dims)


UNARY = {
    # name: template ({x} is the argument)
    "exp": "gt.exp(gt.clamp({x}, -4.0, 4.0))",
    "tanh": "gt.tanh({x})",
    "sigmoid": "gt.sigmoid({x})",
    "relu": "gt.relu({x})",
    "sin": "gt.sin({x})",
    "cos": "{x}.cos()",
    "abs": "gt.abs({x})",
    "neg": "-{x}",
    "square": "gt.square(gt.clamp({x}, -6.0, 6.0))",
    "log": "gt.log(gt.abs({x}) + 1.0)",
    "log1p": "gt.log1p({x}.abs())",
    "sqrt": "gt.sqrt(gt.abs({x}) + 0.1)",
    "rsqrt": "gt.rsqrt({x}.abs() + 0.5)",
    "reciprocal": "gt.reciprocal(gt.abs({x}) + 0.5)",
    "expm1": "gt.expm1(gt.clamp({x}, -3.0, 3.0))",
    "erf": "gt.erf({x})",
    "clamp": "gt.clamp({x}, min=-1.5, max=2.0)",
    "clamp_min": "{x}.clamp_min(-0.5)",
    "scale": "{x} * 0.75",
    "shift": "{x} + 1.25",
    "rsub": "2.0 - {x}",
    "rdiv": "1.0 / ({x}.abs() + 1.0)",
    "scalar_pow": "gt.pow(gt.clamp({x}, -3.0, 3.0), 2)",
    "pow_scalar_base": "gt.pow(1.5, gt.tanh({x}))",
    "gelu": "gt.nn.functional.gelu({x})",
    "silu": "gt.nn.functional.silu({x})",
    "softplus": "gt.nn.functional.softplus({x})",
    "sign_mul": "gt.sign({x}) * {x}",
    "floor_add": "gt.floor({x}) + {x}",
    "clone": "{x}.clone()",
    "ones_like": "{x} + gt.ones_like({x})",
    "tensor_constant": "{x} * gt.tensor(1.5)",
    "masked_fill": "{x}.masked_fill({x} > 0.5, 0.5)",
    "inplace": "({x} * 1.0).add_(0.5).mul_(1.5)",
    "compare_cast": "({x} > 0).to({x}.dtype) * {x}",
    "to_float32": "{x}.to(gt.float32)",
    "to_float64": "{x}.to(gt.float64)",
    "where_scalar": "gt.where({x} > 0, {x}, 0.5)",
    "bool_mul": "({x} > 0.3) * {x}",
    "int_count": "({x} > 0).sum() + {x}",
}

# Ops the compiler gets wrong today (see test_random_programs.py); drawn only on request.
KNOWN_BAD_UNARY = {
    "detach": "{x}.detach() * 0.5 + {x}",
}

BINARY = {
    "add": "{a} + {b}",
    "sub": "gt.sub({a}, {b})",
    "mul": "gt.mul(gt.tanh({a}), {b})",
    "div": "{a} / (gt.abs({b}) + 0.5)",
    "maximum": "gt.maximum({a}, {b})",
    "minimum": "gt.minimum({a}, {b})",
    "pow": "gt.pow(gt.abs({a}) + 0.5, gt.clamp({b}, -2.0, 2.0))",
    "where_gt": "gt.where({a} > {b}, {a}, {b})",
    "where_lt0": "gt.where({a} < 0.25, {b}, {a} * 2.0)",
    "sub_method": "{a}.sub({b}, alpha=0.5)",
    "atan2": "gt.atan2({a}, gt.abs({b}) + 0.5)",
    "hypot": "gt.hypot({a}, gt.abs({b}) + 0.5)",
    "lerp": "gt.lerp({a}, {b}, 0.3)",
    "addcmul": "gt.addcmul({a}, {b}, gt.tanh({a}), value=0.5)",
}


def _unary(b: _Builder) -> bool:
    name, shape = b.pick()
    table = {**UNARY, **KNOWN_BAD_UNARY} if b.known_bad else UNARY
    op = b.draw(st.sampled_from(sorted(table)))
    b.emit(table[op].format(x=name), shape)
    return True


def _binary(b: _Builder) -> bool:
    a_name, a_shape = b.pick()
    b_name, b_shape = b.pick(lambda s: broadcast(a_shape, s) is not None)
    if b.draw(st.booleans()):
        a_name, a_shape, b_name, b_shape = b_name, b_shape, a_name, a_shape
    op = b.draw(st.sampled_from(sorted(BINARY)))
    b.emit(BINARY[op].format(a=a_name, b=b_name), broadcast(a_shape, b_shape))
    return True


def _reduce(b: _Builder) -> bool:
    name, shape = b.pick()
    rank = len(shape)
    if rank and b.draw(st.booleans()):
        return _reduce_one_dim(b, name, shape)
    op = b.draw(st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "var"]))
    if op in ("amin", "logsumexp", "var") and rank == 0:
        op = "sum"
    extra = ", correction=0" if op == "var" else ""
    if rank == 0 or b.draw(st.integers(0, 4)) == 0:
        if op in ("amax", "amin", "logsumexp") and rank:
            # Over every dim: an explicit dim tuple.
            dims = tuple(range(rank))
            b.emit(f"gt.{op}({name}, dim={dims})", ())
        else:
            b.emit(f"{name}.{op}({extra[2:]})", ())
        return True
    dims = _dims(b.draw, rank)
    keepdim = b.draw(st.booleans())
    norm = {_norm_dim(d, rank) for d in dims}
    out = tuple(1 if i in norm else s for i, s in enumerate(shape)) if keepdim else \
        tuple(s for i, s in enumerate(shape) if i not in norm)
    dim_text = str(dims[0]) if len(dims) == 1 and b.draw(st.booleans()) else str(dims)
    b.emit(f"gt.{op}({name}, dim={dim_text}, keepdim={keepdim}{extra})", out)
    return True


def _reduce_one_dim(b: _Builder, name: str, shape: tuple) -> bool:
    """Reductions and scans over one dim: prod, max(dim), cumsum, cummax, sort, topk."""
    rank = len(shape)
    d = b.draw(st.integers(-rank, rank - 1))
    op = b.draw(st.sampled_from(["prod", "max", "cumsum", "cummax", "sort", "topk"]))
    keepdim = b.draw(st.booleans())
    reduced = shape[:_norm_dim(d, rank)] + ((1,) if keepdim else ()) + \
        shape[_norm_dim(d, rank) + 1:]
    if op == "prod":
        b.emit(f"gt.prod(gt.tanh({name}) + 1.5, dim={d}, keepdim={keepdim})", reduced)
    elif op == "max":
        b.emit(f"gt.max({name}, dim={d}, keepdim={keepdim}).values", reduced)
    elif op == "cumsum":
        b.emit(f"gt.cumsum({name}, dim={d})", shape)
    elif op == "cummax":
        b.emit(f"gt.cummax({name}, dim={d}).values", shape)
    elif op == "sort":
        b.emit(f"gt.sort({name}, dim={d}, descending={keepdim}).values", shape)
    else:
        k = b.draw(st.integers(1, shape[d]))
        new = list(shape)
        new[d] = k
        b.emit(f"gt.topk({name}, {k}, dim={d}).values", tuple(new))
    return True


def _factorizations(n: int) -> list[tuple]:
    out = [(n,), (1, n), (n, 1)]
    for d in range(2, n):
        if n % d == 0:
            out.append((d, n // d))
    return out


def _view(b: _Builder) -> bool:
    name, shape = b.pick()
    rank = len(shape)
    kinds = ["reshape", "unsqueeze"]
    if rank >= 2:
        kinds += ["transpose", "permute", "mT", "tril"]
    if rank >= 1:
        kinds += ["slice", "narrow", "select", "flip", "expand", "flatten", "roll", "repeat",
                  "chunk", "index", "gather_rows"]
    if 1 in shape:
        kinds.append("squeeze")
    kind = b.draw(st.sampled_from(kinds))
    if kind == "reshape":
        n = math.prod(shape)
        new = b.draw(st.sampled_from(_factorizations(n)))
        if b.draw(st.booleans()):
            new = tuple(-1 if i == 0 else s for i, s in enumerate(new))
            real = tuple(n // max(1, math.prod(new[1:])) if s == -1 else s for s in new)
        else:
            real = new
        b.emit(f"{name}.reshape{new if len(new) > 1 else '(' + str(new[0]) + ',)'}", real)
    elif kind == "unsqueeze":
        d = b.draw(st.integers(-rank - 1, rank))
        nd = _norm_dim(d, rank + 1)
        b.emit(f"gt.unsqueeze({name}, {d})", shape[:nd] + (1,) + shape[nd:])
    elif kind == "transpose":
        i, j = b.draw(st.lists(st.integers(0, rank - 1), min_size=2, max_size=2, unique=True))
        new = list(shape)
        new[i], new[j] = new[j], new[i]
        b.emit(f"{name}.transpose({i}, {j - rank})", tuple(new))
    elif kind == "mT":
        b.emit(f"{name}.mT", shape[:-2] + (shape[-1], shape[-2]))
    elif kind == "permute":
        perm = tuple(b.draw(st.permutations(range(rank))))
        b.emit(f"{name}.permute{perm if rank > 1 else (perm[0],)}",
               tuple(shape[p] for p in perm))
    elif kind == "slice":
        d = b.draw(st.integers(0, rank - 1))
        size = shape[d]
        start = b.draw(st.integers(0, size - 1))
        stop = b.draw(st.integers(start + 1, size))
        step = b.draw(st.sampled_from([1, 1, 2]))
        idx = ", ".join([":"] * d + [f"{start}:{stop}:{step}"])
        new = list(shape)
        new[d] = len(range(start, stop, step))
        b.emit(f"{name}[{idx}]", tuple(new))
    elif kind == "narrow":
        d = b.draw(st.integers(0, rank - 1))
        start = b.draw(st.integers(0, shape[d] - 1))
        length = b.draw(st.integers(1, shape[d] - start))
        new = list(shape)
        new[d] = length
        b.emit(f"{name}.narrow({d}, {start}, {length})", tuple(new))
    elif kind == "select":
        d = b.draw(st.integers(0, rank - 1))
        i = b.draw(st.integers(-shape[d], shape[d] - 1))
        b.emit(f"{name}.select({d}, {i})", shape[:d] + shape[d + 1:])
    elif kind == "flip":
        dims = _dims(b.draw, rank)
        b.emit(f"gt.flip({name}, {dims})", shape)
    elif kind == "expand":
        new = tuple(b.draw(st.integers(2, 3)) if s == 1 and b.draw(st.booleans()) else s
                    for s in shape)
        lead = b.draw(st.sampled_from([(), (), (2,)]))
        sizes = lead + tuple(-1 if s == o and b.draw(st.booleans()) else s
                             for s, o in zip(new, shape))
        b.emit(f"{name}.expand{sizes if len(sizes) > 1 else '(' + str(sizes[0]) + ',)'}",
               lead + new)
    elif kind == "flatten":
        b.emit(f"gt.flatten({name})", (math.prod(shape),))
    elif kind == "tril":
        b.emit(f"gt.tril({name}, {b.draw(st.integers(-1, 1))})", shape)
    elif kind == "roll":
        d = b.draw(st.integers(0, rank - 1))
        b.emit(f"gt.roll({name}, {b.draw(st.integers(-2, 2))}, {d})", shape)
    elif kind == "repeat":
        reps = tuple(b.draw(st.integers(1, 2)) for _ in range(rank))
        b.emit(f"{name}.repeat{reps if rank > 1 else (reps[0],)}",
               tuple(r * s for r, s in zip(reps, shape)))
    elif kind == "chunk":
        d = b.draw(st.integers(0, rank - 1))
        size = -(-shape[d] // 2)
        new = list(shape)
        new[d] = size
        b.emit(f"{name}.chunk(2, dim={d})[0]", tuple(new))
    elif kind == "index":
        # x[None, -1, ..., None]: new axes, a negative integer index, an ellipsis.
        b.emit(f"{name}[None, -1, ..., None]", (1,) + shape[1:] + (1,))
    elif kind == "gather_rows":
        rows = b.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=4))
        b.emit(f"{name}[gt.tensor({rows})]", (len(rows),) + shape[1:])
    elif kind == "squeeze":
        d = b.draw(st.sampled_from([i for i, s in enumerate(shape) if s == 1]))
        b.emit(f"{name}.squeeze({d})", shape[:d] + shape[d + 1:])
    return True


def _join(b: _Builder) -> bool:
    name, shape = b.pick()
    rank = len(shape)
    if b.draw(st.booleans()):
        others = [v for v in b.values if v[1] == shape]
        parts = [name] + [b.draw(st.sampled_from(others))[0]
                          for _ in range(b.draw(st.integers(1, 2)))]
        d = b.draw(st.integers(-rank - 1, rank))
        nd = _norm_dim(d, rank + 1)
        b.emit(f"gt.stack([{', '.join(parts)}], dim={d})",
               shape[:nd] + (len(parts),) + shape[nd:])
        return True
    if rank == 0:
        return False
    d = b.draw(st.integers(0, rank - 1))
    others = [v for v in b.values
              if len(v[1]) == rank and all(s == t for i, (s, t) in enumerate(zip(v[1], shape))
                                           if i != d)]
    parts = [(name, shape)] + [b.draw(st.sampled_from(others))
                               for _ in range(b.draw(st.integers(1, 2)))]
    new = list(shape)
    new[d] = sum(p[1][d] for p in parts)
    dim_text = d - rank if b.draw(st.booleans()) else d
    b.emit(f"gt.cat([{', '.join(p[0] for p in parts)}], {dim_text})", tuple(new))
    return True


def _matmul(b: _Builder) -> bool:
    name, shape = b.pick(lambda s: len(s) >= 1)
    if shape is None:
        return False
    k = shape[-1]

    def fits(s):
        if len(s) == 1:
            return s[0] == k
        return len(s) >= 2 and s[-2] == k and (len(shape) == 1 or
                                               broadcast(shape[:-2], s[:-2]) is not None)

    o_name, o_shape = b.pick(fits)
    if o_name is None:
        # x @ x^T always fits.
        if len(shape) == 1:
            b.emit(f"gt.matmul({name}, {name})", ())
        else:
            b.emit(f"{name} @ {name}.mT", shape[:-1] + (shape[-2],))
        return True
    if len(shape) == 1 and len(o_shape) == 1:
        out = ()
    elif len(shape) == 1:
        out = o_shape[:-2] + (o_shape[-1],)
    elif len(o_shape) == 1:
        out = shape[:-1]
    else:
        out = broadcast(shape[:-2], o_shape[:-2]) + (shape[-2], o_shape[-1])
    if len(shape) == 2 and len(o_shape) == 2 and b.draw(st.booleans()):
        b.emit(f"gt.einsum('ij,jk->ik', gt.tanh({name}), {o_name}.to({name}.dtype))", out)
    else:
        b.emit(f"gt.matmul(gt.tanh({name}), {o_name}.to({name}.dtype))", out)
    return True


def _softmax(b: _Builder) -> bool:
    name, shape = b.pick(lambda s: len(s) >= 1)
    if shape is None:
        return False
    d = b.draw(st.integers(-len(shape), len(shape) - 1))
    op = b.draw(st.sampled_from(["softmax", "log_softmax", "layer_norm"]))
    if op == "layer_norm":
        b.emit(f"gt.nn.functional.layer_norm({name}, ({shape[-1]},))", shape)
    else:
        b.emit(f"gt.{op}({name}, dim={d})", shape)
    return True


STEPS = [
    (_unary, 6), (_binary, 5), (_reduce, 3), (_view, 4), (_join, 1), (_matmul, 2),
    (_softmax, 2),
]


def _input_shapes(draw) -> tuple[list[tuple], list[str]]:
    n = draw(st.integers(1, 3))
    rank = draw(st.integers(0, 3))
    base = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    shapes = []
    for _ in range(n):
        keep = draw(st.integers(0, rank))  # drop leading dims
        shape = tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in base[rank - keep:])
        shapes.append(shape)
    main = draw(st.sampled_from(["float64", "float64", "float32"]))
    dtypes = [main if draw(st.integers(0, 5)) else ("float32" if main == "float64" else "float64")
              for _ in range(n)]
    return shapes, dtypes


@st.composite
def programs(draw, min_ops: int = 3, max_ops: int = 15, known_bad: bool = False) -> Program:
    """A hypothesis strategy drawing a `Program` (see the module docstring); `known_bad`
    also draws the ops in `KNOWN_BAD_UNARY`."""
    shapes, dtypes = _input_shapes(draw)
    b = _Builder(draw, shapes, known_bad)
    n_ops = draw(st.integers(min_ops, max_ops))
    steps = [s for s, w in STEPS for _ in range(w)]
    while len(b.exprs) < n_ops:
        if b.exprs and draw(st.integers(0, 11)) == 0:
            b.repeat()
            continue
        draw(st.sampled_from(steps))(b)
    # Outputs: the last value plus up to two others (possibly inputs or their views).
    last = b.values[-1][0]
    extra = draw(st.lists(st.sampled_from([v[0] for v in b.values[:-1]]), max_size=2,
                          unique=True))
    outputs = [last] + [e for e in extra if e != last]
    args = ", ".join(f"x{i}" for i in range(len(shapes)))
    ret = outputs[0] if len(outputs) == 1 else "(" + ", ".join(outputs) + ",)"
    source = "\n".join([f"def program({args}):", *b.lines, f"    return {ret}", ""])
    return Program(source, shapes, dtypes, len(outputs), build_function(source))
