"""In-place ops and autograd vs PyTorch: version counters, errors for unsafe writes,
gradients through writes into views, and `out=`."""

from __future__ import annotations

import pytest

from .diff import raises_like_torch, same


def _leaf(lib, values=(1.0, 2.0, 3.0)):
    return lib.tensor(list(values), requires_grad=True)


def _w(lib):
    return lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)


# --- version counters ----------------------------------------------------------------------

def test_version_counter_bumps():
    def fn(lib):
        x = lib.zeros(3)
        versions = [x._version]
        x.add_(1)
        versions.append(x._version)
        x[0] = 5
        versions.append(x._version)
        v = x[1:]
        v.mul_(2)
        versions += [x._version, v._version]
        x.zero_()
        x.fill_(2)
        x.copy_(lib.ones(3))
        versions.append(x._version)
        y = x * 1       # out-of-place: a fresh counter
        versions.append(y._version)
        return versions
    same(fn)


@pytest.mark.parametrize("saver", ["mul", "pow", "exp_output", "div", "sigmoid_output"])
def test_modified_saved_tensor_raises(saver):
    def fn(lib):
        x = _leaf(lib)
        h = x * 1
        if saver == "mul":
            out = h * h
            modified = h
        elif saver == "pow":
            out = h ** 3
            modified = h
        elif saver == "div":
            out = lib.ones(3) / h
            modified = h
        elif saver == "exp_output":
            out = h.exp()
            modified = out
        else:
            out = h.sigmoid()
            modified = out
        modified.add_(1)
        out.sum().backward()
    raises_like_torch(fn, match="one of the variables needed for gradient computation has been "
                                "modified by an inplace operation")


@pytest.mark.parametrize("write", ["add_", "view_zero_", "slice_mul_", "setitem"])
@pytest.mark.parametrize("saver", ["exp", "sigmoid", "tanh"])
def test_modified_saved_output_raises_after_it_is_gone(saver, write):
    """The saved output is written in place, then its last reference dies before backward:
    the check must still fail (it once passed silently, and the gradient used the new
    values)."""
    def loss_of(lib, x):
        y = getattr(x * 2, saver)()
        if write == "add_":
            y.add_(1)
        elif write == "view_zero_":
            y.view(3).zero_()
        elif write == "slice_mul_":
            y[0:2].mul_(2)
        else:
            y[1] = 0.5
        return y.sum()      # y itself is gone once this returns

    def fn(lib):
        x = _leaf(lib)
        loss_of(lib, x).backward()
    raises_like_torch(fn, match="modified by an inplace operation")


def test_saved_output_of_a_gone_tensor_without_writes_is_fine():
    def fn(lib):
        x = _leaf(lib)

        def loss():
            return (x * 2).exp().sum()
        loss().backward()
        return x.grad
    same(fn, rtol=1e-6)


def test_modified_saved_leaf_under_no_grad_raises():
    def fn(lib):
        x = _leaf(lib)
        y = (x * x).sum()
        with lib.no_grad():
            x.add_(1)
        y.backward()
    raises_like_torch(fn, match=r"is at version 1; expected version 0 instead")


def test_modified_saved_tensor_message_names_the_tensor():
    def fn(lib):
        x = _leaf(lib)
        b = x.sigmoid()
        b.mul_(3)
        b.sum().backward()
    raises_like_torch(fn, match=r"\[torch.FloatTensor \[3\]\], which is output 0 of Sigmoid")


def test_modified_unsaved_tensor_is_fine():
    def fn(lib):
        x = _leaf(lib)
        h = x * 2         # mul by a Python scalar saves nothing
        out = h + 1
        h.add_(1)
        out.sum().backward()
        return x.grad
    same(fn)


def test_modified_through_view_of_saved_tensor_raises():
    def fn(lib):
        x = _leaf(lib)
        h = x * 1
        out = h * h
        h[0].mul_(2)      # views share the base's version counter
        out.sum().backward()
    raises_like_torch(fn, match="modified by an inplace operation")


def test_saved_view_invalidated_by_base_write():
    def fn(lib):
        x = _leaf(lib)
        h = x * 1
        v = h[1:]
        out = v * v
        h.add_(1)
        out.sum().backward()
    raises_like_torch(fn, match="modified by an inplace operation")


# --- leaf errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", [
    lambda x: x.add_(1), lambda x: x.mul_(2), lambda x: x.zero_(), lambda x: x.fill_(1.0),
    lambda x: x.copy_(x.detach() * 2), lambda x: x.exp_(), lambda x: x.clamp_(0, 1),
    lambda x: x.__setitem__(0, 1.0), lambda x: x.__iadd__(1),
], ids=["add_", "mul_", "zero_", "fill_", "copy_", "exp_", "clamp_", "setitem", "iadd"])
def test_inplace_on_leaf_requiring_grad_raises(op):
    raises_like_torch(lambda lib: op(_leaf(lib)),
                      match="a (view of a )?leaf Variable that requires grad is being used in "
                            "an in-place operation")


@pytest.mark.parametrize("view", [
    lambda x: x[0], lambda x: x[:, 1], lambda x: x.t(), lambda x: x.view(6),
    lambda x: x.transpose(0, 1)[1:], lambda x: x.unsqueeze(0), lambda x: x.diagonal(),
    lambda x: x.narrow(1, 0, 2), lambda x: x.expand(2, 2, 3)[0],
], ids=["select", "column", "t", "view", "chain", "unsqueeze", "diagonal", "narrow", "expand"])
def test_inplace_on_view_of_leaf_raises(view):
    raises_like_torch(lambda lib: view(_w(lib)).mul_(2),
                      match="a view of a leaf Variable that requires grad is being used in an "
                            "in-place operation")


def test_leaf_without_grad_inplace_with_grad_operand():
    def fn(lib):
        x = lib.zeros(3)
        w = _leaf(lib)
        x.add_(w * 2)
        x.mul_(w)
        x.sum().backward()
        return x.requires_grad, x.is_leaf, x.grad_fn.name(), w.grad
    same(fn)


def test_view_created_in_no_grad_modified_with_grad_raises():
    def fn(lib):
        x = _leaf(lib) * 1
        with lib.no_grad():
            v = x[0:2]
        v.mul_(2)
    raises_like_torch(fn, match="A view was created in no_grad mode and is being modified "
                                "inplace with grad mode enabled")


def test_view_of_nograd_view_modified_with_grad_raises():
    def fn(lib):
        x = _w(lib) * 1
        with lib.no_grad():
            v = x[0]
        v[1:].mul_(2)
    raises_like_torch(fn, match="created in no_grad mode")


def test_view_created_and_modified_in_no_grad_is_fine():
    def fn(lib):
        x = _leaf(lib) * 1
        with lib.no_grad():
            v = x[0:2]
            v.mul_(2)
        x.sum().backward()
        return x.detach()
    same(fn)


@pytest.mark.parametrize("split", ["unbind", "split", "chunk", "split_sizes"])
def test_inplace_on_multi_output_view_raises(split):
    def fn(lib):
        x = _w(lib) * 1
        parts = {"unbind": lambda: x.unbind(0), "split": lambda: x.split(2, 1),
                 "chunk": lambda: x.chunk(2, 1),
                 "split_sizes": lambda: x.split([1, 2], 1)}[split]()
        parts[1].mul_(2)
    raises_like_torch(fn, match="is a view and is being modified inplace. This view is the "
                                "output of a function that returns multiple views")


def test_multi_output_views_without_grad_can_be_modified():
    def fn(lib):
        x = lib.ones(2, 3)
        a, _ = x.unbind(0)
        a.mul_(2)
        _, d = x.split(2, 1)
        d.add_(1)
        return x
    same(fn)


def test_tensor_split_outputs_can_be_modified():
    def fn(lib):
        w = _w(lib)
        x = w * 1
        _, b = x.tensor_split(2, 1)
        b.mul_(2)
        (x * x).sum().backward()
        return w.grad
    same(fn)


# --- gradients through in-place writes into views -------------------------------------------

def _check_view_write(write, extra_leaf=False):
    def fn(lib):
        w = _w(lib)
        y = _leaf(lib, (7.0, 8.0, 9.0)) if extra_leaf else None
        x = w * 1
        write(lib, x, y)
        (x * x * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return (x, w.grad) + ((y.grad,) if extra_leaf else ())
    same(fn, rtol=1e-6)


def test_setitem_row():
    _check_view_write(lambda lib, x, y: x.__setitem__(0, y * 2), extra_leaf=True)


def test_setitem_scalar_and_slice():
    def write(lib, x, y):
        x[1, 2] = 0.5
        x[:, :1] = y[:2].unsqueeze(1)
    _check_view_write(write, extra_leaf=True)


def test_column_mul():
    _check_view_write(lambda lib, x, y: x[:, 1].mul_(2))


def test_transpose_add():
    _check_view_write(lambda lib, x, y: x.t().add_(1))


def test_chain_of_views():
    def write(lib, x, y):
        v = x[1:, :][:, 1:].t()
        v.mul_(v.clone())
    _check_view_write(write)


def test_long_chain_with_unsqueeze_squeeze():
    _check_view_write(lambda lib, x, y: x.unsqueeze(0).squeeze(0).transpose(0, 1)[2].zero_())


def test_views_created_before_write():
    def fn(lib):
        w = _w(lib)
        x = w * 1
        row = x[0]
        col = x[:, 0]
        row.mul_(3)
        r = (col * col).sum() + (x ** 2).sum() + row.sum()
        r.backward()
        return w.grad, col, row.requires_grad, col.requires_grad, col.is_leaf
    same(fn)


def test_base_written_after_view_taken():
    def fn(lib):
        w = _w(lib)
        x = w * 1
        v = x[0]
        x.mul_(2)
        (v * v).sum().backward()
        return w.grad, v
    same(fn)


def test_view_taken_before_base_required_grad():
    def fn(lib):
        y = _leaf(lib, (7.0, 8.0, 9.0))
        x = lib.zeros(2, 3)
        early = x[0]                 # taken while x needs no grad
        x.add_(y)                    # now x is part of the graph
        flags = (early.requires_grad, early.is_leaf, early.grad_fn is not None)
        (early * 2).sum().backward()
        return flags, y.grad
    same(fn)


def test_view_of_leaf_made_to_require_grad_later():
    # PyTorch then reports the view as a leaf and drops its gradient; graphtorch only
    # promises the flag (and routes the gradient to the base).
    def fn(lib):
        x = lib.ones(2, 3)
        v = x[0]
        x.requires_grad_()
        return v.requires_grad
    same(fn)


def test_nested_views_written_in_turn():
    def fn(lib):
        w = _w(lib)
        x = w * 1
        v = x[0]
        v2 = v[1:]
        x.mul_(2)
        v2.mul_(3)
        (x * x).sum().backward()
        return w.grad, v, v2
    same(fn)


def test_diagonal_exp_():
    def fn(lib):
        w = lib.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], requires_grad=True)
        x = w * 1
        x.diagonal().exp_()
        (x ** 2).sum().backward()
        return w.grad
    same(fn, rtol=1e-6)


def test_view_reshape_write_with_grad_operand():
    def fn(lib):
        w = _w(lib)
        y = _leaf(lib, (7.0, 8.0, 9.0))
        x = w * 1
        x.view(6)[::2].mul_(y)
        (x.sum(0) ** 2).sum().backward()
        return w.grad, y.grad
    same(fn)


def test_iadd_on_row():
    def fn(lib):
        w = _w(lib)
        y = _leaf(lib, (7.0, 8.0, 9.0))
        x = w * 1
        x[..., 0] = 5
        x[1] += y
        (x ** 2).sum().backward()
        return w.grad, y.grad, x
    same(fn)


def test_setitem_into_leaf_without_grad():
    def fn(lib):
        y = _leaf(lib, (7.0, 8.0, 9.0))
        x = lib.zeros(2, 3)
        x[0] = y
        x[1, 1:] = y[:2] * 2
        (x * x).sum().backward()
        return y.grad, x.requires_grad, x.is_leaf, x.grad_fn is not None
    same(fn)


def test_advanced_setitem_gradients():
    def fn(lib):
        w = _w(lib)
        y = _leaf(lib, (7.0, 8.0, 9.0))
        x = w * 1
        x[lib.tensor([1, 0])] = y[:3].expand(2, 3) * 2
        x[x.detach() > 10] = 0.0
        (x ** 2).sum().backward()
        return w.grad, y.grad
    same(fn)


def test_inplace_on_nonleaf_changes_grad_fn():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        before = y.grad_fn.name()
        y.add_(1)
        y.exp_()
        y.sum().backward()
        return before, y.grad_fn.name(), y.is_leaf, x.grad
    same(fn, rtol=1e-6)


def test_retain_grad_follows_inplace():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        return y.grad, x.grad
    same(fn)


def test_inplace_leaf_copy_from_grad_tensor_is_graph_member():
    def fn(lib):
        y = _leaf(lib)
        x = lib.zeros(3)
        x.copy_(y * 2)
        x.sum().backward()
        return x.requires_grad, x.grad_fn.name(), y.grad
    same(fn)


def test_inplace_dtype_cast_rules():
    raises_like_torch(lambda lib: lib.ones(3, dtype=lib.int64).add_(1.5),
                      match="result type Float can't be cast to the desired output type Long")
    raises_like_torch(lambda lib: lib.ones(3, dtype=lib.int64).mul_(lib.ones(3)),
                      match="can't be cast")

    def ok(lib):
        x = lib.ones(3)
        x.add_(lib.ones(3, dtype=lib.float64))   # float64 -> float32 is a same-kind cast
        y = lib.ones(3, dtype=lib.int32)
        y.add_(lib.ones(3, dtype=lib.int64))
        return x, y
    same(ok)


def test_inplace_broadcast_into_smaller_raises():
    raises_like_torch(lambda lib: lib.ones(3).add_(lib.ones(2, 3)),
                      match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]")


def test_inplace_on_expanded_tensor_raises():
    raises_like_torch(lambda lib: lib.ones(3).expand(2, 3).add_(1),
                      match="more than one element of the written-to tensor refers to a single "
                            "memory location")


# --- out= -----------------------------------------------------------------------------------

def test_out_keeps_data_ptr():
    def fn(lib):
        out = lib.zeros(3)
        ptr = out.data_ptr()
        r = lib.add(lib.ones(3), lib.ones(3), out=out)
        lib.mul(lib.ones(3), 3, out=out)
        return r is out, out.data_ptr() == ptr, out, out._version > 0
    same(fn)


def test_out_with_grad_raises():
    raises_like_torch(lambda lib: lib.add(_leaf(lib), 1, out=lib.zeros(3)),
                      match="out=... arguments don't support automatic differentiation")
    raises_like_torch(lambda lib: lib.exp(lib.ones(3), out=_leaf(lib)),
                      match="don't support automatic differentiation")


def test_out_under_no_grad_is_fine():
    def fn(lib):
        out = lib.zeros(3)
        with lib.no_grad():
            lib.mul(_leaf(lib), 2, out=out)
        return out
    same(fn)


def test_out_resize_and_dtype():
    def fn(lib):
        out = lib.zeros(0)
        lib.add(lib.ones(2, 2), 1, out=out)
        return out
    same(fn)
    raises_like_torch(lambda lib: lib.add(lib.ones(2), 1.5, out=lib.zeros(2, dtype=lib.int64)),
                      match="can't be cast")


def test_out_resize_of_nonempty_warns():
    from .diff import LIBS

    for lib in LIBS:
        out = lib.zeros(3)
        with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
            lib.add(lib.ones(2, 2), 1, out=out)
        assert tuple(out.shape) == (2, 2)


def test_out_into_view():
    def fn(lib):
        base = lib.zeros(2, 3)
        lib.add(lib.ones(3), 1, out=base[1])
        return base
    same(fn)


# ops whose backward reads only their indices output (pow: no output): PyTorch saves the
# indices (not the values), so `nn.MaxPool2d(2), nn.ReLU(inplace=True)` (DANN, VGG-style
# stems) may write the values in place
_INDEX_ONLY_BACKWARD = {
    "max_pool2d": lambda lib, x: lib.nn.functional.max_pool2d(x, 2),
    "max_pool1d": lambda lib, x: lib.nn.functional.max_pool1d(x[0], 2),
    "max_pool3d": lambda lib, x: lib.nn.functional.max_pool3d(x.unsqueeze(0), (1, 2, 2)),
    "adaptive_max_pool2d": lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, 2),
    "max_dim": lambda lib, x: x.max(dim=1)[0],
    "min_dim": lambda lib, x: x.min(dim=1)[0],
    "sort": lambda lib, x: x.sort(dim=-1)[0],
    "topk": lambda lib, x: x.topk(2, dim=-1)[0],
    "kthvalue": lambda lib, x: x.kthvalue(2, dim=-1)[0],
    "median_dim": lambda lib, x: x.median(dim=-1)[0],
    "nanmedian_dim": lambda lib, x: x.nanmedian(dim=-1)[0],
    "mode": lambda lib, x: x.mode(dim=-1)[0],
    "cummax": lambda lib, x: x.cummax(dim=-1)[0],
    "cummin": lambda lib, x: x.cummin(dim=-1)[0],
    # PyTorch's pow with a Python exponent saves no result (graphtorch's recomputes it for
    # a tensor exponent's gradient, so it also allows the write where PyTorch's
    # pow(Tensor, Tensor) raises)
    "pow_scalar": lambda lib, x: x.pow(2),
}


@pytest.mark.parametrize("name", list(_INDEX_ONLY_BACKWARD))
def test_values_of_index_selecting_ops_may_be_written_in_place(name):
    def fn(lib):
        lib.manual_seed(0)
        x = lib.randn(1, 2, 4, 4, requires_grad=True)
        y = _INDEX_ONLY_BACKWARD[name](lib, x)
        y.relu_()
        y.sum().backward()
        return x.grad
    same(fn)


# --- what a node saves (PyTorch saves an operand only for a gradient that reads it) --------

@pytest.mark.parametrize("op", ["mul", "rmul", "div", "matmul", "rmatmul", "linear"])
def test_operand_no_recorded_gradient_reads_may_be_written(op):
    """`h * c` with c constant reads h only for c's gradient, which is not recorded: PyTorch
    does not save h, so writing h afterwards is legal (graphtorch used to raise)."""
    def fn(lib):
        x = _leaf(lib)
        h = x * 1
        c = lib.tensor([2.0, 3.0, 4.0])
        m = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        out = {"mul": lambda: h * c, "rmul": lambda: c * h, "div": lambda: h / c,
               "matmul": lambda: h @ m, "rmatmul": lambda: m.t() @ h,
               "linear": lambda: lib.nn.functional.linear(h.unsqueeze(0), m.t(),
                                                          lib.ones(2))}[op]()
        h.add_(1)
        out.sum().backward()
        return x.grad
    same(fn, rtol=1e-6)


@pytest.mark.parametrize("op", ["mul", "div", "matmul", "linear"])
def test_operand_a_recorded_gradient_reads_still_raises(op):
    def fn(lib):
        x = _leaf(lib)
        h = x * 1
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        c = lib.tensor([2.0, 3.0, 4.0], requires_grad=True)
        out = {"mul": lambda: h * c, "div": lambda: c / h, "matmul": lambda: h @ w,
               "linear": lambda: lib.nn.functional.linear(h.unsqueeze(0), w.t())}[op]()
        h.add_(1)
        out.sum().backward()
    raises_like_torch(fn, match="modified by an inplace operation")


@pytest.mark.parametrize("op", ["exp_", "sigmoid_", "tanh_"])
@pytest.mark.parametrize("through_view", [False, True])
def test_inplace_op_saves_self_as_its_output(op, through_view):
    """exp_ saves self (its result) for backward: writing self again must fail backward,
    as in PyTorch (graphtorch saved a temporary and let it pass)."""
    def fn(lib):
        x = _leaf(lib)
        y = x.cumsum(0)
        target = y[1:] if through_view else y
        getattr(target, op)()
        y.add_(1)
        y.sum().backward()
    raises_like_torch(fn, match="modified by an inplace operation")


def test_inplace_op_saving_its_output_without_later_writes():
    def fn(lib):
        x = _leaf(lib)
        y = x.cumsum(0)
        y.exp_()
        y.sum().backward()
        return x.grad
    same(fn, rtol=1e-6)


def test_retain_grad_follows_a_base_written_through_a_view():
    def fn(lib):
        x = _leaf(lib)
        h = x.cumsum(0)
        h.retain_grad()
        h[:1].zero_()
        (h * h).sum().backward()
        return h.grad, x.grad
    same(fn, rtol=1e-6)
