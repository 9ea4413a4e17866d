"""F.conv_tbc (time, batch, channel convolution) and the deprecated nn.NLLLoss2d alias
against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("pad", [0, 1, 2, -1])
@pytest.mark.parametrize("kernel", [1, 3])
def test_conv_tbc_matches_pytorch(pad, kernel):
    rng = np.random.default_rng(kernel)
    arrays = [rng.normal(size=s).astype(np.float64) for s in ((6, 2, 3), (kernel, 3, 4), (4,))]
    results = []
    for lib, conv_tbc in ((torch, torch.conv_tbc), (gt, F.conv_tbc)):
        tensors = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = conv_tbc(*tensors, pad)
        (out * out).sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in tensors])
    for a, b in zip(*results):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


ERRORS = [((5, 2), (3, 3, 4), (4,)), ((5, 2, 3), (3, 3), (4,)), ((5, 2, 3), (3, 3, 4), (4, 1)),
          ((5, 2, 3), (3, 2, 4), (4,)), ((5, 2, 3), (3, 3, 4), (5,)),
          ((2, 2, 3), (7, 3, 4), (4,))]


@pytest.mark.parametrize("shapes", ERRORS)
def test_conv_tbc_errors_match_pytorch(shapes):
    messages = []
    for lib, conv_tbc in ((torch, torch.conv_tbc), (gt, F.conv_tbc)):
        with pytest.raises(RuntimeError) as info:
            conv_tbc(*[lib.zeros(s) for s in shapes])
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_nll_loss2d_is_a_deprecated_nll_loss():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, size=(2, 4, 4))
    results = []
    for lib in (torch, gt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = lib.nn.NLLLoss2d(weight=lib.tensor([1.0, 2.0, 0.5]), ignore_index=1)
        assert isinstance(loss, lib.nn.NLLLoss)
        results.append((loss(lib.tensor(x), lib.tensor(y)).numpy(),
                        [(w.category, str(w.message)) for w in caught], repr(loss)))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    assert results[1][1:] == results[0][1:]
