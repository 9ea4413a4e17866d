"""nn.Module API against PyTorch: registration, iteration, state_dict, modes, dtype
conversion, gradients reset, forward/backward hooks, containers, Parameter and repr."""

from __future__ import annotations

import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import graphtorch as gt

from . import RANDOM_RTOL, build, close, npy, same_error, same_state, torch

LIBS = [torch, gt]


def _mynet(lib):
    """The seed note 002 MyNet: attribute, add_module and OrderedDict Sequential."""
    nn = lib.nn

    class MyNet(nn.Module):
        def __init__(self):
            super(MyNet, self).__init__()
            self.fc1 = nn.Linear(10, 10)
            self.add_module("layer2", nn.Linear(10, 10))
            self.layer3 = nn.Sequential(OrderedDict([
                ("conv1", nn.Conv2d(in_channels=1, out_channels=16, kernel_size=(5, 5))),
                ("relu1", nn.ReLU())]))
            self.add_module("layer4", nn.Sequential(OrderedDict([
                ("conv1", nn.Conv2d(in_channels=1, out_channels=16, kernel_size=(5, 5))),
                ("relu1", nn.ReLU())])))

        def forward(self, x):
            return x

    return MyNet()


class _Block:
    """A two-level model with buffers, shared parameters and a None child."""

    @staticmethod
    def make(lib):
        nn = lib.nn

        class Inner(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(3, 4)
                self.bn = nn.BatchNorm1d(4)
                self.register_buffer("steps", lib.zeros(2))
                self.register_buffer("cache", lib.ones(3), persistent=False)

            def forward(self, x):
                return self.bn(self.lin(x))

        class Outer(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = Inner()
                self.head = nn.Linear(4, 2, bias=False)
                self.scale = nn.Parameter(lib.ones(1))
                self.empty = None
                self.register_parameter("nothing", None)

            def forward(self, x):
                return self.head(self.inner(x)) * self.scale

        return Outer()


# --- registration and iteration ---------------------------------------------------------

def test_named_parameters_buffers_modules_match_torch():
    tm, gm = build(_Block.make)
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in gm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in gm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in gm.named_children()] == [n for n, _ in tm.named_children()]
    assert [type(m).__name__ for m in gm.modules()] == [type(m).__name__ for m in tm.modules()]
    assert [type(m).__name__ for m in gm.children()] == \
        [type(m).__name__ for m in tm.children()]
    assert [n for n, _ in gm.named_parameters(prefix="m", recurse=False)] == \
        [n for n, _ in tm.named_parameters(prefix="m", recurse=False)]
    assert [n for n, _ in gm.named_modules(prefix="root")] == \
        [n for n, _ in tm.named_modules(prefix="root")]
    assert len(list(gm.parameters())) == len(list(tm.parameters()))
    assert len(list(gm.buffers(recurse=False))) == len(list(tm.buffers(recurse=False)))
    same_state(gm, tm)
    assert gm.empty is None and gm.nothing is None


def test_shared_parameters_and_modules_are_listed_once():
    for lib in LIBS:
        nn = lib.nn
        lin = nn.Linear(2, 2)
        seq = nn.Sequential(lin, nn.ReLU(), lin)
        assert len(list(seq.parameters())) == 2
        assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
        assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
        assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
        assert len(list(seq.named_modules(remove_duplicate=False))) == 4


def test_add_module_register_buffer_and_errors():
    for lib in LIBS:
        nn = lib.nn
        m = nn.Module()
        m.add_module("a", nn.Linear(1, 1))
        m.register_module("b", None)
        m.register_buffer("buf", lib.zeros(2))
        m.register_buffer("tmp", lib.zeros(1), persistent=False)
        assert list(m.state_dict()) == ["buf", "a.weight", "a.bias"]
        assert [n for n, _ in m.named_buffers()] == ["buf", "tmp"]
        m.buf = lib.ones(2)            # assignment to a registered buffer keeps it a buffer
        assert "buf" in m._buffers and float(m.buf.sum()) == 2.0
        m.tmp = None
        assert [n for n, _ in m.named_buffers()] == ["buf"]
        del m.a
        assert [n for n, _ in m.named_children()] == []
    same_error(lambda lib: lib.nn.Module().add_module("a.b", lib.nn.ReLU()))
    same_error(lambda lib: lib.nn.Module().add_module("", lib.nn.ReLU()))
    same_error(lambda lib: lib.nn.Module().add_module(1, lib.nn.ReLU()))
    same_error(lambda lib: lib.nn.Module().add_module("x", 3))
    same_error(lambda lib: lib.nn.Module().register_buffer("a.b", lib.zeros(1)))
    same_error(lambda lib: lib.nn.Module().register_buffer("x", 3))
    same_error(lambda lib: lib.nn.Module().register_parameter("x", lib.zeros(1)))
    same_error(lambda lib: lib.nn.Module().register_parameter(
        "x", lib.zeros(2, requires_grad=True).mul(2)))

    def existing_attr(lib):
        m = lib.nn.Module()
        m.foo = 3
        m.register_buffer("foo", lib.zeros(1))
    same_error(existing_attr)

    def assign_tensor_to_param(lib):
        m = lib.nn.Linear(2, 2)
        m.weight = lib.zeros(2, 2)
    same_error(assign_tensor_to_param)

    def assign_int_to_module(lib):
        m = lib.nn.Sequential(lib.nn.ReLU())
        m._modules  # noqa: B018
        setattr(m, "0", 5)
    same_error(assign_int_to_module)

    def missing_attr(lib):
        return lib.nn.Linear(2, 2).nope
    same_error(missing_attr)

    def before_init(lib):
        class Bad(lib.nn.Module):
            def __init__(self):
                self.w = lib.nn.Parameter(lib.zeros(1))
        Bad()
    same_error(before_init)

    def forward_missing(lib):
        lib.nn.Module()(lib.zeros(1))
    same_error(forward_missing)


def test_get_submodule_and_parameter():
    tm, gm = build(_Block.make)
    assert type(gm.get_submodule("inner.bn")).__name__ == "BatchNorm1d"
    close(gm.get_parameter("inner.lin.weight"), tm.get_parameter("inner.lin.weight"),
          RANDOM_RTOL, RANDOM_RTOL)
    assert gm.get_submodule("") is gm
    same_error(lambda lib: build(_Block.make)[0 if lib is torch else 1].get_submodule("x.y"))


# --- state dict -------------------------------------------------------------------------

def test_state_dict_keys_values_and_detached():
    tm, gm = build(_Block.make)
    ts, gs = tm.state_dict(), gm.state_dict()
    assert list(gs) == list(ts)
    assert isinstance(gs, OrderedDict)
    for k in ts:
        close(gs[k], ts[k], RANDOM_RTOL, RANDOM_RTOL, k)
        assert gs[k].requires_grad is False
    kv = gm.state_dict(keep_vars=True)
    assert kv["head.weight"] is gm.head.weight
    assert list(gm.state_dict(prefix="p.")) == list(tm.state_dict(prefix="p."))


def test_load_state_dict_copies_in_place_and_reports():
    tm, gm = build(_Block.make)
    torch.manual_seed(5)
    src_t = _Block.make(torch)
    src = {k: gt.tensor(npy(v)) for k, v in src_t.state_dict().items()}
    weight = gm.head.weight
    result = gm.load_state_dict(src)
    assert gm.head.weight is weight            # copied in place
    assert repr(result) == repr(tm.load_state_dict(src_t.state_dict()))
    same_state(gm, tm)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_load_state_dict_strict_errors_match_torch():
    def missing_and_unexpected(lib, strict):
        m = _Block.make(lib)
        sd = m.state_dict()
        del sd["inner.lin.bias"], sd["scale"]
        sd["inner.extra"] = lib.zeros(1)
        sd["bogus.weight"] = lib.zeros(1)
        sd["inner.lin.weight.x"] = lib.zeros(1)
        return m.load_state_dict(sd, strict=strict)

    same_error(lambda lib: missing_and_unexpected(lib, True))
    t_res = missing_and_unexpected(torch, False)
    g_res = missing_and_unexpected(gt, False)
    assert g_res.missing_keys == t_res.missing_keys
    assert g_res.unexpected_keys == t_res.unexpected_keys
    assert repr(g_res) == repr(t_res)

    def size_mismatch(lib, strict=True):
        m = lib.nn.Linear(3, 2)
        return m.load_state_dict({"weight": lib.zeros(2, 4), "bias": lib.zeros(3)},
                                 strict=strict)
    same_error(size_mismatch)
    same_error(lambda lib: size_mismatch(lib, strict=False))   # size errors ignore strict

    def not_a_tensor(lib):
        lib.nn.Linear(3, 2).load_state_dict({"weight": [1.0], "bias": lib.zeros(2)})
    same_error(not_a_tensor)
    same_error(lambda lib: lib.nn.Linear(3, 2).load_state_dict([1, 2]))


def test_load_state_dict_roundtrip_and_dtype_cast():
    for lib in LIBS:
        a, b = lib.nn.Linear(3, 2), lib.nn.Linear(3, 2)
        b.load_state_dict(a.state_dict())
        assert np.array_equal(npy(a.weight), npy(b.weight))
        c = lib.nn.Linear(3, 2).double()
        c.load_state_dict(a.state_dict())
        assert c.weight.dtype == lib.float64
        np.testing.assert_allclose(npy(c.weight), npy(a.weight))
        d = lib.nn.Linear(3, 2)
        d.load_state_dict(a.state_dict(), assign=True)
        assert isinstance(d.weight, lib.nn.Parameter) and d.weight.requires_grad
    gm = gt.nn.BatchNorm1d(3)
    gm.load_state_dict({k: v for k, v in gt.nn.BatchNorm1d(3).state_dict().items()})
    assert gm.num_batches_tracked.dtype == gt.int64


# --- modes, dtype, grads ------------------------------------------------------------------

def test_train_eval_recursive():
    tm, gm = build(_Block.make)
    for m in (tm, gm):
        assert m.training and m.inner.bn.training
        assert m.eval() is m
        assert not m.training and not m.inner.bn.training and not m.head.training
        m.inner.train()
        assert m.inner.lin.training and not m.head.training and not m.training
        m.train(False)
        assert not m.inner.lin.training
    same_error(lambda lib: lib.nn.Linear(1, 1).train("yes"))


def test_to_dtype_and_float_double():
    tm, gm = build(_Block.make)
    for m in (tm, gm):
        w = m.head.weight
        assert m.to(torch.float64 if m is tm else gt.float64) is m
        assert m.head.weight is w                       # parameters keep their identity
    assert [str(p.dtype) for p in gm.parameters()] == [str(p.dtype) for p in tm.parameters()]
    assert [str(b.dtype) for b in gm.buffers()] == [str(b.dtype) for b in tm.buffers()]
    same_state(gm, tm)
    tm.float()
    gm.float()
    assert [str(b.dtype) for b in gm.buffers()] == [str(b.dtype) for b in tm.buffers()]
    gm.to(dtype=gt.float64)
    assert gm.head.weight.dtype == gt.float64 and gm.head.weight.requires_grad
    gm.to("cpu")
    gm.half()
    assert gm.head.weight.dtype == gt.float16
    assert gm.inner.bn.num_batches_tracked.dtype == gt.int64


def test_zero_grad_and_requires_grad_():
    tm, gm = build(_Block.make)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    for m, lib in ((tm, torch), (gm, gt)):
        m(lib.tensor(x)).sum().backward()
        assert m.head.weight.grad is not None
        m.zero_grad(set_to_none=False)
        assert float(m.head.weight.grad.abs().sum()) == 0.0
        m.zero_grad()
        assert m.head.weight.grad is None
        m.requires_grad_(False)
        assert not any(p.requires_grad for p in m.parameters())


def test_apply_and_deepcopy_and_pickle():
    gt.manual_seed(0)
    gm = _Block.make(gt)
    names = []
    gm.apply(lambda m: names.append(type(m).__name__))
    torch.manual_seed(0)
    tnames = []
    _Block.make(torch).apply(lambda m: tnames.append(type(m).__name__))
    assert names == tnames
    clone = copy.deepcopy(gm)
    assert clone.head.weight is not gm.head.weight
    assert np.array_equal(npy(clone.head.weight), npy(gm.head.weight))
    assert isinstance(clone.head.weight, gt.nn.Parameter)
    lin = gt.nn.Linear(2, 3)
    back = pickle.loads(pickle.dumps(lin))
    assert np.array_equal(npy(back.weight), npy(lin.weight))
    assert isinstance(back.weight, gt.nn.Parameter)


# --- hooks --------------------------------------------------------------------------------

def test_forward_pre_hook_and_forward_hook_replace_and_remove():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    results = []
    for lib in LIBS:
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        calls = []

        def pre(mod, args):
            calls.append(("pre", type(mod).__name__, len(args)))
            return (args[0] * 2,)

        def pre_single(mod, args):
            return args[0] + 1                     # a non-tuple is wrapped

        def post(mod, args, out):
            calls.append(("post", tuple(out.shape)))
            return out * 10

        h1 = m.register_forward_pre_hook(pre)
        h2 = m.register_forward_hook(post)
        out1 = npy(m(lib.tensor(x)))
        h3 = m.register_forward_pre_hook(pre_single, prepend=True)
        out2 = npy(m(lib.tensor(x)))
        h1.remove()
        h2.remove()
        h3.remove()
        out3 = npy(m(lib.tensor(x)))

        def kw_pre(mod, args, kwargs):
            return (args[0] * 0,), kwargs

        def kw_post(mod, args, kwargs, out):
            calls.append(("kw", sorted(kwargs)))
        m.register_forward_pre_hook(kw_pre, with_kwargs=True)
        m.register_forward_hook(kw_post, with_kwargs=True)
        out4 = npy(m(lib.tensor(x)))
        results.append((calls, out1, out2, out3, out4))
    (tc, *t_outs), (gc, *g_outs) = results
    assert gc == tc
    for g, t in zip(g_outs, t_outs):
        np.testing.assert_allclose(g, t, rtol=1e-6)


def test_forward_hook_always_called_order():
    orders = []
    for lib in LIBS:
        m = lib.nn.ReLU()
        order = []
        m.register_forward_hook(lambda *a: order.append("a"))
        m.register_forward_hook(lambda *a: order.append("b"), prepend=True)
        m.register_forward_pre_hook(lambda *a: order.append("p"))
        m(lib.zeros(1))
        orders.append(order)
    assert orders[0] == orders[1]


def _hook_values(lib, make, inputs, replace=False):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _hook_values_inner(lib, make, inputs, replace)
    return result + ([str(w.message) for w in caught],)


def _hook_values_inner(lib, make, inputs, replace):
    lib.manual_seed(0)
    m = make(lib)
    seen = []

    def hook(mod, grad_input, grad_output):
        seen.append(([None if g is None else npy(g) for g in grad_input],
                     [None if g is None else npy(g) for g in grad_output]))
        if replace:
            return tuple(None if g is None else g * 3 for g in grad_input)

    m.register_full_backward_hook(hook)
    xs = [lib.tensor(x, requires_grad=rg) for x, rg in inputs]
    out = m(*xs)
    out = out[0] if isinstance(out, tuple) else out
    (out * lib.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    grads = [None if x.grad is None else npy(x.grad) for x in xs]
    params = {n: npy(p.grad) for n, p in m.named_parameters()}
    return seen, grads, params


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("case", ["linear", "two_inputs", "no_input_grad", "bilinear"])
def test_full_backward_hook_matches_torch(case, replace):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y = rng.standard_normal((2, 4)).astype(np.float32)
    if case == "linear":
        make, inputs = (lambda lib: lib.nn.Linear(3, 2)), [(x, True)]
    elif case == "two_inputs":
        def make(lib):
            class Add(lib.nn.Module):
                def forward(self, a, b):
                    return a * 2 + b.sum(1, keepdim=True)
            return Add()
        inputs = [(x, True), (x + 1, False)]
    elif case == "no_input_grad":
        make, inputs = (lambda lib: lib.nn.Linear(3, 2)), [(x, False)]
    else:
        make, inputs = (lambda lib: lib.nn.Bilinear(3, 4, 2)), [(x, True), (y, True)]
    t_seen, t_grads, t_params, t_warn = _hook_values(torch, make, inputs, replace)
    g_seen, g_grads, g_params, g_warn = _hook_values(gt, make, inputs, replace)
    assert g_warn == t_warn
    assert len(g_seen) == len(t_seen) == 1
    for (gi, go), (ti, to) in zip(g_seen, t_seen):
        assert len(gi) == len(ti) and len(go) == len(to)
        for a, b in zip(gi + go, ti + to):
            assert (a is None) == (b is None)
            if b is not None:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(g_grads, t_grads):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for k in t_params:
        np.testing.assert_allclose(g_params[k], t_params[k], rtol=1e-5, atol=1e-6)


def test_full_backward_hook_removal_and_wrong_count():
    for lib in LIBS:
        m = lib.nn.Linear(3, 2)
        seen = []
        h = m.register_full_backward_hook(lambda *a: seen.append(1))
        h.remove()
        m(lib.ones(1, 3, requires_grad=True)).sum().backward()
        assert seen == []

    def bad(lib):
        m = lib.nn.Linear(3, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        m(lib.ones(1, 3, requires_grad=True)).sum().backward()
    same_error(bad, match="Backward hook returned an invalid number of grad_input")


# --- containers ----------------------------------------------------------------------------

def test_sequential_ordered_dict_indexing_slicing():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(OrderedDict([("fc", nn.Linear(4, 3)), ("act", nn.Tanh()),
                                          ("out", nn.Linear(3, 2))]))
    tm, gm = build(make)
    assert repr(gm) == repr(tm)
    assert type(gm[0]).__name__ == "Linear" and type(gm[-1]).__name__ == "Linear"
    assert repr(gm[1:]) == repr(tm[1:])
    assert repr(gm[::2]) == repr(tm[::2])
    assert isinstance(gm[1:], gt.nn.Sequential)
    assert len(gm) == 3 and [type(m).__name__ for m in gm] == ["Linear", "Tanh", "Linear"]
    x = np.ones((2, 4), np.float32)
    close(gm(gt.tensor(x)), tm(torch.tensor(x)), 1e-6, 1e-6)
    same_error(lambda lib: make(lib)[3])
    for m, lib in ((tm, torch), (gm, gt)):
        m.append(lib.nn.ReLU())
        m[1] = lib.nn.Sigmoid()
        del m[0]
        m.insert(0, lib.nn.Identity())
        m.extend([lib.nn.ReLU()])
    assert repr(gm) == repr(tm)
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    both = [lib.nn.Sequential(lib.nn.ReLU()) + lib.nn.Sequential(lib.nn.Tanh())
            for lib in (torch, gt)] if hasattr(torch.nn.Sequential, "__add__") else []
    if both:
        assert repr(both[1]) == repr(both[0])


def test_module_list_and_dict():
    def make(lib):
        nn = lib.nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
                self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.ReLU()})
                self.layers.append(nn.Tanh())
                self.layers.insert(1, nn.Sigmoid())
                self.layers += [nn.Identity()]
                self.heads["c"] = nn.Linear(2, 3)

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)
                return self.heads["a"](x)
        return M()
    tm, gm = build(make)
    assert repr(gm) == repr(tm)
    same_state(gm, tm)
    assert len(gm.layers) == len(tm.layers)
    assert repr(gm.layers[1:3]) == repr(tm.layers[1:3])
    assert list(gm.heads.keys()) == list(tm.heads.keys())
    assert "b" in gm.heads and "z" not in gm.heads
    for m in (tm, gm):
        del m.layers[0]
        m.heads.pop("b")
    assert repr(gm) == repr(tm)
    same_error(lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])[2])
    same_error(lambda lib: lib.nn.ModuleDict()["x"])


def test_parameter_list_and_dict():
    reprs = []
    for lib in LIBS:
        lib.manual_seed(0)
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3, 2)])
        pd = lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(2, 3)), "b": lib.zeros(2)})
        assert all(isinstance(p, lib.nn.Parameter) for p in pl)
        assert isinstance(pd["b"], lib.nn.Parameter)
        m = lib.nn.Module()
        m.pl, m.pd = pl, pd
        reprs.append((repr(pl), repr(pd), repr(m), [n for n, _ in m.named_parameters()],
                      len(pl), list(pd.keys())))
    assert reprs[1] == reprs[0]


# --- Parameter -------------------------------------------------------------------------------

def test_parameter_repr_and_behaviour():
    for lib in LIBS:
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
        assert p.requires_grad and p.is_leaf and p.grad_fn is None
        assert isinstance(p, lib.Tensor)
        q = lib.nn.Parameter(lib.tensor([1.0]), requires_grad=False)
        assert not q.requires_grad
        assert isinstance(p * 2, lib.Tensor) and not isinstance(p * 2, lib.nn.Parameter)
        assert (p * 2).grad_fn is not None
        assert isinstance(p.detach(), lib.Tensor)
    assert repr(gt.nn.Parameter(gt.tensor([1.0, 2.0]))) == \
        repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert repr(gt.nn.Parameter(gt.tensor([1.0]), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.tensor([1.0]), requires_grad=False))
    assert repr(gt.nn.Parameter(gt.tensor([[1.5, 2.0]], dtype=gt.float64))) == \
        repr(torch.nn.Parameter(torch.tensor([[1.5, 2.0]], dtype=torch.float64)))
    assert repr(gt.nn.Parameter()) == repr(torch.nn.Parameter())
    assert str(gt.nn.Parameter(gt.ones(2)).dtype) == "torch.float32"
    p = gt.nn.Parameter(gt.ones(2))
    (p * 3).sum().backward()
    np.testing.assert_array_equal(npy(p.grad), [3, 3])
    base = gt.ones(2)
    p = gt.nn.Parameter(base)
    with gt.no_grad():
        p.add_(1)
    assert float(base.sum()) == 4.0                   # shares storage, as in torch
    same_error(lambda lib: lib.nn.Parameter([1.0, 2.0]))


# --- repr ------------------------------------------------------------------------------------

def test_seed_note_mynet_repr():
    tm, gm = build(_mynet)
    assert repr(gm) == repr(tm)
    assert str(gm) == str(tm)
    same_state(gm, tm)


REPR_CASES = [
    "nn.Linear(3, 5)", "nn.Linear(3, 5, bias=False)",
    "nn.Conv2d(1, 16, kernel_size=(5, 5))", "nn.Conv2d(2, 4, 3, stride=2, padding=1)",
    "nn.Conv2d(2, 4, 3, padding='same', dilation=2, groups=2, bias=False)",
    "nn.Conv2d(2, 4, (3, 1), padding_mode='reflect', padding=(1, 0))",
    "nn.Conv1d(2, 4, 3, padding='valid')", "nn.Conv1d(2, 4, 3, padding_mode='circular', padding=2)",
    "nn.BatchNorm1d(3)", "nn.BatchNorm2d(3, momentum=None)", "nn.BatchNorm3d(3, affine=False)",
    "nn.BatchNorm2d(3, track_running_stats=False, eps=1e-3)",
    "nn.LayerNorm(4)", "nn.LayerNorm([3, 4], elementwise_affine=False)",
    "nn.LayerNorm(4, bias=False)", "nn.GroupNorm(2, 4)", "nn.GroupNorm(2, 4, affine=False)",
    "nn.Dropout()", "nn.Dropout(0.2, inplace=True)", "nn.Dropout2d(0.3)",
    "nn.Dropout1d()", "nn.Dropout3d()",
    "nn.LSTM(3, 4)", "nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True, dropout=0.5)",
    "nn.GRU(3, 4, bias=False)", "nn.RNN(3, 4, nonlinearity='relu')",
    "nn.RNNCell(2, 3, nonlinearity='relu')", "nn.LSTMCell(2, 3, bias=False)", "nn.GRUCell(2, 3)",
    "nn.Embedding(3, 5)", "nn.Embedding(3, 5, padding_idx=-1, max_norm=1.0)",
    "nn.Flatten()", "nn.Flatten(0, 2)", "nn.Unflatten(1, (2, 3))",
    "nn.Bilinear(2, 3, 4)", "nn.Identity()",
    "nn.MaxPool2d(2)", "nn.MaxPool2d((2, 3), stride=1, padding=1, ceil_mode=True)",
    "nn.MaxPool1d(3, 2)", "nn.AvgPool2d(3, 2, 1)", "nn.AvgPool1d(2)",
    "nn.AvgPool2d(2, count_include_pad=False, divisor_override=3)",
    "nn.AdaptiveAvgPool2d((2, 3))", "nn.AdaptiveAvgPool2d(1)", "nn.AdaptiveAvgPool1d(4)",
    "nn.AdaptiveMaxPool2d(2)",
    "nn.ReLU()", "nn.ReLU(inplace=True)", "nn.ReLU6()", "nn.ReLU6(True)",
    "nn.LeakyReLU()", "nn.LeakyReLU(0.2, inplace=True)", "nn.ELU()", "nn.ELU(0.5, True)",
    "nn.SELU()", "nn.SELU(inplace=True)", "nn.GELU()", "nn.GELU(approximate='tanh')",
    "nn.Softplus()", "nn.Softplus(2, 10)", "nn.Hardtanh()", "nn.Hardtanh(-2, 2)",
    "nn.Sigmoid()", "nn.Tanh()", "nn.Softsign()", "nn.SiLU()", "nn.SiLU(inplace=True)",
    "nn.Mish()", "nn.Hardsigmoid()", "nn.Hardswish()", "nn.LogSigmoid()",
    "nn.Softmax()", "nn.Softmax(dim=1)", "nn.LogSoftmax(1)", "nn.Softmin(-1)", "nn.Softmax2d()",
    "nn.L1Loss()", "nn.MSELoss(reduction='sum')", "nn.CrossEntropyLoss()",
    "nn.CrossEntropyLoss(weight=torch.ones(3))", "nn.NLLLoss()", "nn.BCELoss()",
    "nn.BCEWithLogitsLoss(pos_weight=torch.ones(2))", "nn.SmoothL1Loss()", "nn.HuberLoss()",
    "nn.KLDivLoss(reduction='batchmean')",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_layer_reprs_match_torch(expr):
    reprs = []
    for lib in LIBS:
        lib.manual_seed(0)
        reprs.append(repr(eval(expr, {"nn": lib.nn, "torch": lib})))
    assert reprs[1] == reprs[0]


def test_nested_repr_with_extra_repr_and_children():
    def make(lib):
        nn = lib.nn

        class Custom(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                                          nn.Sequential(nn.MaxPool2d(2), nn.Dropout(0.1)))
                self.rnn = nn.LSTM(8, 4, batch_first=True)
                self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 3)])

            def extra_repr(self):
                return "custom=1\nsecond line"
        return Custom()
    tm, gm = build(make)
    assert repr(gm) == repr(tm)
    same_state(gm, tm)


def test_always_call_hook_runs_when_forward_raises():
    for lib in (torch, gt):
        class Bad(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Bad()
        seen = []
        m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
        assert seen == [None]


def test_full_backward_pre_hook_replaces_grad_output():
    results = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        seen = []

        def pre(mod, grad_output, seen=seen):
            seen.append(npy(grad_output[0]))
            return (grad_output[0] * 2,)
        m.register_full_backward_pre_hook(pre)
        x = lib.ones(4, 3, requires_grad=True)
        m(x).pow(2).sum().backward()
        results.append((seen[0], npy(x.grad), npy(m.weight.grad)))
    for g, t in zip(*results[::-1]):
        np.testing.assert_allclose(g, t, rtol=1e-6)


def test_mixing_backward_hook_kinds_errors():
    def mix(lib):
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda *a: None)
        m.register_backward_hook(lambda *a: None)
    same_error(mix)


def test_type_dir_and_named_buffers_of_containers():
    tm, gm = build(_Block.make)
    assert [n for n in dir(gm) if n in ("inner", "head", "scale", "steps")] == \
        [n for n in dir(tm) if n in ("inner", "head", "scale", "steps")]
    tm.type(torch.float64)
    gm.type(gt.float64)
    assert [str(b.dtype) for b in gm.buffers()] == [str(b.dtype) for b in tm.buffers()]
    same_error(lambda lib: lib.nn.Linear(2, 2).to(lib.int64))
    assert "0" not in dir(gt.nn.Sequential(gt.nn.ReLU()))
