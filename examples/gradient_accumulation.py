"""Gradient accumulation (seed note 002): several small batches, one optimizer step.

Summing the gradients of `accumulation_steps` micro-batches, each loss divided by the
number of steps, gives the gradient of one large batch; this script checks that.
Run: python3 examples/gradient_accumulation.py
"""

from __future__ import annotations

import graphtorch as torch
import graphtorch.nn as nn


def main(accumulation_steps: int = 5, micro_batch: int = 8) -> float:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    loss_func = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(accumulation_steps * micro_batch, 10)
    y = torch.randn(accumulation_steps * micro_batch, 1)

    # One big batch: the reference gradient.
    loss_func(model(x), y).backward()
    reference = [p.grad.clone() for p in model.parameters()]
    optimizer.zero_grad()

    for i in range(accumulation_steps):
        xb = x[i * micro_batch:(i + 1) * micro_batch]
        yb = y[i * micro_batch:(i + 1) * micro_batch]
        loss = loss_func(model(xb), yb)
        loss = loss / accumulation_steps
        loss.backward()  # gradients add up in .grad
        if (i + 1) % accumulation_steps == 0:
            worst = max((p.grad - r).abs().max().item()
                        for p, r in zip(model.parameters(), reference))
            print(f"max |accumulated - full-batch gradient| = {worst:.2e}")
            optimizer.step()
            optimizer.zero_grad()
    return worst


if __name__ == "__main__":
    main()
