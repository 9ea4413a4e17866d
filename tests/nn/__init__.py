"""Shared helpers for the nn tests: build the same module in PyTorch and graphtorch,
check the seeded initial weights are identical, and compare outputs and gradients.

Every comparison goes through NumPy; PyTorch is only the oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


def npy(t):
    """A tensor (either library) as a NumPy array; other values unchanged."""
    if hasattr(t, "detach"):
        return np.array(t.detach().numpy())
    return np.asarray(t)


def _probe(fill) -> bool:
    torch.manual_seed(3)
    gt.manual_seed(3)
    return all(np.array_equal(npy(fill(gt, dt)), npy(fill(torch, dt)))
               for dt in ("float32", "float64"))


def _probes():
    uniform = _probe(lambda lib, dt: lib.empty(300, dtype=getattr(lib, dt)).uniform_(-.7, .55))
    normal = _probe(lambda lib, dt: lib.empty(35, dtype=getattr(lib, dt)).normal_())
    return uniform, normal


# Whether graphtorch.random reproduces PyTorch's fills bit for bit. PyTorch computes
# uniform(a, b) as fma(u, b - a, a) and float32 normals of 16+ elements with SLEEF; until
# graphtorch.random does the same, seeded weights agree to an ulp or two and the tests
# compare them with RANDOM_RTOL instead of exactly (test_init checks the streams strictly).
UNIFORM_BITWISE, NORMAL_BITWISE = _probes()
RANDOM_RTOL = 0.0 if UNIFORM_BITWISE and NORMAL_BITWISE else 2e-6


def close(ours, theirs, rtol=1e-5, atol=1e-6, what=""):
    """Values, shape and dtype of a graphtorch tensor against a torch tensor."""
    if hasattr(theirs, "dtype") and hasattr(ours, "dtype"):
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != " \
                                                     f"{theirs.dtype}"
    a, b = npy(ours), npy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch {b.shape}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def same_state(gm, tm, exact=True, what="state"):
    """The parameters and buffers of two modules agree by name, shape, dtype and value."""
    g = dict(gm.named_parameters())
    t = dict(tm.named_parameters())
    assert list(g) == list(t), f"{what}: parameter names {list(g)} != {list(t)}"
    gb, tb = dict(gm.named_buffers()), dict(tm.named_buffers())
    assert list(gb) == list(tb), f"{what}: buffer names {list(gb)} != {list(tb)}"
    for name in list(t) + list(tb):
        ours, theirs = (g.get(name, gb.get(name)), t.get(name, tb.get(name)))
        if exact:
            close(ours, theirs, RANDOM_RTOL, RANDOM_RTOL, f"{what} {name}")
        else:
            close(ours, theirs, 1e-5, 1e-6, f"{what} {name}")


def copy_state(tm, gm):
    """Copy every parameter and buffer of torch module `tm` into graphtorch module `gm`."""
    ours = dict(gm.named_parameters())
    ours.update(dict(gm.named_buffers()))
    with gt.no_grad():
        for name, value in list(tm.named_parameters()) + list(tm.named_buffers()):
            ours[name].copy_(gt.tensor(npy(value)))


def build(ctor, seed=0):
    """(torch module, graphtorch module) from ctor(lib), both after manual_seed(seed)."""
    torch.manual_seed(seed)
    tm = ctor(torch)
    gt.manual_seed(seed)
    gm = ctor(gt)
    return tm, gm


def flat(out):
    if isinstance(out, (tuple, list)):
        items = []
        for o in out:
            items.extend(flat(o))
        return items
    return [out]


def compare_module(ctor, inputs, *, seed=0, train=True, grad=True, rtol=1e-5, atol=1e-6,
                   exact_init=True, grad_inputs=None, call=None):
    """Build ctor(lib) in both libraries from the same seed, run it on `inputs` (NumPy
    arrays, or other values passed as they are) and compare outputs, input gradients and
    parameter gradients. exact_init: True checks the seeded initial state is identical,
    False copies torch's state into the graphtorch module, None leaves both as they are.
    Returns (torch module, graphtorch module)."""
    tm, gm = build(ctor, seed)
    if exact_init:
        same_state(gm, tm, exact=True, what="initial")
    elif exact_init is not None:
        copy_state(tm, gm)
    tm.train(train)
    gm.train(train)
    assert gm.training == train
    positions = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray)
                 and x.dtype.kind == "f" and grad] if grad_inputs is None else grad_inputs

    def convert(lib):
        out = []
        for i, x in enumerate(inputs):
            if isinstance(x, np.ndarray):
                t = lib.tensor(x.copy())
                if i in positions:
                    t.requires_grad_(True)
                out.append(t)
            else:
                out.append(x)
        return out

    t_in, g_in = convert(torch), convert(gt)
    t_out = flat((call or (lambda m, *a: m(*a)))(tm, *t_in))
    g_out = flat((call or (lambda m, *a: m(*a)))(gm, *g_in))
    assert len(g_out) == len(t_out)
    for i, (g, t) in enumerate(zip(g_out, t_out)):
        close(g, t, rtol, atol, f"output {i}")
    if not grad:
        same_state(gm, tm, exact=False, what="after forward")
        return tm, gm
    rng = np.random.default_rng(123)
    t_loss, g_loss = 0, 0
    for g, t in zip(g_out, t_out):
        if t.requires_grad and t.dtype.is_floating_point:
            cot = rng.uniform(-1, 1, size=tuple(t.shape)).astype(npy(t).dtype)
            t_loss = t_loss + (t * torch.tensor(cot)).sum()
            g_loss = g_loss + (g * gt.tensor(cot)).sum()
    t_loss.backward()
    g_loss.backward()
    for i in positions:
        assert g_in[i].grad is not None, f"missing grad of input {i}"
        close(g_in[i].grad, t_in[i].grad, rtol * 10, atol * 10, f"grad of input {i}")
    g_params = dict(gm.named_parameters())
    for name, p in tm.named_parameters():
        if p.grad is None:
            assert g_params[name].grad is None, f"{name}.grad should be None"
            continue
        assert g_params[name].grad is not None, f"missing grad of {name}"
        close(g_params[name].grad, p.grad, rtol * 10, atol * 10, f"grad of {name}")
    same_state(gm, tm, exact=False, what="after backward")
    return tm, gm


def same_error(fn, match=None):
    """fn(torch) and fn(gt) raise the same builtin exception type with the same message
    (or, with `match`, messages that both contain `match`)."""
    errors = []
    for lib in (torch, gt):
        with pytest.raises(Exception) as info:
            fn(lib)
        errors.append(info.value)
    t_err, g_err = errors
    assert _builtin(g_err) is _builtin(t_err), f"{type(g_err)} != torch {type(t_err)}: {g_err}"
    if match is None:
        assert str(g_err) == str(t_err), f"message {str(g_err)!r} != torch {str(t_err)!r}"
    else:
        assert match in str(t_err), f"torch message {str(t_err)!r} lacks {match!r}"
        assert match in str(g_err), f"message {str(g_err)!r} lacks {match!r}"
    return g_err


def _builtin(exc):
    import builtins

    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls
    return type(exc)
