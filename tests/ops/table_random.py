"""Op-table rows: random primitives (each row reseeds, so both libraries draw the same)."""

from __future__ import annotations

from .harness import Row


def _seeded_dropout(m, a, p=0.4):
    m.manual_seed(0)
    return m.nn.functional.dropout(a, p), m.nn.functional.dropout1d(a.reshape(1, 2, -1), p)


def _seeded_draws(m, a):
    m.manual_seed(1)
    return (m.rand(3, 4) * a, m.randn(2, 3), m.randint(0, 7, (5,)), m.randperm(6),
            m.normal(a, 2.0), m.rand_like(a) + m.randn_like(a))


def _seeded_fills(m, a):
    m.manual_seed(2)
    b = a * 1
    b.uniform_(-1, 1)
    c = a * 1
    c.normal_(0.5, 2.0)
    return b, c


def _seeded_multinomial(m, a):
    m.manual_seed(0)
    probs = a.softmax(-1)
    return (m.multinomial(probs, 2), m.multinomial(probs, 5, replacement=True),
            m.multinomial(probs[0], 1))


def _seeded_bernoulli(m, a):
    m.manual_seed(3)
    probs = a.sigmoid()
    return m.bernoulli(probs), m.bernoulli(probs.double()), a.detach().clone().bernoulli_(probs)


ROWS = [
    Row("bernoulli", _seeded_bernoulli, [((3, 4),)], grad=False, name="seeded_bernoulli"),
    Row("multinomial", _seeded_multinomial, [((3, 4),)], grad=False, name="seeded_multinomial"),
    Row(("random_draw", "manual_seed"), _seeded_draws, [((3, 4),)], grad=False,
        name="seeded_draws"),
    Row("random_draw", _seeded_fills, [((3, 4),)], grad=False, name="seeded_fills"),
    Row("bernoulli_mask", _seeded_dropout, [((3, 4),), ((2, 3, 4),)],
        dtypes=("float32", "float64")),
]
