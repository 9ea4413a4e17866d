"""`gt.onnx.export`: a model or function, traced by `gt.trace`, written as an ONNX model.

The signature is torch.onnx.export's. The traced graph (shapes, dtypes and the user's source
lines on every node) is converted by `graphtorch.ir.onnx_export`: parameters and buffers
become initializers under their qualified names (``fc1.weight``), every ONNX node is named
after its graph node and carries the user's ``file:line`` as its doc_string (Netron shows
it), and axes named in `dynamic_axes` are traced as symbolic sizes, so the model serves
every size (not just the example's). Needs the optional `onnx` package
(``pip install graphtorch[onnx]``); ONNX Runtime runs the result.

    >>> gt.onnx.export(model, (x,), "model.onnx", input_names=["x"],
    ...                output_names=["logits"], dynamic_axes={"x": {0: "batch"}})
"""

from __future__ import annotations

import enum
import inspect
import os

from .autograd.grad_mode import no_grad
from .compiler.tracing import trace
from .ir import symbolic
from .ir.onnx_errors import OnnxExporterError, UnsupportedOperatorError
from .nn.modules.module import Module
from .tensor import Tensor
from .trace_state import SymbolicArray

__all__ = ["OnnxExporterError", "TrainingMode", "UnsupportedOperatorError", "export"]


class TrainingMode(enum.IntEnum):
    """The mode modules are exported in (torch.onnx.TrainingMode): EVAL (the default: dropout
    off, batch norm with running statistics), PRESERVE (as they are), TRAINING."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def export(model, args=(), f=None, *, kwargs=None, export_params: bool = True,
           verbose: bool | None = None, input_names=None, output_names=None,
           opset_version: int | None = None, dynamic_axes=None,
           keep_initializers_as_inputs: bool = False, training=TrainingMode.EVAL,
           do_constant_folding: bool = True, dynamo: bool = False, dynamic: bool = False):
    """Trace ``model(*args)`` and export it to ONNX; returns the `onnx.ModelProto` (also
    written to `f`, a path or a binary file object, when given).

    As torch.onnx.export: `input_names`/`output_names` name the graph's inputs and outputs
    (tensor arguments only; other arguments are constants of the trace); `dynamic_axes`
    (``{"x": {0: "batch"}}`` or ``{"x": [0]}``) makes those axes symbolic ONNX dims, traced
    with symbolic sizes so reshapes and loop lengths follow the real input; `opset_version`
    (default 18, at least 17); `do_constant_folding` computes what depends on parameters
    only (views of parameters stay, so weights keep their names); `export_params=False`
    makes parameters graph inputs. `dynamic=True` (graphtorch's, as in `gt.compile`) makes
    every input axis of size >= 2 symbolic. `dynamo` is accepted for compatibility
    (graphtorch has one exporter). Raises `UnsupportedOperatorError` naming the op and your
    source line when an op has no ONNX form.

    >>> model = gt.onnx.export(gt.nn.Linear(4, 2), (gt.randn(3, 4),), "linear.onnx")
    """
    import onnx


    if kwargs:
        raise NotImplementedError("gt.onnx.export: keyword inputs (kwargs=) are not supported; "
                                  "pass every input positionally in args")
    args = (args,) if isinstance(args, Tensor) else tuple(args)
    if args and isinstance(args[-1], dict):
        raise NotImplementedError("gt.onnx.export: a trailing dict of keyword inputs in args "
                                  "is not supported; pass every input positionally")
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    fn = model.forward if isinstance(model, Module) else model
    names = _argument_names(fn, args)
    in_names = [input_names[k] if input_names and k < len(input_names) else names[i]
                for k, i in enumerate(positions)]
    axes = _check_axes(dynamic_axes or {}, in_names, output_names or [])
    modes = _set_training(model, training)
    try:
        traced, env, symbols = _trace(model, args, positions, in_names, axes, dynamic)
    finally:
        for module, mode in modes:
            module.training = mode
    if env is not None and env.specialized:
        raise OnnxExporterError(
            "gt.onnx.export: the model turns a dynamic axis into a fixed number, so the "
            f"exported model would be wrong for other sizes: {env.specialized[0]} "
            f"(symbols: {symbols})")
    metadata = {"graphtorch.source": _describe(model)}
    if env is not None and env.guards:
        metadata["graphtorch.size_guards"] = "; ".join(
            code if value else f"not ({code})" for code, value in env.guards)
    graph = traced.graph
    num_outputs = len(graph.outputs) - len(traced.mutated)
    from .ir.onnx_export import to_onnx  # lazy: it needs the optional onnx package

    proto = to_onnx(graph, traced.params, input_names=in_names, output_names=output_names,
                    dynamic_axes=axes, opset_version=opset_version, num_outputs=num_outputs,
                    export_params=export_params,
                    keep_initializers_as_inputs=keep_initializers_as_inputs,
                    do_constant_folding=do_constant_folding, metadata=metadata)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        if isinstance(f, (str, os.PathLike)):
            onnx.save_model(proto, os.fspath(f))
        else:
            f.write(proto.SerializeToString())
    return proto


def _argument_names(fn, args) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"input{i}" for i in range(len(args))]


def _check_axes(dynamic_axes, in_names, out_names) -> dict:
    from .ir.onnx_export import normalize_axes  # lazy: it needs the optional onnx package

    axes = normalize_axes(dynamic_axes)
    known = set(in_names) | set(out_names)
    for name in axes:
        if name not in known:
            raise ValueError(f"gt.onnx.export: dynamic_axes names {name!r}, which is neither "
                             f"an input ({in_names}) nor an output name ({out_names})")
    return axes


def _set_training(model, training) -> list:
    """Put modules in the requested mode; returns their modes to restore."""
    if not isinstance(model, Module):
        return []
    modes = [(m, m.training) for m in model.modules()]
    if training == TrainingMode.EVAL:
        model.eval()
    elif training == TrainingMode.TRAINING:
        model.train()
    elif training != TrainingMode.PRESERVE:
        raise ValueError(f"gt.onnx.export: training must be a TrainingMode, got {training!r}")
    return modes


def _trace(model, args, positions, in_names, axes, dynamic):
    """gt.trace on the example inputs; axes to make dynamic become stand-in tensors whose
    sizes are symbols (what gt.compile(dynamic=True) traces with)."""

    env, symbols, trace_args = None, {}, list(args)
    for k, i in enumerate(positions):
        x, name = args[i], in_names[k]
        dims = set(axes.get(name, {}))
        if dynamic:
            dims |= {d for d, n in enumerate(x.shape) if n >= 2}
        if not dims:
            continue
        env = env or symbolic.ShapeEnv()
        shape = list(x.shape)
        for d in sorted(dims):
            if not -x.dim() <= d < x.dim():
                raise ValueError(f"gt.onnx.export: dynamic_axes: input {name!r} has no axis {d}")
            if x.shape[d] < 2:
                raise ValueError(
                    f"gt.onnx.export: input {name!r} has size {x.shape[d]} on dynamic axis {d}; "
                    "give an example of size >= 2 there (sizes 0 and 1 are traced as constants, "
                    "as in torch.export)")
            shape[d] = env.symbol(x.shape[d], i, d)
            symbols[shape[d].expr] = f"{name}[{d}]"
        trace_args[i] = Tensor._wrap(SymbolicArray(shape, x._data.dtype, None))
    with symbolic.recording(env), no_grad():
        traced = trace(model, *trace_args, optimize=False)
    return traced, env, symbols


def _describe(model) -> str:
    cls = model if inspect.isfunction(model) else type(model)
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"
