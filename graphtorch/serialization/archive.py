"""Reading checkpoint zip archives without trusting their directory.

Every member is checked against the zip directory and the archive's real size *before*
anything is inflated or allocated: a member may not claim more bytes than the archive holds
(or, when deflated, more than `MAX_INFLATE_RATIO` times its compressed size), and a member
whose size the caller already knows (a tensor's storage) must declare exactly that size.
Whatever goes wrong while reading (CRC, zlib, truncation) becomes a `CheckpointError`
naming the file and the member.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import numpy as np

from .errors import CheckpointError

# gt.save and torch.save store members uncompressed; an archive re-zipped by hand may deflate
# them. Beyond this ratio (plus a small slack) a member is refused as a decompression bomb.
MAX_INFLATE_RATIO = 64
_INFLATE_SLACK = 1 << 20
_CHUNK = 1 << 24
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
                NotImplementedError, RuntimeError, MemoryError, OverflowError)


def describe(f) -> str:
    """The name errors use for `f`: its path, or the stream's name, or '<stream>'."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else "<stream>"


class Archive:
    """A zip archive opened for checked reads (a context manager)."""

    def __init__(self, f, name: str):
        self.name = name
        source = os.fspath(f) if isinstance(f, (str, os.PathLike)) else f
        if not isinstance(source, str) and not _seekable(source):
            source = io.BytesIO(source.read())  # zipfile needs to seek (as torch.load does)
        try:
            self._zip = zipfile.ZipFile(source)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise
        except _READ_ERRORS as exc:
            raise CheckpointError(
                f"{name} is not a readable checkpoint: the file is truncated, damaged, or in "
                f"PyTorch's legacy (non-zip) format ({type(exc).__name__}: {exc})") from None
        try:
            self._zip.fp.seek(0, io.SEEK_END)
            self.size = self._zip.fp.tell()
            infos = self._zip.infolist()
        except _READ_ERRORS as exc:
            self._zip.close()
            raise CheckpointError(f"{name}: unreadable zip directory ({exc})") from None
        self._infos = {info.filename: info for info in infos}
        if len(self._infos) != len(infos):
            self._zip.close()
            raise CheckpointError(f"{name}: the zip directory names a member twice")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, member: str) -> bool:
        return member in self._infos

    def declared_size(self, member: str) -> int:
        """The uncompressed size the zip directory declares (checked, nothing read)."""
        return self._check(member).file_size

    def read(self, member: str, *, exact: int | None = None, limit: int | None = None) -> bytes:
        """The member's bytes, after its declared size passed the checks."""
        info = self._check(member, exact, limit)
        with self._errors(member), self._zip.open(info) as handle:
            data = handle.read(info.file_size)
            if len(data) != info.file_size or handle.read(1):
                raise CheckpointError(f"{self.name}: member {member!r:.100} is truncated")
        return data

    def read_array(self, member: str, nbytes: int) -> np.ndarray:
        """The member (exactly `nbytes` long) as a new writable uint8 array, read in chunks
        so that memory peaks at the array itself."""
        info = self._check(member, nbytes)
        out = np.empty(nbytes, dtype=np.uint8)
        view = memoryview(out)
        with self._errors(member), self._zip.open(info) as handle:
            pos = 0
            while pos < nbytes:
                chunk = handle.read(min(_CHUNK, nbytes - pos))
                if not chunk:
                    raise CheckpointError(f"{self.name}: member {member!r:.100} is truncated")
                view[pos:pos + len(chunk)] = chunk
                pos += len(chunk)
            if handle.read(1):
                raise CheckpointError(f"{self.name}: member {member!r:.100} is longer than "
                                      "its directory entry says")
        return out

    def _check(self, member: str, exact: int | None = None, limit: int | None = None):
        info = self._infos.get(member)
        if info is None:
            raise CheckpointError(f"{self.name}: the archive has no member {member!r:.100}")
        where = f"{self.name}: member {member!r:.100}"
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{where} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{where} uses compression method {info.compress_type}; "
                                  "only stored and deflated members are read")
        if info.header_offset < 0 or info.header_offset + info.compress_size > self.size:
            raise CheckpointError(f"{where} claims {info.compress_size} bytes at offset "
                                  f"{info.header_offset} but the archive holds {self.size}")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise CheckpointError(f"{where} is stored uncompressed but declares "
                                  f"{info.file_size} bytes for {info.compress_size}")
        if info.file_size > MAX_INFLATE_RATIO * info.compress_size + _INFLATE_SLACK:
            raise CheckpointError(f"{where} would inflate {info.compress_size} bytes to "
                                  f"{info.file_size} (more than {MAX_INFLATE_RATIO}x): refused "
                                  "as a decompression bomb")
        if exact is not None and info.file_size != exact:
            raise CheckpointError(f"{where} holds {info.file_size} bytes where {exact} are "
                                  "expected")
        if limit is not None and info.file_size > limit:
            raise CheckpointError(f"{where} declares {info.file_size} bytes, more than the "
                                  f"{limit} it may hold")
        return info

    def _errors(self, member: str):
        return _WrapErrors(f"{self.name}: member {member!r:.100} is damaged")


class _WrapErrors:
    """Turn the zip/zlib/truncation errors of a read into CheckpointError."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or issubclass(exc_type, CheckpointError):
            return False
        if issubclass(exc_type, _READ_ERRORS):
            raise CheckpointError(f"{self.prefix} ({exc_type.__name__}: {exc})") from None
        return False


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except AttributeError:
        return hasattr(f, "seek") and hasattr(f, "tell")
