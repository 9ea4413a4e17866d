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
    "split_with_sizes": lambda x: x.split_with_sizes([1, 3], 2)[1],
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


VIEW_DTYPE_CASES = {
    "same_size": lambda lib: lib.arange(6, dtype=lib.float32).view(lib.int32),
    "shrink": lambda lib: lib.arange(4, dtype=lib.int16).view(lib.int8),
    "grow": lambda lib: lib.arange(4, dtype=lib.int32).view(lib.int64),
    "shrink_2d_slice": lambda lib: lib.arange(12, dtype=lib.int32).view(3, 4)[:, 1:]
    .view(lib.int8),
    "grow_2d_slice": lambda lib: lib.arange(12, dtype=lib.int32).view(3, 4)[1:, 2:]
    .view(lib.float64),
    "float64_bytes": lambda lib: lib.tensor([1.5, -2.0], dtype=lib.float64).view(lib.uint8),
    "complex_as_float": lambda lib: lib.tensor([1 + 2j, 3 - 1j]).view(lib.float64),
    "float_as_complex": lambda lib: lib.tensor([[1.0, 2.0]]).view(lib.complex64),
    "empty": lambda lib: lib.ones(0, 2).view(lib.int8),
    # PyTorch's errors, in its order of checks
    "zero_dim": lambda lib: lib.ones(()).view(lib.int16),
    "last_stride": lambda lib: lib.ones(3, 4).t().view(lib.int16),
    "last_size": lambda lib: lib.ones(3).view(lib.float64),
    "offset": lambda lib: lib.arange(12, dtype=lib.int16).view(3, 4)[1:, 1:3].view(lib.int32),
    "outer_stride": lambda lib: lib.ones(3, 3)[:, :2].view(lib.float64),
    "offset_before_stride": lambda lib: lib.ones(20)[1::2][:4].view(lib.float64),
}


VIEW_DTYPE_ERRORS = ("zero_dim", "last_stride", "last_size", "offset", "outer_stride",
                     "offset_before_stride")


@pytest.mark.parametrize("name", list(VIEW_DTYPE_CASES))
def test_view_dtype_layout_and_errors_match_torch(name):
    if name in VIEW_DTYPE_ERRORS:  # the same message, word for word
        messages = []
        for lib in (gt, torch):
            with pytest.raises(RuntimeError) as info:
                VIEW_DTYPE_CASES[name](lib)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        return

    def fn(lib):
        v = VIEW_DTYPE_CASES[name](lib)
        return v, v.stride(), v.storage_offset(), v.is_contiguous()
    same(fn)


def test_view_dtype_with_other_element_size_shares_memory():
    def fn(lib):
        x = lib.arange(4, dtype=lib.int32)
        y = x.view(lib.int16)
        y[1] = 7
        x[3] = -1
        return x, y, y.data_ptr() == x.data_ptr()
    same(fn)


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1.5, 2.0]),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.zeros(0),
    lambda lib: lib.tensor([1 + 2j]),
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8),
    lambda lib: lib.arange(6.0).view(2, 3)[1],
    lambda lib: lib.arange(6).view(2, 3).t(),
], ids=["float", "bool", "empty", "complex", "uint8", "row_view", "transposed"])
def test_storage_print_index_and_iterate_like_torch(make):
    def fn(lib):
        t = make(lib)
        with warnings.catch_warnings():  # PyTorch: "TypedStorage is deprecated"
            warnings.simplefilter("ignore", UserWarning)
            s, u = t.storage(), t.untyped_storage()
            return (repr(s), str(s), repr(u), s.tolist(), u.tolist(), list(s),
                    [s[i] for i in range(-len(s), len(s))], [u[0], u[-1]] if len(u) else [])
    same(fn)


@pytest.mark.parametrize("index", [5, -3, slice(0, 1)])
def test_typed_storage_index_errors_match_torch(index):
    def fn(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return lib.tensor([1.0, 2.0]).storage()[index]
    same(fn, match=r"out of range for storage of size 2|slices are only supported")


COMPLEX_VIEWS = {
    "view_as_real": lambda lib: lib.view_as_real(lib.tensor([1 + 2j, 3 - 4j])),
    "view_as_real_0d": lambda lib: lib.view_as_real(lib.tensor(1 + 2j)),
    "view_as_real_t": lambda lib: lib.view_as_real(lib.tensor([[1 + 2j, 2j]],
                                                              dtype=lib.complex128).t()),
    "view_as_complex": lambda lib: lib.view_as_complex(lib.tensor([[1.0, 2.0], [3.0, 4.0]])),
    "view_as_complex_slice": lambda lib: lib.view_as_complex(
        lib.arange(8, dtype=lib.float64).view(2, 2, 2)[:, 1]),
    "real": lambda lib: lib.tensor([[1 + 2j, 3 - 4j]]).t().real,
    "imag": lambda lib: lib.tensor([1 + 2j, 3 - 4j]).imag,
    "torch_real": lambda lib: lib.real(lib.tensor([1 + 2j])),
    "torch_imag": lambda lib: lib.imag(lib.tensor([1 + 2j])),
}


@pytest.mark.parametrize("name", list(COMPLEX_VIEWS))
def test_complex_views_layout_matches_torch(name):
    def fn(lib):
        v = COMPLEX_VIEWS[name](lib)
        return v, v.stride(), v.storage_offset(), v.is_contiguous()
    same(fn)


def test_real_imag_and_view_as_real_write_through():
    # PyTorch's `z.real`/`z.imag` are views: writes reach the complex tensor, both ways.
    def fn(lib):
        z = lib.tensor([1 + 2j, 3 - 4j])
        re, im, pairs = z.real, z.imag, lib.view_as_real(z)
        re[0] = 10
        im.mul_(2)
        pairs[1, 0] = -7
        lib.view_as_complex(pairs)[0] = 5j
        x = lib.tensor([1.0, 2.0])
        return z, re, im, pairs, x.real is x, re.data_ptr() == z.data_ptr()
    same(fn)


@pytest.mark.parametrize("make", [
    lambda lib: lib.view_as_real(lib.ones(2)),
    lambda lib: lib.view_as_complex(lib.ones(2, 2, dtype=lib.int32)),
    lambda lib: lib.view_as_complex(lib.tensor(1.0)),
    lambda lib: lib.view_as_complex(lib.ones(3)),
    lambda lib: lib.view_as_complex(lib.ones(2, 2).t()),
    lambda lib: lib.view_as_complex(lib.ones(3, 3)[:, :2]),
    lambda lib: lib.view_as_complex(lib.ones(5)[1:3]),
    lambda lib: lib.ones(2).imag,
], ids=["real_of_float", "int", "zero_dim", "last_size", "last_stride", "outer_stride",
        "offset", "imag_of_float"])
def test_complex_view_errors_match_torch(make):
    messages = []
    for lib in (gt, torch):
        with pytest.raises(RuntimeError) as info:
            make(lib)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_complex_view_gradients_match_torch():
    def fn(lib):
        z = lib.tensor([1 + 2j, 3 - 4j], requires_grad=True)
        (z.real * 2 + z.imag ** 2).sum().backward()
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        c = lib.view_as_complex(x)
        (c * c.conj()).real.sum().backward()
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([1 + 2j, 3 - 4j]) * 1
        y.imag.copy_(w * 3)              # in-place writes through real views of y
        y.real[1] = w[0] * 5
        (y * y.conj()).real.sum().backward()
        return z.grad, x.grad, w.grad, y.detach()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no ComplexWarning from the CopySlices gradient
        same(fn)


def test_complex_views_compiled_equal_eager():
    def f(z, x):
        c = gt.view_as_complex(x)
        y = z.clone()
        y.real.mul_(3)
        return gt.view_as_real(z) * 2, z.real + z.imag, (c * c.conj()).real, y

    z, x = gt.tensor([1 + 2j, 3 - 4j]), gt.tensor([[1.0, 2.0], [3.0, 4.0]])
    eager, compiled = f(z, x), gt.compile(f)
    for _ in range(2):
        for a, b in zip(eager, compiled(z, x)):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert gt.allclose(a, b)


AS_STRIDED = {
    "windows": lambda x: x.as_strided((2, 2), (1, 2)),
    "offset": lambda x: x.as_strided((2, 2), (1, 2), 1),
    "function": lambda x: torch_or_gt(x).as_strided(x, (2, 2), (1, 3)),
    "zero_dim": lambda x: x.as_strided((), (), 5),
    "of_a_view": lambda x: x[2:].as_strided((2,), (1,)),       # offset: the view's own
    "of_a_view_offset0": lambda x: x[2:].as_strided((2,), (1,), 0),
    "of_transposed": lambda x: x.view(2, 3).t().as_strided((3, 2), (1, 3)),
    "repeat": lambda x: x.as_strided((2, 3), (0, 1)),
}


def torch_or_gt(x):
    return gt if isinstance(x, gt.Tensor) else torch


@pytest.mark.parametrize("name", list(AS_STRIDED))
def test_as_strided_layout_and_memory_match_torch(name):
    def fn(lib):
        x = lib.arange(6.0)
        v = AS_STRIDED[name](x)
        return v, v.stride(), v.storage_offset(), v.is_contiguous(), v.data_ptr() - x.data_ptr()
    same(fn)


@pytest.mark.parametrize("make", [
    lambda x: x.as_strided((3,), (-1,)),
    lambda x: x.as_strided((2, 2), (1,)),
    lambda x: x.as_strided((2,), (0,), 6),
    lambda x: x.as_strided((2, 2), (1, 3), 2),
], ids=["negative_stride", "lengths", "offset_out_of_bounds", "out_of_bounds"])
def test_as_strided_errors_match_torch(make):
    messages = []
    for lib in (gt, torch):
        with pytest.raises(RuntimeError) as info:
            make(lib.arange(6.0))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_as_strided_writes_and_gradients_match_torch():
    def fn(lib):
        a = lib.arange(6.0, requires_grad=True)
        b = (a * 1)[1:].as_strided((2, 2), (1, 2))
        (b * lib.arange(4.0).view(2, 2)).sum().backward()
        c = lib.arange(6.0, requires_grad=True)
        (c.as_strided((2, 3), (0, 1)) ** 2).sum().backward()   # overlapping: grads add up
        base = lib.zeros(6)
        window = base.as_strided((2, 2), (1, 2), 1)
        window[1, 1] = 7
        window.add_(1)
        return a.grad, c.grad, base, b.grad_fn.name()
    same(fn)


@pytest.mark.parametrize("make", [
    lambda: gt.arange(10.0)[2:],
    lambda: gt.arange(10.0).view(2, 5).t(),
], ids=["view_argument", "transposed_argument"])
def test_as_strided_compiled_equals_eager(make):
    # the storage behind an argument is not in a graph: compiled code runs as_strided eagerly
    def f(x):
        return x.as_strided((2, 2), (1, 2), 0) * 2 + x.as_strided((3,), (1,)).sum()

    x = make()
    compiled = gt.compile(f)
    for _ in range(2):
        assert gt.equal(compiled(x), f(x))
    assert "as_strided() reads the tensor's storage" in compiled.stats.graph_breaks[0]


def test_broadcast_tensors_returns_a_tensor_already_of_the_shape_itself():
    for lib in (torch, gt):
        a = lib.ones(2, 3, requires_grad=True) * 2
        b = lib.ones(1, 3)
        x, y = lib.broadcast_tensors(a, b)
        assert x is a and y is not b and y._base is b
        assert lib.broadcast_tensors(b)[0] is b


def test_resize_and_swapdims_inplace_match_torch():
    def fn(lib):
        x = lib.arange(6.)
        x.resize_(2, 3)
        out = [x.tolist(), x.stride()]
        x.resize_(4)
        out.append(x.tolist())
        y = lib.arange(6.).reshape(2, 3).t().contiguous()
        y.resize_((3, 2))
        z = lib.arange(4.)
        z.resize_as_(lib.zeros(2, 2))
        w = lib.randn(2, 3).swapdims_(0, 1)
        return out + [y.tolist(), tuple(z.shape), tuple(w.shape)]
    same(fn)
    same(lambda lib: lib.ones(2, requires_grad=True).resize_(3), match="require grad")
