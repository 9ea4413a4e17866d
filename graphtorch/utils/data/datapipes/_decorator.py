"""DataPipe decorators: `functional_datapipe` registers a class as a functional form;
the determinism switches behave as PyTorch's. PyTorch 2.13 switched its DataPipe typing off
(its `runtime_validation` then fails on the missing `.type`); graphtorch checks what a plain
class allows: items against T of `IterDataPipe[T]`, arguments hinted as IterDataPipe."""

from __future__ import annotations

import inspect
import typing
from functools import wraps

from .datapipe import IterDataPipe, MapDataPipe

__all__ = ["argument_validation", "functional_datapipe", "guaranteed_datapipes_determinism",
           "non_deterministic", "runtime_validation", "runtime_validation_disabled"]

_determinism = False
_runtime_validation_enabled = True


class functional_datapipe:  # noqa: N801  (PyTorch's name)
    """`@functional_datapipe("name")` on a DataPipe class makes `dp.name(...)` build it.

    >>> @functional_datapipe("double")
    ... class Doubler(IterDataPipe):
    ...     def __init__(self, dp): self.dp = dp
    ...     def __iter__(self): return (2 * x for x in self.dp)
    """

    def __init__(self, name: str, enable_df_api_tracing=False) -> None:
        self.name = name
        self.enable_df_api_tracing = enable_df_api_tracing

    def __call__(self, cls):
        wrapped = isinstance(cls, non_deterministic) or (
            hasattr(cls, "__self__") and isinstance(cls.__self__, non_deterministic))
        if wrapped or (isinstance(cls, type) and issubclass(cls, IterDataPipe)):
            IterDataPipe.register_datapipe_as_function(self.name, cls)
        elif issubclass(cls, MapDataPipe):
            MapDataPipe.register_datapipe_as_function(self.name, cls)
        return cls  # other classes pass through unregistered, as in PyTorch


class guaranteed_datapipes_determinism:  # noqa: N801
    """While alive (or inside `with`), non-deterministic DataPipes refuse to be built."""

    def __init__(self) -> None:
        global _determinism
        self.prev = _determinism
        _determinism = True

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info) -> None:
        global _determinism
        _determinism = self.prev


class non_deterministic:  # noqa: N801
    """Mark an IterDataPipe class (or, given a predicate, some of its instances) as
    non-deterministic, so `guaranteed_datapipes_determinism` refuses it."""

    cls = None

    def __init__(self, arg) -> None:
        if isinstance(arg, type):
            if not issubclass(arg, IterDataPipe):
                raise TypeError("Only `IterDataPipe` can be decorated with `non_deterministic`"
                                f", but {arg.__name__} is found")
            self.cls = arg
        elif callable(arg):
            self.deterministic_fn = arg
        else:
            raise TypeError(f"{arg} can not be decorated by non_deterministic")

    def __call__(self, *args, **kwargs):
        if self.cls is not None:
            if _determinism:
                raise TypeError(
                    f"{self.cls.__name__} is non-deterministic, but you set "
                    "'guaranteed_datapipes_determinism'. You can turn off determinism for this "
                    "DataPipe if that is acceptable for your application")
            return self.cls(*args, **kwargs)
        if not (isinstance(args[0], type) and issubclass(args[0], IterDataPipe)):
            raise TypeError(f"Only `IterDataPipe` can be decorated, but {args[0].__name__} is "
                            "found")
        self.cls = args[0]
        return self.deterministic_wrapper_fn

    def deterministic_wrapper_fn(self, *args, **kwargs):
        res = self.deterministic_fn(*args, **kwargs)
        if not isinstance(res, bool):
            raise TypeError("deterministic_fn of `non_deterministic` decorator is required to "
                            f"return a boolean value, but {type(res)} is found")
        if _determinism and res:
            raise TypeError(
                f"{self.cls.__name__} is non-deterministic with the inputs, but you set "
                "'guaranteed_datapipes_determinism'. You can turn off determinism for this "
                "DataPipe if that is acceptable for your application")
        return self.cls(*args, **kwargs)


class runtime_validation_disabled:  # noqa: N801
    """While alive (or inside `with`), `runtime_validation` lets every item through."""

    def __init__(self) -> None:
        global _runtime_validation_enabled
        self.prev = _runtime_validation_enabled
        _runtime_validation_enabled = False

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info) -> None:
        global _runtime_validation_enabled
        _runtime_validation_enabled = self.prev


def _item_type(datapipe):
    """The class T of `class P(IterDataPipe[T])` when T is a plain class, else None."""
    for klass in type(datapipe).__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) in (IterDataPipe, MapDataPipe):
                (arg,) = typing.get_args(base)
                return arg if isinstance(arg, type) else None
    return None


def runtime_validation(f):
    """Decorate a DataPipe's `__iter__`: each item must be an instance of the class's
    declared item type (`IterDataPipe[int]`); types other than plain classes pass."""
    if f.__name__ != "__iter__":
        raise TypeError(f"Can not decorate function {f.__name__} with 'runtime_validation'")

    @wraps(f)
    def wrapper(self):
        expected = _item_type(self) if _runtime_validation_enabled else None
        for item in f(self):
            if expected is not None and not isinstance(item, expected):
                raise RuntimeError(f"Expected an instance as subtype of {expected.__name__}, "
                                   f"but found {item}({type(item)})")
            yield item

    return wrapper


def _is_datapipe_hint(hint) -> bool:
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, IterDataPipe)


def argument_validation(f):
    """Check at each call that arguments annotated as IterDataPipe are IterDataPipes."""
    signature = inspect.signature(f)
    hints = typing.get_type_hints(f)

    @wraps(f)
    def wrapper(*args, **kwargs):
        for name, value in signature.bind(*args, **kwargs).arguments.items():
            if name in hints and _is_datapipe_hint(hints[name]) and \
                    not isinstance(value, IterDataPipe):
                raise TypeError(f"Expected argument '{name}' as a IterDataPipe, but found "
                                f"{type(value)}")
        return f(*args, **kwargs)

    return wrapper
