"""Run a scenario eagerly and compiled from identical states, and classify the outcome.

Each run loads the source afresh (same seeds), then for every call: reseeds (if the scenario
says so), builds the arguments, calls ``target`` (plainly, or through one `gt.compile` made
before the first call), snapshots the outputs, arguments, observed state, aliasing of the
outputs and the random generators' states, runs ``after`` and snapshots again, snapshots the
arguments and outputs of all earlier calls (later calls must not change them unless eager
does), then runs ``between``. After the last call every optimizer and module observed is
saved with ``gt.save`` (it must work after compiled steps).

Outcomes. Passing: ``compared`` (equal, one graph), ``recompiled`` (equal, a guard failed and
a new graph was built), ``fell_back`` (equal, some call ran eagerly and a reason was logged
or warned), ``refused`` (a compiled call raised TracingError/RuntimeError whose message names
the scenario's file:line, where eager succeeded). Failing: ``WRONG`` (any observable
difference, or eager's error not raised), ``CRASHED`` (compiled-only error of another kind or
outside the call), ``UNCLEAR`` (a refusal without the user's file:line, or an unlogged
eager fallback), ``EAGER_ERROR`` (eager itself raised where the program is valid PyTorch: a
generator or eager bug).

A WRONG that is a float value difference gets a second look: eager runs again from a state
nudged by one ulp (`nudge_floats`: observed state before the first call, float arguments
before each) and measures how far that moves what the program observes, in units of the
tolerances (`snapshot.tolerance_ratio`; infinite where a nudge changes ints or structure:
another control flow). Compiled code at most `NOISE_FACTOR` times as far from eager is float
noise the program amplified: ``ill_conditioned``, a passing outcome in its own column. A
well-conditioned program moves about 0.01 tolerances per ulp, so there any difference beyond
the tolerances stays WRONG.
"""

from __future__ import annotations

import io
import linecache
import logging
import random
import re
import traceback
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

import graphtorch as gt
from graphtorch.nn import Module
from graphtorch.optim import Optimizer

from .scenario import Scenario, load
from .snapshot import (
    alias_signature,
    first_difference,
    rng_fingerprint,
    snap,
    tensor_leaves,
    tolerance_ratio,
)

# A log record or warning that says a call runs eagerly (and why).
EAGER_REASON = re.compile(r"eager|graph break", re.IGNORECASE)
PASSING = ("compared", "recompiled", "fell_back", "refused", "ill_conditioned")
# compiled may sit this many times farther from eager than eager nudged by one ulp does: one
# nudge of the state against a rounding difference in every op of every call
NOISE_FACTOR = 10.0
FAILING = ("WRONG", "CRASHED", "UNCLEAR", "EAGER_ERROR")
OUTCOMES = PASSING + FAILING


@dataclass
class RunError:
    call: int
    stage: str          # compile, load, args, call, observe, after, between, save
    exc: BaseException
    trace: str

    def order(self) -> tuple:
        stages = ("load", "compile", "args", "call", "observe", "after", "between", "save")
        return (self.call, stages.index(self.stage))

    def describe(self) -> str:
        text = str(self.exc).strip().splitlines()[0] if str(self.exc).strip() else ""
        return f"{type(self.exc).__name__}: {text[:400]}"


@dataclass
class Run:
    compiled: bool
    records: list = field(default_factory=list)       # per call: {what: snapshot}
    error: RunError | None = None
    fallback_calls: list = field(default_factory=list)   # (call, logged: bool)
    recompiles: int = 0
    messages: list = field(default_factory=list)      # log records and warnings


@dataclass
class Result:
    scenario: Scenario
    outcome: str
    detail: str = ""
    call: int | None = None

    @property
    def passed(self) -> bool:
        return self.outcome in PASSING

    @property
    def signature(self) -> str:
        """What makes two failures the same cause: family, kind, outcome and the shape of
        the difference or error (numbers, names of values and addresses stripped)."""
        return f"{self.scenario.family}/{self.scenario.kind}/{self.outcome}: " \
               f"{normalize(self.detail)}"


# What a difference is about, most specific first; a signature keeps the text up to the
# first of these found.
_CATEGORIES = ("rng", "identity", "shared memory", "is unreadable", "values differ", "dtype",
               "shape", "requires_grad", "compiled gave", "keys", ".grad:", "did not")


def normalize(detail: str) -> str:
    """The detail without call numbers, values, addresses and file names."""
    text = re.sub(r"^call \d+: ", "", detail)
    for category in _CATEGORIES:
        if category in text:
            text = text[:text.find(category) + len(category)]
            break
    text = re.sub(r"0x[0-9a-f]+", "ADDR", text)
    text = re.sub(r"fuzz_\w+?_\d+\.py", "FILE", text)
    text = re.sub(r"\d+", "N", text)
    return text[:160]


class _Collector(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(record.getMessage())


def _stats(fn):
    inner = getattr(fn, "_compiled", fn)
    stats = getattr(inner, "stats", None)
    return (len(getattr(stats, "recompiles", ()) or ()), getattr(stats, "eager_calls", 0) or 0)


def nudge_floats(tensors, seed: int) -> None:
    """Move every element of the floating-point `tensors` one ulp up or down (signs from
    `seed`), in place and outside autograd: a perturbation as small as one rounding."""
    signs = np.random.default_rng(seed)
    seen = set()
    for t in tensors:
        if not t.is_floating_point() or id(t) in seen or t.numel() == 0 or \
                t.device.type != "cpu":
            continue
        seen.add(id(t))
        array = t.detach().numpy()
        up = signs.random(array.shape) < 0.5
        array[...] = np.where(up, np.nextafter(array, np.inf), np.nextafter(array, -np.inf))


def execute(scenario: Scenario, compiled: bool, compile_fn=None, nudge: bool = False) -> Run:
    """Run the scenario once (see the module docstring). `compile_fn` replaces
    `gt.compile` (the harness's own tests pass stand-ins that are wrong on purpose);
    `nudge` moves the observed state and every call's float arguments by one ulp."""
    run = Run(compiled)
    logger = logging.getLogger("graphtorch")
    collector = _Collector()
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _execute(scenario, run, collector, compile_fn or gt.compile, nudge)
        run.messages.extend(f"warning {w.category.__name__}: {w.message}" for w in caught)
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    run.messages[:0] = collector.records
    return run


def _fail(run: Run, call: int, stage: str, exc: BaseException) -> None:
    run.error = RunError(call, stage, exc, "".join(traceback.format_exception(exc))[-4000:])


def _execute(scenario: Scenario, run: Run, collector: _Collector, compile_fn,
             nudge: bool = False) -> None:
    try:
        ns = load(scenario)
    except Exception as exc:  # noqa: BLE001
        return _fail(run, -1, "load", exc)
    fn = ns["target"]
    if run.compiled:
        try:
            fn = compile_fn(fn, **scenario.compile_kwargs)
        except Exception as exc:  # noqa: BLE001
            return _fail(run, -1, "compile", exc)
    invoke = ns.get("invoke") or (lambda f, a: f(*a))
    observe = ns.get("observe") or dict
    after, between = ns.get("after"), ns.get("between")
    history: list = []
    stage = "args"
    if nudge:
        nudge_floats([t for _, t in tensor_leaves(observe())], scenario.seed)
    for call in range(scenario.calls):
        try:
            if scenario.reseed_each_call:
                gt.manual_seed(scenario.call_seed(call))
                random.seed(scenario.call_seed(call))
            stage = "args"
            args = tuple(ns["make_args"](call))
            if nudge:
                nudge_floats([t for _, t in tensor_leaves(args)], scenario.seed + call)
            stage = "call"
            before = _stats(fn)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = invoke(fn, args)
            run.messages.extend(f"warning {w.category.__name__}: {w.message}" for w in caught)
            if run.compiled:
                now = _stats(fn)
                run.recompiles += now[0] - before[0]
                if now[1] > before[1]:
                    # the reason may have been logged by an earlier call of this variant
                    logged = any(EAGER_REASON.search(m) for m in
                                 (*collector.records, *run.messages))
                    run.fallback_calls.append((call, logged))
            stage = "observe"
            rng = rng_fingerprint()
            state = observe()
            refs = tensor_leaves(args, "args") + tensor_leaves(state, "state")
            record = {"out": snap(out), "aliasing of out": alias_signature(out, refs),
                      "args": snap(args), "state": snap(state), "rng after the call": rng}
            run.records.append(record)
            if after is not None:
                stage = "after"
                after(call, out)
                stage = "observe"
                record["after: args"] = snap(args)
                record["after: state"] = snap(observe())
                record["after: out"] = snap(out)
                record["after: rng"] = rng_fingerprint()
            record["earlier calls' tensors"] = snap(history)
            # Only tensors are kept: containers passed or returned die as in user code (an
            # id() reused by a new dict must not pass an identity guard).
            history.append(([t for _, t in tensor_leaves(args)],
                            [t for _, t in tensor_leaves(out)]))
            del args, out, state
            if between is not None:
                stage = "between"
                between(call)
        except Exception as exc:  # noqa: BLE001
            return _fail(run, call, stage, exc)
    try:
        for obj in observe().values():
            if isinstance(obj, (Optimizer, Module)):
                gt.save(obj.state_dict(), io.BytesIO())
    except Exception as exc:  # noqa: BLE001
        return _fail(run, scenario.calls, "save", exc)
    return None


def names_user_line(exc: BaseException, filename: str) -> bool:
    """Whether the error message points at the scenario's source (``file.py:12``)."""
    return re.search(re.escape(filename) + r":\d+", str(exc)) is not None


def classify(scenario: Scenario, eager: Run, compiled: Run, nudged: Run | None = None) -> Result:
    """The outcome of `compiled` against `eager`; `nudged` (eager from a state nudged by an
    ulp) tells float noise an ill-conditioned program amplified (module docstring)."""
    ee, ce = eager.error, compiled.error
    if ee is not None and (scenario.expect_eager_error is None or ee.stage in (
            "load", "args", "between", "save") or type(ee.exc).__name__ !=
            scenario.expect_eager_error):
        return Result(scenario, "EAGER_ERROR", f"eager {ee.stage} at call {ee.call}: "
                      f"{ee.describe()}", ee.call)
    call, diff = first_record_difference(eager.records, compiled.records)
    if diff:
        if nudged is not None and "values differ" in diff:
            amplified = _run_ratio(eager, nudged)
            distance = _run_ratio(eager, compiled)
            if distance <= NOISE_FACTOR * amplified:
                return Result(scenario, "ill_conditioned", f"call {call}: {diff} (compiled "
                              f"is {distance:.3g} tolerances from eager; eager nudged by one "
                              f"ulp is {amplified:.3g})", call)
        return Result(scenario, "WRONG", f"call {call}: {diff}", call)
    if ee is not None and (ce is None or ce.order() > ee.order()):
        return Result(scenario, "WRONG", f"call {ee.call}: eager raised {ee.describe()} "
                      f"({ee.stage}); compiled did not", ee.call)
    if ce is not None and (ee is None or ce.order() < ee.order()):
        return _compiled_error(scenario, ce, ee)
    if ce is not None and not isinstance(ce.exc, type(ee.exc)):
        return Result(scenario, "CRASHED", f"call {ce.call}: compiled raised "
                      f"{ce.describe()} where eager raised {ee.describe()}", ce.call)
    missing = [call for call, logged in compiled.fallback_calls if not logged]
    if missing:
        return Result(scenario, "UNCLEAR", f"call {missing[0]}: ran eagerly without a logged "
                      "reason or warning", missing[0])
    if compiled.fallback_calls:
        reasons = [m for m in compiled.messages if EAGER_REASON.search(m)]
        return Result(scenario, "fell_back", reasons[0] if reasons else "")
    if compiled.recompiles:
        return Result(scenario, "recompiled")
    return Result(scenario, "compared")


def first_record_difference(eager: list, other: list) -> tuple:
    """(call, description) of the first difference between two runs' records, or
    (None, None)."""
    for call, (e_rec, o_rec) in enumerate(zip(eager, other)):
        for key, e_snap in e_rec.items():
            if key not in o_rec:
                continue
            if key == "aliasing of out":
                diff = alias_difference(e_snap, o_rec[key])
            else:
                diff = first_difference(e_snap, o_rec[key], key)
            if diff:
                return call, diff
    return None, None


def _run_ratio(eager: Run, other: Run) -> float:
    """The largest distance, in tolerances, between float values two runs observed
    (infinite where one raised and the other did not, or raised elsewhere)."""
    errors = [None if r.error is None else (r.error.call, r.error.stage, r.error.describe())
              for r in (eager, other)]
    if errors[0] != errors[1] or len(eager.records) != len(other.records):
        return float("inf")
    return max((tolerance_ratio(e_snap, o_rec[key]) for e_rec, o_rec in
                zip(eager.records, other.records) for key, e_snap in e_rec.items()
                if key in o_rec and key != "aliasing of out"), default=0.0)


def alias_difference(eager: tuple, compiled: tuple) -> str | None:
    """How the returned tensors' identity or memory sharing differs (see
    `snapshot.alias_signature`), or None."""
    if [row[0] for row in eager] != [row[0] for row in compiled]:
        return None  # the outputs differ in structure: reported by the "out" comparison
    for (path, e_same, e_shared), (_, c_same, c_shared) in zip(eager, compiled):
        if e_same != c_same:
            return f"aliasing of out: {path} identity: compiled is {list(c_same)}, " \
                   f"eager is {list(e_same)}"
        if e_shared != c_shared:
            return f"aliasing of out: {path} shared memory: compiled shares with " \
                   f"{list(c_shared)}, eager with {list(e_shared)}"
    return None


def _compiled_error(scenario: Scenario, ce: RunError, ee: RunError | None) -> Result:
    where = f"call {ce.call}" if ce.call >= 0 else "gt.compile"
    if ce.stage in ("call", "compile") and isinstance(ce.exc, RuntimeError):
        if names_user_line(ce.exc, scenario.filename):
            return Result(scenario, "refused", f"{where}: {ce.describe()}", ce.call)
        return Result(scenario, "UNCLEAR", f"{where}: compiled raised {ce.describe()} "
                      "(no file:line of the user's code)", ce.call)
    return Result(scenario, "CRASHED", f"{where} ({ce.stage}): compiled-only "
                  f"{ce.describe()}", ce.call)


def run_scenario(scenario: Scenario, compile_fn=None) -> tuple[Result, Run, Run]:
    eager = execute(scenario, compiled=False)
    compiled = execute(scenario, compiled=True, compile_fn=compile_fn)
    result = classify(scenario, eager, compiled)
    if result.outcome == "WRONG" and "values differ" in result.detail:
        nudged = execute(scenario, compiled=False, nudge=True)
        result = classify(scenario, eager, compiled, nudged)
    linecache.cache.pop(scenario.filename, None)
    return result, eager, compiled


def check(scenario: Scenario, compile_fn=None) -> Result:
    return run_scenario(scenario, compile_fn)[0]


# --- minimising a failure -------------------------------------------------------------------

def minimize(result: Result, budget: int = 150, compile_fn=None) -> Result:
    """Shrink a failing scenario while it fails with the same signature: fewer calls first,
    then single source lines dropped (last to first)."""
    best, attempts = result, 0
    if result.call is not None and result.call + 1 < result.scenario.calls:
        smaller = check(replace(result.scenario, calls=result.call + 1), compile_fn)
        attempts += 1
        if smaller.signature == result.signature:
            best = smaller
    lines = best.scenario.source.splitlines(True)
    i = len(lines) - 1
    while i >= 0 and attempts < budget:
        line = lines[i].strip()
        # block headers stay: dropping one re-scopes its body (a change every call)
        if line and not line.startswith(("def ", "class ", "import", "from ")) and \
                not line.endswith(":"):
            trial_lines = lines[:i] + lines[i + 1:]
            trial = check(replace(best.scenario, source="".join(trial_lines)), compile_fn)
            attempts += 1
            if trial.signature == result.signature:
                best, lines = trial, trial_lines
        i -= 1
    return best
