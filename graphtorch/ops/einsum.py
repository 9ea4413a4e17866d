"""einsum as one primitive: kernel `xp.einsum(..., optimize=True)`, vjp = einsum of the
gradient with the other operands.

The op sees one canonical form only: letters, an explicit `->` output, and subscripts whose
sizes agree across operands. `functions/math_extra.einsum` reduces PyTorch's forms
(implicit output, ellipsis, sublists, size-1 broadcasting) to it.
"""

from __future__ import annotations

import functools
import math
import string

from .. import dtypes
from ..dtypes import scalar_type_name
from .dispatch import call
from .factories import eye
from .grad_utils import conj
from .registry import Category, OpDef, TensorMeta, register

LETTERS = string.ascii_uppercase + string.ascii_lowercase  # PyTorch's implicit-output order
MAX_OPERANDS = len(LETTERS)  # each operand needs a subscript; more cannot be told apart


def parse(equation: str):
    """Canonical "ab,bc->ac" -> (["ab", "bc"], "ac")."""
    lhs, out = equation.split("->")
    return lhs.split(","), out


def check_dtypes(metas) -> dtypes.DType:
    """PyTorch contracts operands of one dtype only; no bool matmul kernel."""
    first = metas[0].dtype
    for m in metas[1:]:
        if m.dtype is not first:
            raise RuntimeError(f"expected scalar type {scalar_type_name(first)} but found "
                               f"{scalar_type_name(m.dtype)}")
    if first is dtypes.bool_ and len(metas) > 1:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    return first


def canonical_einsum(equation, operands):
    """PyTorch's einsum forms -> (letters-only explicit equation, operands with size-1
    broadcast dims squeezed away). The plan depends on the equation and shapes only."""
    canonical, targets = _plan(equation, tuple(tuple(op.shape) for op in operands))
    operands = [op if t is None else op.reshape(t) for op, t in zip(operands, targets)]
    check_dtypes(operands)
    return canonical, operands


@functools.lru_cache(maxsize=512)
def _plan(equation, shapes):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    for i, ch in enumerate(eq):
        if not (ch.isascii() and ch.isalpha()) and ch not in ",.->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
    subs = lhs.split(",")
    if len(subs) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(subs) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    used = {c for c in eq if c.isalpha()}
    parsed = [_split_ellipsis(sub, k, len(shape))
              for k, (sub, shape) in enumerate(zip(subs, shapes))]
    n_ell = max((len(shape) - len(letters[0]) - len(letters[1])
                          for (letters, has), shape in zip(parsed, shapes) if has), default=0)
    ell = [c for c in LETTERS if c not in used][:n_ell]
    full = []
    for (letters, has), shape in zip(parsed, shapes):
        if has:  # ellipsis dims are right-aligned across operands (broadcasting)
            e = len(shape) - len(letters[0]) - len(letters[1])
            full.append(letters[0] + "".join(ell[n_ell - e:]) + letters[1])
        else:
            full.append(letters[0])
    if arrow:
        out = _output_subscripts(rhs, ell, full)
    else:  # ellipsis dims, then the subscripts seen once, in PyTorch's (ASCII) order
        counts = {}
        for sub in full:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(ell) + "".join(c for c in LETTERS if counts.get(c) == 1 and c not in ell)
    sizes = _einsum_sizes(full, shapes)
    subs_out, targets = [], []
    for sub, shape in zip(full, shapes):
        keep = [i for i, c in enumerate(sub) if shape[i] == sizes[c] or sizes[c] == 1]
        if len(keep) != len(sub):  # size-1 dims broadcast: drop them from this operand
            targets.append(tuple(shape[i] for i in keep))
            sub = "".join(sub[i] for i in keep)
        else:
            targets.append(None)
        subs_out.append(sub)
    return ",".join(subs_out) + "->" + out, tuple(targets)


def _split_ellipsis(sub, k, ndim):
    """(letters before/after "..." or the whole subscript, whether it has an ellipsis)."""
    if "." not in sub:
        if len(sub) != ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(sub)}) "
                               f"does not match the number of dimensions ({ndim}) for operand "
                               f"{k} and no ellipsis was given")
        return (sub,), False
    head, dots, tail = sub.partition("...")
    if not dots:
        raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any "
                           f"ellipsis")
    if "." in tail:
        raise RuntimeError(f"einsum(): found '.' for operand {k} for which an ellipsis was "
                           f"already found")
    if len(head) + len(tail) > ndim:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                           f"({len(head) + len(tail)}) is more than the number of dimensions "
                           f"({ndim}) for operand {k}")
    return (head, tail), True


def _output_subscripts(rhs, ell, full):
    head, dots, tail = rhs.partition("...")
    out = head + ("".join(ell) if dots else "") + tail
    seen = set()
    present = set("".join(full))
    for c in head + tail:
        if c == ".":
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
        if c in seen:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the "
                               f"output")
        if c not in present:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                               f"for any input operand")
        seen.add(c)
    return out


def _einsum_sizes(full, shapes):
    """Each subscript's size; 1 broadcasts, repeats within one operand must agree."""
    sizes = {}
    for k, (sub, shape) in enumerate(zip(full, shapes)):
        mine = {}
        for c, size in zip(sub, shape):
            if c in mine and mine[c] != size:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                   f"sizes don't match, {size} != {mine[c]}")
            mine[c] = size
        for c, size in mine.items():
            seen = sizes.get(c)
            if seen is None or seen == 1:
                sizes[c] = size
            elif size != seen and size != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {size} for operand {k} "
                                   f"which does not broadcast with previously seen size {seen}")
    return sizes


def _einsum_infer(operands, equation):
    ins, out = parse(equation)
    if len(ins) != len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation" if len(operands) < len(ins) else
                           "einsum(): more operands were provided than specified in the equation")
    sizes = {}
    for k, (sub, meta) in enumerate(zip(ins, operands)):
        if len(sub) != len(meta.shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(sub)}) "
                               f"does not match the number of dimensions ({len(meta.shape)}) "
                               f"for operand {k} and no ellipsis was given")
        for letter, size in zip(sub, meta.shape):
            if sizes.setdefault(letter, size) != size:
                raise RuntimeError(f"einsum(): subscript {letter} has size {size} for operand "
                                   f"{k} which does not broadcast with previously seen size "
                                   f"{sizes[letter]}")
    return TensorMeta(tuple(sizes[c] for c in out), check_dtypes(operands))


# Below this many multiply-adds, NumPy's C loop beats the optimizer's planning + BLAS calls.
_SMALL_WORK = 1 << 15


def _einsum_kernel(xp, operands, equation):
    optimize = len(operands) > 2
    if len(operands) == 2:  # two operands: no contraction order to choose, only BLAS or not
        sizes = {}
        for sub, a in zip(equation.split("->")[0].split(","), operands):
            sizes.update(zip(sub, a.shape))
        optimize = math.prod(sizes.values()) > _SMALL_WORK
    out = xp.asarray(xp.einsum(equation, *operands, optimize=optimize))
    if out.base is not None and any(xp.may_share_memory(out, a) for a in operands):
        out = out.copy()  # NumPy returns views for pure transpositions and diagonals
    return out


def _fresh_letters(used, count):
    free = [c for c in LETTERS if c not in used]
    if len(free) < count:
        raise NotImplementedError("einsum backward: too many subscripts to rename")
    return free[:count]


def einsum(equation: str, *operands):
    """`gt.einsum(equation, *operands)` for vjp rules."""
    canonical, operands = canonical_einsum(equation, list(operands))
    return call(EINSUM, operands, equation=canonical)


def _einsum_vjp(ctx, grad):
    ins, out = parse(ctx.attrs["equation"])
    operands = ctx.inputs
    metas = ctx.input_metas
    grads = []
    for k, sub in enumerate(ins):
        if metas[k] is None:
            grads.append(None)
            continue
        others = [s for j, s in enumerate(ins) if j != k]
        elsewhere = set(out).union(*others)
        # Subscripts of this operand, first occurrences only; those summed away in the
        # forward pass (nowhere else) get the gradient broadcast along them.
        unique = "".join(dict.fromkeys(sub))
        kept = "".join(c for c in unique if c in elsewhere)
        g = einsum(f"{','.join([out, *others])}->{kept}", grad,
                      *(conj(operands[j]) for j in range(len(ins)) if j != k))
        sizes = dict(zip(sub, metas[k].shape))
        if kept != unique:  # `kept` is `unique` with letters left out: unsqueeze them back
            for pos, c in enumerate(unique):
                if c not in kept:
                    g = g.unsqueeze(pos)
            g = g.expand(*[sizes[c] for c in unique])
        if unique != sub:
            g = _place_on_diagonals(g, sub, unique, sizes, set(sub) | elsewhere)
        grads.append(g)
    return tuple(grads)


def _place_on_diagonals(g, sub, unique, sizes, used):
    """Gradient of an operand with a repeated subscript ("ii"): the gradient over its
    distinct subscripts, written on the diagonals (identity matrices relabel the repeats)."""
    fresh = iter(_fresh_letters(used, len(sub) - len(unique)))
    target, eyes, seen = [], [], set()
    for c in sub:
        if c in seen:
            new = next(fresh)
            eyes.append((c, new))
            target.append(new)
        else:
            seen.add(c)
            target.append(c)
    eq = ",".join([unique, *(a + b for a, b in eyes)]) + "->" + "".join(target)
    return einsum(eq, g, *(eye(sizes[a], dtype=g.dtype, device=g.device) for a, _ in eyes))


EINSUM = register(OpDef(
    "einsum", Category.OPAQUE, _einsum_kernel, _einsum_infer, _einsum_vjp, variadic=True,
    save_inputs=tuple(range(MAX_OPERANDS)), strided_from_contiguous=True,
    doc="Einstein summation over operands of one dtype (canonical equation attribute)"))
