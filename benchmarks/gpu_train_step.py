"""The compiled MLP training step on the GPU (the CuPy backend) against PyTorch eager CUDA,
same GPU, one process.

MLP 784-512-512-10, batch 128, CrossEntropyLoss, SGD(lr=0.01, momentum=0.9); the whole step
(zero_grad, forward, backward, optimizer step) is one `gt.compile`d graph. The graph is
compiled on the CPU and its program rebuilt with `CupyProgram`; the step's state flows as
`compiler.executable` moves it (parameters updated in place, gradients and momentum buffers
fed back as the next step's inputs, the learning rate a host scalar). Reported: time per
step (200 steps, one synchronisation at the end) without and with CUDA-graph replay, and
the first five losses against the CPU program's.

    python3 benchmarks/gpu_train_step.py      # needs CuPy, a CUDA GPU, and torch with CUDA
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from compiled_step import make_step, mlp  # noqa: E402 - benchmarks/ is on sys.path

import graphtorch as gt
from graphtorch.backends.cupy_backend import CupyProgram, cupy_module
from graphtorch.backends.numpy_backend import NumpyProgram

STEPS, WARMUP, CHECK = 200, 20, 5


def capture_step(x_np, y_np):
    """(forward graph, its input arrays at step 3, feedback, in-place map): `feedback` lists
    (output index, input index, kind) for the state the executable writes back."""
    gt.manual_seed(0)
    compiled = gt.compile(make_step(gt, mlp(gt)))
    x, y = gt.from_numpy(x_np), gt.from_numpy(y_np)
    compiled(x, y)
    compiled(x, y)
    exe = compiled._latest()
    program, seen = exe.forward_program, {}

    def recorded(*arrays):
        n = exe.capture.num_results
        pairs = []
        for j, (kind, *target) in enumerate(exe.capture.writebacks):
            if kind == "copy":
                arr = target[0]._data
            elif kind == "grad":
                arr = None if target[0]._grad is None else target[0]._grad._data
            else:
                entries, key = target
                arr = entries[key]._data if key in entries else None
            index = next((i for i, a in enumerate(arrays) if a is arr), None)
            if index is not None:
                pairs.append((n + j, index, kind))
        seen.update(arrays=[np.array(a, copy=True) for a in arrays], pairs=pairs)
        return program(*arrays)

    exe.forward_program = recorded
    compiled(x, y)
    graph = exe.forward_graph
    in_place = getattr(program, "in_place", {})
    inplace = {k: in_place[v.id] for k, v in enumerate(graph.outputs)
               if not v.is_const and v.id in in_place}
    return graph, seen["arrays"], seen["pairs"], inplace


def run_steps(program, arrays, pairs, steps, copyto):
    """Run `steps` training steps, feeding the written-back state into the next step."""
    arrays = list(arrays)
    losses = []
    for _ in range(steps):
        outs = program(*arrays)
        for o, i, kind in pairs:
            if kind == "copy":
                if outs[o] is not arrays[i]:
                    copyto(arrays[i], outs[o])
            else:
                arrays[i] = outs[o]
        losses.append(outs[0])
    return losses


def _nll_without_host_check(xp, logp, target, weight=None, reduction="mean",
                            ignore_index=-100):
    """`ops.losses._nll_kernel` without its out-of-range check (a host synchronisation, which
    a CUDA graph cannot capture): the change requested for CuPy arrays."""
    target = target.astype(xp.int64)
    valid = target != ignore_index
    safe = xp.where(valid, target, 0)
    picked = xp.take_along_axis(logp, xp.expand_dims(safe, 1), axis=1).squeeze(1)
    w = weight[safe] if weight is not None else xp.ones(safe.shape, dtype=logp.dtype)
    w = xp.where(valid, w, 0).astype(logp.dtype)
    losses = xp.where(valid, -picked * w, 0).astype(logp.dtype)
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return xp.asarray(total, dtype=logp.dtype)
    return xp.asarray(total / w.sum(), dtype=logp.dtype)


def per_step_ms(cp, fn):
    for _ in range(WARMUP):
        fn()
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    for _ in range(STEPS):
        fn()
    cp.cuda.Device().synchronize()
    return (time.perf_counter() - start) / STEPS * 1e3


def main():
    cp = cupy_module()
    import torch

    name = torch.cuda.get_device_name()
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((128, 784)).astype(np.float32)
    y_np = rng.integers(0, 10, 128)
    graph, arrays, pairs, inplace = capture_step(x_np, y_np)

    cpu = run_steps(NumpyProgram(graph, "forward", inplace=inplace),
                    [np.array(a, copy=True) for a in arrays], pairs, CHECK, np.copyto)
    cpu = np.array([float(v) for v in cpu])

    def device_arrays():  # the learning rate stays a host scalar, as the executable passes it
        return [a.copy() if a.ndim == 0 and a.dtype == np.float64 else cp.asarray(a)
                for a in arrays]

    rows = []
    from graphtorch.ops.registry import REGISTRY

    nll = REGISTRY["nll_loss"]
    for label, cuda_graph, patch in (("compiled", False, False),
                                     ("compiled + CUDA graph", True, False),
                                     ("compiled + CUDA graph, nll_loss change", True, True)):
        original = nll.kernel
        if patch:
            object.__setattr__(nll, "kernel", _nll_without_host_check)
        try:
            program = CupyProgram(graph, inplace=inplace, cuda_graph=cuda_graph)
        finally:
            object.__setattr__(nll, "kernel", original)
        losses = run_steps(program, device_arrays(), pairs, CHECK, cp.copyto)
        err = float(np.max(np.abs(np.array([float(v) for v in losses]) - cpu) / np.abs(cpu)))
        state = device_arrays()
        ms = per_step_ms(cp, lambda program=program, state=state:
                         run_steps(program, state, pairs, 1, cp.copyto))
        status = program.replay.status if program.replay is not None else ""
        rows.append((label, ms, err, status))

    torch.manual_seed(0)
    t_model = mlp(torch).cuda()
    t_step = make_step(torch, t_model)
    tx, ty = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()
    t_ms = per_step_ms(cp, lambda: t_step(tx, ty))

    print(f"MLP 784-512-512-10, batch 128, SGD momentum, {name}; "
          f"{STEPS} steps after {WARMUP} warm-up")
    print(f"  PyTorch {torch.__version__} eager CUDA            : {t_ms:7.3f} ms/step")
    for label, ms, err, status in rows:
        print(f"  {label:<40}: {ms:7.3f} ms/step  ({t_ms / ms:.2f}x PyTorch's speed; "
              f"losses vs CPU: max rel diff {err:.1e}) {status}")
    print(f"  CPU program losses: {np.array2string(cpu, precision=5)}")


if __name__ == "__main__":
    main()
