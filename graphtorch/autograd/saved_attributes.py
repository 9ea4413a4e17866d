"""PyTorch's ``grad_fn._saved_<name>`` and ``grad_fn._raw_saved_<name>`` on graphtorch's op
nodes: what a node saved for its backward, under PyTorch's argument names - ``self`` (input
0), ``other`` / ``exponent`` (input 1 of a binary op), ``result`` (output 0) - and an
attribute of the op (``_saved_dim``). Inputs come back as the very tensors saved
(``x.pow(2).grad_fn._saved_self is x``); a raw saved tensor takes pack/unpack hooks."""

from __future__ import annotations

from .graph import _FREED_MESSAGE, OpNode, PackedOpNode, SavedTensorPack

_SECOND_INPUT = ("other", "exponent")


def saved_attribute(node, name: str):
    """`node._saved_<arg>` or `node._raw_saved_<arg>`; `_saved_<arg>` is None for an input
    the node did not need to save (`(x * c).grad_fn._saved_self` when only x requires
    grad), as in PyTorch."""
    raw = name.startswith("_raw_saved_")
    arg = name[len("_raw_saved_" if raw else "_saved_"):]
    saved_inputs = node.saved_inputs if not node._freed else ()
    if arg == "result" and node.op.save_output:
        _check_not_freed(node)
        if node.saved_outputs and node.saved_outputs[0][0] is not None:
            return SavedTensor(node, 0, output=True) if raw else _output(node, 0)
    elif (arg == "self" or arg in _SECOND_INPUT and len(node.saved_inputs or ()) == 2) \
            and not node.op.variadic:
        _check_not_freed(node)
        index = 0 if arg == "self" else 1
        entry = saved_inputs[index] if index < len(saved_inputs) else None
        if not raw:
            return entry.unpack() if type(entry) is SavedTensorPack else \
                entry[0] if type(entry) is tuple else entry
        if type(entry) in (tuple, SavedTensorPack):
            return SavedTensor(node, index, output=False)
    elif not raw and arg in (node.attrs or {}):
        return node.attrs[arg]
    raise AttributeError(f"'{node.name()}' object has no attribute '{name}'")


class SavedTensor:
    """One tensor a node saved (PyTorch's ``torch._C._autograd.SavedTensor``)."""

    def __init__(self, node, index: int, output: bool) -> None:
        self.node, self.index, self.output = node, index, output

    def register_hooks(self, pack_hook, unpack_hook) -> None:
        """Pack the saved tensor now with `pack_hook`; backward uses `unpack_hook`'s result."""
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("register_hooks: pack_hook and unpack_hook must be callables")
        node = self.node
        _check_not_freed(node)
        saved = node.saved_outputs if self.output else node.saved_inputs
        entry = saved[self.index]
        if type(entry[0] if self.output else entry) is SavedTensorPack:
            raise RuntimeError("Calling register_hooks on a saved tensor whose hooks have "
                               "already been set. Hint: only one pair of hooks is allowed at "
                               "a time.")
        if self.output:
            packed = (SavedTensorPack(pack_hook(_output(node, self.index)), unpack_hook,
                                      None, False), None, 0)
        else:
            packed = SavedTensorPack(pack_hook(entry[0]), unpack_hook, entry[0], True)
        saved = saved[:self.index] + (packed,) + saved[self.index + 1:]
        if self.output:
            node.saved_outputs = saved
        else:
            node.saved_inputs = saved
        if type(node) is OpNode:  # backward unpacks what it saved
            node.__class__ = PackedOpNode


def _output(node, index: int):
    data = node.saved_outputs[index][0]
    if type(data) is SavedTensorPack:
        return data.unpack()
    return node._unpack_outputs(False)[index]


def _check_not_freed(node) -> None:
    if node._freed:
        raise RuntimeError(_FREED_MESSAGE)
