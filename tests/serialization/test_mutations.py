"""Random mutations *inside* consistent archives (the zip CRC and graphtorch's checksums
recomputed, so only the parsers stand between the bytes and the loader): every mutated pickle
or manifest loads or raises CheckpointError, never another exception type."""

from __future__ import annotations

import hashlib
import io
import random
from collections import OrderedDict

import pytest

import graphtorch as gt
from graphtorch.serialization import CheckpointError

from .helpers import members, saved, zip_bytes

torch = pytest.importorskip("torch")


def _mutations(data: bytes, count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(out))
            action = rng.random()
            if action < 0.5:
                out[at] = rng.randrange(256)
            elif action < 0.75:
                del out[at:at + rng.randint(1, 8)]
            else:
                out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        yield bytes(out)


def _load_all(files) -> dict:
    counts = {"loaded": 0, "refused": 0}
    for data in files:
        try:
            gt.load(io.BytesIO(data))
            counts["loaded"] += 1
        except CheckpointError:
            counts["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - any other type is the finding
            raise AssertionError(f"{type(exc).__name__}: {exc}") from None
    return counts


def test_mutated_pytorch_pickles():
    buffer = io.BytesIO()
    base = torch.arange(6.0)
    torch.save({"state": torch.nn.Linear(2, 2).state_dict(), "view": base[2:], "base": base,
                "size": torch.Size([2]), "set": {1}, "bytes": b"x", "dt": torch.float16,
                "p": torch.nn.Parameter(torch.ones(1)), "dev": torch.device("cpu")}, buffer)
    items = members(buffer.getvalue())
    pkl = next(n for n in items if n.endswith("data.pkl"))

    def files():
        for mutated in _mutations(items[pkl], 400, seed=0):
            yield zip_bytes({**items, pkl: mutated})

    counts = _load_all(files())
    assert counts["refused"] > 0


def test_mutated_whole_model_pickles():
    data = saved({"model": gt.nn.Sequential(gt.nn.Linear(2, 2), gt.nn.ReLU()), "n": [1, 2]})
    items = members(data)

    def files():
        for mutated in _mutations(items["data.pkl"], 300, seed=1):
            manifest = items["manifest.json"].replace(
                hashlib.sha256(items["data.pkl"]).hexdigest().encode(),
                hashlib.sha256(mutated).hexdigest().encode())
            yield zip_bytes({**items, "data.pkl": mutated, "manifest.json": manifest,
                             "manifest.sha256": hashlib.sha256(manifest).hexdigest().encode()})

    with gt.serialization.safe_globals([gt.nn.Sequential, gt.nn.Linear, gt.nn.ReLU]):
        counts = _load_all(files())
    assert counts["refused"] > 0


def test_mutated_manifests():
    base = gt.arange(6.)
    data = saved({"a": base, "v": base[1:], "m": OrderedDict(x=gt.ones(2, dtype=gt.int64)),
                  "s": {1, 2}, "b": b"xy", "c": 1j, "big": 2 ** 80, "t": (None, True, 0.5)})
    items = members(data)

    def files():
        for mutated in _mutations(items["manifest.json"], 400, seed=2):
            yield zip_bytes({**items, "manifest.json": mutated,
                             "manifest.sha256": hashlib.sha256(mutated).hexdigest().encode()})

    counts = _load_all(files())
    assert counts["refused"] > 0
