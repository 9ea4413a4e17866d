"""`gt.jit`: TorchScript's Python entry points on gt.compile.

- `trace(module_or_fn, example_inputs)` and `script(module_or_fn)` return a `ScriptModule`
  (a Module) or a compiled function: traced on the first call, guarded and recompiled as
  any `gt.compile` target, so data-dependent Python stays correct (TorchScript's trace would
  bake the branch taken on the example).
- `save(m, f)` pickles the module (its class must be importable when loading, as for
  ``torch.save(model)``); `load(f)` returns it as a ScriptModule again.
- `ignore`, `unused`, `export`, `interface` (decorators), `annotate`, `Attribute`, `Final`,
  `is_scripting`, `is_tracing`, `fork`/`wait`, `freeze`, `optimize_for_inference` keep
  PyTorch code running with their eager meaning.
"""

from __future__ import annotations

from typing import Final  # noqa: F401  (torch.jit.Final)

from ..compiler import compile as gt_compile
from ..nn.modules.module import Module
from ..serialization import load as _load
from ..serialization import save as _save
from .script_module import ScriptModule

__all__ = ["Attribute", "Final", "ScriptFunction", "ScriptModule", "annotate", "export",
           "fork", "freeze", "ignore", "interface", "is_scripting", "is_tracing", "load",
           "optimize_for_inference", "save", "script", "trace", "unused", "wait"]

RecursiveScriptModule = ScriptModule
TopLevelTracedModule = ScriptModule
_FORMAT = "graphtorch.jit/1"


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """A Module as a `ScriptModule`, a function as a compiled function (classes and
    already-scripted objects unchanged)."""
    if isinstance(obj, ScriptModule) or isinstance(obj, type):
        return obj
    if isinstance(obj, Module):
        return ScriptModule(obj)
    if callable(obj):
        return gt_compile(obj)
    raise RuntimeError(f"gt.jit.script cannot compile {type(obj).__name__} objects")


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """`script(func)`, then run once on `example_inputs` (a tensor or a tuple of them) as
    PyTorch's trace does, so the first variant is compiled for them."""
    traced = script(func)
    if example_inputs is not None or example_kwarg_inputs is not None:
        args = example_inputs if isinstance(example_inputs, tuple) else \
            () if example_inputs is None else (example_inputs,)
        traced(*args, **(example_kwarg_inputs or {}))
    return traced


def trace_module(mod, inputs, **kwargs):
    """`trace(mod, inputs["forward"])`."""
    return trace(mod, inputs.get("forward") if isinstance(inputs, dict) else inputs)


def save(m, f, _extra_files=None) -> None:
    """Pickle `m` (a ScriptModule, Module or compiled function's module) to `f`."""
    original = m._original if isinstance(m, ScriptModule) else m
    _save({"format": _FORMAT, "module": original, "extra_files": dict(_extra_files or {})},
          f)


def load(f, map_location=None, _extra_files=None):
    """The module `save` wrote, as a ScriptModule (its class must be importable)."""
    payload = _load(f, map_location=map_location, weights_only=False)
    if not (isinstance(payload, dict) and payload.get("format") == _FORMAT):
        raise RuntimeError("gt.jit.load: the file was not written by gt.jit.save "
                           "(TorchScript archives from PyTorch cannot be read)")
    if _extra_files is not None:
        _extra_files.update(payload["extra_files"])
    return script(payload["module"])


class ScriptFunction:
    """The type name PyTorch code checks against; compiled functions are `CompiledFunction`."""


def ignore(drop=False, **kwargs):
    """Decorator: leave the function as Python (always the case here)."""
    return drop if callable(drop) else (lambda fn: fn)


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def annotate(the_type, the_value):
    return the_value


def Attribute(value, type=None):  # noqa: N802  (PyTorch's name)
    return value


def is_scripting() -> bool:
    """False: graphtorch never runs TorchScript, the Python branch is the one taken."""
    return False


def is_tracing() -> bool:
    return False


class _Future:
    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value


def fork(func, *args, **kwargs) -> _Future:
    """Runs `func` now (graphtorch has no inter-op thread pool); `wait` returns its result."""
    return _Future(func(*args, **kwargs))


def wait(future):
    return future.wait()


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def set_fusion_strategy(strategy):
    return [("STATIC", 2), ("DYNAMIC", 10)]


def enable_onednn_fusion(enabled: bool) -> None:
    """Accepted; no effect."""
