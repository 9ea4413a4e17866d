"""The DataPipe bases: an `IterDataPipe` is an IterableDataset, a `MapDataPipe` a Dataset,
and each class keeps a registry of functional forms (`dp.map(fn)` builds
`MapperIterDataPipe(dp, fn)`) filled by `functional_datapipe`, as in PyTorch."""

from __future__ import annotations

import functools
from typing import Generic, TypeVar

from ..dataset import Dataset, IterableDataset

__all__ = ["DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _Registry:
    """Attribute lookup of the registered functional forms (shared by both bases)."""

    def __getattr__(self, attribute_name):
        functions = type(self)._registry_owner().functions
        if attribute_name not in functions:
            raise AttributeError(
                f"'{self.__class__.__name__}' object has no attribute '{attribute_name}")
        function = functools.partial(functions[attribute_name], self)
        functools.update_wrapper(function, functions[attribute_name], assigned=("__doc__",))
        return function

    @classmethod
    def register_function(cls, function_name, function) -> None:
        cls._registry_owner().functions[function_name] = function

    @classmethod
    def register_datapipe_as_function(cls, function_name, cls_to_register,
                                      enable_df_api_tracing=False) -> None:
        functions = cls._registry_owner().functions
        if function_name in functions:
            raise Exception(  # noqa: TRY002  (PyTorch raises a bare Exception)
                f"Unable to add DataPipe function name {function_name} as it is already taken")

        def build(source_dp, *args, **kwargs):
            return cls_to_register(source_dp, *args, **kwargs)
        build.__doc__ = cls_to_register.__doc__
        functions[function_name] = build

    def __repr__(self) -> str:
        return type(self).__qualname__

    __str__ = __repr__


class IterDataPipe(_Registry, IterableDataset, Generic[T_co]):
    """An iterable-style DataPipe: subclass it and implement `__iter__`.

    >>> from graphtorch.utils.data.datapipes.iter import IterableWrapper
    >>> list(IterableWrapper(range(5)).map(lambda x: 2 * x).batch(2))
    [[0, 2], [4, 6], [8]]
    """

    functions: dict = {}

    @classmethod
    def _registry_owner(cls):
        return IterDataPipe

    def __iter__(self):
        return self


class DFIterDataPipe(IterDataPipe):
    """An IterDataPipe of DataFrames (PyTorch's marker class)."""

    def _is_dfpipe(self) -> bool:
        return True


class MapDataPipe(_Registry, Dataset, Generic[T_co]):
    """A map-style DataPipe: implement `__getitem__` and `__len__`."""

    functions: dict = {}

    @classmethod
    def _registry_owner(cls):
        return MapDataPipe


class DataChunk(list, Generic[T]):
    """A list of samples that one DataPipe step hands on (what `batch` yields)."""

    def __init__(self, items) -> None:
        items = list(items)
        super().__init__(items)
        self.items = items

    def as_str(self, indent: str = "") -> str:
        return indent + "[" + ", ".join(str(i) for i in iter(self)) + "]"

    def __iter__(self):
        yield from super().__iter__()

    def raw_iterator(self):
        yield from self.items
