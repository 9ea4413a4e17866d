"""`gt.hub`: `torch.hub` for code and weights already on this machine.

graphtorch never downloads at run time. `load(dir, model, source="local")` runs an entry
point of `dir/hubconf.py`; GitHub sources raise a RuntimeError that says how to load a local
clone instead. `load_state_dict_from_url(url)` reads `get_dir()/checkpoints/<file name>`
(where PyTorch caches the same download) and raises, naming that path, when it is absent.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import os
import sys
import uuid
from urllib.parse import urlparse

from .serialization import load as _load_checkpoint

__all__ = ["get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

_hub_dir: str | None = None
_HUBCONF = "hubconf.py"


def get_dir() -> str:
    """The hub directory: the one `set_dir` chose, else ``$TORCH_HOME/hub`` (PyTorch's:
    ``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, that to ``~/.cache/torch``).

    >>> gt.hub.get_dir().endswith("hub")
    True
    """
    if _hub_dir is not None:
        return _hub_dir
    cache_home = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.getenv("TORCH_HOME", os.path.join(cache_home, "torch"))
    return os.path.join(os.path.expanduser(torch_home), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use `d` as the hub directory from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def _refuse_github(repo: str) -> RuntimeError:
    return RuntimeError(
        f"gt.hub: cannot fetch GitHub repo {repo!r}: graphtorch never downloads at run time. "
        f"Clone it yourself and pass its directory with source='local', e.g. "
        f"gt.hub.load('/path/to/clone', model, source='local')")


@contextlib.contextmanager
def _on_sys_path(path: str):
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)


def _import_hubconf(hubconf_dir: str):
    path = os.path.join(hubconf_dir, _HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"gt.hub: no {_HUBCONF} in {hubconf_dir!r}")
    # A fresh module name per import, so two hub directories never share a cached module.
    spec = importlib.util.spec_from_file_location(f"hubconf_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    with _on_sys_path(hubconf_dir):
        spec.loader.exec_module(module)
    return module


def _entry(module, model: str):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    func = getattr(module, model, None)
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def _repo_dir(repo_or_dir: str, source: str) -> str:
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        raise _refuse_github(repo_or_dir)
    return os.fspath(repo_or_dir)


def load(repo_or_dir, model: str, *args, source: str = "github", trust_repo="check",
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False,
         **kwargs):
    """Call entry point `model` of `repo_or_dir/hubconf.py` with `args` and `kwargs`
    (`source="local"`; GitHub sources raise, as graphtorch does not download).

    >>> net = gt.hub.load("path/to/repo", "tiny_net", source="local")   # doctest: +SKIP
    """
    hubconf_dir = _repo_dir(repo_or_dir, source)
    module = _import_hubconf(hubconf_dir)
    with _on_sys_path(hubconf_dir):
        return _entry(module, model)(*args, **kwargs)


def list(github, force_reload: bool = False, skip_validation: bool = False,
         trust_repo="check", verbose: bool = True, *, source: str = "github") -> builtins.list:
    """The public callables of a hubconf.py. PyTorch reads only GitHub here; graphtorch also
    takes a local directory through `source="local"`."""
    module = _import_hubconf(_repo_dir(github, source))
    return [name for name in dir(module)
            if callable(getattr(module, name)) and not name.startswith("_")]


def help(github, model: str, force_reload: bool = False,
         skip_validation: bool = False, trust_repo="check", *, source: str = "github"):
    """The docstring of entry point `model` (local directories through `source="local"`)."""
    return _entry(_import_hubconf(_repo_dir(github, source)), model).__doc__


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = False):
    """Load `model_dir/<file name>` (default ``get_dir()/checkpoints``), the file PyTorch
    would have downloaded from `url`; raise if it is not there.

    >>> sd = gt.hub.load_state_dict_from_url("https://x/resnet18-f37072fd.pth")  # doctest: +SKIP
    """
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        raise RuntimeError(
            f"gt.hub.load_state_dict_from_url: {cached_file} does not exist, and graphtorch "
            f"never downloads at run time. Download {url} yourself and save it as "
            f"{cached_file} (or pass model_dir= / file_name=)")
    return _load_checkpoint(cached_file, map_location=map_location, weights_only=weights_only)
