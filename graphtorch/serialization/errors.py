"""The one exception every unreadable checkpoint raises.

`CheckpointError` is a `RuntimeError` (PyTorch reports damaged zip files as RuntimeError and
code in the wild catches that) and a `pickle.UnpicklingError` (what `torch.load` raises when
`weights_only=True` refuses a file), so either `except` clause written for PyTorch catches it.
"""

from __future__ import annotations

import pickle


class CheckpointError(RuntimeError, pickle.UnpicklingError):
    """A checkpoint that is truncated, altered, malformed, or would need code to load.

    >>> try:
    ...     gt.load(io.BytesIO(b"not a checkpoint"))
    ... except gt.serialization.CheckpointError as exc:
    ...     print(str(exc).split(":")[0])
    <stream>
    """
