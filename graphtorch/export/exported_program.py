"""`export` and `ExportedProgram`: a module's forward captured once by `gt.compile`
(``fullgraph=True``) for example inputs, with the dims ``dynamic_shapes`` names left
symbolic and every other input size fixed, as `torch.export` captures it."""

from __future__ import annotations

import inspect

from ..compiler import compile as gt_compile
from ..nn.modules.module import Module
from ..serialization import load as _load
from ..serialization import save as _save
from ..symbolic import mark_dynamic, marked_dims
from ..tensor import Tensor
from ..trace_state import TracingError as UserError
from ..autograd.grad_mode import no_grad
from .dims import _INT_MAX, Dim, _Marker


class ExportedProgram:
    """What `export` captured: the forward graph (`graph`), the module's state
    (`state_dict`), the example inputs and the ranges of the dynamic dims. Run it through
    `module()`."""

    def __init__(self, mod, compiled, variant, example_args, example_kwargs, dynamic_shapes,
                 checks, ranges):
        self._mod, self._compiled, self._variant = mod, compiled, variant
        self.example_inputs = (example_args, example_kwargs)
        self._dynamic_shapes = dynamic_shapes  # as given: `save` writes them
        self._checks = checks               # [(arg name, position, dim, min, max)]
        self.range_constraints = ranges     # {dim name: (min, max)}

    @property
    def graph(self):
        """The captured forward graph (`graphtorch.ir.Graph`)."""
        return self._variant.executable.forward_graph

    @property
    def graph_module(self):
        return self.module()

    @property
    def state_dict(self) -> dict:
        return dict(self._mod.state_dict(keep_vars=True))

    def named_parameters(self):
        return self._mod.named_parameters()

    def parameters(self):
        return self._mod.parameters()

    def named_buffers(self):
        return self._mod.named_buffers()

    def buffers(self):
        return self._mod.buffers()

    def module(self) -> Module:
        """A Module running the captured graph, with the exported module's parameters and
        buffers under the same names; inputs are checked against the exported shapes."""
        return ExportedModule(self)

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        """The program itself: its graph is already in graphtorch's core ops."""
        return self

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use "
                           "`exported_program.module()` instead.")

    def __str__(self):
        graph = "\n".join("    " + line for line in str(self.graph).splitlines())
        ranges = ", ".join(f"{name}: VR[{lo}, {'int_oo' if hi == _INT_MAX else hi}]"
                           for name, (lo, hi) in self.range_constraints.items())
        return f"ExportedProgram:\n{graph}\nRange constraints: {{{ranges}}}\n"

    __repr__ = __str__


class ExportedModule(Module):
    """`ExportedProgram.module()`: the exported module's parameters, buffers and submodules
    under their own names, whose forward runs the captured graph."""

    def __init__(self, program: ExportedProgram):
        super().__init__()
        mod = program._mod
        self.__dict__["_program"] = program
        for name in ("_parameters", "_buffers", "_modules"):
            self.__dict__[name] = mod.__dict__[name]  # shared: the same tensors and names
        self.training = mod.training

    def forward(self, *args, **kwargs):
        program = self._program
        args = _positional(program._mod, args, kwargs)
        for name, position, dim, lo, hi in program._checks:
            x = args[position] if position < len(args) else None
            if not isinstance(x, Tensor) or dim >= x.ndim:
                raise AssertionError(f"Guard failed: {name}.dim() == {dim + 1}")
            size = x.shape[dim]
            if lo == hi and size != lo:
                raise AssertionError(f"Guard failed: {name}.size()[{dim}] == {lo}")
            if size > hi:  # as PyTorch's, only the upper bound is checked at run time
                raise AssertionError(f"Guard failed: {name}.size()[{dim}] <= {hi}")
        return program._compiled(*args)


def _positional(mod, args, kwargs) -> tuple:
    """The forward's arguments as one positional tuple (keywords bound by name)."""
    if not kwargs:
        return tuple(args)
    bound = inspect.signature(mod.forward).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def _dim_specs(mod, args, kwargs, dynamic_shapes) -> dict:
    """{position: the dynamic_shapes entry} of the forward's arguments."""
    if dynamic_shapes is None:
        return {}
    if isinstance(dynamic_shapes, dict):
        bound = list(inspect.signature(mod.forward).bind(*args, **kwargs).arguments)
        unknown = [k for k in dynamic_shapes if k not in bound]
        if unknown:
            raise ValueError(f"When `dynamic_shapes` is specified as a dict, its top-level "
                             f"keys must be the arg names {bound} of `inputs`, but here "
                             f"they are {list(dynamic_shapes)}.")
        return {bound.index(k): v for k, v in dynamic_shapes.items()}
    if isinstance(dynamic_shapes, (tuple, list)):
        return dict(enumerate(dynamic_shapes))
    raise ValueError(f"dynamic_shapes must be a dict, tuple or list, not "
                     f"{type(dynamic_shapes).__name__}")


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict: bool = False,
           preserve_module_call_signature=(), prefer_deferred_runtime_asserts_over_guards=False):
    """Capture ``mod(*args, **kwargs)`` as one graph (see the package docstring).

    dynamic_shapes: per argument (a dict by parameter name, or a tuple by position), a
    dict ``{dim: Dim(...)}`` (or a list with one entry per dim) naming the dims whose size
    may vary; `Dim.AUTO`/`Dim.DYNAMIC` for an unnamed dynamic dim, None/`Dim.STATIC` for a
    fixed one. Every other dim of a tensor argument is fixed at the example's size.
    """
    if not isinstance(mod, Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got "
                         f"{type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(f"Expecting `args` to be a tuple of example positional inputs, got "
                        f"{type(args)}")
    kwargs = dict(kwargs or {})
    positional = _positional(mod, args, kwargs)
    specs = _dim_specs(mod, args, kwargs, dynamic_shapes)
    names = list(inspect.signature(mod.forward).parameters)
    checks, ranges, marked = [], {}, []
    for position, x in enumerate(positional):
        if not isinstance(x, Tensor):
            continue
        label = names[position] if position < len(names) else f"args[{position}]"
        spec = specs.get(position)
        if isinstance(spec, (tuple, list)):
            spec = dict(enumerate(spec))
        spec = spec or {}
        for dim in range(x.ndim):
            entry = spec.get(dim, spec.get(dim - x.ndim))
            if entry is None or entry is Dim.STATIC:
                checks.append((label, position, dim, x.shape[dim], x.shape[dim]))
                continue
            if isinstance(entry, Dim):
                lo, hi, name = entry.min, entry.max, entry.__name__
            elif isinstance(entry, _Marker):
                lo, hi, name = 0, _INT_MAX, f"s{len(ranges)}"
            else:
                raise ValueError(f"dynamic_shapes entry {entry!r} for {label} dim {dim} "
                                 "is not a Dim")
            if not lo <= x.shape[dim] <= hi:
                raise ValueError(f"the example input at {label}.shape[{dim}] = "
                                 f"{x.shape[dim]} is outside {name}'s range [{lo}, {hi}]")
            checks.append((label, position, dim, lo, hi))
            ranges.setdefault(name, (lo, hi))
            if dim not in marked_dims(x):
                mark_dynamic(x, dim)
                marked.append((x, dim))
    compiled = gt_compile(mod, fullgraph=True)._compiled
    try:
        with no_grad():  # the inference graph, shown by `graph`; calls needing autograd
            variant = compiled.precompile(*positional)  # compile their own variant
    finally:
        for x, dim in marked:  # the example tensors as they were
            marked_dims(x).discard(dim)
    return ExportedProgram(mod, compiled, variant, args, kwargs, dynamic_shapes, checks, ranges)


def save(ep: ExportedProgram, f) -> None:
    """Write `ep` (its module, whose class must be importable, the example inputs and
    ``dynamic_shapes``) to a file or buffer; `load` exports it again from them."""
    args, kwargs = ep.example_inputs
    _save({"graphtorch.export": 1, "module": ep._mod, "args": args, "kwargs": kwargs,
           "dynamic_shapes": ep._dynamic_shapes}, f)


def load(f) -> ExportedProgram:
    """The program `save` wrote. It unpickles a module: load only files you trust."""
    saved = _load(f, weights_only=False)
    if not isinstance(saved, dict) or saved.get("graphtorch.export") != 1:
        raise RuntimeError("not a file written by gt.export.save")
    return export(saved["module"], saved["args"], saved["kwargs"],
                  dynamic_shapes=saved["dynamic_shapes"])
