"""The point of graphtorch in one script: the same PyTorch-style training step, run eagerly and
compiled with `gt.compile`, with the speed-up measured and the optimised graph printed.

An MLP learns the 8x8 digits (scikit-learn). The whole step - zero_grad, forward, loss,
backward, SGD with momentum, and a learning-rate scheduler changing lr every step - is one
compiled graph; both runs start from the same weights and give the same losses.

Run: python3 examples/compile_demo.py [--epochs N] [--graph]
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


def train(compiled: bool, x, y, epochs: int, batch: int = 128):
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * (len(y) // batch))
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step) if compiled else step
    losses, times = [], []
    for epoch in range(epochs):
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        for i in range(len(y) // batch):  # full batches only: one shape, one graph
            idx = perm[i * batch:(i + 1) * batch]
            start = time.perf_counter()
            loss = run(x[idx], y[idx])
            times.append(time.perf_counter() - start)
            losses.append(loss.item())
            sched.step()
    return model, run, losses, times


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--graph", action="store_true", help="print the whole optimised graph")
    args = parser.parse_args(argv)
    x, y, x_test, y_test = load_digits()

    eager_model, _, eager_losses, eager_times = train(False, x, y, args.epochs)
    model, step, losses, times = train(True, x, y, args.epochs)

    skip = 3  # the first calls include tracing and compiling (and the first, eager, step)
    eager_ms = float(np.median(eager_times[skip:])) * 1e3
    compiled_ms = float(np.median(times[skip:])) * 1e3
    print(f"steps: {len(losses)}, final loss eager {eager_losses[-1]:.5f}, "
          f"compiled {losses[-1]:.5f} (max difference over all steps "
          f"{max(abs(a - b) for a, b in zip(eager_losses, losses)):.1e})")
    print(f"test accuracy: eager {accuracy(eager_model, x_test, y_test):.3f}, "
          f"compiled {accuracy(model, x_test, y_test):.3f}")
    print(f"median step: eager {eager_ms:.2f} ms, compiled {compiled_ms:.2f} ms "
          f"-> {eager_ms / compiled_ms:.1f}x faster; compiled {step.compile_count} time(s), "
          f"first compile {step.variants[0].compile_seconds:.2f} s")

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
