"""`gt.compile(module)`: an `nn.Module` wrapping the original, as torch.compile's.

The wrapper registers the original as its submodule ``_orig_mod``, so ``state_dict`` keys
carry the ``_orig_mod.`` prefix, ``train()``/``eval()`` and ``parameters()`` reach the
original, and attributes it does not have are looked up on the original. Calls run the
compiled forward; ``.graph``, ``.code`` and ``.stats`` show the compiled variants.
"""

from __future__ import annotations

from ..nn.modules.module import Module


class OptimizedModule(Module):
    """A module compiled by `gt.compile` (PyTorch's ``OptimizedModule``).

    >>> model = gt.compile(nn.Linear(4, 2))
    >>> list(model.state_dict())
    ['_orig_mod.weight', '_orig_mod.bias']
    """

    def __init__(self, mod: Module, compiled):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = compiled

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __reduce__(self):
        # as torch's: copy.deepcopy / pickling rebuild the wrapper around a copy of the
        # original, compiled afresh with the same options (the compiled variants are bound
        # to the original's parameters and must never serve the copy)
        compiled = self._compiled
        return (_rebuild, (self._orig_mod, type(compiled), compiled.options()))

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    # --- what was compiled ---------------------------------------------------------------
    @property
    def stats(self):
        return self._compiled.stats

    @property
    def graph(self):
        """The optimised forward graph of the most recent variant."""
        return self._compiled.graph

    @property
    def backward_graph(self):
        return self._compiled.backward_graph

    @property
    def code(self) -> str:
        """The generated source of the most recent variant."""
        return self._compiled.code

    @property
    def compile_count(self) -> int:
        return self._compiled.compile_count

    @property
    def variants(self) -> list:
        return self._compiled.variants


def _rebuild(mod: Module, compiled_type, options: dict) -> OptimizedModule:
    """An `OptimizedModule` compiling `mod` (copy.deepcopy and unpickling end here)."""
    return OptimizedModule(mod, compiled_type(mod, **options))
