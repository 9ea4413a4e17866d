"""Work handles: what ``async_op=True`` returns (PyTorch's ``Work``), and the errors.

A `Work` wraps MPI non-blocking requests. `wait()` drives them to completion (MPI makes
progress only while it is called, so it polls ``Testall``; after 10 ms it yields the CPU
between polls, so that ranks sharing cores do not starve each other) and gives up with
`DistBackendError` once the process group's timeout has passed: a rank that crashed or never
joined the collective then cannot hang the others forever. Completion callbacks (AVG's
division, copying a staged buffer back into a non-contiguous or GPU tensor) run once, in
order, when the requests complete.
"""

from __future__ import annotations

import time

# How long `Work.wait` polls without pause before it yields the CPU between polls.
SPIN_SECONDS = 0.01


class DistError(RuntimeError):
    """Base of graphtorch.distributed's errors (PyTorch's ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A collective failed or timed out in the communication backend."""


class DistNetworkError(DistError):
    """A network error (kept for PyTorch compatibility; MPI reports its own)."""


class DistStoreError(DistError):
    """A store error (kept for PyTorch compatibility; graphtorch has no store)."""


class Work:
    """A collective or point-to-point operation in flight.

    >>> work = dist.all_reduce(t, async_op=True)
    >>> ...                     # compute while the reduction runs
    >>> work.wait()             # t now holds the sum over ranks
    True
    """

    def __init__(self, requests: list, what: str, timeout: float, rank: int,
                 result: list | None = None, keep: tuple = ()):
        self._requests = requests
        self._what = what
        self._timeout = timeout
        self._rank = rank
        self._result = result or []
        self._keep = keep          # buffers MPI reads or writes until completion
        self._callbacks: list = []
        self._statuses = None      # MPI.Status per request, for recv's source rank
        self._done = not requests
        self._exception = None
        if requests:
            from mpi4py import MPI  # an optional dependency: imported once MPI is in use

            self._testall = MPI.Request.Testall

    def then(self, callback) -> Work:
        """Run `callback()` on completion (at once if already complete)."""
        if self._done:
            callback()
        else:
            self._callbacks.append(callback)
        return self

    def _complete(self) -> None:
        self._done = True
        self._keep = ()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def _test(self) -> bool:
        return self._testall(self._requests, self._statuses)

    def is_completed(self) -> bool:
        """Whether the operation has finished (runs its completion steps if so)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        """Block until the operation has finished; raise `DistBackendError` after `timeout`
        (a ``datetime.timedelta`` or seconds; default: the process group's timeout)."""
        if self._done:
            return True
        limit = self._timeout if timeout is None else _seconds(timeout) or self._timeout
        now = time.monotonic()
        deadline, spin_until = now + limit, now + SPIN_SECONDS
        test = self._test
        polls = 0
        while not test():
            polls += 1
            if polls % 64:
                continue
            now = time.monotonic()
            if now > spin_until:
                # still waiting for another rank: let it (or anyone) have this core between
                # polls, which matters when ranks share cores
                time.sleep(0)
            if now > deadline:
                self._exception = DistBackendError(
                    f"[rank {self._rank}] {self._what} timed out after {limit:g} s: not every "
                    "rank of the group joined it (a rank may have crashed, exited, or be "
                    "waiting in a different collective). Pass init_process_group(timeout=...) "
                    "to wait longer.")
                raise self._exception
        self._complete()
        return True

    def synchronize(self) -> None:
        self.wait()

    def is_success(self) -> bool:
        return self.is_completed() and self._exception is None

    def exception(self):
        return self._exception

    def result(self) -> list:
        """The output tensors (after completion)."""
        self.wait()
        return self._result

    def source_rank(self) -> int:
        """The rank a completed ``recv``/``irecv`` received from."""
        self.wait()
        if self._statuses is None:
            raise RuntimeError("source_rank() is only available for recv operations")
        return self._statuses[0].Get_source()

    def __repr__(self):
        return f"<Work {self._what}: {'completed' if self._done else 'pending'}>"


class CompletedWork(Work):
    """An operation that finished when it was issued (world size 1, traced collectives, or
    GPU work ordered on the current CUDA stream)."""

    def __init__(self, what: str = "", result: list | None = None, source: int | None = None):
        super().__init__([], what, 0.0, 0, result)
        self._source = source

    def source_rank(self) -> int:
        if self._source is None:
            raise RuntimeError("source_rank() is only available for recv operations")
        return self._source


def _seconds(timeout) -> float:
    """Seconds from a ``datetime.timedelta`` or a number."""
    if hasattr(timeout, "total_seconds"):
        return float(timeout.total_seconds())
    return float(timeout)
