"""`gt.backends.cuda`: PyTorch's CUDA switches, kept so that scripts setting them
(``torch.backends.cuda.matmul.allow_tf32 = True``, nanoGPT's first lines) run unchanged.
graphtorch's CuPy kernels compute float32 in float32 (no TF32) and its attention is one
composite, so the switches change nothing; the queries answer for graphtorch."""

from __future__ import annotations

import contextlib
import types

matmul = types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                               allow_bf16_reduced_precision_reduction=True)
cufft_plan_cache = types.SimpleNamespace(size=0, max_size=4096, clear=lambda: None)
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    """False: graphtorch is not a CUDA build of PyTorch (CuPy runs its GPU kernels)."""
    return False


def preferred_linalg_library(backend=None):
    """"default": graphtorch's GPU linear algebra is CuPy's."""
    return "default"


def preferred_blas_library(backend=None):
    return "cublas"


def _switch(name):
    def enable(enabled: bool) -> None:
        _SDP[name] = bool(enabled)

    def enabled() -> bool:
        return _SDP[name]
    return enable, enabled


enable_flash_sdp, flash_sdp_enabled = _switch("flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _switch("mem_efficient")
enable_math_sdp, math_sdp_enabled = _switch("math")
enable_cudnn_sdp, cudnn_sdp_enabled = _switch("cudnn")


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True):
    """The deprecated context manager choosing attention kernels (the switches only)."""
    saved = dict(_SDP)
    _SDP.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _SDP.update(saved)
