"""Eager training steps, graphtorch vs PyTorch in one process (same weights, same data).

- MLP 784-512-512-10, batch 128, CrossEntropyLoss, SGD(momentum=0.9)
- LeNet (seed notes) on 1x32x32 images, batch 64, same loss and optimizer

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/train_step.py
Prints milliseconds per step and the ratio graphtorch / PyTorch.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import median_time


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def lenet(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120),
                         nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def time_steps(lib, model, x, y, steps, warmup):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return median_time(step, steps, warmup) * 1e3, float(step().item())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    import torch

    import graphtorch as gt

    rows = []
    rng = np.random.default_rng(0)
    cases = [("MLP 784-512-512-10, batch 128", mlp, (128, 784)),
             ("LeNet 1x32x32, batch 64", lenet, (64, 1, 32, 32))]
    print(f"{'step (eager, SGD momentum)':34} {'graphtorch ms':>14} {'torch ms':>9} {'ratio':>6}")
    for label, build, shape in cases:
        x_np = rng.standard_normal(shape).astype(np.float32)
        y_np = rng.integers(0, 10, size=shape[0]).astype(np.int64)
        torch.manual_seed(0)
        t_model = build(torch)
        g_model = build(gt)
        with gt.no_grad():
            for (_, p), (_, q) in zip(t_model.named_parameters(), g_model.named_parameters()):
                q.copy_(gt.tensor(p.detach().numpy()))
        t_ms, t_loss = time_steps(torch, t_model, torch.tensor(x_np), torch.tensor(y_np),
                                  args.steps, args.warmup)
        g_ms, g_loss = time_steps(gt, g_model, gt.tensor(x_np), gt.tensor(y_np), args.steps,
                                  args.warmup)
        rows.append({"case": label, "graphtorch_ms": g_ms, "torch_ms": t_ms,
                     "ratio": g_ms / t_ms, "loss_diff": abs(g_loss - t_loss)})
        print(f"{label:34} {g_ms:14.2f} {t_ms:9.2f} {g_ms / t_ms:6.2f}   "
              f"(final losses {g_loss:.5f} / {t_loss:.5f})")
    print(f"torch threads: {torch.get_num_threads()}")
    return rows


if __name__ == "__main__":
    main()
