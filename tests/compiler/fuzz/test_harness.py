"""The fuzz harness itself: generated programs are valid and deterministic eagerly, every
family and kind is reachable, and each outcome class is detected (stand-in "compilers"
that are wrong on purpose are caught; an honest one passes). These pass whatever the state
of `gt.compile`, which `test_fuzz_ci.py` judges."""

from __future__ import annotations

import contextlib
import io
import logging
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from tests.compiler.fuzz.campaign import plan, run_campaign, scenario_for
from tests.compiler.fuzz.choice import HypothesisChooser, RandomChooser
from tests.compiler.fuzz.families import FAMILIES, generate, kinds
from tests.compiler.fuzz.families.common import source
from tests.compiler.fuzz.families.training import OPTIMIZERS, SCHEDULERS, optimizer_classes
from tests.compiler.fuzz.runner import check, classify, execute, minimize
from tests.compiler.fuzz.scenario import Scenario
from tests.compiler.fuzz.snapshot import Unreadable, first_difference, snap, tolerance_ratio

ALL_KINDS = [(f, k) for f in FAMILIES for k in kinds(f)]


def identity(fn, **options):
    return fn


# --- generated programs are valid and deterministic -------------------------------------------

@pytest.mark.parametrize("family,kind", ALL_KINDS)
def test_scenarios_are_deterministic_eagerly(family, kind):
    """Two eager runs of a scenario observe exactly the same things (else every comparison
    with compiled code would be noise); eager errors, if any, repeat identically."""
    for seed in range(6):
        scenario = generate(RandomChooser(seed), seed, family, kind)
        first = execute(scenario, compiled=False)
        second = execute(scenario, compiled=True, compile_fn=identity)
        result = classify(scenario, first, second)
        assert result.outcome in ("compared", "EAGER_ERROR"), \
            f"{result.outcome}: {result.detail}\n{scenario.reproducer()}"
        if first.error is not None:
            assert second.error is not None and \
                first.error.describe() == second.error.describe()


KNOWN_EAGER_BUGS = {  # kind: the eager error issue 12 lists (eager must return NaN there)
    ("autograd", "reductions_size_one"): "ZeroDivisionError",
}


@pytest.mark.parametrize("family,kind", ALL_KINDS)
def test_scenarios_are_valid_programs(family, kind):
    """Eager runs every generated program without an error it does not expect (a generator
    bug otherwise), except the eager bugs issue 12 names."""
    for seed in range(6):
        scenario = generate(RandomChooser(seed), seed, family, kind)
        run = execute(scenario, compiled=False)
        if run.error is None:
            continue
        name = type(run.error.exc).__name__
        if KNOWN_EAGER_BUGS.get((family, kind)) == name:
            continue
        expected = scenario.expect_eager_error
        assert expected is not None and run.error.stage in ("call", "after") and any(
            c.__name__ == expected for c in type(run.error.exc).__mro__), \
            f"{run.error.trace}\n{scenario.reproducer()}"


# --- reachability ----------------------------------------------------------------------------

def test_every_family_and_kind_is_reachable_from_the_seeded_driver():
    seen = Counter()
    for family, seed in plan(1600, 0):
        seen[(family, scenario_for(family, seed).kind)] += 1
    missing = [fk for fk in ALL_KINDS if not seen[fk]]
    assert not missing, f"never generated: {missing}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_kind_is_reachable_from_hypothesis(family):
    """As test_fuzz_ci draws them: the family fixed, everything else from hypothesis."""
    seen = set()

    @settings(max_examples=150, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data):
        seen.add(generate(HypothesisChooser(data), 0, family).kind)

    draw()
    assert not set(kinds(family)) - seen, f"never generated: {set(kinds(family)) - seen}"


def test_every_optimizer_and_scheduler_is_generated():
    assert set(optimizer_classes()) <= set(OPTIMIZERS), \
        f"no hyper-parameters for {set(optimizer_classes()) - set(OPTIMIZERS)}"
    sources = [scenario_for("training", seed).source for seed in range(400)]
    for name in optimizer_classes():
        assert any(f"gt.optim.{name}(" in s for s in sources), name
    for name, construct in SCHEDULERS.items():
        if construct:
            assert any(construct.split("(")[0] + "(" in s for s in sources), name
    for reach in ("def target(m, o, x, y)", "def train_step(x, y)", "def make_step(m, o)",
                  "class Trainer", "def train_step(m, o, x, y)"):
        assert any(reach in s for s in sources), reach


# --- each outcome class is detected ----------------------------------------------------------

def _scenario(*blocks, **options) -> Scenario:
    return Scenario("harness", options.pop("kind", "case"), source(*blocks), seed=1, **options)


GLOBAL_K = _scenario("K = 2.0", "def target(x):\n    return x * K",
                     "def make_args(call):\n    return (gt.randn(3),)",
                     "def between(call):\n    global K\n    K = K + 1.0", calls=3)


def stale(fn, **options):
    """Returns the first call's result for ever (the bug issue 12 is about)."""
    cache = []

    def run(*args):
        if not cache:
            cache.append(fn(*args))
        return cache[0]
    return run


def perturbed(scale: float):
    def compile_fn(fn, **options):
        def run(*args):
            return fn(*args) * (1.0 + scale)
        return run
    return compile_fn


def raising(exc):
    def compile_fn(fn, **options):
        def run(*args):
            raise exc
        return run
    return compile_fn


class _Stats:
    eager_calls = 0
    recompiles = ()


def falling_back(log: bool):
    def compile_fn(fn, **options):
        def run(*args):
            run.stats.eager_calls += 1
            if log:
                logging.getLogger("graphtorch.recompiles").info("Graph break: running eagerly")
            return fn(*args)
        run.stats = _Stats()
        return run
    return compile_fn


def test_an_honest_compiler_passes():
    assert check(GLOBAL_K, identity).outcome == "compared"


def test_stale_values_are_wrong():
    result = check(GLOBAL_K, stale)
    assert result.outcome == "WRONG" and "call 1: out: values differ" in result.detail


def test_tolerance_is_float32_ulps_not_more():
    assert check(GLOBAL_K, perturbed(2e-7)).outcome == "compared"
    assert check(GLOBAL_K, perturbed(1e-4)).outcome == "WRONG"


# the logistic map at r=3.99 doubles a relative error every step: 60 steps turn one ulp into
# a different orbit, in eager code run twice from states an ulp apart just as in compiled code
CHAOTIC = _scenario("def target(x):\n    for _ in range(60):\n        x = 3.99 * x * (1 - x)\n"
                    "    return x",
                    "def make_args(call):\n    return (gt.rand(4) * 0.5 + 0.25,)", calls=2)


def rounded_differently(fn, **options):
    """Honest but for one rounding of the input (as a fused kernel may round)."""
    def run(x):
        return fn(x * (1.0 + 2.0 ** -23))
    return run


def test_amplified_rounding_is_ill_conditioned_not_wrong():
    result = check(CHAOTIC, rounded_differently)
    assert result.outcome == "ill_conditioned" and "nudge" in result.detail


def test_a_wrong_value_stays_wrong_where_eager_is_well_conditioned():
    assert check(GLOBAL_K, rounded_differently).outcome == "compared"
    assert check(GLOBAL_K, perturbed(1e-4)).outcome == "WRONG"
    assert check(CHAOTIC, identity).outcome == "compared"


def test_tolerance_ratio_counts_distance_in_tolerances():
    eager = snap({"w": gt.tensor([1.0, 2.0]), "lr": 0.5, "n": 3})
    near = snap({"w": gt.tensor([1.0, 2.00001]), "lr": 0.5, "n": 3})
    far = snap({"w": gt.tensor([1.0, 2.0]), "lr": 0.5005, "n": 3})
    other_flow = snap({"w": gt.tensor([1.0, 2.0]), "lr": 0.5, "n": 4})
    assert tolerance_ratio(eager, eager) == 0.0
    assert 0.1 < tolerance_ratio(eager, near) < 1.0   # within float32 tolerance
    assert 50 < tolerance_ratio(eager, far) < 200      # 5e-4 off where 1e-5 * 0.5 is allowed
    assert tolerance_ratio(eager, other_flow) == float("inf")  # ints are exact
    assert first_difference(eager, near) is None and "['lr']" in first_difference(eager, far)
    assert first_difference(snap(float("inf")), snap(float("-inf"))) is not None


def test_wrong_beyond_the_noise_factor_in_an_ill_conditioned_program():
    # the chaotic orbit amplifies a nudge to O(1) differences: nothing is beyond them, so a
    # stale result there is ill_conditioned too; a well-conditioned program keeps it WRONG
    assert check(CHAOTIC, stale).outcome == "ill_conditioned"
    assert check(GLOBAL_K, stale).outcome == "WRONG"


def test_refusals_must_name_the_users_line():
    clear = gt.TracingError(f"{GLOBAL_K.filename}:4 in target: cannot capture this")
    assert check(GLOBAL_K, raising(clear)).outcome == "refused"
    assert check(GLOBAL_K, raising(gt.TracingError("cannot capture"))).outcome == "UNCLEAR"
    assert check(GLOBAL_K, raising(IndexError("tuple index"))).outcome == "CRASHED"


def test_fallbacks_must_be_logged():
    assert check(GLOBAL_K, falling_back(log=True)).outcome == "fell_back"
    assert check(GLOBAL_K, falling_back(log=False)).outcome == "UNCLEAR"


def test_pytree_types_requires_grad_and_identity_are_exact():
    as_tuple = _scenario("def target(x):\n    return [x * 2.0, x]",
                         "def make_args(call):\n    return (gt.randn(3),)")

    def tupled(fn, **options):
        return lambda *args: tuple(fn(*args))

    def copied(fn, **options):
        return lambda *args: [t.clone() for t in fn(*args)]

    def detached(fn, **options):
        return lambda *args: [t.detach() for t in fn(*args)]

    assert "a tuple" in check(as_tuple, tupled).detail
    assert "identity" in check(as_tuple, copied).detail
    grad = _scenario("def target(x):\n    return [x * 2.0, x]",
                     "def make_args(call):\n    return (gt.randn(3, requires_grad=True),)")
    assert "requires_grad" in check(grad, detached).detail


def test_expected_eager_errors_must_be_raised_compiled_too():
    expand = _scenario("def target(x):\n    x[:1].expand(3, 4).add_(1.0)\n    return x",
                       "def make_args(call):\n    return (gt.zeros(3, 4),)",
                       expect_eager_error="RuntimeError")

    def swallowing(fn, **options):
        def run(*args):
            with contextlib.suppress(RuntimeError):
                return fn(*args)
        return run

    assert check(expand, identity).outcome == "compared"
    assert check(expand, swallowing).outcome == "WRONG"
    unexpected = _scenario("def target(x):\n    return x / 0", "def make_args(call):\n"
                           "    return (1,)")
    assert check(unexpected, identity).outcome == "EAGER_ERROR"


def test_random_streams_must_match():
    draws = _scenario("def target(x):\n    return x + gt.randn(3)",
                      "def make_args(call):\n    return (gt.zeros(3),)")

    def extra_draw(fn, **options):
        def run(*args):
            gt.rand(1)
            return fn(*args)
        return run

    assert check(draws, identity).outcome == "compared"
    assert check(draws, extra_draw).outcome == "WRONG"   # later draws differ
    quiet = _scenario("def target(x):\n    return x * 2.0",
                      "def make_args(call):\n    return (gt.zeros(3),)")
    assert "rng after the call" in check(quiet, extra_draw).detail  # the stream itself


def test_unreadable_state_is_a_difference():
    assert first_difference(snap({"a": gt.ones(2)}), snap({"a": gt.ones(2)})) is None
    assert "unreadable" in first_difference(snap(gt.ones(2)), Unreadable("TracingError: x"))


def test_minimize_keeps_the_failure_and_drops_the_rest():
    padded = _scenario("UNUSED = [1, 2, 3]\nALSO = 'x'\nK = 2.0",
                       "def target(x):\n    y = x + 1.0\n    return x * K",
                       "def make_args(call):\n    return (gt.randn(3),)",
                       "def between(call):\n    global K\n    K = K + 1.0", calls=4)
    small = minimize(check(padded, stale), compile_fn=stale)
    assert small.outcome == "WRONG" and small.scenario.calls == 2
    assert "UNUSED" not in small.scenario.source and "y = x + 1.0" not in small.scenario.source


def test_reproducer_runs_as_a_script():
    scenario = scenario_for("guards_python", 3)
    printed = []
    for compiled in (False, False):
        text = scenario.reproducer().replace("COMPILED = True", f"COMPILED = {compiled}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(text, "<reproducer>", "exec"), {})  # noqa: S102
        printed.append(out.getvalue())
    assert printed[0] == printed[1] and printed[0]


def test_campaign_counts_every_scenario():
    report = run_campaign(16, seed=5, jobs=1)
    assert report.total == 16
    assert sum(report.counts[f]["run"] for f in report.counts) == 16
    assert "total" in report.table()
