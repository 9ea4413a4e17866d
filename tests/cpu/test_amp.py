"""`gt.cpu.amp` and `gt.cuda.amp`, PyTorch's deprecated namespaces: same FutureWarnings,
same behaviour as `gt.amp`."""

from __future__ import annotations

import warnings

from tests.autograd.diff import same


def test_deprecated_namespaces_like_torch():
    def program(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with T.cpu.amp.autocast(dtype=T.float16):
                d1 = (T.ones(2, 2) @ T.ones(2, 2)).dtype
            with T.cpu.amp.autocast(enabled=False):
                d2 = (T.ones(2, 2) @ T.ones(2, 2)).dtype
            with T.cuda.amp.autocast():
                d3 = (T.ones(2, 2) @ T.ones(2, 2)).dtype
            s = T.cpu.amp.GradScaler(init_scale=4.0)
            e = (s.is_enabled(), s.get_scale(), T.cuda.amp.GradScaler().is_enabled())
        return d1, d2, d3, e, sorted({(c.category.__name__, str(c.message)) for c in caught}), \
            T.cpu.is_available(), T.cpu.device_count()

    same(program)
