"""Algebraic simplification: a small table of local rewrite rules run to a fixed point.

Each rule looks at one op node (whose inputs are already simplified) and returns the
values replacing its outputs, or None. A rule fires only when the result is the same
tensor (shape and dtype included), so broadcasting and type promotion block it:
``x * 1`` is ``x`` for an f32 ``x``, but not for an i64 ``x * 1.0`` (f32) or an
``x[3] * ones[2, 3]`` (a larger shape). ``x * 0`` is never ``0`` (NaN and inf). Every
elementwise op also reads through an ``expand`` input when broadcasting gives the same
result (a reduction's gradient stays a scalar instead of a full-size array).
"""

from __future__ import annotations

from ..ir.graph import Graph, Node, NodeKind, Value, as_metas, infer_args
from ..ops import elementwise as elementwise_ops
from ..ops import matmul as matmul_ops
from ..ops import unary_math, views
from ..ops.constant import CONSTANT, constant_array
from ..ops.registry import Category, OpDef
from ..ops.shape_rules import normalize_dim
from .memory_planning import may_alias_inputs

MAX_ROUNDS = 8
_NUMBER = (bool, int, float, complex)


def _number(v: Value):
    """The Python number `v` stands for: a scalar constant, or a `constant` node whose
    elements are all equal; None otherwise."""
    if v.is_const:
        return v.const if type(v.const) in _NUMBER else None
    if v.node.kind is NodeKind.OP and v.node.op is CONSTANT:
        a = constant_array(v.node.attrs["value"])
        if a.size and a.dtype.kind in "biufc" and (a == a.flat[0]).all():
            return a.flat[0].item()
    return None


def _same(node, x: Value):
    """[x] when `node`'s single output is exactly x's shape and dtype, else None."""
    if not x.is_const and len(node.outputs) == 1 and node.outputs[0].meta == x.meta:
        return [x]
    return None


def _is(value, target) -> bool:
    return value is not None and value == target


def _alpha_is_one(node) -> bool:
    return node.attrs.get("alpha", 1) == 1


# --- identities: x*1, 1*x, x+0, 0+x, x-0, x/1, x**1 ----------------------------------------

def _mul_by_one(graph, node):
    a, b = node.inputs
    if _is(_number(b), 1):
        return _same(node, a)
    if _is(_number(a), 1):
        return _same(node, b)
    return None


def _add_zero(graph, node):
    """x + 0 -> x. The only bit that can change is a zero's sign: -0.0 + 0 is +0.0 in
    IEEE arithmetic but -0.0 after the rewrite (equal values; compilers do the same)."""
    if not _alpha_is_one(node):
        return None
    a, b = node.inputs
    if _is(_number(b), 0):
        return _same(node, a)
    if _is(_number(a), 0):
        return _same(node, b)
    return None


def _sub_zero(graph, node):
    a, b = node.inputs
    return _same(node, a) if _alpha_is_one(node) and _is(_number(b), 0) else None


def _div_by_one(graph, node):
    a, b = node.inputs
    return _same(node, a) if _is(_number(b), 1) else None


def _pow_rules(graph, node):
    """x ** 1 -> x; x ** 2 -> x * x and x ** 3 -> x * x * x for f32/f64 x. NumPy's float
    power is ~5x (square) to ~300x (cube) slower than multiply. x * x equals power(x, 2)
    exactly; x * x * x rounds twice, so it can differ from power(x, 3) by about 1 ulp
    (the relative difference stays within 2 eps)."""
    x, b = node.inputs
    e = _number(b) if b.is_const else None
    if _is(e, 1) and type(e) is not bool:
        return _same(node, x)
    if x.is_const or type(e) not in (int, float) or e not in (2, 3) or \
            x.meta.dtype.name not in ("float32", "float64") or not _same(node, x):
        return None
    mul = elementwise_ops.MUL
    square = graph.insert(mul, [x, x], before=node)
    return [square if e == 2 else graph.insert(mul, [square, x], before=node)]


# --- inverse pairs and chains ----------------------------------------------------------

def _neg_neg(graph, node):
    (x,) = node.inputs
    if not x.is_const and x.node.kind is NodeKind.OP and x.node.op is unary_math.NEG:
        return _same(node, x.node.inputs[0])
    return None


def _permutation(node) -> tuple:
    """The dims a transpose/permute node reorders its input by (output dim i is input dim
    perm[i])."""
    ndim = len(node.inputs[0].meta.shape)
    if node.op is views.PERMUTE:
        return tuple(normalize_dim(d, ndim) for d in node.attrs["dims"])
    perm = list(range(ndim))
    if ndim:
        i, j = (normalize_dim(node.attrs[k], ndim) for k in ("dim0", "dim1"))
        perm[i], perm[j] = perm[j], perm[i]
    return tuple(perm)


def _permute_chain(graph, node):
    """permute/transpose of a permute/transpose -> one permute, or x when they cancel;
    an identity permutation -> x."""
    x = node.inputs[0]
    perm = _permutation(node)
    if perm == tuple(range(len(perm))):
        return _same(node, x)
    inner = x.node
    if inner.kind is not NodeKind.OP or inner.op not in (views.PERMUTE, views.TRANSPOSE):
        return None
    first = _permutation(inner)
    composed = tuple(first[p] for p in perm)
    source = inner.inputs[0]
    if composed == tuple(range(len(composed))):
        return _same(node, source)
    return [graph.insert(views.PERMUTE, [source], {"dims": composed}, before=node)]


def _transposed_matmul(graph, node):
    """transpose(matmul(a, b)) of 2-D operands -> matmul(transpose(b), transpose(a)) when
    the product has no other reader: BLAS then writes the result in the layout it is read
    in (weight gradients of Linear layers come out contiguous instead of as a transposed
    view every later elementwise pass would read with a stride). The dot products are the
    same; the summation order inside BLAS may differ in the last bit."""
    x = node.inputs[0]
    inner = x.node
    if inner.kind is not NodeKind.OP or inner.op is not matmul_ops.MATMUL or x.meta.ndim != 2 \
            or _permutation(node) != (1, 0):
        return None
    a, b = inner.inputs
    if a.is_const or b.is_const or a.meta.ndim != 2 or b.meta.ndim != 2:
        return None
    if graph.readers(x) != 1:
        return None
    transpose = views.TRANSPOSE
    bt = graph.insert(transpose, [b], {"dim0": 0, "dim1": 1}, before=node)
    at = graph.insert(transpose, [a], {"dim0": 0, "dim1": 1}, before=node)
    return [graph.insert(matmul_ops.MATMUL, [bt, at], {}, before=node)]


def _private_clone(graph, node):
    """clone(x) -> x when no one else can see x's memory: x comes (through view ops with a
    single reader each) from an op that allocates, and nothing else reads it. Graph values
    are never written in place, so the copy only costs time and memory (autograd clones
    every gradient it stores in .grad; in a compiled step that copy is this node)."""
    x = node.inputs[0]
    if x.is_const:
        return None
    v = x
    while True:
        if graph.readers(v) != 1:
            return None
        producer = v.node
        if producer.kind is not NodeKind.OP or producer.op.num_outputs != 1:
            return None
        if producer.op is views.ALIAS:
            v = producer.inputs[0]
            continue
        if may_alias_inputs(producer) or producer.op is CONSTANT:
            return None
        break
    if x.meta != node.outputs[0].meta:
        return None
    return _same(node, x)


def _transpose_rules(graph, node):
    return _permute_chain(graph, node) or _transposed_matmul(graph, node)


_RESHAPES = (views.VIEW_OP, views.UNSAFE_VIEW)


def _reshape_chain(graph, node):
    """A reshape to the input's own shape -> x; view/unsafe_view of a view/unsafe_view ->
    one reshape of the first input (a `view` only when both were views: unsafe_view may
    copy, so it also accepts inputs a view could not reshape)."""
    x = node.inputs[0]
    shape = node.outputs[0].meta.shape
    if x.meta.shape == shape:
        return _same(node, x)
    inner = x.node
    if inner.kind is not NodeKind.OP or inner.op not in _RESHAPES:
        return None
    source = inner.inputs[0]
    if source.meta.shape == shape:
        return _same(node, source)
    op = views.VIEW_OP if node.op is inner.op is views.VIEW_OP else views.UNSAFE_VIEW
    return [graph.insert(op, [source], {"shape": tuple(shape)}, before=node)]


def _same_dtype_cast(graph, node):
    x = node.inputs[0]
    return _same(node, x) if node.attrs.get("dtype") is x.meta.dtype else None


def _untracked_write(graph, node):
    """untracked_write(old, new) -> new: after gradient generation the autograd identity it
    keeps for `old` has done its job; the value is `new`."""
    return _same(node, node.inputs[1])


def _broadcast_in_place_of_expand(graph, node):
    """An elementwise op reads the source of an `expand` input instead, when broadcasting
    gives the same result (shape and dtype): ``mul(expand(g / n), x)`` -> ``mul(g / n, x)``.
    Backends then read a scalar or a row instead of a stride-0 view that they would copy
    (or that constant folding would turn into a full-size constant)."""
    inputs = list(node.inputs)
    if any(isinstance(v, list) for v in inputs):
        return None
    want = tuple(v.meta for v in node.outputs)
    changed = False
    for i, v in enumerate(inputs):  # one expand at a time: each kept only if harmless
        if v.is_const or v.node.kind is not NodeKind.OP or v.node.op is not views.EXPAND:
            continue
        trial = inputs[:i] + [v.node.inputs[0]] + inputs[i + 1:]
        try:
            metas = as_metas(node.op.infer(*[x.const if x.is_const else x.meta for x in trial],
                                           **node.attrs))
        except Exception:  # noqa: BLE001, S112 - the op refuses the smaller operand
            continue
        if tuple(metas) == want:
            inputs, changed = trial, True
    if not changed:
        return None
    return [graph.insert(node.op, inputs, node.attrs, before=node)]


GENERIC_ELEMENTWISE = (_broadcast_in_place_of_expand,)

RULES: dict[OpDef, tuple] = {
    elementwise_ops.MUL: (_mul_by_one,),
    elementwise_ops.ADD: (_add_zero,),
    elementwise_ops.SUB: (_sub_zero,),
    elementwise_ops.DIV: (_div_by_one,),
    elementwise_ops.POW: (_pow_rules,),
    unary_math.NEG: (_neg_neg,),
    views.PERMUTE: (_permute_chain,),
    views.TRANSPOSE: (_transpose_rules,),
    views.VIEW_OP: (_reshape_chain,),
    views.UNSAFE_VIEW: (_reshape_chain,),
    elementwise_ops.TO_DTYPE: (_same_dtype_cast,),
    elementwise_ops.CLONE: (_private_clone,),
    views.UNTRACKED_WRITE: (_untracked_write,),
}


class _Round:
    """One pass over the graph: the new node list being built, the values replaced so far,
    and how many nodes read each value (kept current, so rules asking "is this the only
    reader?" need no scan). Rules see it as `graph`: `insert` adds a node before the one
    being rewritten, `readers` counts a value's reading nodes."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes: list[Node] = []
        self.mapping: dict[int, Value] = {}
        self.count: dict[int, int] = {}
        for node in graph.nodes:
            for vid in {v.id for v in node.tensor_inputs()}:
                self.count[vid] = self.count.get(vid, 0) + 1

    def readers(self, v: Value) -> int:
        return self.count.get(v.id, 0)

    def insert(self, op: OpDef, inputs, attrs=None, *, before: Node):
        """``op(*inputs)`` placed just before `before` (whose inputs it may read)."""
        graph = self.graph
        attrs = dict(attrs or {})
        node = Node(graph, NodeKind.OP, op, tuple(graph._as_value(x) for x in inputs), attrs,
                    source=before.source)
        node.grad_of = before.grad_of
        node.no_grad = before.no_grad
        metas = as_metas(op.infer(*infer_args(node), **attrs))
        node.outputs = tuple(graph._new_value(node, m, i) for i, m in enumerate(metas))
        for vid in {v.id for v in node.tensor_inputs()}:
            self.count[vid] = self.count.get(vid, 0) + 1
        self.nodes.append(node)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def substitute(self, node: Node) -> None:
        """Rewrite `node`'s inputs through the replacements made so far."""
        mapping = self.mapping
        if not mapping:
            return
        before = {v.id for v in node.tensor_inputs()}
        if not before & mapping.keys():
            return
        items = []
        for item in node.inputs:
            if isinstance(item, list):
                items.append([mapping.get(v.id, v) if not v.is_const else v for v in item])
            else:
                items.append(item if item.is_const else mapping.get(item.id, item))
        node.inputs = tuple(items)
        after = {v.id for v in node.tensor_inputs()}
        for vid in before - after:
            self.count[vid] -= 1
        for vid in after - before:
            self.count[vid] = self.count.get(vid, 0) + 1


def _simplify_once(graph: Graph, clones: bool = True) -> bool:
    """One round of the rules; `clones=False` leaves clones alone (see `simplify`)."""
    rnd = _Round(graph)
    replaced = []
    for node in graph.nodes:
        rnd.substitute(node)
        new = None
        if node.kind is NodeKind.OP:
            rules = RULES.get(node.op, ())
            if node.op.category is Category.ELEMENTWISE and not node.op.random:
                rules += GENERIC_ELEMENTWISE
            for rule in rules:
                if rule is _private_clone and not clones:
                    continue
                new = rule(rnd, node)
                if new is not None:
                    break
        if new is None:
            rnd.nodes.append(node)
            continue
        for old, v in zip(node.outputs, new):
            rnd.mapping[old.id] = _resolve(v, rnd.mapping)
        replaced.append(node)
        for vid in {v.id for v in node.tensor_inputs()}:
            rnd.count[vid] -= 1
    if not replaced:
        return False
    graph.nodes[:] = rnd.nodes
    _remove_orphans(graph, replaced, rnd.count)
    return True


def _resolve(v: Value, mapping: dict) -> Value:
    while not v.is_const and v.id in mapping:
        v = mapping[v.id]
    return v


def _remove_orphans(graph: Graph, replaced, readers: dict) -> None:
    """Remove non-random op nodes left without readers by the replacements (e.g. the inner
    ``neg`` of ``neg(neg(x))``), transitively."""
    doomed: set[int] = set()
    stack = [v.node for node in replaced for v in node.tensor_inputs()]
    while stack:
        producer = stack.pop()
        if producer.kind is not NodeKind.OP or producer.op.random or \
                producer.op.side_effects or id(producer) in doomed or \
                any(readers.get(o.id, 0) for o in producer.outputs):
            continue
        doomed.add(id(producer))
        for vid in {v.id for v in producer.tensor_inputs()}:
            readers[vid] -= 1
        stack.extend(v.node for v in producer.tensor_inputs())
    if doomed:
        graph.nodes[:] = [n for n in graph.nodes if id(n) not in doomed]


def simplify(graph: Graph) -> Graph:
    """Apply `RULES` until nothing changes (at most `MAX_ROUNDS` rounds); returns `graph`.

    Before::

        %1 = mul(%0, 1) : f32[4, 3]
        %2 = neg(%1) : f32[4, 3]
        %3 = neg(%2) : f32[4, 3]
        %4 = pow(%3, 2) : f32[4, 3]
        return (%4,)

    After::

        %5 = mul(%0, %0) : f32[4, 3]
        return (%5,)
    """
    # A clone is dropped only once no other rule fires: a later rule could turn the value
    # it copies from a fresh one into an input (``mul(expand(1), g)`` -> ``mul(1, g)`` ->
    # ``g``), and the clone was what kept `.grad` from aliasing `g`. Clones rewritten away
    # leave the other rules nothing new to turn into an alias (none reads reader counts).
    for _ in range(MAX_ROUNDS):
        if _simplify_once(graph, clones=False):
            continue
        if not _simplify_once(graph, clones=True):
            break
    return graph
