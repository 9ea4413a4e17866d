"""`gt.nn`: modules, parameters, initialisation and the functional API, as in PyTorch."""

from . import attention, functional, grad, init, parallel, utils  # noqa: F401
from .modules import *
from .parallel import DataParallel
from .parameter import (  # noqa: F401
    Buffer,
    Parameter,
    UninitializedBuffer,
    UninitializedParameter,
)
