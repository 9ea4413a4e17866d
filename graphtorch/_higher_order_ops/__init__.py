"""`torch._higher_order_ops`: the control-flow operators under the names PyTorch's
export and compiler tutorials import them by (`cond`, `while_loop`, `scan`, `map`)."""

from ..control_flow import cond, scan, while_loop

__all__ = ["cond", "map", "scan", "while_loop"]


def map(f, xs, *args):  # noqa: A001  (PyTorch's name)
    """``f(x, *args)`` for each slice ``x`` of `xs` along dim 0, stacked: `scan` without a
    carry."""
    def body(carry, x):
        return carry, f(x, *args)
    return scan(body, (), xs)[1]
