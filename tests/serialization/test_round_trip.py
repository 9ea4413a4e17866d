"""gt.save / gt.load round trips: every kind of value, shared storages, shared and cyclic
containers, state-dict metadata, file objects, legacy files and map_location (vs PyTorch)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.serialization import CheckpointError

from .helpers import members, same, saved, zip_bytes

torch = pytest.importorskip("torch")


def _round_trip(obj, **load_args):
    return gt.load(io.BytesIO(saved(obj)), **load_args)


def test_round_trip_of_every_plain_kind(tmp_path):
    obj = {"epoch": 7, "lr": 0.1, "nan": float("nan"), "inf": -math.inf, "neg0": -0.0,
           "big": 2 ** 70, "neg_big": -(2 ** 64), "name": "run", "flags": (True, None),
           "model": OrderedDict(w=gt.randn(3, 4), b=gt.arange(5)),
           "opt": {"state": {0: {"step": gt.tensor(3.0), "buf": gt.zeros(2)}},
                   "param_groups": [{"lr": 0.1, "params": [0]}]},
           "p": gt.nn.Parameter(gt.ones(2)), "frozen": gt.nn.Parameter(gt.ones(1), False),
           "half": gt.ones(2, dtype=gt.float16), "c64": gt.tensor([1 + 2j]),
           "u16": gt.tensor([1, 65535], dtype=gt.uint16),
           "u64": gt.tensor([2 ** 64 - 1], dtype=gt.uint64), "bool": gt.tensor([True, False]),
           "empty": gt.zeros(0, 3), "scalar": gt.tensor(2.5),
           "grad": gt.ones(2, requires_grad=True),
           "complex": 1.5 - 2j, "set": {1, 2, "a"}, "frozenset": frozenset({3}),
           "bytes": b"\x00\xffab", "bytearray": bytearray(b"xy"), "size": gt.Size([2, 3]),
           "dtypes": [gt.float64, gt.bfloat16, gt.float8_e4m3fn, gt.uint32],
           "device": gt.device("cpu"), "np_scalar": np.float32(1.5),
           "tuple_key": {(1, "a"): 1, None: 2, 3.5: 3, b"k": 4}}
    path = tmp_path / "ckpt.pt"
    gt.save(obj, path)
    out = gt.load(path)
    expected = dict(obj, np_scalar=1.5)
    same(out, expected)
    assert isinstance(out["p"], gt.nn.Parameter) and out["p"].requires_grad
    assert not out["frozen"].requires_grad
    assert out["dtypes"][1] is gt.bfloat16 and out["device"] == gt.device("cpu")
    assert math.copysign(1, out["neg0"]) == -1
    assert json.loads(members(path.read_bytes())["manifest.json"])["root"] is not None


def test_views_saved_with_their_base_share_one_storage():
    base = gt.arange(12.).reshape(3, 4)
    obj = {"base": base, "t": base.t(), "row": base[1], "every_other": base.view(-1)[::2],
           "detached": base.detach()}
    data = saved(obj)
    assert [n for n in members(data) if n.startswith("storages/")] == ["storages/0"]
    out = gt.load(io.BytesIO(data))
    for k, v in obj.items():
        same(out[k], v)
    assert out["row"].storage_offset() == 4 and out["t"].stride() == (1, 4)
    out["base"][1, 0] = 100.0  # one memory, as after torch.load
    assert out["row"][0].item() == out["t"][0, 1].item() == out["every_other"][2].item() == 100
    assert out["detached"][1, 0].item() == 100
    assert out["row"].untyped_storage().data_ptr() == out["base"].untyped_storage().data_ptr()


def test_a_view_saved_alone_keeps_its_whole_storage_as_in_pytorch():
    base = gt.arange(10.)
    data = saved(base[2:4])
    manifest = json.loads(members(data)["manifest.json"])
    assert manifest["storages"][0]["numel"] == 10 and manifest["tensors"][0]["offset"] == 2
    out = gt.load(io.BytesIO(data))
    assert out.tolist() == [2.0, 3.0] and out.storage_offset() == 2


def test_loaded_tensors_are_writable_and_resaved_with_sharing():
    base = gt.arange(6.)
    out = _round_trip([base, base[1:3]])
    out[1].mul_(10)
    assert out[0].tolist() == [0, 10, 20, 3, 4, 5]
    again = _round_trip(out)
    again[0][1] = -1
    assert again[1][0].item() == -1


def test_shared_and_cyclic_containers_keep_their_identity():
    shared = [1, 2]
    cyclic = [0]
    cyclic.append(cyclic)
    d = {"x": gt.ones(2)}
    d["self"] = d
    out = _round_trip({"a": shared, "b": shared, "cyclic": cyclic, "d": d})  # weights_only
    assert out["a"] is out["b"] and out["a"] == [1, 2]
    assert out["cyclic"][1] is out["cyclic"]
    assert out["d"]["self"] is out["d"] and out["d"]["x"].tolist() == [1, 1]
    with torch_cyclic() as loaded:  # PyTorch saves and loads the same structure
        assert loaded[1] is loaded


class torch_cyclic:
    def __enter__(self):
        cyclic = [0]
        cyclic.append(cyclic)
        buffer = io.BytesIO()
        torch.save(cyclic, buffer)
        buffer.seek(0)
        return torch.load(buffer)

    def __exit__(self, *exc):
        return False


def test_deep_nesting_saves_or_says_why():
    deep = current = []
    for _ in range(200):
        current.append([])
        current = current[0]
    out = _round_trip(deep)
    for _ in range(200):
        out = out[0]
    assert out == []
    very_deep = current = []
    for _ in range(100_000):
        current.append([])
        current = current[0]
    with pytest.raises(ValueError, match="nested too deeply"):
        gt.save(very_deep, io.BytesIO())


def test_state_dict_metadata_round_trips_as_in_pytorch():
    net = gt.nn.Sequential(gt.nn.Linear(2, 2), gt.nn.BatchNorm1d(2))
    state = net.state_dict()
    out = _round_trip(state)
    assert out._metadata == state._metadata
    tnet = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    buffer = io.BytesIO()
    torch.save(tnet.state_dict(), buffer)
    buffer.seek(0)
    assert gt.load(buffer)._metadata == torch.load(io.BytesIO(buffer.getvalue()))._metadata


def test_file_objects_and_shared_tensors():
    t = gt.ones(3)
    out = _round_trip({"a": t, "b": t})
    assert out["a"] is out["b"]


def test_saving_twice_gives_the_same_bytes():
    obj = {"w": gt.arange(5.), "n": 3}
    assert saved(obj) == saved(obj)


def test_optimizer_checkpoint_round_trip_continues_identically(tmp_path):
    def run(steps, model, opt):
        for _ in range(steps):
            opt.zero_grad()
            model(gt.ones(4, 3)).pow(2).sum().backward()
            opt.step()

    gt.manual_seed(0)
    model = gt.nn.Linear(3, 2)
    opt = gt.optim.Adam(model.parameters(), lr=0.1)
    run(3, model, opt)
    gt.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3},
            tmp_path / "ckpt.pt")
    run(2, model, opt)
    ckpt = gt.load(tmp_path / "ckpt.pt")
    model2 = gt.nn.Linear(3, 2)
    model2.load_state_dict(ckpt["model"])
    opt2 = gt.optim.Adam(model2.parameters(), lr=0.1)
    opt2.load_state_dict(ckpt["opt"])
    run(2, model2, opt2)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_version_1_files_still_load():
    """The layout gt.save wrote before storages were shared: one blob per tensor."""
    blob = np.arange(6, dtype="<f4").tobytes()
    manifest = json.dumps({"format": "graphtorch-checkpoint", "version": 1,
                           "root": {"t": "dict", "items": [["w", {"t": "tensor", "i": 0}],
                                                           ["n", {"t": "int", "v": str(2 ** 60)}]]},
                           "tensors": [{"dtype": "float32", "shape": [2, 3],
                                        "requires_grad": True, "parameter": True,
                                        "device": "cpu", "file": "tensors/0",
                                        "sha256": hashlib.sha256(blob).hexdigest()}]}).encode()
    data = zip_bytes({"format": b"graphtorch-checkpoint", "manifest.json": manifest,
                      "manifest.sha256": hashlib.sha256(manifest).hexdigest().encode(),
                      "tensors/0": blob})
    out = gt.load(io.BytesIO(data))
    assert isinstance(out["w"], gt.nn.Parameter) and out["w"].shape == (2, 3)
    assert out["w"].tolist() == [[0, 1, 2], [3, 4, 5]] and out["n"] == 2 ** 60


# --- map_location, compared with torch.load ------------------------------------------------

def _both(map_location):
    """(what torch.load did, what gt.load did) for a CPU checkpoint: a device string or the
    exception type and message."""
    results = []
    for lib in (torch, gt):
        buffer = io.BytesIO()
        lib.save({"w": lib.ones(2)}, buffer)
        buffer.seek(0)
        try:
            results.append(str(lib.load(buffer, map_location=map_location)["w"].device))
        except Exception as exc:  # noqa: BLE001 - the exception is what we compare
            results.append((type(exc).__name__, str(exc).split(": ", 1)[-1]))
    return results


@pytest.mark.parametrize("map_location", ["gpu0", 0, 1.5, "cpu:0", "xla", "", {"cpu": 0},
                                          {"cpu": "gpu0"}, "cpu", {"cuda:0": "cpu"}])
def test_map_location_values_behave_as_in_pytorch(map_location):
    want, got = _both(map_location)
    assert got == want


@pytest.mark.skipif(gt.cuda.is_available(), reason="a GPU is present")
@pytest.mark.parametrize("map_location", ["cuda", "cuda:0", {"cpu": "cuda:1"}])
def test_map_location_to_cuda_without_cuda_raises_as_pytorch(map_location):
    want, got = _both(map_location)
    assert got == want and got[0] == "RuntimeError"


@pytest.mark.parametrize("map_location", ["meta", gt.device("meta"), {"cpu": "meta"}])
def test_meta_map_location_is_refused_never_silently_cpu(map_location):
    with pytest.raises(NotImplementedError, match="no meta tensors"):
        _round_trip({"w": gt.ones(2)}, map_location=map_location)


def test_map_location_callables():
    seen = []

    def keep(storage, location):
        seen.append((storage.shape, location))
        return storage

    shared = gt.arange(4.)
    out = _round_trip([shared, shared[1:]], map_location=keep)
    assert seen == [((4,), "cpu")]  # called once per storage, as in PyTorch
    assert _round_trip(gt.ones(1), map_location=lambda s, loc: None).tolist() == [1.0]
    with pytest.raises(TypeError, match="'int' object is not callable"):
        _round_trip(gt.ones(1), map_location=3)
    out[0][1] = 7
    assert out[1][0].item() == 7


def test_pickle_module_and_weights_only_arguments_as_in_pytorch():
    data = saved(gt.nn.Linear(2, 1))
    assert isinstance(gt.load(io.BytesIO(data), pickle_module=pickle), gt.nn.Linear)
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        gt.load(io.BytesIO(data), pickle_module=pickle, weights_only=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gt.load(io.BytesIO(saved([1])), encoding="latin1")
    assert "only works if `weights_only=False`" in str(caught[0].message)


def test_bytes_are_base64_in_the_manifest_not_pickled():
    manifest = json.loads(members(saved({"b": b"\x00\x01"}))["manifest.json"])
    assert manifest["root"]["items"][0][1] == {"t": "bytes",
                                               "v": base64.b64encode(b"\x00\x01").decode()}
    assert "pickle" not in manifest


def test_unknown_types_are_pickled_and_refused_by_default():
    class_instance = {"model": gt.nn.ReLU()}
    data = saved(class_instance)
    with pytest.raises(CheckpointError, match="graphtorch.nn.modules.activation.ReLU"):
        gt.load(io.BytesIO(data))
    assert isinstance(gt.load(io.BytesIO(data), weights_only=False)["model"], gt.nn.ReLU)
