"""Single-bit flips: every one is detected (CheckpointError) or harmless (the same object
comes back); none gives wrong values or another exception type."""

from __future__ import annotations

import io
import random
import zipfile

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.serialization import CheckpointError

from .helpers import members

torch = pytest.importorskip("torch")


def _flips(data: bytes, bits):
    for bit in bits:
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield bit, bytes(flipped)


def _outcomes(data: bytes, bits, equal) -> dict:
    counts = {"detected": 0, "harmless": 0}
    for bit, flipped in _flips(data, bits):
        try:
            out = gt.load(io.BytesIO(flipped))
        except CheckpointError:
            counts["detected"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - any other type is the finding
            raise AssertionError(f"bit {bit}: {type(exc).__name__}: {exc}") from None
        assert equal(out), f"bit {bit}: wrong values loaded silently"
        counts["harmless"] += 1
    return counts


def _same_checkpoint(out) -> bool:
    return (isinstance(out, dict) and list(out) == ["w", "b", "n"] and out["n"] == 3
            and isinstance(out["w"], gt.Tensor) and out["w"].dtype is gt.float32
            and np.array_equal(out["w"].numpy(), np.arange(8, dtype=np.float32))
            and isinstance(out["b"], gt.Tensor) and out["b"].dtype is gt.float64
            and np.array_equal(out["b"].numpy(), np.ones(2)))


def test_every_bit_flip_of_a_graphtorch_checkpoint():
    buffer = io.BytesIO()
    gt.save({"w": gt.arange(8.), "b": gt.ones(2, dtype=gt.float64), "n": 3}, buffer)
    data = buffer.getvalue()
    counts = _outcomes(data, range(len(data) * 8), _same_checkpoint)
    assert counts["detected"] > counts["harmless"] > 0


def test_bit_flips_of_a_pytorch_checkpoint():
    buffer = io.BytesIO()
    torch.save({"w": torch.arange(8.0), "b": torch.ones(2, dtype=torch.float64), "n": 3}, buffer)
    data = buffer.getvalue()
    bits = random.Random(0).sample(range(len(data) * 8), 2000)
    counts = _outcomes(data, bits, _same_checkpoint)
    assert counts["detected"] > 0


def test_bit_flips_of_a_deflated_archive_raise_checkpoint_error_not_zlib_error():
    """A checkpoint re-zipped with compression: flips inside deflate streams must not come
    out as zlib.error or NotImplementedError."""
    buffer = io.BytesIO()
    gt.save({"w": gt.arange(8.), "b": gt.ones(2, dtype=gt.float64), "n": 3}, buffer)
    deflated = io.BytesIO()
    with zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as z:
        for name, raw in members(buffer.getvalue()).items():
            z.writestr(name, raw)
    data = deflated.getvalue()
    bits = random.Random(1).sample(range(len(data) * 8), 1500)
    counts = _outcomes(data, bits, _same_checkpoint)
    assert counts["detected"] > 0
