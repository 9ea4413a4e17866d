"""Op-table rows: random primitives (each row reseeds, so both libraries draw the same)."""

from __future__ import annotations

from .harness import Row


def _seeded_dropout(m, a, p=0.4):
    m.manual_seed(0)
    return m.nn.functional.dropout(a, p), m.nn.functional.dropout1d(a.reshape(1, 2, -1), p)


ROWS = [
    Row("bernoulli_mask", _seeded_dropout, [((3, 4),), ((2, 3, 4),)],
        dtypes=("float32", "float64")),
]
