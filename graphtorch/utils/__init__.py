"""`gt.utils`: data loading utilities."""

from . import data  # noqa: F401
