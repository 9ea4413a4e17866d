"""The op registry and its rows. Importing this package registers every primitive op."""

from . import registry  # noqa: F401  (first: the others register into it)
from . import (binary_math, conv, devices, einsum, elementwise, indexing,  # noqa: F401
               linalg, losses, matmul, movement, normalization, pooling, random_ops,
               reduction, scans, scatter, softmax, sorting, unary_math, views)
from .registry import REGISTRY, Category, OpDef, Promotion, TensorMeta, get_op

__all__ = ["REGISTRY", "Category", "OpDef", "Promotion", "TensorMeta", "get_op"]
