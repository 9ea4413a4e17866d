"""Building crafted checkpoint files byte by byte: a small pickle assembler (protocol 2
opcodes), PyTorch-layout archives, and zip-header surgery. No binary fixture is shipped."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile

import numpy as np

from .helpers import zip_bytes

# --- a tiny pickle assembler (protocol 2 opcodes) --------------------------------------------


def val(value) -> bytes:
    """Opcodes pushing a plain value (ints, strings, tuples...), as pickle writes them."""
    return pickle.dumps(value, 2)[2:-1]


def text(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def glob(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def tup(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def call(func: bytes, *args: bytes) -> bytes:
    return func + tup(*args) + b"R"


def odict() -> bytes:
    return call(glob("collections", "OrderedDict"))


def pid(kind="storage", storage=("torch", "FloatStorage"), key="0", location="cpu",
        numel=4) -> bytes:
    return tup(text(kind), glob(*storage), text(key), text(location), val(numel)) + b"Q"


def rebuild_v2(offset=0, size=(4,), stride=(1,), requires_grad=b"\x89", hooks=None,
               storage=None, extra=()) -> bytes:
    return call(glob("torch._utils", "_rebuild_tensor_v2"), storage or pid(), val(offset),
                val(size), val(stride), requires_grad, hooks or odict(), *extra)


def program(*entries: tuple[str, bytes]) -> bytes:
    """A pickle of {name: value-opcodes, ...}."""
    body = b"".join(text(k) + v for k, v in entries)
    return b"\x80\x02}(" + body + b"u."


def torch_file(pkl: bytes, storages=None, prefix="archive/", extra=None,
               compression=zipfile.ZIP_STORED) -> bytes:
    """A PyTorch-layout zip: data.pkl, byteorder, version and data/<key> records."""
    storages = {"0": np.arange(4, dtype="<f4").tobytes()} if storages is None else storages
    items = {f"{prefix}data.pkl": pkl, f"{prefix}byteorder": b"little",
             f"{prefix}version": b"3\n"}
    items.update({f"{prefix}data/{k}": v for k, v in storages.items()})
    items.update(extra or {})
    return zip_bytes(items, compression)


def tensor_file(**rebuild_args) -> bytes:
    return torch_file(program(("w", rebuild_v2(**rebuild_args))))


def billion_laughs(depth: int, fanout: int = 10, container=b"list") -> bytes:
    """Each level holds `fanout` references to the level below: tiny file, huge tree."""
    out = bytearray(b"\x80\x02")
    for level in range(depth + 1):
        refs = [val(1)] * fanout if level == 0 else [b"h" + bytes([level - 1])] * fanout
        if container == b"list":
            out += b"](" + b"".join(refs) + b"e"
        elif container == b"dict":
            out += b"}(" + b"".join(val(i) + r for i, r in enumerate(refs)) + b"u"
        else:
            out += b"(" + b"".join(refs) + b"t"
        out += b"q" + bytes([level])
    return bytes(out + b".")


# --- zip surgery ---------------------------------------------------------------------------

def patch_member(data: bytes, name: str, **fields) -> bytes:
    """Rewrite header fields of member `name` in both the local header and the central
    directory: method, flags, crc, compress_size, file_size."""
    out = bytearray(data)
    raw = name.encode()
    local = {"flags": 6, "method": 8, "crc": 14, "compress_size": 18, "file_size": 22}
    central = {"flags": 8, "method": 10, "crc": 16, "compress_size": 20, "file_size": 24}
    widths = {"flags": "<H", "method": "<H", "crc": "<I", "compress_size": "<I",
              "file_size": "<I"}
    for signature, offsets, name_at in ((b"PK\x03\x04", local, 30), (b"PK\x01\x02", central, 46)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            if out[start + name_at:start + name_at + len(raw)] == raw:
                for key, value in fields.items():
                    struct.pack_into(widths[key], out, start + offsets[key], value)
            start += 4
    return bytes(out)


def with_deflated(items: dict, deflated: dict) -> bytes:
    """A zip of stored `items` plus deflated `deflated` members (name -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
        for name, data in deflated.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return buffer.getvalue()
