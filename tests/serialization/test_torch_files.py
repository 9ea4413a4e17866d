"""Files written by the real `torch.save` load with gt.load (weights_only=True): every value
type PyTorch's weights-only loader accepts, with the same values, strides and sharing."""

from __future__ import annotations

import io
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import pytest

import graphtorch as gt

from .helpers import members, zip_bytes

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")


def _torch_saved(obj, **save_args) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **save_args)
    return buffer.getvalue()


def _via_gt(obj, **save_args):
    return gt.load(io.BytesIO(_torch_saved(obj, **save_args)))


def _check_tensor(got, want, dtype=None):
    assert isinstance(got, gt.Tensor)
    assert repr(got.dtype) == str(dtype or want.dtype)
    assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
    assert got.storage_offset() == want.storage_offset()
    assert got.requires_grad == want.requires_grad
    expected = want.detach()
    if dtype is not None:
        expected = expected.float()
    np.testing.assert_array_equal(got.detach().numpy(), expected.numpy())


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool", "complex64", "complex128",
                                   "uint16", "uint32", "uint64"])
def test_every_numpy_backed_dtype_loads_with_its_dtype(dtype):
    values = torch.tensor([0, 1, 2, 3, 5, 7]).to(getattr(torch, dtype)).reshape(2, 3)
    if dtype == "uint64":
        values = torch.tensor([0, 2 ** 63 + 5, 1, 2, 3, 4], dtype=torch.uint64).reshape(2, 3)
    out = _via_gt({"t": values, "col": values[:, 1]})
    _check_tensor(out["t"], values)
    _check_tensor(out["col"], values[:, 1])


def test_bfloat16_loads_as_bfloat16():
    values = torch.tensor([[0.5, -2.0, 3.0], [0.25, 8.0, -0.1]]).to(torch.bfloat16)
    out = _via_gt({"t": values, "t_t": values.t()})
    assert out["t"].dtype is gt.bfloat16
    assert out["t"].tolist() == values.tolist() and out["t_t"].tolist() == values.t().tolist()
    out["t"][0, 0] = 100  # one storage, shared by both views
    assert out["t_t"][0, 0].item() == 100


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2",
                                   "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"])
def test_float8_loads_as_exact_float32(dtype):
    if not hasattr(ml_dtypes, dtype):
        pytest.skip(f"ml_dtypes {ml_dtypes.__version__} has no {dtype}")
    values = torch.tensor([[0.5, -2.0, 3.0], [0.25, 8.0, -0.125]]).to(getattr(torch, dtype))
    if dtype == "float8_e8m0fnu":  # exponent only: powers of two
        values = torch.tensor([[0.5, 2.0, 4.0], [0.25, 8.0, 1.0]]).to(torch.float8_e8m0fnu)
    out = _via_gt({"t": values, "t_t": values.t(), "dt": getattr(torch, dtype)})
    _check_tensor(out["t"], values, dtype="torch.float32")
    _check_tensor(out["t_t"], values.t(), dtype="torch.float32")
    out["t"][0, 0] = 100  # one upcast storage, still shared by both views
    assert out["t_t"][0, 0].item() == 100
    assert out["dt"] is getattr(gt, dtype)


def test_views_and_their_base_share_memory_as_in_pytorch():
    base = torch.arange(24.0).reshape(4, 6)
    obj = {"base": base, "row": base[2], "col": base[:, 3], "t": base.t(), "narrow": base[1:3, 2:5],
           "flat": base.view(-1)[5:17:3], "expanded": base[0, :1].expand(3, 4)}
    out = _via_gt(obj)
    for key, value in obj.items():
        _check_tensor(out[key], value)
    out["base"][2, 3] = -1.0
    assert out["row"][3].item() == out["col"][2].item() == out["t"][3, 2].item() == -1.0


def test_parameters_requires_grad_and_state_dicts():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    obj = {"state": net.state_dict(), "p": torch.nn.Parameter(torch.ones(2)),
           "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
           "leaf": torch.ones(2, requires_grad=True), "scalar": torch.tensor(2.5),
           "empty": torch.zeros(0, 3)}
    out = _via_gt(obj)
    assert type(out["state"]) is OrderedDict and list(out["state"]) == list(obj["state"])
    assert out["state"]._metadata == obj["state"]._metadata
    for key, value in obj["state"].items():
        _check_tensor(out["state"][key], value)
    assert isinstance(out["p"], gt.nn.Parameter) and out["p"].requires_grad
    assert isinstance(out["frozen"], gt.nn.Parameter) and not out["frozen"].requires_grad
    for key in ("leaf", "scalar", "empty"):
        _check_tensor(out[key], obj[key])


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_python_values_pytorch_loads_weights_only(protocol):
    obj = {"size": torch.Size([2, 3]), "dtype": torch.float64, "bf16": torch.bfloat16,
           "u16": torch.uint16, "device": torch.device("cpu"),
           "cuda": torch.device("cuda", 1), "set": {1, 2}, "bytes": b"ab\xff", "empty": b"",
           "bytearray": bytearray(b"xy"), "complex": 1 + 2j, "counter": Counter("aab"),
           "big": 2 ** 100, "float": 0.1, "none": None, "nested": [(1, "a"), {"k": [True]}]}
    # (PyTorch's own weights-only loader refuses b"" at protocol 2 and most protocol-4/5
    # opcodes; graphtorch reads them, since they only build data.)
    out = gt.load(io.BytesIO(_torch_saved(obj, pickle_protocol=protocol)))
    assert out["size"] == gt.Size([2, 3]) and type(out["size"]) is gt.Size
    assert out["dtype"] is gt.float64 and out["bf16"] is gt.bfloat16 and out["u16"] is gt.uint16
    assert out["device"] == gt.device("cpu") and out["cuda"] == gt.device("cuda", 1)
    for key in ("set", "bytes", "empty", "bytearray", "complex", "counter", "big", "float",
                "none", "nested"):
        assert out[key] == obj[key] and type(out[key]) is type(obj[key])


def test_big_endian_files_are_byteswapped():
    data = _torch_saved({"w": torch.arange(4.0), "i": torch.tensor([1, 256], dtype=torch.int16)})
    items = members(data)
    prefix = next(n for n in items if n.endswith("data.pkl"))[: -len("data.pkl")]
    items[f"{prefix}byteorder"] = b"big"
    for name in list(items):
        if name.startswith(f"{prefix}data/"):
            array = np.frombuffer(items[name], dtype="<f4" if len(items[name]) == 16 else "<i2")
            items[name] = array.byteswap().tobytes()
    out = gt.load(io.BytesIO(zip_bytes(items)))
    assert out["w"].tolist() == [0, 1, 2, 3] and out["i"].tolist() == [1, 256]


def test_weights_only_false_and_map_location_on_pytorch_files():
    data = _torch_saved({"w": torch.arange(3.0), "view": torch.arange(3.0)[1:]})
    out = gt.load(io.BytesIO(data), weights_only=False, map_location="cpu")
    assert out["w"].tolist() == [0, 1, 2] and out["view"].tolist() == [1, 2]


def test_a_deflated_archive_within_the_ratio_still_loads():
    data = _torch_saved({"w": torch.randn(1000)})
    items = members(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, raw in items.items():
            z.writestr(name, raw)
    out = gt.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(out["w"].numpy(), torch.load(io.BytesIO(data))["w"].numpy())
