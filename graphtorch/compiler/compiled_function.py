"""`gt.compile`: trace on first call, guard, cache variants, recompile with reasons.

Code that cannot be captured (it needs a tensor's value in Python) is a graph break: that
variant runs the function eagerly, with the modules it calls compiled as segments
(`Segments`); ``fullgraph=True`` raises instead, naming the line.

A `CompiledFunction` keeps a list of variants, each a set of guards plus an `Executable`
(or the note that this variant runs eagerly because of a graph break). A call runs the first
variant whose guards pass; when none does it traces again, logging the guard that failed
with its old and new value (``GRAPHTORCH_LOG=recompiles``, logger
``graphtorch.recompiles``). After `recompile_limit` variants it warns once and runs new
variants eagerly.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import logging
import os
import time
import warnings
from dataclasses import dataclass, field

from .. import symbolic
from ..autograd import forward_ad as _forward_ad
from ..nn.modules.module import Module
from ..ops.interpose import pre_call as _PRE_CALL
from ..tensor import Tensor
from ..trace_state import STATE as _TRACE
from ..trace_state import TracingError
from .capture import NeedsState, capture, flatten_args
from . import config, stance
from .controls import COMPILED, is_disabled
from .counters import counters
from .discovery import discover
from .executable import Executable
from .guards import Guard, Guards, build_guards
from .optimized_module import OptimizedModule
from .sources import GuardKind, Namespace

log = logging.getLogger("graphtorch.recompiles")
code_log = logging.getLogger("graphtorch.graph_code")  # each variant's graph (gt._logging)
RECOMPILE_LIMIT = None  # None: `config.recompile_limit` at the time of the call
BACKENDS = ("numpy", "eager", "cupy")
# torch.compile's backend names, as graphtorch's
BACKEND_ALIASES = {"inductor": None, "aot_eager": "eager", "cudagraphs": "cupy"}
MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def _configure_logging() -> None:
    wanted = {s.strip() for s in os.environ.get("GRAPHTORCH_LOG", "").split(",")}
    if "recompiles" in wanted and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[graphtorch] %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


@dataclass
class Variant:
    guards: Guards
    executable: Executable | None      # None: runs eagerly (graph break)
    reason: str = ""                   # why it runs eagerly
    compile_seconds: float = 0.0
    segments: Segments | None = None   # compiled submodules used by the eager run


class Segments:
    """After a graph break, the function runs eagerly but the modules it calls run
    compiled: each submodule's ``forward`` is replaced, for the duration of the call, by a
    `CompiledFunction` of its own (which may break again and recurse into its children).
    So code with data-dependent Python keeps compiled segments around the eager parts."""

    def __init__(self, fn, state, options: dict):
        if isinstance(fn, Module):
            modules = [m for _, m in fn.named_children()]
        else:
            modules = list(state.modules.values())
        self.compiled = [(m, CompiledFunction(m.forward, **options)) for m in modules
                         if "forward" not in m.__dict__]

    @contextlib.contextmanager
    def installed(self):
        for module, compiled in self.compiled:
            module.__dict__["forward"] = compiled
        try:
            yield
        finally:
            for module, _ in self.compiled:
                module.__dict__.pop("forward", None)

    def run(self, fn, args):
        with self.installed():
            return fn(*args)

    @property
    def compile_count(self) -> int:
        return sum(c.compile_count for _, c in self.compiled)


def _has_meta(leaves, state) -> bool:
    """Whether an argument or a bound module's tensor lives on the meta device."""
    if any(isinstance(x, Tensor) and x.is_meta for x in leaves):
        return True
    return any(t.is_meta for root in state.modules.values()
               for t in (*root.parameters(), *root.buffers()))


@dataclass
class RecompileEvent:
    """One entry of the recompile ledger."""

    guard: str
    old: object
    new: object
    seconds: float = 0.0
    variants: int = 0


@dataclass
class Stats:
    compiles: int = 0
    graph_breaks: list = field(default_factory=list)   # (reason text)
    recompiles: list = field(default_factory=list)     # RecompileEvent
    eager_calls: int = 0


_SIGNATURE_FIELDS = ("shape", "dtype", "on the CPU", "requires_grad")


def describe_change(guard: str, old, new) -> str:
    """``x: shape (3, 4) -> (5, 4)`` for a tensor guard; ``guard: was OLD, now NEW`` else."""
    if guard.endswith("(shape, dtype, device, requires_grad)") and isinstance(old, tuple) \
            and isinstance(new, tuple) and len(old) == len(new) == 4:
        name = guard.split(":")[0]
        changes = [f"{field} {_short(a)} -> {_short(b)}"
                   for field, a, b in zip(_SIGNATURE_FIELDS, old, new) if a != b]
        return f"{name}: " + ", ".join(changes)
    if "baked into the graph" in guard:
        name = guard.split(" (")[0]
        return f"{name} (a Python value baked into the graph): {old!r} -> {new!r}"
    return f"{guard}: was {old!r}, now {new!r}"


def _short(value) -> str:
    return str(value) if not isinstance(value, tuple) or len(value) != 1 else f"({value[0]},)"


class CompiledFunction:
    """A function (or module) compiled by `gt.compile` (see the module docstring)."""

    def __init__(self, fn, backend: str | None = None, fullgraph: bool = False, dynamic=None,
                 recompile_limit: int | None = RECOMPILE_LIMIT, passes=None):
        backend = "numpy" if backend is None else backend  # numpy picks cupy for GPU inputs
        if backend not in BACKENDS:
            raise ValueError(f"gt.compile: unknown backend {backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
        self.dynamic = dynamic
        self._dynamic_dims: dict[int, set] = {}  # automatic mode: dims seen to change
        self.fn = fn
        self.backend = backend
        self.fullgraph = fullgraph
        self.recompile_limit = recompile_limit
        self.passes = passes
        self.variants: list[Variant] = []
        self.stats = Stats()
        self._warned_limit = False
        self._last: Variant | None = None
        self._arg_names = _arg_names(fn)
        _configure_logging()
        COMPILED.add(self)

    def reset(self) -> None:
        """Forget every variant (see `gt.compiler.reset`)."""
        self.variants.clear()
        self._last = None
        self._dynamic_dims.clear()
        self.__dict__.pop("_kw_variants", None)
        self._warned_limit = False

    # --- calling ---------------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        if is_disabled() or _TRACE.__dict__.get("tracer") is not None:
            # disabled, or called by code being traced: run (and trace) the original
            return self.fn(*args, **kwargs)
        if _PRE_CALL:  # gt.autocast is on, or a forward-AD dual level is open
            if _forward_ad.is_active():  # a compiled graph would drop the inputs' tangents
                log.info("%s: called inside a forward-AD dual level (tangents are carried by "
                         "eager ops only); running it eagerly", self._name())
            else:  # compiled graphs do not carry autocast's casts
                log.info("%s: called inside gt.autocast; running it eagerly", self._name())
            self.stats.eager_calls += 1
            return self.fn(*args, **kwargs)
        if kwargs:
            return self._call_with_kwargs(args, kwargs)
        leaves, spec = flatten_args(args)
        last = self._last
        if last is not None and last.guards.check(leaves, spec):  # the variant run last time
            if last.executable is not None:
                return last.executable.run(leaves)
        for variant in self.variants:
            if variant.guards.check(leaves, spec):
                self._last = variant
                if variant.executable is None:
                    self.stats.eager_calls += 1
                    return variant.segments.run(self.fn, args) if variant.segments \
                        else self.fn(*args)
                return variant.executable.run(leaves)
        return self._compile_and_run(args, leaves, spec)

    def _call_with_kwargs(self, args, kwargs):
        names = list(kwargs)
        inner = self.fn

        def positional(*flat):
            return inner(*flat[:len(args)], **dict(zip(names, flat[len(args):])))

        key = ("kwargs", len(args), tuple(names))  # `positional` splits at len(args)
        sub = self.__dict__.setdefault("_kw_variants", {}).get(key)
        if sub is None:
            sub = CompiledFunction(positional, self.backend, self.fullgraph, None,
                                   self.recompile_limit, self.passes)
            sub._arg_names = self._arg_names[:len(args)] + names
            self._kw_variants[key] = sub
        return sub(*args, *kwargs.values())

    def precompile(self, *args) -> Variant:
        """Trace and compile a variant for `args` without running it (`gt.export`); the
        variant whose guards already hold when there is one. TracingError where the call
        would have to run eagerly."""
        leaves, spec = flatten_args(args)
        for variant in self.variants:
            if variant.guards.check(leaves, spec):
                return variant
        self._compile_and_run(args, leaves, spec, run=False)
        return self.variants[-1]

    def _compile_and_run(self, args, leaves, spec, run: bool = True):
        held = self._stance_holds(args, leaves, spec) if run else None
        if held is not None:
            return held[0]

        def eagerly(why: str):
            if not run:
                raise TracingError(f"{self._name()}: {why}, which a captured graph cannot do")
            self.stats.eager_calls += 1
            return self.fn(*args)
        counters["frames"]["total"] += 1
        state = discover(self.fn, leaves, self._arg_names)
        if _has_meta(leaves, state):  # shapes without data: nothing for a graph to compute
            log.info("%s: called with meta tensors; running it eagerly (each op's shape "
                     "rule)", self._name())
            return eagerly("the call has meta tensors")
        if not self.variants and not self.__dict__.get("_first_call_predicted"):
            # A first training step creates the optimizer's lazy state (momentum buffers):
            # tracing it would only find that out (`cap.created_state` below) and run it
            # eagerly anyway. Decided once, before any variant: a wrong guess costs one
            # eager call.
            self._first_call_predicted = True
            pending = [name for name, opt in state.optimizers.items()
                       if getattr(opt, "_lazy_state_pending", lambda: False)()]
            # a lazy module's first call draws its parameters (nn/modules/lazy.py)
            pending += [f"the lazy module {name or type(root).__name__}"
                        for name, root in state.modules.items()
                        if any(getattr(m, "has_uninitialized_params", lambda: False)()
                               for m in root.modules())]
            if pending:
                log.info("%s: the first call initialises the state of %s; it runs eagerly "
                         "and the next call is compiled", self._name(), ", ".join(pending))
                return eagerly(f"the first call initialises {', '.join(pending)}")
        if self.variants:
            failure = self.variants[-1].guards.first_failure(leaves, spec)
            event = RecompileEvent(*(failure or ("(no guard failed)", None, None)),
                                   variants=len(self.variants))
            self.stats.recompiles.append(event)
            limit = config.recompile_limit if self.recompile_limit is None else \
                self.recompile_limit
            if len(self.variants) >= limit:
                if not self._warned_limit:
                    self._warned_limit = True
                    warnings.warn(f"gt.compile: {self._name()} hit the recompile limit "
                                  f"({limit}); new variants run eagerly. Last "
                                  f"reason: {event.guard} changed from {event.old!r} to "
                                  f"{event.new!r}", RuntimeWarning, stacklevel=3)
                self.stats.eager_calls += 1
                return self.fn(*args)
            log.info("Recompiling %s: guard failed: %s", self._name(),
                     describe_change(event.guard, event.old, event.new))
            counters["recompiles"][event.guard] += 1
            self._mark_changed_dims(event)
        start = time.perf_counter()
        env, dims = self._shape_env(leaves)
        try:
            try:
                cap, executable, ns = self._capture(args, leaves, state, env, dims)
            except TracingError:
                raise
            except Exception as exc:  # noqa: BLE001 - a dynamic trace hit an unsupported op
                if env is None:
                    raise
                log.info("%s: dynamic sizes failed (%s: %s); compiling static sizes",
                         self._name(), type(exc).__name__, exc)
                self.dynamic, env = False, None
                cap, executable, ns = self._capture(args, leaves, state, None, None)
        except TracingError as exc:
            if self.fullgraph:
                raise
            guards = _signature_guards(leaves, spec, self._arg_names)
            reason = str(exc)
            self.stats.graph_breaks.append(reason)
            counters["graph_break"][reason] += 1
            segments = Segments(self.fn, state, self._options())
            log.info("Graph break in %s (running it eagerly, %d submodule(s) compiled): %s",
                     self._name(), len(segments.compiled), reason)
            self.variants.append(Variant(guards, None, reason, segments=segments))
            self.stats.eager_calls += 1
            return segments.run(self.fn, args)
        except Exception as exc:
            # The trace raised (the program's own error, e.g. a shape mismatch, or an op the
            # tracer cannot take): tracing restored every piece of state, so running the
            # function eagerly now gives exactly eager's error and side effects (random
            # numbers drawn, in-place writes made before the error) - or, where only the
            # tracer failed, eager's result, and this signature runs eagerly from now on.
            if self.fullgraph:
                raise
            result = self.fn(*args)
            reason = f"tracing raised {type(exc).__name__}: {exc}"
            self.stats.graph_breaks.append(reason)
            counters["graph_break"][reason] += 1
            log.info("%s: %s; running it eagerly", self._name(), reason)
            self.variants.append(Variant(_signature_guards(leaves, spec, self._arg_names),
                                         None, reason))
            self.stats.eager_calls += 1
            return result
        if cap.created_state:
            # The call creates optimizer state (e.g. SGD's momentum buffer on the first step):
            # a graph for it would serve this call only. Run it eagerly; compile the next.
            log.info("%s: this call initialises %s; it runs eagerly and the next call is "
                     "compiled", self._name(), ", ".join(cap.created_state))
            return eagerly(f"the call initialises {', '.join(cap.created_state)}")
        # built after tracing (which restored every piece of state) to learn which guards
        # the traced code needs
        guards = build_guards(leaves, self._arg_names, state, cap, ns, env)
        if env is not None:
            log.info("%s: compiled once for dynamic sizes %s; valid while %s%s",
                     self._name(),
                     ", ".join(f"{n}={self._arg_names[i] if i < len(self._arg_names) else i}"
                               f".shape[{d}]" for n, i, d in env.sources),
                     " and ".join(code if value else f"not ({code})"
                                  for code, value in env.guards) or "always",
                     f"; specialised: {env.specialized}" if env.specialized else "")
        seconds = time.perf_counter() - start
        if self.stats.recompiles:
            self.stats.recompiles[-1].seconds = seconds
        self.variants.append(Variant(guards, executable, "", seconds))
        self.stats.compiles += 1
        counters["frames"]["ok"] += 1
        counters["stats"]["unique_graphs"] += 1
        counters["stats"]["calls_captured"] += len(executable.forward_graph.nodes)
        if code_log.isEnabledFor(logging.INFO):
            code_log.info("%s: compiled graph (variant %d)\n%s", self._name(),
                          len(self.variants), executable.forward_graph)
        return executable.run(leaves) if run else None

    def _stance_holds(self, args, leaves, spec):
        """(result,) where `set_stance` keeps this cache miss from compiling, else None."""
        now = stance.current()
        if now == "default":
            return None
        if now in ("eager_then_compile", "aot_eager_then_compile") and not self.variants \
                and not self.__dict__.get("_ran_first_eagerly"):
            self._ran_first_eagerly = True
        elif now == "eager_on_recompile":
            log.info("%s: no compiled variant fits and the stance is eager_on_recompile; "
                     "running it eagerly", self._name())
        elif now == "fail_on_recompile":
            code = getattr(self.fn, "__code__", None) or getattr(
                getattr(self.fn, "forward", None), "__code__", None)
            message = ("Detected recompile when torch.compile stance is 'fail_on_recompile'. "
                       f"filename: '{getattr(code, 'co_filename', '?')}', function name: "
                       f"'{getattr(code, 'co_name', self._name())}', line number: "
                       f"{getattr(code, 'co_firstlineno', '?')}")
            failure = self.variants[-1].guards.first_failure(leaves, spec) \
                if self.variants else None
            if failure:
                message += ("\n    triggered by the following guard failure(s):\n    - "
                            + describe_change(*failure))
            raise RuntimeError(message)
        else:
            return None
        self.stats.eager_calls += 1
        return (self.fn(*args),)

    def _capture(self, args, leaves, state, env, dims):
        return capture_variant(self.fn, args, leaves, state, self._arg_names, self.backend,
                               self.passes, env, dims, self._name())

    def _shape_env(self, leaves):
        """(ShapeEnv, dims) for a dynamic trace, or (None, None) for a static one. Dims come
        from dynamic=True (all), gt.mark_dynamic, and automatic mode (dims seen changing)."""
        if self.dynamic is False:
            return None, None
        if self.dynamic:
            return symbolic.ShapeEnv(), None
        dims = {i: set(d) for i, d in self._dynamic_dims.items()}
        for i, x in enumerate(leaves):
            marked = symbolic.marked_dims(x)
            if marked:
                dims.setdefault(i, set()).update(marked)
        if dims:
            return symbolic.ShapeEnv(), dims
        return None, None

    def _mark_changed_dims(self, event: RecompileEvent) -> None:
        """Automatic dynamic (dynamic=None): a dimension that changed between calls is
        symbolic from the next compile on, and the log says so."""
        if self.dynamic is not None or not event.guard.endswith(
                "(shape, dtype, device, requires_grad)"):
            return
        old, new = event.old, event.new
        name = event.guard.split(":")[0]
        if not (isinstance(old, tuple) and isinstance(new, tuple)) or len(old[0]) != len(
                new[0]) or name not in self._arg_names:
            return
        index = self._arg_names.index(name)
        changed = {d for d, (a, b) in enumerate(zip(old[0], new[0])) if a != b}
        if changed:
            self._dynamic_dims.setdefault(index, set()).update(changed)
            log.info("%s: marking %s dimension(s) %s dynamic (they changed between calls)",
                     self._name(), name, sorted(changed))

    def options(self) -> dict:
        """The arguments that compile another function the way this one is compiled."""
        return dict(backend=self.backend, fullgraph=self.fullgraph, dynamic=self.dynamic,
                    recompile_limit=self.recompile_limit, passes=self.passes)

    def _options(self) -> dict:
        return dict(backend=self.backend, fullgraph=False,
                    recompile_limit=self.recompile_limit, passes=self.passes)

    # --- inspection ------------------------------------------------------------------------

    @property
    def compile_count(self) -> int:
        """How many graphs were compiled (variants that run eagerly do not count)."""
        return self.stats.compiles

    def _latest(self) -> Executable:
        for v in reversed(self.variants):
            if v.executable is not None:
                return v.executable
        raise RuntimeError(f"{self._name()} has not been compiled yet: call it first")

    @property
    def graph(self):
        """The optimised forward graph of the most recent variant."""
        return self._latest().forward_graph

    @property
    def backward_graph(self):
        """The generated backward graph of the most recent variant (None without one)."""
        return self._latest().backward_graph

    @property
    def code(self) -> str:
        """The generated source of the most recent variant."""
        return self._latest().code

    def _name(self) -> str:
        fn = self.fn
        return getattr(fn, "__qualname__", None) or type(fn).__name__

    def __repr__(self):
        return f"<compiled {self._name()}: {self.stats.compiles} graph(s), backend " \
               f"{self.backend!r}>"


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend=None,
            mode: str | None = None, options: dict | None = None, disable: bool = False,
            recompile_limit: int | None = RECOMPILE_LIMIT, passes=None):
    """Compile a function or Module: traced on the first call, then run as generated NumPy
    code while its guards hold. Usable as ``gt.compile(fn)`` or ``@gt.compile(...)``, with
    torch.compile's arguments.

    backend: None or "inductor" (default: by the inputs' device), "numpy" (generated code),
        "eager" (the traced graph run op by op; "aot_eager" too) or "cupy" (generated code
        with one CUDA kernel per fused group; chosen automatically for GPU inputs).
    fullgraph: raise (naming the source line) instead of running uncapturable code eagerly.
    dynamic: True - sizes of tensor arguments (dims >= 2) are symbols, one graph for every
        size satisfying the recorded guards; False - always specialise; None (default) -
        specialise, and mark a dimension dynamic once it changed between calls.
    mode: torch.compile's modes are accepted; "reduce-overhead" replays CUDA graphs on the
        GPU (as the CuPy backend does for static shapes anyway) and changes nothing on the
        CPU. options: accepted and ignored (with a warning).
    disable: return `model` unchanged.
    passes: the pass pipeline (names), default `passes.pipeline.DEFAULT_PIPELINE`.

    A Module compiles to an `OptimizedModule` (an nn.Module wrapping it as ``_orig_mod``).
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES)}")
    if options:
        warnings.warn(f"gt.compile ignores options={options!r} (graphtorch has no such "
                      "settings)", UserWarning, stacklevel=2)
    if callable(backend) and not isinstance(backend, str):
        raise NotImplementedError("gt.compile takes a backend name ('numpy', 'eager', 'cupy' "
                                  "or torch's 'inductor'), not a custom backend callable")
    backend = BACKEND_ALIASES.get(backend, backend)
    options_ = dict(backend=backend, fullgraph=fullgraph, dynamic=dynamic,
                    recompile_limit=recompile_limit, passes=passes)
    if model is None:
        return lambda f: compile(f, mode=mode, disable=disable, **options_)
    if disable or getattr(model, "_gt_disabled", False):
        return model
    if isinstance(model, Module):
        return OptimizedModule(model, CompiledFunction(model, **options_))
    if not callable(model):
        raise TypeError(f"gt.compile expects a function or a Module, not "
                        f"{type(model).__name__}")
    return CompiledFunction(model, **options_)


def capture_variant(fn, args, leaves, state, arg_names, backend, passes, env=None, dims=None,
                    name: str = ""):
    """(Capture, Executable or None, Namespace) for one call: trace, bind modules and
    optimizers found while tracing (then trace again), build the programs."""
    with _gc_paused():
        return _capture_variant(fn, args, leaves, state, arg_names, backend, passes, env,
                                dims, name)


@contextlib.contextmanager
def _gc_paused():
    """The cyclic garbage collector off while a variant compiles. Tracing and the passes
    allocate many small objects, so a full collection (every object of the process: with
    PyTorch or a large model loaded, 50-200 ms) often fell inside a first call; cold LeNet
    compiles measured 0.05 s typically and 0.14-0.5 s with such a pause."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _capture_variant(fn, args, leaves, state, arg_names, backend, passes, env, dims, name):
    for _ in range(4):
        ns = Namespace()
        try:
            with symbolic.recording(env):
                cap = capture(fn, args, state, arg_names, ns, env, dims)
                executable = None if cap.created_state else \
                    Executable(cap, leaves, backend, passes, dynamic=env is not None)
            return cap, executable, ns
        except NeedsState as found:
            for label, obj in found.found:
                state.add(label, obj)
                log.info("%s: binds %s (%s), reached while tracing", name, label,
                         type(obj).__name__)
            if env is not None:
                env = symbolic.ShapeEnv()
    raise TracingError("the function keeps reaching new modules or optimizers while tracing")


def _signature_guards(leaves, spec, arg_names) -> Guards:
    """Guards of a variant that runs eagerly (a graph break): the call's signature only,
    since eager code is right whatever else changed."""
    ns = Namespace()
    guards = []
    for i, x in enumerate(leaves):
        if isinstance(x, Tensor):
            shape = tuple(x.shape)
            guards.append(Guard(f"argument {i} has shape {list(shape)}",
                                f"(L[{i}]._data.shape == {shape!r} and "
                                f"L[{i}]._data.dtype == {ns.name(x._data.dtype, 'DT')})",
                                shape, f"tuple(L[{i}].shape)"))
        else:
            guards.append(Guard(f"argument {i} is a {type(x).__name__}",
                                f"(type(L[{i}]) is {ns.name(type(x), 'T')})", type(x),
                                f"type(L[{i}])", kind=GuardKind.TYPE))
    return Guards(guards, ns, spec)


def _arg_names(fn) -> list[str]:
    target = fn.forward if hasattr(fn, "forward") and not inspect.isfunction(fn) else fn
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
