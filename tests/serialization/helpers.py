"""Shared helpers: deep comparison of loaded objects and rewriting checkpoint archives."""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile

import numpy as np

import graphtorch as gt


def same(a, b) -> None:
    """`a` and `b` are equal objects of the same types (tensors: dtype, shape, values,
    requires_grad and parameter-ness)."""
    if isinstance(a, gt.Tensor):
        assert isinstance(b, gt.Tensor) and type(a) is type(b)
        assert a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        return
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        assert a == b or (_is_nan(a) and _is_nan(b))


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def zip_bytes(items: dict, compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as z:
        for name, data in items.items():
            z.writestr(name, data)
    return buffer.getvalue()


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    gt.save(obj, buffer)
    return buffer.getvalue()


def with_manifest(data: bytes, edit) -> bytes:
    """The checkpoint `data` with its manifest changed by `edit(manifest)` and re-signed, so
    that only the schema checks can catch the change."""
    items = members(data)
    manifest = json.loads(items["manifest.json"])
    edit(manifest)
    items["manifest.json"] = json.dumps(manifest).encode()
    items["manifest.sha256"] = hashlib.sha256(items["manifest.json"]).hexdigest().encode()
    return zip_bytes(items)
