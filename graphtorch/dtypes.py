"""Data types and PyTorch's type-promotion rules.

Every tensor stores a NumPy/CuPy array; its `gt.dtype` is found from the array's dtype
through `from_numpy_dtype`. Promotion follows PyTorch, not NumPy: Python scalars and 0-d
tensors only raise the *category* (bool < int < float < complex) of a result. bfloat16 is
stored as `ml_dtypes.bfloat16` (the type JAX uses); without ml_dtypes it has no storage.
"""

from __future__ import annotations

import enum

import numpy as np

try:  # a declared dependency; graphtorch still imports without it (bfloat16 then raises)
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - exercised by tests/test_layering.py
    _ml_dtypes = None


class DType:
    """A tensor element type, printed as PyTorch prints it (``torch.float32``)."""

    __slots__ = (
        "__weakref__",
        "category",
        "is_complex",
        "is_floating_point",
        "is_signed",
        "itemsize",
        "legacy_name",
        "name",
        "np_dtype",
    )

    def __init__(self, name, np_dtype, category, legacy_name=None, itemsize=None):
        self.name = name
        self.np_dtype = np.dtype(np_dtype) if np_dtype is not None else None
        self.itemsize = self.np_dtype.itemsize if self.np_dtype is not None else itemsize
        self.category = category
        self.is_floating_point = category == Category.FLOAT
        self.is_complex = category == Category.COMPLEX
        self.is_signed = name not in _UNSIGNED
        self.legacy_name = legacy_name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self) -> DType:
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> DType:
        return {float64: complex128, complex128: complex128}.get(self, complex64)


# PyTorch's unsigned types (float8_e8m0fnu stores only an exponent).
_UNSIGNED = frozenset({"bool", "uint8", "uint16", "uint32", "uint64", "float8_e8m0fnu"})


class Category(enum.IntEnum):
    BOOL = 0
    INT = 1
    FLOAT = 2
    COMPLEX = 3


bool_ = DType("bool", np.bool_, Category.BOOL, "BoolTensor")
uint8 = DType("uint8", np.uint8, Category.INT, "ByteTensor")
int8 = DType("int8", np.int8, Category.INT, "CharTensor")
int16 = DType("int16", np.int16, Category.INT, "ShortTensor")
int32 = DType("int32", np.int32, Category.INT, "IntTensor")
int64 = DType("int64", np.int64, Category.INT, "LongTensor")
float16 = DType("float16", np.float16, Category.FLOAT, "HalfTensor")
float32 = DType("float32", np.float32, Category.FLOAT, "FloatTensor")
float64 = DType("float64", np.float64, Category.FLOAT, "DoubleTensor")
complex64 = DType("complex64", np.complex64, Category.COMPLEX)
complex128 = DType("complex128", np.complex128, Category.COMPLEX)
# PyTorch's "shell" unsigned types: storage, conversion and printing; promotion with another
# integer type is an error, as in PyTorch.
uint16 = DType("uint16", np.uint16, Category.INT, "UInt16Tensor")
uint32 = DType("uint32", np.uint32, Category.INT, "UInt32Tensor")
uint64 = DType("uint64", np.uint64, Category.INT, "UInt64Tensor")
# ml_dtypes' bfloat16: stored as 2 bytes, computed in float32 (graphtorch/ops/bfloat16.py).
BFLOAT16_NP = np.dtype(_ml_dtypes.bfloat16) if _ml_dtypes is not None else None
bfloat16 = DType("bfloat16", BFLOAT16_NP, Category.FLOAT, "BFloat16Tensor", itemsize=2)
# Named so that PyTorch code referring to them imports; NumPy has no storage for them
# (gt.load reads such tensors as float32, see docs/checkpoints.md).
complex32 = DType("complex32", None, Category.COMPLEX, itemsize=4)
float8_e4m3fn = DType("float8_e4m3fn", None, Category.FLOAT, itemsize=1)
float8_e4m3fnuz = DType("float8_e4m3fnuz", None, Category.FLOAT, itemsize=1)
float8_e5m2 = DType("float8_e5m2", None, Category.FLOAT, itemsize=1)
float8_e5m2fnuz = DType("float8_e5m2fnuz", None, Category.FLOAT, itemsize=1)
float8_e8m0fnu = DType("float8_e8m0fnu", None, Category.FLOAT, itemsize=1)
FLOAT8_DTYPES = (float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64,
              complex64, complex128, uint16, uint32, uint64) + \
    ((bfloat16,) if BFLOAT16_NP is not None else ())
_BY_NP = {d.np_dtype: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES + (bfloat16, complex32) + FLOAT8_DTYPES}
_SHELL_UINTS = (uint16, uint32, uint64)
# PyTorch's ScalarType names, as its error messages print them.
SCALAR_TYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                     "int32": "Int", "int64": "Long", "uint16": "UInt16", "uint32": "UInt32",
                     "uint64": "UInt64", "float16": "Half", "bfloat16": "BFloat16",
                     "float32": "Float", "float64": "Double", "complex32": "ComplexHalf",
                     "complex64": "ComplexFloat", "complex128": "ComplexDouble",
                     **{d.name: d.name.capitalize() for d in FLOAT8_DTYPES}}

# The short names graph dumps print (``f32[2, 3]``).
SHORT_NAMES = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
               "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
               "bool": "b8", "complex64": "c64", "complex128": "c128", "complex32": "c32"}


def short_name(dtype) -> str:
    """The short name of a dtype in graph dumps: ``f32``, ``i64``, ``b8``, ..."""
    return SHORT_NAMES.get(dtype.name, dtype.name)


def scalar_type_name(dtype) -> str:
    """PyTorch's ScalarType name ('Float', 'Long', ...) of a DType or NumPy dtype.

    >>> scalar_type_name(float32)
    'Float'
    """
    name = getattr(dtype, "name", None) or str(dtype)
    return SCALAR_TYPE_NAMES.get(name, name)

# PyTorch's aliases.
ALIASES = {
    "bool": bool_, "int": int32, "long": int64, "short": int16, "half": float16,
    "float": float32, "double": float64, "cfloat": complex64, "cdouble": complex128,
    "uint8": uint8, "int8": int8, "int16": int16, "int32": int32, "int64": int64,
    "float16": float16, "float32": float32, "float64": float64, "complex64": complex64,
    "complex128": complex128, "bfloat16": bfloat16, "complex32": complex32, "chalf": complex32,
    "uint16": uint16, "uint32": uint32, "uint64": uint64,
    **{d.name: d for d in FLOAT8_DTYPES},
}


def is_float_array(np_dtype) -> bool:
    """Whether a NumPy dtype is a PyTorch floating type: NumPy's kind "f", or ml_dtypes'
    bfloat16 (whose kind is "V").

    >>> is_float_array(np.dtype(np.float16))
    True
    """
    return np_dtype.kind == "f" or np_dtype is BFLOAT16_NP


def is_inexact_array(np_dtype) -> bool:
    """Whether a NumPy dtype is floating or complex (may require grad), bfloat16 included."""
    return np_dtype.kind in "fc" or np_dtype is BFLOAT16_NP


def _dtype_by_name(name: str) -> DType:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> DType:
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
            "are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint8, and bool.") from None


def as_dtype(dtype) -> DType:
    """Accept a `gt.dtype`, a NumPy dtype, a Python type or a name; return a `gt.dtype`."""
    if isinstance(dtype, DType):
        if dtype.np_dtype is None:
            if dtype is bfloat16:
                raise TypeError("torch.bfloat16 tensors need the ml_dtypes package (a dependency "
                                "of graphtorch): pip install ml_dtypes")
            raise TypeError(f"{dtype} is not supported by graphtorch's NumPy/CuPy kernels")
        return dtype
    if dtype is float:
        return get_default_dtype()
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if dtype is complex:
        return get_default_dtype().to_complex()
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name in ALIASES:
            return as_dtype(ALIASES[name])
    try:
        return from_numpy_dtype(np.dtype(dtype))
    except TypeError:
        raise TypeError(f"cannot interpret {dtype!r} as a data type") from None


def dtype_argument(dtype, fname: str = "") -> DType:
    """A public `dtype=` argument, read as PyTorch's argument parser reads it: a `gt.dtype`
    or Python's float/int/bool/complex. A string ('float32') or a NumPy dtype raises
    PyTorch's TypeError (`as_dtype` stays lenient for internal and CLI use)."""
    if dtype is float:  # Python's float is double precision, whatever the default dtype
        return float64
    if dtype is complex:
        return complex128
    if not isinstance(dtype, DType) and dtype is not int and dtype is not bool:
        where = f"{fname}(): " if fname else ""
        raise TypeError(f"{where}argument 'dtype' must be torch.dtype, not "
                        f"{type(dtype).__name__}")
    return as_dtype(dtype)


_default_float = [float32]


def get_default_dtype() -> DType:
    """The dtype of floating-point tensors made from Python floats (float32 unless set)."""
    return _default_float[0]


def set_default_dtype(dtype) -> None:
    """Set the default floating-point dtype, as `torch.set_default_dtype`."""
    dtype = as_dtype(dtype)
    if dtype not in (float16, bfloat16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {dtype}")
    _default_float[0] = dtype
    for callback in _DEFAULT_DTYPE_LISTENERS:
        callback()


# Called after the default dtype changes: the op registry drops its cached promotion
# decisions (INT_TO_FLOAT depends on the default). Registered from above, so this module
# imports nothing of graphtorch.
_DEFAULT_DTYPE_LISTENERS: list = []


def on_default_dtype_change(callback) -> None:
    """Call `callback()` whenever `set_default_dtype` sets the default dtype."""
    _DEFAULT_DTYPE_LISTENERS.append(callback)


def promote_types(type1: DType, type2: DType) -> DType:
    """PyTorch's `promote_types`: the smallest dtype both `type1` and `type2` convert to
    safely.

    >>> promote_types(float16, bfloat16)
    torch.float32
    """
    a, b = type1, type2
    if a is b:
        return a
    if a in FLOAT8_DTYPES or b in FLOAT8_DTYPES:
        raise RuntimeError(f"Promotion for Float8 Types is not supported, attempted to promote "
                           f"{scalar_type_name(a)} and {scalar_type_name(b)}")
    if (a in _SHELL_UINTS or b in _SHELL_UINTS) and not (a.is_floating_point or
                                                         b.is_floating_point):
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, "
                           f"attempted to promote {scalar_type_name(a)} and "
                           f"{scalar_type_name(b)}")
    if a.category != b.category and min(a.category, b.category) < Category.FLOAT:
        return a if a.category > b.category else b
    if a.category >= Category.FLOAT and (a.is_complex or b.is_complex):
        # complex with float or complex: the complex type of the promoted real parts
        # (complex32 + float32 -> complex64, complex64 + float64 -> complex128).
        return _COMPLEX_OF[promote_types(_REAL_OF.get(a, a), _REAL_OF.get(b, b))]
    if a.np_dtype is None or b.np_dtype is None:  # bfloat16 with another float type
        return float32 if {a, b} == {float16, bfloat16} else max(a, b, key=_itemsize)
    return from_numpy_dtype(np.promote_types(a.np_dtype, b.np_dtype))


_REAL_OF = {complex32: float16, complex64: float32, complex128: float64}
_COMPLEX_OF = {float16: complex32, float32: complex64, float64: complex128}


def _itemsize(dtype: DType) -> int:
    return dtype.itemsize


def scalar_dtype(value) -> DType:
    """The dtype PyTorch gives a Python scalar that stands alone (a "wrapped number")."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return get_default_dtype()
    if isinstance(value, complex):
        return get_default_dtype().to_complex()
    if isinstance(value, np.generic):
        return from_numpy_dtype(value.dtype)
    raise TypeError(f"expected a tensor or a number, got {type(value).__name__}")


def _combine(higher: DType | None, lower: DType | None) -> DType | None:
    """Merge two promotion tiers: the lower tier only counts if it raises the category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(dim_dtypes, zero_dim_dtypes, scalar_values) -> DType:
    """PyTorch's `result_type` over three tiers: tensors with dims, 0-d tensors, scalars."""
    tiers = []
    for group in (dim_dtypes, zero_dim_dtypes):
        acc = None
        for d in group:
            acc = d if acc is None else promote_types(acc, d)
        tiers.append(acc)
    wrapped = None
    for v in scalar_values:
        d = scalar_dtype(v)
        if isinstance(v, (bool, int, float, complex)):
            # A Python float counts as the default float, whatever its precision.
            d = {Category.FLOAT: get_default_dtype(),
                 Category.COMPLEX: get_default_dtype().to_complex()}.get(d.category, d)
        wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(tiers[0], _combine(tiers[1], wrapped))


def can_cast(from_: DType, to: DType) -> bool:
    """PyTorch's `can_cast`: no cast to a lower category (float -> int, complex -> float)."""
    if from_.category > to.category:
        return False
    return from_ is bool_ or to is not bool_


# bfloat16's limits as PyTorch reports them (ml_dtypes' finfo has another resolution, and
# without ml_dtypes there is none).
_BFLOAT16_INFO = {"bits": 16, "eps": 0.0078125, "max": 3.3895313892515355e+38,
                  "tiny": 1.1754943508222875e-38, "resolution": 0.01}


class finfo:  # noqa: N801  (PyTorch's name)
    """Machine limits of a floating dtype (`torch.finfo`); complex dtypes report their real
    part's, and no argument means the default dtype.

    >>> gt.finfo(gt.float32).eps
    1.1920928955078125e-07
    """

    def __init__(self, type=None):  # noqa: A002  (PyTorch's keyword)
        dtype = get_default_dtype() if type is None else type
        if not isinstance(dtype, DType) or dtype.category < Category.FLOAT:
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        dtype = dtype.to_real() if dtype is not complex32 else float16
        if dtype is bfloat16:
            info = dict(_BFLOAT16_INFO)
        else:
            limits = np.finfo(dtype.np_dtype)
            info = {"bits": limits.bits, "eps": float(limits.eps), "max": float(limits.max),
                    "tiny": float(limits.smallest_normal),
                    "resolution": 10.0 ** -limits.precision}
        self.bits, self.eps, self.max = info["bits"], info["eps"], info["max"]
        self.min = -self.max
        self.tiny = self.smallest_normal = info["tiny"]
        self.resolution = info["resolution"]
        self.dtype = dtype.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801  (PyTorch's name)
    """Limits of an integer dtype (`torch.iinfo`).

    >>> gt.iinfo(gt.int8).max
    127
    """

    def __init__(self, type):  # noqa: A002  (PyTorch's keyword)
        if not isinstance(type, DType) or type.category > Category.INT:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        if type is bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        limits = np.iinfo(type.np_dtype)
        self.bits, self.min, self.max = limits.bits, int(limits.min), int(limits.max)
        self.dtype = type.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
