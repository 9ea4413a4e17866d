"""Top-level process settings against PyTorch: set/get_float32_matmul_precision,
use_deterministic_algorithms (+ warn_only, debug mode) and set/get_num_interop_threads.
Each check runs in a fresh interpreter per library, since the settings are process-wide
(and PyTorch allows set_num_interop_threads once per process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

SCRIPT = textwrap.dedent("""
    import warnings
    import {lib} as lib

    def attempt(fn):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = fn()
            # PyTorch's C++ warnings end with where they were raised inside libtorch
            return ("ok", value, [str(w.message).split(" (Triggered internally")[0]
                                  for w in caught])
        except Exception as exc:  # noqa: BLE001
            base = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
            return (base.__name__, str(exc))

    results = [
        lib.get_float32_matmul_precision(),
        attempt(lambda: lib.set_float32_matmul_precision("high")),
        lib.get_float32_matmul_precision(),
        attempt(lambda: lib.set_float32_matmul_precision("medium")),
        attempt(lambda: lib.set_float32_matmul_precision("fastest")),
        lib.get_float32_matmul_precision(),
        attempt(lambda: lib.set_float32_matmul_precision(1)),
        lib.are_deterministic_algorithms_enabled(),
        lib.is_deterministic_algorithms_warn_only_enabled(),
        lib.get_deterministic_debug_mode(),
        attempt(lambda: lib.use_deterministic_algorithms(True, warn_only=True)),
        lib.are_deterministic_algorithms_enabled(),
        lib.is_deterministic_algorithms_warn_only_enabled(),
        lib.get_deterministic_debug_mode(),
        attempt(lambda: lib.set_deterministic_debug_mode("error")),
        lib.get_deterministic_debug_mode(),
        attempt(lambda: lib.set_deterministic_debug_mode(0)),
        lib.are_deterministic_algorithms_enabled(),
        attempt(lambda: lib.use_deterministic_algorithms("yes")),
        attempt(lambda: lib.use_deterministic_algorithms(True, warn_only=1)),
        attempt(lambda: lib.set_deterministic_debug_mode("loud")),
        attempt(lambda: lib.set_deterministic_debug_mode(3)),
        attempt(lambda: lib.set_deterministic_debug_mode(1.0)),
        attempt(lambda: lib.set_num_interop_threads(0)),
        attempt(lambda: lib.set_num_interop_threads("2")),
        attempt(lambda: lib.set_num_interop_threads(3)),
        lib.get_num_interop_threads(),
        attempt(lambda: lib.set_num_interop_threads(2)),
        lib.get_num_interop_threads(),
    ]
    print(repr(results))
""")


def _run(lib: str) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(lib=lib)], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_settings_match_torch():
    assert _run("graphtorch") == _run("torch")
