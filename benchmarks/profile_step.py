"""Where a compiled step's time goes: per node of the generated program, and the glue.

Compiles the MLP training step of `compiled_step.py` (or any function given to `profile`),
then runs it with its generated NumPy program(s) replaced by instrumented copies: a timer
after every statement of the generated function, so each graph node (a GEMM, a fused group,
a `del`) gets its own time. The glue around the program is timed piece by piece: argument
flattening, guard check, fetching the arrays of parameters/buffers, the program itself, and
what follows it (result copies, output wrapping, write-backs of parameters, grads, optimizer
state). Prints per-node times sorted, with the op and source line, and the glue summary.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/profile_step.py
     (--steps N, --top K, --code to print the generated program first)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class ProgramTimer:
    """An instrumented copy of a `NumpyProgram`'s function: per-statement accumulated time."""

    def __init__(self, program):
        self.program = program
        self.original = program.fn
        name = program.name
        code = program.code
        main = code[code.rindex(f"def {name}("):]
        lines = main.rstrip("\n").split("\n")
        body_indent = _body_indent(lines)
        self.statements: list[str] = []
        out = []
        for line in lines:
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            if indent != body_indent or stripped.startswith(("try:", "finally:")) \
                    or "_errstate" in stripped:
                out.append(line)
                if stripped.startswith("def "):
                    out.append("    _t0 = _pc()")
                continue
            pad = " " * indent
            k = len(self.statements)
            self.statements.append(stripped)
            tick = f"{pad}_t1 = _pc(); _acc[{k}] += _t1 - _t0; _t0 = _t1"
            if stripped.startswith("return "):
                out.append(f"{pad}_ret = {stripped[len('return '):]}")
                out.append(tick)
                out.append(f"{pad}return _ret")
            else:
                out.append(line)
                out.append(tick)
        source = "\n".join(out) + "\n"
        self.acc = [0.0] * len(self.statements)
        namespace = dict(program.fn.__globals__)
        namespace.update(_pc=time.perf_counter, _acc=self.acc)
        exec(compile(source, f"<profiled {name}>", "exec"), namespace)  # noqa: S102
        self.fn = namespace[name]
        self.calls = 0
        self.samples: list[list[float]] = []

    def install(self):
        program, timed = self.program, self.fn

        def counted(*a, **k):
            self.calls += 1
            result = timed(*a, **k)
            self.samples.append(list(self.acc))
            self.acc[:] = [0.0] * len(self.acc)
            return result

        program.fn = counted

    def uninstall(self):
        self.program.fn = self.original

    def rows(self):
        """(median ms per call, op, source location, statement) per statement."""
        for k, stmt in enumerate(self.statements):
            t = statistics.median(s[k] for s in self.samples) if self.samples else 0.0
            yield t * 1e3, _op_of(stmt), _where(stmt), stmt


def _timed(fn, times: list):
    def timed(*a, **k):
        t0 = time.perf_counter()
        result = fn(*a, **k)
        times.append(time.perf_counter() - t0)
        return result

    return timed


def _replay(fn):
    """`fn` once, then its outputs again without running it."""
    cache = [None]

    def replay(*a, **k):
        if cache[0] is None:
            cache[0] = fn(*a, **k)
        return cache[0]

    return replay


def _body_indent(lines) -> int:
    """Indentation of the generated function's statements (inside ``try:`` when present)."""
    for line in lines[1:]:
        s = line.strip()
        if s and not s.startswith(("_token", "try:", "with ")) and "_errstate" not in s:
            return len(line) - len(line.lstrip())
    return 4


def _op_of(stmt: str) -> str:
    if stmt.startswith("del "):
        return "del"
    if stmt.startswith("return "):
        return "return"
    comment = stmt.split("  # ", 1)[1] if "  # " in stmt else ""
    return comment.split("(", 1)[0].strip() or stmt.split("=", 1)[-1].split("(")[0].strip()


def _where(stmt: str) -> str:
    parts = stmt.split("   # ")
    return parts[-1] if len(parts) > 1 else ""


class GlueTimer:
    """Times the pieces of `CompiledFunction.__call__` and `Executable.run` around the
    programs, by timing the same calls directly."""

    def __init__(self, compiled, args):
        from graphtorch.compiler.capture import flatten_args

        self.compiled = compiled
        self.args = args
        self.flatten = flatten_args
        variant = compiled._last
        self.guards = variant.guards
        self.executable = variant.executable

    def measure(self, steps: int) -> dict[str, float]:
        ex = self.executable
        timings = {"flatten args": [], "guard check": [], "fetch arrays": []}
        for _ in range(steps):
            t0 = time.perf_counter()
            leaves, spec = self.flatten(self.args)
            t1 = time.perf_counter()
            assert self.guards.check(leaves, spec)
            t2 = time.perf_counter()
            ex._arrays(leaves)
            t3 = time.perf_counter()
            timings["flatten args"].append(t1 - t0)
            timings["guard check"].append(t2 - t1)
            timings["fetch arrays"].append(t3 - t2)
        return {k: statistics.median(v) * 1e3 for k, v in timings.items()}


def profile(compiled, args, steps: int = 50, warmup: int = 5, top: int = 25,
            show_code: bool = False, backward: bool = False, out=sys.stdout):
    """Print per-node and glue times of `compiled(*args)` (a `gt.compile`d function that
    has already run once with such args). backward=True also runs ``.sum().backward()`` on
    the (first) result each time, so a compiled backward program gets timed too."""
    call = compiled
    if backward:
        def call(*a):
            result = compiled(*a)
            first = result[0] if isinstance(result, (tuple, list)) else result
            first.sum().backward()
            return result

    for _ in range(warmup):
        call(*args)
    ex = compiled._last.executable
    if ex is None:
        print("the last variant runs eagerly (graph break): nothing to profile", file=out)
        return
    if show_code:
        print(compiled.code, file=out)
    glue = GlueTimer(compiled, args).measure(steps)
    programs = [("forward", ex.forward_program)]
    if ex.backward_graph is not None:
        programs.append(("backward", ex.backward_program))
    timers = [(label, ProgramTimer(p)) for label, p in programs if hasattr(p, "fn")]
    # program time without the per-statement timers, measured inside the real call, and
    # the write-backs (parameters, grads, optimizer state) the same way
    plain = {label: [] for label, _ in timers}
    for label, timer in timers:
        timer.program.fn = _timed(timer.original, plain[label])
    plain["write-backs"] = []
    ex._write_back = _timed(type(ex)._write_back.__get__(ex), plain["write-backs"])
    whole = []
    for _ in range(steps):
        t0 = time.perf_counter()
        call(*args)
        whole.append(time.perf_counter() - t0)
    del ex._write_back
    # the glue alone: the same calls with each program replaced by a replay of its last
    # outputs (the state it returns is the state it already wrote, so nothing changes)
    for _, timer in timers:
        timer.program.fn = _replay(timer.original)
    glue_only = []
    for _ in range(steps):
        t0 = time.perf_counter()
        call(*args)
        glue_only.append(time.perf_counter() - t0)
    for label, timer in timers:
        timer.install()
    for _ in range(steps):
        call(*args)
    for _, timer in timers:
        timer.uninstall()

    program_ms = {k: statistics.median(v) * 1e3 for k, v in plain.items() if v}
    rows = []
    for label, timer in timers:
        rows += [(ms, label, op, where, stmt) for ms, op, where, stmt in timer.rows()]
    rows.sort(key=lambda r: -r[0])
    total_nodes = sum(r[0] for r in rows)
    print(f"per node, sorted (ms per call, median of {steps}; sum of medians "
          f"{total_nodes:.3f} ms):", file=out)
    print(f"{'ms':>7} {'%':>5}  {'program':8} {'op':16} {'source':28} statement", file=out)
    for ms, label, op, where, stmt in rows[:top]:
        code = stmt.split("  # ", 1)[0]
        code = code if len(code) <= 70 else code[:67] + "..."
        print(f"{ms:7.3f} {100 * ms / max(total_nodes, 1e-12):5.1f}  {label:8} {op:16} "
              f"{where[:28]:28} {code}", file=out)
    if len(rows) > top:
        rest = sum(r[0] for r in rows[top:])
        print(f"{rest:7.3f}        ({len(rows) - top} more statements)", file=out)
    by_op: dict[str, float] = {}
    for ms, _, op, _, _ in rows:
        by_op[op] = by_op.get(op, 0.0) + ms
    print("\nper op kind:", file=out)
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1]):
        print(f"  {op:16} {ms:7.3f} ms", file=out)
    print(f"\nglue (medians of {steps} calls):", file=out)
    whole_ms = statistics.median(whole) * 1e3
    for k in ("flatten args", "guard check", "fetch arrays"):
        print(f"  {k:34} {glue[k]:7.3f} ms", file=out)
    for label, ms in program_ms.items():
        print(f"  {label + (' program' if label != 'write-backs' else ''):34} {ms:7.3f} ms",
              file=out)
    note = "  (with the eager .sum().backward())" if backward else ""
    print(f"  {'whole call':34} {whole_ms:7.3f} ms  (min {min(whole) * 1e3:.3f}){note}",
          file=out)
    print(f"  {'whole call, programs replayed':34} "
          f"{statistics.median(glue_only) * 1e3:7.3f} ms  (the glue alone)", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--code", action="store_true", help="print the generated program")
    parser.add_argument("--model", choices=("mlp", "lenet", "lstm"), default="mlp",
                        help="the W3 MLP step (default), the W4 LeNet-5 step (batch 64) or "
                        "W5's LSTM forward and backward in one compiled function")
    args = parser.parse_args(argv)

    from compiled_step import hand_numpy_step, make_step, mlp

    import graphtorch as gt

    rng = np.random.default_rng(0)
    if args.model == "lstm":
        import torch
        from lstm import loss_of, make_lstms

        x_np, _, g_lstm = make_lstms(torch, gt)
        gx = gt.from_numpy(x_np.copy()).requires_grad_()

        def fwd_bwd(x):
            g_lstm.zero_grad()
            loss = loss_of(g_lstm, x)
            loss.backward()
            return loss

        step = gt.compile(fwd_bwd)
        step(gx)
        step(gx)
        print("LSTM I64 H128 B32 T50, forward and backward: compiled profile")
        profile(step, (gx,), steps=args.steps, top=args.top, show_code=args.code)
        return
    if args.model == "lenet":
        from train_step import lenet

        x = gt.from_numpy(rng.standard_normal((64, 1, 32, 32)).astype(np.float32))
        y = gt.from_numpy(rng.integers(0, 10, 64))
        gt.manual_seed(0)
        step = gt.compile(make_step(gt, lenet(gt)))
        step(x, y)
        step(x, y)
        print("LeNet-5 b64, SGD momentum: compiled step profile")
        profile(step, (x, y), steps=args.steps, top=args.top, show_code=args.code)
        return
    x = gt.from_numpy(rng.standard_normal((128, 784)).astype(np.float32))
    y = gt.from_numpy(rng.integers(0, 10, 128))
    gt.manual_seed(0)
    step = gt.compile(make_step(gt, mlp(gt)))
    step(x, y)  # the first step creates the momentum buffers (runs eagerly)
    step(x, y)
    print("MLP 784-512-512-10 b128, SGD momentum: compiled step profile")
    profile(step, (x, y), steps=args.steps, top=args.top, show_code=args.code)

    params = [rng.standard_normal(s).astype(np.float32) * 0.05
              for s in [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]]
    bufs = [np.zeros_like(p) for p in params]
    xn, yn = x.numpy(), y.numpy()
    times = []
    for _ in range(args.steps + 5):
        t0 = time.perf_counter()
        hand_numpy_step(xn, yn, params, bufs)
        times.append(time.perf_counter() - t0)
    print(f"\nthe same step by hand in NumPy: {statistics.median(times[5:]) * 1e3:.3f} ms "
          f"(median of {args.steps}; min {min(times[5:]) * 1e3:.3f})")


if __name__ == "__main__":
    main()
