"""`torch._dynamo.utils.counters`: what the compiler did, by category, for tests and
tutorials that read them (``counters["stats"]["unique_graphs"]``,
``counters["graph_break"]``). Never reset by `reset()`; ``counters.clear()`` starts over.

- ``counters["frames"]``: "total" (calls that tried to compile) and "ok" (those compiled);
- ``counters["stats"]``: "unique_graphs" (variants compiled), "calls_captured" (ops in them);
- ``counters["graph_break"]``: one entry per reason, counting the graph breaks it caused;
- ``counters["recompiles"]``: one entry per guard that failed and made a new variant.
"""

from __future__ import annotations

import collections

counters: collections.defaultdict = collections.defaultdict(collections.Counter)
