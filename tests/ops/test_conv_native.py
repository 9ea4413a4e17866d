"""`ops.conv_native`'s direct stride-1 convolutions (forward, transposed, weight gradient)
against PyTorch over random shapes, paddings (uneven pairs), dilations, groups and dtypes;
the thread split, the non-finite fallback, and the public functions on that path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch import native_build
from graphtorch.ops import conv_native
from tests.forking import run_forked_check

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.fixture
def native(monkeypatch):
    monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
    if native_build.compiler() is None:
        pytest.skip("no C++ compiler")
    for dtype in (np.float32, np.float64):
        assert conv_native._functions(dtype) is not None


@st.composite
def problems(draw):
    groups = draw(st.integers(1, 3))
    cg, og = draw(st.integers(1, 4)), draw(st.integers(1, 10))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - sum(pads[0])), 12))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - sum(pads[1])), 12))
    n = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return n, groups, cg, og, (h, w), (kh, kw), (dh, dw), pads, dtype


def _close(ours, theirs, dtype):
    theirs = theirs.detach().numpy()
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale)


def _torch_conv(x, w, pads, dilation, groups):
    (top, bottom), (left, right) = pads
    return F.conv2d(F.pad(x, (left, right, top, bottom)), w, dilation=dilation, groups=groups)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems())
def test_direct_convolution_matches_torch(native, problem):
    """Forward, input gradient (a transposed convolution) and weight gradient."""
    n, groups, cg, og, sizes, kernel, dilation, pads, dtype = problem
    rng = np.random.default_rng(sum(sizes) + og)
    x = rng.standard_normal((n, groups * cg) + sizes).astype(dtype)
    w = rng.standard_normal((groups * og, cg) + kernel).astype(dtype)
    xt, wt = (torch.from_numpy(a).requires_grad_() for a in (x, w))
    yt = _torch_conv(xt, wt, pads, dilation, groups)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.from_numpy(g))
    _close(conv_native.forward(x, w, pads, dilation, groups), yt, dtype)
    bias = rng.standard_normal(groups * og).astype(dtype)  # each sum starts from it
    _close(conv_native.forward(x, w, pads, dilation, groups, bias),
           yt + torch.from_numpy(bias).reshape(1, -1, 1, 1), dtype)
    _close(conv_native.weight_grad(x, g, kernel, pads, dilation, groups), wt.grad, dtype)
    # the input gradient is the transposed convolution whose output padding restores x's size
    extra = tuple(sizes[i] + sum(pads[i]) - dilation[i] * (kernel[i] - 1) - yt.shape[2 + i]
                  for i in range(2))
    gx = conv_native.transposed(g, w, pads, dilation, groups, extra)
    if gx is None:  # padding above dilation * (k - 1): the im2col path's case
        assert any(p > d * (k - 1) for pair, d, k in zip(pads, dilation, kernel) for p in pair)
    else:
        _close(gx, xt.grad, dtype)


def test_transposed_with_output_padding_matches_torch(native):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    ours = conv_native.transposed(x, w, ((1, 1), (0, 0)), (2, 3), 2, (1, 2), bias)
    theirs = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias),
                                padding=(1, 0), dilation=(2, 3), groups=2, output_padding=(1, 2))
    _close(ours, theirs, np.float32)


def test_threads_split_the_work_alike(native, monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    g = rng.standard_normal((16, 16, 10, 10)).astype(np.float32)
    pads = ((0, 0), (0, 0))
    results = []
    for minimum in (1 << 60, 0):  # one thread, then every call split
        monkeypatch.setattr(conv_native, "THREAD_MIN_MACS", minimum)
        monkeypatch.setattr(conv_native, "get_num_threads", lambda: 2)
        results.append((conv_native.forward(x, w, pads, (1, 1), 1),
                        conv_native.weight_grad(x, g, (5, 5), pads, (1, 1), 1)))
    for one, split in zip(*results):
        np.testing.assert_allclose(one, split, rtol=1e-6, atol=1e-5)


def test_non_finite_input_takes_the_reference_path(native):
    """A discarded column's ``0 * inf`` must not reach the weight gradient: weight_grad
    declines, and the op's result is PyTorch's (inf/NaN only in the taps that saw it)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 7, 7)).astype(np.float32)
    x[0, 1, 0, 0] = np.inf
    g = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    assert conv_native.weight_grad(x, g, (3, 3), ((0, 0), (0, 0)), (1, 1), 1) is None
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    xg, wg = gt.tensor(x), gt.tensor(w, requires_grad=True)
    gt.nn.functional.conv2d(xg, wg).backward(gt.tensor(g))
    wt = torch.from_numpy(w).requires_grad_()
    F.conv2d(torch.from_numpy(x), wt).backward(torch.from_numpy(g))
    ours, theirs = wg.grad.numpy(), wt.grad.numpy()
    assert np.isfinite(theirs).sum() > 0
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-5, atol=1e-5)


def test_declines_what_it_does_not_cover(native):
    x = np.ones((1, 2, 5, 5), np.float32)
    w = np.ones((2, 2, 3, 3), np.float32)
    assert conv_native.forward(x.astype(np.int64), w.astype(np.int64), ((0, 0),) * 2,
                               (1, 1), 1) is None
    assert conv_native.forward(x, w.astype(np.float64), ((0, 0),) * 2, (1, 1), 1) is None
    assert conv_native.forward(x[0], w, ((0, 0),) * 2, (1, 1), 1) is None
    wide = np.ones((1, 16, 3, 3), np.float32)  # one output over 16 channels: im2col's case
    assert conv_native.forward(np.ones((1, 16, 5, 5), np.float32), wide, ((0, 0),) * 2,
                               (1, 1), 1) is None


def test_without_the_tier_it_is_unavailable(monkeypatch):
    monkeypatch.setenv("GRAPHTORCH_JIT", "0")
    assert conv_native._functions(np.float32) is None


@pytest.mark.parametrize("stride", [1, 2])
def test_public_conv2d_step_on_the_native_path(native, stride):
    """nn.Conv2d forward and backward (both gradients and the bias) with the tier on; a
    stride of 2 takes the im2col path. Compiled and eager agree."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3, 11, 11)).astype(np.float32)
    layer = torch.nn.Conv2d(3, 5, 3, stride=stride, padding=1)
    ours = gt.nn.Conv2d(3, 5, 3, stride=stride, padding=1)
    ours.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in
                          layer.state_dict().items()})
    xt, xg = torch.from_numpy(x).requires_grad_(), gt.tensor(x, requires_grad=True)
    layer(xt).square().sum().backward()
    ours(xg).square().sum().backward()
    _close(xg.grad.numpy(), xt.grad, np.float32)
    _close(ours.weight.grad.numpy(), layer.weight.grad, np.float32)
    _close(ours.bias.grad.numpy(), layer.bias.grad, np.float32)
    compiled = gt.compile(lambda a: ours(a).relu().sum(dim=(0, 2)))
    for _ in range(2):
        np.testing.assert_allclose(compiled(gt.tensor(x)).detach().numpy(),
                                   ours(gt.tensor(x)).relu().sum(dim=(0, 2)).detach().numpy(),
                                   rtol=1e-5, atol=1e-4)


@st.composite
def conv_nets(draw):
    """(layers, input shape): Conv2d layers with random channels, kernels, strides,
    paddings, dilations and groups, ReLU between them."""
    channels = first = draw(st.integers(1, 4))
    size = side = draw(st.integers(6, 12))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        groups = draw(st.sampled_from([g for g in (1, 2) if channels % g == 0]))
        out = groups * draw(st.integers(1, 5))
        k = draw(st.integers(1, 3))
        stride, dilation = draw(st.sampled_from([1, 1, 2])), draw(st.integers(1, 2))
        padding = draw(st.integers(0, 2))
        if size + 2 * padding < dilation * (k - 1) + 1:
            break
        layers.append((channels, out, k, stride, padding, dilation, groups))
        size = (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1
        channels = out
    return layers, (draw(st.integers(1, 4)), first, side, side)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conv_nets())
def test_random_conv_nets_train_like_torch_eager_and_compiled(native, net):
    """Random Conv2d stacks: graphtorch's gradients (eager, on the native loops where
    they apply) match PyTorch's, and two compiled SGD steps match two eager ones."""
    layers, shape = net
    if not layers:
        return
    rng = np.random.default_rng(len(layers) * 7 + shape[0])
    x = rng.standard_normal(shape).astype(np.float32)

    def build(lib):
        mods = []
        for cin, cout, k, stride, padding, dilation, groups in layers:
            mods += [lib.nn.Conv2d(cin, cout, k, stride=stride, padding=padding,
                                   dilation=dilation, groups=groups), lib.nn.ReLU()]
        return lib.nn.Sequential(*mods)

    theirs = build(torch)
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}

    def ours():
        model = build(gt)
        model.load_state_dict({k: gt.tensor(v) for k, v in state.items()})
        return model

    theirs(torch.from_numpy(x)).square().mean().backward()
    eager_model = ours()
    eager_model(gt.tensor(x)).square().mean().backward()
    for (name, p), q in zip(theirs.named_parameters(), eager_model.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)

    def trained(compiled):
        model = ours()
        opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(inp):
            opt.zero_grad()
            loss = model(inp).square().mean()
            loss.backward()
            opt.step()
            return loss

        run = gt.compile(step) if compiled else step
        losses = [run(gt.tensor(x)).item() for _ in range(3)]
        return losses, [p.detach().numpy() for p in model.parameters()]

    (eager_losses, eager_params), (comp_losses, comp_params) = trained(False), trained(True)
    np.testing.assert_allclose(comp_losses, eager_losses, rtol=1e-5, atol=1e-6)
    for a, b in zip(comp_params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_forked_child_runs_convolutions_and_lstms_without_openmp(tmp_path):
    """After the parent ran the direct convolution and the LSTM loop on OpenMP threads, a
    forked child (a DataLoader worker) runs them on one thread (GNU OpenMP would hang)."""
    if native_build.compiler() is None:
        pytest.skip("no C++ compiler")
    setup = """
import numpy as np
import graphtorch as gt
x, w = gt.randn(64, 6, 14, 14), gt.randn(16, 6, 5, 5)
y = gt.nn.functional.conv2d(x, w).numpy()
lstm, xs = gt.nn.LSTM(8, 16), gt.randn(5, 32, 8)
h = lstm(xs)[0].detach().numpy()
"""
    check = ("np.allclose(gt.nn.functional.conv2d(x, w).numpy(), y, rtol=1e-5, atol=1e-5) "
             "and np.allclose(lstm(xs)[0].detach().numpy(), h, rtol=1e-5, atol=1e-5)")
    assert run_forked_check(setup, check, tmp_path) == "child 0"
