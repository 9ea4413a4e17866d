"""AdaptiveLogSoftmaxWithLoss against PyTorch (same seed, same initial weights): forward's
(output, loss) namedtuple and gradients, unbatched targets, log_prob, predict on rows in the
shortlist, in clusters and mixed, and the constructor and forward errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

TARGETS = np.array([0, 3, 5, 9, 12, 19, 2, 15])


def _pair(**kwargs):
    modules = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        modules.append(lib.nn.AdaptiveLogSoftmaxWithLoss(16, 20, **kwargs))
    modules[1].load_state_dict({k: gt.tensor(v.detach().numpy())
                                for k, v in modules[0].state_dict().items()})
    return modules


@pytest.mark.parametrize("kwargs", [{"cutoffs": [4, 10]},
                                    {"cutoffs": [6], "div_value": 2.0, "head_bias": True},
                                    {"cutoffs": [2, 8, 15], "div_value": 1.5}])
def test_forward_backward_log_prob_match_pytorch(kwargs):
    x = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    results = []
    for lib, module in zip((torch, gt), _pair(**kwargs)):
        xt = lib.tensor(x, requires_grad=True)
        out = module(xt, lib.tensor(TARGETS))
        out.loss.backward()
        single = module(lib.tensor(x[3]), lib.tensor(TARGETS[3]))
        results.append({
            "fields": (type(out).__name__, out._fields),
            "output": out.output.detach().numpy(), "loss": out.loss.detach().numpy(),
            "input grad": xt.grad.numpy(), "head grad": module.head.weight.grad.numpy(),
            "tail grad": module.tail[0][1].weight.grad.numpy(),
            "single": single.output.detach().numpy(), "single loss": single.loss.detach().numpy(),
            "log_prob": module.log_prob(lib.tensor(x)).detach().numpy(),
            "predict": module.predict(lib.tensor(x)).numpy(),
            "repr": repr(module), "keys": list(module.state_dict()),
        })
    for key, expected in results[0].items():
        if isinstance(expected, np.ndarray):
            assert results[1][key].shape == expected.shape, key
            np.testing.assert_allclose(results[1][key], expected, rtol=1e-5, atol=1e-6,
                                       err_msg=key)
        else:
            assert results[1][key] == expected, key


def test_predict_paths():
    """All rows in the shortlist, all in clusters, and mixed: always log_prob's argmax."""
    torch_module, module = _pair(cutoffs=[4, 10])
    x = np.random.default_rng(1).normal(size=(32, 16)).astype(np.float32) * 3
    mixed = module.predict(gt.tensor(x)).numpy()
    assert (mixed < 4).any() and (mixed >= 4).any()
    np.testing.assert_array_equal(mixed, torch_module.predict(torch.tensor(x)).numpy())
    with gt.no_grad():
        for rows, bias in (("shortlist", [5.0] * 4 + [-5.0] * 2),
                           ("clusters", [-5.0] * 4 + [5.0] * 2)):
            module.head.bias = gt.nn.Parameter(gt.tensor(bias))
            x = gt.randn(6, 16)
            np.testing.assert_array_equal(module.predict(x).numpy(),
                                          module.log_prob(x).argmax(dim=1).numpy(), rows)


@pytest.mark.parametrize("cutoffs", [[], [5, 3], [0, 4], [4, 20], [4, 4], [2.5]])
def test_constructor_errors(cutoffs):
    messages = []
    for lib in (torch, gt):
        with pytest.raises(ValueError) as info:
            lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("x_shape,target", [((3, 8), [1, 2]), ((3, 2, 4), [1, 2, 3]),
                                            ((3, 8), 1), ((3, 8), [[1]]), ((2, 8), [1, 25])])
def test_forward_errors(x_shape, target):
    messages = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        module = lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4])
        with pytest.raises(RuntimeError) as info:
            module(lib.zeros(x_shape), lib.tensor(target))
        messages.append(str(info.value))
    assert messages[1] == messages[0]
