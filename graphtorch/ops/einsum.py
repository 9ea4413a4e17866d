"""einsum as one primitive: kernel `xp.einsum(..., optimize=True)`, vjp = einsum of the
gradient with the other operands.

The op sees one canonical form only: letters, an explicit `->` output, and subscripts whose
sizes agree across operands. `functions/math_extra.einsum` reduces PyTorch's forms
(implicit output, ellipsis, sublists, size-1 broadcasting) to it.
"""

from __future__ import annotations

import math
import string

from .. import dtypes
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
            from .elementwise import _word

            raise RuntimeError(f"expected scalar type {_word(first)} but found {_word(m.dtype)}")
    if first is dtypes.bool_ and len(metas) > 1:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    return first


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


def _conj(t):
    return t.conj() if t.is_complex() else t


def _fresh_letters(used, count):
    free = [c for c in LETTERS if c not in used]
    if len(free) < count:
        raise NotImplementedError("einsum backward: too many subscripts to rename")
    return free[:count]


def _einsum_vjp(ctx, grad):
    import graphtorch as gt

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
        g = gt.einsum(f"{','.join([out, *others])}->{kept}", grad,
                      *(_conj(operands[j]) for j in range(len(ins)) if j != k))
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
    import graphtorch as gt

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
    return gt.einsum(eq, g, *(gt.eye(sizes[a], dtype=g.dtype, device=g.device) for a, _ in eyes))


EINSUM = register(OpDef(
    "einsum", Category.OPAQUE, _einsum_kernel, _einsum_infer, _einsum_vjp, variadic=True,
    save_inputs=tuple(range(MAX_OPERANDS)),
    doc="Einstein summation over operands of one dtype (canonical equation attribute)"))
