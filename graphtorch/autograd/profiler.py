"""`gt.autograd.profiler`: the legacy profiler API (`torch.autograd.profiler.profile`,
`record_function`), on the same recorder as `gt.profiler` (see there for what is recorded).
"""

from __future__ import annotations

from ..profiler import (EventList, FunctionEvent, FunctionEventAvg, _enable, _disable,
                        _Recorder, record_function)

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile(_Recorder):
    """`torch.autograd.profiler.profile`: records eager ops and `record_function` ranges.

    >>> with gt.autograd.profiler.profile() as prof:
    ...     model(x)
    >>> print(prof.key_averages().table(sort_by="self_cpu_time_total"))
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None,
                 activity_filters=None):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.use_cpu = use_cpu
        self.entered = False
        self._reset_events()

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._reset_events()
        _enable(self)
        return self

    def __exit__(self, *exc):
        if self.enabled:
            _disable(self)
        return False

    def __str__(self):
        return self.key_averages().table(sort_by="cpu_time_total")
