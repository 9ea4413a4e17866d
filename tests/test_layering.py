"""The layers hold: import-linter's contract passes, few imports hide in functions (each
with its reason), and graphtorch imports without its optional packages."""

import importlib.util
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_SPEC = importlib.util.spec_from_file_location("lazy_imports", ROOT / "tools" / "lazy_imports.py")
lazy_imports = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("lazy_imports", lazy_imports)  # its dataclass looks itself up
_SPEC.loader.exec_module(lazy_imports)

# Issue 15's bar: at most ~40 function-level imports of graphtorch modules in graphtorch/.
BUDGET = 40
# The passes and backends are being rewritten (issue 15, part 1); their imports get reasons
# (or move to the top) there.
NOT_YET_EXPLAINED = ("graphtorch/passes/", "graphtorch/backends/")


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_function_level_imports_are_few():
    lazy = [i for i in lazy_imports.scan() if i.lazy]
    assert len(lazy) <= BUDGET, "\n".join(
        f"{i.path.relative_to(ROOT)}:{i.line}" for i in lazy)


def test_every_function_level_import_says_why():
    unexplained = [f"{i.path.relative_to(ROOT)}:{i.line}" for i in lazy_imports.scan()
                   if i.lazy and not i.reason
                   and not str(i.path.relative_to(ROOT)).startswith(NOT_YET_EXPLAINED)]
    assert unexplained == []


def test_the_import_linter_contracts_hold():
    pytest.importorskip("importlinter")
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(" \
           "no_logo=True, no_cache=True))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_graphtorch_imports_without_its_optional_packages():
    code = textwrap.dedent("""
        import importlib.abc, sys
        OPTIONAL = {"onnx", "onnxruntime", "cupy", "mpi4py", "threadpoolctl", "ml_dtypes",
                    "torch", "sklearn", "matplotlib", "tqdm", "importlinter", "grimp"}
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in OPTIONAL:
                    raise ImportError(name + " is hidden")
        sys.meta_path.insert(0, Hide())
        import graphtorch as gt, graphtorch.cli, graphtorch.nn.functional
        assert (gt.ones(2) + 1).tolist() == [2.0, 2.0]
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
