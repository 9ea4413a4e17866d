"""A scenario: module source plus how to drive it, and how to load it as a fresh module.

The source defines (names are the protocol the runner relies on):
- ``target``: the function (or Module) compiled in one run and called plainly in the other;
- ``make_args(call)``: the positional arguments of call number ``call`` (0-based);
- optional ``invoke(fn, args)``: how to call it (e.g. under ``gt.no_grad()``);
- optional ``after(call, out)``: user code after the call (a backward, an optimizer step);
- optional ``between(call)``: state changes before the next call (a global rebound, a hook
  added, an lr changed);
- optional ``observe()``: a dict of everything else to compare after every call (modules,
  optimizers, schedulers, captured tensors, Python counters).

Module-level code builds the state; it runs after ``gt.manual_seed(seed)`` and
``random.seed(seed)``, so two loads of one scenario start from identical states.
"""

from __future__ import annotations

import linecache
import random
from dataclasses import dataclass, field

import graphtorch as gt

HEADER = "import random\nimport graphtorch as gt\nfrom graphtorch import nn\n"


@dataclass
class Scenario:
    family: str
    kind: str
    source: str                     # module source, HEADER included
    seed: int = 0
    calls: int = 3
    compile_kwargs: dict = field(default_factory=dict)
    reseed_each_call: bool = True   # gt.manual_seed / random.seed before every call
    expect_eager_error: str | None = None  # exception class name a valid program raises

    @property
    def filename(self) -> str:
        """The file name the source is compiled under: errors that blame the user's code
        name it (``fuzz_guards_global_scalar_17.py:12``)."""
        return f"fuzz_{self.family}_{self.kind}_{self.seed}.py"

    def call_seed(self, call: int) -> int:
        return self.seed * 1000 + 7 * call + 1

    def reproducer(self) -> str:
        """The source followed by the driver loop both runs execute, as one script: run it
        with COMPILED = False and True and compare what it prints."""
        options = "".join(f", {k}={v!r}" for k, v in self.compile_kwargs.items())
        seed = f"{self.seed} * 1000 + 7 * call + 1"
        driver = [
            "",
            "# --- driver: the same for both runs; set COMPILED = False for eager ---",
            "COMPILED = True",
            f"fn = gt.compile(target{options}) if COMPILED else target",
            f"for call in range({self.calls}):",
            f"    gt.manual_seed({seed}); random.seed({seed})" if self.reseed_each_call
            else None,
            "    args = make_args(call)",
            "    out = invoke(fn, args) if 'invoke' in globals() else fn(*args)",
            "    print(call, out, args)",
            "    if 'after' in globals():",
            "        after(call, out)",
            "    if 'observe' in globals():",
            "        print(observe())",
            "    if 'between' in globals():",
            "        between(call)",
        ]
        body = self.source.removeprefix(HEADER)
        return f"# family={self.family} kind={self.kind} seed={self.seed}\n{HEADER}" \
               f"gt.manual_seed({self.seed}); random.seed({self.seed})\n{body}" + \
               "\n".join(line for line in driver if line is not None) + "\n"


def load(scenario: Scenario) -> dict:
    """Execute the scenario's source as a fresh module namespace (real globals, closures
    and cells), registered with linecache so tracebacks and tracer messages show it."""
    filename = scenario.filename
    lines = scenario.source.splitlines(True)
    linecache.cache[filename] = (len(scenario.source), None, lines, filename)
    namespace = {"__name__": f"fuzz_{scenario.family}_{scenario.seed}",
                 "__file__": filename}
    gt.manual_seed(scenario.seed)
    random.seed(scenario.seed)
    code = compile(scenario.source, filename, "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source
    return namespace
