"""The seed notes' LeNet, unchanged except for the import: define, inspect, train a step.

Run: python3 examples/lenet.py
"""

from __future__ import annotations

import graphtorch as torch
import graphtorch.nn as nn
import graphtorch.nn.functional as F
import graphtorch.optim as optim
from graphtorch.autograd import Variable


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)   # 1 input channel, 6 output channels, 5x5 kernel
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def num_flat_features(self, x):
        size = x.size()[1:]  # all dimensions except the batch dimension
        num_features = 1
        for s in size:
            num_features *= s
        return num_features


def main(steps: int = 5) -> list[float]:
    torch.manual_seed(0)
    net = Net()
    print(net)
    print(len(list(net.parameters())))  # 10: a weight and a bias per layer
    input = Variable(torch.randn(1, 1, 32, 32))
    out = net(input)
    print(out)
    net.zero_grad()
    out.backward(torch.randn(1, 10))

    criterion = nn.MSELoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    target = torch.randn(1, 10)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(net(input), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print("losses:", [round(v, 4) for v in losses])
    return losses


if __name__ == "__main__":
    main()
