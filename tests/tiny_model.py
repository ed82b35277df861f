"""The tests' one tiny model: the layer types of the library's joint models (Conv3d, BatchNorm3d,
LSTM, Linear) at a size that trains in a fraction of a second, and separable random clips to
train it on (``conftest.tiny_trained`` is it trained)."""

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = 4


class TinyJoint(nn.Module):
    """(B, 2, 2, T, H, W) -> (B, CLASSES): Conv3d + BatchNorm3d, an LSTM over time, a Linear classifier."""

    def __init__(self):
        super().__init__()
        self.conv3d = nn.Conv3d(4, 6, 3, padding=1, bias=False)
        self.bn3d = nn.BatchNorm3d(6)
        self.lstm = nn.LSTM(6, 12, batch_first=True)
        self.fc = nn.Linear(12, CLASSES)

    def forward(self, clips):
        x = F.relu(self.bn3d(self.conv3d(clips.flatten(1, 2))))  # (B, 6, T, H, W)
        x = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T, 6)
        _, (hidden, _) = self.lstm(x)
        return self.fc(hidden[-1])


def separable_clips(n, seed):
    """Separable clips (n, 2, 2, 4, 8, 8): one fixed random pattern per class plus noise, and their labels."""
    patterns = torch.randn(CLASSES, 2, 2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (n,), generator=g)
    return patterns[labels] + 0.8 * torch.randn(n, 2, 2, 4, 8, 8, generator=g), labels
