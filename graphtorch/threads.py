"""`gt.set_num_threads` / `gt.get_num_threads`: one setting for the CPU thread pools under
graphtorch - the BLAS library NumPy calls for matmuls (through `threadpoolctl`) and the
pool that runs fused kernels in chunks (`backends.numpy_fused`).

The default is PyTorch's: `OMP_NUM_THREADS`, else `MKL_NUM_THREADS`, else the number of
physical cores. It is applied to BLAS when graphtorch is imported, because BLAS's own
default (every logical CPU) oversubscribes busy or hyper-threaded machines. Without
`threadpoolctl` (an optional dependency) the setting still sizes graphtorch's own pool and
NumPy's BLAS keeps its threads; `set_num_threads` then warns once.
"""

from __future__ import annotations

import glob
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

__all__ = ["get_num_interop_threads", "get_num_threads", "in_pool", "pool",
           "set_num_interop_threads", "set_num_threads"]

_state = {"threads": None, "warned": False, "interop": None}
_POOL: dict = {"executor": None, "threads": 0}
POOL_PREFIX = "gt-kernels"


def _physical_cores() -> int:
    """Distinct (package, core) pairs among the CPUs, as PyTorch's cpuinfo counts them."""
    cores = set()
    for path in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology"):
        try:
            with open(os.path.join(path, "physical_package_id")) as f:
                package = f.read().strip()
            with open(os.path.join(path, "core_id")) as f:
                cores.add((package, f.read().strip()))
        except OSError:
            continue
    return len(cores) or os.cpu_count() or 1


def default_num_threads() -> int:
    """PyTorch's default intra-op thread count: MKL_NUM_THREADS, else OMP_NUM_THREADS,
    else the physical cores."""
    for name in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return _physical_cores()


def get_num_threads() -> int:
    """The number of threads graphtorch's CPU kernels use (BLAS and fused kernels).

    >>> gt.set_num_threads(1)
    >>> gt.get_num_threads()
    1
    """
    if _state["threads"] is None:
        _state["threads"] = default_num_threads()
    return _state["threads"]


def set_num_threads(n, /) -> None:
    """Use `n` threads for BLAS (through threadpoolctl) and for fused kernels.

    On a machine shared with other work, ``gt.set_num_threads(1)`` often makes eager steps
    faster: idle BLAS threads spinning for cores they cannot get cost more than they give.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _state["threads"] = n
    if not _limit_blas(n) and not _state["warned"]:
        _state["warned"] = True
        warnings.warn("threadpoolctl is not installed: gt.set_num_threads sets graphtorch's "
                      "fused-kernel pool only and NumPy's BLAS keeps its own threads (pip "
                      "install threadpoolctl, or graphtorch[threads])", UserWarning,
                      stacklevel=2)


def get_num_interop_threads() -> int:
    """PyTorch's inter-op pool size (ops run side by side). graphtorch runs ops one after
    another, so this is only the recorded setting; the default is the intra-op default."""
    return _state["interop"] or default_num_threads()


def set_num_interop_threads(n, /) -> None:
    """Record the inter-op thread count; as in PyTorch, only once per process."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_interop_threads expects an int, but got "
                           f"{type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    if _state["interop"] is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work "
                           "has started or set_num_interop_threads called")
    _state["interop"] = n


def _limit_blas(n: int) -> bool:
    """Set the BLAS pools' size; False when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=n, user_api="blas")
    return True


def apply_default() -> None:
    """At import: give BLAS PyTorch's default thread count (silently without threadpoolctl)."""
    _limit_blas(get_num_threads())


def pool(threads: int | None = None) -> ThreadPoolExecutor:
    """The helper threads graphtorch's kernels split large work over (``threads - 1`` of
    them; the caller is the last): one pool for the process (fused kernels, large eager
    ufuncs), rebuilt when the count changes."""
    threads = threads or get_num_threads()
    if _POOL["executor"] is None or _POOL["threads"] != threads:
        if _POOL["executor"] is not None:
            _POOL["executor"].shutdown(wait=False)
        _POOL["executor"] = ThreadPoolExecutor(max_workers=max(threads - 1, 1),
                                               thread_name_prefix=POOL_PREFIX)
        _POOL["threads"] = threads
    return _POOL["executor"]


def in_pool() -> bool:
    """Whether the calling thread is one of `pool`'s helpers (which must not wait on the
    pool themselves)."""
    return threading.current_thread().name.startswith(POOL_PREFIX)
