"""Value checks that must run inside compiled graphs: ops that return their input unchanged
and raise PyTorch's error when its values are invalid (ATen's TORCH_CHECKs on data).

Reading the values in Python instead would make the function a graph break under
gt.compile; as ops, the check runs wherever the graph runs and passes see an ordinary
node whose output is used.
"""

from __future__ import annotations

from .registry import Category, OpDef, register


def _envelope_kernel(xp, envelope, message=""):
    if envelope.size and float(xp.abs(envelope).min()) < 1e-11:
        raise RuntimeError(message)
    return envelope


def _identity_vjp(ctx, grad):
    return (grad,)


ISTFT_ENVELOPE_CHECK = register(OpDef(
    "istft_envelope_check", Category.OPAQUE, _envelope_kernel, lambda envelope, message="":
    envelope, _identity_vjp, may_alias_input=True, backward_name="AliasBackward0",
    doc="istft's overlap-added squared window, checked to stay above 1e-11 (raises "
        "`message` otherwise)"))
