"""Symbolic sizes for `gt.compile(dynamic=True)`: one graph for every input size.

This module sits in the trace-state layer (below ops): shape rules and creation functions
meet SymInts. Helpers that walk graphs (`graph_symbols`, `input_sizes`) live in
`graphtorch.ir.symbolic`.

While tracing a dynamic variant, each dimension of a tensor argument (sizes 0 and 1 stay
static, as in PyTorch) is a `SymInt`: an integer expression over symbols ``s0, s1, ...``
with the size seen at trace time as its `hint`. Arithmetic on SymInts builds expressions;
a comparison is decided by the hints and recorded as a guard (``s0 >= 2``), so the graph is
reused only for sizes that take the same decisions. Converting a SymInt to a Python int
(``int(n)``, indexing with it) specialises that expression to its hint, also as a guard.
Attributes holding SymInts (reshape sizes, a scan's length) are evaluated at run time by the
generated code.
"""

from __future__ import annotations

import threading
import weakref

_STATE = threading.local()
_MARKED: dict[int, tuple] = {}  # id(tensor) -> (weak reference, dims); tensors compare by value


def mark_dynamic(tensor, dim) -> None:
    """Compile `tensor`'s dimension `dim` (an int or a list of them) as a symbolic size:
    ``gt.mark_dynamic(x, 0)`` before calling a compiled function with `x` gives one graph for
    every batch size (as torch._dynamo.mark_dynamic)."""
    dims = [dim] if isinstance(dim, int) else list(dim)
    for d in dims:
        if not -tensor.dim() <= d < tensor.dim():
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-tensor.dim()}, {tensor.dim() - 1}], but got {d})")
    ref, marked = _MARKED.get(id(tensor), (None, None))
    if ref is None or ref() is not tensor:
        key = id(tensor)
        ref, marked = weakref.ref(tensor, lambda _, key=key: _MARKED.pop(key, None)), set()
        _MARKED[key] = (ref, marked)
    marked.update(d % tensor.dim() for d in dims)


def marked_dims(tensor) -> set:
    """The dims `mark_dynamic` marked on `tensor` (empty for anything else)."""
    entry = _MARKED.get(id(tensor))
    return entry[1] if entry is not None and entry[0]() is tensor else set()


class ShapeEnv:
    """The symbols of one trace and the guards its decisions recorded."""

    def __init__(self):
        self.sources: list[tuple[str, int, int]] = []  # symbol -> (name, arg index, dim)
        self.guards: list[tuple[str, bool]] = []       # (Python expression, its value)
        self.specialized: list[str] = []               # why a symbol became a constant
        self._seen: set[str] = set()

    def symbol(self, hint: int, arg_index: int, dim: int) -> SymInt:
        name = f"s{len(self.sources)}"
        self.sources.append((name, arg_index, dim))
        return SymInt(name, hint)

    def guard(self, code: str, value: bool) -> bool:
        if code not in self._seen:
            self._seen.add(code)
            self.guards.append((code, value))
        return value

    def check(self, values: dict) -> bool:
        """Whether sizes `values` (symbol -> int) take every recorded decision."""
        return all(eval(code, {}, values) == value for code, value in self.guards)  # noqa: S307

    def failure(self, values: dict) -> str | None:
        for code, value in self.guards:
            if eval(code, {}, values) != value:  # noqa: S307
                return f"{code} is {not value} (sizes {values})"
        return None


def current() -> ShapeEnv | None:
    """The ShapeEnv recording decisions now (None outside a dynamic trace)."""
    return getattr(_STATE, "env", None)


class recording:  # noqa: N801 - a context manager
    def __init__(self, env: ShapeEnv | None):
        self.env = env

    def __enter__(self):
        self.previous = current()
        _STATE.env = self.env
        return self.env

    def __exit__(self, *exc):
        _STATE.env = self.previous


def _expr(x) -> str:
    return x.expr if isinstance(x, SymInt) else repr(int(x))


def _hint(x) -> int:
    return x.hint if isinstance(x, SymInt) else int(x)


class SymInt:
    """An integer expression over size symbols with a concrete `hint` (see the module)."""

    __slots__ = ("expr", "hint")

    def __init__(self, expr: str, hint: int):
        self.expr = expr
        self.hint = int(hint)

    def __repr__(self):
        return self.expr

    # --- arithmetic builds expressions ---
    def _bin(self, other, op, fn, reverse=False):
        if not isinstance(other, (int, SymInt)) or isinstance(other, bool):
            return NotImplemented
        a, b = (other, self) if reverse else (self, other)
        return SymInt(f"({_expr(a)} {op} {_expr(b)})", fn(_hint(a), _hint(b)))

    def __add__(self, o):
        return self._bin(o, "+", lambda a, b: a + b)

    def __radd__(self, o):
        return self._bin(o, "+", lambda a, b: a + b, True)

    def __sub__(self, o):
        return self._bin(o, "-", lambda a, b: a - b)

    def __rsub__(self, o):
        return self._bin(o, "-", lambda a, b: a - b, True)

    def __mul__(self, o):
        return self._bin(o, "*", lambda a, b: a * b)

    def __rmul__(self, o):
        return self._bin(o, "*", lambda a, b: a * b, True)

    def __floordiv__(self, o):
        return self._bin(o, "//", lambda a, b: a // b)

    def __rfloordiv__(self, o):
        return self._bin(o, "//", lambda a, b: a // b, True)

    def __mod__(self, o):
        return self._bin(o, "%", lambda a, b: a % b)

    def __rmod__(self, o):
        return self._bin(o, "%", lambda a, b: a % b, True)

    def __neg__(self):
        return SymInt(f"(-{self.expr})", -self.hint)

    def __pos__(self):
        return self

    def __abs__(self):
        return self if self._decide(f"{self.expr} >= 0", self.hint >= 0) else -self

    # --- decisions are guards ---
    def _decide(self, code: str, value: bool) -> bool:
        env = current()
        if env is None:
            raise RuntimeError(f"a symbolic size ({self.expr}) was compared outside of "
                               "tracing; this is a bug in graphtorch")
        return env.guard(code, value)

    def _cmp(self, other, op, fn):
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        if isinstance(other, SymInt) and other.expr == self.expr:
            return fn(0, 0)
        if current() is None and op in ("==", "!="):  # outside a trace: structure only
            return op == "!="
        return self._decide(f"{self.expr} {op} {_expr(other)}", fn(self.hint, _hint(other)))

    def __eq__(self, o):
        return self._cmp(o, "==", lambda a, b: a == b)

    def __ne__(self, o):
        return self._cmp(o, "!=", lambda a, b: a != b)

    def __lt__(self, o):
        return self._cmp(o, "<", lambda a, b: a < b)

    def __le__(self, o):
        return self._cmp(o, "<=", lambda a, b: a <= b)

    def __gt__(self, o):
        return self._cmp(o, ">", lambda a, b: a > b)

    def __ge__(self, o):
        return self._cmp(o, ">=", lambda a, b: a >= b)

    def __bool__(self):
        return self._decide(f"{self.expr} != 0", self.hint != 0)

    def __hash__(self):
        return hash(self.expr)

    # --- becoming a Python int specialises ---
    def __index__(self):
        env = current()
        if env is None:
            raise RuntimeError(f"a symbolic size ({self.expr}) was used as a number outside "
                               "of tracing; this is a bug in graphtorch")
        env.guard(f"{self.expr} == {self.hint}", True)
        import traceback

        frame = traceback.extract_stack(limit=4)[0]
        env.specialized.append(f"{self.expr} = {self.hint} ({frame.filename}:{frame.lineno})")
        return self.hint

    __int__ = __index__


def has_symbols(value) -> bool:
    """Whether an attribute value holds a SymInt (nested in tuples/lists/dicts too)."""
    if isinstance(value, SymInt):
        return True
    if isinstance(value, (tuple, list)):
        return any(has_symbols(v) for v in value)
    if isinstance(value, dict):
        return any(has_symbols(v) for v in value.values())
    return False


def source(value, other=None) -> str:
    """Python source evaluating an attribute value with symbols as variables; `other(obj)`
    names any value that is not a literal (an op in a ``view_ops`` chain), else TypeError."""
    if isinstance(value, SymInt):
        return value.expr
    if isinstance(value, tuple):
        inner = ", ".join(source(v, other) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(source(v, other) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{source(k, other)}: {source(v, other)}"
                               for k, v in value.items()) + "}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if other is not None:
        return other(value)
    raise TypeError(f"cannot write {value!r} as source")


def evaluate(value, sizes: dict):
    """An attribute value with its symbols replaced by ints from `sizes`."""
    if isinstance(value, SymInt):
        return eval(value.expr, {}, sizes)  # noqa: S307
    if isinstance(value, tuple):
        return tuple(evaluate(v, sizes) for v in value)
    if isinstance(value, list):
        return [evaluate(v, sizes) for v in value]
    if isinstance(value, dict):
        return {k: evaluate(v, sizes) for k, v in value.items()}
    return value


def hint(size) -> int:
    """The size seen when tracing (an int for static sizes): for reports, never kernels."""
    return size.hint if isinstance(size, SymInt) else int(size)
