"""gt.utils.data DataPipes against torch.utils.data's: the functional registry, the common
forms (map, filter, batch, shuffle), the decorators and their errors."""

from __future__ import annotations

import importlib

import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _iter_mod(lib):
    return importlib.import_module(f"{lib.__name__}.utils.data.datapipes.iter")


def _map_mod(lib):
    return importlib.import_module(f"{lib.__name__}.utils.data.datapipes.map")


def test_functional_chain_and_seeded_shuffle_as_torch():
    def chain(lib):
        lib.manual_seed(3)
        dp = _iter_mod(lib).IterableWrapper(range(20)).shuffle(buffer_size=5)
        dp = dp.map(lambda x: x * 2).filter(lambda x: x % 3 == 0).batch(3, drop_last=True)
        return [list(b) for b in dp], [type(b).__name__ for b in dp], repr(dp), str(dp)
    same(chain)
    same(lambda lib: (len(_iter_mod(lib).IterableWrapper(range(7)).map(str).batch(3)),
                      len(_iter_mod(lib).IterableWrapper(range(7)).batch(3, drop_last=True))))
    same(lambda lib: list(_iter_mod(lib).IterableWrapper(range(6)).shuffle().set_shuffle(False)))
    same(lambda lib: list(_iter_mod(lib).IterableWrapper(range(9)).shuffle().set_seed(5)))


def test_map_datapipes_as_torch():
    def mapped(lib):
        dp = _map_mod(lib).SequenceWrapper(list(range(7))).map(lambda x: x + 1).batch(3)
        return len(dp), [list(dp[i]) for i in range(len(dp))]
    same(mapped)


def test_custom_registration_and_data_loader():
    for lib in (torch, gt):
        data = lib.utils.data
        name = f"double_{lib.__name__}"

        @data.functional_datapipe(name)
        class Doubler(data.IterDataPipe):
            def __init__(self, dp):
                self.dp = dp

            def __iter__(self):
                return (2 * x for x in self.dp)

        class Source(data.IterDataPipe):
            def __iter__(self):
                yield from range(4)

        assert list(getattr(Source(), name)()) == [0, 2, 4, 6]
        with pytest.raises(Exception, match=f"function name {name} as it is already taken"):
            data.functional_datapipe(name)(Doubler)
        with pytest.raises(AttributeError, match="'Source' object has no attribute 'nope"):
            Source().nope  # noqa: B018
        assert data.functional_datapipe("not_a_pipe")(int) is int
        if lib is gt:  # torch's DataLoader pickles the pipe, which local classes refuse
            loader = data.DataLoader(getattr(Source(), name)(), batch_size=2)
            assert [b.tolist() for b in loader] == [[0, 2], [4, 6]]


def test_data_chunk_as_torch():
    same(lambda lib: (lib.utils.data.DataChunk([1, 2]).as_str("  "),
                      list(lib.utils.data.DataChunk((3, 4)).raw_iterator()),
                      isinstance(lib.utils.data.DataChunk([]), list)))
    for lib in (torch, gt):
        assert lib.utils.data.DFIterDataPipe()._is_dfpipe()


def test_determinism_switches_as_torch():
    for lib in (torch, gt):
        data = lib.utils.data

        @data.non_deterministic
        class Random(data.IterDataPipe):
            def __iter__(self):
                yield 1

        class Maybe(data.IterDataPipe):
            def __init__(self, flag):
                self.flag = flag

        maybe = data.non_deterministic(lambda flag: flag)(Maybe)
        assert list(Random()) == [1] and maybe(True).flag
        with data.guaranteed_datapipes_determinism():
            with pytest.raises(TypeError, match="Random is non-deterministic, but you set"):
                Random()
            with pytest.raises(TypeError, match="Maybe is non-deterministic with the inputs"):
                maybe(True)
            assert maybe(False).flag is False
        assert list(Random()) == [1]
        with pytest.raises(TypeError, match="Only `IterDataPipe` can be decorated with"):
            data.non_deterministic(int)


def test_validation_decorators():
    """PyTorch 2.13's DataPipe typing is switched off, so its runtime_validation fails on
    the missing `.type` unless disabled; graphtorch checks items against T instead."""
    for lib in (torch, gt):
        data = lib.utils.data

        class Ints(data.IterDataPipe[int]):
            def __init__(self, items):
                self.items = items

            @data.runtime_validation
            def __iter__(self):
                yield from self.items

        with data.runtime_validation_disabled():
            assert list(Ints([1, "2"])) == [1, "2"]
        with pytest.raises(TypeError, match="Can not decorate function f with"):
            data.runtime_validation(_named("f"))

        def consume(dp):
            return list(dp)
        consume.__annotations__ = {"dp": data.IterDataPipe}
        consume = data.argument_validation(consume)

        with pytest.raises(TypeError, match="Expected argument 'dp' as a IterDataPipe, but"):
            consume([3])
    assert list(Ints([1, 2])) == [1, 2] and consume(Ints([3])) == [3]
    with pytest.raises(RuntimeError, match="Expected an instance as subtype of int"):
        list(Ints([1, "2"]))


def _named(name):
    def f(self):
        yield from ()
    f.__name__ = name
    return f
