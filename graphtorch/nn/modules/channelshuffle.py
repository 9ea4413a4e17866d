"""ChannelShuffle (ShuffleNet): interleave the channel groups, over
`gt.nn.functional.channel_shuffle`."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class ChannelShuffle(Module):
    """Split the C channels of (N, C, *) into `groups` groups and interleave them."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
