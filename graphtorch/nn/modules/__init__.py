"""The nn module classes, one concept per file."""

from .activation import (ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh, Identity,
                         LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU, ReLU6, Sigmoid, SiLU,
                         Softmax, Softmax2d, Softmin, Softplus, Softsign, Tanh)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d,
                   AvgPool2d, Conv1d, Conv2d, MaxPool1d, MaxPool2d)
from .linear import (Bilinear, Dropout, Dropout1d, Dropout2d, Dropout3d, Embedding, Flatten,
                     Linear, Unflatten)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell

__all__ = [name for name in dir() if not name.startswith("_")]
