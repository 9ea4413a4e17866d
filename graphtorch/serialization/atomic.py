"""Replacing a checkpoint file atomically, with the file-system manners of `open(path, "wb")`.

The archive is written to a temporary file next to the target, flushed to disk, then
renamed over it: a reader (or a crash) sees the old file or the new one, never a mix. Like a
plain write it goes *through* a symlink (the link stays, its target is replaced), gives a new
file the mode the umask allows (0644 typically), keeps an existing file's mode (and owner,
where permitted), and refuses a read-only target with PermissionError. Temporary files are
named `.<name>.graphtorch-<pid>-<random>.tmp`; a save to the same path deletes those left by
processes that no longer exist (killed mid-save).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat


def write_atomically(path, write) -> None:
    """Call `write(handle)` on a temporary file, then atomically replace `path` with it."""
    shown = os.fspath(path)
    target = os.path.realpath(shown)  # through symlinks, as open() writes
    folder, base = os.path.split(target)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None:
        if stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), shown)
        if not os.access(target, os.W_OK) or not existing.st_mode & 0o222:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), shown)
    remove_stale_temporaries(folder, base)
    tmp = os.path.join(folder, f"{_prefix(base)}{os.getpid()}-{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for open()
    except OSError as exc:  # name the path the caller gave, as open() would
        raise type(exc)(exc.errno, exc.strerror, shown) from None
    try:
        if existing is not None:
            _keep_mode_and_owner(fd, existing)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def _prefix(base: str) -> str:
    return f".{base}.graphtorch-"


def remove_stale_temporaries(folder: str, base: str) -> list[str]:
    """Delete temporary files for `base` whose writing process is gone; return their names."""
    prefix, removed = _prefix(base), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):-len(".tmp")].split("-")[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        try:
            os.unlink(entry.path)
            removed.append(name)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return True
    return True


def _keep_mode_and_owner(fd: int, existing: os.stat_result) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    if hasattr(os, "fchown"):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:
            pass  # only root may give a file away; the new file is then ours


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (best effort: not every platform can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
