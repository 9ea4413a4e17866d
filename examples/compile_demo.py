"""The point of graphtorch in one script: the same PyTorch-style training step, run eagerly and
compiled with `gt.compile`, with the speed-up measured and the optimised graph printed.

An MLP learns the 8x8 digits (scikit-learn). The whole step - zero_grad, forward, loss,
backward, SGD with momentum, and a learning-rate scheduler changing lr every step - is one
compiled graph; both runs start from the same weights and give the same losses. The two
runs take turns step by step and the medians are compared, so a machine busy with other
work slows both alike (a run measured alone on a loaded machine can look many times
slower than it is).

Run: python3 examples/compile_demo.py [--epochs N] [--graph] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import graphtorch as torch
import graphtorch.nn as nn


def load_digits(seed: int = 0):
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(0.8 * len(y))
    return (torch.from_numpy(x[order[:cut]]), torch.from_numpy(y[order[:cut]]),
            torch.from_numpy(x[order[cut:]]), torch.from_numpy(y[order[cut:]]))


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


class Trainer:
    """One training run (model, optimizer, scheduler) stepped by the caller, so that the
    eager and the compiled run can take turns: both then see the same machine load."""

    def __init__(self, compiled: bool, steps_per_epoch: int, epochs: int):
        model = make_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def step(xb, yb):  # a closure: gt.compile finds the model and optimizer by name
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            return loss

        self.model = model
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=epochs * steps_per_epoch)
        self.run = torch.compile(step) if compiled else step
        self.losses, self.times = [], []

    def timed_step(self, xb, yb) -> None:
        start = time.perf_counter()
        loss = self.run(xb, yb)
        self.times.append(time.perf_counter() - start)
        self.losses.append(loss.item())
        self.sched.step()


def train_interleaved(x, y, epochs: int, batch: int = 128):
    """Train the eager and the compiled model on the same batches, alternating step by
    step (and which goes first), so a busy machine slows both alike."""
    steps_per_epoch = len(y) // batch  # full batches only: one shape, one graph
    eager = Trainer(False, steps_per_epoch, epochs)
    compiled = Trainer(True, steps_per_epoch, epochs)
    for epoch in range(epochs):
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        for i in range(steps_per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            xb, yb = x[idx], y[idx]
            order = (eager, compiled) if i % 2 == 0 else (compiled, eager)
            for trainer in order:
                trainer.timed_step(xb, yb)
    return eager, compiled


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--graph", action="store_true", help="print the whole optimised graph")
    parser.add_argument("--threads", type=int, default=0,
                        help="gt.set_num_threads(N) first (default: PyTorch's, the physical "
                        "cores)")
    args = parser.parse_args(argv)
    x, y, x_test, y_test = load_digits()

    if args.threads:
        torch.set_num_threads(args.threads)
    eager, compiled = train_interleaved(x, y, args.epochs)
    step = compiled.run

    skip = 3  # the first calls include tracing and compiling (and the first, eager, step)
    eager_ms = float(np.median(eager.times[skip:])) * 1e3
    compiled_ms = float(np.median(compiled.times[skip:])) * 1e3
    print(f"steps: {len(compiled.losses)}, final loss eager {eager.losses[-1]:.5f}, "
          f"compiled {compiled.losses[-1]:.5f} (max difference over all steps "
          f"{max(abs(a - b) for a, b in zip(eager.losses, compiled.losses)):.1e})")
    print(f"test accuracy: eager {accuracy(eager.model, x_test, y_test):.3f}, "
          f"compiled {accuracy(compiled.model, x_test, y_test):.3f}")
    print(f"median step over {len(compiled.times) - skip} interleaved steps "
          f"({torch.get_num_threads()} threads): eager {eager_ms:.2f} ms, compiled "
          f"{compiled_ms:.2f} ms -> {eager_ms / compiled_ms:.1f}x faster; compiled "
          f"{step.compile_count} time(s), first compile {step.variants[0].compile_seconds:.2f} s")

    graph = step.graph
    fused = [n for n in graph.op_nodes if n.op.name == "fused"]
    print(f"\noptimised graph: {len(graph.op_nodes)} op nodes ({len(fused)} fused groups); "
          f"the learning rate is an input: "
          f"{[n.name for n in graph.inputs if n.name.endswith('.lr')]}")
    text = str(graph).splitlines()
    shown = text if args.graph else text[:40]
    print("\n".join(shown))
    if len(shown) < len(text):
        print(f"... ({len(text) - len(shown)} more lines; --graph prints all)")


if __name__ == "__main__":
    main()
