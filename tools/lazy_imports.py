"""List graphtorch's function-level imports of its own modules (the "lazy" imports).

Run: python3 tools/lazy_imports.py [--graph]
Each lazy import must carry a one-line comment saying why it cannot be at module level (on
its line or the line above); `tests/test_layering.py` keeps their number under a budget.
`--graph` also prints the import cycles among modules (all imports counted).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "graphtorch"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    targets: tuple[str, ...]  # the graphtorch modules imported
    lazy: bool  # inside a function body
    reason: str  # the comment that explains a lazy import ("" if none)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _known_modules() -> set[str]:
    return {module_name(p) for p in (ROOT / PACKAGE).rglob("*.py")}


def _targets(node, module: str, is_package: bool, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
    base_parts = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base_parts = base_parts[:len(base_parts) - node.level + 1]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base.split(".")[0] != PACKAGE:
        return []
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in known else base)
    return sorted(set(out))


def _comment(lines: list[str], line: int) -> str:
    text = lines[line - 1]
    if "#" in text:
        return text.split("#", 1)[1].strip()
    above = lines[line - 2].strip() if line >= 2 else ""
    return above[1:].strip() if above.startswith("#") else ""


def scan() -> list[Import]:
    known = _known_modules()
    found = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        module = module_name(path)
        is_package = path.name == "__init__.py"

        def visit(node, lazy):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    targets = _targets(child, module, is_package, known)
                    if targets:
                        found.append(Import(module, path, child.lineno, tuple(targets), lazy,
                                            _comment(lines, child.lineno) if lazy else ""))
                inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda))
                visit(child, inner)

        visit(ast.parse(source), False)
    return found


def cycles(imports: list[Import]) -> list[set[str]]:
    import networkx as nx

    graph = nx.DiGraph()
    for imp in imports:
        for target in imp.targets:
            if target != imp.module:
                graph.add_edge(imp.module, target)
    return [c for c in nx.strongly_connected_components(graph) if len(c) > 1]


def main(argv: list[str]) -> None:
    imports = scan()
    lazy = [i for i in imports if i.lazy]
    for imp in lazy:
        where = f"{imp.path.relative_to(ROOT)}:{imp.line}"
        print(f"{where:48} {', '.join(imp.targets):40} # {imp.reason or 'NO REASON'}")
    print(f"{len(lazy)} function-level internal imports of {len(imports)} internal imports")
    if "--graph" in argv:
        for cycle in cycles(imports):
            print(f"cycle of {len(cycle)} modules: {' '.join(sorted(cycle))}")


if __name__ == "__main__":
    main(sys.argv[1:])
