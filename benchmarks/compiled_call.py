"""The cost of calling a compiled function: guards plus the run, for tiny and real functions.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compiled_call.py
Prints microseconds per call (best of repeats) and how many guards each variant checks:
`x + 1` on 4 floats (the issue-12 bar: under 15 us), a function reading globals, a dict and
an object attribute (read guards), a module's forward, and an MLP training step.
"""

from __future__ import annotations

import argparse
import timeit

import graphtorch as gt
from graphtorch import nn

SCALE = 2.0
CONFIG = {"shift": 0.5}


class Settings:
    def __init__(self):
        self.gain = 1.5


SETTINGS = Settings()


def _reads_state(x):
    return x * SCALE + CONFIG["shift"] * SETTINGS.gain


def cases():
    x = gt.ones(4)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    batch = gt.randn(16, 32)
    target = gt.randint(0, 10, (16,))
    opt = gt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    return [("tiny: x + 1 on f32[4]", gt.compile(lambda x: x + 1), (x,)),
            ("reads a global, a dict item and an attribute", gt.compile(_reads_state), (x,)),
            ("Sequential forward (no grad), f32[16, 32]", gt.compile(model),
             (batch.detach(),)),
            ("SGD training step, f32[16, 32]", gt.compile(step), (batch, target))]


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    for name, fn, inputs in cases():
        for _ in range(3):  # trace, compile, settle
            fn(*inputs)
        compiled = getattr(fn, "_compiled", fn)
        guards = len(compiled.variants[-1].guards)
        times = timeit.repeat(lambda: fn(*inputs), number=args.number, repeat=args.repeat)
        us = min(times) / args.number * 1e6
        rows.append({"case": name, "us": us, "guards": guards})
        print(f"{name:48s} {us:9.2f} us/call  ({guards} guards)")
    return rows


if __name__ == "__main__":
    main()
