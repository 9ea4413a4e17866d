"""Element types of saved storages and how their raw bytes become arrays.

Types graphtorch stores load with their own dtype (bfloat16 too, stored as ml_dtypes'
type). The float8 types have no graphtorch kernels: their storages are decoded with
`ml_dtypes` (the library JAX uses) and load as float32, which holds every one of their
values exactly (so does bfloat16 without ml_dtypes). Each storage is decoded once; all the
tensors viewing it share the result.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .errors import CheckpointError

# PyTorch's legacy typed-storage classes (`torch.FloatStorage` in a pickle) -> element type.
TORCH_STORAGE_TYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
# Read through ml_dtypes and widened to float32 (exact).
UPCAST_TO_FLOAT32 = (("bfloat16",) if dtypes.BFLOAT16_NP is None else ()) + \
    tuple(d.name for d in dtypes.FLOAT8_DTYPES)


def element_size(where: str, dtype_name: str) -> int:
    """Bytes per element of a saved storage type; CheckpointError for unknown types."""
    dtype = dtypes._BY_NAME.get(dtype_name) if isinstance(dtype_name, str) else None
    if dtype is None or (dtype.np_dtype is None and dtype_name not in UPCAST_TO_FLOAT32):
        raise CheckpointError(f"{where}: unsupported element type {dtype_name!r:.100}")
    return dtype.itemsize


def loaded_dtype(dtype_name: str) -> dtypes.DType:
    """The graphtorch dtype a storage of `dtype_name` loads as."""
    return dtypes.float32 if dtype_name in UPCAST_TO_FLOAT32 else dtypes._BY_NAME[dtype_name]


def decode(where: str, raw: np.ndarray, dtype_name: str, big_endian: bool = False) -> np.ndarray:
    """The 1-d array of elements held in `raw` (a fresh uint8 array, reused when possible)."""
    itemsize = element_size(where, dtype_name)
    if raw.size % itemsize:
        raise CheckpointError(f"{where}: {raw.size} bytes is not a whole number of "
                              f"{dtype_name} elements")
    if dtype_name in UPCAST_TO_FLOAT32:
        source = _ml_dtype(where, dtype_name)
        elements = raw.view(source)
        if big_endian and itemsize > 1:
            elements = raw.view(np.uint16).byteswap().view(source)
        return elements.astype(np.float32)
    elements = raw.view(dtypes._BY_NAME[dtype_name].np_dtype)
    if big_endian and itemsize > 1:
        elements.byteswap(inplace=True)
    return elements


def _ml_dtype(where: str, name: str):
    try:
        import ml_dtypes
    except ImportError:
        raise CheckpointError(f"{where}: reading {name} tensors needs the ml_dtypes package "
                              "(pip install ml_dtypes)") from None
    try:
        return np.dtype(getattr(ml_dtypes, name))
    except AttributeError:
        raise CheckpointError(f"{where}: the installed ml_dtypes {ml_dtypes.__version__} has "
                              f"no {name}; upgrade it to read this file") from None
