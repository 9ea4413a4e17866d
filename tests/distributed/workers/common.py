"""Shared by the workers: start the default group, report checks as `[rank R] OK name`."""

from __future__ import annotations

import sys

import numpy as np

import graphtorch.distributed as dist


def start(backend="mpi", **kwargs):
    dist.init_process_group(backend=backend, **kwargs)
    return dist.get_rank(), dist.get_world_size()


def ok(name: str) -> None:
    # one write per line: the launcher forwards each rank's output in the chunks it gets
    sys.stdout.write(f"[rank {dist.get_rank()}] OK {name}\n")
    sys.stdout.flush()


def close(a, b, what: str, atol=1e-6, rtol=1e-5) -> None:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not np.allclose(a, b, atol=atol, rtol=rtol):
        raise AssertionError(f"[rank {dist.get_rank()}] {what}:\n{a}\n!=\n{b}")


def same(a, b, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
        raise AssertionError(f"[rank {dist.get_rank()}] {what}:\n{a!r}\n!=\n{b!r}")


def raises(exc_type, fn, match: str, what: str) -> None:
    try:
        fn()
    except exc_type as exc:
        if match not in str(exc):
            raise AssertionError(f"{what}: message {exc!s} lacks {match!r}") from exc
        return
    raise AssertionError(f"{what}: did not raise {exc_type.__name__}")


def finish() -> None:
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
