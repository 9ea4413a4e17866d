"""`Compare`: measurements as a table, one per label, rows by sub_label (grouped by thread
count), columns by description, as ``torch.utils.benchmark.Compare`` prints them."""

from __future__ import annotations

_UNITS = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9))


class Compare:
    def __init__(self, results):
        self._results = list(results)
        self._trim = False

    def extend_results(self, results) -> None:
        self._results += list(results)

    def trim_significant_figures(self) -> None:
        self._trim = True

    def colorize(self, rowwise: bool = False) -> None:
        """Accepted; the table is printed without colour."""

    def highlight_warnings(self) -> None:
        """Accepted; no warnings are marked."""

    def __str__(self):
        tables = {}
        for m in self._results:
            tables.setdefault(m.task_spec.label, []).append(m)
        return "\n\n".join(self._table(label, ms) for label, ms in tables.items())

    def print(self) -> None:
        print(str(self))

    def _table(self, label, measurements) -> str:
        smallest = min(m.median for m in measurements)
        unit, scale = next(((u, s) for u, s in _UNITS if smallest >= s), _UNITS[-1])
        columns = list(dict.fromkeys(m.task_spec.description or "" for m in measurements))
        rows: dict = {}
        for m in measurements:
            spec = m.task_spec
            key = (spec.num_threads, spec.sub_label or spec.stmt)
            rows.setdefault(key, {})[spec.description or ""] = m.median / scale
        names = [name for _, name in rows]
        width = max([len(n) for n in names] + [12])
        cell = max(6, *(len(c) for c in columns))
        header = " " * width + "  |" + "|".join(f"{c:^{cell}}" for c in columns)
        title = f" {label or ''} "
        lines = [f"[{title:-^{len(header) - 2}}]", header]
        threads = None
        for (n, name), values in rows.items():
            if n != threads:
                threads = n
                lines.append(f"{n} threads: ".ljust(len(header), "-"))
            lines.append(f"{name:>{width}}  |" + "|".join(
                f"{_number(values.get(c), self._trim):^{cell}}" for c in columns))
        lines += ["", f"Times are in {_unit_name(unit)} ({unit})."]
        return "\n".join(lines) + "\n"


def _number(value, trim: bool) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if trim else f"{value:.1f}"


def _unit_name(unit: str) -> str:
    return {"s": "seconds", "ms": "milliseconds", "us": "microseconds",
            "ns": "nanoseconds"}[unit]
