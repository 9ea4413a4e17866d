"""Post-accumulate-grad hooks and the engine's final callbacks against PyTorch (what
DistributedDataParallel builds on): when they run, what they see, errors, removal."""

from __future__ import annotations

from .diff import raises_like_torch, same


def _leaf(lib, values=(1.0, 2.0, 3.0)):
    return lib.tensor(list(values), requires_grad=True)


def test_hook_sees_the_accumulated_grad_once_per_backward():
    def fn(lib):
        w = _leaf(lib)
        seen = []
        w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
        (w * w).sum().backward()      # w used twice: gradients summed first, one call
        (w * 3).sum().backward()      # accumulates: the hook sees the running sum
        return seen, w.grad
    same(fn)


def test_hook_runs_after_tensor_hooks_and_may_change_grad_in_place():
    def fn(lib):
        w = _leaf(lib)
        order = []
        w.register_hook(lambda g: order.append("pre") or g * 2)

        def post(p):
            order.append("post")
            with lib.no_grad():
                p.grad.mul_(10)
        w.register_post_accumulate_grad_hook(post)
        (w * 1.0).sum().backward()
        return order, w.grad
    same(fn)


def test_hook_handle_remove_and_grad_api_does_not_fire():
    def fn(lib):
        w = _leaf(lib)
        calls = []
        handle = w.register_post_accumulate_grad_hook(lambda p: calls.append(1))
        lib.autograd.grad((w * 2).sum(), w)   # no accumulation: no call
        (w * 2).sum().backward()
        handle.remove()
        (w * 2).sum().backward()
        return len(calls), w.grad
    same(fn)


def test_hook_on_non_leaf_or_no_grad_tensor_raises():
    raises_like_torch(lambda lib: (_leaf(lib) * 2).register_post_accumulate_grad_hook(
        lambda p: None), match="non-leaf")
    raises_like_torch(lambda lib: lib.ones(2).register_post_accumulate_grad_hook(
        lambda p: None), match="doesn't require gradient")


def test_queue_callback_runs_after_every_node_in_order():
    def fn(lib):
        a, b = _leaf(lib), _leaf(lib, (4.0, 5.0, 6.0))
        events = []
        engine = lib.autograd.Variable._execution_engine

        def hook(p):
            events.append(("grad", p.grad.sum().item()))
            if len(events) == 1:
                engine.queue_callback(lambda: events.append(("done", a.grad.sum().item(),
                                                              b.grad.sum().item())))
                engine.queue_callback(lambda: events.append(("second",)))
        a.register_post_accumulate_grad_hook(hook)
        b.register_post_accumulate_grad_hook(hook)
        (a * b).sum().backward()
        return sorted(events[:2]), events[2:]
    same(fn)


def test_queue_callback_outside_backward_raises():
    raises_like_torch(lambda lib: lib.autograd.Variable._execution_engine.queue_callback(
        lambda: None), match="during backward pass")
