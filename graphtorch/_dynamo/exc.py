"""`torch._dynamo.exc`: the errors compiled code raises, under PyTorch's names.

Everything `gt.compile` cannot capture raises `TracingError` (a RuntimeError naming the
user's file:line) under ``fullgraph=True``; PyTorch code catching `Unsupported` or
`TorchDynamoException` catches it.
"""

from __future__ import annotations

from ..trace_state import TracingError

TorchDynamoException = TracingError
Unsupported = TracingError
UserError = TracingError
InternalTorchDynamoError = TracingError

__all__ = ["InternalTorchDynamoError", "TorchDynamoException", "Unsupported", "UserError"]
