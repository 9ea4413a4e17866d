"""`torch._inductor`: only its `config`, so scripts tuning Inductor
(``torch._inductor.config.coordinate_descent_tuning = True``) run unchanged."""

from . import config

__all__ = ["config"]
