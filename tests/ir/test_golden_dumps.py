"""Traced graphs of small models, compared with golden dumps (regenerate with
GRAPHTORCH_UPDATE_GOLDEN=1 python -m pytest tests/ir/test_golden_dumps.py)."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import graphtorch as gt

from . import models

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = models.cases()


@pytest.mark.parametrize("name,model,inputs", CASES, ids=[c[0] for c in CASES])
def test_dump_matches_golden_and_runs_like_eager(name, model, inputs):
    traced = gt.trace(model, *inputs, optimize=False)
    text = str(traced.graph) + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("GRAPHTORCH_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"dump of {name} changed; see {path}"
    assert gt.ir.graph.Graph.from_json(traced.graph.to_json()).__str__() + "\n" == text
    eager = model(*inputs) if not model.training else None
    if eager is not None:
        np.testing.assert_allclose(traced(*inputs).detach().numpy(),
                                   eager.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_training_mode_is_part_of_the_trace():
    model = models.Normed()
    eval_traced = gt.trace(model.eval(), gt.randn(5, 3), optimize=False)
    assert not any(eval_traced.training.values()) and not eval_traced.mutated
    train_traced = gt.trace(model.train(), gt.randn(5, 3), optimize=False)
    assert all(train_traced.training.values())
    text = str(train_traced.graph)
    assert "bernoulli_mask" in text and "bernoulli_mask" not in str(eval_traced.graph)
    assert {key for _, key in train_traced.mutated} == {"bn.running_mean", "bn.running_var",
                                                        "bn.num_batches_tracked"}


def test_traced_dropout_draws_like_eager_on_every_run():
    gt.manual_seed(0)
    traced_model, eager_model = models.Normed(), models.Normed()
    eager_model.load_state_dict(traced_model.state_dict())
    x = gt.randn(6, 3)
    traced = gt.trace(traced_model, x, optimize=False)
    outputs = []
    for seed in (1, 2):
        gt.manual_seed(seed)
        got = traced(x)
        gt.manual_seed(seed)
        np.testing.assert_allclose(got.detach().numpy(), eager_model(x).detach().numpy(),
                                   rtol=1e-6, atol=1e-6)
        outputs.append(got.detach().numpy())
    assert not np.array_equal(outputs[0], outputs[1])  # a fresh mask per run
