"""Data-parallel training on 1 and 2 processes, and all-reduce bandwidth against mpi4py.

- DDP step: MLP 784-512-512-10 (669,706 parameters, one 2.6 MiB gradient all-reduce),
  CrossEntropyLoss, SGD(momentum=0.9), 128 samples per rank (weak scaling: 2 ranks do twice
  the work per step), eagerly and through gt.compile. Scaling efficiency = samples/s on 2
  ranks / (2 x samples/s on 1 rank). The same step without DDP, run by 2 independent
  processes at once, separates what the 2 shared cores cost from what DDP costs.
- All-reduce of float32 buffers of 1-64 MiB on 2 ranks: `gt.distributed.all_reduce` on a
  tensor against mpi4py alone on the same NumPy buffer (the limit), both blocking
  ``Allreduce(IN_PLACE)`` and ``Iallreduce`` polled with ``Test`` (what `Work.wait` does).
  algbw = bytes / time; busbw = algbw x 2(n-1)/n (NCCL-tests' convention).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/ddp.py
(it starts itself under mpiexec -n 1 and -n 2, each rank with one BLAS thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import graphtorch as gt  # noqa: E402  (this checkout, also when run from elsewhere)
import graphtorch.distributed as dist  # noqa: E402
from graphtorch import nn  # noqa: E402
from graphtorch.distributed.launch import launch_command  # noqa: E402
from graphtorch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

KINDS = ("plain eager", "eager", "eager, gradient_as_bucket_view", "compiled")


def _median_ms(fn, repeat: int, barrier) -> float:
    times = []
    for _ in range(repeat):
        barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _polled(comm, MPI, array) -> None:
    request = comm.Iallreduce(MPI.IN_PLACE, array)
    while not request.Test():
        pass


def _training_step(kind: str, x, y):
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    if kind != "plain eager":   # plain: the same step without DDP (no communication)
        model = DDP(model, gradient_as_bucket_view=kind.endswith("bucket_view"))
    opt = gt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return gt.compile(step) if kind.startswith("compiled") else step


def worker(args) -> None:
    from mpi4py import MPI  # the limit the benchmark compares with

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    comm = MPI.COMM_WORLD.Dup()
    result = {"world": world, "steps": {}, "allreduce": []}

    gt.manual_seed(0)
    x, y = gt.randn(128, 784), gt.randint(0, 10, (128,))
    for kind in KINDS:
        run = _training_step(kind, x, y)
        for _ in range(args.warmup):
            run()
        result["steps"][kind] = _median_ms(run, args.steps, comm.Barrier)

    if world > 1:
        for mib in (1, 2, 4, 8, 16, 32, 64):
            array = np.ones(mib * 2**18, np.float32)
            tensor = gt.from_numpy(array.copy())
            samples = {"blocking": [], "polled": [], "ours": []}
            calls = {"blocking": lambda a=array: comm.Allreduce(MPI.IN_PLACE, a),
                     "polled": lambda a=array: _polled(comm, MPI, a),
                     "ours": lambda t=tensor: dist.all_reduce(t)}
            for _ in range(max(8, 256 // mib)):   # interleaved: all see the same load
                for key, fn in calls.items():
                    samples[key].append(_median_ms(fn, 1, comm.Barrier))
            result["allreduce"].append((mib, *(statistics.median(samples[k])
                                               for k in ("blocking", "polled", "ours"))))
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


def launch(nproc: int, args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    command = launch_command(nproc, [os.path.abspath(__file__), "--worker",
                                     "--steps", str(args.steps), "--warmup", str(args.warmup)])
    out = subprocess.run(command, capture_output=True, text=True, check=False, env=env,
                         timeout=900)
    if out.returncode:
        raise RuntimeError(f"mpiexec -n {nproc} failed:\n{out.stderr}")
    line = next(li for li in out.stdout.splitlines() if li.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    one, two = launch(1, args), launch(2, args)
    print("| step (128 samples per rank) | 1 rank ms | 2 ranks ms | samples/s 1 -> 2 | "
          "scaling efficiency | vs 2 independent processes |")
    print("|---|---:|---:|---:|---:|---:|")
    independent = two["steps"]["plain eager"]
    for kind in KINDS:
        t1, t2 = one["steps"][kind], two["steps"][kind]
        s1, s2 = 128e3 / t1, 2 * 128e3 / t2
        name = "no DDP, no communication" if kind == "plain eager" else f"DDP, {kind}"
        print(f"| MLP 784-512-512-10, {name} | {t1:.2f} | {t2:.2f} | {s1:.0f} -> {s2:.0f} | "
              f"{s2 / (2 * s1):.2f} | {independent / t2:.2f} |")
    print()
    print("| MiB | mpi4py Allreduce ms | mpi4py Iallreduce+Test ms | gt all_reduce ms | "
          "gt algbw GB/s | gt busbw GB/s | gt / best mpi4py |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    n = two["world"]
    for mib, blocking, polled, ours in two["allreduce"]:
        gb = mib * 2**20 / 1e9
        print(f"| {mib} | {blocking:.2f} | {polled:.2f} | {ours:.2f} | {gb / ours * 1e3:.2f} | "
              f"{gb / ours * 1e3 * 2 * (n - 1) / n:.2f} | {ours / min(blocking, polled):.2f} |")

if __name__ == "__main__":
    main()
