"""Run a seed-note snippet under PyTorch and graphtorch and compare what each prints.

A snippet is executed twice in this process, once with `torch` bound to PyTorch (the
oracle) and once bound to graphtorch, each in fresh globals. Top-level expression
statements echo their `repr` as in the interactive session the notes were written in, so
`torch.ones(3, 3)` alone on a line is checked too. Stdout, the exception raised (type and
message) and the warnings emitted must agree; nothing is hard-coded from PyTorch.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import os
import re
import tempfile
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

@dataclass
class Snippet:
    """One runnable snippet of a seed note.

    name: the test id. code: the snippet, kept as close to the note as possible.
    nn: uses nn/optim/DataLoader/save/load (the model-code side of the notes).
    xfail: the reason this snippet is expected to differ from PyTorch by design (strict).
    compare_warnings: compare the warnings both libraries emit, by category and first
        sentence (off where PyTorch warns about its own internals, e.g. TypedStorage).
    seed: `torch.manual_seed(seed)` runs before the snippet, so random inputs agree.
    echo: show top-level expression values as a REPL does (off for snippets the note
        writes as scripts, where only print() output is seen).
    """

    name: str
    code: str
    nn: bool = False
    compare_warnings: bool = True
    seed: int = 0
    echo: bool = True
    xfail: str | None = None


@dataclass
class Outcome:
    """What one run of a snippet showed: stdout, the exception (if any) and the warnings."""

    stdout: str
    error: tuple[str, str] | None
    warnings: list[tuple[str, str]] = field(default_factory=list)


def params(snippets: list[Snippet]) -> list:
    """pytest params for `snippets`; deliberate differences carry a strict xfail mark."""
    out = []
    for s in snippets:
        marks = [pytest.mark.xfail(reason=s.xfail, strict=True)] if s.xfail else []
        out.append(pytest.param(s, id=s.name, marks=marks))
    return out


# --- source rewriting -----------------------------------------------------------------

def _import_value(lib_name: str, module: str):
    """The module `module` (a `torch...` dotted name) of the library under test."""
    return importlib.import_module(lib_name + module[len("torch"):])


class _Rewrite(ast.NodeTransformer):
    """`import torch...` binds the library under test; top-level expressions echo."""

    @staticmethod
    def _is_torch(name: str | None) -> bool:
        return name is not None and (name == "torch" or name.startswith("torch."))

    def _load(self, module: str) -> ast.expr:
        return ast.Call(ast.Name("__import_lib__", ast.Load()), [ast.Constant(module)], [])

    def visit_Import(self, node: ast.Import):
        if not any(self._is_torch(a.name) for a in node.names):
            return node
        out: list[ast.stmt] = []
        for alias in node.names:
            if not self._is_torch(alias.name):
                out.append(ast.Import([alias]))
            elif alias.asname:  # import torch.nn as nn
                out.append(ast.Assign([ast.Name(alias.asname, ast.Store())],
                                      self._load(alias.name)))
            else:  # import torch / import torch.nn: binds `torch`, loads the submodule
                out.append(ast.Expr(self._load(alias.name)))
                out.append(ast.Assign([ast.Name("torch", ast.Store())], self._load("torch")))
        return out

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if not self._is_torch(node.module):
            return node
        out: list[ast.stmt] = []
        for alias in node.names:  # from torch.autograd import Variable
            module = self._load(node.module)
            try_sub = f"{node.module}.{alias.name}"
            value = ast.Call(ast.Name("__from_lib__", ast.Load()),
                             [module, ast.Constant(alias.name), ast.Constant(try_sub)], [])
            out.append(ast.Assign([ast.Name(alias.asname or alias.name, ast.Store())], value))
        return out


def compile_snippet(code: str, filename: str, echo: bool = True):
    """Compile `code` with torch imports redirected and (if `echo`) top-level expressions
    echoed."""
    tree = _Rewrite().visit(ast.parse(textwrap.dedent(code)))
    body = []
    for node in tree.body:
        if echo and isinstance(node, ast.Expr) and not _is_import_call(node.value):
            node = ast.Expr(ast.Call(ast.Name("__echo__", ast.Load()), [node.value], []))
        body.append(node)
    tree.body = body
    ast.fix_missing_locations(tree)
    return compile(tree, filename, "exec")


def _is_import_call(expr: ast.expr) -> bool:
    return (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id == "__import_lib__")


# --- running --------------------------------------------------------------------------

def _echo(value) -> None:
    """sys.displayhook's rule: show repr(value) unless it is None."""
    if value is not None:
        print(repr(value))


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_TRIGGERED = re.compile(r"\s*\(Triggered internally at [^)]*\)")


def normalize(text: str, lib_name: str) -> str:
    """Remove what legitimately differs: object addresses and the library's own name."""
    text = _ADDRESS.sub(" at 0x…", text)
    if lib_name != "torch":
        text = re.sub(rf"\b{lib_name}\b", "torch", text)
    return text


def run(snippet: Snippet, lib) -> Outcome:
    """Execute `snippet` with `torch` bound to `lib` and record what it showed."""
    lib_name = lib.__name__
    code = compile_snippet(snippet.code, f"<seed snippet {snippet.name} ({lib_name})>",
                           snippet.echo)
    env = {
        "__name__": "__seed_snippet__",
        "__builtins__": __builtins__,
        "__echo__": _echo,
        "__import_lib__": lambda module: _import_value(lib_name, module),
        "__from_lib__": _from_lib,
        "torch": lib,
        "np": np,
        "Variable": lib.autograd.Variable,
    }
    grad_enabled = lib.is_grad_enabled()
    default_dtype = lib.get_default_dtype()
    cwd = os.getcwd()
    buf = io.StringIO()
    error = None
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        os.chdir(tmp)  # save/load snippets write relative paths
        try:
            lib.manual_seed(snippet.seed)  # deterministic random inputs, same in both runs
            with contextlib.redirect_stdout(buf):
                exec(code, env)
        except Exception as exc:  # noqa: BLE001 - the exception is the observable result
            error = (type(exc).__name__, normalize(str(exc), lib_name))
        finally:
            os.chdir(cwd)
            lib.set_grad_enabled(grad_enabled)  # a snippet may switch grad mode globally
            lib.set_default_dtype(default_dtype)
    seen = [(w.category.__name__, _first_sentence(normalize(str(w.message), lib_name)))
            for w in caught]
    return Outcome(normalize(buf.getvalue(), lib_name), error, seen)


def _first_sentence(message: str) -> str:
    """A warning's first sentence: the rest is advice worded freely (links, hints)."""
    message = _TRIGGERED.sub("", message)
    return message.split(". ")[0]


def _from_lib(module, name: str, submodule: str):
    """`from torch.x import name`: an attribute, else a submodule (as `import` does)."""
    try:
        return getattr(module, name)
    except AttributeError:
        lib_name = module.__name__.split(".")[0]
        try:
            return _import_value(lib_name, submodule)
        except ModuleNotFoundError:
            raise ImportError(f"cannot import name '{name}' from '{module.__name__}'") from None


def check(snippet: Snippet) -> None:
    """Assert graphtorch prints, raises and warns exactly what PyTorch does."""
    torch = pytest.importorskip("torch")  # the oracle; conftest makes it required in CI

    import graphtorch

    want = run(snippet, torch)
    got = run(snippet, graphtorch)
    if want.stdout != got.stdout:
        raise AssertionError(_diff("stdout", want.stdout, got.stdout, want, got))
    if want.error != got.error:
        raise AssertionError(
            f"exception differs\n  torch:      {want.error}\n  graphtorch: {got.error}\n"
            f"--- stdout (identical) ---\n{want.stdout}")
    if snippet.compare_warnings and want.warnings != got.warnings:
        raise AssertionError(
            f"warnings differ\n  torch:      {want.warnings}\n  graphtorch: {got.warnings}")


def _diff(what: str, want: str, got: str, w: Outcome, g: Outcome) -> str:
    wl, gl = want.splitlines(), got.splitlines()
    first = next((i for i, (a, b) in enumerate(zip(wl, gl)) if a != b), min(len(wl), len(gl)))
    lo = max(0, first - 3)
    return (f"{what} differs from line {first + 1}\n"
            f"--- torch ---\n" + "\n".join(wl[lo:first + 8]) + "\n"
            "--- graphtorch ---\n" + "\n".join(gl[lo:first + 8]) + "\n"
            f"exceptions: torch={w.error} graphtorch={g.error}")
