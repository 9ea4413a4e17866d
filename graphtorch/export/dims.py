"""`Dim`: a named dynamic dimension of `export`'s ``dynamic_shapes``, with its range."""

from __future__ import annotations

_INT_MAX = 2 ** 63 - 1


class _Marker:
    """`Dim.AUTO`, `Dim.DYNAMIC` (dynamic, range inferred) and `Dim.STATIC`."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"Dim.{self.name}"

    def __reduce__(self):  # unpickles to the same marker
        return (getattr, (Dim, self.name))


class Dim:
    """A dynamic dimension: ``Dim("batch", min=1, max=1024)``; the inputs' sizes there may
    change between calls within [min, max]."""

    AUTO = _Marker("AUTO")
    DYNAMIC = _Marker("DYNAMIC")
    STATIC = _Marker("STATIC")

    def __init__(self, name: str, *, min: int | None = None, max: int | None = None):  # noqa: A002
        lo = 0 if min is None else int(min)
        hi = _INT_MAX if max is None else int(max)
        if hi < lo:
            raise ValueError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__ = name
        self.min, self.max = lo, hi

    def __repr__(self):
        if self.min == 0 and self.max == _INT_MAX:
            return f"Dim('{self.__name__}')"
        return f"Dim('{self.__name__}', min={self.min}, max={self.max})"


def dims(*names: str, min: int | None = None, max: int | None = None) -> tuple:  # noqa: A002
    """One `Dim` per name, sharing the range."""
    return tuple(Dim(n, min=min, max=max) for n in names)
