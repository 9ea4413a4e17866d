"""`gt.save` / `gt.load`: checkpoints that are safe to load from strangers by default.

`gt.load(f)` (`weights_only=True`, PyTorch 2.6's default) reads graphtorch checkpoints and
PyTorch's zip checkpoints without running any code named by the file: every size is checked
against the archive before anything is allocated, every tensor against its storage, and every
damaged or crafted file raises `CheckpointError`. `weights_only=False` unpickles whole
objects (that runs code: only for trusted files); `add_safe_globals` / `safe_globals` allow
chosen classes instead. See docs/checkpoints.md.
"""

from __future__ import annotations

import pickle
import warnings

from .archive import Archive, describe
from .errors import CheckpointError
from .native_read import load_native
from .native_write import save
from .safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from .torch_read import find_prefix, load_torch
from .unpickler import Refused

__all__ = ["CheckpointError", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "load", "safe_globals", "save"]

_UNSAFE_MESSAGE = ("`gt.load` defaults to `weights_only=True`, as `torch.load` does since "
                   "PyTorch 2.6. Re-running `gt.load` with `weights_only` set to `False` will "
                   "likely succeed, but it can result in arbitrary code execution. Do it only "
                   "if you got the file from a trusted source.")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load a checkpoint written by `gt.save` or `torch.save` (zip format).

    `map_location` is a device (or string), a dict mapping saved locations, or a
    callable(storage, location), as in PyTorch. With `weights_only=True` (the default unless
    a `pickle_module` is given) only tensors, containers, numbers, strings and the classes
    allowed with `gt.serialization.add_safe_globals` load; `weights_only=False` loads any
    pickled object, which runs code chosen by whoever wrote the file.

    >>> state = gt.load("ckpt.pt", map_location="cpu")
    >>> model = gt.load("model.pt", weights_only=False)   # a whole model, trusted file
    """
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only:
        if pickle_module is not None:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified")
        if pickle_load_args:
            warnings.warn("pickle_load_args only works if `weights_only=False`.", UserWarning,
                          stacklevel=2)
    pickle_module = pickle_module or pickle
    pickle_load_args.setdefault("encoding", "utf-8")
    name = describe(f)
    try:
        with Archive(f, name) as archive:
            if archive.has("format"):
                return load_native(archive, map_location, weights_only, pickle_module,
                                   pickle_load_args)
            if find_prefix(archive) is not None:
                return load_torch(archive, map_location, weights_only, pickle_module,
                                  pickle_load_args)
    except Refused as exc:
        raise CheckpointError(_weights_only_message(name, exc)) from None
    raise CheckpointError(f"{name} is a zip archive but neither a graphtorch nor a PyTorch "
                          "checkpoint")


def _weights_only_message(name: str, exc: Refused) -> str:
    if exc.unsafe_global:
        return (f"{name}: Weights only load failed. This file can still be loaded, to do so you "
                "have two options, do those steps only if you trust the source of the "
                f"checkpoint.\n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
                "`weights_only=True` please check the recommended steps in the following error "
                f"message.\n\tWeightsUnpickler error: {exc}")
    return f"{name}: Weights only load failed. {_UNSAFE_MESSAGE}\nWeightsUnpickler error: {exc}"
