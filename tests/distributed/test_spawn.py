"""`graphtorch.multiprocessing.spawn` (PyTorch's spawn-then-init_process_group pattern, the
DDP tutorial's): each process runs fn(rank, *args) as a rank of one MPI job; failures come
back as PyTorch's exceptions. Scripts run as files, as users run them (spawned processes
import the main script as __mp_main__)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .conftest import rank_env

pytestmark = pytest.mark.mpi

DDP_SCRIPT = '''
import os, sys
import numpy as np
import graphtorch as torch
import graphtorch.distributed as dist
import graphtorch.multiprocessing as mp
import graphtorch.nn as nn
import graphtorch.optim as optim
from graphtorch.nn.parallel import DistributedDataParallel as DDP

print("main module imported", flush=True)


class ToyModel(nn.Module):
    def __init__(self):
        super(ToyModel, self).__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def batches(rank):
    g = np.random.default_rng(rank)
    return [(torch.tensor(g.standard_normal((20, 10)), dtype=torch.float32),
             torch.tensor(g.standard_normal((20, 5)), dtype=torch.float32)) for _ in range(3)]


def demo_basic(rank, world_size, out):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    assert dist.get_rank() == rank and dist.get_world_size() == world_size
    torch.manual_seed(0)
    model = ToyModel()
    ddp_model = DDP(model)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.1)
    for x, y in batches(rank):
        optimizer.zero_grad()
        loss_fn(ddp_model(x), y).backward()
        optimizer.step()
    if rank == 0:
        torch.save(model.state_dict(), out)
    dist.destroy_process_group()


def single_process(world_size):
    torch.manual_seed(0)
    model = ToyModel()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    per_rank = [batches(r) for r in range(world_size)]
    for step in range(3):
        x = torch.cat([per_rank[r][step][0] for r in range(world_size)])
        y = torch.cat([per_rank[r][step][1] for r in range(world_size)])
        optimizer.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        optimizer.step()
    return model.state_dict()


if __name__ == "__main__":
    print("main block runs", flush=True)
    mp.spawn(demo_basic, args=(2, sys.argv[1]), nprocs=2, join=True)
    got, want = torch.load(sys.argv[1]), single_process(2)
    for k in want:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-5, atol=1e-6)
    print("DDP OK", flush=True)
'''

FAILURE_SCRIPT = '''
import sys, time
import graphtorch as torch
import graphtorch.distributed as dist
import graphtorch.multiprocessing as mp


def raises(rank, world_size):
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    if rank == 1:
        raise ValueError("rank one fails")
    dist.all_reduce(torch.ones(3))  # waits for rank 1 forever: spawn must end it


def exits(rank):
    if rank == 0:
        sys.exit(3)


def quiet(rank, path):
    with open(path + str(rank), "w") as f:
        f.write("ran")


if __name__ == "__main__":
    start = time.monotonic()
    try:
        mp.spawn(raises, args=(2,), nprocs=2)
    except mp.ProcessRaisedException as exc:
        assert exc.error_index == 1, exc.error_index
        assert "ValueError: rank one fails" in str(exc) and "Traceback" in str(exc)
        assert time.monotonic() - start < 60
        print("RAISED OK", flush=True)
    try:
        mp.spawn(exits, nprocs=2)
    except mp.ProcessExitedException as exc:
        assert exc.exit_code == 3 and exc.error_index == 0, (exc.exit_code, exc.error_index)
        print("EXITED OK", flush=True)
    context = mp.spawn(quiet, args=(sys.argv[1],), nprocs=2, join=False)
    while not context.join(timeout=0.2):
        pass
    assert all(open(sys.argv[1] + str(r)).read() == "ran" for r in range(2))
    print("JOIN OK", flush=True)
'''


def _run(tmp_path, source: str, *args) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=180, env=rank_env(), cwd=tmp_path)


def test_ddp_tutorial_pattern_matches_one_process(tmp_path):
    done = _run(tmp_path, DDP_SCRIPT, str(tmp_path / "model.pt"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DDP OK" in done.stdout
    # the main block ran once (in the parent); the module itself in every process
    assert done.stdout.count("main block runs") == 1
    assert done.stdout.count("main module imported") == 3


def test_failures_come_back_as_pytorch_exceptions(tmp_path):
    done = _run(tmp_path, FAILURE_SCRIPT, str(tmp_path / "mark"))
    for marker in ("RAISED OK", "EXITED OK", "JOIN OK"):
        assert marker in done.stdout, done.stdout + done.stderr
