"""`ScriptModule`: what `gt.jit.trace` and `gt.jit.script` return for a Module.

It shares the original module's parameters, buffers and submodules (so `state_dict`,
`parameters()` and `named_modules()` read exactly as the original's, without the
``_orig_mod.`` prefix of `gt.compile`'s wrapper) and runs `forward` through `gt.compile`:
traced once, guarded, recompiled when a guard fails. Unlike TorchScript's trace, a
data-dependent branch is therefore never baked in: it breaks the graph and runs eagerly.
"""

from __future__ import annotations

from ..compiler import compile as gt_compile
from ..nn.modules.module import Module


class ScriptModule(Module):
    """A Module run through gt.compile, with TorchScript's `graph`, `code` and `save`."""

    def __init__(self, original: Module):
        super().__init__()
        for key in ("_parameters", "_buffers", "_modules"):
            self.__dict__[key] = original.__dict__[key]
        self.__dict__["_original"] = original
        self.__dict__["_compiled"] = gt_compile(original)._compiled
        self.training = original.training

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def train(self, mode: bool = True):
        self._original.train(mode)
        self.training = mode
        return self

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_original"], name)

    def __reduce__(self):
        # pickling (gt.jit.save, copy.deepcopy) keeps the original; loading compiles afresh
        return (ScriptModule, (self._original,))

    @property
    def original_name(self) -> str:
        return type(self._original).__name__

    @property
    def graph(self):
        """The optimised forward graph of the latest compiled variant; where every call so
        far ran eagerly (a graph break), the reason, as text."""
        return self._compiled_or_reason(lambda c: c.graph)

    @property
    def inlined_graph(self):
        return self.graph

    @property
    def code(self) -> str:
        """The generated source of the latest compiled variant (or, as `graph`, the reason
        it runs eagerly)."""
        return self._compiled_or_reason(lambda c: c.code)

    def _compiled_or_reason(self, read):
        compiled = self._compiled
        if any(v.executable is not None for v in compiled.variants):
            return read(compiled)
        reasons = [v.reason for v in compiled.variants if v.reason]
        if not reasons:
            return f"# {self.original_name} has not run yet: call it first"
        return f"# {self.original_name} runs eagerly: {reasons[-1]}"

    def save(self, f, _extra_files=None) -> None:
        """`gt.jit.save(self, f)`."""
        from . import save  # noqa: PLC0415  (the package imports this module)

        save(self, f, _extra_files)

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"
