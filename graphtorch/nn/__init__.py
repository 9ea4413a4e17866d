"""`gt.nn`: neural-network building blocks (functional API for now; modules come next)."""

from . import functional  # noqa: F401
