"""Custom `autograd.Function` vs PyTorch: ctx features, multiple and non-differentiable
outputs, mark_dirty, once_differentiable, returning inputs."""

from __future__ import annotations

from .diff import raises_like_torch, same


def _leaf(lib, values=(1.0, 2.0, 3.0)):
    return lib.tensor(list(values), requires_grad=True)


def _exp_fn(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y
    return Exp


def test_save_for_backward_and_grad_fn():
    def fn(lib):
        x = _leaf(lib, (0.0, 1.0, 2.0))
        y = _exp_fn(lib).apply(x)
        y.sum().backward()
        return (y, x.grad, y.grad_fn.name(), y.is_leaf,
                type(y.grad_fn.next_functions[0][0]).__name__)
    same(fn, rtol=1e-6)


def test_forward_runs_without_grad_recording():
    def fn(lib):
        inside = []

        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x * 2
                inside.append((lib.is_grad_enabled(), y.requires_grad))
                return y

            @staticmethod
            def backward(ctx, g):
                return g * 2

        out = F.apply(_leaf(lib))
        return inside, out.requires_grad
    same(fn)


def test_needs_input_grad_and_nontensor_args():
    def fn(lib):
        log = []

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w, factor):
                ctx.factor = factor
                ctx.save_for_backward(x, w)
                return x * w * factor

            @staticmethod
            def backward(ctx, g):
                log.append(ctx.needs_input_grad)
                x, w = ctx.saved_tensors
                gx = g * w * ctx.factor if ctx.needs_input_grad[0] else None
                gw = g * x * ctx.factor if ctx.needs_input_grad[1] else None
                return gx, gw, None

        x = _leaf(lib)
        w = lib.tensor([4.0, 5.0, 6.0])
        Scale.apply(x, w, 3.0).sum().backward()
        return log, x.grad
    same(fn)


def test_multiple_outputs():
    def fn(lib):
        class SplitMul(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 2, x * x

            @staticmethod
            def backward(ctx, g1, g2):
                (x,) = ctx.saved_tensors
                return g1 * 2 + g2 * 2 * x

        x = _leaf(lib)
        a, b = SplitMul.apply(x)
        (a.sum() + (b * 3).sum()).backward()
        g_both = x.grad.clone()
        x.grad = None
        a, b = SplitMul.apply(x)
        a.sum().backward()  # b's gradient arrives as zeros (materialize_grads)
        return g_both, x.grad, a.grad_fn is b.grad_fn
    same(fn)


def test_set_materialize_grads_false_gives_none():
    def fn(lib):
        seen = []

        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 1, x * 2

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append((g1 is None, g2 is None))
                return g1

        x = _leaf(lib)
        a, _ = F.apply(x)
        a.sum().backward()
        return seen, x.grad
    same(fn)


def test_non_differentiable_outputs():
    def fn(lib):
        class SortLike(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                idx = lib.tensor([2, 0, 1])
                flag = x > 1.5
                other = x * 3
                ctx.mark_non_differentiable(other)
                return x * 1, idx, flag, other

            @staticmethod
            def backward(ctx, g, g_idx, g_flag, g_other):
                return g

        x = _leaf(lib)
        y, idx, flag, other = SortLike.apply(x)
        y.sum().backward()
        return (y.requires_grad, idx.requires_grad, flag.requires_grad, other.requires_grad,
                other.grad_fn is None, x.grad, idx.dtype)
    same(fn)


def test_mark_dirty_inplace():
    def fn(lib):
        class MulTwo_(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        leaf = _leaf(lib)
        x = leaf * 1
        out = MulTwo_.apply(x)
        (out * out).sum().backward()
        return out is x, x.grad_fn.name(), x._version, leaf.grad, x
    same(fn)


def test_mark_dirty_on_leaf_raises():
    def fn(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        Bad.apply(_leaf(lib))
    raises_like_torch(fn, match="leaf Variable that requires grad")


def test_returning_input_unchanged():
    def fn(lib):
        class Identity(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 5

        x = _leaf(lib)
        y = Identity.apply(x)
        y.sum().backward()
        return y is x, y.is_leaf, y.data_ptr() == x.data_ptr(), x.grad
    same(fn)


def test_once_differentiable_blocks_double_backward():
    def fn(lib):
        from torch.autograd.function import once_differentiable as torch_once

        once = torch_once if lib.__name__ == "torch" else lib.autograd.once_differentiable

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = _leaf(lib)
        (g,) = lib.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
        first = (g.detach(), g.requires_grad)
        x2 = _leaf(lib)
        (plain,) = lib.autograd.grad(Square.apply(x2).sum(), x2)
        return first, plain
    out = same(fn)
    assert out[0][0].values.tolist() == [2.0, 4.0, 6.0]


def test_double_backward_through_custom_function():
    def fn(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * g

        x = _leaf(lib)
        (g,) = lib.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return g, h
    same(fn)


def test_wrong_number_of_gradients_raises():
    def fn(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * y

            @staticmethod
            def backward(ctx, g):
                return g

        Bad.apply(_leaf(lib), _leaf(lib)).sum().backward()
    raises_like_torch(fn, match="incorrect number of gradients")


def test_saved_tensor_modified_inplace_raises():
    def fn(lib):
        x = _leaf(lib)
        h = x * 1
        y = _exp_fn(lib).apply(h)
        y.mul_(2)   # y was saved by the Function
        y.sum().backward()
    raises_like_torch(fn, match="modified by an inplace operation")


def test_second_backward_through_function_raises():
    def fn(lib):
        x = _leaf(lib)
        y = _exp_fn(lib).apply(x).sum()
        y.backward()
        y.backward()
    raises_like_torch(fn, match="second time")


def test_apply_without_grad_returns_plain_tensor():
    def fn(lib):
        y = _exp_fn(lib).apply(lib.tensor([0.0, 1.0]))
        with lib.no_grad():
            z = _exp_fn(lib).apply(_leaf(lib))
        return y.requires_grad, y.grad_fn is None, z.requires_grad
    same(fn)


def test_function_output_view_of_input():
    def fn(lib):
        class First(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.n = x.shape[0]
                return x[:2]

            @staticmethod
            def backward(ctx, g):
                out = lib.zeros(ctx.n)
                out[:2] = g
                return out

        x = _leaf(lib)
        First.apply(x).sum().backward()
        return x.grad
    same(fn)


def test_ctx_attributes_and_saved_none():
    def fn(lib):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, maybe):
                ctx.save_for_backward(x, maybe)
                ctx.extra = {"k": 2}
                return x * ctx.extra["k"]

            @staticmethod
            def backward(ctx, g):
                _, maybe = ctx.saved_tensors
                assert maybe is None
                return g * ctx.extra["k"], None

        x = _leaf(lib)
        F.apply(x, None).sum().backward()
        return x.grad
    same(fn)


def test_save_for_backward_rejects_non_tensors():
    def fn(lib):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g

        Bad.apply(_leaf(lib))
    raises_like_torch(fn, match="save_for_backward can only save variables, but argument 1 is "
                                "of type int")


def _cube_fn(lib):
    class MyCube(lib.autograd.Function):  # PyTorch's "new style": forward has no ctx
        @staticmethod
        def forward(x, scale=2.0):
            return x ** 3 * scale, 3 * x ** 2 * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.save_for_backward(x, output[1])
            ctx.scale = scale
            ctx.grad_was_enabled = lib.is_grad_enabled()

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x * ctx.scale, None
    return MyCube


def test_setup_context_style_function():
    def fn(lib):
        x = _leaf(lib)
        y, dx = _cube_fn(lib).apply(x)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        y3, _ = _cube_fn(lib).apply(x, scale=3.0)
        y3.sum().backward()
        return y, dx, g, gg, x.grad, type(y.grad_fn).__name__
    same(fn)


def test_setup_context_sees_defaults_and_runs_without_grad():
    def fn(lib):
        x = _leaf(lib)
        y, _ = _cube_fn(lib).apply(x)
        return y.grad_fn is not None, lib.is_grad_enabled()
    same(fn)
    seen = {}

    class Probe(_cube_fn(__import__("graphtorch"))):
        @staticmethod
        def setup_context(ctx, inputs, output):
            seen["inputs"] = len(inputs)
            seen["grad"] = __import__("graphtorch").is_grad_enabled()
            ctx.save_for_backward(inputs[0], output[1])
            ctx.scale = inputs[1]

    Probe.apply(_leaf(__import__("graphtorch")))
    assert seen == {"inputs": 2, "grad": False}
