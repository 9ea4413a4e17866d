"""Guard traps on Python state: values the traced code reads, changed between calls.

Globals of every simple type, a global tensor name rebound, closure cells (changed from
outside, and ``nonlocal`` counters changed by the function itself), dict/list entries,
attributes of plain objects (nested too), dict/list arguments mutated in place, a Python
bool chosen by ``gt.cond``, ``random`` inside the function, Python side effects of the
function (counters, logs) that eager performs on every call, and Python reads of tensor
arguments (``.item()``, ``len``, iteration, class, ``_version``, layout) branching the code.
"""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import between_block, chain, randn, schedule, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# How a Python value of each type is used; {k} is the read, {y} the tensor. Values are
# (initial, alternatives).
USES = {
    "float": (["{y} * {k}", "{y} + {k}", "gt.clamp({y}, max={k})", "{y}.abs().pow({k})",
               "gt.nn.functional.leaky_relu({y}, {k})"], 1.5, [0.5, 2.0, -1.25, 1.5]),
    "int": (["{y} * {k}", "{y}.sum(dim={k} % 2)", "{y}[:{k}]", "{y}.roll({k}, 1)",
             "{y}.repeat({k}, 1)", "{y}.pow({k})"], 2, [1, 3, 2]),
    "bool": (["({y} + 1.0) if {k} else ({y} - 1.0)", "{y}.t() if {k} else {y}.flip(0).t()",
              "gt.relu({y}) if {k} else gt.tanh({y})"], True, [False, True]),
    "str": (["getattr(gt, {k})({y})", "{y} * 2.0 if {k} == 'tanh' else {y}.neg()",
             "gt.nn.functional.softmax({y}, dim=0) if {k} == 'sigmoid' else {y}"],
            "'tanh'", ["'sigmoid'", "'relu'", "'tanh'"]),
    "tuple": (["{y} * {k}[0] + {k}[1]", "{y}.reshape({k}[2:])", "{y}.sum(dim={k}[2] % 2)"],
              (2.0, 0.5, 3, 4), [(2.0, -0.5, 2, 6), (1.0, 0.5, 12), (2.0, 0.5, 3, 4)]),
}


def _use(ch: Chooser, type_name: str):
    uses, initial, alternatives = USES[type_name]
    return ch.choice(uses), initial, alternatives


def _changes(ch: Chooser, calls: int, alternatives, stmt: str) -> dict:
    return {c: [stmt.format(v=ch.choice(alternatives))] for c in schedule(ch, calls)}


@kind
def global_value(ch: Chooser) -> Scenario:
    """A module global (float/int/bool/str/tuple) read directly, through a helper function,
    or through a module-level alias, then rebound between calls."""
    type_name = ch.choice(list(USES))
    use, initial, alternatives = _use(ch, type_name)
    calls = ch.integer(3, 5)
    read = ch.choice(["K", "read_k()"])
    body = use.format(y="y", k=read)
    changes = _changes(ch, calls, alternatives, "K = {v}")
    return Scenario("", "", source(
        f"K = {initial!r}" if type_name != "str" else f"K = {initial}",
        "def read_k():\n    return K",
        f"def target(x):\n    y = {chain(ch, 'x')}\n    return {body}",
        f"def make_args(call):\n    return ({randn((3, 4))},)",
        between_block(changes, "K")), calls=calls)


@kind
def global_tensor_rebind(ch: Chooser) -> Scenario:
    """A global tensor name rebound to another tensor (same or another shape or dtype)."""
    calls = ch.integer(3, 5)
    new = ["gt.randn(4)", "W * 2.0", "gt.ones(4)", "gt.randn(1)", "gt.randn(3, 4)",
           "gt.randn(4, dtype=gt.float64)", "W.clone()"]
    use = ch.choice(["{x} * W", "{x} + W.sum()", "{x} @ W", "gt.maximum({x}, W)"])
    changes = {c: [f"W = {ch.choice(new)}"] for c in schedule(ch, calls)}
    if use == "{x} @ W":
        changes = {c: [f"W = {ch.choice(['gt.randn(4)', 'W * 2.0', 'W.clone()'])}"]
                   for c in changes}
    return Scenario("", "", source(
        "W = gt.randn(4)",
        f"def target(x):\n    return {use.format(x=chain(ch, 'x'))}",
        f"def make_args(call):\n    return ({randn((3, 4))},)",
        between_block(changes, "W"),
        "def observe():\n    return {'W': W}"), calls=calls)


@kind
def closure_cell(ch: Chooser) -> Scenario:
    """A closure cell changed from outside (``nonlocal`` in a setter), a mutable cell content
    changed in place, or a ``nonlocal`` counter the function itself increments."""
    calls = ch.integer(3, 5)
    style = ch.choice(["setter", "box", "counter", "tensor_cell"])
    y = chain(ch, "x")
    if style == "setter":
        factory = f"""\
            def make():
                k = 1.5
                def target(x):
                    return {y} * k
                def set_k(v):
                    nonlocal k
                    k = v
                return target, set_k
            target, set_k = make()"""
        changes = _changes(ch, calls, [0.5, 3.0, 1.5], "set_k({v})")
        observe = ""
    elif style == "box":
        factory = f"""\
            def make():
                box = [1.5, 'tanh']
                def target(x):
                    return getattr(gt, box[1])({y}) * box[0]
                return target, box
            target, box = make()"""
        changes = {c: [ch.choice(["box[0] = 0.25", "box[1] = 'sigmoid'", "box[0] = 1.5"])]
                   for c in schedule(ch, calls)}
        observe = ""
    elif style == "counter":
        factory = f"""\
            def make():
                n = 0
                def target(x):
                    nonlocal n
                    n += 1
                    return {y} * n
                def count():
                    return n
                return target, count
            target, count = make()"""
        changes = {}
        observe = "def observe():\n    return {'n': count()}"
    else:
        factory = f"""\
            def make():
                w = gt.ones(4)
                def target(x):
                    return {y} * w
                def set_w(v):
                    nonlocal w
                    w = v
                return target, set_w
            target, set_w = make()"""
        changes = _changes(ch, calls, ["gt.randn(4)", "gt.full((4,), 3.0)"], "set_w({v})")
        observe = ""
    return Scenario("", "", source(
        factory, f"def make_args(call):\n    return ({randn((3, 4))},)",
        between_block(changes) if changes else "", observe), calls=calls)


@kind
def container_entry(ch: Chooser) -> Scenario:
    """``cfg["s"]``, ``lst[0]``, ``len(lst)``, ``cfg.scale``, ``cfg.sub.k`` read while tracing,
    changed in place between calls; also iteration over the list or the dict's values, the
    truth of a list, ``==`` and ``in`` on containers, and a ``functools.partial``'s
    keywords."""
    calls = ch.integer(3, 5)
    y = chain(ch, "x")
    style = ch.choice(["dict", "list", "len", "attr", "nested", "get", "iterate", "values",
                       "truth", "compare", "contains", "partial"])
    state = ("import functools\nclass Cfg:\n    pass\ncfg = Cfg()\ncfg.scale = 1.5\n"
             "cfg.sub = Cfg()\ncfg.sub.k = 2\nCFG = {'s': 1.5, 'act': 'tanh'}\n"
             "LST = [1.5, 0.5]\nHOOKS = []\n"
             "def scaled(t, k=1.0):\n    return t * k\nP = functools.partial(scaled, k=2.0)")
    reads = {
        "dict": (f"{y} * CFG['s'] + CFG['s']", ["CFG['s'] = {v}"], [0.5, 3.0]),
        "get": (f"getattr(gt, CFG.get('act', 'relu'))({y})",
                ["CFG['act'] = {v}", "del CFG['act']"], ["'sigmoid'", "'tanh'"]),
        "list": (f"{y} * LST[0] - LST[1]", ["LST[0] = {v}", "LST[1] = {v}"], [2.0, -1.0]),
        "len": (f"{y}.sum() * len(LST) + sum(LST)", ["LST.append({v})", "LST.pop()"],
                [2.0, 0.25]),
        "attr": (f"{y} * cfg.scale", ["cfg.scale = {v}"], [0.5, 2.5]),
        "nested": (f"{y}.pow(cfg.sub.k)", ["cfg.sub.k = {v}", "cfg.sub = Cfg(); cfg.sub.k = {v}"],
                   [1, 3]),
        "iterate": (f"gt.stack([{y} * s for s in LST]).sum(0)",
                    ["LST.append({v})", "LST[0] = {v}"], [2.0, -0.5]),
        "values": (f"{y} * sum(v for v in CFG.values() if not isinstance(v, str))",
                   ["CFG['s'] = {v}", "CFG['t'] = {v}"], [0.5, 2.0]),
        "truth": (f"({y} * 2.0 if HOOKS else {y} * 3.0) + (1.0 if not HOOKS else 0.0)",
                  ["HOOKS.append({v})", "HOOKS.clear()"], [1, 2]),
        "compare": (f"{y} + 1.0 if LST == [1.5, 0.5] else {y} - 1.0",
                    ["LST[0] = {v}", "LST[0] = 1.5"], [2.0, 1.5]),
        "contains": (f"{y} * 2.0 if 'act' in CFG else {y}",
                     ["CFG.pop('act', None)", "CFG['act'] = {v}"], ["'tanh'"]),
        "partial": (f"P({y})", ["P.keywords['k'] = {v}"], [0.5, 3.0]),
    }
    body, stmts, values = reads[style]
    changes = {c: [ch.choice(stmts).format(v=ch.choice(values))] for c in schedule(ch, calls)}
    if style == "len":  # never pop below the two entries the body reads
        changes = {c: [f"LST.append({ch.choice(values)})"] for c in changes}
    if style == "get":  # the key is put back before the next deletion
        changes = {c: [s if "del" not in s else "CFG.pop('act', None)"]
                   for c, (s,) in changes.items()}
    return Scenario("", "", source(
        state, f"def target(x):\n    return {body}",
        f"def make_args(call):\n    return ({randn((3, 4))},)", between_block(changes),
        "def observe():\n    return {'CFG': dict(CFG), 'LST': list(LST)}"), calls=calls)


@kind
def container_argument(ch: Chooser) -> Scenario:
    """A dict/list argument: the same object mutated between calls, or a new one with other
    values each call (floats, ints and tensors inside)."""
    calls = ch.integer(3, 5)
    y = chain(ch, "x")
    style = ch.choice(["same_dict", "same_list", "new_list", "new_dict", "tuple"])
    if style == "same_dict":
        state, arg = "OPTS = {'scale': 2.0, 'shift': 0.5}", "OPTS"
        body = f"{y} * opts['scale'] + opts['shift']"
        changes = {c: [f"OPTS[{ch.choice(['scale', 'shift'])!r}] = {ch.real(-2, 2)}"]
                   for c in schedule(ch, calls)}
    elif style == "same_list":
        state, arg = "OPTS = [2.0, gt.ones(4)]", "OPTS"
        body = f"{y} * opts[0] + opts[1]"
        changes = {c: [ch.choice([f"OPTS[0] = {ch.real(-2, 2)}", "OPTS[1] = gt.randn(4)",
                                  "OPTS[1].mul_(2.0)"])] for c in schedule(ch, calls)}
    elif style == "new_list":
        state, arg = "", "[1.0 + call, gt.full((4,), float(call))]"
        body = f"{y} * opts[0] + opts[1]"
        changes = {}
    elif style == "new_dict":
        state, arg = "", "{'scale': 1.0 + call, 'n': 1 + call % 2}"
        body = f"{y}.pow(opts['n']) * opts['scale']"
        changes = {}
    else:
        state, arg = "", "(0.5 * call, 2)"
        body = f"{y} * opts[0] + opts[1]"
        changes = {}
    return Scenario("", "", source(
        state, f"def target(x, opts):\n    return {body}",
        f"def make_args(call):\n    return ({randn((3, 4))}, {arg})",
        between_block(changes) if changes else ""), calls=calls)


@kind
def cond_flag(ch: Chooser) -> Scenario:
    """``gt.cond`` on a Python bool read from state (``bool(FLAG[0])``, a global, an
    attribute) that flips between calls."""
    calls = ch.integer(3, 5)
    style = ch.choice(["list", "global", "tensor"])
    pred = {"list": "bool(FLAG[0])", "global": "FLAG", "tensor": "TFLAG"}[style]
    state = {"list": "FLAG = [True]", "global": "FLAG = True",
             "tensor": "TFLAG = gt.tensor(True)"}[style]
    flip = {"list": "FLAG[0] = not FLAG[0]", "global": "FLAG = not FLAG",
            "tensor": ch.choice(["TFLAG.fill_(not bool(TFLAG))",
                                 "TFLAG = gt.tensor(not bool(TFLAG))"])}[style]
    globals_ = "FLAG" if style == "global" else "TFLAG" if "TFLAG =" in flip else ""
    a, b = chain(ch, "a", 1), chain(ch, "a", 1)
    return Scenario("", "", source(
        state,
        f"def target(x):\n    return gt.cond({pred}, lambda a: {a} * 2.0, "
        f"lambda a: {b} - 1.0, (x,))",
        f"def make_args(call):\n    return ({randn((3, 4))},)",
        between_block({c: [flip] for c in schedule(ch, calls)}, globals_)), calls=calls)


@kind
def python_random(ch: Chooser) -> Scenario:
    """Python's ``random`` inside the function or inside a module's ``forward``: eager draws
    a new value every call."""
    calls = ch.integer(3, 5)
    draw = ch.choice(["x * random.randint(1, 9)", "x + random.random()",
                      "getattr(gt, random.choice(['tanh', 'sigmoid', 'relu']))(x)",
                      "x[:random.randint(1, 3)]", "x * random.uniform(-1.0, 1.0)"])
    if ch.boolean():
        definition = f"def target(x):\n    x = {chain(ch, 'x')}\n    return {draw}"
    else:
        definition = (f"class Noisy(nn.Module):\n    def forward(self, x):\n"
                      f"        x = {chain(ch, 'x')}\n        return {draw}\n"
                      "model = Noisy()\n" +
                      ch.choice(["target = model", "def target(x):\n    return model(x)"]))
    return Scenario("", "", source(
        definition, f"def make_args(call):\n    return ({randn((3, 4))},)"),
        calls=calls, reseed_each_call=ch.boolean())


@kind
def python_side_effect(ch: Chooser) -> Scenario:
    """The function changes Python state itself (a global counter, a list log, a dict
    entry) and uses it: eager does so on every call."""
    calls = ch.integer(3, 5)
    style = ch.choice(["counter", "log", "dict"])
    y = chain(ch, "x")
    body = {
        "counter": f"    global COUNT\n    COUNT += 1\n    return {y} * COUNT",
        "log": f"    LOG.append(x.shape[0])\n    return {y} * len(LOG)",
        "dict": f"    SEEN['calls'] = SEEN.get('calls', 0) + 1\n    return {y} + SEEN['calls']",
    }[style]
    return Scenario("", "", source(
        "COUNT = 0\nLOG = []\nSEEN = {}",
        f"def target(x):\n{body}",
        f"def make_args(call):\n    return ({randn((3, 4))},)",
        "def observe():\n    return {'COUNT': COUNT, 'LOG': list(LOG), 'SEEN': dict(SEEN)}"),
        calls=calls)


@kind
def recompile_limit(ch: Chooser) -> Scenario:
    """A guarded value that changes on every call (a Python global, an argument's shape or
    a Python argument) past the recompile limit: later calls must still be right (eager,
    with the RuntimeWarning), including calls that return to an early value."""
    calls = ch.integer(10, 13)
    style = ch.choice(["global", "shape", "python_arg"])
    y = chain(ch, "x")
    if style == "global":
        body, args = f"{y} * K", f"({randn((3, 4))},)"
        changes = {c: [f"K = {ch.choice([1.0, 2.0, 3.0]) if c % 4 == 3 else float(c + 2)}"]
                   for c in range(calls - 1)}
        extra = between_block(changes, "K")
    elif style == "shape":
        body, args, extra = f"{y}.sum(0) * 2.0", "(gt.randn(call % 7 + 1, 2 + call % 3),)", ""
    else:
        body, args, extra = f"{y} * k", f"({randn((3, 4))}, [0.5, 1.5, 2.5][call % 3] + call)", ""
    signature = "x, k" if style == "python_arg" else "x"
    return Scenario("", "", source(
        "K = 1.0", f"def target({signature}):\n    return {body}",
        f"def make_args(call):\n    return {args}", extra), calls=calls,
        compile_kwargs=ch.choice([{}, {"dynamic": False}]))


# What code reads from a tensor argument into Python, and how it branches or computes on it;
# {x} is the argument. Some reads need values (a graph break), some only metadata (guards).
TENSOR_READS = [
    "{x} * 2.0 if {x}.sum().item() > 0 else {x} - 1.0",
    "{x} * {x}.tolist()[0][0]",
    "sum(row.sum() for row in {x}) * len({x})",
    "{x}[: {x}.shape[0] - 1] if {x}.shape[0] > 2 else {x} * 3.0",
    "{x} * (2.0 if isinstance({x}, nn.Parameter) else 3.0)",
    "{x} * ({x}._version + 1)",
    "{x} * (2.0 if {x}.requires_grad else 3.0)",
    "{x}.double() if {x}.dtype == gt.float32 else {x} * 2",
    "{x}.view(-1) if {x}.is_contiguous() else {x}.reshape(-1) * 2.0",
    "{x} * float({x}.max()) + int({x}.argmax())",
    "gt.stack([r * i for i, r in enumerate({x})])",
]

# Arguments that vary in exactly what those reads see: values, size, class, version counter,
# requires_grad, dtype, layout.
TENSOR_ARGUMENTS = [
    "gt.randn(3, 4)", "gt.randn(2 + call, 4)", "nn.Parameter(gt.randn(3, 4)) if call % 2 else "
    "gt.randn(3, 4)", "gt.randn(3, 4).add_(0.0) if call == 1 else gt.randn(3, 4)",
    "gt.randn(3, 4, requires_grad=call != 1)", "gt.randn(3, 4, dtype=[gt.float32, gt.float64]"
    "[call % 2])", "gt.randn(4, 3).t() if call == 1 else gt.randn(3, 4)",
]


@kind
def tensor_reads(ch: Chooser) -> Scenario:
    """Python reads of a tensor argument (``.item()``, ``.tolist()``, ``len``, iteration,
    its shape, class, version counter, requires_grad, dtype, layout) branching the code,
    with arguments that change exactly those between calls."""
    calls = ch.integer(3, 4)
    body = ch.choice(TENSOR_READS).format(x="x")
    argument = ch.choice(TENSOR_ARGUMENTS)
    return Scenario("", "", source(
        f"def target(x):\n    return {body}",
        f"def make_args(call):\n    return ({argument},)",
        "def after(call, out):\n    out.sum().backward() if out.requires_grad else None"),
        calls=calls)
