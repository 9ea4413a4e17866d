"""Movement ops raise PyTorch's exception types and messages for invalid input.

Each case runs `fn(lib)` with torch and with graphtorch; both must raise the same exception
type, and (unless marked) the same message.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.functions.movement as gt_movement

torch = pytest.importorskip("torch")


def F(m):
    return m.nn.functional if m is torch else gt_movement


def z(m, *shape, dtype="float32"):
    return m.zeros(shape, dtype=getattr(m, dtype))


def ix(m, *values, dtype="int64"):
    return m.tensor(list(values), dtype=getattr(m, dtype))


def b(m, *shape):
    return m.ones(*shape, dtype=m.bool)


# (id, fn, same_message)
CASES = [
    ("cat_sizes", lambda m: m.cat([z(m, 2, 3), z(m, 2, 4)]), True),
    ("cat_sizes_dim1", lambda m: m.cat([z(m, 2, 3), z(m, 3, 3)], 1), True),
    ("cat_sizes_skip", lambda m: m.cat([z(m, 0), z(m, 2, 3), z(m, 0), z(m, 2, 4)]), True),
    ("cat_ndim", lambda m: m.cat([z(m, 2, 3), z(m, 3, 3, 1)]), True),
    ("cat_empty_list", lambda m: m.cat([]), True),
    ("cat_zero_dim", lambda m: m.cat([z(m, 2, 3), z(m)]), True),
    ("cat_dim_range", lambda m: m.cat([z(m, 2, 3)], 2), True),
    ("cat_not_list", lambda m: m.cat(z(m, 2)), True),
    ("cat_not_tensor", lambda m: m.cat([z(m, 2), 3]), True),
    ("stack_sizes", lambda m: m.stack([z(m, 2), z(m, 3)]), True),
    ("stack_empty", lambda m: m.stack([]), True),
    ("stack_dim", lambda m: m.stack([z(m, 2, 3)], 3), True),
    ("hstack_empty", lambda m: m.hstack([]), True),
    ("flip_dup", lambda m: m.flip(z(m, 2, 3), (0, 0)), True),
    ("flip_int", lambda m: m.flip(z(m, 2, 3), 0), True),
    ("fliplr_1d", lambda m: m.fliplr(z(m, 3)), True),
    ("flipud_0d", lambda m: m.flipud(z(m)), True),
    ("roll_align", lambda m: m.roll(z(m, 2, 3), (1, 2), (0,)), True),
    ("roll_flat_two", lambda m: m.roll(z(m, 2, 3), (1, 2)), True),
    ("roll_0d_dim", lambda m: m.roll(z(m), 1, 0), True),
    ("roll_no_shifts", lambda m: m.roll(z(m, 2, 3), ()), True),
    ("rot90_same", lambda m: m.rot90(z(m, 2, 3), 1, (0, -2)), True),
    ("rot90_1d", lambda m: m.rot90(z(m, 3)), True),
    ("rot90_three", lambda m: m.rot90(z(m, 2, 3), 1, (0, 1, 2)), True),
    ("tril_1d", lambda m: m.tril(z(m, 3)), True),
    ("triu_1d", lambda m: z(m, 3).triu(), True),
    ("diag_3d", lambda m: m.diag(z(m, 2, 2, 2)), True),
    ("diag_0d", lambda m: m.diag(z(m)), True),
    ("diag_embed_same", lambda m: m.diag_embed(z(m, 2, 3), 1, 0, 0), True),
    ("diag_embed_0d", lambda m: m.diag_embed(z(m)), True),
    ("repeat_few", lambda m: z(m, 2, 3).repeat(2), True),
    ("repeat_negative", lambda m: z(m, 2, 3).repeat(2, -1), True),
    ("repeat_none", lambda m: z(m, 2, 3).repeat(), True),
    ("ri_negative", lambda m: z(m, 2, 3).repeat_interleave(-1), True),
    ("ri_negative_tensor", lambda m: z(m, 2, 3).repeat_interleave(ix(m, 2, -1), dim=0), True),
    ("ri_2d", lambda m: z(m, 2, 3).repeat_interleave(m.ones(1, 2, dtype=m.long), dim=0), True),
    ("ri_size", lambda m: z(m, 2, 3).repeat_interleave(ix(m, 2, 1), dim=1), True),
    ("ri_float", lambda m: m.repeat_interleave(m.tensor([1.0, 2.0])), True),
    ("ri_0d_counts", lambda m: m.repeat_interleave(m.tensor(3)), True),
    ("ri_output_size", lambda m: z(m, 2, 3).repeat_interleave(2, dim=0, output_size=5), True),
    ("gather_bounds", lambda m: z(m, 3, 4).gather(0, m.tensor([[5, 1]])), True),
    ("gather_negative", lambda m: z(m, 3, 4).gather(0, m.tensor([[-1, 1]])), True),
    ("gather_size", lambda m: z(m, 3, 4).gather(1, m.zeros(4, 2, dtype=m.long)), True),
    ("gather_ndim", lambda m: z(m, 3, 4).gather(1, m.zeros(3, dtype=m.long)), True),
    ("gather_dtype", lambda m: z(m, 3, 4).gather(0, m.zeros(1, 2)), True),
    ("gather_dim", lambda m: z(m, 3, 4).gather(5, m.zeros(3, 1, dtype=m.long)), True),
    ("scatter_src_size", lambda m: z(m, 3, 4).scatter(0, m.tensor([[0, 1]]), z(m, 1, 1)), True),
    ("scatter_src_dtype", lambda m: z(m, 3, 4).scatter(0, m.tensor([[0, 1]]),
                                                       z(m, 1, 2, dtype="float64")), True),
    ("scatter_bounds", lambda m: z(m, 3, 4).scatter(0, m.tensor([[4, 1]]), 1.0), True),
    ("scatter_self_size", lambda m: z(m, 3, 4).scatter(0, m.zeros(4, 5, dtype=m.long), 1.0),
     True),
    ("scatter_ndim", lambda m: z(m, 2, 3).scatter(0, m.zeros(2, dtype=m.long), 1.0), True),
    ("scatter_index_dtype", lambda m: z(m, 2, 3).scatter(0, m.tensor([[0.0]]), 1.0), True),
    ("scatter_complex", lambda m: z(m, 3, 4).scatter(0, m.zeros(1, 4, dtype=m.long), 1 + 2j),
     True),
    ("scatter_reduce_name", lambda m: z(m, 3, 4).scatter(0, m.zeros(1, 4, dtype=m.long), 1.5,
                                                         reduce="foo"), True),
    ("scatter_add_dtype", lambda m: z(m, 2, 3).scatter_add(0, m.zeros(1, 3, dtype=m.long),
                                                           z(m, 1, 3, dtype="float64")), True),
    ("scatter_reduce_bad", lambda m: z(m, 2, 3).scatter_reduce(0, m.zeros(1, 3, dtype=m.long),
                                                               z(m, 2, 3), "foo"), True),
    ("index_select_2d", lambda m: z(m, 3, 4).index_select(0, m.tensor([[0]])), True),
    ("index_select_float", lambda m: z(m, 3, 4).index_select(0, m.tensor([0.0])), True),
    ("index_select_range", lambda m: z(m, 3, 4).index_select(0, m.tensor([5])), True),
    ("index_select_scalar", lambda m: z(m).index_select(0, ix(m, 0, 0)), True),
    ("index_add_count", lambda m: z(m, 3, 4).index_add(0, ix(m, 0), z(m, 2, 4)), True),
    ("index_add_dtype", lambda m: z(m, 3, 4).index_add(0, ix(m, 0), z(m, 1, 4, dtype="float64")),
     True),
    ("index_add_shape", lambda m: z(m, 3, 4).index_add(0, ix(m, 0), z(m, 1, 3)), True),
    ("index_add_bounds", lambda m: z(m, 3, 4).index_add(0, ix(m, 9), z(m, 1, 4)), True),
    ("index_add_negative", lambda m: z(m, 2, 3).index_add(0, ix(m, -1), z(m, 1, 3)), True),
    ("index_add_2d", lambda m: z(m, 2, 3).index_add(0, m.tensor([[0]]), z(m, 1, 3)), True),
    ("index_add_float", lambda m: z(m, 2, 3).index_add(0, m.tensor([0.0]), z(m, 1, 3)), True),
    ("index_add_0d", lambda m: z(m).index_add(0, ix(m, 0), z(m, 1)), True),
    ("index_add_scalar_src", lambda m: z(m, 3).index_add(0, ix(m, 0), z(m)), True),
    ("index_copy_dtype", lambda m: z(m, 3, 4).index_copy(0, ix(m, 0), z(m, 1, 4, dtype="float64")),
     True),
    ("index_copy_negative", lambda m: z(m, 2, 3).index_copy(0, ix(m, -1), z(m, 1, 3)), True),
    ("index_copy_count", lambda m: z(m, 2, 3).index_copy(0, ix(m, 0), z(m, 2, 3)), True),
    ("index_copy_shape", lambda m: z(m, 2, 3).index_copy(0, ix(m, 0), z(m, 1, 4)), True),
    ("index_copy_int32", lambda m: z(m, 2, 3).index_copy(0, ix(m, 0, dtype="int32"), z(m, 1, 3)),
     True),
    ("index_copy_2d", lambda m: z(m, 2, 3).index_copy(0, m.zeros(1, 1, dtype=m.long), z(m, 1, 3)),
     True),
    ("index_fill_bounds", lambda m: z(m, 3, 4).index_fill(0, ix(m, 5), 1.0), True),
    ("index_fill_negative", lambda m: z(m, 3).index_fill(0, m.tensor(-4), 1.0), True),
    ("index_fill_value_1d", lambda m: z(m, 3, 4).index_fill(0, ix(m, 1), m.tensor([1.0])), True),
    ("index_fill_complex", lambda m: z(m, 2, 3).index_fill(0, ix(m, 0), 1.5 + 1j), True),
    ("index_fill_2d", lambda m: z(m, 2, 3).index_fill(0, m.tensor([[0]]), 1.0), True),
    ("index_fill_float", lambda m: z(m, 2, 3).index_fill(0, m.tensor([0.0]), 1.0), True),
    ("masked_fill_long", lambda m: z(m, 3).masked_fill(m.ones(3, dtype=m.long), 1.0), True),
    ("masked_fill_byte", lambda m: z(m, 3).masked_fill(m.ones(3, dtype=m.uint8), 1.0), True),
    ("masked_fill_float", lambda m: z(m, 3).masked_fill(m.ones(3), 1.0), True),
    ("masked_fill_value_1d", lambda m: z(m, 3).masked_fill(b(m, 3), m.tensor([1.0])), True),
    ("masked_fill_broadcast", lambda m: z(m, 3, 4).masked_fill(b(m, 5), 1.0), True),
    ("masked_fill__broadcast", lambda m: z(m, 3, 4).masked_fill_(b(m, 2, 3, 4), 1.0), True),
    ("masked_fill_complex", lambda m: z(m, 3).masked_fill(b(m, 3), 1 + 1j), True),
    ("masked_fill_complex_long", lambda m: z(m, 3, dtype="int64").masked_fill(b(m, 3), 1 + 1j),
     True),
    ("masked_select_long", lambda m: z(m, 3).masked_select(m.ones(3, dtype=m.long)), True),
    ("masked_scatter_short", lambda m: z(m, 3, 4).masked_scatter(b(m, 3, 4), z(m, 2)), True),
    ("masked_scatter_dtype", lambda m: z(m, 3, 4).masked_scatter(b(m, 3, 4),
                                                                 z(m, 20, dtype="float64")), True),
    ("take_bounds", lambda m: z(m, 3, 4).take(ix(m, 12)), True),
    ("take_negative", lambda m: z(m, 3, 4).take(ix(m, -13)), True),
    ("take_int32", lambda m: m.take(z(m, 3, 5), ix(m, 0, dtype="int32")), True),
    ("put_count", lambda m: z(m, 3, 5).put(ix(m, 0, 1), m.ones(3)), True),
    ("put_bounds", lambda m: z(m, 2, 3).put(ix(m, 6), z(m, 1)), True),
    ("put_dtype", lambda m: z(m, 2, 3).put(ix(m, 0), z(m, 1, dtype="float64")), True),
    ("put_int32", lambda m: z(m, 2, 3).put(ix(m, 0, dtype="int32"), z(m, 1)), True),
    ("take_along_dim_dtype", lambda m: m.take_along_dim(z(m, 3, 5), z(m, 1, 2), 1), True),
    ("take_along_dim_ndim", lambda m: m.take_along_dim(z(m, 3, 5), m.zeros(2, dtype=m.long), 1),
     True),
    ("take_along_dim_broadcast", lambda m: m.take_along_dim(z(m, 3, 5),
                                                            m.zeros(2, 2, dtype=m.long), 1), True),
    ("unfold_size", lambda m: z(m, 3, 5).unfold(1, 6, 2), True),
    ("unfold_step", lambda m: z(m, 3, 5).unfold(1, 2, 0), True),
    ("unfold_0d", lambda m: z(m).unfold(0, 2, 1), True),
    ("narrow_copy", lambda m: z(m, 3, 5).narrow_copy(1, 1, 6), True),
    ("meshgrid_empty", lambda m: m.meshgrid(indexing="ij"), True),
    ("meshgrid_dtype", lambda m: m.meshgrid(z(m, 2), z(m, 3, dtype="float64"), indexing="ij"),
     True),
    ("meshgrid_indexing", lambda m: m.meshgrid(z(m, 2), indexing="foo"), True),
    ("meshgrid_2d", lambda m: m.meshgrid(z(m, 2, 3), indexing="ij"), False),
    ("select_scatter_size", lambda m: m.select_scatter(z(m, 3, 4), z(m, 3), 0, 1), True),
    ("select_scatter_index", lambda m: m.select_scatter(z(m, 3, 4), z(m, 4), 0, 5), False),
    ("slice_scatter_size", lambda m: m.slice_scatter(z(m, 3, 4), z(m, 3, 3), 1, 0, 4, 2), True),
    ("diagonal_scatter_size", lambda m: m.diagonal_scatter(z(m, 3, 4), z(m, 2)), True),
    ("block_diag_3d", lambda m: m.block_diag(z(m, 2, 2, 2)), True),
    ("cartesian_2d", lambda m: m.cartesian_prod(z(m, 2, 2)), True),
    ("combinations_negative", lambda m: m.combinations(m.arange(4), -1), True),
    ("combinations_2d", lambda m: m.combinations(z(m, 2, 2)), True),
    ("nonzero_out", lambda m: m.nonzero(z(m, 2, 3), out=z(m, 1)), True),
    ("embedding_range", lambda m: F(m).embedding(ix(m, 0, 5), z(m, 5, 3)), True),
    ("embedding_negative", lambda m: F(m).embedding(ix(m, 0, -1), z(m, 5, 3)), True),
    ("embedding_float", lambda m: F(m).embedding(m.tensor([0.0, 1.0]), z(m, 5, 3)), True),
    ("embedding_padding", lambda m: F(m).embedding(ix(m, 1), z(m, 5, 3), padding_idx=5), True),
    ("embedding_padding_neg", lambda m: F(m).embedding(ix(m, 1), z(m, 5, 3), padding_idx=-6),
     True),
    ("embedding_1d_weight", lambda m: F(m).embedding(ix(m, 1), z(m, 5)), True),
    ("one_hot_large", lambda m: F(m).one_hot(ix(m, 0, 3), 3), True),
    ("one_hot_negative", lambda m: F(m).one_hot(ix(m, 0, -1), 3), True),
    ("one_hot_int32", lambda m: F(m).one_hot(ix(m, 0, 1, dtype="int32"), 3), True),
    ("one_hot_empty", lambda m: F(m).one_hot(m.tensor([], dtype=m.long)), True),
    ("pad_odd", lambda m: F(m).pad(z(m, 2, 3), (1,)), True),
    ("pad_long", lambda m: F(m).pad(z(m, 2, 3), (1, 2, 3, 4, 5, 6)), True),
    ("pad_crop", lambda m: m.constant_pad_nd(z(m, 2, 3), (-2, -2)), False),
    ("pad_reflect_big", lambda m: F(m).pad(z(m, 1, 2, 3), (3, 3), mode="reflect"), True),
    ("pad_reflect_big_2d", lambda m: F(m).pad(z(m, 1, 2, 3, 3), (3, 1, 1, 1), mode="reflect"),
     True),
    ("pad_circular_wrap", lambda m: F(m).pad(z(m, 1, 2, 3), (4, 2), mode="circular"), True),
    ("pad_mode", lambda m: F(m).pad(z(m, 1, 2, 3), (1, 1), mode="foo"), True),
    ("pad_value", lambda m: F(m).pad(z(m, 1, 2, 3), (1, 1), mode="reflect", value=2.0), True),
    ("pad_combo", lambda m: F(m).pad(z(m, 5), (1, 1), mode="reflect"), True),
    ("pad_combo_2d", lambda m: F(m).pad(z(m, 2, 5), (1, 1, 1, 1), mode="replicate"), True),
    ("pad_empty_dim", lambda m: F(m).pad(z(m, 2, 0, 5), (1, 1), mode="reflect"), True),
    ("pad_float", lambda m: F(m).pad(z(m, 2, 3), (1.5, 1)), True),
    ("pad_complex_value", lambda m: F(m).pad(z(m, 2, 3), (1, 1), value=1 + 1j), True),
]


def _raise(lib, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(lib)
        except Exception as exc:  # noqa: BLE001 - any exception is the result under test
            return exc
    return None


@pytest.mark.parametrize("fn,same_message", [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_error_matches_torch(fn, same_message):
    expected = _raise(torch, fn)
    got = _raise(gt, fn)
    assert expected is not None, "torch accepted this input: the case is wrong"
    assert got is not None, f"graphtorch accepted it; torch raised {expected!r}"
    assert type(got) is type(expected), f"{type(got).__name__}: {got} != {expected!r}"
    if same_message:
        assert str(got) == str(expected)


def test_scatter_reduce_with_tensor_src_warns():
    x, index = gt.zeros(3, 4), gt.zeros(1, 4, dtype=gt.long)
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter"):
        out = x.scatter(0, index, gt.ones(1, 4), reduce="add")
    assert out[0].tolist() == [1.0] * 4


def test_meshgrid_without_indexing_warns():
    with pytest.warns(UserWarning, match="indexing argument"):
        a, _ = gt.meshgrid(gt.zeros(2), gt.zeros(3))
    assert tuple(a.shape) == (2, 3)


def test_scatter_with_reduce_has_no_gradient():
    x = gt.zeros(3, 4, requires_grad=True)
    out = x.scatter(0, gt.zeros(1, 4, dtype=gt.long), 2.0, reduce="add")
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        out.sum().backward()


def test_grad_fn_names():
    x = gt.randn(3, 4, requires_grad=True)
    i = gt.tensor([[0, 1, 2, 0]])
    names = {
        "CatBackward0": gt.cat([x, x]), "StackBackward0": gt.stack([x, x]),
        "FlipBackward0": x.flip(0), "RollBackward0": x.roll(1), "Rot90Backward0": x.rot90(),
        "TrilBackward0": x.tril(), "DiagEmbedBackward0": gt.diag(x[0]),
        "RepeatBackward0": x.repeat(2, 1), "GatherBackward0": x.gather(0, i),
        "ScatterBackward0": x.scatter(0, i, x[:1]), "ScatterBackward1": x.scatter(0, i, 1.0),
        "ScatterAddBackward0": x.scatter_add(0, i, x[:1]),
        "ScatterReduceBackward0": x.scatter_reduce(0, i, x[:1], "amax"),
        "IndexSelectBackward0": x.index_select(0, i[0]),
        "MaskedFillBackward0": x.masked_fill(x > 0, 1.0),
        "MaskedFillBackward1": x.masked_fill(x > 0, gt.tensor(1.0)),
        "IndexFillBackward0": x.index_fill(0, i[0], 1.0),
        "MaskedSelectBackward0": x.masked_select(x > 0), "TakeBackward0": x.take(i),
        "ConstantPadNdBackward0": gt_movement.pad(x, (1, 1)),
        "EmbeddingBackward0": gt_movement.embedding(i, x), "UnfoldBackward0": x.unfold(1, 2, 1),
    }
    for name, out in names.items():
        assert out.grad_fn.name() == name


def test_inplace_ops_write_into_self():
    x = gt.zeros(3, 4)
    i = gt.tensor([[0, 1, 2, 0]])
    assert x.scatter_(0, i, 1.0) is x and float(x.sum()) == 4.0
    assert x.masked_fill_(x > 0, 2.0) is x and float(x.sum()) == 8.0
    assert x.index_fill_(1, gt.tensor([3]), 0.0) is x and float(x.sum()) == 6.0
    x.index_add_(0, gt.tensor([1]), gt.ones(1, 4))
    assert x[1].tolist() == [1.0, 3.0, 1.0, 1.0]


def test_unfold_is_a_view():
    x = gt.arange(6.0)
    w = x.unfold(0, 2, 2)
    w[1, 0] = 10.0
    assert x[2].item() == 10.0 and w._base is x


def test_flip_result_has_no_negative_strides():
    x = gt.arange(12.0).reshape(3, 4)
    for out in (x.flip(0), x.flip(0, 1), x.rot90(), gt.fliplr(x)):
        assert all(s >= 0 for s in out.stride())
        assert np.array_equal(out.numpy(), out.numpy().copy())
