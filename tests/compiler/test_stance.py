"""`gt.compiler.set_stance` and the other `torch.compiler` names: the set_stance recipe's
calls (function, context manager, decorator) behave as PyTorch's."""

from __future__ import annotations

import pytest

import graphtorch as gt


@pytest.fixture(autouse=True)
def _default_stance():
    yield
    gt.compiler.set_stance("default")


def _foo():
    @gt.compile
    def foo(x):
        if gt.compiler.is_compiling():
            return x + 1
        return x - 1
    return foo


def test_force_eager_as_call_context_manager_and_decorator():
    foo, x = _foo(), gt.zeros(3)
    assert foo(x).tolist() == [1.0] * 3  # compiled

    @gt.compiler.set_stance("force_eager")
    def bar(x):
        return foo(x)
    assert bar(x).tolist() == [-1.0] * 3
    assert foo(x).tolist() == [1.0] * 3  # the decorator held only during bar's call
    with gt.compiler.set_stance("force_eager"):
        assert foo(x).tolist() == [-1.0] * 3
    assert foo(x).tolist() == [1.0] * 3
    gt.compiler.set_stance("force_eager")
    assert foo(x).tolist() == [-1.0] * 3
    gt.compiler.set_stance("default")
    assert foo(x).tolist() == [1.0] * 3


def test_eager_on_recompile_uses_cached_variants_only():
    foo = _foo()
    assert foo(gt.zeros(3)).tolist() == [1.0] * 3
    with gt.compiler.set_stance("eager_on_recompile"):
        assert foo(gt.zeros(3)).tolist() == [1.0] * 3      # the cached variant fits
        assert foo(gt.zeros(4)).tolist() == [-1.0] * 4     # would recompile: eager
    assert foo.compile_count == 1
    assert foo(gt.zeros(4)).tolist() == [1.0] * 4


def test_fail_on_recompile_raises_with_the_guard():
    foo = _foo()
    foo(gt.zeros(3))
    with gt.compiler.set_stance("fail_on_recompile"):
        foo(gt.zeros(3))
        with pytest.raises(RuntimeError, match="Detected recompile when torch.compile "
                                               "stance is 'fail_on_recompile'") as info:
            foo(gt.zeros(4))
    assert "function name: 'foo'" in str(info.value)
    assert "guard failure" in str(info.value)


def test_eager_then_compile_runs_the_first_call_eagerly():
    with gt.compiler.set_stance("eager_then_compile"):
        foo = _foo()
        assert foo(gt.zeros(2)).tolist() == [-1.0] * 2
        assert foo(gt.zeros(2)).tolist() == [1.0] * 2


def test_set_stance_errors():
    with pytest.raises(RuntimeError, match="invalid torch.compile stance 'fast'"):
        gt.compiler.set_stance("fast")
    with pytest.raises(RuntimeError, match="non-default stance cannot have force_backend"):
        gt.compiler.set_stance("force_eager", force_backend="eager")

    @gt.compile(fullgraph=True)
    def inside(x):
        gt.compiler.set_stance("force_eager")
        return x
    with pytest.raises(RuntimeError, match="attempted to set_stance in a torch.compile"):
        inside(gt.zeros(1))
    assert gt.compiler.set_stance.__name__ == "set_stance"


def test_compiled_module_follows_the_stance():
    model = gt.nn.Linear(3, 2)
    compiled = gt.compile(model)
    x = gt.randn(4, 3)
    compiled(x)
    with gt.compiler.set_stance("fail_on_recompile"):
        assert gt.allclose(compiled(x), model(x))
        with pytest.raises(RuntimeError, match="fail_on_recompile"):
            compiled(gt.randn(5, 3, 3))


def test_other_compiler_names():
    assert gt.compiler.is_dynamo_compiling() is False
    fn = lambda x: x  # noqa: E731
    assert gt.compiler.allow_in_graph(fn) is fn
    assert gt.compiler.assume_constant_result(fn) is fn
    assert gt.compiler.cudagraph_mark_step_begin() is None
    assert "inductor" in gt.compiler.list_backends()
    assert "eager" not in gt.compiler.list_backends()
    assert "eager" in gt.compiler.list_backends(exclude_tags=())
    assert gt._dynamo.list_backends() == gt.compiler.list_backends()
    for name in gt.compiler.list_backends(exclude_tags=()):
        assert gt.compile(lambda x: x * 2, backend=name)(gt.ones(2)).tolist() == [2.0, 2.0] \
            or name == "cupy"
