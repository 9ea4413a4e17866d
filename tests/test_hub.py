"""gt.hub: local hubconf.py entry points as torch.hub loads them; GitHub sources and
missing checkpoints raise instead of downloading."""

from __future__ import annotations

import os
import textwrap

import pytest

import graphtorch as gt
from tests.autograd.diff import torch

HUBCONF = textwrap.dedent('''
    """A hub repo whose code works with either library."""
    dependencies = []
    import helper_in_repo

    def tiny(lib_name, width=3):
        """A one-layer net."""
        lib = __import__(lib_name)
        return lib.nn.Linear(width, helper_in_repo.OUT)

    def _private():
        pass
''')


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "hubconf.py").write_text(HUBCONF)
    (tmp_path / "helper_in_repo.py").write_text("OUT = 2\n")
    return str(tmp_path)


def test_local_load_list_and_help_as_torch(repo):
    for lib, name in ((torch, "torch"), (gt, "graphtorch")):
        net = lib.hub.load(repo, "tiny", name, width=4, source="local")
        assert isinstance(net, lib.nn.Linear) and tuple(net.weight.shape) == (2, 4)
    assert gt.hub.list(repo, source="local") == ["tiny"]
    assert gt.hub.help(repo, "tiny", source="local") == "A one-layer net."
    with pytest.raises(RuntimeError, match="Cannot find callable missing in hubconf"):
        gt.hub.load(repo, "missing", source="local")
    with pytest.raises(RuntimeError, match="Cannot find callable missing in hubconf"):
        torch.hub.load(repo, "missing", source="local")


def test_unknown_source_raises_as_torch(repo):
    for lib in (torch, gt):
        with pytest.raises(ValueError, match='Unknown source: "ftp"'):
            lib.hub.load(repo, "tiny", source="ftp")


def test_github_source_refuses_to_download():
    with pytest.raises(RuntimeError, match="never downloads.*source='local'"):
        gt.hub.load("pytorch/vision", "resnet18")
    with pytest.raises(RuntimeError, match="never downloads"):
        gt.hub.list("pytorch/vision")


def test_dir_follows_torch_home_and_set_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(gt.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    assert gt.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "th" / "hub")
    gt.hub.set_dir(str(tmp_path / "elsewhere"))
    assert gt.hub.get_dir() == str(tmp_path / "elsewhere")


def test_state_dict_from_the_checkpoints_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(gt.hub, "_hub_dir", str(tmp_path))
    url = "https://download.example.org/models/tiny-0123abcd.pth"
    with pytest.raises(RuntimeError, match="never downloads") as info:
        gt.hub.load_state_dict_from_url(url)
    cached = os.path.join(str(tmp_path), "checkpoints", "tiny-0123abcd.pth")
    assert cached in str(info.value)
    os.makedirs(os.path.dirname(cached))
    torch.save({"w": torch.arange(3.0)}, cached)
    state = gt.hub.load_state_dict_from_url(url, weights_only=True)
    assert state["w"].tolist() == [0.0, 1.0, 2.0] and isinstance(state["w"], gt.Tensor)
    renamed = gt.hub.load_state_dict_from_url("https://x/y.pth", file_name="tiny-0123abcd.pth")
    assert renamed["w"].tolist() == [0.0, 1.0, 2.0]
