"""Autograd graph state vs PyTorch: grad_fn, is_leaf, requires_grad, backward, .grad,
retain_grad, detach, requires_grad_ and the grad-mode switches."""

from __future__ import annotations

import pytest

import graphtorch as gt

from .diff import raises_like_torch, same, torch


def _leaf(lib, values=(1.0, 2.0, 3.0), **kw):
    return lib.tensor(list(values), requires_grad=True, **kw)


# --- grad_fn / is_leaf / requires_grad ---------------------------------------------------

@pytest.mark.parametrize("expr", [
    lambda lib, x: x * 2,
    lambda lib, x: x + x,
    lambda lib, x: x.exp(),
    lambda lib, x: x.sum(),
    lambda lib, x: x[1:],
    lambda lib, x: x.view(3, 1),
    lambda lib, x: -x,
    lambda lib, x: x.clone(),
    lambda lib, x: x.double(),
    lambda lib, x: x / 3,
    lambda lib, x: x.mean(),
], ids=["mul", "add", "exp", "sum", "slice", "view", "neg", "clone", "double", "div", "mean"])
def test_grad_fn_names_and_flags(expr):
    def fn(lib):
        x = _leaf(lib)
        y = expr(lib, x)
        return y.grad_fn.name(), y.is_leaf, y.requires_grad, x.is_leaf, x.grad_fn is None
    same(fn)


def test_requires_grad_propagation():
    def fn(lib):
        x = _leaf(lib)
        c = lib.tensor([4.0, 5.0, 6.0])
        y = c * 2           # no grad anywhere: a leaf without grad_fn
        z = c * x           # one input requires grad
        b = x > 1           # comparisons are not differentiable
        i = x.long()        # integer results never require grad
        return (y.requires_grad, y.is_leaf, y.grad_fn is None, z.requires_grad, z.is_leaf,
                b.requires_grad, b.grad_fn is None, i.requires_grad, i.is_leaf,
                c.is_leaf, c.requires_grad)
    same(fn)


def test_next_functions_structure():
    def fn(lib):
        x = _leaf(lib)
        w = _leaf(lib, (4.0, 5.0, 6.0))
        y = (x * w).sum()
        mul = y.grad_fn.next_functions[0][0]
        names = [type(n).__name__ if n is not None else None for n, _ in mul.next_functions]
        return y.grad_fn.name(), mul.name(), names, [nr for _, nr in mul.next_functions]
    same(fn)


def test_accumulate_grad_node_holds_variable():
    def fn(lib):
        x = _leaf(lib)
        node = (x * 2).grad_fn.next_functions[0][0]
        return node.variable is x, (x * 3).grad_fn.next_functions[0][0] is node
    same(fn)


def test_constant_operand_has_no_edge():
    def fn(lib):
        x = _leaf(lib)
        c = lib.tensor([1.0, 1.0, 1.0])
        nf = (x * c).grad_fn.next_functions
        return nf[1][0] is None, type(nf[0][0]).__name__
    same(fn)


# --- backward ----------------------------------------------------------------------------

def test_backward_scalar():
    def fn(lib):
        x = _leaf(lib)
        (x * x * 3).sum().backward()
        return x.grad
    same(fn)


def test_backward_with_gradient_argument():
    def fn(lib):
        x = _leaf(lib)
        y = x * lib.tensor([1.0, 10.0, 100.0])
        y.backward(gradient=lib.tensor([1.0, 0.5, 0.25]))
        return x.grad
    same(fn)


def test_backward_non_scalar_without_gradient_raises():
    raises_like_torch(lambda lib: (_leaf(lib) * 2).backward(),
                      match="grad can be implicitly created only for scalar outputs")


def test_backward_gradient_shape_mismatch_raises():
    raises_like_torch(lambda lib: (_leaf(lib) * 2).backward(lib.ones(2)), match="Mismatch in shape")


def test_backward_on_tensor_without_grad_raises():
    raises_like_torch(lambda lib: lib.tensor([1.0, 2.0]).sum().backward(),
                      match="does not require grad and does not have a grad_fn")


def test_backward_one_element_non_scalar():
    def fn(lib):
        x = _leaf(lib, (2.0,))
        (x * x).backward()  # one element: implicit gradient is allowed
        return x.grad
    same(fn)


def test_second_backward_raises_after_buffers_freed():
    def fn(lib):
        x = _leaf(lib)
        z = (x * x).sum()   # mul saves its inputs
        z.backward()
        z.backward()
    raises_like_torch(fn, match="Trying to backward through the graph a second time")


def test_second_backward_through_exp_output_raises():
    def fn(lib):
        x = _leaf(lib)
        z = x.exp().sum()   # exp saves its output
        z.backward()
        z.backward()
    raises_like_torch(fn, match="backward through the graph a second time")


def test_second_backward_without_saved_tensors_is_allowed():
    def fn(lib):
        x = _leaf(lib)
        z = (x + 1).sum() * 2   # add, sum and mul-by-scalar save nothing
        z.backward()
        z.backward()
        return x.grad
    same(fn)


def test_retain_graph_allows_second_backward_and_accumulates():
    def fn(lib):
        x = _leaf(lib)
        z = (x * x).sum()
        z.backward(retain_graph=True)
        first = x.grad.clone()
        z.backward()
        return first, x.grad
    same(fn)


def test_grad_accumulates_across_graphs():
    def fn(lib):
        x = _leaf(lib)
        (x * 2).sum().backward()
        g = x.grad
        (x * x).sum().backward()
        return x.grad, g is x.grad  # accumulated in place into the same tensor
    same(fn)


def test_grad_is_fresh_tensor_not_alias_of_incoming():
    def fn(lib):
        x = _leaf(lib)
        seed = lib.tensor([1.0, 2.0, 3.0])
        (x * 1).backward(seed)
        seed.add_(100)
        return x.grad, x.grad.requires_grad, x.grad.is_leaf
    same(fn)


def test_grad_zeroing_and_setting_none():
    def fn(lib):
        x = _leaf(lib)
        (x * 2).sum().backward()
        x.grad.zero_()
        (x * 3).sum().backward()
        a = x.grad.clone()
        x.grad = None
        (x * 4).sum().backward()
        return a, x.grad
    same(fn)


def test_assigning_bad_grad_raises():
    raises_like_torch(lambda lib: setattr(_leaf(lib), "grad", lib.zeros(2)))
    raises_like_torch(lambda lib: setattr(_leaf(lib), "grad", lib.zeros(3, dtype=lib.float64)))


def test_shared_subexpression_gradients_add():
    def fn(lib):
        x = _leaf(lib)
        y = x * x
        z = y + y * y + y.sum()
        z.sum().backward()
        return x.grad
    same(fn)


def test_backward_multiple_roots():
    def fn(lib):
        x = _leaf(lib)
        a, b = (x * 2).sum(), (x * x).sum()
        lib.autograd.backward([a, b])
        g1 = x.grad.clone()
        x.grad = None
        lib.autograd.backward([x * 3, x.exp()], [lib.ones(3), lib.full((3,), 2.0)])
        return g1, x.grad
    same(fn, rtol=1e-6)


def test_nonleaf_grad_warns_and_is_none():
    x = _leaf(gt)
    y = x * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None


def test_retain_grad():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        y.retain_grad()
        z = y * y
        z.retain_grad()
        z.sum().backward(retain_graph=True)
        first = y.grad.clone()
        z.sum().backward()
        return first, y.grad, z.grad, y.retains_grad, x.retains_grad, x.grad
    same(fn)


def test_retain_grad_on_leaf_is_noop_and_errors_without_grad():
    def fn(lib):
        x = _leaf(lib)
        x.retain_grad()
        (x * 2).sum().backward()
        return x.grad, x.retains_grad
    same(fn)
    raises_like_torch(lambda lib: lib.ones(2).retain_grad())


# --- detach / data -----------------------------------------------------------------------

def test_detach_shares_memory_and_version_counter():
    def fn(lib):
        x = _leaf(lib)
        d = x.detach()
        same_ptr = d.data_ptr() == x.data_ptr()
        v0 = (x._version, d._version)
        d.add_(1)
        v1 = (x._version, d._version)
        with lib.no_grad():
            x.mul_(2)
        return (same_ptr, v0, v1, x._version, d._version, d, d.requires_grad, d.is_leaf,
                d.grad_fn is None)
    same(fn)


def test_detach_of_nonleaf_and_detached_inplace_invalidates_saved():
    def fn(lib):
        x = _leaf(lib)
        y = x * 1
        z = y * y
        y.detach().zero_()   # shares y's version counter: z's saved y is stale now
        z.sum().backward()
    raises_like_torch(fn, match="modified by an inplace operation")


def test_data_is_detached_alias_without_version_sharing():
    def fn(lib):
        x = _leaf(lib)
        y = x * x
        x.data.mul_(10)   # .data does not bump x's version: backward uses new values
        y.sum().backward()
        return x.grad, x._version, x.data.requires_grad
    same(fn)


def test_detach_inplace():
    def fn(lib):
        x = _leaf(lib)
        y = x * 2
        y.detach_()
        return y.requires_grad, y.is_leaf, y.grad_fn is None
    same(fn)
    raises_like_torch(lambda lib: (_leaf(lib) * 1)[0:2].detach_())


# --- requires_grad_ ----------------------------------------------------------------------

def test_requires_grad_rules():
    def fn(lib):
        x = lib.tensor([1.0, 2.0])
        r = x.requires_grad_()
        y = x * 2
        y.requires_grad_(True)  # allowed (no-op) on a non-leaf
        x.requires_grad = False
        return r is x, x.requires_grad, y.requires_grad, x.is_leaf
    same(fn)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_requires_grad_on_non_float_raises(dtype):
    raises_like_torch(lambda lib: lib.zeros(2, dtype=getattr(lib, dtype)).requires_grad_(),
                      match="only Tensors of floating point")
    raises_like_torch(lambda lib: lib.tensor([1], dtype=getattr(lib, dtype),
                                             requires_grad=True), match="floating point")


def test_requires_grad_false_on_nonleaf_raises():
    raises_like_torch(lambda lib: (_leaf(lib) * 2).requires_grad_(False),
                      match="you can only change requires_grad flags of leaf variables")


def test_requires_grad_at_creation():
    def fn(lib):
        return (lib.ones(2, requires_grad=True).requires_grad,
                lib.zeros(2, 2, requires_grad=True).is_leaf,
                lib.randn(3, requires_grad=True).requires_grad,
                lib.full((2,), 1.5, requires_grad=True).requires_grad,
                lib.arange(3.0, requires_grad=True).requires_grad,
                lib.empty(2, requires_grad=True).requires_grad)
    same(fn)


# --- grad modes --------------------------------------------------------------------------

def test_no_grad_context_manager():
    def fn(lib):
        x = _leaf(lib)
        with lib.no_grad():
            y = x * 2
            inside = lib.is_grad_enabled()
        return y.requires_grad, y.grad_fn is None, inside, lib.is_grad_enabled()
    same(fn)


def test_no_grad_decorator_and_restores_on_exception():
    def fn(lib):
        x = _leaf(lib)

        @lib.no_grad()
        def double(t):
            return t * 2

        @lib.no_grad()
        def fail():
            raise ValueError("boom")

        try:
            fail()
        except ValueError:
            pass
        return double(x).requires_grad, lib.is_grad_enabled(), double.__name__
    same(fn)


def test_enable_grad_inside_no_grad():
    def fn(lib):
        x = _leaf(lib)
        with lib.no_grad():
            with lib.enable_grad():
                y = x * 2
            z = x * 2

            @lib.enable_grad()
            def f(t):
                return t * 3

            w = f(x)
        return y.requires_grad, z.requires_grad, w.requires_grad
    same(fn)


def test_set_grad_enabled_function_ctx_and_decorator():
    def fn(lib):
        x = _leaf(lib)
        results = []
        with lib.set_grad_enabled(False):
            results.append((x * 2).requires_grad)
        results.append(lib.is_grad_enabled())
        lib.set_grad_enabled(False)          # as a plain function: global switch
        results.append((x * 2).requires_grad)
        lib.set_grad_enabled(True)
        results.append((x * 2).requires_grad)

        @lib.set_grad_enabled(False)
        def f(t):
            return t * 2

        results.append(lib.is_grad_enabled())  # decorating did not switch the mode
        results.append(f(x).requires_grad)
        with lib.no_grad():
            with lib.set_grad_enabled(True):
                results.append((x * 2).requires_grad)
            results.append((x * 2).requires_grad)
        return results
    same(fn)


def test_no_grad_nested_restores_previous_state():
    def fn(lib):
        with lib.no_grad():
            with lib.no_grad():
                pass
            a = lib.is_grad_enabled()
        return a, lib.is_grad_enabled()
    same(fn)


def test_inference_mode():
    def fn(lib):
        x = _leaf(lib)
        with lib.inference_mode():
            y = x * 2
        with lib.inference_mode(False):
            z = x * 2
        return y.requires_grad, z.requires_grad
    same(fn)


def test_inplace_under_no_grad_on_leaf_is_allowed():
    def fn(lib):
        x = _leaf(lib)
        with lib.no_grad():
            x.mul_(2)
            x[0] = 7.0
        (x * x).sum().backward()
        return x, x.grad, x.is_leaf, x.requires_grad
    same(fn)


def test_ops_in_backward_do_not_build_graph_by_default():
    def fn(lib):
        x = _leaf(lib)
        (x * x).sum().backward()
        return x.grad.requires_grad, x.grad.grad_fn is None
    same(fn)


def test_create_graph_backward_builds_grad_graph():
    def fn(lib):
        x = _leaf(lib)
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        flag = g.requires_grad
        x.grad = None
        g.sum().backward()
        return flag, x.grad
    same(fn)


def test_torch_backward_function_accepts_sequences():
    def fn(lib):
        x = _leaf(lib)
        lib.autograd.backward((x * x).sum(), inputs=[x])
        return x.grad
    same(fn)


def test_torch_function_without_grad_tensor_has_no_grad_fn():
    assert gt.ones(2).grad_fn is None and torch.ones(2).grad_fn is None


def test_bare_decorators_and_inference_mode_variants():
    def fn(lib):
        x = _leaf(lib)

        @lib.no_grad
        def f(t):
            return t * 2

        @lib.enable_grad
        def g(t):
            return t * 2

        @lib.inference_mode
        def h(t):
            return t * 2

        @lib.inference_mode(False)
        def k(t):
            return t * 2

        out = [f(x).requires_grad, g(x).requires_grad, h(x).requires_grad, k(x).requires_grad,
               f.__name__]
        with lib.no_grad():
            out += [g(x).requires_grad, k(x).requires_grad]
        return out
    same(fn)


def test_decorated_function_recursion_restores_mode():
    def fn(lib):
        x = _leaf(lib)

        @lib.no_grad()
        def rec(t, n):
            return t if n == 0 else rec(t * 1, n - 1)

        y = rec(x, 3)
        return y.requires_grad, lib.is_grad_enabled()
    same(fn)


def test_gradients_follow_the_parameter_layout_like_torch():
    """PyTorch's gradient layout contract: a Linear weight's gradient (computed transposed
    by the backward GEMM) is stored contiguous like the weight; a transposed parameter's
    stays transposed. `p.grad.view(-1)` then works as in PyTorch."""
    for lib in (gt, torch):
        layer = lib.nn.Linear(5, 3)
        layer(lib.randn(4, 5)).sum().backward()
        assert layer.weight.grad.is_contiguous()
        assert tuple(layer.weight.grad.stride()) == (5, 1)
        assert tuple(layer.weight.grad.view(-1).shape) == (15,)
        w = lib.randn(5, 3).t().detach().requires_grad_()
        (w * 2).sum().backward()
        assert tuple(w.grad.stride()) == tuple(w.stride()) == (1, 3)
