"""`gt.profiler`: a simple CPU profiler with PyTorch's API (`torch.profiler` and
`torch.autograd.profiler`).

While a `profile` block records, every eager op graphtorch dispatches (forward and the ops
that backward's vjp rules run) becomes an event named ``aten::<graphtorch op name>`` (for
example ``aten::matmul``, ``aten::addmm``, ``aten::convolution``, ``aten::mul``) with its
wall-clock CPU time, and every `record_function` block an event with its label. Op start
times come from `ops.interpose` (a wrapper in front of dispatch's C fast path, installed
only while a profiler records), end times from `ops.dispatch.op_hooks`; when no profiler
runs, eager dispatch is untouched. Not recorded: compiled code (`gt.compile` programs run
generated NumPy code, not eager ops: a compiled call shows only as the eager ops around
it), tensor factories that draw no op (`gt.zeros`, `gt.randn`), CUDA time and memory.

`prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)` prints PyTorch's table
(self time excludes the events nested inside); `prof.export_chrome_trace(path)` writes a
chrome://tracing / Perfetto JSON file.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import threading
import time

from ..ops import dispatch, interpose
from ..trace_state import SymbolicArray

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "supported_activities", "EventList",
           "FunctionEvent", "FunctionEventAvg"]


class ProfilerActivity(enum.Enum):
    """The devices a profiler records (graphtorch records CPU activity only)."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5

    @property
    def name(self):  # PyTorch's members print as ProfilerActivity.CPU
        return self._name_


class ProfilerAction(enum.Enum):
    """What a schedule asks for at a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities():
    """The activities this build can profile: {ProfilerActivity.CPU}."""
    return {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """PyTorch's profiler schedule: step -> ProfilerAction (skip_first steps, then cycles of
    wait, warmup and active steps, `repeat` times; 0 repeats forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= "
                             f"0), warmup={warmup} (need >= 0), active={active} (need > 0), "
                             f"repeat={repeat} (need >= 0), skip_first={skip_first} (need >= "
                             f"0).")
    if warmup == 0:
        import warnings  # noqa: PLC0415  (stdlib, for one rare warning)

        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError("step must be non-negative")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else \
            ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule(_step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name=None, use_gzip: bool = False,
                              use_python_export: bool = False):
    """An `on_trace_ready` callback writing each trace as chrome-trace JSON under
    `dir_name` (`<worker>.<time>.pt.trace.json`, as PyTorch names them)."""

    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{os.uname().nodename}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json"
        if use_gzip:
            name += ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler


class FunctionEvent:
    """One recorded op or `record_function` range (times in microseconds)."""

    __slots__ = ("id", "name", "thread", "start_us", "end_us", "input_shapes", "cpu_children",
                 "cpu_parent", "is_user_annotation")

    def __init__(self, id, name, thread, start_us, end_us, input_shapes=None,
                 is_user_annotation=False):
        self.id = id
        self.name = name
        self.thread = thread
        self.start_us = start_us
        self.end_us = end_us
        self.input_shapes = input_shapes
        self.cpu_children = []
        self.cpu_parent = None
        self.is_user_annotation = is_user_annotation

    key = property(lambda self: self.name)
    count = property(lambda self: 1)
    device_type = property(lambda self: "CPU")

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    cpu_time = cpu_time_total
    device_time_total = cuda_time_total = property(lambda self: 0.0)
    self_device_time_total = self_cuda_time_total = device_time_total

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time="
                f"{_format_time(self.cpu_time_total)} start_us={self.start_us:.3f} "
                f"end_us={self.end_us:.3f} thread={self.thread}>")


class FunctionEventAvg:
    """The events of one key summed (`key_averages()`)."""

    def __init__(self, key, input_shapes=None):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes = input_shapes
        self.device_time_total = self.cuda_time_total = 0.0
        self.self_device_time_total = self.self_cuda_time_total = 0.0
        self.is_user_annotation = False

    def add(self, event) -> "FunctionEventAvg":
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        self.is_user_annotation = event.is_user_annotation
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_format_time(self.self_cpu_time_total)} cpu_time="
                f"{_format_time(self.cpu_time)} input_shapes={self.input_shapes}>")


def _format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


_SORT_KEYS = {"cpu_time", "cuda_time", "xpu_time", "device_time", "cpu_time_total",
              "cuda_time_total", "xpu_time_total", "device_time_total", "self_cpu_time_total",
              "self_cuda_time_total", "self_xpu_time_total", "self_device_time_total", "count",
              "cpu_memory_usage", "cuda_memory_usage", "self_cpu_memory_usage",
              "self_cuda_memory_usage", "flops"}


class EventList(list):
    """A list of events (`prof.events()`) or of averages (`prof.key_averages()`)."""

    def table(self, sort_by=None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80,
              header=None, top_level_events_only: bool = False, time_unit=None) -> str:
        """PyTorch's profiler table: Name, Self CPU %, Self CPU, CPU total %, CPU total,
        CPU time avg, # of Calls (and Input Shapes when grouped by them)."""
        if sort_by is not None and sort_by not in _SORT_KEYS:
            raise AttributeError(f"'FunctionEventAvg' object has no attribute '{sort_by}'")
        events = list(self)
        if top_level_events_only:
            events = [e for e in events if getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            events.sort(key=lambda e: getattr(e, sort_by, 0.0), reverse=True)
        if row_limit is not None and row_limit >= 0:
            events = events[:row_limit]
        shapes = any(getattr(e, "input_shapes", None) for e in events)
        total_self = sum(e.self_cpu_time_total for e in self)
        name_width = max([len(e.key) for e in events] + [4]) + 4
        name_width = min(name_width, max_name_column_width)
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                "# of Calls"]
        widths = [12] * len(cols)
        shape_width = min(max_shapes_column_width, max(
            [len(str(e.input_shapes)) for e in events if getattr(e, "input_shapes", None)]
            + [12]) + 4) if shapes else 0
        sep = "-" * name_width + "  " + "  ".join("-" * w for w in widths) + "  "
        if shapes:
            sep += "-" * shape_width + "  "
        head = "Name".rjust(name_width) + "  " + "  ".join(
            c.rjust(w) for c, w in zip(cols, widths)) + "  "
        if shapes:
            head += "Input Shapes".rjust(shape_width) + "  "
        lines = []
        if header is not None:
            lines += ["=" * len(sep), header]
        lines += [sep, head, sep]
        for e in events:
            name = e.key if len(e.key) <= name_width - 3 else e.key[:name_width - 6] + "..."
            pct = (lambda v: f"{100.0 * v / total_self:.2f}%" if total_self else "0.00%")
            cpu_avg = e.cpu_time_total / e.count if e.count else 0.0
            row = [pct(e.self_cpu_time_total), _format_time(e.self_cpu_time_total),
                   pct(e.cpu_time_total), _format_time(e.cpu_time_total),
                   _format_time(cpu_avg), str(e.count)]
            line = name.rjust(name_width) + "  " + "  ".join(
                v.rjust(w) for v, w in zip(row, widths)) + "  "
            if shapes:
                line += str(getattr(e, "input_shapes", "") or "")[:shape_width].rjust(
                    shape_width) + "  "
            lines.append(line)
        lines.append(sep)
        lines.append(f"Self CPU time total: {_format_time(total_self)}")
        return "\n".join(lines) + "\n"

    def __str__(self):
        return self.table()

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> "EventList":
        """The events summed per name (and per input shapes with group_by_input_shape)."""
        groups: dict = {}
        for e in self:
            key = (e.key, str(e.input_shapes)) if group_by_input_shape else e.key
            if key not in groups:
                groups[key] = FunctionEventAvg(
                    e.key, e.input_shapes if group_by_input_shape else None)
            groups[key].add(e)
        return EventList(groups.values())

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    def export_chrome_trace(self, path: str) -> None:
        _write_chrome_trace(self, path)


def _write_chrome_trace(events, path: str) -> None:
    pid = os.getpid()
    trace = {"schemaVersion": 1, "deviceProperties": [], "traceEvents": [
        {"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
         "name": e.name, "pid": pid, "tid": e.thread, "ts": e.start_us,
         "dur": e.cpu_time_total,
         "args": {"External id": e.id, **({"Input Dims": e.input_shapes}
                                          if e.input_shapes is not None else {})}}
        for e in events], "traceName": path, "displayTimeUnit": "ms"}
    opener = open
    if path.endswith(".gz"):
        import gzip  # noqa: PLC0415  (stdlib, only for .gz traces)

        opener = gzip.open
    with opener(path, "wt") as f:
        json.dump(trace, f)


# The profilers now recording; ops and ranges go to each of them.
_ACTIVE: list = []
_LOCAL = threading.local()


def _now_us() -> float:
    return time.perf_counter_ns() / 1000.0


def _stack() -> list:
    s = getattr(_LOCAL, "starts", None)
    if s is None:
        s = _LOCAL.starts = []
    return s


def _shape_of(x):
    shape = getattr(x, "shape", None)
    return list(shape) if shape is not None else []


def _op_start(op, inputs) -> None:
    _stack().append((op, _now_us(), inputs))


def _op_end(op, inputs, outputs) -> None:
    end = _now_us()
    starts = _stack()
    start = None
    # the top entries for this op (a Python fallback may have announced it twice)
    while starts and starts[-1][0] is op:
        start = starts.pop()[1]
    if outputs and type(outputs[0]._data) is SymbolicArray:
        return  # recorded by a trace (gt.compile), not run
    if start is None:
        start = end
    thread = threading.get_ident()
    for prof in list(_ACTIVE):
        shapes = [_shape_of(x) for x in inputs] if prof.record_shapes else None
        prof._add(f"aten::{op.name}", thread, start, end, shapes, False)


def _enable(prof) -> None:
    if not _ACTIVE:
        interpose.add(interpose.on_start, _op_start)
        dispatch.op_hooks.append(_op_end)
    _ACTIVE.append(prof)


def _disable(prof) -> None:
    if prof in _ACTIVE:
        _ACTIVE.remove(prof)
    if not _ACTIVE:
        if _op_end in dispatch.op_hooks:
            dispatch.op_hooks.remove(_op_end)
        interpose.remove(interpose.on_start, _op_start)
        _stack().clear()


class _Recorder:
    """What both profile classes share: the events and the export/averaging API."""

    record_shapes = False

    def _reset_events(self) -> None:
        self._events: list = []
        self._next_id = 0

    def _add(self, name, thread, start, end, shapes, annotation) -> None:
        self._events.append(FunctionEvent(self._next_id, name, thread, start, end, shapes,
                                          annotation))
        self._next_id += 1

    def _link(self) -> EventList:
        """The events in start order, each knowing the events nested in it (same thread)."""
        events = sorted(self._events, key=lambda e: (e.start_us, -e.end_us))
        for e in events:
            e.cpu_children = []
            e.cpu_parent = None
        open_by_thread: dict = {}
        for e in events:
            stack = open_by_thread.setdefault(e.thread, [])
            while stack and stack[-1].end_us < e.end_us:
                stack.pop()
            if stack:
                e.cpu_parent = stack[-1]
                stack[-1].cpu_children.append(e)
            stack.append(e)
        return EventList(events)

    def events(self) -> EventList:
        return self._link()

    @property
    def function_events(self) -> EventList:
        return self._link()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """Per op/label totals, for `.table(sort_by=..., row_limit=...)`."""
        return self._link().key_averages(group_by_input_shape)

    @property
    def self_cpu_time_total(self) -> float:
        return self._link().self_cpu_time_total

    def total_average(self) -> FunctionEventAvg:
        return self._link().total_average()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as chrome trace JSON (open in chrome://tracing or Perfetto)."""
        _write_chrome_trace(self._link(), path)

    def table(self, *args, **kwargs) -> str:
        return self.key_averages().table(*args, **kwargs)


class profile(_Recorder):
    """`torch.profiler.profile`: records eager ops and `record_function` ranges (CPU).

    >>> with gt.profiler.profile(activities=[gt.profiler.ProfilerActivity.CPU]) as prof:
    ...     with gt.profiler.record_function("model_inference"):
    ...         model(x)
    >>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

    With a `schedule`, call `prof.step()` once per iteration: ops are recorded in the
    RECORD steps and `on_trace_ready(prof)` runs at each RECORD_AND_SAVE step's end.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config=None,
                 execution_trace_observer=None, acc_events: bool = False, use_cuda=None,
                 custom_trace_id_callback=None, post_processing_timeout_s=None):
        if activities is None:
            activities = supported_activities()
        activities = {a for a in activities if isinstance(a, ProfilerActivity)}
        if not activities:
            raise AssertionError("No valid profiler activities found")
        self.activities = activities
        self.schedule = schedule if schedule is not None else _default_schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.step_num = 0
        self._recording = False
        self._reset_events()

    def _action(self) -> ProfilerAction:
        return self.schedule(self.step_num)

    def _sync(self) -> None:
        want = self._action() in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if want and not self._recording:
            _enable(self)
            self._recording = True
        elif not want and self._recording:
            _disable(self)
            self._recording = False

    def start(self) -> None:
        self._reset_events()
        self._sync()

    def stop(self) -> None:
        action = self._action()
        if self._recording:
            _disable(self)
            self._recording = False
        if self.on_trace_ready is not None and self._events and action in (
                ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self.on_trace_ready(self)

    def step(self) -> None:
        """Mark the end of one iteration (for `schedule`)."""
        action = self._action()
        self.step_num += 1
        if action is ProfilerAction.RECORD_AND_SAVE:
            if self._recording:
                _disable(self)
                self._recording = False
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        new = self._action()
        if action is ProfilerAction.RECORD_AND_SAVE or (
                new in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
                and action in (ProfilerAction.NONE, ProfilerAction.WARMUP)):
            self._reset_events()
        self._sync()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        raise RuntimeError("graphtorch's profiler does not record stacks (with_stack)")


class record_function:
    """Label a block (context manager) or a function (decorator): it shows as one event,
    with the ops inside nested under it.

    >>> with gt.profiler.record_function("loss"):
    ...     loss = criterion(out, y)
    """

    def __init__(self, name: str, args=None):
        self.name = name
        self.args = args
        self._start = None

    def __enter__(self):
        if not isinstance(self.name, str):
            raise RuntimeError(f"profiler::_record_function_enter_new() Expected a value of "
                               f"type 'str' for argument 'name' but instead found type "
                               f"'{type(self.name).__name__}'.")
        self._start = _now_us() if _ACTIVE else None
        return self

    def __exit__(self, *exc):
        if self._start is not None:
            end = _now_us()
            thread = threading.get_ident()
            for prof in list(_ACTIVE):
                prof._add(self.name, thread, self._start, end, None, True)
        self._start = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapped
