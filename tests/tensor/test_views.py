"""Views vs PyTorch: shared storage, writes visible both ways, strides, offsets,
contiguity, `view` errors, when `reshape` copies, and in-place ops keeping memory."""

from __future__ import annotations

import warnings

import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch


def _base(lib):
    return lib.arange(24.0).reshape(2, 3, 4)


VIEWS = {
    "slice": lambda x: x[:, 1:, ::2],
    "select": lambda x: x[1],
    "select_neg": lambda x: x[:, -1],
    "view": lambda x: x.view(6, 4),
    "view_infer": lambda x: x.view(-1),
    "narrow": lambda x: x.narrow(2, 1, 2),
    "select_fn": lambda x: x.select(1, 2),
    "t": lambda x: x[0].t(),
    "transpose": lambda x: x.transpose(0, 2),
    "permute": lambda x: x.permute(2, 0, 1),
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "diagonal_offset": lambda x: x.diagonal(1, 1, 2),
    "split": lambda x: x.split(2, 2)[1],
    "split_sizes": lambda x: x.split([1, 3], 2)[1],
    "chunk": lambda x: x.chunk(3, 1)[2],
    "unbind": lambda x: x.unbind(1)[1],
    "tensor_split": lambda x: x.tensor_split(3, 2)[1],
    "movedim": lambda x: x.movedim(0, -1),
    "T_of_2d": lambda x: x[1].T,
    "mT": lambda x: x.mT,
    "ellipsis_none": lambda x: x[..., None, 1],
    "alias": lambda x: x[...],
    "flatten_contig": lambda x: x.flatten(),
    "reshape_contig": lambda x: x.reshape(4, 6),
    "chain": lambda x: x.permute(1, 0, 2)[1:, :, 1:3].transpose(0, 1)[:, 0],
    "chain2": lambda x: x.view(6, 4).t()[::2].unsqueeze(0)[..., 1:],
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "swapaxes": lambda x: x.swapaxes(0, 1),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_layout_matches_torch(name):
    def fn(lib):
        x = _base(lib)
        v = VIEWS[name](x)
        return (v, tuple(v.shape), v.stride(), v.storage_offset(), v.is_contiguous(),
                v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())
    same(fn)


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_writes_visible_both_ways(name):
    def fn(lib):
        x = _base(lib)
        v = VIEWS[name](x)
        if name == "expand":  # expanded views may not be written; write the base only
            x.mul_(-1)
            return v, x
        v.mul_(-1)                      # through the view into the base
        after_view_write = x.clone()
        x.add_(100)                     # through the base into the view
        return after_view_write, v
    same(fn)


@pytest.mark.parametrize("name", list(VIEWS))
def test_contiguous_of_view(name):
    def fn(lib):
        v = VIEWS[name](_base(lib))
        c = v.contiguous()
        return c, c.stride(), c.is_contiguous(), (c.data_ptr() == v.data_ptr())
    same(fn)


def test_view_on_noncontiguous_raises_torch_message():
    raises_like_torch(lambda lib: _base(lib).transpose(0, 1).view(-1),
                      match=r"view size is not compatible with input tensor's size and stride "
                            r"\(at least one dimension spans across two contiguous subspaces\)"
                            r". Use .reshape\(...\) instead.")
    raises_like_torch(lambda lib: _base(lib)[:, :, :3].view(18), match="view size is not")


def test_view_allowed_on_some_noncontiguous():
    def fn(lib):
        x = _base(lib)[:, 1:]          # non-contiguous, but dims 1..2 can merge
        v = x.view(2, 8)
        u = _base(lib).transpose(0, 1).view(3, 2, 2, 2)
        return v, v.stride(), u, u.stride(), x.is_contiguous()
    same(fn)


def test_view_shape_errors():
    raises_like_torch(lambda lib: _base(lib).view(5, 5), match=r"shape '\[5, 5\]' is invalid "
                                                               r"for input of size 24")
    raises_like_torch(lambda lib: _base(lib).view(-1, -1), match="only one dimension can be "
                                                                 "inferred")


@pytest.mark.parametrize("make,shape", [
    (lambda x: x, (4, 6)),
    (lambda x: x.transpose(0, 1), (12, 2)),
    (lambda x: x[:, 1:], (2, 8)),
    (lambda x: x[:, :, ::2], (12,)),
    (lambda x: x.permute(2, 0, 1), (4, 6)),
    (lambda x: x[:, :1].expand(2, 3, 4), (6, 4)),
    (lambda x: x[0].t(), (12,)),
], ids=["contig", "transpose", "slice", "step", "permute", "expand", "t"])
def test_reshape_copies_only_when_needed(make, shape):
    def fn(lib):
        x = make(_base(lib))
        r = x.reshape(shape)
        shares = r.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        return r, r.stride(), shares, r._base is not None
    same(fn)


def test_split_chunk_unbind_all_share():
    def fn(lib):
        x = _base(lib)
        parts = list(x.split(1, 0)) + list(x.chunk(2, 2)) + list(x.unbind(1))
        ptr = x.untyped_storage().data_ptr()
        return [(p.untyped_storage().data_ptr() == ptr, p.storage_offset(), p.stride())
                for p in parts]
    same(fn)


def test_storage_sizes():
    def fn(lib):
        x = _base(lib)
        v = x[1, 1:]
        s = v.untyped_storage()
        return s.nbytes(), len(x.untyped_storage()), v.storage_offset()
    same(fn)


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.sub_(t), lambda t: t.div_(2),
    lambda t: t.clamp_(1, 5), lambda t: t.neg_(), lambda t: t.exp_(), lambda t: t.zero_(),
    lambda t: t.fill_(3), lambda t: t.copy_(t * 2), lambda t: t.__iadd__(3),
    lambda t: t.__imul__(t), lambda t: t.pow_(2), lambda t: t.abs_(), lambda t: t.sqrt_(),
    lambda t: t.uniform_(), lambda t: t.normal_(), lambda t: t.floor_(),
    lambda t: t.__setitem__(slice(None), 1.0), lambda t: t.masked_fill_(t > 2, 0.0),
], ids=["add_", "mul_", "sub_", "div_", "clamp_", "neg_", "exp_", "zero_", "fill_", "copy_",
        "iadd", "imul", "pow_", "abs_", "sqrt_", "uniform_", "normal_", "floor_", "setitem",
        "masked_fill_"])
def test_inplace_keeps_data_ptr(op):
    for lib in (torch, gt):
        t = lib.arange(6.0).reshape(2, 3)
        ptr = t.data_ptr()
        out = op(t)
        assert t.data_ptr() == ptr, lib.__name__
        if out is not None:
            assert out is t, lib.__name__
        v = lib.arange(6.0).reshape(2, 3)[:, 1:]    # through a non-contiguous view too
        ptr = v.data_ptr()
        op(v)
        assert v.data_ptr() == ptr and v.stride() == (3, 1), lib.__name__


@pytest.mark.parametrize("op", ["t_", "transpose_", "squeeze_", "unsqueeze_"])
def test_metadata_inplace_ops(op):
    def fn(lib):
        x = lib.arange(6.0).reshape(2, 1, 3)[0] if op != "squeeze_" else \
            lib.arange(6.0).reshape(2, 1, 3)
        args = {"t_": (), "transpose_": (0, 1), "squeeze_": (1,), "unsqueeze_": (0,)}[op]
        out = getattr(x, op)(*args)
        return out is x, x, x.stride(), x.is_contiguous()
    same(fn)


def test_strides_of_elementwise_results_follow_torch():
    def fn(lib):
        x = _base(lib)
        t = x.transpose(0, 2)
        return ((t * 2).stride(), (t + t).stride(), t.exp().stride(), (t * 1).is_contiguous(),
                t.clone().stride(), (x[:, :, ::2] * 2).stride())
    same(fn)


def test_expand_stride_zero_and_write_error():
    def fn(lib):
        e = lib.ones(3, 1).expand(3, 4)
        return e.stride(), e.is_contiguous(), e.contiguous().stride()
    same(fn)
    raises_like_torch(lambda lib: lib.ones(3, 1).expand(3, 4).mul_(2),
                      match="more than one element of the written-to tensor")

    def fill(lib):  # fill_ and zero_ may write one value through an expanded tensor
        base = lib.ones(3, 1)
        base.expand(3, 4).fill_(2)
        other = lib.ones(1, 3)
        other.expand(2, 3).zero_()
        return base, other
    same(fill)


def test_zero_d_and_empty_views():
    def fn(lib):
        s = lib.tensor(3.0)
        e = lib.zeros(0, 3)
        return (s.view(1), s.unsqueeze(0).stride(), s[None], s[...], s.stride(),
                e.view(3, 0).stride(), e.t().shape, e[:, 1:].shape, e.is_contiguous(),
                lib.zeros(2, 0, 3).stride())
    same(fn)


def test_size_one_dims_are_contiguous_like_torch():
    def fn(lib):
        x = lib.ones(3, 1, 4)
        return (x.transpose(0, 1).is_contiguous(), x.permute(1, 0, 2).stride(),
                lib.ones(1, 4).t().is_contiguous(), lib.ones(4, 1).t().stride())
    same(fn)


@pytest.mark.parametrize("name", ["slice", "t", "diagonal", "split", "unbind", "expand"])
def test_typed_storage_shared(name):
    def fn(lib):
        x = _base(lib)
        v = VIEWS[name](x)
        with warnings.catch_warnings():  # PyTorch: "TypedStorage is deprecated"
            warnings.simplefilter("ignore", UserWarning)
            s, base = v.storage(), x.storage()
        return s.data_ptr() == base.data_ptr(), len(s), s.size(), s.element_size()
    same(fn)
