"""`gt.library.opcheck`, a faithful subset of PyTorch's: the checks run on one call of a
custom op, each reported as "SUCCESS" or the exception it found.

- test_schema: the arguments not declared in mutates_args are unchanged by the call, and
  no output aliases an input (the op itself raises that);
- test_autograd_registration: with inputs requiring grad, each floating output has a
  grad_fn, and a registered formula's gradients have their inputs' shapes;
- test_faketensor: a fake function is registered, and on meta tensors it gives the real
  outputs' shapes and dtypes;
- test_aot_dispatch_dynamic: gt.compile of a function calling the op returns eager's values.
"""

from __future__ import annotations

import numpy as np

from ..compiler import compile as gt_compile
from ..tensor import Tensor
from .custom_ops import CustomOpDef, get_op

__all__ = ["OpCheckError", "opcheck"]

DEFAULT_TEST_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor",
                      "test_aot_dispatch_dynamic")


class OpCheckError(Exception):
    pass


def opcheck(op, args, kwargs=None, *, test_utils=DEFAULT_TEST_UTILS, raise_exception=True,
            atol=None, rtol=None) -> dict:
    """Run the checks on ``op(*args, **kwargs)``; returns {check: "SUCCESS" or its error}.

    >>> gt.library.opcheck(numpy_sin, (gt.randn(3),))
    {'test_schema': 'SUCCESS', 'test_autograd_registration': 'SUCCESS', ...}
    """
    op = get_op(op) if isinstance(op, str) else op
    if not isinstance(op, CustomOpDef):
        raise TypeError(f"opcheck(op, ...): op must be a custom op (gt.library.custom_op), "
                         f"got {type(op).__name__}")
    kwargs = kwargs or {}
    tests = [test_utils] if isinstance(test_utils, str) else list(test_utils)
    results = {}
    for name in tests:
        if name not in _CHECKS:
            raise ValueError(f"opcheck(op, ...): got an unexpected test_util: {name}; "
                             f"expected one of {DEFAULT_TEST_UTILS}")
        try:
            _CHECKS[name](op, args, kwargs, atol, rtol)
            results[name] = "SUCCESS"
        except Exception as err:  # reported per check, as PyTorch does
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {err} (scroll up "
                                   "for stack trace)") from err
            results[name] = err
    return results


def _clone(value, requires_grad=False):
    if isinstance(value, Tensor):
        c = value.detach().clone()
        return c.requires_grad_() if requires_grad and c.is_floating_point() else c
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v, requires_grad) for v in value)
    return value


def _outputs(out) -> list[Tensor]:
    return [o for o in (out if isinstance(out, (tuple, list)) else (out,))
            if isinstance(o, Tensor)]


def _test_schema(op, args, kwargs, atol, rtol) -> None:
    fresh = _clone(args)
    before = {i: a.detach().clone() for i, a in enumerate(fresh) if isinstance(a, Tensor)}
    op(*fresh, **kwargs)
    names = list(op._signature.parameters)
    if op._mutated == "unknown":
        return
    for i, old in before.items():
        name = names[i] if i < len(names) else f"#{i}"
        if name not in op._mutated and not _same(fresh[i], old, 0.0, 0.0):
            raise RuntimeError(f"{op._qualname}: argument {name} is not in mutates_args but "
                               "the op changed it")


def _test_autograd_registration(op, args, kwargs, atol, rtol) -> None:
    inputs = _clone(args, requires_grad=True)
    diff = [a for a in inputs if isinstance(a, Tensor) and a.requires_grad]
    if not diff:
        return
    outs = [o for o in _outputs(op(*inputs, **kwargs)) if o.is_floating_point()]
    for o in outs:
        if o.grad_fn is None:
            raise RuntimeError(f"{op._qualname}: an output has no grad_fn although inputs "
                               "require grad")
    if op._backward_fn is None or not outs:
        return
    sum(o.sum() for o in outs).backward()
    for a in diff:
        if a.grad is not None and tuple(a.grad.shape) != tuple(a.shape):
            raise RuntimeError(f"{op._qualname}: the gradient's shape {tuple(a.grad.shape)} "
                               f"differs from its input's {tuple(a.shape)}")


def _test_faketensor(op, args, kwargs, atol, rtol) -> None:
    if op._abstract_fn is None:
        raise RuntimeError(f"There was no fake impl registered for {op!r}. This is necessary "
                           f"for gt.compile/export/fx tracing to work. Please use "
                           f"`{op._name}.register_fake` to add an fake impl.")
    real = _outputs(op(*_clone(args), **kwargs))
    fake = _outputs(op._abstract_fn(*_to_meta(args), **kwargs))
    if len(real) != len(fake):
        raise RuntimeError(f"the fake impl of {op._qualname} returns {len(fake)} tensors, the "
                           f"op {len(real)}")
    for r, f in zip(real, fake):
        if tuple(r.shape) != tuple(f.shape) or r.dtype != f.dtype:
            raise RuntimeError(f"When comparing the output of {op._qualname} on fake (meta) and "
                               f"concrete Tensors, found mismatched tensor metadata: shape "
                               f"{tuple(f.shape)} and dtype {f.dtype} from the fake impl, shape "
                               f"{tuple(r.shape)} and dtype {r.dtype} from the op")


def _test_compiled(op, args, kwargs, atol, rtol) -> None:
    eager = _outputs(op(*_clone(args), **kwargs))
    compiled = _outputs(gt_compile(lambda *a: op(*a, **kwargs))(*_clone(args)))
    for e, c in zip(eager, compiled):
        if not _same(c, e, 1e-5 if rtol is None else rtol, 1e-6 if atol is None else atol):
            raise RuntimeError(f"{op._qualname}: gt.compile's result differs from eager's")


def _to_meta(value):
    if isinstance(value, Tensor):
        return value.detach().to("meta")
    if isinstance(value, (list, tuple)):
        return type(value)(_to_meta(v) for v in value)
    return value


def _same(a: Tensor, b: Tensor, rtol: float, atol: float) -> bool:
    if tuple(a.shape) != tuple(b.shape):
        return False
    x, y = a.detach().numpy(force=True), b.detach().numpy(force=True)
    return bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))


_CHECKS = {"test_schema": _test_schema,
           "test_autograd_registration": _test_autograd_registration,
           "test_faketensor": _test_faketensor,
           "test_aot_dispatch_dynamic": _test_compiled}
