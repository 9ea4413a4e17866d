"""Meta tensors: shape, dtype and strides with no memory, as PyTorch's ``device='meta'``.

A tensor on the meta device holds a `MetaArray`. Ops on it run no kernel: dispatch computes
the results' shapes and dtypes with each op's own shape/dtype rule (`OpDef.infer`), so a
model can be built, moved (`Module.to("meta")`) and run shape-only, as in PyTorch's model
ensembling and meta-initialisation recipes. Reading values (`item`, `numpy`, `tolist`,
copying to the CPU) raises as in PyTorch; `Module.to_empty(device="cpu")` gives real
storage back.
"""

from __future__ import annotations

import numpy as np

from .trace_state import contiguous_strides

NO_DATA = "Cannot copy out of meta tensor; no data!"
COPY_OUT = ("Cannot copy out of meta tensor; no data! Please use torch.nn.Module.to_empty() "
            "instead when moving module from meta to a different device.")


class MetaArray:
    """The ndarray attributes graphtorch reads of an array, without its memory."""

    __slots__ = ("dtype", "shape", "strides")

    def __init__(self, shape, dtype, strides=None):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.strides = contiguous_strides(self.shape, self.dtype.itemsize) if strides is None \
            else tuple(strides)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def flags(self):
        return _Flags(self)

    @property
    def base(self):
        return None

    def astype(self, dtype, copy=True, order="K"):
        return MetaArray(self.shape, dtype)

    def copy(self, order="K"):
        return MetaArray(self.shape, self.dtype, self.strides)

    def __deepcopy__(self, memo):
        return self.copy()

    def __setitem__(self, key, value) -> None:
        """Writes (in-place ops, fills) have no memory to land in: nothing happens."""

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        raise NotImplementedError(NO_DATA)

    def get(self):  # what host_array calls for a non-NumPy array
        raise NotImplementedError(NO_DATA)

    def __repr__(self):
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous")
    writeable = True

    def __init__(self, array: MetaArray):
        expected = contiguous_strides(array.shape, array.itemsize)
        self.c_contiguous = array.strides == expected or array.size <= 1
        self.f_contiguous = array.ndim <= 1 and self.c_contiguous
