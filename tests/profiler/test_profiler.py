"""`gt.profiler` (and `gt.autograd.profiler`) against `torch.profiler`: the same API, table
layout and labels; recorded op names are graphtorch's (``aten::<op>``), so the checks
compare structure, not the op lists."""

from __future__ import annotations

import json
import warnings

import pytest

import graphtorch as gt
from graphtorch.ops import dispatch, interpose
from tests.autograd.diff import raises_like_torch, same

torch = pytest.importorskip("torch")


def _run(T, prof_factory):
    T.manual_seed(0)
    model = T.nn.Sequential(T.nn.Linear(10, 20), T.nn.ReLU(), T.nn.Linear(20, 2))
    x = T.randn(5, 10, requires_grad=True)
    with prof_factory(T) as prof:
        with T.profiler.record_function("model_inference"):
            y = model(x)
        with T.autograd.profiler.record_function("loss"):
            loss = (y * 2).sum()
        loss.backward()
    return prof


FACTORIES = {
    "profiler": lambda T: T.profiler.profile(activities=[T.profiler.ProfilerActivity.CPU],
                                             record_shapes=True),
    "autograd": lambda T: T.autograd.profiler.profile(record_shapes=True),
}


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_table_and_labels_like_torch(kind):
    def program(T):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prof = _run(T, FACTORIES[kind])
        avgs = prof.key_averages()
        table = avgs.table(sort_by="cpu_time_total", row_limit=10)
        lines = table.splitlines()
        by_key = {e.key: e for e in avgs}
        label = by_key["model_inference"]
        return (lines[1].split(), lines[-1].split(":")[0], len(lines) <= 10 + 5,
                "loss" in by_key, label.count, label.cpu_time_total >= label.self_cpu_time_total,
                any(k.startswith("aten::") for k in by_key),
                type(label.cpu_time_total).__name__)

    same(program)


def test_ops_counted_and_nested_under_labels():
    prof = _run(gt, FACTORIES["profiler"])
    by_key = {e.key: e for e in prof.key_averages()}
    assert by_key["aten::addmm"].count == 2
    assert by_key["aten::relu"].count == 1
    events = prof.events()
    label = next(e for e in events if e.name == "model_inference")
    assert {c.name for c in label.cpu_children} >= {"aten::addmm", "aten::relu"}
    assert label.self_cpu_time_total <= label.cpu_time_total
    shapes = prof.key_averages(group_by_input_shape=True)
    assert any(e.input_shapes == [[20], [5, 10], [10, 20]] for e in shapes)
    # sorted by total time, largest first
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=3)
    assert len(table.splitlines()) == 3 + 5


def test_chrome_trace_is_valid_json(tmp_path):
    prof = _run(gt, FACTORIES["profiler"])
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    names = {e["name"] for e in trace["traceEvents"]}
    assert {"model_inference", "loss", "aten::addmm"} <= names
    for e in trace["traceEvents"]:
        assert e["ph"] == "X" and e["dur"] >= 0 and isinstance(e["ts"], float)


def test_no_cost_when_no_profiler_runs():
    before = (dispatch._NATIVE_CALL, dispatch._NATIVE_BINARY, list(dispatch.op_hooks))
    _run(gt, FACTORIES["profiler"])
    assert not interpose.installed()
    assert type(dispatch._NATIVE_CALL) is list and type(dispatch._NATIVE_BINARY) is list
    assert (dispatch._NATIVE_CALL, dispatch._NATIVE_BINARY, list(dispatch.op_hooks)) == before
    with gt.profiler.record_function("idle"):  # no profiler: nothing recorded anywhere
        gt.ones(2) * 2


def test_schedule_and_on_trace_ready():
    def program(T):
        traces = []
        sched = T.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
        with T.profiler.profile(schedule=sched,
                                on_trace_ready=lambda p: traces.append(
                                    sum(e.count for e in p.key_averages()
                                        if e.key == "step"))) as prof:
            for _ in range(6):
                with T.profiler.record_function("step"):
                    T.ones(3) * 2
                prof.step()
        return traces, [sched(i).name for i in range(7)]

    same(program)


@pytest.mark.parametrize("case", ["sort_by", "activities", "schedule", "name",
                                  "reentrant"])
def test_errors_like_torch(case):
    def program(T):
        if case == "sort_by":
            with T.profiler.profile() as p:
                T.ones(2) * 2
            return p.key_averages().table(sort_by="bogus")
        if case == "activities":
            return T.profiler.profile(activities=["cpu"])
        if case == "schedule":
            return T.profiler.schedule(wait=1, warmup=1, active=0)
        if case == "name":
            return T.profiler.record_function(123).__enter__()
        prof = T.autograd.profiler.profile()
        with prof:
            with prof:
                pass

    raises_like_torch(program)


def test_compiled_calls_record_no_traced_ops():
    f = gt.compile(lambda a: (a * 2).sin())
    x = gt.randn(4)
    f(x)
    with gt.profiler.profile() as prof:
        out = f(x)
    assert gt.allclose(out, (x * 2).sin())
    assert all(e.cpu_time_total >= 0 for e in prof.events())


def test_docstrings():
    for obj in (gt.profiler.profile, gt.profiler.record_function, gt.profiler.ProfilerActivity,
                gt.autograd.profiler.profile, gt.autograd.profiler.record_function,
                gt.profiler.schedule):
        assert obj.__doc__
