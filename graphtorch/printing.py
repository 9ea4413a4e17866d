"""PyTorch's tensor `repr` format (placeholder until the full formatter lands)."""

from __future__ import annotations

import numpy as np


def tensor_repr(t) -> str:
    data = t._data if type(t._data) is np.ndarray else t._data.get()
    body = np.array2string(data, separator=", ", prefix="tensor(")
    return f"tensor({body})"
