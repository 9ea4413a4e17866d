"""Crafted checkpoint files, built byte by byte: each one a way to attack or confuse gt.load.

`refused_cases()` maps a case name to file bytes (or a function making them) that gt.load
must refuse with CheckpointError: graphtorch-format files here, PyTorch-format ones in
crafted_torch_cases.py, zip-level damage here. `accepted_cases()` maps a name to files that
are unusual but legitimate (PyTorch loads them too) and must load in bounded memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import warnings
import zipfile
from collections import OrderedDict

import numpy as np

import graphtorch as gt

from .crafted_builders import (
    billion_laughs,
    call,
    glob,
    odict,
    patch_member,
    pid,
    program,
    rebuild_v2,
    tensor_file,
    text,
    torch_file,
    tup,
    val,
    with_deflated,
)
from .crafted_torch_cases import torch_cases
from .helpers import members, saved, with_manifest, zip_bytes

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
        return with_deflated(
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
        "gt_size1_huge_stride": _edit(lambda m: m["tensors"][0].update(shape=[1, 4],
                                                                        stride=[2 ** 62, 1])),
        "gt_stride_beyond_int64": _edit(lambda m: m["tensors"][0].update(shape=[1],
                                                                          stride=[2 ** 70])),
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
        "gt_one_long_string_a_million_times": _with_pickle(
            b"\x80\x02" + text("x" * (1 << 20)) + b"q\x00](" + b"h\x00" * 1_000_000 + b"e."),
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
    return with_deflated(items, {"storages/0": bytes(64 << 20)})


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


def _zip_cases() -> dict:
    genuine = _genuine()
    crc_flip = bytearray(genuine)
    data_at = genuine.find(np.arange(4, dtype="<f4").tobytes())
    crc_flip[data_at + 5] ^= 0x10
    genuine_pkl = program(("w", rebuild_v2()))
    deflated = with_deflated(
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
    return {**_gt_cases(), **torch_cases(), **_zip_cases()}


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
