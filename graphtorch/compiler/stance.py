"""`gt.compiler.set_stance`, as PyTorch's: change how every compiled function behaves without
compiling it again, as a function call, a context manager or a decorator.

- "default": compile on a cache miss, as usual;
- "force_eager": ignore every `gt.compile` (the original Python runs);
- "eager_on_recompile": compiled variants whose guards hold still run; a call that would
  compile runs eagerly instead;
- "fail_on_recompile": a call that would compile raises RuntimeError (with the guard that
  failed), so a benchmark or a serving loop can assert it never recompiles;
- "eager_then_compile" (and "aot_eager_then_compile"): a function's first call runs
  eagerly, later calls compile.

>>> with gt.compiler.set_stance("force_eager"):
...     out = compiled_fn(x)      # runs fn eagerly
"""

from __future__ import annotations

import functools

from ..trace_state import current_tracer

STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile",
           "eager_then_compile", "aot_eager_then_compile")
_CURRENT = ["default"]  # process-wide, as PyTorch's


def current() -> str:
    """The stance in effect."""
    return _CURRENT[0]


def _set(stance: str) -> str:
    if current_tracer() is not None:
        raise RuntimeError("attempted to set_stance in a torch.compile region")
    prior, _CURRENT[0] = _CURRENT[0], stance
    return prior


class set_stance:  # noqa: N801  (PyTorch's name)
    """Set the compiler's stance (see the module docstring): now when called, for the block
    as a context manager, or for each call of the function it decorates."""

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
                 force_backend=None):
        if stance not in STANCES:
            raise RuntimeError(f"invalid torch.compile stance '{stance}' (one of "
                               f"{', '.join(STANCES)})")
        if force_backend is not None and stance != "default":
            raise RuntimeError("non-default stance cannot have force_backend set")
        self.stance = stance
        self.prev = _set(stance)

    def __enter__(self):
        _set(self.stance)
        return None

    def __exit__(self, *exc):
        _set(self.prev)
        return False

    def __call__(self, fn):
        _set(self.prev)  # as a decorator the stance holds only during calls

        @functools.wraps(fn)
        def with_stance(*args, **kwargs):
            prior = _set(self.stance)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prior)
        return with_stance
