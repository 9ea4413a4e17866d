"""`torch._dynamo.utils.counters`: the compiler's counters (see `compiler.counters`)."""

from ..compiler.counters import counters

__all__ = ["counters"]
