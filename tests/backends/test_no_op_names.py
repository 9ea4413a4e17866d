"""Passes and backends know ops by their OpDef, never by name: rules, renderings and
aliasing live on the OpDef or in tables keyed by it, so a renamed or new op cannot be
silently skipped by a string comparison."""

from __future__ import annotations

import ast
from pathlib import Path

import graphtorch
from graphtorch.ops.registry import REGISTRY

PACKAGE = Path(graphtorch.__file__).parent
# Strings that equal an op name but mean something else there.
NOT_OP_NAMES = {("passes/pipeline.py", "all")}  # "dump after all passes"
# The OpDef-keyed rendering table itself: its strings are C function names.
TABLES = {"backends/cuda_ops.py"}


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            ids.add(id(body[0].value))
    return ids


def test_no_op_name_strings_in_passes_or_backends():
    names = set(REGISTRY) | {"fused", "constant"}
    found = []
    for folder in ("passes", "backends"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            rel = f"{folder}/{path.name}"
            if rel in TABLES:
                continue
            tree = ast.parse(path.read_text())
            docs = _docstrings(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and node.value in names and id(node) not in docs \
                        and (rel, node.value) not in NOT_OP_NAMES:
                    found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "op names as strings (key tables by OpDef):\n" + "\n".join(found)
