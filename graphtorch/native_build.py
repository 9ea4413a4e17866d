"""Shared libraries built from generated C++ by the system compiler, cached on disk.

`NativeLibrary(source)` compiles `source` with g++ (``-O3 -march=native``, no fast-math:
IEEE semantics, no FMA contraction outside the explicit `native_shim` polynomials; `FLAGS`) into
``<cache>/<sha256 of compiler, flags and source>.so``, where ``<cache>`` is
``$GRAPHTORCH_CACHE_DIR`` or ``~/.cache/graphtorch/native``. The build runs in a separate
process started from a background thread, so a first call never waits for it and the
Python thread keeps the GIL; `.get()` returns the loaded `ctypes.CDLL` once it exists, and a
later process finds it in the cache and loads it in milliseconds. GRAPHTORCH_JIT (see
`jit_background.setting`) selects background (default), sync or off.

    lib = NativeLibrary(source)
    handle = lib.get()          # None until built (or without a compiler)
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

from .jit_background import setting, submit, wait

__all__ = ["FLAGS", "OPENMP_MIN_ELEMENTS", "FloatKernels", "NativeLibrary", "PythonExtension",
           "compiler", "openmp_usable", "wait"]

def _wide_vectors() -> tuple:
    """512-bit vectors where the CPU has AVX-512 (GCC prefers 256 there): the polynomial
    tanh in a fused GELU runs 25% faster (2.19 -> 1.75 ms for 4M floats on one thread)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return ("-mprefer-vector-width=512",) if " avx512f" in line else ()
    except OSError:
        pass
    return ()


# No fast-math: IEEE results as eager's. -fno-trapping-math only lets GCC if-convert and
# vectorise comparisons and rounding (no FP trap is ever enabled); -fwrapv gives integer
# overflow NumPy's wrap-around. -funroll-loops: the polynomial tanh/exp loops overlap more
# work per iteration (W2's GELU kernel 1.03 -> 0.92 ms, 2 threads; same results).
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math",
         "-fwrapv", "-funroll-loops", "-shared", "-fPIC", "-w") + _wide_vectors()
# Kernels that split large loops over threads do it with OpenMP (`#ifdef _OPENMP`); a
# compiler without it builds them again without the flag.
OPENMP = ("-fopenmp",)

# GNU OpenMP is not fork-safe: a child forked after a parallel region (a DataLoader
# worker) hangs in its next one. Children split their work another way (or not at all).
_OPENMP_USABLE = [True]


def _no_openmp_in_child() -> None:
    _OPENMP_USABLE[0] = False


os.register_at_fork(after_in_child=_no_openmp_in_child)


# Loops over fewer elements than this stay on one thread: an OpenMP team starts in a few
# microseconds, a memory-bound pass over 128K floats takes ~20 (native_fused's measurements).
OPENMP_MIN_ELEMENTS = 1 << 17


def openmp_usable() -> bool:
    """False in a process forked from this one (where OpenMP regions may hang)."""
    return _OPENMP_USABLE[0]

_LOCK = threading.Lock()


@functools.cache
def compiler() -> str | None:
    """The C++ compiler's path (``$CXX`` or g++), or None."""
    return shutil.which(os.environ.get("CXX", "g++"))


@functools.cache
def _compiler_id() -> str:
    """The compiler's path, size and modification time: a new compiler gets new entries
    (cheaper than running ``--version`` on a first call)."""
    path = os.path.realpath(compiler())
    info = os.stat(path)
    return f"{path} {info.st_size} {info.st_mtime_ns} {_cpu_flags()}"


def _cpu_flags() -> str:
    """The CPU's feature flags: -march=native code built on one machine must not be loaded
    on another from a shared cache."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return hashlib.sha1(line.encode()).hexdigest()[:12]
    except OSError:
        pass
    return platform.machine() + platform.processor()


def cache_dir() -> Path:
    root = os.environ.get("GRAPHTORCH_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "graphtorch"
    return base / "native"


class NativeLibrary:
    """One generated translation unit, built once (see the module docstring). `.error`
    holds the compiler's message when the build failed; the caller keeps its NumPy code."""

    switch = "GRAPHTORCH_JIT"  # the environment variable that turns building off or sync

    def __init__(self, source: str):
        self.source = source
        self.lib: ctypes.CDLL | None = None
        self.error: str | None = None
        self._started = False

    def get(self) -> ctypes.CDLL | None:
        if self.lib is not None or self._started:
            return self.lib
        current = setting(self.switch)
        if current == "off" or compiler() is None:
            self._started = True
            return None
        path = self._path()
        if path.exists():  # built before, by this process or an earlier one
            self._started = True
            self._load(path)
        elif current == "sync":
            self._started = True
            self._build(path)
        else:
            with _LOCK:
                if not self._started:
                    self._started = True
                    submit(self._build, path)
        return self.lib

    def _path(self) -> Path:
        key = "\n".join([_compiler_id(), " ".join(FLAGS + OPENMP), self.source])
        return cache_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".so")

    def _commands(self, src: Path, out: Path) -> list:
        """The compiler command lines to try in order (the first that succeeds counts)."""
        return [[*_lowest_priority(), compiler(), *FLAGS, *extra, "-o", str(out), str(src)]
                for extra in (OPENMP, ())]

    def _build(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                src = Path(tmp) / "kernel.cpp"
                src.write_text(self.source)
                out = Path(tmp) / "kernel.so"
                for command in self._commands(src, out):
                    done = subprocess.run(command, check=False, capture_output=True,
                                          text=True, timeout=300)
                    if not done.returncode:
                        break
                if done.returncode:
                    self.error = done.stderr[-4000:]
                    return
                os.replace(out, path)  # atomic: a concurrent process sees all or nothing
            self._load(path)
        except (OSError, subprocess.SubprocessError) as exc:
            self.error = str(exc)

    def _load(self, path: Path) -> None:
        try:
            self.lib = ctypes.CDLL(str(path))
        except OSError as exc:
            self.error = str(exc)


class PythonExtension(NativeLibrary):
    """A CPython extension module written in C (`source` defines ``PyInit_<name>``), built
    and cached like any `NativeLibrary` against this interpreter's and NumPy's headers, and
    imported once built; `on_load(module)` runs then (maybe on the build thread). `switch`
    names the environment variable that turns it off (``0``) or builds it synchronously
    (``sync``). Without a compiler or the headers the build fails quietly (`.error`)."""

    def __init__(self, name: str, source: str, switch: str, on_load=None):
        super().__init__(source)
        self.name = name
        self.switch = switch
        self.on_load = on_load

    def _path(self) -> Path:
        import numpy

        key = "\n".join([_compiler_id(), sys.version, numpy.__version__, *_python_includes(),
                         self.source])
        return cache_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] +
                              sysconfig.get_config_var("EXT_SUFFIX"))

    def _commands(self, src: Path, out: Path) -> list:
        includes = [f"-I{path}" for path in _python_includes()]
        return [[*_lowest_priority(), compiler(), "-x", "c", "-O2", "-shared", "-fPIC", "-w",
                 "-Werror=implicit-function-declaration", *includes, "-o", str(out),
                 str(src)]]

    def _load(self, path: Path) -> None:
        try:
            spec = importlib.util.spec_from_file_location(self.name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if self.on_load is not None:
                self.on_load(module)
            self.lib = module
        except Exception as exc:  # noqa: BLE001 - a broken build: the Python code runs
            self.error = f"{type(exc).__name__}: {exc}"


@functools.cache
def _python_includes() -> tuple:
    """The directories of Python.h and numpy/arrayobject.h."""
    import numpy

    return (sysconfig.get_paths()["include"], numpy.get_include())


class FloatKernels:
    """The entry points ``<name>_f32`` / ``<name>_f64`` of one translation unit that an op
    family builds (`ops.conv_native`, `ops.rnn_native`): built on first use like any
    `NativeLibrary`, argument types set once.

        KERNELS = FloatKernels(SOURCE, {"gt_conv_forward": [c_int, c_void_p, ...]})
        fns = KERNELS.get(x.dtype)   # (forward, ...) in that order, or None
    """

    SUFFIX = {"float32": "f32", "float64": "f64"}
    SCALAR = "scalar"  # in a signature: the dtype's C scalar (c_float or c_double)
    _C_SCALAR = {"f32": ctypes.c_float, "f64": ctypes.c_double}

    def __init__(self, source: str, signatures: dict):
        self.source = source
        self.signatures = signatures  # entry name (without the suffix) -> ctypes argtypes
        self.library: NativeLibrary | None = None

    def get(self, dtype):
        """The entry points for numpy `dtype`, or None: another dtype, GRAPHTORCH_JIT=0, no
        compiler, or the build still running."""
        suffix = self.SUFFIX.get(str(dtype))
        if suffix is None or setting() == "off" or compiler() is None:
            return None
        if self.library is None:
            self.library = NativeLibrary(self.source)
        lib = self.library.get()
        if lib is None:
            return None
        fns = tuple(getattr(lib, f"{name}_{suffix}") for name in self.signatures)
        if fns[0].argtypes is None:
            scalar = self._C_SCALAR[suffix]
            for fn, argtypes in zip(fns, self.signatures.values()):
                fn.argtypes = [scalar if a == self.SCALAR else a for a in argtypes]
                fn.restype = None
        return fns


@functools.cache
def _lowest_priority() -> tuple:
    """``nice -n 19`` (a command prefix: ``preexec_fn`` can deadlock a threaded program).
    On a machine whose cores all run the program's BLAS threads, a compiler at normal
    priority takes a core from one of them and every GEMM waits for it (first steps 2-10x
    slower); at nice 19 it runs in idle time."""
    nice = shutil.which("nice")
    return (nice, "-n", "19") if nice else ()
