"""The seeded-loop driver: many scenarios, per-family counts, deduplicated failures.

Scenario ``i`` of a campaign with base seed ``S`` is family ``FAMILY_ORDER[i % n]`` (so the
families are balanced) drawn from ``RandomChooser(S + i)``; ``scenario_for(family, seed)``
rebuilds it exactly (``run_campaign.py --replay family:seed``). Failures are grouped by
`Result.signature` (family, kind, outcome and the shape of the difference or error); each
group keeps its shortest scenario, optionally minimised.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .choice import RandomChooser
from .families import FAMILIES, generate
from .runner import FAILING, OUTCOMES, Result, check, minimize
from .scenario import Scenario

FAMILY_ORDER = list(FAMILIES)
COLUMNS = ("run",) + OUTCOMES + ("HARNESS_ERROR",)


def scenario_for(family: str, seed: int) -> Scenario:
    return generate(RandomChooser(seed), seed, family)


def plan(examples: int, seed: int, families=None) -> list[tuple[str, int]]:
    """(family, seed) of every scenario of a campaign, families balanced round-robin."""
    order = list(families or FAMILY_ORDER)
    return [(order[i % len(order)], seed + i) for i in range(examples)]


@dataclass
class Outcome:
    """A scenario's result in a form cheap to send between processes."""

    family: str
    kind: str
    outcome: str
    seed: int
    signature: str = ""
    detail: str = ""
    scenario: Scenario | None = None    # kept for failures only


def run_one(item: tuple[str, int]) -> Outcome:
    family, seed = item
    try:
        scenario = scenario_for(family, seed)
    except Exception:  # noqa: BLE001 - a generator bug must not stop a long campaign
        return Outcome(family, "?", "HARNESS_ERROR", seed, f"{family}/generator",
                       traceback.format_exc()[-1500:])
    try:
        result = check(scenario)
    except Exception:  # noqa: BLE001
        return Outcome(family, scenario.kind, "HARNESS_ERROR", seed,
                       f"{family}/{scenario.kind}/harness", traceback.format_exc()[-1500:],
                       scenario)
    failing = not result.passed
    return Outcome(family, scenario.kind, result.outcome, seed,
                   result.signature if failing else "", result.detail if failing else "",
                   scenario if failing else None)


@dataclass
class Report:
    counts: dict = field(default_factory=lambda: defaultdict(Counter))  # family -> Counter
    failures: dict = field(default_factory=dict)    # signature -> [count, Outcome]
    seconds: float = 0.0

    def add(self, o: Outcome) -> None:
        self.counts[o.family]["run"] += 1
        self.counts[o.family][o.outcome] += 1
        if o.outcome in FAILING or o.outcome == "HARNESS_ERROR":
            entry = self.failures.setdefault(o.signature, [0, o])
            entry[0] += 1
            if o.scenario is not None and entry[1].scenario is not None and \
                    len(o.scenario.source) < len(entry[1].scenario.source):
                entry[1] = o

    @property
    def failed(self) -> int:
        return sum(c[k] for c in self.counts.values() for k in (*FAILING, "HARNESS_ERROR"))

    @property
    def total(self) -> int:
        return sum(c["run"] for c in self.counts.values())

    def table(self) -> str:
        widths = [max(14, *(len(f) for f in self.counts))] + [max(6, len(c)) for c in COLUMNS]
        head = "family".ljust(widths[0]) + " ".join(c.rjust(w) for c, w in
                                                   zip(COLUMNS, widths[1:]))
        rows = [head, "-" * len(head)]
        total = Counter()
        for family in sorted(self.counts, key=lambda f: (FAMILY_ORDER + [f]).index(f)):
            c = self.counts[family]
            total.update(c)
            rows.append(family.ljust(widths[0]) + " ".join(
                str(c[k]).rjust(w) for k, w in zip(COLUMNS, widths[1:])))
        rows.append("total".ljust(widths[0]) + " ".join(
            str(total[k]).rjust(w) for k, w in zip(COLUMNS, widths[1:])))
        return "\n".join(rows)

    def failure_list(self, limit: int | None = None, sources: bool = True) -> str:
        out = []
        ranked = sorted(self.failures.items(), key=lambda kv: (-kv[1][0], kv[0]))
        for signature, (count, o) in ranked[:limit]:
            out.append(f"### {signature}  [{count}x, e.g. --replay {o.family}:{o.seed}]")
            out.append(o.detail[:600])
            if sources and o.scenario is not None:
                out.append("```python\n" + o.scenario.reproducer().rstrip() + "\n```")
        if limit is not None and len(ranked) > limit:
            out.append(f"... and {len(ranked) - limit} more distinct failures")
        return "\n".join(out)


def _minimize_entry(o: Outcome) -> Outcome:
    if o.scenario is None or o.outcome == "HARNESS_ERROR":
        return o
    try:
        result = minimize(check(o.scenario))
    except Exception:  # noqa: BLE001 - keep the unminimised reproducer
        return o
    if not isinstance(result, Result) or result.passed:
        return o
    return Outcome(o.family, o.kind, o.outcome, o.seed, o.signature, result.detail,
                   result.scenario)


def run_campaign(examples: int, seed: int = 0, jobs: int = 1, families=None,
                 minimize_failures: bool = False, progress=None) -> Report:
    """Run `examples` scenarios (see the module docstring) on `jobs` processes."""
    report = Report()
    start = time.perf_counter()
    items = plan(examples, seed, families)
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for i, o in enumerate(pool.imap_unordered(run_one, items, chunksize=8)):
                report.add(o)
                if progress:
                    progress(i + 1, report)
            if minimize_failures:
                entries = [e[1] for e in report.failures.values()]
                for small in pool.imap(_minimize_entry, entries):
                    report.failures[small.signature][1] = small
    else:
        for i, item in enumerate(items):
            report.add(run_one(item))
            if progress:
                progress(i + 1, report)
        if minimize_failures:
            for entry in report.failures.values():
                entry[1] = _minimize_entry(entry[1])
    report.seconds = time.perf_counter() - start
    return report
