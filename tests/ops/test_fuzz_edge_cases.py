"""Edges the ops fuzz family (tests/compiler/fuzz/families/ops.py) found where eager
differed from PyTorch: argmax over a non-empty dim of an empty tensor, clamp bounds out of
an integer dtype's range, and the layout of a promoted broadcast (0-stride) operand."""

import pytest

import graphtorch as gt
from tests.autograd.diff import torch


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_arg_reductions_over_a_non_empty_dim_of_an_empty_tensor(fn):
    for lib in (gt, torch):
        x = lib.zeros(3, 0, 4)
        assert tuple(getattr(x, fn)(0).shape) == (0, 4)
        assert tuple(getattr(x, fn)(-1, keepdim=True).shape) == (3, 0, 1)
        with pytest.raises(IndexError, match="non-zero size"):
            getattr(x, fn)(1)
        with pytest.raises(IndexError, match="numel"):
            getattr(x, fn)()


@pytest.mark.parametrize("expr", ["x.clamp(-1, 1)", "x.clamp(min=-1)", "x.clamp(-255, 3)",
                                  "x.clone().clamp_(-1, 1)", "x.clamp_min(-2)"])
def test_clamp_wraps_negative_bounds_of_unsigned_tensors_as_pytorch(expr):
    results = []
    for lib in (gt, torch):
        x = lib.tensor([0, 5, 200], dtype=lib.uint8)
        results.append(eval(expr, {"x": x}).tolist())
    assert results[0] == results[1]


@pytest.mark.parametrize("expr", ["x.clamp(max=300)", "y.clamp(-200, 3)"])
def test_clamp_refuses_bounds_pytorch_cannot_convert(expr):
    for lib in (gt, torch):
        x = lib.tensor([0, 5, 200], dtype=lib.uint8)
        y = lib.tensor([1, 2], dtype=lib.int8)
        with pytest.raises(RuntimeError, match="without overflow"):
            eval(expr, {"x": x, "y": y})


@pytest.mark.parametrize("expr", ["a.sin()", "gt.atan2(a, a)", "a * 1.5", "a.exp()",
                                  "b.sin()", "c.sin()"])
def test_promoted_broadcast_operands_give_pytorchs_strides(expr):
    strides = []
    for lib in (gt, torch):
        a = lib.tensor([[True, False, True, True]]).expand(3, 4)
        b = lib.tensor([[1], [0], [1], [1]]).expand(4, 3).t()
        c = lib.tensor([[[1, 2]], [[3, 4]]]).expand(2, 3, 2).transpose(0, 2)
        strides.append(eval(expr, {"gt": lib, "a": a, "b": b, "c": c}).stride())
    assert strides[0] == strides[1]


@pytest.mark.parametrize("stmt", ["x[lib.tensor([True, False])] = -1", "x[lib.tensor([0])] = -1",
                                  "x[0] = -1"])
def test_writing_a_negative_python_int_into_an_unsigned_tensor_wraps(stmt):
    results = []
    for lib in (gt, torch):
        x = lib.tensor([1, 2], dtype=lib.uint8)
        exec(stmt, {"x": x, "lib": lib})  # noqa: S102 - fixed statements
        results.append(x.tolist())
    assert results[0] == results[1] == [255, 2]


@pytest.mark.parametrize("expr", ["x.unflatten(0, (1, -1))", "x.unflatten(0, (2, 1))",
                                  "y.unflatten(-1, (3, -1))", "z.movedim(0, 0)",
                                  "z.movedim(-1, -1)", "z.movedim((0,), (-1,))"])
def test_unflatten_of_empty_tensors_and_movedim_of_0d_tensors(expr):
    shapes = []
    for lib in (gt, torch):
        names = {"x": lib.zeros(2, 0), "y": lib.zeros(2, 6), "z": lib.tensor(1.5)}
        shapes.append(tuple(eval(expr, names).shape))
    assert shapes[0] == shapes[1]


@pytest.mark.parametrize("sizes", [(3, 1), (2, -1, -1), (0, -1)])
def test_unflatten_refuses_sizes_that_do_not_multiply_up(sizes):
    for lib in (gt, torch):
        with pytest.raises(RuntimeError, match="unflatten"):
            lib.zeros(2, 0).unflatten(0, sizes)


def _strides(t):  # a size-1 dim's stride carries no layout
    return tuple(s if n > 1 else None for s, n in zip(t.stride(), t.shape))


@pytest.mark.parametrize("make", ["lib.randn(5, 4, 3)", "lib.randn(3, 4, 5).permute(2, 1, 0)",
                                  "lib.randn(1, 4, 3).expand(5, 4, 3)",
                                  "lib.randn(5, 4, 6)[..., ::2]"])
@pytest.mark.parametrize("index", ["b[:, i]", "b[..., i]", "b[i, :, i]", "b[:, i, i]",
                                   "b[1:, i]", "b[:, m]", "b[:, j]", "b[:, j.t()]",
                                   "b[:, i, 0]", "b[..., i, :]"])
def test_advanced_indexing_results_are_laid_out_as_pytorchs(make, index):
    # NumPy puts the index dims outermost in memory: ``x[:, i]`` of a contiguous x was not
    # contiguous (and a compiled graph, contiguous there, differed from eager)
    strides = []
    for lib in (gt, torch):
        names = {"lib": lib, "i": lib.tensor([2, 0, 1]), "j": lib.tensor([[0, 1], [2, 0]]),
                 "m": lib.tensor([[True, False, True], [False, False, True],
                                  [True, True, False], [False, True, True]])}
        names["b"] = eval(make, names)
        strides.append(_strides(eval(index, names)))
    assert strides[0] == strides[1]


def test_any_and_all_of_uint8_stay_uint8():
    for lib in (gt, torch):
        x = lib.tensor([[1, 0], [2, 0]], dtype=lib.uint8)
        assert [str(t.dtype) for t in (x.any(), x.all(0), x.any(1, keepdim=True))] == \
            ["torch.uint8"] * 3
        assert x.all(0).tolist() == [1, 0]
        assert lib.tensor([1, 2], dtype=lib.int8).any().dtype == lib.bool


def test_glu_of_an_empty_dim():
    for lib in (gt, torch):
        assert tuple(lib.nn.functional.glu(lib.zeros(2, 0), 1).shape) == (2, 0)
