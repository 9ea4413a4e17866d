"""`gt.utils.data`: datasets, samplers and the DataLoader."""

from .dataloader import DataLoader, default_collate, default_convert
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                      Subset, TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from . import distributed  # gt.utils.data.distributed, as in PyTorch
from .distributed import DistributedSampler
from .worker import WorkerInfo, get_worker_info
from . import datapipes
from .datapipes import (DataChunk, DFIterDataPipe, IterDataPipe, MapDataPipe,
                        argument_validation, functional_datapipe,
                        guaranteed_datapipes_determinism, non_deterministic, runtime_validation,
                        runtime_validation_disabled)

__all__ = ["DataLoader", "default_collate", "default_convert", "Dataset", "IterableDataset",
           "TensorDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler", "StackDataset", "ChainDataset",
           "get_worker_info", "WorkerInfo", "DFIterDataPipe", "DataChunk", "IterDataPipe",
           "MapDataPipe", "argument_validation", "functional_datapipe",
           "guaranteed_datapipes_determinism", "non_deterministic", "runtime_validation",
           "runtime_validation_disabled"]
