"""Memory layouts, as `torch.layout`: every graphtorch tensor is dense and strided.

`t.layout` is always `gt.strided`; the sparse layouts exist so that PyTorch code comparing
against them (``x.layout == torch.sparse_coo``) runs. Each layout is one object, kept so
by pickling.
"""

from __future__ import annotations


class layout:  # noqa: N801  (PyTorch's name)
    """A memory layout, printed as PyTorch prints it.

    >>> gt.ones(2).layout
    torch.strided
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_layout_by_name, (self.name,))


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
_BY_NAME = {x.name: x for x in (strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr,
                                sparse_bsc, jagged)}


def _layout_by_name(name: str) -> layout:
    return _BY_NAME[name]
