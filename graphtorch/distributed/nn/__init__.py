"""`gt.distributed.nn`: differentiable collectives (PyTorch's ``torch.distributed.nn``)."""

from . import functional
