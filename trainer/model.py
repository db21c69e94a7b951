"""The Digit network: the contract between the checkpoint, the ONNX file and the runtime."""

import torch
import torch.nn.functional as F
from torch import nn


class Digit(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)  # 1x28x28 -> 10x24x24, pooled to 10x12x12
        self.conv2 = nn.Conv2d(10, 20, 3)  # 10x12x12 -> 20x10x10
        self.fc1 = nn.Linear(20 * 10 * 10, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(self.conv2(x))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)
