"""Eager's view-or-error decision for a `view` traced with dynamic sizes.

With symbolic sizes the tracer keeps no strides for a permuted view or a result computed from
one, so `view` cannot tell from them whether eager code would alias or fail (and `reshape`
copy): `x.permute(...).reshape(...)`, pixel_shuffle. Eager's choice depends only on the
memory order, which is the same at every size of a dynamic dim (sizes 0 and 1 stay static):
the view kernel runs on a stand-in laid out as the input is at the trace-time sizes
(`layout_hints`), raising eager's error where eager's `view` would. Where that layout is not
known either, the dynamic trace gives up (`DynamicLayoutError`) and static sizes are
compiled instead.
"""

from __future__ import annotations

import numpy as np

from .layout_hints import hinted, hint_stand_in


class DynamicLayoutError(RuntimeError):
    """A `view` of a tensor whose layout is unknown even at the trace-time sizes: its result
    could alias or copy. `gt.compile` then compiles static sizes."""


def check_dynamic_view(op, source, attrs) -> None:
    """Raise the eager kernel's error if view op `op` cannot view `source` (a traced tensor
    of untracked layout), DynamicLayoutError if its layout is not known at the hints."""
    try:
        stand_in = hint_stand_in(source)
    except TypeError:
        raise DynamicLayoutError(
            f"{op.name} of a tensor whose memory layout depends on dynamic sizes and is not "
            "known: whether eager code would view it or copy is unknown") from None
    op.kernel(np, stand_in, **hinted(attrs))
