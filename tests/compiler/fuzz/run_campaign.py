"""Run a randomised eager-vs-compiled campaign and print per-family counts and failures.

    PYTHONPATH=$PWD python3 tests/compiler/fuzz/run_campaign.py --examples 5000 --seed 0 --jobs 2
    PYTHONPATH=$PWD python3 tests/compiler/fuzz/run_campaign.py --replay guards_python:17

Columns: run; passing - compared (equal, one graph), recompiled, fell_back (ran eagerly with a
logged reason), refused (clear TracingError/RuntimeError naming the user's file:line);
failing - WRONG (silent difference), CRASHED (compiled-only crash), UNCLEAR (refusal without
the user's file:line, or an unlogged eager fallback), EAGER_ERROR (eager itself raised on a
valid program), HARNESS_ERROR (a bug in these tests). Failures are deduplicated by family,
kind, outcome and error signature, each with a reproducer script shrunk while it fails the
same way (--no-minimize skips that). Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import os
import sys

if __package__ in (None, ""):  # run as a script: make `tests.compiler.fuzz` importable
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

from tests.compiler.fuzz.campaign import FAMILY_ORDER, run_campaign, scenario_for
from tests.compiler.fuzz.runner import run_scenario


def _progress(every: int):
    def show(done, report):
        if done % every == 0:
            print(f"  {done} scenarios, {report.failed} failing, "
                  f"{len(report.failures)} distinct", file=sys.stderr, flush=True)
    return show


def replay(spec: str) -> int:
    family, seed = spec.rsplit(":", 1)
    scenario = scenario_for(family, int(seed))
    result, eager, compiled = run_scenario(scenario)
    print(scenario.reproducer())
    print(f"outcome: {result.outcome}\n{result.detail}")
    for run in (eager, compiled):
        if run.error is not None:
            print(f"\n{'compiled' if run.compiled else 'eager'} error:\n{run.error.trace}")
    if compiled.messages:
        print("\ncompiled log:\n  " + "\n  ".join(compiled.messages[:20]))
    return 0 if result.passed else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--family", action="append", choices=FAMILY_ORDER,
                        help="only these families (repeatable)")
    parser.add_argument("--no-minimize", dest="minimize", action="store_false",
                        help="print each distinct failure's first scenario unshrunk (faster)")
    parser.add_argument("--limit", type=int, default=None,
                        help="print at most this many distinct failures")
    parser.add_argument("--no-sources", action="store_true", help="omit reproducer sources")
    parser.add_argument("--report", help="also write the report (markdown) to this file")
    parser.add_argument("--replay", metavar="FAMILY:SEED", help="run one scenario verbosely")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    report = run_campaign(args.examples, args.seed, args.jobs, args.family, args.minimize,
                          _progress(max(100, args.examples // 20)))
    text = (f"# Campaign: {report.total} scenarios, seed {args.seed}, {args.jobs} job(s), "
            f"{report.seconds:.0f} s\n\n```\n{report.table()}\n```\n\n"
            f"## {len(report.failures)} distinct failures\n\n"
            + report.failure_list(args.limit, not args.no_sources))
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
