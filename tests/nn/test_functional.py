"""`gt.nn.functional` against `torch.nn.functional`: values, gradients, grad_fn names,
dropout statistics and errors (plus the errors of the sorting/scan/softmax functions)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(array, requires_grad=True):
    t = torch.tensor(array, requires_grad=requires_grad)
    g = gt.tensor(array, requires_grad=requires_grad)
    return t, g


def _compare(name, fn_t, fn_g, *arrays, atol=1e-6, rtol=1e-5, grad=True):
    """Run both libraries on the same float64 data; compare outputs and input gradients."""
    pairs = [_pair(a, grad) for a in arrays]
    out_t = fn_t(*[p[0] for p in pairs])
    out_g = fn_g(*[p[1] for p in pairs])
    assert tuple(out_g.shape) == tuple(out_t.shape), name
    assert repr(out_g.dtype) == str(out_t.dtype), name
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=atol,
                               rtol=rtol, err_msg=name)
    if not grad:
        return
    cot = np.random.default_rng(1).uniform(-1, 1, size=tuple(out_t.shape))
    (out_t * torch.tensor(cot)).sum().backward()
    (out_g * gt.tensor(cot)).sum().backward()
    for i, (t, g) in enumerate(pairs):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=atol * 10,
                                   rtol=rtol * 10, err_msg=f"{name}: grad of input {i}")


def _data(shape=(3, 5), seed=0, scale=3.0):
    x = np.random.default_rng(seed).uniform(-scale, scale, size=shape)
    # Keep clear of the kinks (0, +-1, +-3, +-0.5) where one-sided derivatives differ.
    for kink in (0.0, 1.0, -1.0, 3.0, -3.0, 0.5, -0.5):
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    return x


ACTIVATIONS = [
    ("relu", {}), ("relu6", {}), ("elu", {}), ("elu", {"alpha": 0.7}), ("selu", {}),
    ("celu", {}), ("celu", {"alpha": 2.0}), ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("silu", {}), ("mish", {}), ("sigmoid", {}), ("tanh", {}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}), ("softsign", {}), ("hardtanh", {}),
    ("hardtanh", {"min_val": -2.0, "max_val": 0.5}), ("hardsigmoid", {}), ("hardswish", {}),
    ("logsigmoid", {}), ("tanhshrink", {}), ("softshrink", {}), ("softshrink", {"lambd": 1.0}),
    ("hardshrink", {}), ("glu", {}), ("glu", {"dim": 0}),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_matches_torch(name, kwargs):
    shape = (4, 6)
    _compare(name, lambda x: getattr(TF, name)(x, **kwargs),
             lambda x: getattr(F, name)(x, **kwargs), _data(shape))


@pytest.mark.parametrize("shape", [(), (0, 3), (2, 3, 4)])
@pytest.mark.parametrize("name", ["relu", "elu", "selu", "gelu", "silu", "mish", "softplus",
                                  "hardsigmoid", "hardswish", "logsigmoid", "softsign"])
def test_activation_shapes(name, shape):
    _compare(name, getattr(TF, name), getattr(F, name), _data(shape))


def test_activation_extremes_are_finite():
    x = np.array([-1000.0, -50.0, -1.0, 1.0, 50.0, 1000.0])
    for name in ("softplus", "logsigmoid", "silu", "mish", "sigmoid", "elu", "celu", "selu",
                 "gelu"):
        _compare(name, getattr(TF, name), getattr(F, name), x)


@pytest.mark.parametrize("name,kwargs", [("relu", {}), ("relu6", {}), ("leaky_relu", {}),
                                         ("elu", {}), ("hardtanh", {}), ("silu", {}),
                                         ("selu", {}), ("celu", {}), ("hardsigmoid", {}),
                                         ("hardswish", {}), ("mish", {}),
                                         ("threshold", {"threshold": 0.5, "value": -2.0})])
def test_inplace_activation(name, kwargs):
    x = _data((3, 4))
    t, g = _pair(x)
    yt, yg = t * 1.5, g * 1.5
    rt = getattr(TF, name)(yt, inplace=True, **kwargs)
    rg = getattr(F, name)(yg, inplace=True, **kwargs)
    assert rg is yg and rt is yt
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    yt.sum().backward()
    yg.sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_inplace_on_leaf_requiring_grad_fails():
    x = gt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.relu(x, inplace=True)


@pytest.mark.parametrize("name,expected", [
    ("relu", "ReluBackward0"), ("relu6", "HardtanhBackward0"), ("hardtanh", "HardtanhBackward0"),
    ("leaky_relu", "LeakyReluBackward0"), ("elu", "EluBackward0"), ("gelu", "GeluBackward0"),
    ("silu", "SiluBackward0"), ("softplus", "SoftplusBackward0"),
    ("sigmoid", "SigmoidBackward0"), ("tanh", "TanhBackward0")])
def test_grad_fn_names(name, expected):
    x = gt.randn(3, requires_grad=True)
    assert getattr(F, name)(x).grad_fn.name() == expected
    assert type(getattr(TF, name)(torch.randn(3, requires_grad=True)).grad_fn).__name__ \
        == expected


def test_softmax_family_grad_fn_names():
    x = gt.randn(3, 4, requires_grad=True)
    assert F.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert F.log_softmax(x, 1).grad_fn.name() == "LogSoftmaxBackward0"
    assert F.softmin(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert x.logsumexp(1).grad_fn.name() == "LogsumexpBackward0"
    assert x.prod().grad_fn.name() == "ProdBackward0"
    assert x.prod(1).grad_fn.name() == "ProdBackward1"
    assert x.cumsum(1).grad_fn.name() == "CumsumBackward0"
    assert x.cumprod(1).grad_fn.name() == "CumprodBackward0"
    assert x.cummax(1).values.grad_fn.name() == "CummaxBackward0"
    assert x.sort().values.grad_fn.name() == "SortBackward0"
    assert x.topk(2).values.grad_fn.name() == "TopkBackward0"
    assert x.median().grad_fn.name() == "MedianBackward0"
    assert x.median(1).values.grad_fn.name() == "MedianBackward1"
    assert x.sort().indices.grad_fn is None and not x.sort().indices.requires_grad


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 2)])
def test_softmax_implicit_dim_warns_like_torch(shape):
    x = _data(shape)
    for name in ("softmax", "log_softmax", "softmin"):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            got = getattr(F, name)(gt.tensor(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = getattr(TF, name)(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_softmax_family_values_and_grads():
    x = _data((3, 5))
    for name in ("softmax", "log_softmax", "softmin"):
        for dim in (0, 1, -1):
            _compare(name, lambda t, n=name, d=dim: getattr(TF, n)(t, dim=d),
                     lambda t, n=name, d=dim: getattr(F, n)(t, dim=d), x)
    _compare("softmax dtype", lambda t: TF.softmax(t.float(), 1, dtype=torch.float64),
             lambda t: F.softmax(t.float(), 1, dtype=gt.float64), x, atol=1e-6)


# --- linear maps -------------------------------------------------------------------------

@pytest.mark.parametrize("in_shape", [(4,), (2, 4), (5, 2, 4), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(in_shape, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=in_shape), rng.normal(size=(3, 4))]
    if bias:
        arrays.append(rng.normal(size=(3,)))
    _compare("linear", TF.linear, F.linear, *arrays)


def test_linear_grad_fn_and_errors():
    w = gt.randn(3, 4, requires_grad=True)
    b = gt.randn(3, requires_grad=True)
    assert F.linear(gt.randn(4), w, b).grad_fn.name() == "ViewBackward0"
    assert F.linear(gt.randn(5, 2, 4), w, b).grad_fn.name() == "ViewBackward0"
    assert F.linear(gt.randn(2, 4), w).grad_fn.name() == "MmBackward0"
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(2x4 and 5x3\)"):
        F.linear(gt.randn(2, 4), gt.randn(3, 5))
    with pytest.raises(RuntimeError, match="at least 1D"):
        F.linear(gt.tensor(2.0), gt.randn(3, 4))
    _compare("linear 1-D weight", TF.linear, F.linear, _data((2, 4)), _data((4,), seed=1))


def test_bilinear():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(5, 2)), rng.normal(size=(5, 3)), rng.normal(size=(4, 2, 3)),
              rng.normal(size=(4,))]
    _compare("bilinear", TF.bilinear, F.bilinear, *arrays)
    _compare("bilinear no bias", TF.bilinear, F.bilinear, *arrays[:3])


# --- norms and distances -----------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"p": 1}, {"p": 3.0, "dim": -1},
                                    {"p": math.inf}, {"dim": (0, 1)}])
def test_normalize(kwargs):
    _compare("normalize", lambda t: TF.normalize(t, **kwargs),
             lambda t: F.normalize(t, **kwargs), _data((3, 4)))


def test_normalize_zero_vector_has_finite_grad():
    x = np.zeros((2, 3))
    x[1] = [1.0, 2.0, 2.0]
    _compare("normalize zero", TF.normalize, F.normalize, x)


@pytest.mark.parametrize("shapes,dim", [(((3, 4), (3, 4)), 1), (((3, 4), (4,)), -1),
                                        (((2, 3, 4), (2, 3, 4)), 0), (((5,), (5,)), 0)])
def test_cosine_similarity(shapes, dim):
    arrays = [_data(s, seed=i) for i, s in enumerate(shapes)]
    _compare("cosine_similarity", lambda a, b: TF.cosine_similarity(a, b, dim=dim),
             lambda a, b: F.cosine_similarity(a, b, dim=dim), *arrays)


def test_cosine_similarity_degenerate_and_errors():
    x1 = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    x2 = np.array([[1.0, 2.0, 3.0], [1e-12, 0.0, 0.0]])
    _compare("cosine zero", TF.cosine_similarity, F.cosine_similarity, x1, x2)
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
        F.cosine_similarity(gt.tensor([1, 2]), gt.tensor([1, 2]), dim=0)


@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0}, {"keepdim": True}, {"p": 3.0, "eps": 0.0}])
def test_pairwise_distance(kwargs):
    _compare("pairwise_distance", lambda a, b: TF.pairwise_distance(a, b, **kwargs),
             lambda a, b: F.pairwise_distance(a, b, **kwargs), _data((3, 4)),
             _data((3, 4), seed=1))
    _compare("pairwise_distance 1-D", TF.pairwise_distance, F.pairwise_distance,
             _data((4,)), _data((4,), seed=1))


def test_prelu_threshold_rrelu_eval():
    x = _data((2, 3, 4))
    w = np.array([0.1, 0.2, 0.3])
    _compare("prelu", TF.prelu, F.prelu, x, w)
    _compare("prelu shared", TF.prelu, F.prelu, x, np.array([0.25]))
    _compare("threshold", lambda t: TF.threshold(t, 0.5, -3.0),
             lambda t: F.threshold(t, 0.5, -3.0), x)
    _compare("rrelu eval", TF.rrelu, F.rrelu, x)


def test_rrelu_training_slopes_in_range():
    x = -gt.ones(1000)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    assert bool(((y <= -0.1) & (y >= -0.3)).all())
    assert F.rrelu(gt.ones(3), training=True).tolist() == [1.0, 1.0, 1.0]


# --- dropout -------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [F.dropout, F.alpha_dropout, F.feature_alpha_dropout,
                                F.dropout1d, F.dropout2d, F.dropout3d])
@pytest.mark.parametrize("p", [1.5, -0.1])
def test_dropout_probability_is_checked(fn, p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, "
                                         f"but got {p}"):
        fn(gt.ones(2, 3, 4, 5), p)


def test_dropout_statistics_and_scaling():
    gt.manual_seed(0)
    x = gt.ones(200, 500)
    y = F.dropout(x, 0.3)
    values = np.unique(y.numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-6)
    kept = float((y != 0).float().mean())
    assert abs(kept - 0.7) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.02


@pytest.mark.parametrize("name,shape,kwargs", [
    ("dropout", (200, 50), {"p": 0.4}), ("dropout", (7,), {"p": 0.2}),
    ("dropout2d", (4, 6, 3, 3), {"p": 0.4}), ("dropout1d", (6, 5), {"p": 0.5}),
    ("alpha_dropout", (4, 6, 3), {"p": 0.4, "training": True}),
    ("feature_alpha_dropout", (4, 6, 3), {"p": 0.3, "training": True})])
def test_seeded_dropout_equals_torch(name, shape, kwargs):
    """The masks come from the same generator stream as PyTorch's CPU bernoulli_."""
    for dtype in ("float32", "float64"):
        torch.manual_seed(5)
        gt.manual_seed(5)
        want = getattr(TF, name)(torch.ones(*shape, dtype=getattr(torch, dtype)), **kwargs)
        got = getattr(F, name)(gt.ones(*shape, dtype=getattr(gt, dtype)), **kwargs)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_dropout_training_flag_and_edge_probabilities():
    x = gt.randn(4, 5, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False for alpha dropout
    zeros = F.dropout(x, 1.0)
    assert zeros.grad_fn.name() == "MulBackward0"
    assert not bool(zeros.any())
    y = F.dropout(x, 0.5)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    mask = (y != 0).float()
    np.testing.assert_allclose(x.grad.numpy(), (mask * 2).numpy())


def test_dropout_inplace():
    gt.manual_seed(1)
    x = gt.ones(50, 40)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    assert set(np.unique(x.numpy()).tolist()) <= {0.0, 2.0}
    leaf = gt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.dropout(leaf, 0.5, inplace=True)


@pytest.mark.parametrize("fn,shape,mask_dims", [
    (F.dropout1d, (4, 6, 30), (2,)), (F.dropout1d, (6, 30), (1,)),
    (F.dropout2d, (4, 6, 5, 7), (2, 3)), (F.dropout3d, (3, 6, 2, 3, 4), (2, 3, 4)),
    (F.dropout3d, (6, 2, 3, 4), (1, 2, 3))])
def test_feature_dropout_zeros_whole_channels(fn, shape, mask_dims):
    gt.manual_seed(2)
    y = fn(gt.ones(*shape), 0.5).numpy()
    per_channel = y.min(axis=mask_dims) == y.max(axis=mask_dims)
    assert per_channel.all()
    assert set(np.unique(y).tolist()) == {0.0, 2.0}


def test_feature_dropout_dimension_rules():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a "
                                           "1D input"):
        F.dropout1d(gt.ones(5))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(gt.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(gt.ones(2, 3))
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(gt.ones(2, 3, 4))


def test_alpha_dropout_keeps_mean_and_variance():
    gt.manual_seed(3)
    x = gt.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(float(y.mean())) < 0.02
    assert abs(float(y.std()) - 1.0) < 0.02
    alpha, p = 1.7580993408473766, 0.2
    a = 1 / math.sqrt((alpha ** 2 * p + 1) * (1 - p))
    dropped = -alpha * a * (1 - p)  # the value every dropped element takes
    assert abs(np.isclose(y.numpy(), dropped, atol=1e-5).mean() - p) < 0.01
    z = F.feature_alpha_dropout(gt.randn(8, 6, 5), 0.5, training=True).numpy()
    assert z.shape == (8, 6, 5)


# --- re-exports ---------------------------------------------------------------------------

def test_reexports_resolve_lazily():
    for name in ("embedding", "one_hot", "pad"):
        try:
            fn = getattr(F, name)
        except AttributeError:
            pytest.skip(f"functions/movement.py does not define {name} yet")
        assert callable(fn)
    with pytest.raises(AttributeError):
        F.definitely_not_a_function  # noqa: B018


# --- errors of the statistics functions (gt.sort, gt.cumsum, gt.softmax, ...) --------------

ERRORS = [
    (lambda m: m.tensor([1.0, 2.0]).sort(dim=2), IndexError, "Dimension out of range"),
    (lambda m: m.tensor([1j]).sort(), RuntimeError, "Sort does not support complex"),
    (lambda m: m.tensor([1.0, 2.0]).topk(3), RuntimeError, "selected index k out of range"),
    (lambda m: m.tensor([1.0, 2.0]).kthvalue(3), RuntimeError,
     "kthvalue\\(\\): selected number k out of range for dimension 0"),
    (lambda m: m.zeros(3, 0).kthvalue(1, 1), IndexError,
     "kthvalue\\(\\): Expected reduction dim 1 to have non-zero size."),
    (lambda m: m.zeros(0, 3).median(0), IndexError, "median\\(\\): Expected reduction dim 0"),
    (lambda m: m.tensor([True, False]).median(), NotImplementedError,
     "\"median_cpu\" not implemented for 'Bool'"),
    (lambda m: m.tensor([]).mode(), IndexError, "mode\\(\\): Expected reduction dim 0"),
    (lambda m: m.histc(m.tensor([1, 2])), NotImplementedError,
     "\"histogram_cpu\" not implemented for 'Long'"),
    (lambda m: m.histc(m.tensor([1.0]), 4, min=3, max=1), RuntimeError,
     "max must be larger than min"),
    (lambda m: m.histc(m.tensor([1.0, float("inf")]), 3), RuntimeError,
     "range of \\[1, inf\\] is not finite"),
    (lambda m: m.bincount(m.tensor([1.0, 2.0])), NotImplementedError,
     "\"bincount_cpu\" not implemented for 'Float'"),
    (lambda m: m.bincount(m.tensor([-1, 2])), RuntimeError, "non-negative"),
    (lambda m: m.bincount(m.tensor([1, 2]), minlength=-1), RuntimeError,
     "minlength should be >= 0"),
    (lambda m: m.bincount(m.tensor([1, 2]), m.tensor([1.0])), RuntimeError,
     "weights should be 1-d"),
    (lambda m: m.unique(m.zeros(0, 2), dim=1), RuntimeError, "There are 0 sized dimensions"),
    (lambda m: m.searchsorted(m.tensor([[1, 3], [2, 4]]), m.tensor([3])), RuntimeError,
     "boundaries tensor should be 1 dimension or the first N-1"),
    (lambda m: m.searchsorted(m.tensor([1.0]), m.tensor([1.0]), side="left", right=True),
     RuntimeError, "side and right can't be set to opposites"),
    (lambda m: m.bucketize(m.tensor([1]), m.tensor([[1, 3]])), RuntimeError,
     "boundaries tensor must be 1 dimension, but got dim\\(2\\)"),
    (lambda m: m.tensor([1, 2]).softmax(0), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m: m.tensor([[1, 2]]).log_softmax(0), NotImplementedError,
     "\"log_softmax_kernel_impl\" not implemented for 'Long'"),
    (lambda m: m.tensor([1, 2]).logcumsumexp(0), NotImplementedError,
     "\"logcumsumexp_out_cpu\" not implemented for 'Long'"),
    (lambda m: m.tensor([1j]).cummax(0), NotImplementedError,
     "\"cummax_cpu\" not implemented for 'ComplexFloat'"),
    (lambda m: m.tensor([1, 2]).cumsum(dim=1), IndexError, "Dimension out of range"),
    (lambda m: m.quantile(m.tensor([1, 2]), 0.5), RuntimeError,
     "quantile\\(\\) input tensor must be either float or double dtype"),
    (lambda m: m.quantile(m.tensor([1.0, 2.0]), 1.5), RuntimeError,
     "quantile\\(\\) q must be in the range \\[0, 1\\] but got 1.5"),
    (lambda m: m.nn.functional.gelu(m.tensor([1.0]), approximate="foo"), RuntimeError,
     "approximate argument must be either none or tanh."),
    (lambda m: m.nn.functional.hardtanh(m.tensor([1.0]), 2.0, 1.0), ValueError,
     "min_val cannot be greater than max_val"),
    (lambda m: m.nn.functional.glu(m.randn(3, 5)), RuntimeError,
     "Halving dimension must be even, but dimension 1 is size 5"),
    (lambda m: m.nn.functional.silu(m.tensor([1, 2])), NotImplementedError,
     "\"silu_cpu\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.prelu(m.randn(3, 4), m.ones(3)), RuntimeError,
     "Found parameter numbers = 3 and channel size = 4"),
]


@pytest.mark.parametrize("fn,exc,message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_match_torch(fn, exc, message):
    with pytest.raises(exc, match=message):
        fn(torch)
    with pytest.raises(exc, match=message):
        fn(gt)


def test_unique_backward_is_not_implemented():
    x = gt.tensor([1.0, 2.0, 2.0], requires_grad=True)
    u = gt.unique(x)
    assert u.requires_grad and u.grad_fn.name() == "Unique2Backward0"
    with pytest.raises(NotImplementedError, match="the derivative for '_unique2' is not "
                                                  "implemented."):
        u.sum().backward()


def test_quantile_matches_torch():
    x = _data((4, 6))
    x[1, 2] = np.nan
    for interpolation in ("linear", "lower", "higher", "midpoint", "nearest"):
        for q in (0.3, [0.0, 0.25, 1.0]):
            for dim, keepdim in ((None, False), (None, True), (1, False), (0, True)):
                for name in ("quantile", "nanquantile"):
                    def run(m, t, name=name, q=q, dim=dim, keepdim=keepdim,
                            interpolation=interpolation):
                        qq = m.tensor(q, dtype=m.float64) if isinstance(q, list) else q
                        return getattr(m, name)(t, qq, dim=dim, keepdim=keepdim,
                                                interpolation=interpolation)
                    _compare(f"{name} {interpolation} {q} {dim}", lambda t: run(torch, t),
                             lambda t: run(gt, t), x, grad=False)
    clean = _data((3, 5))
    _compare("quantile grad", lambda t: torch.quantile(t, 0.4, dim=1),
             lambda t: gt.quantile(t, 0.4, dim=1), clean)


def test_out_arguments_and_return_types():
    x = gt.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    values, indices = gt.empty(0), gt.empty(0, dtype=gt.int64)
    result = gt.sort(x, 1, out=(values, indices))
    assert result.values is values and result.indices is indices
    assert values.tolist() == [[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]]
    assert repr(gt.topk(x, 1)).startswith("torch.return_types.topk(")
    out = gt.empty(0)
    assert gt.cumsum(x, 1, out=out) is out and out.tolist()[0] == [3.0, 4.0, 6.0]
    h = gt.histogram(x, 2)
    assert h.hist.tolist() == [3.0, 3.0] and h.bin_edges.tolist() == [-1.0, 1.5, 4.0]
