"""`graphtorch/tensor_methods.py` is the one place that binds Tensor methods."""

import ast
import pathlib

from graphtorch import tensor_methods
from graphtorch.tensor import Tensor

PACKAGE = pathlib.Path(tensor_methods.__file__).parent


def _class_body_names() -> set:
    tree = ast.parse((PACKAGE / "tensor.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    names = set()
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_tensor_attribute_is_in_the_class_body_or_the_table():
    own = _class_body_names()
    slots = set(Tensor.__slots__)
    automatic = {"__module__", "__doc__", "__dict__", "__weakref__", "__slots__"}
    unexplained = [name for name in Tensor.__dict__
                   if name not in own | slots | automatic | set(tensor_methods.METHODS)]
    assert unexplained == []


def test_the_table_and_the_class_body_do_not_overlap():
    assert set(tensor_methods.METHODS) & _class_body_names() == set()


def test_the_table_is_what_tensor_holds():
    for name, implementation in tensor_methods.METHODS.items():
        assert Tensor.__dict__[name] is implementation, name


def test_no_other_module_binds_tensor_methods():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "tensor_methods.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and \
                    node.args and getattr(node.args[0], "id", None) == "Tensor":
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                        if isinstance(t, ast.Attribute) and getattr(t.value, "id", None) == \
                                "Tensor":
                            offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
