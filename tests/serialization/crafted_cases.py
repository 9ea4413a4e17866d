"""Crafted checkpoint files, built byte by byte: each one a way to attack or confuse gt.load.

`refused_cases()` maps a case name to file bytes that gt.load must refuse with
CheckpointError; `accepted_cases()` maps a name to files that are unusual but legitimate
(PyTorch loads them too) and must load in bounded memory. Pickles are assembled from
opcodes here, so no binary fixture is shipped.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import warnings
import zipfile
from collections import OrderedDict

import numpy as np

import graphtorch as gt

from .helpers import members, saved, with_manifest, zip_bytes

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


def deflated_member(name: str, payload_size: int) -> bytes:
    """A zip with one honest deflated member of zeros (ratio ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, z.open(name, "w") as out:
        chunk = bytes(1 << 20)
        for _ in range(payload_size >> 20):
            out.write(chunk)
    return buffer.getvalue()


def _raw_copy_with_deflated(items: dict, deflated: dict) -> bytes:
    """A zip of stored `items` plus deflated `deflated` members (name -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
        for name, data in deflated.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return buffer.getvalue()


# --- graphtorch-format files -----------------------------------------------------------------

def _genuine() -> bytes:
    return saved({"w": gt.arange(4.), "n": 1})


def _edit(edit) -> bytes:
    return with_manifest(_genuine(), edit)


def _set(path, value):
    def edit(manifest):
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _resign(items: dict) -> bytes:
    items["manifest.sha256"] = hashlib.sha256(items["manifest.json"]).hexdigest().encode()
    return zip_bytes(items)


def _with_pickle(pkl: bytes, tensors_from=None) -> bytes:
    """A graphtorch checkpoint whose root is the pickle `pkl` (sha256 consistent)."""
    items = members(tensors_from or _genuine())
    manifest = json.loads(items["manifest.json"])
    manifest["root"] = None
    manifest["pickle"] = {"file": "data.pkl", "sha256": hashlib.sha256(pkl).hexdigest()}
    items["manifest.json"] = json.dumps(manifest).encode()
    items["data.pkl"] = pkl
    return _resign(items)


def _many_tensors_one_blob(count: int, version: int) -> bytes:
    blob = bytes(16 << 20)
    digest = hashlib.sha256(blob).hexdigest()
    if version == 1:
        tensors = [{"dtype": "float32", "shape": [4 << 20], "requires_grad": False,
                    "parameter": False, "device": "cpu", "file": "tensors/0",
                    "sha256": digest} for _ in range(count)]
        manifest = {"format": "graphtorch-checkpoint", "version": 1, "tensors": tensors,
                    "root": {"t": "list", "items": [{"t": "tensor", "i": i}
                                                    for i in range(count)]}}
        items = {"tensors/0": blob}
    else:
        storages = [{"file": "storages/0", "dtype": "float32", "numel": 4 << 20,
                     "device": "cpu", "sha256": digest}] * count
        tensors = [{"storage": i, "offset": 0, "shape": [4 << 20], "stride": [1],
                    "requires_grad": False, "parameter": False} for i in range(count)]
        manifest = {"format": "graphtorch-checkpoint", "version": 2, "storages": storages,
                    "tensors": tensors, "root": {"t": "list", "items": [
                        {"t": "tensor", "i": i} for i in range(count)]}}
        items = {"storages/0": blob}
    raw = json.dumps(manifest).encode()
    return zip_bytes({"format": b"graphtorch-checkpoint", "manifest.json": raw,
                      "manifest.sha256": hashlib.sha256(raw).hexdigest().encode(), **items})


def _shared_storage_gt(count: int) -> bytes:
    base = gt.zeros(4 << 20)
    return saved([base[i:] for i in range(count)])


def _deep_json(depth: int) -> bytes:
    items = members(_genuine())
    items["manifest.json"] = b'{"format": "graphtorch-checkpoint", "version": 2, "root": ' + \
        b"[" * depth + b"]" * depth + b', "tensors": [], "storages": []}'
    return _resign(items)


def _gt_cases() -> dict:
    tensor0 = ["tensors", 0]
    storage0 = ["storages", 0]

    def deflated_manifest():
        return _raw_copy_with_deflated(
            {k: v for k, v in members(_genuine()).items() if k != "manifest.json"},
            {"manifest.json": b" " * (32 << 20)})
    cases = {
        # 1. geometry outside the storage (storage: 4 float32)
        "gt_size_65536": _edit(_set(tensor0 + ["shape"], [65536])),
        "gt_size_2e26": _edit(_set(tensor0 + ["shape"], [2 ** 26])),
        "gt_stride_2e40": _edit(lambda m: m["tensors"][0].update(shape=[2], stride=[2 ** 40])),
        "gt_negative_offset": _edit(_set(tensor0 + ["offset"], -1)),
        "gt_negative_stride": _edit(lambda m: m["tensors"][0].update(shape=[2], stride=[-1],
                                                                      offset=3)),
        "gt_offset_past_end": _edit(lambda m: m["tensors"][0].update(shape=[2], offset=10)),
        "gt_numel_overflow": _edit(lambda m: m["tensors"][0].update(shape=[2 ** 62, 2 ** 62],
                                                                     stride=[1, 1])),
        "gt_stride_length": _edit(_set(tensor0 + ["stride"], [1, 1])),
        "gt_negative_size": _edit(_set(tensor0 + ["shape"], [-4])),
        "gt_storage_numel_lies": _edit(_set(storage0 + ["numel"], 2 ** 40)),
        "gt_storage_numel_negative": _edit(_set(storage0 + ["numel"], -1)),
        # 2. amplification
        "gt_300_storages_one_blob": lambda: _many_tensors_one_blob(300, 2),
        "gt_v1_300_tensors_one_blob": lambda: _many_tensors_one_blob(300, 1),
        "gt_manifest_bomb": deflated_manifest,
        "gt_blob_bomb": _gt_blob_bomb,
        "gt_blob_declares_2gib": patch_member(_genuine(), "storages/0", file_size=2 ** 31,
                                              compress_size=2 ** 31),
        "gt_deep_json": _deep_json(100_000),
        "gt_billion_laughs_pickle": _with_pickle(billion_laughs(9)),
        # 3. state set on globals
        "gt_build_on_global": _with_pickle(b"\x80\x02" + glob("graphtorch.dtypes", "_dtype_by_name")
                                           + b"}" + text("__defaults__") + b")s" + b"b."),
        "gt_build_on_dtype": _with_pickle(b"\x80\x02" + call(glob("graphtorch.dtypes",
                                                                  "_dtype_by_name"),
                                                             text("float32"))
                                          + b"}" + text("name") + text("junk") + b"sb."),
        "gt_pickle_code": _with_pickle(b"\x80\x02" + call(glob("posix", "system"),
                                                          text("touch /tmp/gt_pwned")) + b"."),
        "gt_pickle_tensor_ref_99": _with_pickle(b"\x80\x02" + tup(text("tensor"), val(99))
                                                + b"Q."),
        "gt_pickle_sha_mismatch": with_manifest(_with_pickle(b"\x80\x02N."), _set(
            ["pickle", "sha256"], "0" * 64)),
        # 4. schema
        "gt_index_minus_1": _edit(_set(["root", "items", 0, 1, "i"], -1)),
        "gt_index_99": _edit(_set(["root", "items", 0, 1, "i"], 99)),
        "gt_index_string": _edit(_set(["root", "items", 0, 1, "i"], "0")),
        "gt_index_bool": _edit(_set(["root", "items", 0, 1, "i"], True)),
        "gt_requires_grad_yes": _edit(_set(tensor0 + ["requires_grad"], "yes")),
        "gt_requires_grad_int_tensor": with_manifest(saved(gt.arange(3)),
                                                     _set(tensor0 + ["requires_grad"], True)),
        "gt_parameter_null": _edit(_set(tensor0 + ["parameter"], None)),
        "gt_unknown_tensor_key": _edit(_set(tensor0 + ["evil"], 1)),
        "gt_missing_tensor_key": _edit(lambda m: m["tensors"][0].pop("stride")),
        "gt_storage_index_minus_1": _edit(_set(tensor0 + ["storage"], -1)),
        "gt_shape_floats": _edit(_set(tensor0 + ["shape"], [4.0])),
        "gt_shape_string": _edit(_set(tensor0 + ["shape"], "4")),
        "gt_dtype_unknown": _edit(_set(storage0 + ["dtype"], "float128")),
        "gt_dtype_not_string": _edit(_set(storage0 + ["dtype"], 7)),
        "gt_device_gpu0": _edit(_set(storage0 + ["device"], "gpu0")),
        "gt_device_int": _edit(_set(storage0 + ["device"], 0)),
        "gt_storage_file_missing": _edit(_set(storage0 + ["file"], "storages/9")),
        "gt_storage_file_is_manifest": _edit(_set(storage0 + ["file"], "manifest.json")),
        "gt_storage_sha_malformed": _edit(_set(storage0 + ["sha256"], "xyz")),
        "gt_storage_sha_wrong": _edit(_set(storage0 + ["sha256"], "0" * 64)),
        "gt_manifest_is_list": _manifest_raw(b"[]"),
        "gt_manifest_null": _manifest_raw(b"null"),
        "gt_manifest_not_json": _manifest_raw(b"{not json"),
        "gt_manifest_not_utf8": _manifest_raw(b'{"format": "\xff\xfe"}'),
        "gt_manifest_huge_int": _manifest_raw(b'{"version": ' + b"9" * 5000 + b"}"),
        "gt_version_3": _edit(_set(["version"], 3)),
        "gt_version_string": _edit(_set(["version"], "2")),
        "gt_version_bool": _edit(_set(["version"], True)),
        "gt_format_wrong": _edit(_set(["format"], "pytorch")),
        "gt_no_storages": _edit(lambda m: m.pop("storages")),
        "gt_tensors_not_list": _edit(_set(["tensors"], {})),
        "gt_root_unknown_kind": _edit(_set(["root"], {"t": "eval", "v": "1"})),
        "gt_root_not_entry": _edit(_set(["root"], [1, 2])),
        "gt_root_unhashable_key": _edit(_set(["root"], {"t": "dict", "items": [
            [{"t": "list", "items": []}, 1]]})),
        "gt_root_items_not_list": _edit(_set(["root"], {"t": "list", "items": 5})),
        "gt_root_pairs_wrong": _edit(_set(["root"], {"t": "dict", "items": [[1, 2, 3]]})),
        "gt_root_int_letters": _edit(_set(["root"], {"t": "int", "v": "0x10"})),
        "gt_root_float_garbage": _edit(_set(["root"], {"t": "float", "v": "pi"})),
        "gt_root_float_number": _edit(_set(["root"], {"t": "float", "v": 1.5})),
        "gt_root_bytes_bad_b64": _edit(_set(["root"], {"t": "bytes", "v": "!!"})),
        "gt_root_bytes_number": _edit(_set(["root"], {"t": "bytes", "v": 5})),
        "gt_root_dtype_unknown": _edit(_set(["root"], {"t": "dtype", "v": "int3"})),
        "gt_root_device_tpu": _edit(_set(["root"], {"t": "device", "v": "tpu"})),
        "gt_root_size_strings": _edit(_set(["root"], {"t": "size", "v": ["a"]})),
        "gt_root_metadata_list": _edit(_set(["root"], {"t": "odict", "items": [],
                                                       "metadata": {"t": "list", "items": []}})),
        "gt_root_extra_key": _edit(_set(["root"], {"t": "list", "items": [], "x": 1})),
        "gt_root_and_pickle": _edit(lambda m: m.update(pickle={"file": "data.pkl",
                                                               "sha256": "0" * 64})),
        "gt_manifest_sha_mismatch": _tamper_manifest(),
        "gt_manifest_sha_huge": _manifest_sha(b"0" * (1 << 20)),
        "gt_format_member_huge": _format_member(b"graphtorch-checkpoint" + b" " * (1 << 20)),
        "gt_duplicate_member": _duplicate_member(),
    }
    return cases


def _gt_blob_bomb() -> bytes:
    items = members(_genuine())
    items.pop("storages/0")
    manifest = json.loads(items["manifest.json"])
    manifest["storages"][0]["numel"] = 16 << 20
    manifest["tensors"][0]["shape"] = [16 << 20]
    items["manifest.json"] = json.dumps(manifest).encode()
    items["manifest.sha256"] = hashlib.sha256(items["manifest.json"]).hexdigest().encode()
    return _raw_copy_with_deflated(items, {"storages/0": bytes(64 << 20)})


def _manifest_raw(raw: bytes) -> bytes:
    items = members(_genuine())
    items["manifest.json"] = raw
    return _resign(items)


def _manifest_sha(raw: bytes) -> bytes:
    items = members(_genuine())
    items["manifest.sha256"] = raw
    return zip_bytes(items)


def _format_member(raw: bytes) -> bytes:
    items = members(_genuine())
    items["format"] = raw
    return zip_bytes(items)


def _tamper_manifest() -> bytes:
    items = members(_genuine())
    items["manifest.json"] = items["manifest.json"].replace(b'"numel":4', b'"numel":5')
    return zip_bytes(items)


def _duplicate_member() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members(_genuine()).items():
            z.writestr(name, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            z.writestr("storages/0", np.arange(4, dtype="<f4").tobytes()[::-1])
    return buffer.getvalue()


# --- PyTorch-format files --------------------------------------------------------------------

def _torch_cases() -> dict:
    genuine_pkl = program(("w", rebuild_v2()))
    storage16 = np.arange(4, dtype="<f4").tobytes()
    cases = {
        # 1. out-of-bounds geometry (storage: 4 float32)
        "pt_size_65536": tensor_file(size=(65536,)),
        "pt_size_2e20": tensor_file(size=(2 ** 20,)),
        "pt_size_2e26": tensor_file(size=(2 ** 26,)),
        "pt_stride_2e40": tensor_file(size=(2,), stride=(2 ** 40,)),
        "pt_negative_offset": tensor_file(offset=-1, size=(2,)),
        "pt_negative_stride": tensor_file(offset=3, size=(2,), stride=(-1,)),
        "pt_offset_past_end": tensor_file(offset=10, size=(2,)),
        "pt_huge_offset": tensor_file(offset=2 ** 62, size=(1,)),
        "pt_0d_past_end": tensor_file(offset=4, size=(), stride=()),
        "pt_numel_overflow": tensor_file(size=(2 ** 62, 2 ** 62), stride=(1, 1)),
        "pt_span_overflow": tensor_file(size=(2,), stride=(2 ** 62,)),
        "pt_stride_length": tensor_file(size=(2, 2), stride=(1,)),
        "pt_negative_size": tensor_file(size=(-1,)),
        "pt_float_size": tensor_file(size=(2.0,)),
        "pt_size_not_tuple": tensor_file(size=4),
        # 2. amplification
        "pt_billion_laughs_7": torch_file(billion_laughs(7)),
        "pt_billion_laughs_9": torch_file(billion_laughs(9)),
        "pt_billion_laughs_dict": torch_file(billion_laughs(8, container=b"dict")),
        "pt_billion_laughs_tuple": torch_file(billion_laughs(8, container=b"tuple")),
        "pt_billion_laughs_binary": torch_file(billion_laughs(60, fanout=2)),
        "pt_storage_bomb_deflated": _torch_storage_bomb,
        "pt_storage_declares_2gib": patch_member(
            torch_file(program(("w", rebuild_v2(size=(2 ** 29,), storage=pid(numel=2 ** 29))))),
            "archive/data/0", file_size=2 ** 31, compress_size=2 ** 31),
        "pt_numel_lies": torch_file(program(("w", rebuild_v2(size=(2 ** 30,),
                                                             storage=pid(numel=2 ** 30))))),
        "pt_numel_negative": torch_file(program(("w", rebuild_v2(storage=pid(numel=-4))))),
        "pt_pickle_bomb": patch_member(torch_file(genuine_pkl), "archive/data.pkl",
                                       file_size=2 ** 31),
        "pt_bytearray_alloc": torch_file(program(("b", call(glob("builtins", "bytearray"),
                                                            val(2 ** 40))))),
        "pt_binunicode8_huge": torch_file(b"\x80\x04\x8d" + struct.pack("<Q", 2 ** 62) + b"."),
        "pt_binbytes8_huge": torch_file(b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 40) + b"ab."),
        "pt_long4_huge": torch_file(b"\x80\x02\x8b" + struct.pack("<i", 2 ** 30) + b"."),
        "pt_long4_negative": torch_file(b"\x80\x02\x8b" + struct.pack("<i", -5) + b"."),
        "pt_frame_lies": torch_file(b"\x80\x04\x95" + struct.pack("<Q", 2 ** 40) + b"N."),
        # 3. state set on globals / tensors
        "pt_build_defaults": torch_file(b"\x80\x02" + glob("torch._utils", "_rebuild_tensor_v2")
                                        + b"N}" + text("__defaults__") + b")s\x86b."),
        "pt_build_tensor_data": torch_file(program(("w", rebuild_v2() + b"}" + text("_data")
                                                    + text("junk") + b"sb"))),
        "pt_build_on_class": torch_file(b"\x80\x02" + glob("collections", "OrderedDict")
                                        + b"}" + text("x") + val(1) + b"sb."),
        "pt_build_odict_class_attr": torch_file(b"\x80\x02" + odict() + b"}" + text("__class__")
                                                + glob("builtins", "set") + b"sb."),
        "pt_build_on_dtype": torch_file(b"\x80\x02" + glob("torch", "float32") + b"}"
                                        + text("name") + text("x") + b"sb."),
        "pt_build_on_set_global": torch_file(b"\x80\x02" + glob("builtins", "set")
                                             + b"}" + text("add") + val(1) + b"sb."),
        "pt_build_parameter": torch_file(program(("w", call(glob("torch._utils",
                                                                 "_rebuild_parameter"),
                                                            rebuild_v2(), b"\x88", odict())
                                                  + b"}" + text("_data") + val(0) + b"sb"))),
        "pt_param_state_data": torch_file(program(("w", call(
            glob("torch._utils", "_rebuild_parameter_with_state"), rebuild_v2(), b"\x88",
            odict(), b"}" + text("data") + val(0) + b"s")))),
        # 4. malformed pickles and ids
        "pt_truncated_pickle": torch_file(genuine_pkl[:40]),
        "pt_no_stop": torch_file(genuine_pkl[:-1]),
        "pt_opcode_inst": torch_file(b"\x80\x02ios\nsystem\n(X\x02\x00\x00\x00ls."),
        "pt_opcode_obj": torch_file(b"\x80\x02(" + glob("os", "system") + b"o."),
        "pt_opcode_ext1": torch_file(b"\x80\x02\x82\x01."),
        "pt_opcode_persid_text": torch_file(b"\x80\x02P0\n."),
        "pt_opcode_next_buffer": torch_file(b"\x80\x05\x97."),
        "pt_opcode_unknown": torch_file(b"\x80\x02\xff."),
        "pt_proto_99": torch_file(b"\x80\x63N."),
        "pt_stack_underflow": torch_file(b"\x80\x02R."),
        "pt_tuple_without_mark": torch_file(b"\x80\x02Nt."),
        "pt_memo_undefined": torch_file(b"\x80\x02h\x05."),
        "pt_setitem_on_list": torch_file(b"\x80\x02]" + val(1) + val(2) + b"s."),
        "pt_append_on_dict": torch_file(b"\x80\x02}" + val(1) + b"a."),
        "pt_unhashable_key": torch_file(b"\x80\x02}]" + val(1) + b"s."),
        "pt_bad_utf8": torch_file(b"\x80\x02X\x02\x00\x00\x00\xff\xfe."),
        "pt_pid_3_tuple": torch_file(program(("w", rebuild_v2(
            storage=tup(text("storage"), text("0"), text("cpu")) + b"Q")))),
        "pt_pid_not_storage": torch_file(program(("w", rebuild_v2(storage=pid(kind="module")))),
                                         ),
        "pt_pid_key_path": torch_file(program(("w", rebuild_v2(storage=pid(key="../../etc"))))),
        "pt_pid_key_int": torch_file(program(("w", rebuild_v2(
            storage=tup(text("storage"), glob("torch", "FloatStorage"), val(0), text("cpu"),
                        val(4)) + b"Q")))),
        "pt_pid_type_dtype": torch_file(program(("w", rebuild_v2(
            storage=pid(storage=("torch", "float32")))))),
        "pt_location_gpu0": torch_file(program(("w", rebuild_v2(storage=pid(location="gpu0"))))),
        "pt_location_int": torch_file(program(("w", rebuild_v2(
            storage=tup(text("storage"), glob("torch", "FloatStorage"), text("0"), val(3),
                        val(4)) + b"Q")))),
        "pt_record_missing": torch_file(genuine_pkl, storages={}),
        "pt_record_short": torch_file(genuine_pkl, storages={"0": storage16[:12]}),
        "pt_record_long": torch_file(genuine_pkl, storages={"0": storage16 * 2}),
        "pt_storage_twice": torch_file(program(("a", rebuild_v2(storage=pid(numel=8))),
                                               ("b", rebuild_v2(storage=pid(numel=4)))),
                                       storages={"0": storage16 * 2}),
        "pt_untyped_with_v2": torch_file(program(("w", rebuild_v2(
            storage=pid(storage=("torch.storage", "UntypedStorage"), numel=16))))),
        "pt_v3_odd_bytes": torch_file(program(("w", call(
            glob("torch._utils", "_rebuild_tensor_v3"),
            pid(storage=("torch.storage", "UntypedStorage"), numel=3), val(0), val((1,)),
            val((1,)), b"\x89", odict(), glob("torch", "bfloat16")))),
            storages={"0": b"abc"}),
        "pt_v3_dtype_not_dtype": torch_file(program(("w", call(
            glob("torch._utils", "_rebuild_tensor_v3"),
            pid(storage=("torch.storage", "UntypedStorage"), numel=16), val(0), val((4,)),
            val((1,)), b"\x89", odict(), text("float32"))))),
        "pt_byteorder_middle": torch_file(genuine_pkl, extra={"archive/byteorder": b"middle"}),
        "pt_two_data_pkl": torch_file(genuine_pkl, extra={"other/data.pkl": genuine_pkl}),
        "pt_torchscript": torch_file(genuine_pkl, extra={"archive/constants.pkl": b"\x80\x02N."}),
        "pt_arity_v2": torch_file(program(("w", call(glob("torch._utils", "_rebuild_tensor_v2"),
                                                     pid(), val(0))))),
        "pt_requires_grad_yes": tensor_file(requires_grad=text("yes")),
        "pt_requires_grad_int": torch_file(program(("w", rebuild_v2(
            requires_grad=b"\x88", storage=pid(storage=("torch", "IntStorage")))))),
        "pt_hooks": tensor_file(hooks=b"}" + val(1) + val(2) + b"s"),
        "pt_metadata_conj": tensor_file(extra=(b"}" + text("conj") + b"\x88s",)),
        "pt_parameter_int_data": torch_file(program(("w", call(
            glob("torch._utils", "_rebuild_parameter"), val(1), b"\x88", odict())))),
        "pt_tensor_from_storage_marker": torch_file(program(("w", call(
            glob("torch._utils", "_rebuild_tensor_v2"), glob("torch", "FloatStorage"), val(0),
            val((1,)), val((1,)), b"\x89", odict())))),
        "pt_from_type_eval": torch_file(program(("w", call(
            glob("torch._tensor", "_rebuild_from_type_v2"), glob("builtins", "eval"),
            glob("torch", "Tensor"), tup(text("1")), b"}")))),
        "pt_from_type_state": torch_file(program(("w", call(
            glob("torch._tensor", "_rebuild_from_type_v2"),
            glob("torch._utils", "_rebuild_tensor_v2"), glob("torch", "Tensor"),
            tup(pid(), val(0), val((4,)), val((1,)), b"\x89", odict()),
            b"}" + text("__class__") + glob("builtins", "set") + b"s")))),
        "pt_device_tpu": torch_file(program(("d", call(glob("torch", "device"), text("tpu"))))),
        "pt_size_strings": torch_file(program(("s", call(glob("torch", "Size"),
                                                         tup(text("a")))))),
        "pt_encode_utf16": torch_file(program(("b", call(glob("_codecs", "encode"), text("a"),
                                                         text("utf-16"))))),
        "pt_complex_from_string": torch_file(program(("c", call(glob("builtins", "complex"),
                                                                text("1+2j"))))),
        "pt_reduce_on_dtype": torch_file(program(("c", call(glob("torch", "float32"))))),
        "pt_newobj_user_class": torch_file(b"\x80\x02" + glob("__main__", "Evil") + b")\x81."),
        "pt_newobj_ex_kwargs": torch_file(b"\x80\x04" + glob("collections", "OrderedDict")
                                          + b")}" + text("a") + val(1) + b"s\x92."),
        "pt_sparse": torch_file(program(("w", call(glob("torch._utils",
                                                        "_rebuild_sparse_tensor"),
                                                   val(0))))),
        "pt_meta_tensor": torch_file(program(("w", call(
            glob("torch._utils", "_rebuild_meta_tensor_no_storage"), glob("torch", "float32"),
            val((2,)), val((1,)), b"\x89")))),
        # 5. code
        "pt_os_system": torch_file(program(("x", call(glob("os", "system"),
                                                      text("touch /tmp/gt_pwned"))))),
        "pt_posix_system": torch_file(program(("x", call(glob("posix", "system"),
                                                         text("touch /tmp/gt_pwned"))))),
        "pt_builtins_eval": torch_file(program(("x", call(glob("builtins", "eval"),
                                                          text("1+1"))))),
        "pt_builtins_getattr": torch_file(program(("x", call(glob("builtins", "getattr"),
                                                             glob("torch", "float32"),
                                                             text("name"))))),
        "pt_subprocess": torch_file(program(("x", call(glob("subprocess", "check_output"),
                                                       tup(text("ls")))))),
        "pt_user_class": torch_file(program(("x", call(glob("__main__", "Evil"))))),
        "pt_stack_global_eval": torch_file(b"\x80\x04" + text("builtins") + text("eval")
                                           + b"\x93" + tup(text("1")) + b"R."),
        "pt_copyreg_reconstructor": torch_file(program(("x", call(
            glob("copy_reg", "_reconstructor"), glob("__main__", "Evil"),
            glob("__builtin__", "object"), b"N")))),
    }
    return cases


def _torch_storage_bomb() -> bytes:
    pkl = program(("w", rebuild_v2(size=(16 << 20,), storage=pid(numel=16 << 20))))
    stored = {"archive/data.pkl": pkl, "archive/byteorder": b"little", "archive/version": b"3\n"}
    return _raw_copy_with_deflated(stored, {"archive/data/0": bytes(64 << 20)})


def _zip_cases() -> dict:
    genuine = _genuine()
    crc_flip = bytearray(genuine)
    data_at = genuine.find(np.arange(4, dtype="<f4").tobytes())
    crc_flip[data_at + 5] ^= 0x10
    genuine_pkl = program(("w", rebuild_v2()))
    deflated = _raw_copy_with_deflated(
        {"archive/byteorder": b"little", "archive/data/0": np.arange(4, dtype="<f4").tobytes()},
        {"archive/data.pkl": genuine_pkl})
    zlib_broken = bytearray(deflated)
    stream_at = deflated.find(b"archive/data.pkl") + len("archive/data.pkl")
    zlib_broken[stream_at + 2:stream_at + 6] = b"\xff\xff\xff\xff"
    return {
        "zip_empty": b"",
        "zip_not_a_zip": b"hello, world" * 10,
        "zip_plain_pickle": pickle.dumps({"x": 1}),
        "zip_legacy_torch_magic": b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.",
        "zip_truncated_half": genuine[: len(genuine) // 2],
        "zip_truncated_end": genuine[:-10],
        "zip_crc_mismatch": bytes(crc_flip),
        "zip_encrypted_flag": patch_member(genuine, "storages/0", flags=1),
        "zip_method_99": patch_member(genuine, "storages/0", method=99),
        "zip_method_bzip2": patch_member(genuine, "manifest.json", method=12),
        "zip_zlib_error": bytes(zlib_broken),
        "zip_neither_format": zip_bytes({"hello.txt": b"hi"}),
        "zip_local_size_lies": patch_member(genuine, "manifest.json", file_size=3,
                                            compress_size=3),
    }


def refused_cases() -> dict:
    """{name: file bytes, or a function making them} that gt.load must refuse with
    CheckpointError."""
    return {**_gt_cases(), **_torch_cases(), **_zip_cases()}


def accepted_cases() -> dict:
    """{name: file bytes, or a function making them} that look odd but are legitimate:
    they load, in bounded memory."""
    shared = program(*[(f"t{i}", rebuild_v2(size=(4 << 20,), storage=pid(numel=4 << 20)))
                       for i in range(200)])
    deep = b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."
    return {
        "ok_pt_200_views_of_16mib": lambda: torch_file(shared, storages={"0": bytes(16 << 20)}),
        "ok_gt_200_views_of_16mib": lambda: _shared_storage_gt(200),
        "ok_pt_empty_far_offset": tensor_file(offset=2 ** 62, size=(0,)),
        "ok_pt_deep_nesting": torch_file(deep),
        "ok_pt_odict_metadata": torch_file(b"\x80\x02" + odict() + b"}" + text("_metadata")
                                           + b"}sb."),
    }


def genuine_files() -> dict:
    """Checks for after the crafted files: these must still load exactly."""
    import torch

    buffer = io.BytesIO()
    torch.save(OrderedDict(w=torch.arange(6.0).reshape(2, 3), step=torch.tensor(3)), buffer)
    return {"genuine_torch": buffer.getvalue(),
            "genuine_gt": saved({"w": gt.arange(6.).reshape(2, 3), "n": 3})}
