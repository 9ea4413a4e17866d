"""graphtorch: PyTorch-style eager code that compiles to an optimised static graph.

``import graphtorch as torch`` runs ordinary PyTorch code eagerly on NumPy (or CuPy);
every op is one definition in `graphtorch.ops.registry`.
"""

from __future__ import annotations

from . import dtypes as _dtypes
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                 set_grad_enabled)
from .device import device, get_default_device, set_default_device
from .layout import (channels_last, channels_last_3d, contiguous_format, jagged, layout,
                     memory_format, preserve_format, sparse_bsc, sparse_bsr, sparse_coo,
                     sparse_csc, sparse_csr, strided)
from .dtypes import (bfloat16, complex32, complex64, complex128, finfo, float8_e4m3fn,
                     float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu, float16,
                     float32, float64, get_default_dtype, iinfo, int8, int16, int32, int64,
                     promote_types, set_default_dtype, uint8, uint16, uint32, uint64)
from .dtypes import DType as dtype
from .dtypes import bool_ as bool  # noqa: A001  (torch.bool)
from .tensor import Size, Tensor
from . import ops  # noqa: F401,E402  (registers every op)
from . import functions  # noqa: E402
from . import tensor_methods  # noqa: F401,E402  (binds every Tensor method)
from . import sparse  # noqa: E402  (torch.sparse)
from .sparse import sparse_coo_tensor, sparse_csr_tensor  # noqa: F401,E402
from .functions.conversion import to as _to  # noqa: F401,E402
from .functions.creation import *  # noqa: F401,F403,E402
from .functions.indexing import index_put  # noqa: F401,E402
from .functions.linalg_basic import *  # noqa: F401,F403,E402
from .functions.math import *  # noqa: F401,F403,E402
from .functions.reduce import *  # noqa: F401,F403,E402
from .functions.reduce import return_types  # noqa: F401,E402
from .functions.shape import *  # noqa: F401,F403,E402
from .functions.movement import *  # noqa: F401,F403,E402
from .functions.scatter import *  # noqa: F401,F403,E402
from .functions.statistics import *  # noqa: F401,F403,E402
from .functions.linalg_legacy import *  # noqa: F401,F403,E402
from .functions.nn_ops import *  # noqa: F401,F403,E402
from .functions.pointwise_extra import *  # noqa: F401,F403,E402
from .functions.math_extra import *  # noqa: F401,F403,E402
from .nn.functional.torch_forms import *  # noqa: F401,F403,E402
from .functions.sampling import multinomial  # noqa: F401,E402
from .serialization import load, save  # noqa: E402
from .functions.conversion import from_dlpack  # noqa: E402
from .printing import get_printoptions, printoptions, set_printoptions  # noqa: E402
from .trace_state import TracingError  # noqa: E402
from .compiler.tracing import trace  # noqa: E402
from . import compiler  # noqa: E402
from .compiler import compile  # noqa: E402
from .symbolic import mark_dynamic  # noqa: E402
from .control_flow import cond, fori_loop, scan, while_loop  # noqa: E402
from . import debug  # noqa: E402
from .debug import explain  # noqa: E402
from . import _dynamo, _higher_order_ops, _inductor, _logging, export, jit, testing  # noqa: E402
from . import autograd, backends, cuda, distributed, linalg, nn, onnx, optim, utils  # noqa: E402,E501
from . import accelerator, distributions, hub  # noqa: E402
from . import library  # noqa: E402  (torch.library.custom_op)
from .distributions.poisson import poisson  # noqa: E402,F401 - torch.poisson
from . import multiprocessing  # noqa: E402  (torch.multiprocessing)
from . import fft, special  # noqa: E402
from . import signal  # noqa: E402  (torch.signal.windows)
from .functions.windows import *  # noqa: F401,F403,E402  (hann_window, ...)
from .functions.spectral import istft, stft  # noqa: F401,E402
from .functions.finite_differences import gradient  # noqa: F401,E402
from .functions.float_parts import frexp  # noqa: F401,E402
from .functions.lu import lu, lu_unpack  # noqa: F401,E402
from .functions.lu import legacy_lu_solve as lu_solve  # noqa: F401,E402  (torch.lu_solve)
from .utils import checkpoint as _checkpoint  # noqa: F401,E402  (gt.utils.checkpoint)
from .utils import dlpack as _dlpack  # noqa: F401,E402  (gt.utils.dlpack)
from .utils.swap import swap_tensors as _swap_tensors  # noqa: E402

utils.swap_tensors = _swap_tensors  # torch.utils.swap_tensors (graphtorch.utils imports nothing)
from . import amp, cpu, func, profiler  # noqa: E402
from .func import vmap  # noqa: E402,F401  (torch.vmap)
from .amp import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled  # noqa: E402,E501
from .amp import cuda_amp as _cuda_amp  # noqa: E402
cuda.amp = _cuda_amp  # `gt.cuda.amp` (gt.cuda sits below autocast in the layers)
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: E402,E501
from .autograd import profiler as _autograd_profiler  # noqa: F401,E402  (gt.autograd.profiler)
from .utils import data as _data  # noqa: F401,E402  (gt.utils.data)
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402,E501
from .threads import (get_num_interop_threads, get_num_threads,  # noqa: E402
                      set_num_interop_threads, set_num_threads)
from .settings import (are_deterministic_algorithms_enabled,  # noqa: E402
                       get_deterministic_debug_mode, get_float32_matmul_precision,
                       is_deterministic_algorithms_warn_only_enabled,
                       set_deterministic_debug_mode, set_float32_matmul_precision,
                       use_deterministic_algorithms)
from .ops.dispatch import meta_of  # noqa: E402
from .ops.shape_rules import split_operands  # noqa: E402
from . import threads as _threads  # noqa: E402

_threads.apply_default()  # BLAS gets PyTorch's default thread count (see threads.py)
from . import malloc_tuning as _malloc_tuning  # noqa: E402

_malloc_tuning.apply_default()  # freed arrays stay for reuse (see malloc_tuning.py)
from .functions.numpy_names import add_numpy_names as _add_numpy_names  # noqa: E402

_add_numpy_names(globals(), __name__)  # gt.cumprod(a, axis=0), gt.sum(x, axis=1, keepdims=True)

int = int32  # noqa: A001
long = int64
short = int16
half = float16
float = float32  # noqa: A001
double = float64
cfloat = complex64
cdouble = complex128

__version__ = "0.1.0"


def is_tensor(obj):
    """True if obj is a graphtorch Tensor."""
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def result_type(tensor=None, other=None, *, scalar=None, scalar1=None, scalar2=None):
    """The dtype PyTorch's promotion gives an op on these two operands (tensors or numbers;
    PyTorch's overloads name them tensor/other, scalar/tensor or scalar1/scalar2)."""
    operands = [x for x in (scalar1, scalar2, scalar, tensor, other) if x is not None]
    if len(operands) != 2:
        raise TypeError("result_type() takes two operands")
    return _dtypes.result_type(*split_operands([meta_of(x) for x in operands]))


def can_cast(from_=None, to=None, **kwargs):
    """Whether PyTorch's casting rules allow `from` -> `to` (`from` is PyTorch's keyword)."""
    if set(kwargs) - {"from"}:
        raise TypeError(f"can_cast() got an unexpected keyword argument "
                        f"'{sorted(set(kwargs) - {'from'})[0]}'")
    return _dtypes.can_cast(kwargs.get("from", from_), to)
