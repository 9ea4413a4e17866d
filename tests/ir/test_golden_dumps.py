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
    traced = gt.trace(model, *inputs)
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
    eval_traced = gt.trace(model.eval(), gt.randn(5, 3))
    assert not any(eval_traced.training.values())
    model.train()
    with pytest.raises(gt.TracingError, match="random numbers"):
        gt.trace(model, gt.randn(5, 3))  # dropout in train mode would draw a mask
    bn_train = gt.trace(model.bn.train(), gt.randn(5, 4))
    bn_eval = gt.trace(model.bn.eval(), gt.randn(5, 4))
    assert str(bn_train.graph) != str(bn_eval.graph)
    assert bn_train.mutated and not bn_eval.mutated  # train mode updates running stats
    assert all(bn_train.training.values())
