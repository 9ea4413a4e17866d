"""LSTM forward+backward: compiled (nn.LSTM traced into the fused lstm_scan op) vs eager
graphtorch vs PyTorch 2.13 eager, in one process, same weights and data.

LSTM(input 64, hidden 128), batch 32, length 50, batch_first; loss = output.square().mean();
one step = forward + backward (gradients of inputs and weights).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/lstm.py
"""

from __future__ import annotations

import numpy as np
from timing import median_time


def timed(fn, steps=20, warmup=3):
    return median_time(fn, steps, warmup) * 1e3


def make_lstms(torch, gt):
    """(inputs, PyTorch LSTM, graphtorch LSTM with the same weights) of this workload."""
    x_np = np.random.default_rng(0).standard_normal((32, 50, 64)).astype(np.float32)
    torch.manual_seed(0)
    t_lstm = torch.nn.LSTM(64, 128, batch_first=True)
    g_lstm = gt.nn.LSTM(64, 128, batch_first=True)
    g_lstm.load_state_dict({k: gt.from_numpy(v.detach().numpy().copy())
                            for k, v in t_lstm.state_dict().items()})
    return x_np, t_lstm, g_lstm


def loss_of(lstm, x):
    out, _ = lstm(x)
    return out.square().mean()


def main():
    import torch

    import graphtorch as gt
    from graphtorch import numba_jit

    x_np, t_lstm, g_lstm = make_lstms(torch, gt)
    tx = torch.from_numpy(x_np).requires_grad_()
    gx = gt.from_numpy(x_np.copy()).requires_grad_()

    def t_step():
        t_lstm.zero_grad()
        tx.grad = None
        loss_of(t_lstm, tx).backward()

    def g_step():
        g_lstm.zero_grad()
        gx.grad = None
        loss_of(g_lstm, gx).backward()

    compiled = gt.compile(lambda x: loss_of(g_lstm, x))

    def c_step():
        g_lstm.zero_grad()
        gx.grad = None
        compiled(gx).backward()

    c_step()
    numba_jit.wait()  # the JIT tier's cell kernels (compiled in the background) are ready
    t_ms, g_ms, c_ms = timed(t_step), timed(g_step, steps=5, warmup=1), timed(c_step)
    c_step()
    got = gx.grad.numpy().copy()
    t_step()
    print("LSTM(64, 128), batch 32, length 50, forward+backward, median ms")
    print(f"  PyTorch {torch.__version__} eager : {t_ms:8.2f}")
    print(f"  graphtorch eager          : {g_ms:8.2f}  ({g_ms / t_ms:.2f}x PyTorch)")
    print(f"  graphtorch compiled       : {c_ms:8.2f}  ({c_ms / t_ms:.2f}x PyTorch, "
          f"{g_ms / c_ms:.2f}x faster than eager; {compiled.compile_count} compile)")
    print(f"  max |grad x compiled - PyTorch| = {np.abs(got - tx.grad.numpy()).max():.1e}")


if __name__ == "__main__":
    main()
