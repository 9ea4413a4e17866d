"""Eager training with graphtorch used as PyTorch: a two-layer MLP on a spiral data set.

Everything here is ordinary PyTorch code after `import graphtorch as torch`: tensors,
autograd (`loss.backward()`), `torch.no_grad()` for the SGD update, `.grad.zero_()`.
Run: python examples/eager_training.py
"""

from __future__ import annotations

import math

import graphtorch as torch


def spiral_data(points_per_class: int = 100, classes: int = 3):
    """The classic 2-D spiral: `classes` interleaved arms, one label per arm."""
    xs, ys = [], []
    for label in range(classes):
        r = torch.linspace(0.05, 1.0, points_per_class)
        theta = torch.linspace(label * 4.0, (label + 1) * 4.0, points_per_class)
        theta = theta + torch.randn(points_per_class) * 0.2
        xs.append(torch.stack([r * theta.sin(), r * theta.cos()], dim=1))
        ys.append(torch.full((points_per_class,), label, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def cross_entropy(logits, target):
    """Mean negative log-likelihood of the target class (log-softmax written out)."""
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    picked = log_probs[torch.arange(len(target)), target]
    return -picked.mean()


def main(steps: int = 300, lr: float = 1.0, hidden: int = 64) -> float:
    torch.manual_seed(0)
    x, y = spiral_data()
    w1 = (torch.randn(2, hidden) * math.sqrt(2.0 / 2)).requires_grad_()
    b1 = torch.zeros(hidden, requires_grad=True)
    w2 = (torch.randn(hidden, 3) * math.sqrt(1.0 / hidden)).requires_grad_()
    b2 = torch.zeros(3, requires_grad=True)
    params = [w1, b1, w2, b2]

    for step in range(steps + 1):
        hidden_act = (x @ w1 + b1).relu()
        logits = hidden_act @ w2 + b2
        loss = cross_entropy(logits, y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
        if step % 50 == 0:
            accuracy = (logits.argmax(dim=1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
