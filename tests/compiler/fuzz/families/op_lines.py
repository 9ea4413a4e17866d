"""Random op lines over a wide slice of the op table, each checked against PyTorch as it is
drawn: a `LineBuilder` keeps a PyTorch mirror of every value and keeps a line only when
PyTorch accepts it (with the same shapes, dtypes and layouts), so generated programs are
valid PyTorch by construction. Used by the ``ops`` family.

Each op writer takes the builder and one operand name and returns source (an expression, or
``None`` when it does not apply); ``{name}`` values are graphtorch source that runs under
PyTorch after ``gt.`` -> ``torch.``.
"""

from __future__ import annotations

import re
import warnings

from ..choice import Chooser

FLOAT = ("float32", "float64")
INT = ("int64", "int32", "uint8", "int8")


# ops whose result's shape depends on values (two samples may agree by chance)
DATA_DEPENDENT = re.compile(r"nonzero|masked_select|unique|bincount|argwhere|"
                            r"gt\.where\([^,]*\)|(?:[<>]=?|[=!]=)[^\]\n]*\]")


def to_torch_source(src: str) -> str:
    return re.sub(r"\bgt\.", "torch.", src)


class LineBuilder:
    """Values of a straight-line program with their PyTorch mirrors."""

    def __init__(self, ch: Chooser, torch_ns: dict, other_ns: dict):
        self.ch = ch
        self.ns = torch_ns            # name -> PyTorch value (mirror of the program's)
        self.other = other_ns         # the same program on other input values
        self.dynamic: set[str] = set()  # values whose shape depends on input values
        self.values: list[str] = []   # tensor names usable as operands, in order
        self.lines: list[str] = []
        self.counter = 0

    def tensor(self, name: str):
        return self.ns[name]

    def add_input(self, name: str) -> None:
        self.values.append(name)

    def new_name(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def try_lines(self, lines: list[str], result: str) -> bool:
        """Run `lines` under PyTorch; keep them when they run and `result` is a tensor."""
        import torch

        trials = []
        for ns in (self.ns, self.other):
            trial = dict(ns)
            try:
                with torch.random.fork_rng(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(to_torch_source("\n".join(lines)), trial)  # noqa: S102 - our source
            except Exception:  # noqa: BLE001 - PyTorch refuses: the line is not valid
                return False
            value = trial.get(result)
            if not isinstance(value, torch.Tensor) or value.is_complex() or \
                    value.numel() > 4096:
                return False
            trials.append(trial)
        for ns, trial in zip((self.ns, self.other), trials):
            ns.clear()
            ns.update(trial)
        text = "\n".join(lines)
        if trials[0][result].shape != trials[1][result].shape or DATA_DEPENDENT.search(text) \
                or any(re.search(rf"\b{name}\b", text) for name in self.dynamic):
            self.dynamic.add(result)
        self.lines.extend(lines)
        self.values.append(result)
        return True

    # --- helpers for writers ---------------------------------------------------------------

    def dim(self, name: str) -> int:
        rank = self.tensor(name).dim()
        return self.ch.integer(-rank, rank - 1) if rank else self.ch.choice([0, -1])

    def is_float(self, name: str) -> bool:
        return self.tensor(name).is_floating_point()

    def partner(self, name: str) -> str:
        """Another value whose shape broadcasts with `name`'s, or a Python scalar."""
        import torch

        shape = self.tensor(name).shape
        fits = []
        for other in self.values:
            # value-sized operands pair only with themselves: two sizes may differ
            if (other in self.dynamic or name in self.dynamic) and other != name:
                continue
            try:
                torch.broadcast_shapes(shape, self.tensor(other).shape)
                fits.append(other)
            except RuntimeError:
                pass
        if fits and self.ch.integer(0, 3):
            return self.ch.choice(fits)
        return self.ch.choice(["2", "-3", "0", "1.5", "-0.5", "True"])

    def index_list(self, size: int, count: int) -> str:
        return "[" + ", ".join(str(self.ch.integer(-size, size - 1)) for _ in range(count)) + "]"


# --- elementwise ------------------------------------------------------------------------------

FLOAT_UNARY = [
    "gt.exp({x}.clamp(-5, 5))", "gt.sigmoid({x})", "gt.tanh({x})", "gt.relu({x})",
    "{x}.sin()", "{x}.floor()", "{x}.ceil()", "{x}.round()", "{x}.trunc()", "{x}.frac()",
    "gt.sign({x})", "{x}.square()", "gt.sqrt({x}.abs())", "gt.log({x}.abs() + 1)",
    "gt.rsqrt({x}.abs() + 1)", "gt.erf({x})", "gt.expm1({x}.clamp(max=3))",
    "gt.log1p({x}.abs())", "gt.nn.functional.gelu({x})", "gt.nn.functional.silu({x})",
    "gt.nn.functional.softplus({x})", "gt.nn.functional.leaky_relu({x}, 0.1)",
    "gt.nn.functional.hardtanh({x})", "gt.nn.functional.elu({x})", "{x}.reciprocal()",
    "gt.nan_to_num({x}.log())", "gt.atan({x})", "{x}.sinh().clamp(-10, 10)",
    "gt.nn.functional.relu6({x})", "gt.nn.functional.hardswish({x})", "{x}.lerp({x}.cos(), 0.3)",
    "gt.logit({x}.sigmoid(), eps=1e-6)", "{x}.sgn()", "gt.nn.functional.mish({x})",
]
ANY_UNARY = [
    "{x}.abs()", "-{x}", "{x}.float()", "{x}.double()", "{x}.long()", "{x}.to(gt.int32)",
    "{x}.bool()", "gt.logical_not({x})", "{x}.bitwise_not()", "{x} * 2", "{x} + 1",
    "{x} - 0.5", "{x} / 2", "{x} // 2", "{x} % 3", "{x} > 0", "{x} == 0", "2 ** {x}.clamp(0, 4)",
    "{x} ** 2", "{x}.clamp(-1, 1)", "{x}.clamp(min=0)", "{x}.clamp_max(1)",
    "gt.where({x} > 0, {x}, 0)",
    "gt.where({x} > 0, 1.5, -{x})", "{x}.masked_fill({x} < 0, 7)", "gt.square({x})",
    "{x}.sign()", "gt.add({x}, 3, alpha=2)", "gt.sub({x}, 1, alpha=2)", "gt.mul({x}, True)",
    "gt.isnan({x})", "gt.isinf({x})", "gt.isfinite({x})", "{x}.neg()", "gt.zeros_like({x})",
    "gt.ones_like({x}, dtype=gt.float64)", "gt.full_like({x}, 3)", "{x}.type_as({x}.float())",
    "gt.heaviside({x}.float(), gt.tensor(0.5))", "{x} != 1", "{x}.logical_and({x} > 1)",
]
BINARY = [
    "{x} + {y}", "{x} - {y}", "{x} * {y}", "{x} / {y}", "{x} // ({y} * 0 + 3)", "{x} % 4",
    "gt.maximum({x}, {y})", "gt.minimum({x}, {y})", "gt.fmax({x}, {y})", "gt.fmin({x}, {y})",
    "gt.atan2({x}, {y})", "gt.eq({x}, {y})", "gt.ne({x}, {y})", "gt.lt({x}, {y})",
    "gt.le({x}, {y})", "gt.gt({x}, {y})", "gt.ge({x}, {y})", "gt.logical_and({x}, {y})",
    "gt.logical_or({x}, {y})", "gt.logical_xor({x}, {y})", "gt.bitwise_and({x}, {y})",
    "gt.bitwise_or({x}, {y})", "gt.bitwise_xor({x}, {y})", "gt.where({x} > {y}, {x}, {y})",
    "gt.where({y} > 0, {x}, {y})", "gt.clamp({x}, min={y})", "gt.clamp({x}, max={y})",
    "gt.fmod({x}, 3)", "gt.remainder({x}, -3)", "gt.hypot({x}, {y})", "gt.copysign({x}, {y})",
    "gt.add({x}, {y}, alpha=2)", "gt.sub({x}, {y}, alpha=3)", "gt.true_divide({x}, {y})",
    "gt.pow({x}.abs() + 0.5, {y})", "{x}.lerp({y}, 0.25)", "gt.addcmul({x}, {x}, {y}, value=0.5)",
    "gt.addcdiv({x}, {x}, {y}.abs() + 1, value=2)", "gt.xlogy({x}, {y}.abs() + 1)",
    "gt.max({x}, {y})", "gt.min({x}, {y})", "gt.isclose({x}, {y})", "{x}.float_power(2)",
    "{x} & {y}", "{x} | {y}", "{x} ^ {y}", "{x} << 1", "{x} >> 1",
]


def elementwise(b: LineBuilder, x: str) -> str | None:
    ch = b.ch
    pick = ch.integer(0, 2)
    if pick == 0 and b.is_float(x):
        return ch.choice(FLOAT_UNARY).format(x=x)
    if pick == 1:
        return ch.choice(ANY_UNARY).format(x=x)
    return ch.choice(BINARY).format(x=x, y=b.partner(x))


# --- reductions, scans, sorting ----------------------------------------------------------------

REDUCTIONS = [
    "{x}.sum({d})", "{x}.sum({d}, keepdim=True)", "{x}.sum()", "{x}.mean({d}, keepdim={kd})",
    "{x}.mean()", "{x}.prod({d})", "{x}.amax({d}, keepdim={kd})", "{x}.amin({d})",
    "{x}.max({d})[0]", "{x}.max({d}, keepdim=True)[1]", "{x}.min({d}).values",
    "{x}.min({d}).indices", "{x}.max()", "{x}.argmax({d}, keepdim={kd})", "{x}.argmin()",
    "{x}.std({d})", "{x}.var({d}, keepdim=True, correction=0)", "{x}.std()",
    "gt.logsumexp({x}, {d})", "{x}.any({d})", "{x}.all({d}, keepdim=True)", "{x}.any()",
    "{x}.norm(dim={d})", "{x}.norm(1, dim={d}, keepdim=True)", "gt.count_nonzero({x}, {d})",
    "{x}.sum(dtype=gt.float64)", "{x}.nansum({d})", "{x}.median({d})[0]", "{x}.median()",
    "{x}.sum(({d}, {d2}))", "{x}.mean(({d}, {d2}), keepdim=True)", "{x}.aminmax(dim={d})[1]",
    "{x}.var_mean({d})[0]", "{x}.std_mean({d})[1]", "gt.nanmean({x}, {d})",
    "gt.cumsum({x}, {d})", "{x}.cumprod({d})", "{x}.cummax({d})[0]", "{x}.cummin({d})[1]",
    "gt.logcumsumexp({x}, {d})", "{x}.cumsum({d}, dtype=gt.float64)",
    "{x}.sort({d})[0]", "{x}.sort({d}, descending=True).indices", "{x}.argsort({d})",
    "{x}.topk({k}, {d})[0]", "{x}.topk({k}, {d}, largest=False)[1]",
    "{x}.topk({k}, {d}, sorted=True).values", "{x}.kthvalue({k}, {d})[0]", "{x}.msort()",
    "{x}.sort({d}, stable=True)[1]", "gt.diff({x}, dim={d})", "{x}.mode({d})[0]",
]


def reduction(b: LineBuilder, x: str) -> str | None:
    ch = b.ch
    t = b.tensor(x)
    d, d2 = b.dim(x), b.dim(x)
    size = t.shape[d] if t.dim() else 1
    k = ch.integer(1, max(1, size))
    return ch.choice(REDUCTIONS).format(x=x, d=d, d2=d2, kd=ch.boolean(), k=k)


# --- movement -------------------------------------------------------------------------------


def movement(b: LineBuilder, x: str) -> str | None:
    ch = b.ch
    t = b.tensor(x)
    rank = t.dim()
    d = b.dim(x)
    size = t.shape[d] if rank else 1
    perm = list(range(rank))
    for i in range(rank - 1, 0, -1):  # a Fisher-Yates shuffle from the chooser
        j = ch.integer(0, i)
        perm[i], perm[j] = perm[j], perm[i]
    start = ch.integer(0, max(0, size - 1))
    length = ch.integer(0, size - start) if size else 0
    step = ch.integer(1, 3)
    options = [
        f"{x}.permute({', '.join(map(str, perm))})" if rank else f"{x}.reshape(1)",
        f"{x}.transpose({d}, {b.dim(x)})", f"{x}.t()", f"{x}.mT" if rank >= 2 else f"{x}.T",
        f"{x}.expand(2, *{x}.shape)", f"{x}.unsqueeze({ch.integer(-rank - 1, rank)})",
        f"{x}.repeat({', '.join(str(ch.integer(1, 2)) for _ in range(rank + ch.integer(0, 1)))})"
        if rank else f"{x}.repeat(2)",
        f"{x}.flip({d})", f"{x}.flip(({d}, {b.dim(x)}))", f"{x}.roll({ch.integer(-3, 3)}, {d})",
        f"{x}.roll({ch.integer(-3, 3)})", f"{x}.narrow({d}, {start}, {length})",
        f"{x}.unfold({d}, {ch.integer(1, max(1, size))}, {step})",
        f"{x}.movedim({d}, {b.dim(x)})", f"{x}.squeeze({d})", f"{x}.squeeze()",
        f"{x}.reshape(-1)", f"{x}.flatten()", f"{x}.contiguous()", f"{x}.clone()",
        f"{x}[::{step}]", f"{x}[..., {start}:]", f"{x}[{start}]", f"{x}.select({d}, {start})",
        f"{x}.diagonal()", f"{x}.diagonal(1, -2, -1)", f"{x}.tril()", f"{x}.triu(-1)",
        f"{x}.chunk(2, {d})[0]", f"{x}.split(2, {d})[-1]", f"{x}.tile((2,))",
        f"gt.stack([{x}, {x} * 2], {ch.integer(-rank - 1, rank)})",
        f"gt.cat([{x}, {x}.flip({d})], {d})", f"{x}.view_as({x})", f"{x}[None, ..., None]",
        f"{x}.unflatten({d}, (1, -1))", f"{x}.swapaxes(0, -1)", f"{x}.rot90(1, (0, 1))",
        f"{x}.view(-1)", f"{x}.reshape({x}.shape[::-1])", f"{x}.expand_as(gt.stack([{x}, {x}]))",
        f"{x}[{start}:{start + length}:{step}]", f"{x}.T.contiguous().T",
        f"gt.broadcast_to({x}, (3, *{x}.shape))", f"{x}.unbind({d})[0]",
        f"{x}.flatten({d})",
    ]
    return ch.choice(options)


# --- indexing ---------------------------------------------------------------------------------


def indexing(b: LineBuilder, x: str) -> str | list[str] | None:
    ch = b.ch
    t = b.tensor(x)
    rank = t.dim()
    if rank == 0:
        return None
    d = b.dim(x)
    size = t.shape[d]
    n = ch.integer(0, 4)
    def index_for(dim: int) -> str:  # in range for dim `dim` (PyTorch skips the check when
        size = t.shape[dim]           # nothing is read; NumPy does not)
        return f"gt.tensor({b.index_list(size, n)}, dtype=gt.long)" if size else \
            "gt.tensor([], dtype=gt.long)"
    idx = index_for(d)
    gather_shape = list(t.shape)
    gather_shape[d] = n
    gather_idx = (f"gt.randint(0, {size}, {tuple(gather_shape)})" if size
                  else None)
    mask = ch.choice([f"{x} > 0", f"({x} % 2) == 0", f"{x} != {x}.flatten()[0]"])
    value = ch.choice(["0", "-1", "2.5", "True"])
    name = b.new_name()
    prefix = ""
    options = [
        f"{x}[{index_for(0)}]", f"{x}[:, {index_for(1)}]" if rank >= 2 else None,
        f"{x}.index_select({d}, {idx})", f"{x}[{mask}]", f"gt.masked_select({x}, {mask})",
        f"{x}.masked_fill({mask}, {value})", f"{x}[{x} > 0].sum()",
        f"gt.take({x}, gt.tensor({b.index_list(t.numel(), n)}))" if t.numel() else None,
        f"{x}.nonzero()", f"gt.nonzero({x}, as_tuple=True)[0]", f"gt.where({mask})[-1]",
        f"{x}[..., {index_for(-1)}]",
        f"{x}[{idx}, ..., {idx}]" if t.shape[0] == size == t.shape[-1] and rank >= 2 else None,
        f"{x}[:, {index_for(1)}, 0]" if rank >= 3 and t.shape[2] else None,
        f"{x}[{x}.flatten()[0] > 0]" if rank else None,
    ]
    if gather_idx:
        options += [
            f"{x}.gather({d}, {gather_idx})",
            f"gt.take_along_dim({x}, {gather_idx}, {d})",
            f"{x}.scatter({d}, {gather_idx}, {value})",
            f"{x}.scatter_add({d}, {gather_idx}, {x}.narrow({d}, 0, {min(n, size)}))"
            if n <= size else None,
            f"{x}.index_add({d}, {idx}, {x}.index_select({d}, {idx}))",
            f"{x}.index_fill({d}, {idx}, {value})",
            f"{x}.scatter_reduce({d}, {gather_idx}, {x}.narrow({d}, 0, {min(n, size)}), "
            f"'{ch.choice(['sum', 'amax', 'amin', 'prod', 'mean'])}', "
            f"include_self={ch.boolean()})" if n <= size else None,
        ]
    statements = [
        [f"{name} = {x}.clone()", f"{name}[{index_for(0)}] = {value}"],
        [f"{name} = {x}.clone()", f"{name}[{mask}] = {value}"],
        [f"{name} = {x}.clone()", (f"{name}.index_put_(({index_for(0)},), gt.tensor({value}), "
                                   f"accumulate={ch.boolean()})")],
        [f"{name} = {x}.clone()", f"{name}.masked_fill_({mask}, {value})"],
        [f"{name} = {x} * 1", f"{name}.narrow({d}, 0, {min(1, size)}).mul_(3)"],
        [f"{name} = {x}.clone()", f"{name}[..., :1] = {x}[..., -1:]"],
        [f"{name} = {x}.clone()", f"{name}.clamp_({value}).add_(1)"],
        [f"{name} = {x}.clone()", f"{name}.t_()" if rank <= 2 else f"{name}.squeeze_()"],
        [f"{name} = gt.zeros_like({x})", f"{name}.copy_({x}.flip({d}))"],
    ]
    if ch.integer(0, 2) == 0:
        return [prefix + line for line in ch.choice(statements)]
    return ch.choice([o for o in options if o])


# --- matmul and normalisation --------------------------------------------------------------


def linear_algebra(b: LineBuilder, x: str) -> str | None:
    ch = b.ch
    t = b.tensor(x)
    if not t.is_floating_point():  # PyTorch skips its dtype checks for empty inputs
        return None
    rank = t.dim()
    d = b.dim(x)
    last = t.shape[-1] if rank else 1
    options = [
        f"gt.softmax({x}, {d})", f"gt.log_softmax({x}, {d})",
        f"gt.nn.functional.normalize({x}, dim={d})", f"{x}.softmax({d}, dtype=gt.float64)",
        f"gt.matmul({x}, {x}.mT)" if rank >= 2 else f"gt.matmul({x}, {x})",
        f"{x} @ gt.ones({last}, 3, dtype={x}.dtype)",
        f"gt.matmul(gt.ones(2, 1, 3, {t.shape[-2] if rank >= 2 else 1}, dtype={x}.dtype), {x})",
        f"{x} @ gt.arange({last}, dtype={x}.dtype)",
        f"gt.einsum('...i,...i->...', {x}, {x})",
        f"gt.nn.functional.layer_norm({x}, ({last},))" if rank else None,
        f"gt.outer({x}.flatten()[:3], {x}.flatten()[:2])",
        f"gt.nn.functional.linear({x}, gt.full((2, {last}), 0.5, dtype={x}.dtype))",
        f"gt.bmm({x}, {x}.mT)" if rank == 3 else None,
        f"gt.mm({x}, {x}.t())" if rank == 2 else None,
        f"gt.mv({x}, {x}[0])" if rank == 2 else None,
        f"gt.tensordot({x}, {x}, dims=1)" if rank else None,
        f"gt.cdist({x}, {x})" if rank >= 2 else None,
        f"gt.dot({x}, {x})" if rank == 1 else None,
        f"gt.nn.functional.softmin({x}, {d})", f"gt.nn.functional.glu({x}, {d})",
        f"gt.nn.functional.cosine_similarity({x}, {x}.flip({d}), dim={d})",
        f"gt.nn.functional.pad({x}, (1, {ch.integer(0, 2)}))" if rank else None,
        f"gt.nn.functional.pad({x}, (1, 1), mode='reflect')" if rank >= 2 else None,
    ]
    return ch.choice([o for o in options if o])


# --- the rest of the table: index searches, histograms, products, stacking, special ---


def assorted(b: LineBuilder, x: str) -> str | None:
    ch = b.ch
    t = b.tensor(x)
    rank = t.dim()
    d = b.dim(x)
    options = [
        f"gt.unique({x})", f"gt.unique({x}, return_inverse=True)[1]",
        f"gt.unique({x}, sorted=True, return_counts=True)[1]", f"gt.unique_consecutive({x})",
        f"gt.bincount({x}.flatten().long().abs() % 5)",
        f"gt.bincount({x}.flatten().long().abs() % 4, minlength=6)",
        f"gt.histc({x}.float(), bins=4, min=-2, max=2)",
        f"gt.searchsorted(gt.tensor([-1.0, 0.0, 0.5, 2.0]), {x}.float())",
        f"gt.bucketize({x}.float(), gt.tensor([-1.0, 0.0, 1.0]), right={ch.boolean()})",
        f"gt.repeat_interleave({x}, 2, dim={d})" if rank else None,
        f"{x}.repeat_interleave(gt.tensor([1, 0, 2])[:{x}.shape[{d}]].repeat({x}.shape[{d}])"
        f"[:{x}.shape[{d}]], dim={d})" if rank else None,
        f"gt.kron({x}, gt.ones(2, dtype={x}.dtype))" if rank else None,
        f"gt.trace({x})" if rank == 2 else None, f"gt.trapezoid({x}, dim={d})",
        f"gt.cumulative_trapezoid({x}, dim={d})", f"gt.diag({x})" if rank <= 2 else None,
        f"gt.diag_embed({x})" if rank else None, f"gt.logaddexp({x}, {x}.flip({d}))",
        f"gt.signbit({x})", f"gt.sinc({x})", f"gt.deg2rad({x})", f"gt.isin({x}, {x}.flatten()[:2])",
        f"gt.argwhere({x})", f"gt.tensor_split({x}, 3, dim={d})[1]" if rank else None,
        f"gt.hstack([{x}, {x}])", f"gt.vstack([{x}, {x}])", f"gt.dstack([{x}, {x}])",
        f"gt.atleast_2d({x})", f"gt.flipud({x})" if rank else None,
        f"gt.fliplr({x})" if rank >= 2 else None, f"{x}.ravel()",
        f"gt.gcd({x}, gt.full_like({x}, 6))", f"gt.lcm({x}, gt.full_like({x}, 4))",
        f"gt.bitwise_left_shift({x}, 1)", f"gt.erfinv({x}.clamp(-0.9, 0.9))",
        f"gt.lgamma({x}.abs() + 0.5)", f"gt.digamma({x}.abs() + 0.5)",
        f"gt.nanmedian({x}, {d})[0]" if rank else None, f"gt.quantile({x}, 0.3, dim={d})",
        f"gt.nanquantile({x}, 0.5)", f"gt.cov({x})" if rank <= 2 else None,
        f"gt.corrcoef({x})" if rank <= 2 else None,
        f"gt.renorm({x}, 2, 0, 1.0)" if rank >= 2 else None,
        f"{x}.masked_scatter({x} > 0, {x} * 10)",
        f"{x}.clone().put_(gt.tensor([0, -1]), gt.tensor([1, 2], dtype={x}.dtype))"
        if t.numel() else None,
        f"gt.cross({x}, {x}.roll(1, {d}), dim={d})" if rank and t.shape[d] == 3 else None,
        f"gt.block_diag({x}, {x})" if rank <= 2 else None,
        f"gt.cartesian_prod({x}.flatten()[:3], {x}.flatten()[:2])",
        f"gt.addr(gt.zeros(2, 3, dtype={x}.dtype), {x}.flatten()[:2], {x}.flatten()[:3])"
        if t.numel() >= 3 else None,
        f"gt.baddbmm({x}, {x}, {x}.mT)" if rank == 3 and t.shape[1] == t.shape[2] else None,
        f"gt.vander({x}.flatten()[:4], 3)", f"{x}.std_mean({d})[0]",
        f"{x}.aminmax()[0]", f"gt.mvlgamma({x}.abs() + 2, 2)",
    ]
    return ch.choice([o for o in options if o])


CATEGORIES = {
    "elementwise": elementwise,
    "reduction": reduction,
    "movement": movement,
    "indexing": indexing,
    "linear_algebra": linear_algebra,
    "assorted": assorted,
}
