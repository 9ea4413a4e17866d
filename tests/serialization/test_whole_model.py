"""Whole-model checkpoints with PyTorch 2.6+ semantics: `gt.save(model, PATH)`, refused by
default with PyTorch's guidance, loaded with `weights_only=False` or allow-listed classes."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.serialization import CheckpointError

from .helpers import members, zip_bytes

torch = pytest.importorskip("torch")


class TheModelClass(nn.Module):
    """The seed notes' (and PyTorch tutorial's) model for saving and loading."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


MODEL_CLASSES = [TheModelClass, nn.Conv2d, nn.MaxPool2d, nn.Linear]


@pytest.fixture
def saved_model(tmp_path):
    gt.manual_seed(0)
    model = TheModelClass()
    model.eval()
    path = tmp_path / "model.pt"
    gt.save(model, path)  # 方法1 (不推荐): the whole module
    return model, path


def test_whole_model_round_trip_with_weights_only_false(saved_model):
    model, path = saved_model
    loaded = gt.load(path, weights_only=False)
    assert type(loaded) is TheModelClass and not loaded.training
    assert list(loaded.state_dict()) == list(model.state_dict())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name].numpy(), value.numpy())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in loaded.parameters())
    x = gt.randn(2, 3, 32, 32)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())


def test_default_load_refuses_with_pytorch_guidance(saved_model):
    _, path = saved_model
    with pytest.raises(CheckpointError) as info:
        gt.load(path)
    message = str(info.value)
    assert isinstance(info.value, pickle.UnpicklingError)  # what torch.load raises
    assert message.startswith(f"{path}: Weights only load failed.")
    assert "weights_only` set to `False`" in message and "arbitrary code execution" in message
    name = "tests.serialization.test_whole_model.TheModelClass"
    assert f"Unsupported global: GLOBAL {name} was not an allowed global by default." in message
    assert f"`graphtorch.serialization.add_safe_globals([{name}])`" in message
    assert f"`graphtorch.serialization.safe_globals([{name}])` context manager" in message


def test_refusal_text_is_pytorchs_for_the_same_model():
    messages = []
    for lib in (torch, gt):
        buffer = io.BytesIO()
        lib.save(lib.nn.Linear(2, 2), buffer)
        buffer.seek(0)
        with pytest.raises(pickle.UnpicklingError) as info:
            lib.load(buffer)
        messages.append(str(info.value).split("WeightsUnpickler error: ")[1].split("\n")[0])
    assert messages[1].replace("graphtorch", "torch") == messages[0]


def test_safe_globals_allow_the_model_and_only_inside_the_block(saved_model):
    model, path = saved_model
    with gt.serialization.safe_globals([TheModelClass]), \
            pytest.raises(CheckpointError, match="GLOBAL graphtorch.nn.modules.conv.Conv2d"):
        gt.load(path)  # like PyTorch: each class in turn, the next one named
    with gt.serialization.safe_globals(MODEL_CLASSES):
        loaded = gt.load(path)
        assert set(gt.serialization.get_safe_globals()) == set(MODEL_CLASSES)
    assert type(loaded) is TheModelClass
    x = gt.randn(1, 3, 32, 32)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    assert gt.serialization.get_safe_globals() == []
    with pytest.raises(CheckpointError):
        gt.load(path)


def test_add_safe_globals_and_the_named_form(saved_model):
    _, path = saved_model
    try:
        gt.serialization.add_safe_globals(
            [(TheModelClass, "tests.serialization.test_whole_model.TheModelClass"),
             nn.Conv2d, nn.MaxPool2d, nn.Linear])
        assert type(gt.load(path)) is TheModelClass
    finally:
        gt.serialization.clear_safe_globals()
    assert gt.serialization.get_safe_globals() == []
    with pytest.raises(ValueError, match="tuple of length 2"), \
            gt.serialization.safe_globals([(TheModelClass,)]):
        gt.load(path)


def test_blocked_modules_stay_blocked_even_when_allowed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > /tmp/gt_pwned_allowed",))

    path = tmp_path / "boom.pt"
    gt.save({"x": Boom()}, path)
    with gt.serialization.safe_globals([os.system]), \
            pytest.raises(CheckpointError, match="is blocked"):
        gt.load(path)
    assert not os.path.exists("/tmp/gt_pwned_allowed")


class _DunderState:
    def __getstate__(self):
        return {"ok": 1, "__class__": "x"}


class _Plain:
    def __init__(self):
        self.value = [1, 2]


def test_state_of_allowed_classes_is_set_only_through_plain_names(tmp_path):
    path = tmp_path / "s.pt"
    gt.save(_DunderState(), path)
    with gt.serialization.safe_globals([_DunderState]), \
            pytest.raises(CheckpointError, match="refusing to set attribute '__class__'"):
        gt.load(path)
    gt.save(_Plain(), path)
    with gt.serialization.safe_globals([_Plain]):
        assert gt.load(path).value == [1, 2]


def test_tensors_inside_a_whole_model_are_still_checksummed(saved_model):
    _, path = saved_model
    items = members(path.read_bytes())
    blob = bytearray(items["storages/0"])
    blob[0] ^= 1
    items["storages/0"] = bytes(blob)  # a consistent zip (new CRC) with altered weights
    with pytest.raises(CheckpointError, match="does not match its checksum"):
        gt.load(io.BytesIO(zip_bytes(items)), weights_only=False)
    items = members(path.read_bytes())
    items["data.pkl"] = items["data.pkl"].replace(b"conv1", b"convX")
    with pytest.raises(CheckpointError, match="data.pkl does not match its checksum"):
        gt.load(io.BytesIO(zip_bytes(items)), weights_only=False)


def test_pytorch_whole_model_files_load_as_graphtorch_models():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    buffer = io.BytesIO()
    torch.save(tmodel, buffer)
    data = buffer.getvalue()
    loaded = gt.load(io.BytesIO(data), weights_only=False)
    assert type(loaded) is nn.Sequential and type(loaded[0]) is nn.Linear
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    want = tmodel(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(loaded(gt.from_numpy(x)).detach().numpy(), want, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(CheckpointError, match="torch.nn.modules.container.Sequential"):
        gt.load(io.BytesIO(data))
    with gt.serialization.safe_globals([nn.Sequential, nn.Linear, nn.ReLU]):
        assert type(gt.load(io.BytesIO(data))[2]) is nn.Linear  # torch.* names: namesakes


def test_model_inside_a_checkpoint_dict_and_shared_tensors(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "ckpt.pt"
    gt.save({"epoch": 4, "model": model, "weight": model.weight}, path)
    out = gt.load(path, weights_only=False)
    assert out["epoch"] == 4 and out["weight"] is out["model"].weight
