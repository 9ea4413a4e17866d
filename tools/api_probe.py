"""Which PyTorch names does graphtorch still lack?

The probe takes PyTorch's indices from the installed torch - every torch.nn module, every
torch.nn.functional function, the torch.optim optimizers and schedulers, torch.utils.data
and torch.distributions - plus the names tutorial programs use (tools/tutorial_names.txt,
which also holds the names found in the seed notes), and looks each one up in graphtorch.
The missing ones, grouped by namespace, form README.md's "What is not supported yet"
section; tests/test_api_probe.py fails when that section is out of date.

    python3 tools/api_probe.py                  # print the section
    python3 tools/api_probe.py --update-readme  # rewrite it in README.md
    python3 tools/api_probe.py --seeds DIR      # print names found in notes under DIR
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES_FILE = os.path.join(ROOT, "tools", "tutorial_names.txt")
README = os.path.join(ROOT, "README.md")
START, END = "<!-- api-probe:start -->", "<!-- api-probe:end -->"

# torch.nn.functional also exports typing helpers and torch_function plumbing.
_NOT_API_MODULES = ("typing", "torch._jit_internal", "torch.overrides", "torch._C")
_NOT_API_NAMES = {"assert_int_or_pair"}


def _public(module, want=lambda obj: True) -> list[str]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    return sorted(n for n in names if not n.startswith("_") and hasattr(module, n)
                  and want(getattr(module, n)))


def _is_functional_api(obj) -> bool:
    return (callable(obj) and not inspect.isclass(obj) and not inspect.ismodule(obj)
            and getattr(obj, "__module__", "") not in _NOT_API_MODULES)


def torch_index_names() -> list[str]:
    """Dotted names from PyTorch's own indices (the installed torch)."""
    import torch
    import torch.distributions
    import torch.nn.functional
    import torch.optim.lr_scheduler
    import torch.utils.data

    names = [f"torch.nn.{n}" for n in torch.nn.modules.__all__]
    names += [f"torch.nn.{n}" for n in ("Parameter", "Buffer", "DataParallel", "init",
                                        "utils", "functional")]
    names += [f"torch.nn.functional.{n}" for n in _public(torch.nn.functional,
                                                          _is_functional_api)
              if n not in _NOT_API_NAMES]
    names += [f"torch.optim.{n}" for n in _public(torch.optim, inspect.isclass)]
    names += [f"torch.optim.lr_scheduler.{n}" for n in _public(torch.optim.lr_scheduler,
                                                               inspect.isclass)]
    names += [f"torch.utils.data.{n}" for n in _public(torch.utils.data)]
    names += [f"torch.accelerator.{n}" for n in _public(torch.accelerator)]
    return names


def tutorial_names() -> list[str]:
    with open(NAMES_FILE) as f:
        return [line.split("#", 1)[0].strip() for line in f
                if line.split("#", 1)[0].strip()]


def resolve(root, dotted: str) -> bool:
    """Whether `dotted` (``torch.a.b``) exists under `root` (graphtorch for ``torch``)."""
    obj = root
    parts = dotted.split(".")[1:]
    for i, part in enumerate(parts):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        module = getattr(obj, "__name__", None)
        if inspect.ismodule(obj) and module:
            try:  # a submodule not imported by its package
                obj = importlib.import_module(f"{module}.{part}")
                continue
            except ImportError:
                pass
        return False
    return True


def probed_names() -> list[str]:
    """Every name the probe checks: PyTorch's indices and the tutorial list, deduplicated,
    restricted to names the installed torch has."""
    import torch

    seen = dict.fromkeys(torch_index_names() + tutorial_names())
    return [n for n in seen if resolve(torch, n)]


def missing_names() -> tuple[list[str], int]:
    import graphtorch

    names = probed_names()
    return [n for n in names if not resolve(graphtorch, n)], len(names)


def _namespace(name: str) -> str:
    for prefix in ("torch.nn.functional", "torch.optim.lr_scheduler", "torch.nn", "torch.optim",
                   "torch.utils.data", "torch.distributions", "torch.autograd",
                   "torch.accelerator"):
        if name.startswith(prefix + "."):
            return prefix
    return "torch"


def readme_section() -> str:
    """The README section listing the missing names (the text between the markers)."""
    missing, total = missing_names()
    groups: dict[str, list[str]] = {}
    for name in missing:
        ns = _namespace(name)
        groups.setdefault(ns, []).append(name[len(ns) + 1:])
    intro = (f"`python3 tools/api_probe.py` looks up {total} PyTorch names in graphtorch: "
             "every torch.nn module, torch.nn.functional function, optimizer, scheduler and "
             "torch.utils.data name of the installed PyTorch, plus the names tutorial "
             "programs use (`tools/tutorial_names.txt`). "
             + (f"These {len(missing)} are missing" if missing else "None is missing")
             + " (a test keeps this list current; `--update-readme` rewrites it)"
             + (":" if missing else "."))
    lines = [START, "## What is not supported yet", "", *textwrap.wrap(intro, 92), ""]
    for ns in sorted(groups):
        items = ", ".join(f"`{n}`" for n in sorted(groups[ns]))
        lines += textwrap.wrap(f"- `{ns}`: {items}", 92, subsequent_indent="  ",
                               break_on_hyphens=False)
    lines.append(END)
    return "\n".join(lines)


def update_readme() -> None:
    with open(README) as f:
        text = f.read()
    section = readme_section()
    if START in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: section, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(README, "w") as f:
        f.write(text)


def seed_names(folder: str) -> list[str]:
    """PyTorch names mentioned in the notes under `folder` (torch.x.y, nn.X, F.x, optim.X)."""
    import torch

    found = set()
    patterns = [(r"\btorch(?:\.[A-Za-z_]\w*)+", ""), (r"\bnn\.([A-Z]\w*)", "torch.nn."),
                (r"\bF\.([a-z_]\w*)", "torch.nn.functional."),
                (r"\boptim\.([A-Z]\w*)", "torch.optim."),
                (r"\blr_scheduler\.([A-Z]\w*)", "torch.optim.lr_scheduler.")]
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), errors="replace") as f:
            text = f.read()
        for pattern, prefix in patterns:
            for match in re.findall(pattern, text):
                dotted = prefix + match
                while dotted.count(".") and not resolve(torch, dotted):
                    dotted = dotted.rsplit(".", 1)[0]  # drop trailing attribute noise
                if dotted != "torch":
                    found.add(dotted)
    return sorted(found)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true",
                        help="rewrite the section in README.md")
    parser.add_argument("--seeds", metavar="DIR", help="print the PyTorch names in DIR's notes")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    if args.seeds:
        print("\n".join(seed_names(args.seeds)))
    elif args.update_readme:
        update_readme()
    else:
        print(readme_section())
    return 0


if __name__ == "__main__":
    sys.exit(main())
