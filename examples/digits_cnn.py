"""Train a small CNN on scikit-learn's bundled 8x8 digits with graphtorch used as PyTorch.

Ordinary PyTorch training code after `import graphtorch as torch`: Dataset/DataLoader,
nn.Module, CrossEntropyLoss, SGD with momentum, a cosine lr schedule, a tqdm progress
bar, gt.save checkpoints and matplotlib plots of loss/accuracy and the lr schedule.

Run: python3 -m pip install -e ".[examples]" && python3 examples/digits_cnn.py
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import graphtorch as torch
import graphtorch.nn as nn
import graphtorch.nn.functional as F
from graphtorch.utils.data import DataLoader, TensorDataset


class DigitsNet(nn.Module):
    """Two 3x3 conv layers, a 2x2 max-pool and two linear layers (8x8 grey images)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


def load_digits_tensors(seed: int = 0):
    """The digits as (N, 1, 8, 8) float tensors scaled to [0, 1], split 80/20."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    cut = int(0.8 * len(labels))
    train, test = order[:cut], order[cut:]
    return (torch.from_numpy(images[train]), torch.from_numpy(labels[train]),
            torch.from_numpy(images[test]), torch.from_numpy(labels[test]))


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    return correct / total


def save_plots(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(history["step"], history["loss"])
    axes[0].set(title="training loss", xlabel="step")
    axes[1].plot(range(1, len(history["test_acc"]) + 1), history["test_acc"], marker="o")
    axes[1].set(title="test accuracy", xlabel="epoch", ylim=(0, 1))
    axes[2].plot(range(1, len(history["lr"]) + 1), history["lr"], marker=".")
    axes[2].set(title="learning rate (cosine annealing)", xlabel="epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", default="digits_out", help="folder for plots and checkpoint")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = load_digits_tensors()
    generator = torch.Generator().manual_seed(0)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, generator=generator)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=256)
    model = DigitsNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    history = {"step": [], "loss": [], "test_acc": [], "lr": []}
    start = time.perf_counter()
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        history["lr"].append(optimizer.param_groups[0]["lr"])
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{args.epochs}", leave=False,
                   disable=args.no_progress)
        for images, labels in bar:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            step += 1
            history["step"].append(step)
            history["loss"].append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
        accuracy = evaluate(model, test_loader)
        history["test_acc"].append(accuracy)
        print(f"epoch {epoch}: loss {np.mean(history['loss'][-len(train_loader):]):.4f}  "
              f"test accuracy {accuracy:.4f}  ({time.perf_counter() - start:.1f}s)")
    os.makedirs(args.out, exist_ok=True)
    save_plots(history, os.path.join(args.out, "digits_training.png"))
    torch.save({"epoch": args.epochs, "model": model.state_dict(),
                "optimizer": optimizer.state_dict()}, os.path.join(args.out, "digits.pt"))
    print(f"test accuracy {history['test_acc'][-1]:.4f}; plots and checkpoint in {args.out}/")
    return history["test_acc"][-1]


if __name__ == "__main__":
    main()
