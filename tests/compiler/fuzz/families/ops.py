"""Random straight-line programs over a wide slice of the op table (`op_lines`): elementwise
ops on float, integer and bool tensors with Python scalars (type promotion), reductions with
dim/keepdim/negative dims, scans, sorting and top-k, movement ops and views, advanced and
boolean indexing, scatter/gather, in-place writes into clones, matmul broadcasting, softmax
and normalisation. Inputs have random shapes (size-0 and size-1 dims included) and layouts
(contiguous, transposed, sliced with a step, expanded), some require grad (a backward after
the call). Every line is kept only when PyTorch accepts it, so the program is valid PyTorch;
compiled must equal eager in values, dtypes, shapes, strides, aliasing and gradients."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import indent, source
from .op_lines import CATEGORIES, FLOAT, INT, LineBuilder, to_torch_source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


LAYOUTS = ("contiguous", "contiguous", "transposed", "stepped", "expanded", "offset")


def _shape(ch: Chooser, rank: int) -> tuple:
    return tuple(ch.choice([1, 2, 3, 3, 4, 5, 0] if ch.integer(0, 4) else [2, 3])
                 for _ in range(rank))


def _factory(shape: tuple, dtype: str, requires_grad: bool) -> str:
    dims = ", ".join(map(str, shape)) if shape else "()"
    if dims != "()" and len(shape) == 1:
        dims = f"({dims},)"
    elif dims != "()":
        dims = f"({dims})"
    grad = ", requires_grad=True" if requires_grad else ""
    if dtype in FLOAT:
        return f"gt.randn({dims}, dtype=gt.{dtype}{grad})"
    if dtype == "bool":
        return f"gt.randint(0, 2, {dims}).bool()"
    low = 0 if dtype == "uint8" else -4
    return f"gt.randint({low}, 5, {dims}, dtype=gt.{dtype})"


def _input(ch: Chooser, name: str, rank: int) -> tuple[list[str], bool, str | None]:
    """Lines making input `name`, whether it requires grad, and the leaf name when it is a
    view of a leaf (its gradient is observed through LEAVES)."""
    dtype = ch.choice(FLOAT * 4 + INT + ("bool",))
    shape = _shape(ch, rank)
    layout = ch.choice(LAYOUTS) if rank else "contiguous"
    grad = dtype in FLOAT and ch.integer(0, 2) > 0
    if layout == "contiguous":
        return [f"{name} = {_factory(shape, dtype, grad)}"], grad, None
    base = f"{name}_base"
    if layout == "transposed":
        make = f"{_factory(shape[::-1], dtype, grad)}"
        view = f"{base}.permute({', '.join(map(str, range(rank - 1, -1, -1)))})"
    elif layout == "stepped":
        make = _factory((shape[0] * 2 + 1,) + shape[1:], dtype, grad)
        view = f"{base}[1::2]"
    elif layout == "offset":
        make = _factory(shape[:-1] + (shape[-1] + 2,), dtype, grad)
        view = f"{base}[..., 2:]"
    else:
        make = _factory((1,) + shape[1:], dtype, grad)
        view = f"{base}.expand({', '.join(map(str, shape))})"
    lines = [f"{base} = {make}", f"{name} = {view}"]
    if grad:
        lines.append(f"LEAVES.append({base})")
    return lines, grad, base if grad else None


def _program(ch: Chooser, weights: dict[str, int], min_lines: int, max_lines: int):
    import torch

    torch.manual_seed(0)
    ninputs = ch.integer(1, 3)
    rank = ch.integer(0, 3)
    ns: dict = {"torch": torch, "LEAVES": []}
    other: dict = {"torch": torch, "LEAVES": []}
    input_lines, names, any_grad = [], [], False
    for i in range(ninputs):
        name = "abc"[i]
        lines, grad, _ = _input(ch, name, rank if ch.integer(0, 3) else ch.integer(0, 3))
        exec(to_torch_source("\n".join(lines)), ns)  # noqa: S102 - our source
        exec(to_torch_source("\n".join(lines)), other)  # noqa: S102 - other values
        input_lines += lines
        names.append(name)
        any_grad |= grad
    b = LineBuilder(ch, ns, other)
    for name in names:
        b.add_input(name)
    categories = [c for c, w in weights.items() for _ in range(w)]
    target = ch.integer(min_lines, max_lines)
    attempts = 0
    while len(b.lines) < 3 * target and len([v for v in b.values if v.startswith("v")]) < \
            target and attempts < 40 * target:
        attempts += 1
        x = ch.choice(b.values[-4:] + b.values) if ch.integer(0, 2) else b.values[-1]
        # a value-sized operand: literal indices and sizes may not fit other values
        category = "elementwise" if x in b.dynamic else ch.choice(categories)
        made = CATEGORIES[category](b, x)
        if made is None:
            continue
        if isinstance(made, list):
            b.try_lines(made, made[0].split(" = ")[0])
        else:
            name = b.new_name()
            b.try_lines([f"{name} = {made}"], name)
    produced = [v for v in b.values if v.startswith("v")] or names[:1]
    outs = [produced[-1]] + [v for v in produced[:-1] + names if ch.integer(0, 4) == 0]
    return input_lines, names, b, outs, any_grad


BACKWARD = '''\
def after(call, out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss = sum((o.float().sum() for o in outs if o.requires_grad), gt.zeros(()))
    if loss.requires_grad:
        loss.backward()'''


def _backward_works(ns: dict, outs: list[str]) -> bool:
    import torch

    try:
        loss = sum((ns[o].float().sum() for o in outs if ns[o].requires_grad), torch.zeros(()))
        if loss.requires_grad:
            loss.backward()
    except Exception:  # noqa: BLE001 - an op without a derivative: no backward
        return False
    return True


def _scenario(ch: Chooser, weights: dict[str, int], min_lines=2, max_lines=6) -> Scenario:
    input_lines, names, b, outs, any_grad = _program(ch, weights, min_lines, max_lines)
    ret = outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ",)"
    backward = any_grad and _backward_works(b.ns, outs)
    calls = ch.integer(2, 3)
    return Scenario("", "", source(
        "LEAVES = []",
        f"def target({', '.join(names)}):\n" + indent(b.lines + [f"return {ret}"]),
        "def make_args(call):\n" + indent(input_lines + [f"return ({', '.join(names)},)"]),
        BACKWARD if backward else "",
        "def observe():\n    return {'leaves': list(LEAVES)}"),
        calls=calls, compile_kwargs=ch.choice([{}, {}, {"dynamic": True}]))


@kind
def elementwise(ch: Chooser) -> Scenario:
    """Elementwise ops across dtypes with scalars, comparisons, where/clamp."""
    return _scenario(ch, {"elementwise": 4, "movement": 1, "reduction": 1})


@kind
def reductions(ch: Chooser) -> Scenario:
    """Reductions, scans, sorting and top-k on random shapes and layouts."""
    return _scenario(ch, {"reduction": 4, "elementwise": 1, "movement": 1})


@kind
def movement(ch: Chooser) -> Scenario:
    """Views and copies that move data; returned views must alias as eager's do."""
    return _scenario(ch, {"movement": 4, "elementwise": 1, "indexing": 1})


@kind
def indexing(ch: Chooser) -> Scenario:
    """Advanced/boolean indexing, scatter/gather, in-place writes into clones."""
    return _scenario(ch, {"indexing": 4, "elementwise": 1, "movement": 1})


@kind
def mixed(ch: Chooser) -> Scenario:
    """Every category, matmul broadcasting and normalisation included."""
    return _scenario(ch, {"elementwise": 2, "reduction": 2, "movement": 2, "indexing": 2,
                          "linear_algebra": 2, "assorted": 1}, 3, 8)


@kind
def assorted(ch: Chooser) -> Scenario:
    """The rest of the table: unique, bincount, histc, searchsorted, repeat_interleave,
    kron, trapezoid, quantile, cov, masked_scatter, put_, cross, stacking, special."""
    return _scenario(ch, {"assorted": 4, "elementwise": 1, "movement": 1})
