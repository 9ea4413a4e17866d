"""`gt.utils.tensorboard`: PyTorch's torch.utils.tensorboard (`SummaryWriter`), writing
TensorBoard event files without the tensorboard package."""

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
