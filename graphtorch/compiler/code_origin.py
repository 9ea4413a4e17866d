"""Where code comes from, for the read recorder: graphtorch itself, a library (the standard
library, site-packages) or the user's code. Code made at run time (``<string>``: dataclass
methods, namedtuple methods, exec) belongs to the module whose globals it runs with."""

from __future__ import annotations

import os
import sys
import sysconfig

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(p) + os.sep for key in
                              ("stdlib", "platstdlib", "purelib", "platlib")
                              if (p := sysconfig.get_paths().get(key))}, key=len,
                             reverse=True))

def category_of(filename: str, module: str = "") -> str:
    """graphtorch, library (stdlib, site-packages) or user code. Code made at run time
    (``<string>``: dataclass methods, exec) belongs to the module whose globals it uses."""
    if filename.startswith("<") and not filename.startswith("<frozen"):
        if module == "graphtorch" or module.startswith("graphtorch."):
            return "graphtorch"
        if module.split(".")[0] in _LIBRARY_MODULES or module.startswith("namedtuple_"):
            return "library"  # namedtuple methods are made by collections with exec
        return "user"
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_PACKAGE_DIR):
        return "graphtorch"
    if filename.startswith("<frozen") or path.startswith(_LIBRARY_DIRS):
        return "library"
    return "user"


_LIBRARY_MODULES = frozenset(sys.stdlib_module_names) | {"numpy", "networkx"}


