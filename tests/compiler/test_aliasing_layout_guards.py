"""Regressions from the adversarial soundness probe: aliasing between arguments, memory
layout (strides) of arguments and of traced intermediates, expanded arguments written in
place, data_ptr() while tracing, and errors raised while tracing."""

import pytest

import graphtorch as gt
from graphtorch import nn


def _both(fn, make_args):
    """(eager, compiled) results of fn on fresh arguments from make_args()."""
    eager_args, compiled_args = make_args(), make_args()
    return (fn(*eager_args), eager_args), (gt.compile(fn)(*compiled_args), compiled_args)


def test_same_tensor_twice_after_distinct_arguments_is_guarded():
    def f(a, b):
        return a + b * 2

    cf = gt.compile(f)
    a, b = gt.ones(3), gt.full((3,), 5.0)
    assert gt.equal(cf(a, a), f(a, a))
    assert gt.equal(cf(a, b), f(a, b))  # was traced with one merged input: a + a * 2


@pytest.mark.parametrize("second", ["same", "view", "overlap"])
def test_write_through_one_argument_read_through_an_alias(second):
    def g(a, b):
        a.add_(1.0)
        return b * 1.0

    cg = gt.compile(g)
    cg(gt.zeros(4), gt.zeros(4))
    for run in (g, cg):
        t = gt.zeros(5)
        pair = {"same": (t[:4], None), "view": (t[:4], t[:4].view(4)),
                "overlap": (t[:4], t[1:5])}[second]
        a, b = pair[0], pair[1] if pair[1] is not None else pair[0]
        out = run(a, b)
        if run is g:
            expected = out
        else:
            assert gt.equal(out, expected)


@pytest.mark.parametrize("make", [lambda: gt.randn(4, 4).t(), lambda: gt.randn(4, 8)[:, ::2]])
def test_layout_of_an_argument_is_guarded(make):
    def f(x):
        return x * 2.0 if x.is_contiguous() else x - 1.0

    def g(x):
        return x.view(-1)

    cf, cg = gt.compile(f), gt.compile(g)
    cf(gt.randn(4, 4)), cg(gt.randn(4, 4))
    x = make()
    assert gt.equal(cf(x), f(x))
    try:
        expected = g(x)
    except RuntimeError as exc:
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            cg(x)
        assert "view size is not compatible" in str(exc)
    else:
        assert gt.equal(cg(x), expected)


def test_intermediates_keep_eager_layout():
    """x * 2.0 of a transposed x is transposed eagerly (NumPy's order K): its reshape copies,
    so writing into the reshape leaves y alone."""
    def f(x):
        y = x * 2.0
        v = y.reshape(-1)
        v.add_(1.0)
        return y, y.is_contiguous(), y.stride()

    x = gt.randn(4, 4).t()
    eager, compiled = f(x), gt.compile(f)(x)
    assert gt.equal(eager[0], compiled[0]) and eager[1:] == compiled[1:]


def test_expanded_argument_written_in_place_as_eager():
    def f(x):
        x[0] = 3.0
        return x * 1.0

    cf = gt.compile(f)
    cf(gt.randn(4, 4))
    for fn in (f, cf):
        t = gt.ones(1, 4).expand(4, 4)
        assert gt.equal(fn(t), gt.full((4, 4), 3.0))

    def zero(a, b):
        b.zero_()
        return a * 3.0, b

    cz = gt.compile(zero)
    cz(gt.ones(4), gt.ones(4))
    out, b = cz(gt.ones(4), gt.ones(1).expand(4))
    assert gt.equal(b, gt.zeros(4)) and gt.equal(out, gt.full((4,), 3.0))


def test_data_ptr_while_tracing_is_a_graph_break():
    def f(x):
        x.clamp_(-0.5, 0.5)
        return x.data_ptr() == x.contiguous().data_ptr(), x.storage_offset()

    x = gt.randn(5, 4)[1:]
    assert gt.compile(f)(x.clone()[1:]) == f(x)


def test_error_while_tracing_leaves_random_state_as_eager():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.BatchNorm1d(3))
    x = gt.randn(3)
    after = []
    for fn in (model, gt.compile(model)):
        gt.manual_seed(0)
        with pytest.raises(ValueError, match="expected 2D or 3D input"):
            fn(x)
        after.append(gt.randn(2))
    assert gt.equal(after[0], after[1])


def test_layout_reads_under_dynamic_sizes_match_eager():
    """With dynamic sizes a permuted view's strides are not tracked: reading them
    (is_contiguous, stride, dropout's draw order, which follows memory as PyTorch's) breaks
    the graph instead of answering from a C-contiguous guess."""
    F = nn.functional

    def layout(x):
        return x.t().is_contiguous(), x.t().stride(), (x.t() * 2).is_contiguous(), \
            (x * 2).is_contiguous()

    def dropped(x):
        return F.dropout(x.t(), 0.5), F.dropout(x.t() * 2, 0.5), F.dropout(x * 2, 0.5)

    c_layout, c_dropped = gt.compile(layout, dynamic=True), gt.compile(dropped, dynamic=True)
    for n in (5, 7, 9):
        x = gt.randn(n, 4)
        assert c_layout(x) == layout(x)
        gt.manual_seed(n)
        want = dropped(x)
        gt.manual_seed(n)
        got = c_dropped(x)
        for w, g in zip(want, got):
            assert gt.equal(w, g) and w.stride() == g.stride()


def test_always_contiguous_results_stay_known_under_dynamic_sizes():
    """A product of a permuted view is C-contiguous whatever the sizes (its OpDef says
    `ResultLayout.CONTIGUOUS`): reading its layout compiles, with eager's answers."""
    def f(x, w):
        y = x.t() @ w
        return y.view(-1) * 2, y.is_contiguous(), y.stride()

    compiled = gt.compile(f, dynamic=True)
    w = gt.randn(3, 4)
    for n in (5, 6, 7):
        x = gt.randn(3, n)
        (got, *got_layout), (want, *want_layout) = compiled(x, w), f(x, w)
        assert got_layout == want_layout
        assert gt.allclose(got, want)
    assert not compiled.stats.graph_breaks and compiled.stats.eager_calls == 0


def test_guards_leave_optimizer_state_alone():
    """Checking a variant's guards read optimizer state without creating entries (the state
    is a defaultdict): after load_state_dict drops the momentum buffers and momentum is 0,
    the state stays empty as eagerly (a fuzz campaign found compiled runs adding entries)."""
    def run(compiled):
        gt.manual_seed(0)
        model = nn.Linear(4, 2)
        opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.0)
        saved = opt.state_dict()

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        fn = gt.compile(step) if compiled else step
        states = []
        for call in range(6):
            gt.manual_seed(call)
            fn(gt.randn(6, 4), gt.randn(6, 2))
            states.append(sorted(opt.state_dict()["state"]))
            if call == 0:
                opt.param_groups[0]["momentum"] = 0.5
            if call == 3:
                opt.load_state_dict(saved)
        return states, [p.detach().clone() for p in model.parameters()]

    (eager_states, eager_params), (states, params) = run(False), run(True)
    assert states == eager_states
    for a, b in zip(params, eager_params):
        assert gt.allclose(a, b, rtol=1e-5, atol=1e-6)


# --- randomised: argument aliasing and layouts change from call to call -----------------

def _arguments(kind, base):
    """Two (4, 4) arguments made from one fresh (6, 6) tensor `base` as `kind` names."""
    flat = base.view(-1)
    return {"separate": lambda: (base[:4, :4].clone(), base[2:, 2:].clone()),
            "same": lambda: (base[:4, :4],) * 2,  # one tensor passed twice
            "same_memory": lambda: (base[:4, :4], base[:4, :4]),
            "overlap": lambda: (base[:4, :4], base[1:5, 1:5]),
            "apart": lambda: (flat[:16].view(4, 4), flat[16:32].view(4, 4)),
            "transposed": lambda: (base[:4, :4].t(), base[2:, 2:]),
            "both_transposed": lambda: (base[:4, :4].t(), base[:4, :4].t()),
            "strided": lambda: (flat[::2][:16].view(4, 4), base[1:5, :4]),
            "expanded": lambda: (base[:4, :4], base[0, :4].expand(4, 4))}[kind]()


_BODIES = {
    "sum": lambda a, b: a + b * 2.0,
    "write_read": lambda a, b: (a.add_(1.0), b * 2.0)[1],
    "read_write": lambda a, b: (b * 2.0, a.mul_(3.0))[0],
    "view_flat": lambda a, b: a.reshape(-1)[:5] + b.sum(),
    "layout_branch": lambda a, b: a * 2 if a.is_contiguous() else b * 3,
    "strides": lambda a, b: a + float(sum(a.stride())),
    "elementwise_then_view": lambda a, b: (a * 2).t().reshape(-1) + b.reshape(-1)[0],
    "dropout": lambda a, b: gt.nn.functional.dropout(a * 1.0, 0.5) + b,
}


@pytest.mark.parametrize("seed", range(60))
def test_random_aliasing_and_layouts_match_eager(seed):
    """Random sequences of argument aliasing/layout patterns through random bodies (writes,
    reads, reshapes, layout reads, dropout): every call of the compiled function returns
    eager's values, and the arguments' memory ends as eager's."""
    import random

    rng = random.Random(seed)
    name = rng.choice(sorted(_BODIES))
    body = _BODIES[name]
    compiled = gt.compile(body, dynamic=rng.random() < 0.3)
    kinds = ["separate", "same", "same_memory", "overlap", "apart", "transposed", "both_transposed",
             "strided", "expanded"]
    for call in range(6):
        kind = rng.choice(kinds)
        gt.manual_seed(seed * 100 + call)
        start = gt.randn(6, 6)
        results = []
        for run in (body, compiled):
            base = start.clone()
            a, b = _arguments(kind, base)
            gt.manual_seed(call)
            try:
                out = run(a, b)
            except RuntimeError as exc:  # eager's error must be compiled's too
                out = type(exc)
            results.append((out, base))
        (want, want_base), (got, got_base) = results
        assert (want is RuntimeError) == (got is RuntimeError), (name, kind, call)
        if want is not RuntimeError:
            assert gt.allclose(got, want, rtol=1e-5, atol=1e-5), (name, kind, call)
        assert gt.allclose(got_base, want_base, rtol=1e-5, atol=1e-5), (name, kind, call)


@pytest.mark.parametrize("dynamic", [False, True])
def test_empty_arguments_are_guarded_on_their_strides(dynamic):
    # NumPy flags any empty array C-contiguous: a graph traced for a C-ordered empty argument
    # served a permuted one, whose reduction eager lays out by its strides (ops fuzz family)
    compiled = gt.compile(lambda b: (b.sum(-1), b.mean(1)), dynamic=dynamic)
    for b in (gt.randn(3, 2, 0), gt.randn(0, 2, 3).permute(2, 1, 0), gt.randn(3, 2, 0),
              gt.randn(4, 2, 3).permute(2, 1, 0)):
        for got, want in zip(compiled(b), (b.sum(-1), b.mean(1))):
            assert got.stride() == want.stride()


def test_strides_of_size_one_dims_are_eager_strides():
    # `stride()` reports size-1 dims' strides, which contiguity ignores: the trace recorded
    # canonical strides for x.t() of a (5, 1) tensor, (5, 1) where eager has (1, 1)
    # (views_aliasing fuzz family)
    def strides(x):
        return x.stride(), x.t().stride(), x.unsqueeze(1).stride(), x[:, :1].stride()

    compiled = gt.compile(strides)
    for x in (gt.randn(5, 1), gt.randn(5, 3)[:, :1], gt.randn(5, 1), gt.randn(1, 5).t()):
        assert compiled(x) == strides(x)


def test_expand_to_the_same_shape_keeps_size_one_strides():
    # eager's `expand` of a writeable array keeps its strides; the trace ran the kernel on a
    # read-only stand-in, which NumPy broadcasts with stride 0 on the size-1 dim
    def expanded(x):
        b = x * 1.0
        return b.expand(1, 4).stride(), b.expand(1, 4).contiguous().stride(), \
            b[None].expand(2, 1, 4).stride()

    x = gt.randn(1, 4)
    assert gt.compile(expanded)(x) == expanded(x)


@pytest.mark.parametrize("view", [lambda x: x.unfold(1, 2, 1), lambda x: x.unfold(0, 3, 1)])
def test_write_through_self_overlapping_view_runs_eagerly(view):
    # an in-place write through overlapping windows: eager writes and differentiates element
    # by element, the graph wrote one value per element (the leaf's gradient differed)
    def step(leaf):
        x = leaf * 1.0
        v = view(x)
        v.masked_fill_(v > 0, 0.0)
        v.clamp_(-0.5, 0.5)
        return v, x * 2.0

    def grads(fn):
        leaf = gt.tensor(LEAF_VALUES, requires_grad=True)
        outs = fn(leaf)
        sum((t * gt.linspace(-1.0, 1.0, t.numel()).view(t.shape)).sum() for t in outs).backward()
        return [t.detach() for t in outs], leaf.grad

    compiled = gt.compile(step)
    (want_outs, want_grad), (got_outs, got_grad) = grads(step), grads(compiled)
    assert all(gt.allclose(g, w) for g, w in zip(got_outs, want_outs))
    assert gt.allclose(got_grad, want_grad)
    assert any("overlap in memory" in reason for reason in compiled.stats.graph_breaks)


LEAF_VALUES = [[0.3, -1.2, 0.8, -0.1, 1.5, -0.7], [-0.4, 0.9, -2.0, 0.2, -0.6, 1.1],
               [1.3, -0.3, 0.05, -0.9, 0.4, -1.4], [-0.2, 0.7, -0.5, 1.8, -1.1, 0.6]]


def test_write_through_view_of_transposed_argument_keeps_its_layout():
    # the graph's write-back copied the argument C-ordered, where `view(-1)` of its
    # transpose is not a view: compiled raised (views_aliasing fuzz family)
    def fill_flat(x):
        b = x.t()
        b.reshape(-1).fill_(3.0)
        return b.view(-1) * 2.0

    compiled = gt.compile(fill_flat)
    x, y = gt.randn(6, 4).t(), None
    y = x.clone().t().contiguous().t()  # the same layout and values
    assert gt.equal(compiled(x), fill_flat(y)) and gt.equal(x, y)


def test_write_through_empty_view_of_expanded_tensor_raises():
    # an empty slice of an expanded tensor keeps its zero strides: eager's write raises
    def write(x):
        v = (x * 1.0)[None].expand(2, 3, 4)[:, 1:1]
        v.sub_(1.5)
        return v

    for fn in (write, gt.compile(write)):
        with pytest.raises(RuntimeError, match="single memory location"):
            fn(gt.randn(3, 4))
