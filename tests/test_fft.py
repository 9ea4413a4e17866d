"""gt.fft against PyTorch: values, dtypes, gradients (real-to-complex conventions included),
errors, and compiled graphs equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

NORMS = [None, "backward", "ortho", "forward"]


def _data(shape, complex_input, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if complex_input:
        x = x + 1j * rng.standard_normal(shape)
        return x.astype("complex128" if dtype == "float64" else "complex64")
    return x.astype(dtype)


def _parts(lib, out):
    """A real tensor holding both parts of a complex result (the gradient sees both)."""
    return lib.view_as_real(out.resolve_conj()) if out.is_complex() else out


def _compare(fn, shape, complex_input, dtype="float64", grad=True):
    data = _data(shape, complex_input, dtype)
    t_x = torch.tensor(data, requires_grad=grad)
    g_x = gt.tensor(data, requires_grad=grad)
    t_out, g_out = fn(torch, t_x), fn(gt, g_x)
    assert str(g_out.dtype) == str(t_out.dtype)
    assert tuple(g_out.shape) == tuple(t_out.shape)
    tol = 1e-10 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().resolve_conj().numpy(),
                               rtol=tol,
                               atol=tol * 10)
    if not grad:
        return
    cot = np.random.default_rng(1).uniform(-1, 1, tuple(_parts(torch, t_out).shape))
    (_parts(torch, t_out) * torch.tensor(cot, dtype=_parts(torch, t_out).dtype)).sum() \
        .backward()
    (_parts(gt, g_out) * gt.tensor(cot, dtype=_parts(gt, g_out).dtype)).sum().backward()
    assert str(g_x.grad.dtype) == str(t_x.grad.dtype)
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.resolve_conj().numpy(), rtol=tol, atol=tol * 10)


ONE_D = [
    ("fft", lambda m, x, norm: m.fft.fft(x, norm=norm), "both"),
    ("fft_n_dim", lambda m, x, norm: m.fft.fft(x, n=7, dim=0, norm=norm), "both"),
    ("ifft", lambda m, x, norm: m.fft.ifft(x, norm=norm), "both"),
    ("ifft_crop", lambda m, x, norm: m.fft.ifft(x, n=3, norm=norm), "both"),
    ("rfft", lambda m, x, norm: m.fft.rfft(x, norm=norm), "real"),
    ("rfft_odd", lambda m, x, norm: m.fft.rfft(x, n=5, dim=0, norm=norm), "real"),
    ("rfft_pad", lambda m, x, norm: m.fft.rfft(x, n=9, norm=norm), "real"),
    ("irfft", lambda m, x, norm: m.fft.irfft(x, norm=norm), "complex"),
    ("irfft_odd", lambda m, x, norm: m.fft.irfft(x, n=7, norm=norm), "complex"),
    ("irfft_crop", lambda m, x, norm: m.fft.irfft(x, n=4, dim=0, norm=norm), "complex"),
    ("irfft_real_input", lambda m, x, norm: m.fft.irfft(x, norm=norm), "real"),
    ("hfft", lambda m, x, norm: m.fft.hfft(x, norm=norm), "complex"),
    ("hfft_odd", lambda m, x, norm: m.fft.hfft(x, n=5, dim=0, norm=norm), "complex"),
    ("ihfft", lambda m, x, norm: m.fft.ihfft(x, norm=norm), "real"),
    ("ihfft_odd", lambda m, x, norm: m.fft.ihfft(x, n=7, norm=norm), "real"),
]

N_D = [
    ("fft2", lambda m, x, norm: m.fft.fft2(x, norm=norm), "both"),
    ("ifft2_s", lambda m, x, norm: m.fft.ifft2(x, s=(3, 8), norm=norm), "both"),
    ("fftn_all", lambda m, x, norm: m.fft.fftn(x, norm=norm), "both"),
    ("ifftn_dims", lambda m, x, norm: m.fft.ifftn(x, dim=(0, 2), norm=norm), "both"),
    ("rfft2", lambda m, x, norm: m.fft.rfft2(x, norm=norm), "real"),
    ("rfftn_s", lambda m, x, norm: m.fft.rfftn(x, s=(4, 5), dim=(2, 0), norm=norm), "real"),
    ("irfft2", lambda m, x, norm: m.fft.irfft2(x, norm=norm), "complex"),
    ("irfftn_s", lambda m, x, norm: m.fft.irfftn(x, s=(3, 7), norm=norm), "complex"),
    ("irfftn_all", lambda m, x, norm: m.fft.irfftn(x, norm=norm), "complex"),
    ("hfft2", lambda m, x, norm: m.fft.hfft2(x, norm=norm), "complex"),
    ("hfftn_s", lambda m, x, norm: m.fft.hfftn(x, s=(3, 5), dim=(0, 2), norm=norm),
     "complex"),
    ("ihfft2", lambda m, x, norm: m.fft.ihfft2(x, norm=norm), "real"),
    ("ihfftn", lambda m, x, norm: m.fft.ihfftn(x, s=(2, 3, 6), norm=norm), "real"),
]


def _cases(table, shapes):
    for name, fn, kinds in table:
        for complex_input in {"both": (False, True), "real": (False,),
                              "complex": (True,)}[kinds]:
            for shape in shapes:
                yield pytest.param(fn, shape, complex_input,
                                   id=f"{name}-{'c' if complex_input else 'r'}-{shape}")


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("fn,shape,complex_input", list(_cases(ONE_D, [(6,), (5, 4)])))
def test_one_dimensional_values_and_gradients(fn, shape, complex_input, norm):
    _compare(lambda m, x: fn(m, x, norm), shape, complex_input)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("fn,shape,complex_input", list(_cases(N_D, [(4, 3, 6)])))
def test_n_dimensional_values_and_gradients(fn, shape, complex_input, norm):
    _compare(lambda m, x: fn(m, x, norm), shape, complex_input)


@pytest.mark.parametrize("fn", [lambda m, x: m.fft.fft(x), lambda m, x: m.fft.rfft2(x),
                                lambda m, x: m.fft.irfft(x.to(m.complex64)),
                                lambda m, x: m.fft.hfft(x.to(m.complex64), n=5)])
def test_float32_gives_complex64_and_float32(fn):
    _compare(fn, (4, 6), False, dtype="float32")


def test_integer_input_promotes_to_the_default_dtype():
    for lib in (gt, torch):
        assert str(lib.fft.fft(lib.arange(4)).dtype).endswith("complex64")
        assert str(lib.fft.rfft(lib.arange(4)).dtype).endswith("complex64")


@pytest.mark.parametrize("fn", [
    lambda m, x: m.fft.fft(x) * 2,
    lambda m, x: m.fft.irfft(m.fft.rfft(x, norm="ortho") * 3, n=6, norm="ortho"),
    lambda m, x: m.fft.fftshift(m.fft.fft2(x), dim=(-2, -1)).abs(),
    lambda m, x: m.fft.ifftshift(x) + m.fft.fftshift(x, dim=0),
])
def test_compositions_and_shifts(fn):
    _compare(fn, (4, 6), False)
    _compare(fn, (5, 6), False)


def test_finite_differences_of_real_to_complex_and_back():
    """d/dx of sum(w * irfft(rfft(x) * k)) in float64 by central differences."""
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(7)
    k = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    w = rng.standard_normal(7)

    def value(x):
        return float((np.fft.irfft(np.fft.rfft(x) * k, n=7, norm="ortho") * w).sum())

    x = gt.tensor(x0, requires_grad=True)
    y = gt.fft.irfft(gt.fft.rfft(x) * gt.tensor(k), n=7, norm="ortho")
    (y * gt.tensor(w)).sum().backward()
    numeric = np.array([(value(x0 + e) - value(x0 - e)) / 2e-6
                        for e in np.eye(7) * 1e-6])
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [1, 4, 5])
@pytest.mark.parametrize("d", [1.0, 0.25])
def test_frequencies(n, d):
    for fn in ("fftfreq", "rfftfreq"):
        got = getattr(gt.fft, fn)(n, d)
        want = getattr(torch.fft, fn)(n, d)
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    got = gt.fft.fftfreq(n, d, dtype=gt.float64)
    np.testing.assert_allclose(got.numpy(), torch.fft.fftfreq(n, d, dtype=torch.float64))
    assert got.dtype is gt.float64


@pytest.mark.parametrize("call", [
    lambda m: m.fft.rfft(m.ones(4, dtype=m.complex64)),
    lambda m: m.fft.ihfft(m.ones(4, dtype=m.complex64)),
    lambda m: m.fft.fft(m.ones(4), n=0),
    lambda m: m.fft.fft(m.ones(4), norm="bad"),
    lambda m: m.fft.fftn(m.ones(4, 4), dim=(0, 0)),
    lambda m: m.fft.fftn(m.ones(4, 4), s=(3,), dim=(0, 1)),
    lambda m: m.fft.fftn(m.ones(4), s=(2, 3)),
    lambda m: m.fft.fft(m.ones(4).half()),
    lambda m: m.fft.irfft(m.ones(1, dtype=m.complex64)),
    lambda m: m.fft.irfftn(m.ones(4, dtype=m.complex64), dim=()),
    lambda m: m.fft.fft(m.tensor(1.0)),
    lambda m: m.fft.fft(m.ones(3), dim=1),
], ids=lambda f: "")
def test_errors_match_torch(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value), match=str(want.value).replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        call(gt)


def test_out_argument():
    x = gt.tensor(_data((6,), False))
    out = gt.empty(4, dtype=gt.complex128)
    gt.fft.rfft(x, out=out)
    np.testing.assert_allclose(out.numpy(), np.fft.rfft(x.numpy()))


@pytest.mark.parametrize("fn", [
    lambda x: gt.fft.irfft(gt.fft.rfft(x) * 2, n=x.shape[-1]),
    lambda x: gt.view_as_real(gt.fft.fft2(x, norm="ortho")),
    lambda x: gt.fft.hfft(gt.fft.ihfft(x, norm="forward"), n=x.shape[-1], norm="forward"),
    lambda x: gt.fft.fftshift(gt.fft.ifftn(x.to(gt.complex64), dim=(0, 1)).abs()),
])
def test_compiled_equals_eager(fn):
    x = gt.tensor(_data((4, 6), False, "float32"))
    compiled = gt.compile(fn)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x).numpy(), fn(x).numpy(), rtol=1e-5, atol=1e-5)


def test_compiled_gradients_equal_eager():
    def loss(x):
        return (gt.fft.irfft(gt.fft.rfft(x, norm="ortho") ** 2, n=6).sin()).sum()

    data = _data((3, 6), False)
    x_eager = gt.tensor(data, requires_grad=True)
    loss(x_eager).backward()
    x_comp = gt.tensor(data, requires_grad=True)
    gt.compile(loss)(x_comp).backward()
    np.testing.assert_allclose(x_comp.grad.numpy(), x_eager.grad.numpy(), rtol=1e-10)
