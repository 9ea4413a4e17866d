"""`gt.autocast` / `gt.amp.autocast`: automatic mixed precision on the CPU, following
PyTorch's CPU autocast op lists.

Inside an enabled block, eager ops run with PyTorch's CPU policies:
- lower precision (the autocast dtype): `matmul` (also `mm`, `bmm`, `@`, `F.linear`'s
  matmul), `addmm` (`F.linear`, `nn.Linear`) and `convolution` (`conv1d/2d/3d`, the
  transposed convolutions): their float32 inputs are cast first;
- float32: the losses (`mse_loss`, `nll_loss` (so `cross_entropy`'s last step),
  `binary_cross_entropy(_with_logits)`, `huber_loss`, `smooth_l1_loss`), `prod`, the
  linalg decompositions and solvers: their bfloat16/float16 inputs are cast to float32;
- everything else runs in its inputs' dtype (so `relu`/`softmax` of a bfloat16 activation
  stay bfloat16, as in PyTorch). float64 tensors are never cast.
The casts are ordinary differentiable ops: gradients flow back in each leaf's dtype.

Supported: `dtype=torch.bfloat16` (PyTorch's CPU default; its ops compute in float32 and
round once, see graphtorch/ops/bfloat16.py) and `dtype=torch.float16` on "cpu". "cuda"
without a GPU warns and disables itself, as PyTorch does.

Compiled code: calling a compiled function inside an autocast block runs it eagerly (with a
logged reason: compiled graphs carry no casts); entering autocast inside a compiled function
is a graph break (that function runs eagerly, or `fullgraph=True` raises TracingError).
The state is process-wide (PyTorch's is per thread).
"""

from __future__ import annotations

import functools
import warnings

from .. import dtypes
from ..ops import dispatch, interpose
from ..ops.registry import REGISTRY
from ..trace_state import TracingError, current_tracer

__all__ = ["autocast", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "custom_fwd", "custom_bwd"]

_LOWER = ("matmul", "addmm", "convolution")
_FP32 = ("mse_loss", "nll_loss", "nll_loss2d", "binary_cross_entropy",
         "binary_cross_entropy_with_logits", "huber_loss", "smooth_l1_loss", "prod",
         "prod_dim", "linalg_cholesky_ex", "linalg_eig", "linalg_eigh", "linalg_inv_ex",
         "linalg_lstsq", "linalg_pinv", "linalg_qr", "linalg_slogdet", "linalg_solve_ex",
         "linalg_svd", "linalg_det", "trace")
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
                 "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")

# device type -> [enabled, dtype]
_STATE = {"cpu": [False, dtypes.bfloat16], "cuda": [False, dtypes.float16]}
_POLICY: dict = {}  # OpDef -> "lower" | "fp32", filled on first use


def _policy() -> dict:
    if not _POLICY:
        for name in _LOWER:
            if name in REGISTRY:
                _POLICY[REGISTRY[name]] = "lower"
        for name in _FP32:
            if name in REGISTRY:
                _POLICY[REGISTRY[name]] = "fp32"
    return _POLICY


def _cast_inputs(op, inputs, attrs):
    """interpose's pre_call hook while CPU autocast is on: the op with cast inputs, or None
    when nothing needs a cast."""
    kind = _policy().get(op)
    if kind is None or not _STATE["cpu"][0]:
        return None
    target = _STATE["cpu"][1].np_dtype if kind == "lower" else dtypes.float32.np_dtype
    changed = False
    new = []
    for x in inputs:
        data = getattr(x, "_data", None)
        if data is not None and dtypes.is_float_array(data.dtype) and \
                data.dtype.itemsize != 8 and data.dtype != target:
            x = x.to(dtypes.from_numpy_dtype(target))
            changed = True
        new.append(x)
    if not changed:
        return None
    return dispatch.call(op, *new, **attrs)


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast works on `device_type` here ("cpu")."""
    return device_type == "cpu"


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for `device_type` (PyTorch's default: "cuda")."""
    return bool(_STATE.get(device_type or "cuda", [False])[0])


def get_autocast_dtype(device_type: str):
    """The dtype autocast uses on `device_type` (cpu: bfloat16, cuda: float16 by default)."""
    if device_type not in _STATE:
        raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start "
                           f"of device string: {device_type}")
    return _STATE[device_type][1]


def _apply(device: str, enabled: bool, dtype) -> None:
    _STATE[device][:] = [enabled, dtype]
    active = _STATE["cpu"][0]
    if active:
        if _cast_inputs not in interpose.pre_call:
            interpose.add(interpose.pre_call, _cast_inputs)
    else:
        interpose.remove(interpose.pre_call, _cast_inputs)


class autocast:
    """`torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)`: a
    context manager (or decorator) running matmuls/linear/conv in `dtype` and losses in
    float32 (see the module docstring for the op lists and what is supported).

    >>> with gt.autocast(device_type="cpu", dtype=gt.bfloat16):
    ...     y = gt.nn.Linear(4, 2)(gt.randn(3, 4))   # y.dtype == gt.bfloat16
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at "
                               f"start of device string: {device_type}")
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else _STATE.get(
            device_type, [False, dtypes.float16])[1]
        self._enabled = bool(enabled)
        self._cache_enabled = True if cache_enabled is None else cache_enabled
        if self._enabled and device_type == "cpu" and self.fast_dtype not in (
                dtypes.bfloat16, dtypes.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                          "torch.float16 currently.", stacklevel=2)
            self._enabled = False
        elif self._enabled and device_type == "cuda":
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                          "autocast.", stacklevel=2)
            self._enabled = False
        elif self._enabled and device_type != "cpu":
            warnings.warn(f"User specified an unsupported autocast device_type "
                          f"'{device_type}'", stacklevel=2)
            self._enabled = False
        if self._enabled and self.fast_dtype is dtypes.bfloat16:
            dtypes.as_dtype(dtypes.bfloat16)  # TypeError naming ml_dtypes when it is missing

    def __enter__(self):
        if current_tracer() is not None and self._enabled:
            raise TracingError("gt.autocast inside a compiled function: compiled graphs do not "
                               "apply autocast's casts, so this function runs eagerly")
        state = _STATE.setdefault(self.device, [False, self.fast_dtype])
        self._prev = list(state)
        if self.device in ("cpu", "cuda"):
            _apply(self.device, self._enabled, self.fast_dtype)
        return self

    def __exit__(self, *exc):
        if self.device in ("cpu", "cuda"):
            _apply(self.device, *self._prev)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return decorate_autocast


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorator for a custom Function's forward (PyTorch's `torch.amp.custom_fwd`): with
    `cast_inputs`, floating tensors are cast to it and autocast is off inside."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        if cast_inputs is None or not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        args = [a.to(cast_inputs) if hasattr(a, "is_floating_point") and a.is_floating_point()
                else a for a in args]
        with autocast(device_type, enabled=False):
            return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorator for a custom Function's backward (PyTorch's `torch.amp.custom_bwd`)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
