"""Every public graphtorch function and Tensor method accepts PyTorch's keyword names.

PyTorch's names come from the function's Python signature where it has one, else from the
generated type stubs (`torch/_C/*.pyi`: every overload), each name confirmed by calling
PyTorch with it (its argument parser rejects names it does not know; a few stub names are
not real keywords, e.g. `Tensor.requires_grad_(mode=)`). A graphtorch function passes when
each such name binds to one of its parameters (or its ``**kwargs``).
"""

from __future__ import annotations

import ast
import inspect
import keyword
import os
import re
from functools import lru_cache

import pytest

import graphtorch as gt
from tests.autograd.diff import torch

# Names that are not part of the public surface graphtorch follows: private parameters
# (leading underscore) and named-tensor dimension names.
IGNORED_NAMES = {"names"}

# Where graphtorch's function is not PyTorch's function of that name, or its signature
# belongs to a module this test's owner may not change; each entry says why.
EXEMPT = {
    # gt.trace(fn, *inputs) is graphtorch's tracer; on a tensor it computes torch.trace,
    # whose `input=` keyword needs a change in graphtorch/ir/tracer.py (owned elsewhere).
    ("torch", "trace"),
    # gt.compile's signature is being rewritten with the compile idioms (issue 16's
    # compile section, graphtorch/compiler/*).
    ("torch", "compile"),
    # gt.while_loop has JAX's semantics (cond_fn(carry) on one pytree), not those of
    # torch's higher-order while_loop (cond_fn(*carried_inputs)): another function.
    ("torch", "while_loop"),
    # Removed from PyTorch (calling them raises); graphtorch keeps the legacy functions.
    ("torch", "eig"), ("Tensor", "solve"), ("Tensor", "lstsq"),
    # C builtins whose PyTorch stubs carry no parameter names to compare with.
    ("torch", "get_autocast_dtype"), ("torch", "is_autocast_enabled"),
    ("torch", "is_anomaly_enabled"), ("torch", "is_anomaly_check_nan_enabled"),
    # torch.linalg.lu_factor is a C builtin whose signature the probe cannot read; its
    # keywords (A, pivot, out) are used in tests/functions/test_lu.py.
    ("linalg", "lu_factor"),
}


class _Probe:
    """An argument no PyTorch function accepts, so a probing call never does any work."""


_TD = os.path.dirname(torch.__file__)


@lru_cache(maxsize=None)
def _stubs(path: str, cls: str | None = None) -> dict:
    """{function name: set of parameter names} over every overload in a .pyi stub."""
    with open(os.path.join(_TD, "_C", path)) as f:
        tree = ast.parse(f.read())
    body = tree.body
    if cls is not None:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    names: dict = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            args = node.args.args + node.args.kwonlyargs
            names.setdefault(node.name, set()).update(a.arg for a in args if a.arg != "self")
    return names


def _keyword_name(stub_name: str) -> str:
    """Stubs spell Python keywords with a trailing underscore (`from_`); the parser does not."""
    stripped = stub_name[:-1]
    return stripped if stub_name.endswith("_") and keyword.iskeyword(stripped) else stub_name


_REMOVED = "is now removed"  # PyTorch keeps removed functions as stubs that always raise


def _torch_accepts(fn, name: str) -> bool | None:
    """Whether PyTorch's parser knows keyword `name` (None: the function was removed). A
    call that first complains about a missing positional argument is retried with a tensor
    for it, so that the parser reaches the keyword."""
    for args in ((), (torch.ones(2, 2),)):
        try:
            fn(*args, **{name: _Probe()})
        except TypeError as exc:
            text = str(exc)
            if f"unexpected keyword argument '{name}'" in text or \
                    "takes no keyword arguments" in text:
                return False
            if "invalid combination of arguments" in text:
                expected = text.split("but expected one of", 1)[-1]
                return re.search(rf"\b{re.escape(name)}\b", expected) is not None
            if "required positional argument" in text and not args:
                continue
            return True
        except Exception as exc:  # noqa: BLE001 - any other complaint: the name was understood
            return None if _REMOVED in str(exc) else True
        return True
    return True


def _doc_names(torch_fn) -> set | None:
    """The parameter names in the first line of PyTorch's docstring, which spells the
    signature (``linalg.norm(input, ord=None, dim=None, keepdim=False, *, out=None, ...)``)."""
    first = (torch_fn.__doc__ or "").strip().splitlines()[:1]
    match = re.match(r"[\w.]+\((.*?)\)( ->|$)", first[0]) if first else None
    if match is None:
        return None
    try:
        args = ast.parse(f"def f({match.group(1)}): pass").body[0].args
    except SyntaxError:
        return None
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}


def torch_keywords(torch_fn, stub_names) -> set | None:
    """PyTorch's keyword names of `torch_fn`: its Python signature, else the names of its
    stubs or docstring that its argument parser accepts; None where none is found."""
    try:
        params = inspect.signature(torch_fn).parameters.values()
        return {p.name for p in params
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
    except (TypeError, ValueError):
        pass
    candidates = stub_names if stub_names is not None else _doc_names(torch_fn)
    if candidates is None:
        return None
    names = set()
    for name in map(_keyword_name, candidates):
        accepted = _torch_accepts(torch_fn, name)
        if accepted is None:
            return set()  # a removed function: no signature to follow
        if accepted:
            names.add(name)
    return names


def missing_keywords(gt_fn, names) -> list:
    params = inspect.signature(gt_fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return []
    return sorted(n for n in names if n not in params or params[n].kind not in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))


def _namespaces():
    return {
        "torch": (gt, torch, lambda name: _stubs("_VariableFunctions.pyi").get(name)),
        "Tensor": (gt.Tensor, torch.Tensor, lambda name: _stubs("__init__.pyi",
                                                                "TensorBase").get(name)),
        "nn.functional": (gt.nn.functional, torch.nn.functional, lambda name: (
            _stubs("_nn.pyi").get(name) or _stubs("_VariableFunctions.pyi").get(name))),
        "nn.init": (gt.nn.init, torch.nn.init, lambda name: None),
        "linalg": (gt.linalg, torch.linalg, lambda name: None),
        "special": (gt.special, torch.special, lambda name: None),
        "fft": (gt.fft, torch.fft, lambda name: None),
        "autograd": (gt.autograd, torch.autograd, lambda name: None),
        "autograd.forward_ad": (gt.autograd.forward_ad, torch.autograd.forward_ad,
                                lambda name: None),
    }


def _pairs():
    for label, (ours, theirs, stubs) in _namespaces().items():
        for name in sorted(dir(ours)):
            if name.startswith("_") or not hasattr(theirs, name) or (label, name) in EXEMPT:
                continue
            gt_fn, torch_fn = getattr(ours, name), getattr(theirs, name)
            if inspect.isclass(gt_fn) or inspect.ismodule(gt_fn) or not callable(gt_fn):
                continue
            if label == "Tensor":
                torch_fn = getattr(torch.ones(2, 2), name)  # bound: probes need a self
            yield label, name, gt_fn, torch_fn, stubs(name)


def collect_mismatches():
    problems, unknown = {}, []
    for label, name, gt_fn, torch_fn, stub_names in _pairs():
        names = torch_keywords(torch_fn, stub_names)
        if names is None:
            unknown.append(f"{label}.{name}")
            continue
        names = {n for n in names if not n.startswith("_")} - IGNORED_NAMES
        missing = missing_keywords(gt_fn, names)
        if missing:
            problems[f"{label}.{name}"] = missing
    return problems, unknown


def test_keyword_names_match_pytorch():
    problems, unknown = collect_mismatches()
    assert not problems, "graphtorch lacks PyTorch's keyword names:\n" + "\n".join(
        f"  {k}: {v}" for k, v in sorted(problems.items()))
    assert not unknown, f"PyTorch signatures not found for {unknown}; exempt them with a reason"


def test_probe_recognises_unknown_keywords():
    assert not _torch_accepts(torch.ones(2).requires_grad_, "mode")
    assert _torch_accepts(torch.ones(2).requires_grad_, "requires_grad")
    assert _torch_accepts(torch.max, "other") and not _torch_accepts(torch.max, "nonsense")
    assert missing_keywords(lambda input, *, out=None: 0, {"input", "out", "dim"}) == ["dim"]


@pytest.mark.parametrize("call", [
    lambda lib: lib.arange(6).view(2, 3).flip(dims=(1,)),
    lambda lib: lib.arange(6).reshape(shape=(2, 3)),
    lambda lib: lib.reshape(lib.arange(6), shape=(3, 2)),
    lambda lib: lib.arange(6).view(size=(3, 2)),
    lambda lib: lib.ones(2, 3).permute(dims=(1, 0)),
    lambda lib: lib.ones(2, 1).expand(size=(2, 4)),
    lambda lib: lib.ones(2, 1).repeat(repeats=(1, 3)),
    lambda lib: lib.max(lib.tensor([1.0, 5.0]), other=lib.tensor([3.0, 2.0])),
    lambda lib: lib.arange(6).split(split_size=4),
    lambda lib: lib.tensor_split(lib.arange(7), sections=3),
    lambda lib: lib.tensor_split(lib.arange(7), indices=[2, 5]),
    lambda lib: lib.dot(lib.ones(3), tensor=lib.ones(3)),
    lambda lib: lib.ones(2).requires_grad_(requires_grad=True),
], ids=lambda f: "")
def test_keyword_calls_equal_torch(call):
    from tests.autograd.diff import same

    same(call)
