"""SymInt: expressions, guards from decisions, specialisation, and safety outside traces."""

from __future__ import annotations

import pytest

from graphtorch.ir import symbolic


def test_arithmetic_builds_expressions_with_hints():
    env = symbolic.ShapeEnv()
    s0, s1 = env.symbol(6, 0, 0), env.symbol(4, 0, 1)
    e = (s0 * s1 + 2) // 2
    assert e.expr == "(((s0 * s1) + 2) // 2)" and e.hint == 13
    assert symbolic.evaluate((e, 3), {"s0": 10, "s1": 2}) == (11, 3)
    assert symbolic.source((e, 1)) == "((((s0 * s1) + 2) // 2), 1)"


def test_decisions_become_guards_and_int_specialises():
    env = symbolic.ShapeEnv()
    s0 = env.symbol(6, 0, 0)
    with symbolic.recording(env):
        assert s0 != 1 and s0 > 2
        assert int(s0 * 2) == 12
    assert [code for code, _ in env.guards] == ["s0 != 1", "s0 > 2", "(s0 * 2) == 12"]
    assert env.check({"s0": 6}) and not env.check({"s0": 7})
    assert "(s0 * 2) = 12" in env.specialized[0]
    assert env.failure({"s0": 1}).startswith("s0 != 1 is False")


def test_symbolic_sizes_never_act_as_numbers_outside_a_trace():
    s0 = symbolic.ShapeEnv().symbol(6, 0, 0)
    with pytest.raises(RuntimeError, match="outside of tracing"):
        int(s0)
    with pytest.raises(RuntimeError, match="outside of tracing"):
        bool(s0 < 3)
    assert (s0 == s0) and not (s0 == 6)  # structural equality only


def test_source_writes_dicts_and_names_other_objects():
    s0 = symbolic.ShapeEnv().symbol(6, 0, 0)
    chain = ((object, {"dim": 0, "stop": s0 + 1}),)  # a view_ops attribute
    assert symbolic.source(chain, other=lambda obj: "OP") == \
        "((OP, {'dim': 0, 'stop': (s0 + 1)}),)"
    with pytest.raises(TypeError, match="cannot write"):
        symbolic.source(chain)
