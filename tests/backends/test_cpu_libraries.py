"""`gt.backends.mkl/openmp/mkldnn.is_available()` answer with bools (oneDNN: never), so
PyTorch code printing its build configuration runs."""

from __future__ import annotations

import graphtorch as gt
from graphtorch import blas


def test_build_queries_answer():
    assert gt.backends.mkl.is_available() in (True, False)
    if blas.backend() == "mkl":
        assert gt.backends.mkl.is_available()
    assert gt.backends.openmp.is_available() in (True, False)
    assert gt.backends.mkldnn.is_available() is False
