"""`SummaryWriter`: PyTorch's torch.utils.tensorboard writer, writing TensorBoard event files
itself (records.py), so neither tensorboard nor protobuf is needed.

Scalars, several scalars (one sub-run per tag, as PyTorch), text and histograms are written;
every other SummaryWriter method raises NotImplementedError naming itself. Events are
appended to ``<log_dir>/events.out.tfevents.<time>.<host>.<pid>.<n><suffix>`` and reach the
disk at `flush()`, `close()`, after `max_queue` events or `flush_secs` seconds.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from datetime import datetime

import numpy as np

from ...tensor import Tensor
from . import records

__all__ = ["SummaryWriter"]

_FILE_IDS = itertools.count()  # tensorboard's global uid in event file names


def _numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _default_bins() -> list[float]:
    """PyTorch's "tensorflow" bins: +-1e-12 growing by 10% up to 1e20, and 0."""
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in reversed(buckets)] + [0] + buckets


def _histogram(values: np.ndarray, bins, max_bins=None) -> bytes:
    """PyTorch's make_histogram (tensorboard/summary.py) as a HistogramProto."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    num_bins = len(counts)
    if max_bins is not None and num_bins > max_bins:
        subsampling = num_bins // max_bins
        remainder = num_bins % subsampling
        if remainder != 0:
            counts = np.pad(counts, pad_width=[[0, subsampling - remainder]],
                            mode="constant", constant_values=0)
        counts = counts.reshape(-1, subsampling).sum(axis=-1)
        new_limits = np.empty((counts.size + 1,), limits.dtype)
        new_limits[:-1] = limits[:-1:subsampling]
        new_limits[-1] = limits[-1]
        limits = new_limits
    cum_counts = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum_counts, [0, cum_counts[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return records.histogram_proto(values.min(), values.max(), len(values), values.sum(),
                                   values.dot(values), limits.tolist(), counts.tolist())


def _scalar_value(tag, scalar_value, new_style=False, double_precision=False) -> bytes:
    array = _numpy(scalar_value)
    if array.squeeze().ndim != 0:
        raise AssertionError("scalar should be 0D")
    number = float(array)
    if not new_style:
        return records.value(tag, simple_value=number)
    tensor = (records.tensor_proto(records.DT_DOUBLE, (), doubles=[number]) if double_precision
              else records.tensor_proto(records.DT_FLOAT, (), floats=[number]))
    return records.value(tag, tensor=tensor, metadata=records.plugin_metadata("scalars"))


class _EventFile:
    """One event file: the file_version event first, then framed events."""

    def __init__(self, log_dir, max_queue, flush_secs, filename_suffix, purge_step=None):
        os.makedirs(log_dir, exist_ok=True)
        self.log_dir = log_dir
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_FILE_IDS)}")
        self.path = os.path.join(log_dir, name + filename_suffix)
        self._file = open(self.path, "wb")  # noqa: SIM115  (open across events, to close())
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._pending, self._last_flush = 0, time.time()
        self.write(records.event(time.time(), file_version="brain.Event:2"))
        if purge_step is not None:
            self.write(records.event(time.time(), purge_step, file_version="brain.Event:2"))
            self.write(records.event(time.time(), purge_step,
                                     session_log_status=records.SESSION_START))
        self.flush()

    def write(self, event: bytes) -> None:
        if self._file is None:  # closed: PyTorch's writer reopens on the next event
            self._file = open(self.path, "ab")  # noqa: SIM115  (as above)
        self._file.write(records.frame_record(event))
        self._pending += 1
        if self._pending >= self._max_queue or time.time() - self._last_flush > self._flush_secs:
            self.flush()

    def add_summary(self, values: list[bytes], global_step=None, walltime=None) -> None:
        walltime = time.time() if walltime is None else walltime
        self.write(records.event(walltime, global_step, summary=records.summary(*values)))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        self._pending, self._last_flush = 0, time.time()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _not_implemented(name):
    def method(self, *args, **kwargs):
        raise NotImplementedError(f"SummaryWriter.{name} is not implemented in graphtorch "
                                  "(scalars, text and histograms are)")

    method.__name__ = name
    method.__doc__ = f"Not implemented: raises NotImplementedError naming `{name}`."
    return method


class SummaryWriter:
    """Writes scalars, text and histograms for TensorBoard under `log_dir` (default
    ``runs/<Mon><day>_<H>-<M>-<S>_<host><comment>``), as torch.utils.tensorboard does.

    >>> import tempfile
    >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
    ...     writer.add_scalar("loss", 0.5, global_step=1)
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if not log_dir:
            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.default_bins = _default_bins()
        self.file_writer = None
        self.all_writers = {}
        self._get_file_writer()

    def _get_file_writer(self) -> _EventFile:
        if self.file_writer is None:
            self.file_writer = _EventFile(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix, self.purge_step)
            self.all_writers = {self.log_dir: self.file_writer}
            self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        """The directory the event files go to."""
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """One scalar (a number or one-element tensor) at `global_step`."""
        summary_value = _scalar_value(tag, scalar_value, new_style, double_precision)
        self._get_file_writer().add_summary([summary_value], global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several scalars on one chart: each tag goes to its own run,
        ``<log_dir>/<main_tag>_<tag>``, under the tag `main_tag`."""
        walltime = time.time() if walltime is None else walltime
        log_dir = self._get_file_writer().log_dir
        for tag, scalar_value in tag_scalar_dict.items():
            run_dir = log_dir + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(run_dir)
            if writer is None:
                writer = _EventFile(run_dir, self.max_queue, self.flush_secs,
                                    self.filename_suffix)
                self.all_writers[run_dir] = writer
            writer.add_summary([_scalar_value(main_tag, scalar_value)], global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Text (markdown) as the text plugin's string tensor, tag ``<tag>/text_summary``."""
        tensor = records.tensor_proto(records.DT_STRING, (1,),
                                      strings=[text_string.encode("utf_8")])
        summary_value = records.value(tag + "/text_summary", tensor=tensor,
                                      metadata=records.plugin_metadata("text"))
        self._get_file_writer().add_summary([summary_value], global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """A histogram of `values` (bins as numpy.histogram's, or PyTorch's "tensorflow")."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        histo = _histogram(_numpy(values).astype(float), bins, max_bins)
        self._get_file_writer().add_summary([records.value(tag, histo=histo)], global_step,
                                            walltime)

    def flush(self):
        """Write pending events of every run to disk."""
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        """Flush and close every event file (a later add_* reopens the main one)."""
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = None
        self.all_writers = {}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()

    add_hparams = _not_implemented("add_hparams")
    add_tensor = _not_implemented("add_tensor")
    add_histogram_raw = _not_implemented("add_histogram_raw")
    add_image = _not_implemented("add_image")
    add_images = _not_implemented("add_images")
    add_image_with_boxes = _not_implemented("add_image_with_boxes")
    add_figure = _not_implemented("add_figure")
    add_video = _not_implemented("add_video")
    add_audio = _not_implemented("add_audio")
    add_onnx_graph = _not_implemented("add_onnx_graph")
    add_graph = _not_implemented("add_graph")
    add_embedding = _not_implemented("add_embedding")
    add_pr_curve = _not_implemented("add_pr_curve")
    add_pr_curve_raw = _not_implemented("add_pr_curve_raw")
    add_custom_scalars_multilinechart = _not_implemented("add_custom_scalars_multilinechart")
    add_custom_scalars_marginchart = _not_implemented("add_custom_scalars_marginchart")
    add_custom_scalars = _not_implemented("add_custom_scalars")
    add_mesh = _not_implemented("add_mesh")
