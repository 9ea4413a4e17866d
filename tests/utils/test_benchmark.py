"""`gt.utils.benchmark`: Timer runs the statement (string with setup/globals, or a callable)
the asked number of times, Measurement's statistics follow from its raw times, and Compare
prints one table per label with rows by sub_label and columns by description."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.utils import benchmark


def test_timeit_runs_the_statement_number_times_plus_a_warm_up():
    calls = []
    m = benchmark.Timer(stmt=lambda: calls.append(1)).timeit(25)
    assert len(calls) == 26 and m.number_per_run == 25 and len(m.times) == 1
    assert m.mean == m.median == m.times[0] == m.raw_times[0] / 25
    assert "1 measurement, 25 runs" in repr(m)


def test_string_statements_see_setup_and_globals_and_keep_the_thread_count():
    x = gt.ones(3)
    before = gt.get_num_threads()
    t = benchmark.Timer("y = x + k", setup="k = 2", globals={"x": x}, num_threads=1,
                        label="add", sub_label="small", description="eager")
    m = t.blocked_autorange(min_run_time=0.01)
    assert gt.get_num_threads() == before
    assert sum(m.raw_times) >= 0.01 and m.number_per_run >= 1
    assert m.iqr >= 0 and min(m.times) <= m.median <= max(m.times)
    assert (m.label, m.sub_label, m.description, m.stmt) == ("add", "small", "eager",
                                                             "y = x + k")
    assert m.title == "add: small"


def test_compare_prints_a_table_per_label():
    x = gt.ones(3)
    results = [benchmark.Timer(stmt, globals={"x": x}, label="ops", sub_label=f"n={n}",
                               description=name).timeit(20)
               for n in (1, 2) for name, stmt in (("add", "x + 1"), ("mul", "x * 2"))]
    text = str(benchmark.Compare(results))
    assert text.startswith("[") and " ops " in text.splitlines()[0]
    assert "add" in text and "mul" in text and "n=1" in text and "n=2" in text
    assert "Times are in" in text


def test_non_python_timers_are_refused():
    with pytest.raises(ValueError):
        benchmark.Timer("x", language="c++")
