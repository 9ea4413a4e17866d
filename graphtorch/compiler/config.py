"""Settings of `gt.compile` read at call time, as ``torch._dynamo.config``'s (which is this
module under its PyTorch name, `gt._dynamo.config`).

- `recompile_limit` (alias `cache_size_limit`, PyTorch's older name): variants one compiled
  function keeps; past it new variants run eagerly with one warning. Default 8, as PyTorch.
- `suppress_errors`: accepted for PyTorch code; graphtorch never turns an internal error
  into silent eager execution, so it changes nothing.
- `verbose`: accepted; graphtorch's errors always carry the user's file:line.
"""

from __future__ import annotations

import sys
import types

recompile_limit = 8
suppress_errors = False
verbose = False
# accepted for PyTorch code, no effect here: what they tune does not exist in graphtorch
automatic_dynamic_shapes = True
assume_static_by_default = True
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False


class _Config(types.ModuleType):
    """The module, with `cache_size_limit` as an alias of `recompile_limit`."""

    @property
    def cache_size_limit(self) -> int:
        return self.recompile_limit

    @cache_size_limit.setter
    def cache_size_limit(self, value: int) -> None:
        self.recompile_limit = value


sys.modules[__name__].__class__ = _Config
