"""PairwiseDistance and CosineSimilarity: store the options, call `F.pairwise_distance` and
`F.cosine_similarity` (PyTorch's `torch.nn.modules.distance`)."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim (the order p is kept as `norm`).

    >>> gt.nn.PairwiseDistance()(gt.tensor([[3., 0.]]), gt.tensor([[0., 4.]]))
    tensor([5.])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """x1 . x2 / (max(||x1||, eps) * max(||x2||, eps)) along `dim`.

    >>> gt.nn.CosineSimilarity(dim=0)(gt.tensor([1., 0.]), gt.tensor([1., 1.]))
    tensor(0.7071)
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
