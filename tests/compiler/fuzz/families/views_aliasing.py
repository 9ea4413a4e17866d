"""Views and aliasing: chains of views (slicing with steps and negative indices, select,
narrow, unfold, diagonal, as_strided, expand, transpose/permute/movedim, view/reshape/
unflatten, split/chunk/unbind) with in-place writes through the views and through their
bases, returned views written after the call, Python reads of layout (``stride()``,
``is_contiguous()``, ``storage_offset()``, ``data_ptr()`` equality, ``_version``) branching
the code while the arguments' layouts change between calls, ``out=`` into arguments and
their views, and views mixed with autograd (in-place on views of leaves, on views of values
saved for backward).

Each line is kept only when PyTorch runs it on mirror tensors of the same shapes and
layouts, so the programs are valid PyTorch; writes PyTorch rejects (through an expanded or
self-overlapping view, into a leaf's view, into a value saved for backward) are kept now and
then on purpose: eager raises RuntimeError there and compiled must raise it too.
"""

from __future__ import annotations

import re
import warnings

from ..choice import Chooser
from ..scenario import Scenario
from .common import indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


def _torch_source(src: str) -> str:
    return re.sub(r"\bgt\.", "torch.", src)


class Mirror:
    """The program's tensors as PyTorch values: a line joins the program only when PyTorch
    runs it (or, for `try_line(..., may_fail=True)`, also when PyTorch raises RuntimeError:
    then it is the program's last line)."""

    def __init__(self, ch: Chooser, inputs: dict):
        import torch

        self.ch = ch
        self.ns = {"torch": torch}
        for name, src in inputs.items():
            exec(f"{name} = {_torch_source(src)}", self.ns)  # noqa: S102 - our own source
        self.lines: list[str] = []
        self.failed = False

    def shape(self, name: str) -> tuple:
        return tuple(self.ns[name].shape)

    def try_line(self, line: str, may_fail: bool = False) -> bool:
        trial = dict(self.ns)  # a failed in-place line may have written: values only matter
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(_torch_source(line), trial)  # noqa: S102 - our own source
        except RuntimeError:
            if may_fail and not self.failed:
                self.failed = True
                self.lines.append(line)
                return True
            return False
        except Exception:  # noqa: BLE001 - not valid PyTorch: leave the line out
            return False
        self.ns = trial
        self.lines.append(line)
        return True


# --- view expressions, parametrised by the viewed tensor's shape -------------------------

def _index(ch: Chooser, size: int) -> int:
    i = ch.integer(0, max(0, size - 1))
    return i - size if ch.boolean() else i


def _slice(ch: Chooser, size: int) -> str:
    size = max(size, 1)  # a size-0 dim: the bounds are clamped anyway
    start = ch.choice(["", str(ch.integer(0, max(0, size - 1))), str(-ch.integer(1, size))])
    stop = ch.choice(["", str(ch.integer(1, size)), str(-ch.integer(0, size - 1) or -1)])
    step = ch.choice(["", "", "2", "3"])
    return f"{start}:{stop}" + (f":{step}" if step else "")


def view_expr(ch: Chooser, b: str, shape: tuple) -> str:
    """A random view of `b` (shape `shape`); may be invalid (the mirror checks)."""
    rank = len(shape)
    if rank == 0:
        return ch.choice([f"{b}.view(1)", f"{b}.unsqueeze(0)", f"{b}.expand(3)", f"{b}[None]"])
    d = ch.integer(0, rank - 1)
    d2 = ch.integer(0, rank - 1)
    n = max(shape[d], 1)
    numel = 1
    for s in shape:
        numel *= s
    options = [
        f"{b}[{_index(ch, n)}]" if d == 0 else f"{b}.select({d - rank if ch.boolean() else d}, "
                                                f"{_index(ch, n)})",
        f"{b}[{', '.join([':'] * d + [_slice(ch, n)])}]",
        f"{b}[..., {_slice(ch, shape[-1])}]",
        f"{b}.narrow({d}, {ch.integer(-n, n - 1) if n else 0}, {ch.integer(0, max(0, n // 2))})",
        f"{b}.transpose({d}, {d2 - rank})", f"{b}.movedim({d}, {d2})", f"{b}.mT",
        f"{b}.permute({', '.join(map(str, reversed(range(rank))))})",
        f"{b}.unsqueeze({ch.integer(-rank - 1, rank)})", f"{b}.squeeze()",
        f"{b}.view(-1)", f"{b}.reshape(-1)", f"{b}.flatten()", f"{b}.view_as({b})",
        f"{b}.view({ch.choice([2, 3, 4, 6])}, -1)", f"{b}.reshape(-1, {ch.choice([2, 3])})",
        f"{b}.unflatten({d}, ({ch.choice([1, 2, 3])}, -1))",
        f"{b}.unfold({d}, {ch.integer(1, max(1, n))}, {ch.integer(1, 3)})",
        f"{b}.diagonal({ch.integer(-2, 2)}, {d}, {d2})",
        (f"{b}.as_strided(({ch.integer(1, 3)}, {ch.integer(1, 3)}), ({ch.integer(0, 4)}, "
         f"{ch.integer(1, 2)}), {ch.integer(0, 3)})"),
        f"{b}.as_strided(({ch.integer(1, 4)},), ({ch.integer(1, 3)},))",
        f"{b}.expand({', '.join(str(s if s != 1 else ch.choice([1, 3])) for s in shape)})",
        f"{b}[None].expand(2, {', '.join(map(str, shape))})",
        f"{b}.split({ch.integer(1, max(1, n))}, {d})[{ch.choice([0, -1])}]",
        f"{b}.chunk({ch.integer(1, 3)}, {d})[0]", f"{b}.unbind({d})[{_index(ch, n)}]",
        f"{b}.tensor_split({ch.integer(1, 3)}, {d})[-1]", f"{b}.detach()",
        f"{b}.contiguous()", f"{b}.to(gt.float32)", f"{b}.swapaxes(0, {d})",
        f"{b}[{_index(ch, n)}:, None]" if d == 0 else f"{b}[:, {_slice(ch, shape[1])}]",
    ]
    if numel and rank == 1 and numel % 2 == 0:
        options.append(f"{b}.view(2, -1)")
    return ch.choice(options)


# In-place writes of {v}; {o} is a Python or tensor operand.
WRITES = [
    "{v}.add_({o})", "{v}.mul_(-2.0)", "{v}.zero_()", "{v}.fill_(3.0)", "{v}.clamp_(-0.5, 0.5)",
    "{v}[...] = {v} * 0.5", "{v}.copy_({v}.flip(0))", "{v}.neg_()", "{v}.sub_({o}, alpha=2)",
    "{v}[0] = 7.0", "{v}[-1] = {o}", "{v}.masked_fill_({v} > 0, 0.0)", "{v} += {o}",
    "gt.add({v}, 1.0, out={v})", "{v}.addcmul_({v}, {v}, value=0.5)", "{v}.t_()",
    "{v}.unsqueeze_(0)", "{v}.index_fill_(0, gt.tensor([0]), -1.0)", "{v}.exp_()",
    "{v}.copy_(gt.arange({v}.numel(), dtype={v}.dtype).view({v}.shape))",
]
OPERANDS = ["1.5", "x1.sum() * 0.1", "x1.mean()", "gt.tensor(0.25)"]

# Python reads of layout and identity; {v}, {w} views, {b} the base (no data_ptr
# differences: an empty view's pointer is 0, so they would print addresses)
READS = [
    "{v}.stride()", "{v}.is_contiguous()", "{v}.storage_offset()",
    "{v}.data_ptr() == {b}.data_ptr()", "{v}.data_ptr() == {w}.data_ptr()",
    "{v}.storage_offset() - {b}.storage_offset()", "{v}._version",
    "{v}.shape", "{v}.is_contiguous() and {w}.is_contiguous()", "{b}._version",
    "{v}.contiguous().stride()", "{v}.reshape(-1).is_contiguous()",
]

ARGUMENT_SHAPES = [(3, 4), (4, 6), (2, 3, 4), (6,), (1, 4), (5, 1)]


def _inputs(ch: Chooser, grad: bool) -> tuple[dict, str, str]:
    """Mirror inputs, make_args source and observe source for arguments x0, x1."""
    shape = ch.choice(ARGUMENT_SHAPES)
    dims = ", ".join(map(str, shape))
    layout = ch.choice(["", "", ".t()" if len(shape) == 2 else "", "[::1]"])
    x0 = f"gt.randn({dims})"
    if layout == ".t()":
        x0 = f"gt.randn({', '.join(map(str, reversed(shape)))}).t()"
    if grad:
        make = (f"def make_args(call):\n    global LEAF\n"
                f"    LEAF = gt.randn({dims}, requires_grad=True)\n"
                f"    return ((LEAF * 1.0){layout if layout != '.t()' else ''}, gt.randn(3))")
        mirror = {"x0": f"gt.randn({dims}, requires_grad=True) * 1.0", "x1": "gt.randn(3)"}
    else:
        make = f"def make_args(call):\n    return ({x0}, gt.randn(3))"
        mirror = {"x0": x0, "x1": "gt.randn(3)"}
    observe = "LEAF = None\ndef observe():\n    return {'leaf': LEAF}"
    return mirror, make, observe


def _backward_after() -> str:
    return """\
        def after(call, out):
            outs = [t for t in (out if isinstance(out, (tuple, list)) else (out,))
                    if isinstance(t, gt.Tensor) and t.requires_grad and t.is_floating_point()]
            if outs:
                sum(((t * gt.linspace(-1.0, 1.0, t.numel()).view(t.shape)).sum()
                     for t in outs), gt.tensor(0.0)).backward()"""


def _add_view(m: Mirror, ch: Chooser, base: str, name: str, tries: int = 8) -> bool:
    for _ in range(tries):
        if m.try_line(f"{name} = {view_expr(ch, base, m.shape(base))}"):
            return True
    return False


def _add_write(m: Mirror, ch: Chooser, v: str, tries: int = 6) -> None:
    for _ in range(tries):
        line = ch.choice(WRITES).format(v=v, o=ch.choice(OPERANDS))
        if m.try_line(line, may_fail=ch.integer(0, 5) == 0):
            return


def _returns(ch: Chooser, m: Mirror, names: list[str]) -> str:
    picks = ch.subset(names, min_size=1)
    reads = [ch.choice(READS).format(v=ch.choice(names), w=ch.choice(names), b="b")
             for _ in range(ch.integer(0, 2))]
    reads = [r for r in reads if m.try_line(f"_r = {r}")]
    m.lines = [line for line in m.lines if not line.startswith("_r = ")]
    items = picks + reads + ch.subset(["b * 2.0", "x0", "b.sum()"])
    return "return (" + ", ".join(items) + ",)"


@kind
def view_chains(ch: Chooser) -> Scenario:
    """Chains of 1-3 views of an argument or an intermediate, writes through the last view
    or the base, views taken after the writes; returns a mix of them and layout reads."""
    calls = ch.integer(2, 4)
    grad = ch.integer(0, 2) == 0
    mirror, make, observe = _inputs(ch, grad)
    m = Mirror(ch, mirror)
    m.try_line(ch.choice(["b = x0", "b = x0 * 1.0", "b = x0.clone()", "b = x0.t()"
                          if len(m.shape("x0")) == 2 else "b = x0"]))
    names, current = ["b"], "b"
    for i in range(ch.integer(1, 3)):
        name = f"v{i}"
        if _add_view(m, ch, current, name):
            names.append(name)
            current = name if ch.integer(0, 2) else "b"
    for _ in range(ch.integer(1, 2)):
        _add_write(m, ch, ch.choice(names[1:] or names))
    if not m.failed and _add_view(m, ch, "b", "u"):
        names.append("u")
    ret = _returns(ch, m, names) if not m.failed else "return b"  # before m.lines: it
    lines = m.lines + [ret]                                          # trims trial reads
    return Scenario("", "", source(
        "def target(x0, x1):\n" + indent(lines), make, observe, _backward_after()),
        calls=calls, expect_eager_error="RuntimeError")


# Argument layouts that change between calls; all (3, 4)
LAYOUTS = ["gt.randn(3, 4)", "gt.randn(4, 3).t()", "gt.randn(3, 8)[:, ::2]",
           "gt.randn(1, 4).expand(3, 4)", "gt.randn(5, 4)[1:4]", "gt.randn(3, 4, 2)[..., 0]",
           "gt.randn(12).as_strided((3, 4), (1, 3))", "gt.randn(3, 1).expand(3, 4)"]
BRANCHES = [
    "x.view(-1) * 2.0 if x.is_contiguous() else x.reshape(-1) - 1.0",
    "x * x.stride()[0] + x.stride()[1]", "x + x.storage_offset()",
    "x.t().contiguous() if x.stride()[0] < x.stride()[1] else x * 3.0",
    "x.clone().mul_(2.0) if x.stride()[1] == 0 else x.add(1.0)",
    "x.sum(0) if x.data_ptr() == x[0].data_ptr() else x.sum(1)",
    "x * (x.contiguous().data_ptr() == x.data_ptr())",
    "x.contiguous().view(4, 3)", "x.reshape(2, 6) * 1.0",
    "x * len(set(x.stride()))", "x.unfold(1, 2, 2).sum(-1)",
]


@kind
def layout_branches(ch: Chooser) -> Scenario:
    """Python reads of an argument's layout (stride, is_contiguous, storage_offset,
    data_ptr of its views) branching the code, while the argument's layout changes between
    calls (transposed, strided, expanded, as_strided, offset): each call must take eager's
    branch and return eager's layout."""
    calls = ch.integer(3, 5)
    layouts = [ch.choice(LAYOUTS) for _ in range(calls)]
    body = ch.choice(BRANCHES)
    extra = ch.choice(["", ", x.stride()", ", x.is_contiguous()", ", x"])
    return Scenario("", "", source(
        f"LAYOUTS = [{', '.join(f'lambda: {s}' for s in layouts)}]",
        f"def target(x):\n    return ({body}{extra},)",
        "def make_args(call):\n    return (LAYOUTS[call](),)"),
        calls=calls, expect_eager_error="RuntimeError")


# After the call, user code writes through a returned tensor; {i} picks an output
LATER_WRITES = ["out[{i}].mul_(0.0)", "out[{i}].add_(1.0)", "out[{i}][0] = 9.0",
                "out[{i}].fill_(-2.0)", "out[{i}].zero_()"]


@kind
def returned_views_written(ch: Chooser) -> Scenario:
    """Views of an argument and of an intermediate returned, then written through after the
    call (under no_grad): the argument, the other outputs and the base must see the write
    exactly as in eager."""
    calls = ch.integer(2, 3)
    mirror, make, _ = _inputs(ch, grad=False)
    m = Mirror(ch, mirror)
    m.try_line(ch.choice(["b = x0", "b = x0 * 2.0", "b = gt.tanh(x0)"]))
    names = ["b"]
    for i in range(ch.integer(1, 3)):
        if _add_view(m, ch, ch.choice(names), f"v{i}"):
            names.append(f"v{i}")
    picks = ch.subset(names + ["x0"], min_size=2)
    writes = [ch.choice(LATER_WRITES).format(i=ch.integer(0, len(picks) - 1))
              for _ in range(ch.integer(1, 2))]
    after = "def after(call, out):\n    with gt.no_grad():\n" + "".join(
        f"        try:\n            {w}\n        except Exception:  # the same in both runs\n"
        "            pass\n" for w in writes)
    return Scenario("", "", source(
        "def target(x0, x1):\n" + indent(m.lines + [f"return ({', '.join(picks)},)"]),
        make, after), calls=calls, expect_eager_error="RuntimeError")


OUT_OPS = ["gt.add(x0, 1.0, out={o})", "gt.mul(x0, x0, out={o})", "gt.tanh(x0, out={o})",
           "gt.neg(x0, out={o})", "gt.clamp(x0, -0.5, 0.5, out={o})",
           "gt.where(x0 > 0, x0, 0.0, out={o})", "gt.sum(x0, 0, out={o})",
           "gt.matmul(x0, x0.t(), out={o})", "gt.cumsum(x0, 1, out={o})",
           "gt.maximum(x0, x0 * -1.0, out={o})", "gt.sub(x0, x0[0], out={o})"]
OUT_DESTINATIONS = ["buf", "buf.t()", "buf[0]", "buf[:, ::2]", "x0", "x0.t()", "x0[1:]",
                    "gt.empty(0)", "gt.empty(3, 4)", "gt.empty(2, 2)", "buf.view(-1)",
                    "x0.view(4, 3)", "buf[:2]"]


@kind
def out_arguments(ch: Chooser) -> Scenario:
    """``out=`` into an argument, a (non-contiguous) view of one, the op's own input, an
    empty tensor resized, or a tensor of the wrong size (resized with a warning): the
    result, the argument and the returned ``out`` must be as eager's."""
    calls = ch.integer(2, 3)
    m = Mirror(ch, {"x0": "gt.randn(3, 4)", "buf": "gt.zeros(4, 3)"})
    lines = []
    for _ in range(8):
        op = ch.choice(OUT_OPS)
        dest = ch.choice(OUT_DESTINATIONS)
        line = f"r = {op.format(o='o')}"
        if m.try_line(f"o = {dest}") and m.try_line(line, may_fail=ch.integer(0, 4) == 0):
            lines = m.lines
            break
        m.lines.clear()
    if not lines:
        lines = ["o = gt.empty(3, 4)", "r = gt.add(x0, 1.0, out=o)"]
    ret = ch.choice(["(r, o)", "r", "(r is o, o, x0)", "(r.shape, o.stride(), buf)",
                     "(r.data_ptr() == o.data_ptr(), x0)"])
    return Scenario("", "", source(
        "def target(x0, buf):\n" + indent(lines + [f"return {ret}"]),
        "def make_args(call):\n    return (gt.randn(3, 4), gt.zeros(4, 3))"),
        calls=calls, expect_eager_error="RuntimeError")


AUTOGRAD_BODIES = [
    # in-place through a view of a non-leaf: CopySlices, gradients through both paths
    ["y = x * 2.0", "v = {view}", "v.mul_(3.0)", "return y"],
    ["y = x * 1.0", "v = {view}", "v.add_(w)", "return y, v"],
    # a view of a leaf written in place: RuntimeError in eager
    ["v = {leafview}", "v.mul_(2.0)", "return v"],
    # a value saved for backward written afterwards: backward raises (in after)
    ["y = x.exp()", "z = y * 1.0", "y.add_(1.0)", "return z"],
    ["y = x.sigmoid()", "v = {yview}", "v.zero_()", "return y"],
    ["y = x.tanh()", "s = y.sum()", "y[0] = 0.0", "return s, y"],
    # detach()/data views share memory but not history
    ["y = x * 1.0", "d = y.detach()", "d.mul_(2.0)", "return y, d"],
    ["y = x * 1.0", "y.data[0] = 5.0", "return y * y"],
    # write into a view of an intermediate from a value that needs grad
    ["y = gt.zeros(3, 4)", "y[1:].copy_(x[1:] * w.sum())", "return y"],
    ["y = x.clone()", "y.diagonal().mul_(w[0])", "return y.sum(0)"],
    ["y = x * 1.0", "y.t()[::2] = 1.0", "return y"],
    ["y = x.clone()", "y.unfold(1, 2, 2).mul_(2.0)", "return y"],
]


@kind
def autograd_views(ch: Chooser) -> Scenario:
    """Views mixed with autograd: in-place through views of non-leaves (gradients through
    CopySlices), writes into views of leaves (an error), values saved for backward written
    afterwards (backward raises), ``detach()``/``.data`` aliases written; ``.grad`` of the
    leaves compared after a backward."""
    calls = ch.integer(2, 3)
    body = ch.choice(AUTOGRAD_BODIES)
    views = ["y[0]", "y[:, 1:3]", "y.t()", "y.view(-1)[::3]", "y.diagonal()", "y[-1, ::2]",
             "y.narrow(1, -2, 2)", "y.unsqueeze(0)[0, 1]", "y.as_strided((2, 2), (4, 1), 1)"]
    filled = [line.format(view=ch.choice(views), yview=ch.choice(views),
                          leafview=ch.choice(views).replace("y", "x"))
              for line in body]
    w_grad = ch.boolean()
    return Scenario("", "", source(
        "X = None\nW = None",
        "def target(x, w):\n" + indent(filled),
        "def make_args(call):\n    global X, W\n"
        "    X = gt.randn(3, 4, requires_grad=True)\n"
        f"    W = gt.randn(4, requires_grad={w_grad})\n    return (X, W)",
        "def observe():\n    return {'x': X, 'w': W}", _backward_after()),
        calls=calls, expect_eager_error="RuntimeError")
