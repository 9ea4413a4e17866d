"""Run gt.load on every file of a folder under a 1 GiB address-space limit; one JSON line
per file (run by test_crafted_files.py in a subprocess: a crash loses only this process).

Before loading, a secret is planted in the heap (live and freed copies), so that a loader
reading outside its buffers would return it inside a tensor. Each load runs under a CPU-time
budget: exceeding it raises `OverBudget` (a BaseException, so no loader code can swallow it).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time

LIMIT = 1 << 30
CPU_BUDGET_S = 2.0
SECRET = b"GRAPHTORCH-HEAP-SECRET!"


class OverBudget(BaseException):
    pass


def _on_alarm(signum, frame):
    raise OverBudget


def _tensors(obj):
    """Every tensor reachable from `obj` (iteratively: crafted objects may be deep)."""
    import graphtorch as gt

    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, gt.Tensor):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            stack.extend(vars(item).values())


def _summary(obj) -> dict:
    leaked, storages, count = False, set(), 0
    for t in _tensors(obj):
        count += 1
        array = t.detach().numpy()
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key in storages:
            continue
        storages.add(key)
        leaked |= SECRET in array.tobytes()
    return {"tensors": count, "storages": len(storages), "leaked": leaked}


def main(folder: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    planted = [bytearray(SECRET * 512) for _ in range(256)]
    del planted[::2]  # freed copies stay in the allocator's memory
    import graphtorch as gt
    from graphtorch.serialization import CheckpointError

    signal.signal(signal.SIGVTALRM, _on_alarm)
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        print(json.dumps({"case": name, "started": True}), flush=True)
        result = {"case": name}
        start = time.process_time()
        signal.setitimer(signal.ITIMER_VIRTUAL, CPU_BUDGET_S)
        try:
            obj = gt.load(path)
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            result.update(outcome="loaded", **_summary(obj))
            if name.startswith("zz_genuine"):
                result["value"] = {k: (v.tolist() if isinstance(v, gt.Tensor) else v)
                                   for k, v in obj.items()}
            del obj
        except OverBudget:
            result.update(outcome="over CPU budget")
        except CheckpointError as exc:
            result.update(outcome="CheckpointError", message=str(exc))
        except BaseException as exc:  # noqa: BLE001 - any other type is a finding
            result.update(outcome=type(exc).__name__, message=str(exc)[:500])
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        result["cpu_s"] = round(time.process_time() - start, 3)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(json.dumps(result), flush=True)
    print(json.dumps({"done": True, "float32_name": gt.float32.name}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
