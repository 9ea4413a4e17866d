"""Keep freed array memory in the process instead of returning it to the OS each step.

A training step allocates and frees the same large arrays every call. glibc's malloc
serves blocks above its mmap threshold with fresh mappings and gives the top of its heap
back once more than the trim threshold is free there; both thresholds adapt to the largest
block freed so far, so a process whose arrays are around a megabyte (LeNet's activations)
keeps low thresholds and page-faults its activations back in on every step: ~1,200 page
faults and 1.7 ms of a 6.5 ms compiled LeNet step here (benchmarks/RESULTS.md). A process
that once freed a 32 MB block (a PyTorch or JAX import, a big batch) does not.

`apply_default` (at import) sets the values glibc's own adaptation ends at: mmap threshold
32 MB, trim threshold 64 MB, so every process behaves like the warmed-up one. Memory held
for reuse is bounded by the trim threshold. ``GRAPHTORCH_MALLOC=0`` leaves malloc alone;
other C libraries than glibc are left alone.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["apply_default", "applied"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # what glibc sets along with it

_STATE = {"applied": False}


def applied() -> bool:
    """Whether graphtorch set glibc's thresholds in this process."""
    return _STATE["applied"]


def apply_default() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring); True when set."""
    if os.environ.get("GRAPHTORCH_MALLOC", "1").strip().lower() in ("0", "off", "false", "no"):
        return False
    if not _glibc():
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 \
            and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    except (OSError, AttributeError):
        return False
    _STATE["applied"] = ok
    return ok


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False
