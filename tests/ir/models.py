"""Small models whose traced graphs are kept as golden dumps (tests/ir/golden/*.txt).

Kept in their own module so that the source lines printed in the dumps stay stable."""

from __future__ import annotations

import graphtorch as gt
import graphtorch.nn as nn
import graphtorch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, tokens):
        return self.out(self.emb(tokens).mean(1))


class Normed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.bn(self.fc(x)))


class Scaled(nn.Module):
    """A module with a buffer it reads and one it updates."""

    def __init__(self):
        super().__init__()
        self.register_buffer("scale", gt.full((3,), 2.0))
        self.register_buffer("calls", gt.zeros((), dtype=gt.int64))

    def forward(self, x):
        self.calls.add_(1)
        return x * self.scale


def cases():
    """(name, model, example inputs) for every golden dump."""
    gt.manual_seed(0)
    return [
        ("mlp", MLP(), (gt.randn(2, 4),)),
        ("lenet", LeNet(), (gt.randn(1, 1, 32, 32),)),
        ("embedding", Bag(), (gt.tensor([[1, 2, 3], [4, 5, 6]]),)),
        ("batchnorm_dropout_eval", Normed().eval(), (gt.randn(5, 3),)),
        ("batchnorm_dropout_train", Normed().train(), (gt.randn(5, 3),)),
        ("batchnorm_train", nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).train(),
         (gt.randn(5, 3),)),
        ("buffers", Scaled(), (gt.randn(2, 3),)),
    ]
