"""`conv_tbc`: a 1-D convolution of (time, batch, channels) sequences, as fairseq's
convolution and PyTorch's `torch.conv_tbc`, written as `conv1d` on the (batch, channels,
time) view; a negative `pad` crops the sequence at both ends, as PyTorch's kernel does."""

from __future__ import annotations

from ...functions.nn_ops import conv1d

__all__ = ["conv_tbc"]


def conv_tbc(input, weight, bias, pad: int = 0):
    """Convolve `input` (T, B, C_in) with `weight` (kernel_width, C_in, C_out) plus `bias`
    (C_out,); the result is (T + 2 pad - kernel_width + 1, B, C_out).

    >>> F.conv_tbc(gt.randn(5, 2, 3), gt.randn(3, 3, 4), gt.zeros(4), 1).shape
    torch.Size([5, 2, 4])
    """
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.size(2) != weight.size(1):
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.size(2) != bias.size(0):
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output "
                           "channels).")
    out_len = input.size(0) + 2 * pad - weight.size(0) + 1
    if out_len < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {out_len}: "
                           f"[{out_len}, {input.size(1)}, {weight.size(2)}]")
    if pad < 0:
        input, pad = input[-pad:input.size(0) + pad], 0
    output = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return output.permute(2, 0, 1)
