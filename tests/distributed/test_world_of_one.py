"""gt.distributed and DDP in this process, a world of one rank (MPI without a launcher):
the API against PyTorch's, and the compiled DDP step as one graph with its all-reduce."""

from __future__ import annotations

import subprocess
import sys

import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch.nn.parallel import DistributedDataParallel as DDP

from .conftest import rank_env

dist = gt.distributed
pytestmark = pytest.mark.mpi


@pytest.fixture
def world():
    if not dist.is_initialized():
        dist.init_process_group()
    return dist


def test_the_api_names_pytorch_has():
    torch = pytest.importorskip("torch")
    names = ["init_process_group", "is_initialized", "is_available", "get_rank",
             "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather",
             "all_gather_into_tensor", "reduce_scatter_tensor", "reduce_scatter", "reduce",
             "gather", "scatter", "send", "recv", "isend", "irecv", "all_to_all_single",
             "all_gather_object", "broadcast_object_list", "gather_object", "new_group",
             "destroy_process_group", "get_backend", "get_process_group_ranks",
             "get_global_rank", "get_group_rank", "ReduceOp", "Work", "group", "GroupMember",
             "DistBackendError", "DistError"]
    assert [n for n in names if not hasattr(dist, n) or not hasattr(torch.distributed, n)] == []
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        assert int(getattr(dist.ReduceOp, op)) == int(getattr(torch.distributed.ReduceOp, op))


def test_before_init_errors_are_pytorchs():
    code = ("import graphtorch as gt, graphtorch.distributed as d\n"
            "for f in (d.get_rank, lambda: d.all_reduce(gt.ones(1))):\n"
            "    try: f()\n"
            "    except ValueError as e: print(e)\n"
            "print(d.is_initialized())\n"
            "d.init_process_group()\n"
            "try: d.init_process_group()\n"
            "except ValueError as e: print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60, env=rank_env())
    message = "Default process group has not been initialized, please make sure to call " \
              "init_process_group."
    twice = "trying to initialize the default process group twice!"
    assert done.stdout.splitlines() == [message, message, "False", twice], done.stderr


def test_collectives_are_the_identity(world):
    t = gt.arange(6.0).reshape(2, 3)
    for op in (world.ReduceOp.SUM, world.ReduceOp.AVG, world.ReduceOp.MAX):
        world.all_reduce(t, op=op)
    assert gt.equal(t, gt.arange(6.0).reshape(2, 3))
    assert world.get_rank() == 0 and world.get_world_size() == 1
    assert world.get_backend() == "mpi"
    out = [gt.empty(2, 3)]
    assert world.all_gather(out, t, async_op=True).wait()
    assert gt.equal(out[0], t)


def _step_of(model, opt):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def test_compiled_ddp_step_is_one_graph_with_its_all_reduce(world):
    gt.manual_seed(0)
    net = gt.nn.Sequential(gt.nn.Linear(4, 8), gt.nn.ReLU(), gt.nn.Linear(8, 3))
    reference = gt.nn.Sequential(gt.nn.Linear(4, 8), gt.nn.ReLU(), gt.nn.Linear(8, 3))
    reference.load_state_dict(net.state_dict())
    model = DDP(net, bucket_cap_mb=0.0001)
    step = gt.compile(_step_of(model, gt.optim.SGD(model.parameters(), lr=0.5)))
    ref_step = _step_of(reference, gt.optim.SGD(reference.parameters(), lr=0.5))
    for _ in range(3):
        x, y = gt.randn(5, 4), gt.randint(0, 3, (5,))
        assert gt.allclose(step(x, y), ref_step(x, y))
    for p, q in zip(net.parameters(), reference.parameters()):
        assert gt.allclose(p, q, atol=1e-6)
    assert step.compile_count == 1 and not step.stats.graph_breaks
    reduces = [n for n in step.graph.op_nodes if n.op.name == "all_reduce"]
    assert len(reduces) == len(model.reducer.buckets) > 1
    assert "all_reduce(" in str(step.graph) and "reduce_op='sum'" in str(step.graph)


def test_no_sync_inside_compile_runs_eagerly(world):
    model = DDP(gt.nn.Linear(3, 2))
    step = gt.compile(lambda x: model(x).sum().backward() or x.sum())
    with model.no_sync():
        step(gt.ones(4, 3))
    assert "no_sync" in step.stats.graph_breaks[0]
    assert gt.allclose(model.module.weight.grad, gt.full((2, 3), 4.0))


def test_ddp_arguments(world):
    with pytest.raises(RuntimeError, match="doesn't have any parameter that requires"):
        DDP(gt.nn.ReLU())
    with pytest.raises(NotImplementedError, match="mixed_precision"):
        DDP(gt.nn.Linear(2, 2), mixed_precision=object())
    with pytest.raises(ValueError, match="device_ids"):
        DDP(gt.nn.Linear(2, 2), device_ids=[0])
    with pytest.warns(FutureWarning, match="broadcast_buffers"):
        model = DDP(gt.nn.Linear(2, 2), broadcast_buffers=False)
    assert model.broadcast_buffers is False
    model = DDP(gt.nn.Linear(2, 2))
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    assert isinstance(model.module, gt.nn.Linear)
