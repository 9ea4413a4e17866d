"""`gt.optim`: PyTorch's optimizers and learning-rate schedulers on graphtorch tensors.

Each optimizer follows PyTorch 2.13's single-tensor update formulas, so parameter
trajectories and `state_dict()` contents match `torch.optim` step for step.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD",
           "lr_scheduler"]
