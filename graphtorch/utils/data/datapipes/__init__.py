"""`gt.utils.data.datapipes`: PyTorch's DataPipes (`IterDataPipe`, `MapDataPipe`), their
`functional_datapipe` registry and the common functional forms (map, filter, batch,
shuffle), as `torch.utils.data.datapipes` defines them."""

from . import iter, map  # noqa: A004  (PyTorch's module names; registers the forms)
from ._decorator import (
                         argument_validation,
                         functional_datapipe,
                         guaranteed_datapipes_determinism,
                         non_deterministic,
                         runtime_validation,
                         runtime_validation_disabled,
)
from .datapipe import DataChunk, DFIterDataPipe, IterDataPipe, MapDataPipe

__all__ = ["DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe", "argument_validation",
           "functional_datapipe", "guaranteed_datapipes_determinism", "iter", "map",
           "non_deterministic", "runtime_validation", "runtime_validation_disabled"]
