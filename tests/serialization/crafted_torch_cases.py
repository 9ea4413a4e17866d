"""Crafted PyTorch-format files (`<prefix>/data.pkl` + `data/<key>` records) that gt.load
must refuse: out-of-bounds tensor geometry, amplification, state set on globals, malformed
pickles and storage ids, and code execution."""

from __future__ import annotations

import struct

import numpy as np

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


def torch_cases() -> dict:
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
        "pt_size1_huge_stride": tensor_file(size=(1, 4), stride=(2 ** 62, 1)),
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
    return with_deflated(stored, {"archive/data/0": bytes(64 << 20)})
