"""Snapshots of what a user can observe, and the comparison of an eager and a compiled one.

`snap` turns outputs, arguments and state (tensors, modules, optimizers, schedulers, pytrees,
Python values) into plain data copied at that moment; `first_difference` compares two
snapshots and names the first difference by its path (``call 2: out[1]['h'].grad``).

Tolerances (values only; dtypes, shapes, strides (of dims larger than 1), requires_grad,
pytree types, dict key order, Python ints/bools/strings, integer and bool tensors and object
identity are compared exactly):
- float32 / complex64: rtol 1e-5, atol 1e-6 x max(1, largest |expected|) - BLAS and fused
  kernels may sum in another order, and one ulp of a large element is more than 1e-6;
- float64 / complex128: rtol 1e-9, atol 1e-11 x max(1, largest |expected|);
- float16: rtol 1e-3, atol 1e-3 x max(1, largest |expected|);
- Python floats: as float32 (they usually come from ``.item()`` of a float32 tensor).
NaN must be NaN in the same places; infinities must match exactly.

Ill-conditioned programs (LBFGS at lr=1, RMSprop dividing a gradient that cancelled to
nearly zero by its running size) amplify one-ulp rounding differences beyond these
tolerances. `tolerance_ratio` measures how far two snapshots' float values are apart in
units of these tolerances; the runner compares compiled's distance from eager with the
distance a one-ulp nudge of eager's own state causes (see `runner`).
"""

from __future__ import annotations

import hashlib
import random
import warnings
from dataclasses import dataclass

import numpy as np

import graphtorch as gt
from graphtorch.nn import Module
from graphtorch.optim import Optimizer
from graphtorch.optim.lr_scheduler import LRScheduler

TOLERANCES = {  # numpy dtype name -> (rtol, atol before scaling)
    "float16": (1e-3, 1e-3),
    "float32": (1e-5, 1e-6),
    "complex64": (1e-5, 1e-6),
    "float64": (1e-9, 1e-11),
    "complex128": (1e-9, 1e-11),
}
PYTHON_FLOAT_TOLERANCE = TOLERANCES["float32"]


@dataclass(frozen=True)
class TensorSnap:
    dtype: str
    shape: tuple
    requires_grad: bool
    values: object          # np.ndarray copy, or an error text when unreadable
    grad: object            # TensorSnap, None, or an error text
    is_leaf: bool = True    # optimizers refuse non-leaf tensors: observable
    strides: tuple = ()     # t.stride(): `view`, `is_contiguous()` depend on it


@dataclass(frozen=True)
class Unreadable:
    """Reading the object raised (e.g. a tracer value leaked into user state)."""

    error: str


@dataclass(frozen=True)
class PyValue:
    type_name: str
    value: object


@dataclass(frozen=True)
class Container:
    """A pytree node: ``kind`` is its type (list, tuple, a namedtuple's name, dict, Size,
    Module, Optimizer, Scheduler); ``items`` are (label, snapshot) pairs in order."""

    kind: str
    items: tuple


@dataclass(frozen=True)
class Opaque:
    """Any other object: only its type is compared."""

    type_name: str


def _read_values(t) -> object:
    try:
        return np.array(t.detach().cpu().numpy(), copy=True)
    except Exception as exc:  # noqa: BLE001 - a leaked symbolic value is an observation
        return Unreadable(f"{type(exc).__name__}: {exc}")


def _strides(t) -> tuple:
    """Strides of a tensor with more than one element in some dim (a size-1 dim's stride,
    and any stride of an empty tensor, carry no layout and may differ)."""
    if t.numel() == 0:
        return ()
    return tuple(st if n > 1 else None for st, n in zip(t.stride(), t.shape))


def snap_tensor(t, with_grad: bool = True) -> TensorSnap | Unreadable:
    try:
        with warnings.catch_warnings():  # .grad of a non-leaf warns, in both runs alike
            warnings.simplefilter("ignore")
            grad = t.grad if with_grad else None
        return TensorSnap(str(t.dtype), tuple(t.shape), bool(t.requires_grad), _read_values(t),
                          None if grad is None else snap_tensor(grad, with_grad=False),
                          bool(t.is_leaf), _strides(t))
    except Exception as exc:  # noqa: BLE001
        return Unreadable(f"{type(exc).__name__}: {exc}")


def snap(obj, _depth: int = 0):
    """Plain, copied data describing `obj` as a user would observe it."""
    if _depth > 12:
        return Opaque("(nested too deep)")
    try:
        return _snap(obj, _depth + 1)
    except Exception as exc:  # noqa: BLE001
        return Unreadable(f"{type(exc).__name__}: {exc}")


def _snap(obj, depth):
    if isinstance(obj, gt.Tensor):
        return snap_tensor(obj)
    if isinstance(obj, Module):
        items = [(f"param {n}", snap_tensor(p)) for n, p in obj.named_parameters()]
        items += [(f"buffer {n}", snap_tensor(b)) for n, b in obj.named_buffers()]
        items.append(("training", PyValue("tuple", tuple(
            (n, m.training) for n, m in obj.named_modules()))))
        return Container(f"Module {type(obj).__name__}", tuple(items))
    if isinstance(obj, Optimizer):
        return Container(f"Optimizer {type(obj).__name__}",
                         (("state_dict()", snap(obj.state_dict(), depth)),))
    if isinstance(obj, LRScheduler):
        state = {k: v for k, v in obj.state_dict().items() if not callable(v)}
        return Container(f"Scheduler {type(obj).__name__}",
                         (("state_dict()", snap(state, depth)),
                          ("get_last_lr()", snap(obj.get_last_lr(), depth))))
    if isinstance(obj, gt.Size):
        return PyValue("Size", tuple(obj))
    if isinstance(obj, (bool, int, float, complex, str, type(None))):
        return PyValue(type(obj).__name__, obj)
    if isinstance(obj, dict):
        return Container("dict", tuple((repr(k), snap(v, depth)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return Container(type(obj).__name__, tuple((str(i), snap(v, depth))
                                                   for i, v in enumerate(obj)))
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (gt.dtype, gt.device)):
        return PyValue(type(obj).__name__, repr(obj))
    return Opaque(type(obj).__name__)


def rng_fingerprint() -> tuple[str, str]:
    """Digests of graphtorch's default generator and of Python's `random` state: a compiled
    call must consume random numbers exactly as eager does."""
    state = gt.get_rng_state()
    gt_digest = hashlib.sha1(np.asarray(state.numpy()).tobytes()).hexdigest()[:12]
    py_digest = hashlib.sha1(repr(random.getstate()).encode()).hexdigest()[:12]
    return gt_digest, py_digest


# --- aliasing -------------------------------------------------------------------------------

def tensor_leaves(obj, path: str = "", out=None, _depth: int = 0) -> list:
    """(path, tensor) of every tensor in a pytree; modules contribute their parameters and
    buffers (``model.lin.weight``)."""
    out = [] if out is None else out
    if _depth > 12:
        return out
    if isinstance(obj, gt.Tensor):
        out.append((path, obj))
    elif isinstance(obj, Module):
        for n, t in (*obj.named_parameters(), *obj.named_buffers()):
            out.append((f"{path}.{n}", t))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            tensor_leaves(v, f"{path}[{k!r}]", out, _depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            tensor_leaves(v, f"{path}[{i}]", out, _depth + 1)
    return out


def _storage(t):
    try:
        return t.untyped_storage().data_ptr()
    except Exception:  # noqa: BLE001
        return None


def _memory(t):
    try:
        return t.detach().numpy()
    except Exception:  # noqa: BLE001
        return None


def shares(a, b) -> bool:
    """Same storage (PyTorch's notion) or overlapping memory (what writes would hit)."""
    sa, sb = _storage(a), _storage(b)
    if sa is not None and sa == sb:
        return True
    ma, mb = _memory(a), _memory(b)
    if ma is None or mb is None or ma.size == 0 or mb.size == 0:
        return False
    return bool(np.shares_memory(ma, mb, max_work=10**6))


def alias_signature(out, refs: list) -> tuple:
    """For each tensor returned: which arguments/parameters/state tensors (by path) and which
    earlier returned tensors it IS, and which it shares memory with."""
    outs = tensor_leaves(out, "out")
    rows = []
    for i, (path, t) in enumerate(outs):
        others = refs + outs[:i]
        same = tuple(p for p, r in others if r is t)
        shared = tuple(p for p, r in others if r is not t and shares(t, r))
        rows.append((path, same, shared))
    return tuple(rows)


# --- comparison -----------------------------------------------------------------------------

def _tolerance(dtype_name: str) -> tuple[float, float] | None:
    return TOLERANCES.get(dtype_name)


def _values_differ(eager: np.ndarray, compiled: np.ndarray) -> str | None:
    if eager.shape != compiled.shape:
        return f"array shape {compiled.shape} != eager {eager.shape}"
    if eager.dtype != compiled.dtype:
        return f"array dtype {compiled.dtype} != eager {eager.dtype}"
    tol = _tolerance(eager.dtype.name)
    if tol is None:
        if not np.array_equal(eager, compiled):
            return f"values differ: compiled {_show(compiled)}, eager {_show(eager)}"
        return None
    rtol, atol = tol
    finite = np.isfinite(eager)
    scale = max(1.0, float(np.abs(eager[finite]).max())) if finite.any() else 1.0
    if not np.allclose(compiled, eager, rtol=rtol, atol=atol * scale, equal_nan=True):
        return f"values differ: compiled {_show(compiled)}, eager {_show(eager)}"
    return None


def _show(a: np.ndarray) -> str:
    text = np.array2string(np.asarray(a), precision=6, threshold=12, edgeitems=3)
    return text.replace("\n", "")


def _float_differs(eager: float, compiled: float) -> bool:
    rtol, atol = PYTHON_FLOAT_TOLERANCE
    if np.isnan(eager) or np.isnan(compiled):
        return not (np.isnan(eager) and np.isnan(compiled))
    if np.isinf(eager) or np.isinf(compiled):
        return eager != compiled  # inf - (-inf) is no finite distance
    return abs(eager - compiled) > atol * max(1.0, abs(eager)) + rtol * abs(eager)


def first_difference(eager, compiled, path: str = "") -> str | None:
    """The first way `compiled` differs from `eager` (both snapshots), or None."""
    if isinstance(eager, Unreadable) or isinstance(compiled, Unreadable):
        if isinstance(eager, Unreadable) and isinstance(compiled, Unreadable):
            return None
        if isinstance(compiled, Unreadable):
            return f"{path}: compiled is unreadable ({compiled.error[:300]})"
        return f"{path}: eager is unreadable ({eager.error[:300]}), compiled is not"
    if type(eager) is not type(compiled):
        return f"{path}: compiled gave {_kind(compiled)}, eager {_kind(eager)}"
    if isinstance(eager, TensorSnap):
        return _tensor_difference(eager, compiled, path)
    if isinstance(eager, np.ndarray):
        diff = _values_differ(eager, compiled)
        return diff and f"{path}: {diff}"
    if isinstance(eager, PyValue):
        return _python_difference(eager, compiled, path)
    if isinstance(eager, Container):
        labels = [k for k, _ in eager.items]
        if eager.kind != compiled.kind or labels != [k for k, _ in compiled.items]:
            return f"{path}: compiled gave {_kind(compiled)}, eager {_kind(eager)}"
        for (label, e), (_, c) in zip(eager.items, compiled.items):
            label = f"[{label}]" if eager.kind in ("list", "tuple", "dict") or \
                not eager.kind[:1].isupper() else f".{label}"
            diff = first_difference(e, c, f"{path}{label}")
            if diff:
                return diff
        return None
    if eager != compiled:
        return f"{path}: compiled {compiled!r} != eager {eager!r}"
    return None


def _python_difference(eager: PyValue, compiled: PyValue, path) -> str | None:
    if eager.type_name != compiled.type_name:
        return f"{path}: compiled gave a Python {compiled.type_name} {compiled.value!r}, " \
               f"eager a {eager.type_name} {eager.value!r}"
    if eager.type_name in ("float", "complex"):
        e, c = complex(eager.value), complex(compiled.value)
        differs = _float_differs(e.real, c.real) or _float_differs(e.imag, c.imag)
    else:
        differs = eager.value != compiled.value
    return f"{path}: compiled {compiled.value!r} != eager {eager.value!r}" if differs else None


def _tensor_difference(eager: TensorSnap, compiled: TensorSnap, path: str) -> str | None:
    for name in ("dtype", "shape", "requires_grad", "is_leaf", "strides"):
        e, c = getattr(eager, name), getattr(compiled, name)
        if e != c:
            return f"{path}: {name} {c} != eager {e}"
    e, c = eager.values, compiled.values
    if isinstance(e, Unreadable) or isinstance(c, Unreadable):
        diff = first_difference(e, c, path)
    else:
        diff = _values_differ(e, c)
        diff = diff and f"{path}: {diff}"
    if diff:
        return diff
    if (eager.grad is None) != (compiled.grad is None):
        return f"{path}.grad: compiled {'None' if compiled.grad is None else 'a tensor'}, " \
               f"eager {'None' if eager.grad is None else 'a tensor'}"
    if eager.grad is not None:
        return first_difference(eager.grad, compiled.grad, f"{path}.grad")
    return None


def _kind(snapshot) -> str:
    if isinstance(snapshot, TensorSnap):
        return f"a tensor {snapshot.dtype}{list(snapshot.shape)}"
    if isinstance(snapshot, PyValue):
        return f"a Python {snapshot.type_name} {snapshot.value!r}"
    if isinstance(snapshot, Container):
        return f"a {snapshot.kind} with {[k for k, _ in snapshot.items]}"
    if isinstance(snapshot, Opaque):
        return f"an object of type {snapshot.type_name}"
    return type(snapshot).__name__


# --- distance in tolerances -------------------------------------------------------------------

def _array_ratio(eager: np.ndarray, other: np.ndarray, tol=None) -> float:
    if eager.shape != other.shape or eager.dtype != other.dtype:
        return np.inf
    tol = tol or _tolerance(eager.dtype.name)
    if tol is None:
        return 0.0 if np.array_equal(eager, other) else np.inf
    if eager.size == 0:
        return 0.0
    rtol, atol = tol
    finite = np.isfinite(eager)
    if not np.array_equal(finite, np.isfinite(other)) or \
            not np.array_equal(eager[~finite], other[~finite], equal_nan=True):
        return np.inf
    if not finite.any():
        return 0.0
    e, o = eager[finite].astype(np.float64), other[finite].astype(np.float64)
    scale = max(1.0, float(np.abs(e).max()))
    return float((np.abs(o - e) / (atol * scale + rtol * np.abs(e))).max())


def tolerance_ratio(eager, other) -> float:
    """How far two snapshots are apart in units of the float tolerances (above 1:
    `first_difference` reports a value difference); infinite where anything compared
    exactly differs (structure, shapes, ints, bools, strings): another control flow."""
    if type(eager) is not type(other):
        return np.inf
    if isinstance(eager, TensorSnap):
        if (eager.dtype, eager.shape, eager.requires_grad) != \
                (other.dtype, other.shape, other.requires_grad):
            return np.inf
        return max(tolerance_ratio(eager.values, other.values),
                   tolerance_ratio(eager.grad, other.grad))
    if isinstance(eager, np.ndarray):
        return _array_ratio(eager, other)
    if isinstance(eager, PyValue):
        if eager.type_name == other.type_name == "float":
            return _array_ratio(np.array([eager.value]), np.array([other.value]),
                                PYTHON_FLOAT_TOLERANCE)
        return 0.0 if eager == other else np.inf
    if isinstance(eager, Container):
        if [k for k, _ in eager.items] != [k for k, _ in other.items]:
            return np.inf
        return max((tolerance_ratio(e, o) for (_, e), (_, o) in zip(eager.items, other.items)),
                   default=0.0)
    return 0.0 if eager == other else np.inf
