"""PyTorch's legacy sparse constructors, as pygcn's ``sparse_mx_to_torch_sparse_tensor``
calls them: ``torch.sparse.FloatTensor(indices, values, size)`` (or ``(*sizes)`` for an
empty tensor), with the element type in the name.

>>> gt.sparse.FloatTensor(gt.tensor([[0, 1]]), gt.tensor([1., 2.]), gt.Size([3])).to_dense()
tensor([1., 2., 0.])
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from .conversion import sparse_coo_tensor
from .tensor import SparseTensor


def _legacy_constructor(dtype: dtypes.DType, name: str):
    def make(*args, size=None, device=None) -> SparseTensor:
        warnings.warn(f"torch.sparse.{name}(...) is deprecated. Please use "
                      "torch.sparse_coo_tensor(indices, values, shape, dtype=, device=).",
                      UserWarning, stacklevel=2)
        if args and all(isinstance(a, int) for a in args):  # (*sizes): no entries
            return sparse_coo_tensor(np.zeros((len(args), 0), np.int64), [], args,
                                     dtype=dtype, device=device)
        if len(args) not in (2, 3):
            raise TypeError(f"torch.sparse.{name}() takes (indices, values[, size]) or "
                            f"(*sizes), got {len(args)} arguments")
        size = args[2] if len(args) == 3 else size
        return sparse_coo_tensor(args[0], args[1], size, dtype=dtype, device=device)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"A sparse COO tensor of {dtype} (PyTorch's legacy ``{name}``)."
    return make


FloatTensor = _legacy_constructor(dtypes.float32, "FloatTensor")
DoubleTensor = _legacy_constructor(dtypes.float64, "DoubleTensor")
HalfTensor = _legacy_constructor(dtypes.float16, "HalfTensor")
LongTensor = _legacy_constructor(dtypes.int64, "LongTensor")
IntTensor = _legacy_constructor(dtypes.int32, "IntTensor")
ByteTensor = _legacy_constructor(dtypes.uint8, "ByteTensor")
BoolTensor = _legacy_constructor(dtypes.bool_, "BoolTensor")
