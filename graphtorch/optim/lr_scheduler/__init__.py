"""Learning-rate schedulers (`gt.optim.lr_scheduler`), numerically identical to PyTorch's.

Schedulers write each group's ``'lr'`` in the optimizer's param groups; chainable ones
compute it recursively from the current value (PyTorch's forms, including the recursive
cosine), and `step(epoch)` uses the closed form where one exists. `state_dict()` is the
instance `__dict__` without the optimizer, as in PyTorch.

The parts: `base` (LRScheduler and shared helpers), `epoch_schedules` (a function of the
step count), `plateau` (ReduceLROnPlateau), `cyclic` (CyclicLR, warm restarts, one-cycle) and
`combinators` (SequentialLR, ChainedScheduler).
"""

from __future__ import annotations

from .base import LRScheduler, _LRScheduler  # noqa: F401  (PyTorch keeps the old name)
from .combinators import ChainedScheduler, SequentialLR
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .epoch_schedules import (
                              ConstantLR,
                              CosineAnnealingLR,
                              ExponentialLR,
                              LambdaLR,
                              LinearLR,
                              MultiplicativeLR,
                              MultiStepLR,
                              PolynomialLR,
                              StepLR,
)
from .plateau import ReduceLROnPlateau

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "SequentialLR", "CosineAnnealingLR",
           "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler"]

# PyTorch's schedulers print as torch.optim.lr_scheduler.<Name>; so do these, whichever part
# defines them.
for _scheduler in (*(globals()[_name] for _name in __all__), _LRScheduler):
    _scheduler.__module__ = __name__
