"""Op-table rows: the DFT primitives (fft_c2c, fft_r2c, fft_c2r) through gt.fft.

Complex inputs are built from two real ones (`complex(a, b)`), so that finite differences
see both parts; complex results are compared (and differentiated) as real and imaginary
parts."""

from __future__ import annotations

from .harness import Row

F32_64 = ("float32", "float64")
SHAPES = [((6,),), ((3, 5),)]  # torch CPU (MKL) refuses an empty batch
PAIRS = [((6,), (6,)), ((3, 5), (3, 5))]


def _parts(out):
    return out.real, out.imag


ROWS = [
    Row("fft_c2c", lambda m, a, b: _parts(m.fft.fft(m.complex(a, b))), PAIRS, dtypes=F32_64,
        name="fft_complex"),
    Row("fft_c2c", lambda m, a, b: _parts(m.fft.ifft2(m.complex(a, b), s=(2, 7),
                                                      norm="ortho")),
        [((3, 5), (3, 5))], dtypes=F32_64, name="ifft2_resized"),
    Row("fft_r2c", lambda m, a: _parts(m.fft.rfft(a)), SHAPES, dtypes=F32_64, name="rfft"),
    Row("fft_r2c", lambda m, a: _parts(m.fft.fft(a, n=5, dim=0, norm="forward")),
        [((4, 3),)], dtypes=F32_64, name="fft_real"),
    Row("fft_r2c", lambda m, a: _parts(m.fft.rfftn(a, norm="ortho")), [((3, 4),)],
        dtypes=F32_64, name="rfftn"),
    Row("fft_c2r", lambda m, a, b: m.fft.irfft(m.complex(a, b)), PAIRS, dtypes=F32_64,
        name="irfft"),
    Row("fft_c2r", lambda m, a, b: m.fft.irfftn(m.complex(a, b), s=(3, 7)),
        [((3, 5), (3, 5))], dtypes=F32_64, name="irfftn_odd"),
    Row(("fft_c2r", "fft_c2c"), lambda m, a, b: m.fft.hfft2(m.complex(a, b), norm="forward"),
        [((3, 4), (3, 4))], dtypes=F32_64, name="hfft2"),
]
