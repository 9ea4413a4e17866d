"""The `graphtorch` command line tool.

    graphtorch ops [--category C]   list the registered primitive ops
    graphtorch dump FILE.py:NAME --input SHAPE [...] [--format text|dot|json|svg|png|onnx]
                                    [-o OUT]
                                    trace a model or function and print its graph
    graphtorch explain FILE.py:NAME --input SHAPE [...]
                                    compile it, call it, and explain what gt.compile did
    graphtorch run -n N SCRIPT.py [ARGS ...]
                                    run SCRIPT on N ranks through the MPI launcher (mpiexec)
    graphtorch --version
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import os
import sys
import traceback

import graphtorch as gt
from graphtorch.debug.explain import explain
from graphtorch.distributed.launch import run
from graphtorch.dtypes import as_dtype
from graphtorch.ir.export import GraphvizMissing
from graphtorch.ir.onnx_errors import OnnxExporterError
from graphtorch.ir.tracer import TracingError
from graphtorch.nn.modules.module import Module
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes.pipeline import DEFAULT_PIPELINE, PASSES, run_passes


def _list_ops(args) -> int:
    rows = [op for op in REGISTRY.values()
            if args.category is None or op.category.value == args.category]
    width = max((len(op.name) for op in rows), default=4)
    for op in sorted(rows, key=lambda o: (o.category.value, o.name)):
        grad = "vjp" if op.vjp is not None else "-"
        print(f"{op.name:<{width}}  {op.category.value:<11}  {grad:<3}  {op.doc}")
    print(f"{len(rows)} ops", file=sys.stderr)
    return 0


class DumpError(Exception):
    """A user-facing `graphtorch dump` failure: printed as one line, exit status 1."""


DUMP_EPILOG = """\
FILE.py:NAME names what to trace. FILE.py is imported by path (its
`if __name__ == "__main__":` block does not run; its folder is put on sys.path so
sibling imports work). NAME is looked up in it (dots reach nested attributes):
  - a Module subclass: constructed with no arguments and put in eval mode;
  - a Module instance: put in eval mode;
  - a function taking the inputs: traced as is;
  - a function taking no arguments (a factory): called, and what it returns is traced.

Each --input gives one example input's shape as comma-separated sizes, optionally
with its own dtype after a colon ("" or "scalar" is a 0-d tensor). Floating inputs are
gt.randn(*shape) (gt.manual_seed(0) runs first), integer and bool inputs gt.zeros.

examples:
  graphtorch dump examples/lenet.py:Net --input 1,1,32,32
  graphtorch dump model.py:Net --input 2,16 --input 2:int64 --format json -o net.json
  graphtorch dump model.py:Net --input 1,1,32,32 --format svg -o net.svg   (needs Graphviz)
  graphtorch dump model.py:Net --input 1,1,32,32 --format onnx -o net.onnx (needs onnx)
"""

EXPLAIN_EPILOG = DUMP_EPILOG.split("examples:")[0] + """examples:
  graphtorch explain examples/lenet.py:Net --input 1,1,32,32
  graphtorch explain model.py:Net --input 2,16 --input 2:int64 --dtype float64
"""


def _parse_target(target: str) -> tuple[str, str]:
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise DumpError(f"expected FILE.py:NAME (e.g. model.py:Net), got {target!r}")
    return path, name


def _parse_input(spec: str, default_dtype: str):
    shape_text, _, dtype_text = spec.partition(":")
    try:
        dtype = as_dtype(dtype_text.strip() or default_dtype)
    except TypeError:
        raise DumpError(f"--input {spec!r}: unknown dtype "
                        f"{(dtype_text.strip() or default_dtype)!r}") from None
    shape_text = shape_text.strip()
    try:
        shape = () if shape_text in ("", "scalar", "()") else tuple(
            int(s) for s in shape_text.strip("()[]").split(",") if s.strip())
    except ValueError:
        raise DumpError(f"--input {spec!r}: expected comma-separated sizes such as "
                        "1,3,32,32 (optionally followed by :dtype, e.g. 4,7:int64)") from None
    if any(s < 0 for s in shape):
        raise DumpError(f"--input {spec!r}: sizes must be non-negative")
    if dtype.is_floating_point or dtype.is_complex:
        return gt.randn(*shape, dtype=dtype)
    return gt.zeros(*shape, dtype=dtype)


def _load_file(path: str):
    if not os.path.isfile(path):
        raise DumpError(f"file not found: {path}")
    path = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    module_name = f"_graphtorch_dump_{stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise DumpError(f"cannot import {path} (not a Python file?)")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    sys.modules[module_name] = module  # dataclasses, pickling etc. look the module up
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise DumpError(f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - user code may raise anything
        raise DumpError(f"importing {path} failed: {_one_line(exc)}") from None
    finally:
        sys.path.remove(folder)
    return module


def _one_line(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_line(exc: BaseException) -> str:
    """' at FILE:LINE in FUNCTION' for the innermost frame of the traceback outside the
    graphtorch package (the user's line that called the failing op), or ''."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep):
            return f" at {os.path.relpath(frame.filename)}:{frame.lineno} in {frame.name}"
    return ""


def _definition_line(module, path: str, name: str, obj) -> int:
    """The line of `path` that defines NAME: its def/class line, else the assignment."""
    try:
        return inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        pass
    top = name.split(".")[0]
    try:
        with open(path) as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return 1
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        if any(isinstance(t, ast.Name) and t.id == top for t in targets):
            return node.lineno
    return 1


def _call_from_user_file(path: str, line: int, name: str, fn, *args, **kwargs):
    """Call fn(*args) from a frame that belongs to the user's file at NAME's definition.

    Ops recorded inside graphtorch's own modules (an nn.Sequential from a factory) are
    labelled with the innermost frame outside the graphtorch package; called from here
    directly, that frame would be this console script. Compiling the call under the
    user's file name makes it `model.py:LINE in NAME` instead."""
    label = name.split(".")[-1] if name.split(".")[-1].isidentifier() else "target"
    source = "\n" * (line - 1) + f"def {label}(_fn, *_args, **_kw): return _fn(*_args, **_kw)\n"
    namespace: dict = {}
    exec(compile(source, os.path.abspath(path), "exec"), namespace)  # noqa: S102
    return namespace[label](fn, *args, **kwargs)


def _resolve(module, path: str, name: str, num_inputs: int):
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            found = sorted(k for k, v in vars(module).items()
                           if not k.startswith("_") and callable(v)
                           and getattr(v, "__module__", None) == module.__name__)
            hint = f" (it defines: {', '.join(found)})" if found else ""
            raise DumpError(f"{path} has no {name!r}{hint}")
        obj = getattr(obj, part)
    line = _definition_line(module, path, name, obj)
    try:
        if inspect.isclass(obj):
            if not issubclass(obj, Module):
                raise DumpError(f"{name} is a class but not a graphtorch nn.Module subclass")
            obj = obj()
        elif not isinstance(obj, Module) and callable(obj) and _is_factory(obj, num_inputs):
            obj = obj()
            if not callable(obj):
                raise DumpError(f"{name}() returned {type(obj).__name__}, not a Module "
                                "or function to trace")
    except DumpError:
        raise
    except Exception as exc:  # noqa: BLE001 - user code may raise anything
        raise DumpError(f"constructing {name} failed{_user_line(exc)}: "
                        f"{_one_line(exc)}") from None
    if isinstance(obj, Module):
        obj.eval()
    elif not callable(obj):
        raise DumpError(f"{name} is a {type(obj).__name__}, not a Module or function")
    return obj, line


def _is_factory(fn, num_inputs: int) -> bool:
    """A function that takes no arguments but would be given inputs: call it first."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    try:
        sig.bind()
    except TypeError:
        return False
    try:
        sig.bind(*range(num_inputs))
    except TypeError:
        return True
    return num_inputs == 0


def _render(graph, fmt: str) -> bytes:
    try:
        return graph.render(fmt)
    except GraphvizMissing as exc:
        raise DumpError(f"--format {fmt}: {exc}; use --format dot to get DOT text") from None
    except RuntimeError as exc:
        raise DumpError(str(exc)) from None


def _onnx_bytes(graph, traced, output) -> bytes:
    """The serialized ONNX model of `graph` (parameters as initializers; the trace's state
    write-backs are not model outputs)."""
    if not output:
        raise DumpError("--format onnx writes a binary model: give -o FILE.onnx")
    try:
        from graphtorch.ir.onnx_export import to_onnx  # lazy: it needs the optional onnx package
    except ImportError as exc:
        raise DumpError(f"--format onnx needs the onnx package ({exc.name} is missing): "
                        "pip install graphtorch[onnx]") from None

    try:
        model = to_onnx(graph, traced.params,
                        num_outputs=len(graph.outputs) - len(traced.mutated))
    except OnnxExporterError as exc:
        raise DumpError(_one_line(exc)) from None
    return model.SerializeToString()


def _dump(args) -> int:
    try:
        return _dump_or_raise(args)
    except DumpError as exc:
        print(f"graphtorch dump: error: {exc}", file=sys.stderr)
        return 1


def _dump_or_raise(args) -> int:
    passes = None
    if args.passes is not None:
        passes = list(DEFAULT_PIPELINE) if args.passes == "default" else \
            [p.strip() for p in args.passes.split(",") if p.strip()]
        unknown = [p for p in passes if p not in PASSES]
        if unknown:
            raise DumpError(f"--passes: unknown pass {unknown[0]!r}; choose from "
                            f"{', '.join(PASSES)} or 'default'")
    path, name = _parse_target(args.target)
    inputs_spec = args.input or []
    gt.manual_seed(0)
    inputs = [_parse_input(spec, args.dtype) for spec in inputs_spec]
    module = _load_file(path)
    target, line = _resolve(module, path, name, len(inputs))
    try:
        traced = _call_from_user_file(path, line, name, gt.trace, target, *inputs,
                                      optimize=False)  # --passes chooses what runs
    except TracingError as exc:
        raise DumpError(_one_line(exc)) from None
    except Exception as exc:  # noqa: BLE001 - user code may raise anything
        raise DumpError(f"tracing {name} failed{_user_line(exc)}: {_one_line(exc)}") from None
    graph = traced.graph
    if passes is not None:
        graph = run_passes(graph, passes)
    if args.format == "text":
        data = str(graph) + "\n"
    elif args.format == "dot":
        data = graph.to_dot()
    elif args.format == "json":
        data = graph.to_json() + "\n"
    elif args.format == "onnx":
        data = _onnx_bytes(graph, traced, args.output)
    else:
        data = _render(graph, args.format)
    if args.output:
        mode = "wb" if isinstance(data, bytes) else "w"
        try:
            with open(args.output, mode) as f:
                f.write(data)
        except OSError as exc:
            raise DumpError(f"cannot write {args.output}: {exc.strerror}") from None
    elif isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data)
    return 0


def _explain(args) -> int:
    """`graphtorch explain`: compile NAME, call it on the example inputs, print gt.explain."""
    try:
        path, name = _parse_target(args.target)
        gt.manual_seed(0)
        inputs = [_parse_input(spec, args.dtype) for spec in args.input or []]
        module = _load_file(path)
        target, line = _resolve(module, path, name, len(inputs))
        try:
            report = _call_from_user_file(path, line, name, explain, target, *inputs)
        except Exception as exc:  # noqa: BLE001 - user code may raise anything
            raise DumpError(f"compiling {name} failed{_user_line(exc)}: "
                            f"{_one_line(exc)}") from None
    except DumpError as exc:
        print(f"graphtorch explain: error: {exc}", file=sys.stderr)
        return 1
    print(report)
    return 0


def _run(args) -> int:
    """`graphtorch run`: start N ranks of a script with the MPI launcher (like torchrun)."""
    try:
        return run(args.nproc, [args.target, *args.args], args.module, args.mpiexec)
    except (OSError, ValueError) as exc:
        print(f"graphtorch run: error: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphtorch", description="Inspect graphtorch: its op registry and the traced graphs "
        "of your models.", epilog="example: graphtorch dump examples/lenet.py:Net "
        "--input 1,1,32,32  (see `graphtorch dump --help`)")
    parser.add_argument("--version", action="version", version=gt.__version__)
    sub = parser.add_subparsers(dest="command")
    ops = sub.add_parser("ops", help="list the registered primitive ops")
    ops.add_argument("--category", choices=["elementwise", "reduction", "view", "opaque"],
                     help="only ops of this category")
    ops.set_defaults(handler=_list_ops)
    dump = sub.add_parser(
        "dump", help="trace a model or function from a Python file and print its graph",
        description="Trace FILE.py:NAME with gt.trace on example inputs and print the graph.",
        epilog=DUMP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    dump.add_argument("target", metavar="FILE.py:NAME",
                      help="the Python file and the Module class / instance / function in it")
    dump.add_argument("--input", action="append", metavar="SHAPE[:DTYPE]",
                      help="one example input, e.g. 1,1,32,32 or 4,7:int64 (repeat per input)")
    dump.add_argument("--dtype", default="float32",
                      help="dtype of inputs that do not name one (default: float32)")
    dump.add_argument("--format", choices=["text", "dot", "json", "svg", "png", "onnx"],
                      default="text", help="text (default), Graphviz DOT, JSON "
                      "(Graph.from_json reads it back), SVG/PNG (runs Graphviz's `dot`), or "
                      "an ONNX model (needs -o; the onnx package)")
    dump.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    dump.add_argument("--passes", metavar="LIST",
                      help="optimisation passes to run first: comma-separated names "
                      "(simplify,cse,constant_folding,dce,fuse,memory_plan) or 'default'")
    dump.set_defaults(handler=_dump)
    explain = sub.add_parser(
        "explain", help="compile a model or function, call it, and explain what gt.compile "
        "did (guards, graph breaks, recompiles, fusion, saved tensors)",
        description="Compile FILE.py:NAME with gt.compile, call it on example inputs and print "
        "gt.explain's report.", epilog=EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    explain.add_argument("target", metavar="FILE.py:NAME",
                         help="the Python file and the Module class / instance / function")
    explain.add_argument("--input", action="append", metavar="SHAPE[:DTYPE]",
                         help="one example input, e.g. 1,1,32,32 (repeat per input)")
    explain.add_argument("--dtype", default="float32",
                         help="dtype of inputs that do not name one (default: float32)")
    explain.set_defaults(handler=_explain)
    run = sub.add_parser(
        "run", help="run a script on N ranks with the MPI launcher (graphtorch.distributed)",
        description="Start N processes of SCRIPT through mpiexec; each calls "
        "dist.init_process_group() and gets its rank from MPI.",
        epilog="example: graphtorch run -n 2 examples/ddp_digits.py --epochs 3")
    run.add_argument("-n", "--nproc", "--nproc-per-node", dest="nproc", type=int, default=1,
                     help="number of processes (default: 1)")
    run.add_argument("-m", dest="module", action="store_true",
                     help="run TARGET as a module (python -m TARGET)")
    run.add_argument("--mpiexec", metavar="PATH", help="the MPI launcher to use (default: the "
                     "one installed with this Python, else mpiexec on PATH)")
    run.add_argument("target", metavar="SCRIPT.py", help="the script (or module with -m)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    run.set_defaults(handler=_run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
