"""The margin and embedding losses (MarginRanking, HingeEmbedding, CosineEmbedding,
TripletMargin, SoftMargin, MultiLabelSoftMargin), PairwiseDistance and CosineSimilarity
against PyTorch: values and float64 gradients over shapes, options and reductions (module
and functional forms), repr, errors and legacy-reduction warnings; a few of them inside
`gt.compile` against eager."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import close, same_error, torch
from .loss_helpers import compare_loss

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def _x(*shape):
    return RNG.standard_normal(shape)


def _signs(*shape):
    return RNG.choice([-1.0, 1.0], size=shape)


def _module_and_functional(module_text, functional_text):
    """Both forms of one loss: make(lib) for nn.<module_text> and for F.<functional_text>
    (a lambda body over the arguments `a`)."""
    def module(lib):
        return eval("nn." + module_text, {"nn": lib.nn})

    def functional(lib):
        return eval("lambda *a: F." + functional_text, {"F": lib.nn.functional})
    return [module, functional]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin,shapes", [
    (0.0, [(6,), (6,), (6,)]), (0.5, [(3, 4), (3, 4), (3, 4)]),
    (0.2, [(3, 1), (3, 4), (1, 4)]),       # broadcasting inputs of the same rank
])
def test_margin_ranking_loss(margin, shapes, reduction):
    inputs = [_x(*shapes[0]), _x(*shapes[1]), _signs(*shapes[2])]
    for make in _module_and_functional(
            f"MarginRankingLoss(margin={margin}, reduction='{reduction}')",
            f"margin_ranking_loss(*a, margin={margin}, reduction='{reduction}')"):
        # unreduced, the last op is a clamp, which graphtorch's autograd names ClampBackward1
        compare_loss(make, inputs, grad_positions=(0, 1, 2), grad_fn=reduction != "none")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin,shape", [(1.0, (7,)), (0.5, (3, 4)), (2.0, (2, 3, 2))])
def test_hinge_embedding_loss(margin, shape, reduction):
    target = _signs(*shape)
    target.reshape(-1)[::5] = 0.0      # neither 1 nor -1: counts in both of ATen's terms
    for make in _module_and_functional(
            f"HingeEmbeddingLoss(margin={margin}, reduction='{reduction}')",
            f"hinge_embedding_loss(*a, margin={margin}, reduction='{reduction}')"):
        compare_loss(make, [_x(*shape) * 2, target], grad_fn=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin,shape", [(0.0, (5, 4)), (0.3, (3, 6)), (-0.2, (4,))])
def test_cosine_embedding_loss(margin, shape, reduction):
    target = np.array([1, -1, 1, -1, 1][:shape[0]]) if len(shape) == 2 else np.array(-1)
    for make in _module_and_functional(
            f"CosineEmbeddingLoss(margin={margin}, reduction='{reduction}')",
            f"cosine_embedding_loss(*a, margin={margin}, reduction='{reduction}')"):
        compare_loss(make, [_x(*shape), _x(*shape), target], grad_positions=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options,shapes", [
    ("", [(5, 4)] * 3), ("p=1.0, swap=True", [(5, 4)] * 3),
    ("p=3.0, eps=1e-3, margin=0.5", [(4, 6)] * 3), ("swap=True", [(6,)] * 3),
    ("margin=2.0", [(1, 4), (3, 4), (3, 4)]),
])
def test_triplet_margin_loss(options, shapes, reduction):
    inputs = [_x(*s) for s in shapes]
    sep = ", " if options else ""
    for make in _module_and_functional(
            f"TripletMarginLoss({options}{sep}reduction='{reduction}')",
            f"triplet_margin_loss(*a, {options}{sep}reduction='{reduction}')"):
        compare_loss(make, inputs, grad_positions=(0, 1, 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_soft_margin_loss(shape, reduction):
    for make in _module_and_functional(f"SoftMarginLoss(reduction='{reduction}')",
                                       f"soft_margin_loss(*a, reduction='{reduction}')"):
        compare_loss(make, [_x(*shape) * 3, _signs(*shape)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weighted", [((4, 5), False), ((4, 5), True), ((6,), False),
                                            ((2, 3, 4), True)])
def test_multilabel_soft_margin_loss(shape, weighted, reduction):
    target = RNG.integers(0, 2, size=shape).astype(np.float64)
    weight = RNG.uniform(0.5, 2.0, size=shape[-1:]) if weighted else None

    def module(lib):
        w = None if weight is None else lib.tensor(weight)
        return lib.nn.MultiLabelSoftMarginLoss(weight=w, reduction=reduction)

    def functional(lib):
        w = None if weight is None else lib.tensor(weight)
        return lambda x, y: lib.nn.functional.multilabel_soft_margin_loss(
            x, y, weight=w, reduction=reduction)
    for make in (module, functional):
        compare_loss(make, [_x(*shape) * 2, target], grad_positions=(0, 1))


def test_float32_values():
    x, y, t = (_x(4, 5).astype(np.float32) for _ in range(3))
    signs = _signs(4).astype(np.float32)
    for make in (lambda lib: lib.nn.TripletMarginLoss(), lambda lib: lib.nn.SoftMarginLoss(),
                 lambda lib: lib.nn.MultiLabelSoftMarginLoss()):
        n = 3 if make(torch).__class__.__name__.startswith("Triplet") else 2
        compare_loss(make, [x, y, t][:n], rtol=1e-5, atol=1e-6)
    compare_loss(lambda lib: lib.nn.CosineEmbeddingLoss(), [x, y, signs], rtol=1e-5,
                 atol=1e-6)


def test_reprs_and_attributes():
    texts = ["MarginRankingLoss()", "MarginRankingLoss(margin=0.5, reduction='sum')",
             "HingeEmbeddingLoss(2.0)", "CosineEmbeddingLoss(0.1)", "SoftMarginLoss()",
             "TripletMarginLoss(margin=0.3, p=1, eps=1e-3, swap=True)",
             "MultiLabelSoftMarginLoss()", "PairwiseDistance(p=1.0, keepdim=True)",
             "CosineSimilarity(dim=0, eps=1e-6)"]
    for text in texts:
        t, g = (eval("nn." + text, {"nn": lib.nn}) for lib in (torch, gt))
        assert repr(g) == repr(t)
        for name in ("margin", "reduction", "p", "eps", "swap", "norm", "keepdim", "dim"):
            assert getattr(g, name, None) == getattr(t, name, None), (text, name)


@pytest.mark.parametrize("call", [
    "nn.MarginRankingLoss()(ones(3), ones(3), ones(3, 1))",
    "nn.MarginRankingLoss(reduction='avg')(ones(3), ones(3), ones(3))",
    "nn.CosineEmbeddingLoss()(ones(2, 3), ones(2, 3), ones(2, 1))",
    "nn.CosineEmbeddingLoss()(ones(2, 3, 1), ones(2, 3, 1), ones(2))",
    "nn.CosineEmbeddingLoss()(ones(2, 3), ones(2, 3), ones(()))",
    "nn.TripletMarginLoss(margin=0.0)",
    "F.triplet_margin_loss(ones(2, 3), ones(2, 3), ones(2, 3), margin=-1.0)",
    "nn.TripletMarginLoss()(ones(2, 3), ones(2, 3), ones(3))",
    "nn.HingeEmbeddingLoss(reduction='batchmean')(ones(3), ones(3))",
    "nn.MultiLabelSoftMarginLoss(reduction='avg')(ones(2, 3), ones(2, 3))",
    "nn.SoftMarginLoss()(ones(3), ones(3).requires_grad_())",
])
def test_errors(call):
    same_error(lambda lib: eval(call, {"nn": lib.nn, "F": lib.nn.functional,
                                       "ones": lambda *s: lib.ones(*s)}))


def test_legacy_size_average_and_reduce_warn_and_pick_the_reduction():
    x, y, s = _x(4), _x(4), _signs(4)
    for kwargs in ({"size_average": False}, {"reduce": False}):
        for lib in (torch, gt):
            with pytest.warns(UserWarning, match="reduction='"):
                loss = lib.nn.MarginRankingLoss(**kwargs)
            assert loss.reduction == ("sum" if "size_average" in kwargs else "none")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare_loss(lambda lib, kw=kwargs: lambda *a: lib.nn.functional.soft_margin_loss(
                *a, **kw), [x, s])
            compare_loss(lambda lib, kw=kwargs: lambda *a: lib.nn.functional.margin_ranking_loss(
                *a, **kw), [x, y, s])


@pytest.mark.parametrize("options,shapes", [
    ("", [(4, 5), (4, 5)]), ("p=1.0, keepdim=True", [(4, 5), (1, 5)]),
    ("p=3.0, eps=1e-3", [(2, 3, 4), (2, 3, 4)]), ("p=float('inf')", [(3, 4), (3, 4)]),
    ("", [(5,), (5,)]),
])
def test_pairwise_distance_module(options, shapes):
    make = lambda lib: eval(f"nn.PairwiseDistance({options})", {"nn": lib.nn})
    compare_loss(make, [_x(*s) for s in shapes], grad_positions=(0, 1))


@pytest.mark.parametrize("options,shapes", [
    ("", [(4, 5), (4, 5)]), ("dim=0", [(4, 5), (4, 5)]), ("dim=-1, eps=1e-3", [(3, 4), (1, 4)]),
    ("dim=1", [(2, 3, 4), (2, 3, 4)]),
])
def test_cosine_similarity_module(options, shapes):
    make = lambda lib: eval(f"nn.CosineSimilarity({options})", {"nn": lib.nn})
    compare_loss(make, [_x(*s) for s in shapes], grad_positions=(0, 1))


# --- inside gt.compile ------------------------------------------------------------------------

def test_padding_instance_norm_and_margin_losses_compiled_match_eager():
    """A small siamese embedding net (reflection/replication/zero padding, a convolution,
    instance norm with tracked statistics) trained on triplet + margin-ranking + soft-margin
    losses: the compiled step is one graph and agrees with eager on loss, gradients and the
    running statistics."""
    nn = gt.nn

    def build():
        gt.manual_seed(0)
        return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(2, 3, 3),
                             nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                             nn.ReLU(), nn.ReplicationPad2d((1, 0, 2, 1)), nn.CircularPad2d(1),
                             nn.ZeroPad2d(1), nn.Flatten())
    triplet, ranking = nn.TripletMarginLoss(margin=0.5, swap=True), nn.MarginRankingLoss(0.1)
    soft, cos = nn.SoftMarginLoss(), nn.CosineSimilarity()
    data = [gt.tensor(np.random.default_rng(i).standard_normal((4, 2, 5, 6)).astype(np.float32))
            for i in range(3)]
    signs = gt.tensor([1.0, -1.0, 1.0, 1.0])

    def run(model, compiled):
        def step(a, p, n, t):
            ea, ep, en = model(a), model(p), model(n)
            sim_p, sim_n = cos(ea, ep), cos(ea, en)
            return triplet(ea, ep, en) + ranking(sim_p, sim_n, t) + soft(sim_p - sim_n, t)
        fn = gt.compile(step) if compiled else step
        losses = []
        for _ in range(2):
            model.zero_grad()
            loss = fn(*data, signs)
            loss.backward()
            losses.append(loss)
        return fn, losses, [p.grad.clone() for p in model.parameters()]

    eager_model, compiled_model = build(), build()
    _, want, want_grads = run(eager_model, False)
    fn, got, got_grads = run(compiled_model, True)
    for g, w in zip(got, want):
        close(g, w, 1e-5, 1e-6, "loss")
    for g, w in zip(got_grads, want_grads):
        close(g, w, 1e-4, 1e-5, "grad")
    norm_c, norm_e = compiled_model[2], eager_model[2]
    close(norm_c.running_mean, norm_e.running_mean, 1e-5, 1e-6, "running_mean")
    close(norm_c.running_var, norm_e.running_var, 1e-5, 1e-6, "running_var")
    assert fn.stats.graph_breaks == [] and fn.compile_count == 1
