"""gt.save / gt.load: round trips, PyTorch checkpoints, and refusing unsafe or damaged files."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.serialization import CheckpointError

torch = pytest.importorskip("torch")


def _same(a, b):
    assert type(a) is type(b) or (isinstance(a, gt.Tensor) and isinstance(b, gt.Tensor))
    if isinstance(a, gt.Tensor):
        assert a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b or (a != a and b != b)


def test_round_trip_of_a_checkpoint_dict(tmp_path):
    obj = {"epoch": 7, "lr": 0.1, "nan": float("nan"), "big": 2 ** 70, "name": "run",
           "flags": (True, None), "model": OrderedDict(w=gt.randn(3, 4), b=gt.arange(5)),
           "opt": {"state": {0: {"step": gt.tensor(3.0), "buf": gt.zeros(2)}},
                   "param_groups": [{"lr": 0.1, "params": [0]}]},
           "p": gt.nn.Parameter(gt.ones(2)), "half": gt.ones(2, dtype=gt.float16),
           "view": gt.arange(12.).reshape(3, 4).t(), "dtype": gt.float64}
    path = tmp_path / "ckpt.pt"
    gt.save(obj, path)
    _same(gt.load(path), obj)
    assert isinstance(gt.load(path)["p"], gt.nn.Parameter)


def test_file_objects_and_shared_tensors():
    t = gt.ones(3)
    buffer = io.BytesIO()
    gt.save({"a": t, "b": t}, buffer)
    buffer.seek(0)
    out = gt.load(buffer)
    assert out["a"] is out["b"]


def test_modules_and_arbitrary_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        gt.save(gt.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="cannot store"):
        gt.save({"f": object()}, tmp_path / "o.pt")


def test_loads_pytorch_checkpoint_identically(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    state = net.state_dict()
    path = tmp_path / "torch.pt"
    torch.save({"model": state, "step": 5, "t": torch.randn(4, 3).t(),
                "p": torch.nn.Parameter(torch.ones(2))}, path)
    out = gt.load(path)
    assert list(out["model"]) == list(state)
    for k, v in state.items():
        np.testing.assert_array_equal(out["model"][k].numpy(), v.numpy())
        assert repr(out["model"][k].dtype) == str(v.dtype)
    assert out["step"] == 5
    assert isinstance(out["p"], gt.nn.Parameter) and out["p"].requires_grad


def test_map_location_forms(tmp_path):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.ones(2)}, path)
    for loc in ("cpu", gt.device("cpu"), {"cpu": "cpu"}, lambda storage, loc: storage):
        assert gt.load(path, map_location=loc)["w"].device == gt.device("cpu")


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/graphtorch_pwned",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = "/tmp/graphtorch_pwned"
    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": _Boom()}))
        z.writestr("archive/version", "3\n")
    with pytest.raises(CheckpointError, match="refusing to load global"):
        gt.load(path)
    assert not os.path.exists(marker)


def test_plain_pickle_files_are_refused(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"x": _Boom()}))
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        gt.load(path)


def test_truncated_file_raises_clear_error(tmp_path):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.randn(100)}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 20):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            gt.load(path)


def test_tampered_tensor_data_is_detected(tmp_path):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.zeros(64)}, path)
    src = zipfile.ZipFile(path)
    members = {n: src.read(n) for n in src.namelist()}
    src.close()
    members["tensors/0"] = b"\x01" + members["tensors/0"][1:]
    with zipfile.ZipFile(path, "w") as z:  # a consistent zip with altered contents
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(CheckpointError, match="checksum"):
        gt.load(path)


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.ones(3)}, path)
    before = path.read_bytes()
    import graphtorch.serialization as S

    def crash(handle, manifest, writer):
        handle.write(b"partial")
        raise KeyboardInterrupt("simulated crash mid-save")

    monkeypatch.setattr(S, "_write_archive", crash)
    with pytest.raises(KeyboardInterrupt):
        gt.save({"w": gt.zeros(3)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


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
