"""`gt.nn`: modules, parameters, initialisation and the functional API, as in PyTorch."""

from . import functional, init  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Parameter  # noqa: F401
