"""Whole training steps with every optimizer in `gt.optim`, the model and optimizer reached
as globals, as arguments, through a helper function, as closures or through ``self``;
with lr schedulers (OneCycleLR and CyclicLR cycling momentum or betas), manual changes of
lr, momentum, betas and weight decay between calls, parameter groups, gradient clipping and
accumulation; several steps (enough for RAdam's and ASGD's step-dependent branches).
Parameters, gradients, optimizer and scheduler state and losses are compared after every
step, and ``gt.save(opt.state_dict())`` must work afterwards (the runner saves)."""

from __future__ import annotations

import inspect

import graphtorch as gt

from ..choice import Chooser
from ..scenario import Scenario
from .common import indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# Hyper-parameter sets per optimizer class; a class in gt.optim without an entry fails
# `test_every_optimizer_is_generated`.
OPTIMIZERS = {
    "SGD": ["lr=0.1", "lr=0.1, momentum=0.9", "lr=0.05, momentum=0.9, nesterov=True",
            "lr=0.1, weight_decay=0.01", "lr=0.1, momentum=0.9, dampening=0.1",
            "lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1", "lr=0.1, maximize=True"],
    "Adam": ["lr=0.01", "lr=0.01, amsgrad=True", "lr=0.01, weight_decay=0.1",
             "lr=0.05, betas=(0.8, 0.9)", "lr=0.01, amsgrad=True, weight_decay=0.01, eps=1e-6",
             "lr=0.01, maximize=True"],
    "AdamW": ["lr=0.01", "lr=0.01, amsgrad=True", "lr=0.01, weight_decay=0.1",
              "lr=0.02, betas=(0.5, 0.9)"],
    "RMSprop": ["lr=0.01", "lr=0.01, centered=True", "lr=0.01, momentum=0.9",
                "lr=0.01, centered=True, momentum=0.5, weight_decay=0.01", "lr=0.01, alpha=0.9"],
    "Adagrad": ["lr=0.1", "lr=0.1, lr_decay=0.01",
                "lr=0.1, weight_decay=0.1, initial_accumulator_value=0.1"],
    "Adadelta": ["lr=1.0", "lr=1.0, rho=0.5", "lr=0.5, weight_decay=0.1"],
    "Adamax": ["lr=0.02", "lr=0.02, weight_decay=0.1", "lr=0.02, betas=(0.8, 0.9)",
               "lr=0.02, maximize=True"],
    "NAdam": ["lr=0.01", "lr=0.01, momentum_decay=0.002", "lr=0.01, decoupled_weight_decay=True, "
              "weight_decay=0.1", "lr=0.01, betas=(0.8, 0.99), weight_decay=0.1"],
    "RAdam": ["lr=0.01", "lr=0.01, weight_decay=0.1", "lr=0.01, decoupled_weight_decay=True, "
              "weight_decay=0.1", "lr=0.05, betas=(0.9, 0.9), maximize=True"],
    "ASGD": ["lr=0.05", "lr=0.05, t0=1, lambd=0.01", "lr=0.05, weight_decay=0.1",
             "lr=0.05, t0=2, alpha=0.5, weight_decay=0.01"],
    "Rprop": ["lr=0.01", "lr=0.01, etas=(0.4, 1.3)", "lr=0.01, step_sizes=(1e-4, 1.0)"],
    # step(closure): evaluates the loss several times per step (see `_step_body`)
    "LBFGS": ["lr=1.0", "lr=0.5, history_size=3, max_iter=4",
              "lr=1.0, max_iter=3"],  # strong_wolfe: tests/optim compare it with torch
    "Adafactor": ["lr=0.01", "lr=0.05, weight_decay=0.1", "lr=0.1, beta2_decay=-0.5, d=1.5",
                  "lr=0.02, eps=(1e-4, 1e-3), maximize=True"],
}
# Not generated, with the reason: Muon takes 2-D parameters only (the models have biases),
# and its bfloat16 Newton-Schulz iteration is a graph break (tests/optim/test_adafactor_muon.py
# compares its compiled step with eager). SparseAdam takes sparse gradients only
# (nn.Embedding(sparse=True)); the dense models here would raise in eager.
NOT_GENERATED = ("Muon", "SparseAdam")


# Optimizers whose step changes branch with the step count (RAdam's rectification once
# rho_t > 5, from step 6 on; ASGD's averaging once step > t0): scenarios with them run
# enough calls that the graph traced at the second call serves steps on both sides.
STEP_DEPENDENT = ("RAdam", "ASGD")
MIN_STEP_DEPENDENT_CALLS = 8
# Hyper-parameters compiled steps read as graph inputs, per optimizer (the "manual"
# schedule changes them between calls; crossing zero must recompile)
MOMENTUM = ("SGD", "RMSprop")
BETAS = ("Adam", "AdamW", "NAdam", "RAdam", "Adamax")
NO_WEIGHT_DECAY = ("LBFGS", "Rprop")


def optimizer_classes() -> list[str]:
    """Every optimizer class `gt.optim` exports (but those NOT_GENERATED)."""
    return sorted(name for name, obj in vars(gt.optim).items()
                  if inspect.isclass(obj) and issubclass(obj, gt.optim.Optimizer)
                  and obj is not gt.optim.Optimizer and name not in NOT_GENERATED)


SCHEDULERS = {
    "none": "",
    "StepLR": "StepLR(opt, step_size=1, gamma=0.5)",
    "MultiStepLR": "MultiStepLR(opt, milestones=[1, 3], gamma=0.3)",
    "ExponentialLR": "ExponentialLR(opt, gamma=0.8)",
    "CosineAnnealingLR": "CosineAnnealingLR(opt, T_max=4)",
    "LambdaLR": "LambdaLR(opt, lambda e: 0.9 ** e)",
    "ReduceLROnPlateau": "ReduceLROnPlateau(opt, patience=0, factor=0.5)",
    "LinearLR": "LinearLR(opt, start_factor=0.5, total_iters=3)",
    "OneCycleLR": "OneCycleLR(opt, max_lr=0.1, total_steps=10)",
    "CyclicLR": "CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, "
                "cycle_momentum=False)",
    "manual": "",
    "load_state_dict": "",
}

MODELS = {
    "mlp": "nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))",
    "relu": "nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))",
    "dropout": "nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))",
    # no bias before BatchNorm (as usual): its gradient is zero up to rounding, which
    # Adam-like optimizers would scale to full steps, so any summation order diverges
    "batchnorm": "nn.Sequential(nn.Linear(4, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), "
                 "nn.Linear(8, 3))",
    "layernorm": "nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3))",
}

LOSSES = {  # loss expression on (out, y) and the target tensor's source
    "mse": ("nn.functional.mse_loss(out, y)", "gt.randn(6, 3)"),
    "cross_entropy": ("nn.functional.cross_entropy(out, y)", "gt.randint(0, 3, (6,))"),
    "l1": ("(out - y).abs().mean()", "gt.randn(6, 3)"),
    "bce": ("nn.functional.binary_cross_entropy_with_logits(out, y)",
            "gt.randint(0, 2, (6, 3)).float()"),
}

ZERO_GRAD = ["{o}.zero_grad()", "{o}.zero_grad(set_to_none=False)", "{m}.zero_grad()",
             "for p in {m}.parameters():\n    p.grad = None"]
RETURNS = ["loss", "loss.detach()", "loss.item()", "(loss, out)",
           "{'loss': loss.detach(), 'out': out.detach()}", "None"]


def _closure_step(ch: Chooser, m: str, o: str, loss: str) -> list[str]:
    """LBFGS: the loss is a closure the optimizer calls as often as it needs."""
    zero = ch.choice(ZERO_GRAD).format(m=m, o=o).split("\n")
    lines = ["def closure():"] + ["    " + z for z in zero] + [
        f"    out = {m}(x)", f"    loss = {loss}", "    loss.backward()", "    return loss",
        f"loss = {o}.step(closure)", f"out = {m}(x)"]
    lines.append(f"return {ch.choice(RETURNS)}")
    return lines


def _step_body(ch: Chooser, m: str, o: str, loss: str) -> list[str]:
    if ch.closure_step:
        return _closure_step(ch, m, o, loss)
    lines = ch.choice(ZERO_GRAD).format(m=m, o=o).split("\n")
    lines += [f"out = {m}(x)", f"loss = {loss}"]
    if ch.integer(0, 4) == 0:   # gradient accumulation over two halves
        lines[-2:] = [f"out = {m}(x)", f"loss = {loss}", "(loss * 0.5).backward()",
                      f"out2 = {m}(x[:3])", "(out2.pow(2).mean() * 0.5).backward()"]
    else:
        lines.append("loss.backward()")
    if ch.integer(0, 3) == 0:
        lines.append(f"gt.nn.utils.clip_grad_norm_({m}.parameters(), "
                     f"{ch.choice(['0.5', '1.0', '10.0'])})")
    lines.append(f"{o}.step()")
    lines.append(f"return {ch.choice(RETURNS)}")
    return lines


def _reach(ch: Chooser, loss: str) -> tuple[str, str]:
    """(definition of target, make_args source) for one way of reaching model and opt."""
    style = ch.choice(["global", "arguments", "helper", "helper_arguments", "closure",
                       "method"])
    if style == "global":
        return "def target(x, y):\n" + indent(_step_body(ch, "model", "opt", loss)), "(X, Y)"
    if style == "arguments":
        return ("def target(m, o, x, y):\n" + indent(_step_body(ch, "m", "o", loss)),
                "(model, opt, X, Y)")
    if style == "helper":
        return ("def train_step(x, y):\n" + indent(_step_body(ch, "model", "opt", loss)) +
                "\ndef target(x, y):\n    return train_step(x, y)", "(X, Y)")
    if style == "helper_arguments":
        return ("def train_step(m, o, x, y):\n" + indent(_step_body(ch, "m", "o", loss)) +
                "\ndef target(x, y):\n    return train_step(model, opt, x, y)", "(X, Y)")
    if style == "closure":
        return ("def make_step(m, o):\n    def step(x, y):\n" +
                indent(_step_body(ch, "m", "o", loss), 8) +
                "\n    return step\ntarget = make_step(model, opt)", "(X, Y)")
    return ("class Trainer:\n    def __init__(self, m, o):\n        self.m, self.o = m, o\n"
            "    def step(self, x, y):\n" +
            indent(_step_body(ch, "self.m", "self.o", loss), 8) +
            "\ntarget = Trainer(model, opt).step", "(X, Y)")


def _optimizer(ch: Chooser, groups: bool) -> str:
    name = ch.choice(optimizer_classes())
    hyper = ch.choice(OPTIMIZERS[name])
    groups = groups and name != "LBFGS"  # LBFGS takes one parameter group only
    params = "model.parameters()" if not groups else \
        "[{'params': model[0].parameters()}, {'params': model[-1].parameters(), 'lr': 0.03}]"
    return f"opt = gt.optim.{name}({params}, {hyper})"


def _scheduler(ch: Chooser, optimizer: str, calls: int) -> tuple[str, dict]:
    """(construction source, between-call statements)."""
    name = ch.choice(list(SCHEDULERS))
    changes: dict[int, list[str]] = {}
    if name == "manual":
        for c in range(calls - 1):
            if ch.boolean():
                changes[c] = [_manual_change(ch, optimizer)]
        return "", changes
    if name == "load_state_dict":
        for c in range(calls - 1):
            changes[c] = [ch.choice(["opt.load_state_dict(opt.state_dict())",
                                     "opt.load_state_dict(SAVED)",
                                     "opt.param_groups[0]['lr'] *= 0.5"])]
        return "SAVED = opt.state_dict()", changes
    if name == "none":
        return "", changes
    step = "SCHED.step(1.0)" if name == "ReduceLROnPlateau" else "SCHED.step()"
    for c in range(calls - 1):
        changes[c] = [step]
    construct = SCHEDULERS[name]
    cycles = _optimizer_name(optimizer) in MOMENTUM + BETAS
    if name == "OneCycleLR" and not cycles:
        construct = construct[:-1] + ", cycle_momentum=False)"  # no momentum to cycle
    if name == "CyclicLR" and cycles and ch.boolean():  # momentum or betas[0] every call
        construct = construct.replace("cycle_momentum=False", "cycle_momentum=True")
    return f"SCHED = gt.optim.lr_scheduler.{construct}", changes


def _optimizer_name(optimizer: str) -> str:
    return optimizer.split("gt.optim.")[1].split("(")[0]


def _manual_change(ch: Chooser, optimizer: str) -> str:
    """A change of lr, or of momentum, betas or weight_decay where the optimizer has them
    (to zero at times: a change of the graph's structure)."""
    name = _optimizer_name(optimizer)
    # RMSprop keeps a momentum buffer only if it had momentum at its first step
    has_momentum = name == "SGD" or (name == "RMSprop" and "momentum=" in optimizer)
    keys = ["lr"] + (["momentum"] if has_momentum else []) + \
        (["betas"] if name in BETAS else []) + \
        (["weight_decay"] if name not in NO_WEIGHT_DECAY else [])
    key = ch.choice(keys)
    if key == "lr":
        value = ch.real(0.001, 0.2)
    elif key == "momentum":  # RMSprop's buffer exists only while momentum > 0
        value = ch.choice(["0.5", "0.9"] if name == "RMSprop" or "nesterov" in optimizer
                          else ["0.0", "0.5", "0.9"])
    elif key == "betas":
        value = f"({ch.choice(['0.0', '0.5', '0.8', '0.95'])}, {ch.choice(['0.9', '0.999'])})"
    else:
        value = ch.choice(["0.0", "0.01", "0.1"])
    return f"opt.param_groups[0]['{key}'] = {value}"


def _between(changes: dict) -> str:
    if not changes:
        return ""
    lines = []
    for call, stmts in sorted(changes.items()):
        lines.append(f"if call == {call}:")
        lines.extend("    " + line for s in stmts for line in s.split("\n"))
    return "def between(call):\n" + indent(lines)


@kind
def train_step(ch: Chooser) -> Scenario:
    """A compiled training step (zero_grad, forward, loss, backward, [clip], step) with a
    random optimizer, scheduler, model, loss and way of reaching model and optimizer."""
    calls = ch.integer(3, 6)
    model_name = ch.choice(list(MODELS))
    loss, target_src = LOSSES[ch.choice(list(LOSSES))]
    optimizer = _optimizer(ch, groups=ch.integer(0, 4) == 0)
    if _optimizer_name(optimizer) in STEP_DEPENDENT:
        calls = max(calls, MIN_STEP_DEPENDENT_CALLS)
    sched, changes = _scheduler(ch, optimizer, calls)
    ch.closure_step = "LBFGS(" in optimizer
    definition, args = _reach(ch, loss)
    data = ch.choice(["fixed", "fresh"])
    make_args = f"def make_args(call):\n    return {args}" if data == "fixed" else \
        f"def make_args(call):\n    global X, Y\n    X, Y = gt.randn(6, 4), {target_src}\n" \
        f"    return {args}"
    observe = "def observe():\n    return {'model': model, 'opt': opt" + \
        (", 'sched': SCHED}" if sched.startswith("SCHED") else "}")
    return Scenario("", "", source(
        f"model = {MODELS[model_name]}", optimizer, sched,
        f"X, Y = gt.randn(6, 4), {target_src}",
        definition, make_args, _between(changes), observe), calls=calls)


@kind
def compiled_forward(ch: Chooser) -> Scenario:
    """The module compiled, the loss, backward and optimizer step eager (after the call)."""
    calls = ch.integer(3, 5)
    model_name = ch.choice(list(MODELS))
    loss, target_src = LOSSES[ch.choice(list(LOSSES))]
    optimizer = _optimizer(ch, groups=False)
    sched, changes = _scheduler(ch, optimizer, calls)
    return Scenario("", "", source(
        f"model = {MODELS[model_name]}", optimizer, sched,
        f"X, Y = gt.randn(6, 4), {target_src}",
        "target = model",
        "def make_args(call):\n    return (X,)",
        (f"def after(call, out):\n    y = Y\n    opt.zero_grad()\n    loss = {loss}\n"
         "    loss.backward()\n    opt.step()\n    LOSSES.append(loss.item())")
        if "LBFGS(" not in optimizer else
        (f"def after(call, out):\n    y = Y\n    def closure():\n        opt.zero_grad()\n"
         f"        loss = {loss.replace('out', 'model(X)')}\n        loss.backward()\n"
         "        return loss\n    LOSSES.append(opt.step(closure).item())"),
        "LOSSES = []", _between(changes),
        "def observe():\n    return {'model': model, 'opt': opt, 'losses': list(LOSSES)}"),
        calls=calls)
