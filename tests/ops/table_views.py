"""Op-table rows: views, indexing, matmul, device copies."""

from __future__ import annotations

import numpy as np

from .harness import Row


def _index_inputs(rng, case, dtype):
    return [rng.uniform(-1, 1, size=case[0]).astype(dtype),
            np.array([2, 0, 2, 1], dtype=np.int64)]


def _setitem_basic(m, a, b):
    out = a * 1
    out[1:, 0] = b[0] * 2
    out[0] = b
    return out


def _setitem_advanced(m, a, b, idx):
    out = a * 1
    out[idx] = b[0]
    return out


def _write_under_no_grad(m, a, b):
    out = a * 1
    with m.no_grad():
        out.mul_(b)  # eager keeps `out`'s history; traced: untracked_write
    return out * 2


def _write_through_detach(m, a, b):
    out = a * 1
    out.detach().add_(b)
    return out * out


ROWS = [
    Row("view", lambda m, a: (a.view(4, 3), a.view(-1), a.view(2, -1, 2)), [((3, 4),)]),
    Row("view", lambda m, a: (a.reshape(()), a.view(1, 1)), [((),)], name="view_0d"),
    Row("view", lambda m, a: (a.t().reshape(-1), m.flatten(a), a.reshape(a.shape[0], 2, 2)),
        [((0, 4),), ((3, 4),)], name="reshape"),
    Row("expand", lambda m, a: (a.expand(2, 3, 4), a.expand(-1, 4) * 2), [((3, 1),)]),
    Row("permute", lambda m, a: (a.permute(2, 0, 1), a.permute(0, 1, 2)), [((2, 3, 4),)]),
    Row("transpose", lambda m, a: (a.transpose(0, 1), a.t(), a.T, a.mT), [((3, 4),)]),
    Row("squeeze", lambda m, a: (a.squeeze(), a.squeeze(1), a.squeeze(0)),
        [((3, 1, 4),), ((1, 1),)]),
    Row("unsqueeze", lambda m, a: (a.unsqueeze(0), a.unsqueeze(-1)), [((3, 4),), ((),)]),
    Row("select", lambda m, a: (a.select(1, 2), a[0], a[-1, 1]), [((3, 4),)]),
    Row("slice", lambda m, a: (a[1:], a[:, ::2], a.narrow(1, 1, 2), a[None, ..., 1:3]),
        [((3, 4),)]),
    Row(("select", "slice"), lambda m, a: tuple(a.split(2, 1)) + tuple(a.chunk(3, 0))
        + tuple(a.unbind(1)), [((3, 4),)], name="split_chunk_unbind"),
    Row("diagonal", lambda m, a: (a.diagonal(), a.diagonal(1), m.diagonal(a, -1, 0, 1)),
        [((3, 4),), ((4, 4),)]),
    Row("alias", lambda m, a: (a[...], a[:]), [((3, 4),)]),
    Row(("view_as_complex", "view_as_real"),
        lambda m, a: (m.view_as_real(m.view_as_complex(a) * (1 + 2j)),
                      m.view_as_complex(a[1:]).abs()),  # real outputs: the harness's sums
        [((3, 2),), ((2, 3, 2),)], dtypes=("float32", "float64"), name="complex_views"),
    Row("index", lambda m, a, i: (a[i], a[:, i[:2]], a[a > 0], a[[0, 2]]), [((3, 4),)],
        make=_index_inputs),
    Row(("index_put", "copy_into_view"), _setitem_basic, [((3, 4), (4,))],
        name="setitem_basic"),
    # Writes autograd does not see: gradients follow PyTorch, not the true derivative.
    Row(("mul", "untracked_write"), _write_under_no_grad, [((3, 4), (4,))],
        name="write_under_no_grad", fd=False),
    Row(("add", "untracked_write"), _write_through_detach, [((3, 4), (3, 4))],
        name="write_through_detach", fd=False),
    Row("index_put", _setitem_advanced, [((3, 4), (4,))],
        make=lambda rng, c, d: _index_inputs(rng, [c[0]], d)[:1] + [
            rng.uniform(-1, 1, size=c[1]).astype(d), np.array([0, 2], dtype=np.int64)],
        name="setitem_advanced"),
    Row("index_put", lambda m, a, v: a.index_put((m.tensor([0, 0, 2]),), v, accumulate=True),
        [((3, 4), (4,))], name="index_put_accumulate"),
    Row("matmul", lambda m, a, b: a @ b,
        [((3, 4), (4, 5)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)),
         ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((0, 4), (4, 2))],
        dtypes=("float32", "float64")),
    Row("matmul", lambda m, a, b: (m.mm(a, b), m.bmm(a.unsqueeze(0), b.unsqueeze(0)),
                                   m.mv(a, b[:, 0]), m.dot(a[0], b[:, 1]), m.outer(a[0], b[0]),
                                   m.spmm(a, b)),
        [((3, 4), (4, 4))], name="mm_family"),
    Row("matmul", lambda m, a, b: a @ b, [((3, 4), (4, 2))], dtypes=("int64",), grad=False,
        name="matmul_int"),
    Row("addmm", lambda m, c, a, b: (m.addmm(c, a, b), m.addmm(c[0], a, b, beta=0.5, alpha=2),
                                     m.nn.functional.linear(a, b.t(), c[0])),
        [((3, 5), (3, 4), (4, 5))], dtypes=("float32", "float64")),
    Row("to_device", lambda m, a: a.to("cpu", copy=True) * 1 + a.cpu(), [((3, 4),)],
        name="to_device_cpu"),
]
ROWS.append(Row("unsafe_view", lambda m, a: (a.t().reshape(-1), a.t().reshape(2, 6)),
                [((3, 4),)], name="reshape_copy_unsafe_view"))
