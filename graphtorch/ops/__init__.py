"""The op registry and its rows. Importing this package registers every primitive op."""

from . import registry  # noqa: F401  (first: the others register into it)
from . import (binary_math, collectives, conv, devices, einsum, elementwise,  # noqa: F401
               indexing, linalg, linalg_decompositions, linalg_norms, losses, matmul, movement,
               normalization, pooling, random_ops, reduction, rnn, scans, scatter, softmax,
               sorting, unary_math, views)
from . import fft, special_ops  # noqa: F401  (behind gt.fft and gt.special)
from . import checks, float_parts, linalg_lu  # noqa: F401  (istft's check; frexp; LU)
from .registry import REGISTRY, Category, OpDef, Promotion, TensorMeta, get_op

__all__ = ["REGISTRY", "Category", "OpDef", "Promotion", "TensorMeta", "get_op"]

# gt.ops.<namespace>: the namespaces of gt.library.custom_op operators (gt.ops.mylib.crop),
# filled by graphtorch.library.
CUSTOM_NAMESPACES: dict = {}


def __getattr__(name: str):
    if name in CUSTOM_NAMESPACES:
        return CUSTOM_NAMESPACES[name]
    raise AttributeError(f"module 'graphtorch.ops' has no attribute '{name}'")
