"""nn.utils.prune against PyTorch, on the "Pruning" tutorial's LeNet: the masks (random ones
drawn as PyTorch draws them for the same seed), `<name>_orig` parameters and `<name>_mask`
buffers, forward pre-hooks, PruningContainer chaining, global and custom pruning, remove,
is_pruned, gradients, errors, and a compiled training step against eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import build, close, npy, torch

pytest.importorskip("torch.nn.utils.prune")  # not imported by `import torch`


def _lenet(lib):
    nn, F = lib.nn, lib.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.flatten(1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    return LeNet()


def _same_pruned_state(gm, tm):
    """Parameter and buffer names, masks (exactly) and pruned weights agree."""
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in gm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert list(gm.state_dict()) == list(tm.state_dict())
    for (name, g), (_, t) in zip(gm.named_buffers(), tm.named_buffers()):
        np.testing.assert_array_equal(npy(g), npy(t), err_msg=name)
    for name, t in tm.named_modules():
        g = gm.get_submodule(name)
        for attr in ("weight", "bias"):
            if hasattr(t, attr + "_mask"):
                close(getattr(g, attr), getattr(t, attr), 1e-6, 1e-7, f"{name}.{attr}")
                assert getattr(g, attr).grad_fn is not None


PRUNINGS = {
    "random_unstructured": lambda p, m: p.random_unstructured(m.conv1, "weight", amount=0.3),
    "l1_unstructured_count": lambda p, m: p.l1_unstructured(m.conv1, "bias", amount=3),
    "random_then_ln_structured": lambda p, m: (
        p.random_unstructured(m.conv1, "weight", amount=0.3),
        p.ln_structured(m.conv1, "weight", amount=0.5, n=2, dim=0)),
    "random_structured_twice": lambda p, m: (
        p.random_structured(m.fc2, "weight", amount=10, dim=0),
        p.random_structured(m.fc2, "weight", amount=0.5, dim=1)),
    "ln_structured_inf_dim1": lambda p, m: p.ln_structured(m.conv2, "weight", amount=0.25,
                                                           n=float("inf"), dim=1),
    "l1_with_importance_scores": lambda p, m: p.l1_unstructured(
        m.fc3, "weight", amount=0.5, importance_scores=m.fc3.weight.detach() ** 3 - 0.01),
    "all_layers": lambda p, m: [
        p.l1_unstructured(mod, "weight", amount=0.2 if name.startswith("conv") else 0.4)
        for name, mod in m.named_children()],
    "global_l1": lambda p, m: p.global_unstructured(
        [(m.conv1, "weight"), (m.conv2, "weight"), (m.fc1, "weight"), (m.fc2, "weight"),
         (m.fc3, "weight")], pruning_method=p.L1Unstructured, amount=0.2),
    "global_random_after_l1": lambda p, m: (
        p.l1_unstructured(m.fc3, "weight", amount=0.5),
        p.global_unstructured([(m.fc2, "weight"), (m.fc3, "weight")],
                              pruning_method=p.RandomUnstructured, amount=100)),
    "identity_then_custom": lambda p, m: (
        p.identity(m.fc3, "bias"),
        p.custom_from_mask(m.fc3, "bias", mask=m.fc3.bias.new_tensor([0, 1] * 5))),
}


@pytest.mark.parametrize("case", PRUNINGS)
def test_pruning_matches_torch(case):
    def ctor(lib):
        model = _lenet(lib)
        PRUNINGS[case](lib.nn.utils.prune, model)
        return model

    tm, gm = build(ctor, seed=0)
    _same_pruned_state(gm, tm)
    assert gt.nn.utils.prune.is_pruned(gm)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    for lib, m in ((gt, gm), (torch, tm)):
        m(lib.tensor(x)).square().sum().backward()
    for (name, g), (_, t) in zip(gm.named_parameters(), tm.named_parameters()):
        close(g.grad, t.grad, 1e-4, 1e-5, f"grad of {name}")


def test_hooks_and_container():
    m = _lenet(gt)
    prune = gt.nn.utils.prune
    prune.random_unstructured(m.conv1, "weight", amount=0.3)
    (hook,) = m.conv1._forward_pre_hooks.values()
    assert isinstance(hook, prune.RandomUnstructured) and hook._tensor_name == "weight"
    prune.ln_structured(m.conv1, "weight", amount=0.5, n=2, dim=0)
    (hook,) = m.conv1._forward_pre_hooks.values()
    assert isinstance(hook, prune.PruningContainer)
    assert [type(h).__name__ for h in hook] == ["RandomUnstructured", "LnStructured"]
    # the hook recomputes weight from weight_orig before each forward
    with gt.no_grad():
        m.conv1.weight_orig.fill_(2.0)
    m(gt.randn(1, 1, 28, 28))
    assert set(np.unique(npy(m.conv1.weight))) <= {0.0, 2.0}


def test_remove_makes_pruning_permanent():
    tm, gm = build(lambda lib: _lenet(lib), seed=1)
    for lib, m in ((gt, gm), (torch, tm)):
        lib.nn.utils.prune.l1_unstructured(m.fc1, "weight", amount=0.5)
        original = m.fc1.weight_orig
        lib.nn.utils.prune.remove(m.fc1, "weight")
        assert m.fc1.weight is original  # the optimizer's Parameter object stays valid
    assert list(gm.state_dict()) == list(tm.state_dict())
    close(gm.fc1.weight, tm.fc1.weight)
    assert not gt.nn.utils.prune.is_pruned(gm) and not gm.fc1._forward_pre_hooks


def test_custom_pruning_method():
    def ctor(lib):
        class FooBarPruningMethod(lib.nn.utils.prune.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        model = _lenet(lib)
        FooBarPruningMethod.apply(model.fc3, "bias")
        return model

    tm, gm = build(ctor)
    _same_pruned_state(gm, tm)
    prune = gt.nn.utils.prune
    method = prune.L1Unstructured(amount=2)
    close(method.prune(gt.tensor([3.0, -1.0, 0.5, 2.0])), torch.tensor([3.0, 0.0, 0.0, 2.0]))


@pytest.mark.parametrize("bad", [
    lambda p, m: p.random_unstructured(m.fc3, "weight", amount=1.5),
    lambda p, m: p.random_unstructured(m.fc3, "weight", amount=-1),
    lambda p, m: p.random_unstructured(m.fc3, "weight", amount="a"),
    lambda p, m: p.l1_unstructured(m.fc3, "bias", amount=11),
    lambda p, m: p.ln_structured(m.fc3, "bias", amount=1, n=2, dim=0),
    lambda p, m: p.random_structured(m.fc3, "weight", amount=1, dim=2),
    lambda p, m: p.remove(m.fc3, "weight"),
    lambda p, m: p.global_unstructured([(m.fc3, "weight")], pruning_method=p.LnStructured,
                                       amount=1, n=2, dim=0),
])
def test_errors_match(bad):
    """Same type and message (class names in messages printed with torch's module path)."""
    errors = []
    for lib in (torch, gt):
        with pytest.raises(Exception) as info:
            bad(lib.nn.utils.prune, _lenet(lib))
        errors.append(info.value)
    t_err, g_err = errors
    assert type(g_err).__name__ == type(t_err).__name__
    assert str(g_err).replace("graphtorch.", "torch.") == str(t_err)


def test_failed_pruning_leaves_parameter_in_place():
    m = _lenet(gt)
    with pytest.raises(ValueError):
        gt.nn.utils.prune.l1_unstructured(m.fc3, "bias", amount=11)
    assert "bias" in m.fc3._parameters and "bias_orig" not in m.fc3._parameters


def _step(model, opt, x):
    opt.zero_grad()
    loss = (model(x) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def _pruned_mlp():
    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Linear(5, 4), gt.nn.ReLU(), gt.nn.Linear(4, 2))
    gt.nn.utils.prune.l1_unstructured(model[0], "weight", amount=0.5)
    gt.nn.utils.prune.random_structured(model[2], "weight", amount=1, dim=1)
    return model, gt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def test_compiled_training_step_matches_eager():
    """The pruning hooks assign `weight` on the module, a state change a graph cannot
    replay: the step runs eagerly with that reason recorded, and equals eager."""
    (eager, eager_opt), (compiled, compiled_opt) = _pruned_mlp(), _pruned_mlp()
    x = gt.randn(3, 5)
    step = gt.compile(_step)
    for i in range(4):
        close(step(compiled, compiled_opt, x), _step(eager, eager_opt, x).detach(),
              1e-6, 1e-7, f"loss at step {i}")
    for (name, g), (_, e) in zip(compiled.named_parameters(), eager.named_parameters()):
        close(g, e.detach(), 1e-6, 1e-7, name)
    assert any("changes the state of module Linear" in r for r in step.stats.graph_breaks)


def test_module_attribute_readable_after_compiled_step():
    """The refused trace's hook assigned a traced tensor to `weight`: undone, so the module
    reads as eager left it."""
    model, opt = _pruned_mlp()
    step, x = gt.compile(_step), gt.randn(3, 5)
    for _ in range(2):  # the first SGD-momentum step runs eagerly without a trace
        step(model, opt, x)
    npy(model[0].weight)


def test_pruned_model_compiled_keeps_its_hooks_iterable():
    # the graph break's restore of the module state put the hook OrderedDict back with
    # dict's own operations, corrupting it: the next eager call raised KeyError
    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Linear(4, 3), gt.nn.ReLU(), gt.nn.Linear(3, 2))
    gt.nn.utils.prune.l1_unstructured(model[0], name="weight", amount=0.5)
    gt.nn.utils.prune.l1_unstructured(model[0], name="bias", amount=1)
    gt.nn.utils.prune.remove(model[0], "weight")  # a deleted hook: the dict's order moved
    compiled = gt.compile(model)
    x = gt.randn(2, 4)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                                   rtol=1e-6)
    assert len(list(model[0]._forward_pre_hooks.items())) == 1
