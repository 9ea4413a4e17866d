"""functions/math_extra.py and the dtype errors of the elementwise ops, against PyTorch:
exception types and messages, Python return types, gradients the op table cannot compare
(PyTorch's own gradient is a ZeroTensor, wrong, or fails), and the `where`/infer dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ops import elementwise as E
from graphtorch.ops.dispatch import call, meta_of
from tests.autograd.diff import builtin_type, same, torch


def _first_line(exc) -> str:
    return str(exc).split("\n")[0]


def same_error(fn):
    """fn(lib) raises on both libraries: same builtin exception type, same first line."""
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(gt)
    expected = builtin_type(theirs.value)
    assert isinstance(ours.value, expected), \
        f"graphtorch raised {type(ours.value).__name__}: {ours.value}; torch raised " \
        f"{expected.__name__}: {theirs.value}"
    assert _first_line(ours.value) == _first_line(theirs.value)


def _t(lib, dtype, shape=(3,)):
    return lib.ones(shape, dtype=getattr(lib, dtype))


# --- dtype errors of existing elementwise ops ----------------------------------------------

DTYPE_ERRORS = {
    "lt complex": lambda m: _t(m, "complex64") < _t(m, "complex64"),
    "le complex scalar": lambda m: m.le(_t(m, "complex128"), 1),
    "gt float vs 1j": lambda m: _t(m, "float32") > 1j,
    "ge complex": lambda m: m.ge(_t(m, "complex64"), _t(m, "complex64")),
    "floor_divide complex": lambda m: _t(m, "complex64") // _t(m, "complex64"),
    "floor_divide bool": lambda m: _t(m, "bool") // _t(m, "bool"),
    "div trunc complex": lambda m: m.div(_t(m, "complex64"), 2, rounding_mode="trunc"),
    "div trunc bool": lambda m: m.div(_t(m, "bool"), _t(m, "bool"), rounding_mode="trunc"),
    "remainder complex": lambda m: _t(m, "complex128") % 2,
    "remainder bool": lambda m: _t(m, "bool") % _t(m, "bool"),
    "remainder bool scalar": lambda m: m.remainder(_t(m, "bool"), True),
    "fmod complex": lambda m: m.fmod(_t(m, "complex64"), _t(m, "complex64")),
    "fmod bool": lambda m: m.fmod(_t(m, "bool"), _t(m, "bool")),
    "atan2 complex": lambda m: m.atan2(_t(m, "complex64"), _t(m, "complex64")),
    "maximum complex": lambda m: m.maximum(_t(m, "complex64"), _t(m, "complex64")),
    "minimum complex": lambda m: m.minimum(_t(m, "complex128"), _t(m, "complex128")),
    "pow bool bool": lambda m: _t(m, "bool") ** _t(m, "bool"),
    "pow bool 0-d bool": lambda m: m.pow(_t(m, "bool"), m.tensor(True)),
    "pow True bool": lambda m: True ** _t(m, "bool"),
    "pow_ bool": lambda m: _t(m, "bool").pow_(_t(m, "bool")),
    "pow int negative": lambda m: _t(m, "int64") ** -2,
    "pow uint8 negative": lambda m: _t(m, "uint8") ** -1,
    "pow bool negative": lambda m: m.pow(_t(m, "bool"), -1),
    "abs bool": lambda m: m.abs(_t(m, "bool")),
    "abs_ bool": lambda m: _t(m, "bool").abs_(),
    "sign complex": lambda m: m.sign(_t(m, "complex64")),
    "floor complex": lambda m: m.floor(_t(m, "complex64")),
    "ceil bool": lambda m: m.ceil(_t(m, "bool")),
    "trunc complex": lambda m: _t(m, "complex128").trunc(),
    "round bool": lambda m: m.round(_t(m, "bool")),
    "round complex": lambda m: m.round(_t(m, "complex64")),
    "frac int": lambda m: m.frac(_t(m, "int64")),
    "frac bool": lambda m: m.frac(_t(m, "bool")),
    "erf complex": lambda m: m.erf(_t(m, "complex64")),
    "relu bool": lambda m: m.relu(_t(m, "bool")),
    "relu complex": lambda m: m.relu(_t(m, "complex64")),
    "leaky_relu complex": lambda m: m.nn.functional.leaky_relu(_t(m, "complex64")),
    "elu complex": lambda m: m.nn.functional.elu(_t(m, "complex64")),
    "gelu complex": lambda m: m.nn.functional.gelu(_t(m, "complex64")),
    "hardtanh complex": lambda m: m.nn.functional.hardtanh(_t(m, "complex64")),
    "imag real": lambda m: _t(m, "float32").imag,
    "clamp complex": lambda m: m.clamp(_t(m, "complex64"), 0, 1),
    "clamp int complex bound": lambda m: m.clamp(_t(m, "int64"), 1j),
    "clamp bool bool bounds": lambda m: m.clamp(_t(m, "bool"), True, True),
    "clamp_ int float bound": lambda m: _t(m, "int64").clamp_(0.5),
    "sub bool int": lambda m: _t(m, "bool") - _t(m, "int64"),
    "sub int bool": lambda m: _t(m, "int64") - _t(m, "bool"),
    "sub bool scalar": lambda m: _t(m, "bool") - 1,
    "rsub scalar bool": lambda m: 1.5 - _t(m, "bool"),
    "sub float True": lambda m: _t(m, "float32") - True,
    "sub True float": lambda m: True - _t(m, "float32"),
    "sub 0-d bool": lambda m: m.tensor(True) - _t(m, "int64"),
    "torch.sub alpha": lambda m: m.sub(_t(m, "int64"), _t(m, "bool"), alpha=2),
    "sub_ bool": lambda m: _t(m, "float32").sub_(_t(m, "bool")),
    "isub bool": lambda m: _t(m, "float32").__isub__(True),
    "subtract bool": lambda m: m.subtract(_t(m, "bool"), 2),
    "sub bool bool": lambda m: _t(m, "bool") - True,
}


@pytest.mark.parametrize("name", list(DTYPE_ERRORS))
def test_dtype_errors_match_torch(name):
    same_error(DTYPE_ERRORS[name])


DTYPE_RESULTS = {
    "bool ** True": lambda m: _t(m, "bool") ** True,
    "bool ** False": lambda m: _t(m, "bool") ** False,
    "bool.pow_(True)": lambda m: _t(m, "bool").pow_(True),
    "bool ** 2": lambda m: _t(m, "bool") ** 2,
    "int ** negative int tensor": lambda m: m.tensor([0, 1, -1, 2, -2, 3]) ** m.tensor(
        [-1, -3, -3, -1, -2, 0]),
    "2 ** negative tensor": lambda m: 2 ** m.tensor([-1, 0, 3]),
    "bool % int": lambda m: _t(m, "bool") % _t(m, "int64"),
    "clamp int float bounds": lambda m: m.clamp(m.tensor([1, 2, 3]), 0.5, 1.5),
    "clamp bool int bounds": lambda m: m.clamp(m.tensor([True, False]), 0, 1),
    "clamp int min float": lambda m: m.tensor([1, 2, 3]).clamp(min=0.5),
    "sub int int": lambda m: _t(m, "int64") - _t(m, "int32"),
    "float - 1": lambda m: _t(m, "float32") - 1,
    "where int8 / 2.5": lambda m: m.where(_t(m, "bool"), _t(m, "int8"), 2.5),
    "where 0-d int64 / int8": lambda m: m.where(_t(m, "bool"), m.tensor(3), _t(m, "int8")),
}


@pytest.mark.parametrize("name", list(DTYPE_RESULTS))
def test_dtype_results_match_torch(name):
    same(DTYPE_RESULTS[name])


@pytest.mark.parametrize("a,b", [
    (np.ones(3, np.int8), 2.5), (np.ones(3, np.int64), np.ones(3, np.float32)),
    (np.ones((), np.int64), np.ones(3, np.int8)), (2, np.ones(3, np.uint8)),
    (np.ones(3, np.float16), 1e300), (np.ones(3, bool), np.ones((), np.float64)),
    (np.ones(3, np.complex64), np.ones(3, np.float64)), (1.5, 2.5)])
def test_where_kernel_gives_the_dtype_infer_computes(a, b):
    """The op itself (not only gt.where, which casts first) follows PyTorch's promotion."""
    def operand(x):
        return gt.tensor(x) if isinstance(x, np.ndarray) else x

    cond = gt.tensor(np.array([True, False, True]))
    out = call(E.WHERE, cond, operand(a), operand(b))
    inferred = E.WHERE.infer(meta_of(cond), meta_of(operand(a)), meta_of(operand(b)))
    assert out.dtype is inferred.dtype


def test_elementwise_infer_raises_not_implemented_error():
    meta = gt.ops.TensorMeta((3,), gt.bool)
    with pytest.raises(NotImplementedError, match='"remainder_cpu" not implemented for'):
        E.REMAINDER.infer(meta, meta)
    with pytest.raises(NotImplementedError, match="not implemented for 'ComplexFloat'"):
        gt.ops.REGISTRY["lt"].infer(gt.ops.TensorMeta((3,), gt.complex64), 1)
    with pytest.raises(RuntimeError, match="maximum not implemented for complex tensors"):
        E.MAXIMUM.infer(gt.ops.TensorMeta((3,), gt.complex64), gt.ops.TensorMeta((3,),
                                                                                 gt.complex64))
    with pytest.raises(RuntimeError, match="two bool tensors"):
        E.SUB.infer(meta, meta)
    with pytest.raises(NotImplementedError, match='"pow" not implemented'):
        E.POW.infer(meta, meta)
    assert E.POW.infer(meta, True).dtype is gt.bool


# --- errors of the new functions -----------------------------------------------------------

NEW_ERRORS = {
    "isclose dtypes": lambda m: m.isclose(m.ones(3), m.ones(3, dtype=m.float64)),
    "isclose rtol": lambda m: m.isclose(m.ones(3), m.ones(3), rtol=-1),
    "isclose atol": lambda m: m.isclose(m.ones(3), m.ones(3), atol=-1),
    "isclose number": lambda m: m.isclose(m.ones(3), 1.0),
    "allclose dtypes": lambda m: m.allclose(m.ones(3), m.ones(3, dtype=m.int64)),
    "allclose shapes": lambda m: m.allclose(m.ones(3), m.ones(2)),
    "equal number": lambda m: m.equal(m.ones(3), 1),
    "is_nonzero many": lambda m: m.is_nonzero(m.ones(3)),
    "is_nonzero empty": lambda m: m.is_nonzero(m.ones(0)),
    "is_floating_point list": lambda m: m.is_floating_point([1.0]),
    "hypot int": lambda m: m.hypot(m.ones(3, dtype=m.int64), m.ones(3, dtype=m.int64)),
    "hypot number": lambda m: m.hypot(m.ones(3), 2.0),
    "logaddexp bool": lambda m: m.logaddexp(_t(m, "bool"), _t(m, "bool")),
    "logaddexp2 complex": lambda m: m.logaddexp2(_t(m, "complex64"), _t(m, "complex64")),
    "copysign complex": lambda m: m.copysign(_t(m, "complex64"), _t(m, "complex64")),
    "copysign number first": lambda m: m.copysign(2.0, m.ones(3)),
    "xlogy complex": lambda m: m.xlogy(_t(m, "complex64"), _t(m, "complex64")),
    "xlogy numbers": lambda m: m.xlogy(2, 3),
    "fmax complex": lambda m: m.fmax(_t(m, "complex64"), _t(m, "complex64")),
    "gcd float": lambda m: m.gcd(m.ones(3), m.ones(3)),
    "lcm bool": lambda m: m.lcm(_t(m, "bool"), _t(m, "bool")),
    "signbit complex": lambda m: m.signbit(_t(m, "complex64")),
    "deg2rad complex": lambda m: m.deg2rad(_t(m, "complex64")),
    "logit complex": lambda m: m.logit(_t(m, "complex64")),
    "heaviside dtypes": lambda m: m.heaviside(m.ones(3), m.ones(3, dtype=m.float64)),
    "heaviside complex": lambda m: m.heaviside(_t(m, "complex64"), _t(m, "complex64")),
    "heaviside number": lambda m: m.heaviside(m.ones(3), 1.0),
    "isposinf complex": lambda m: m.isposinf(_t(m, "complex64")),
    "isin complex": lambda m: m.isin(_t(m, "complex64"), _t(m, "complex64")),
    "isin bool": lambda m: m.isin(_t(m, "bool"), _t(m, "bool")),
    "positive bool": lambda m: m.positive(_t(m, "bool")),
    "aminmax empty": lambda m: m.aminmax(m.ones(0)),
    "aminmax complex": lambda m: m.aminmax(_t(m, "complex64")),
    "einsum dtypes": lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(3, 4, dtype=m.float64)),
    "einsum bool": lambda m: m.einsum("ij,jk", _t(m, "bool", (2, 3)), _t(m, "bool", (3, 4))),
    "einsum size": lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(4, 4)),
    "einsum rank": lambda m: m.einsum("ij,jk", m.ones(2, 3, 1), m.ones(3, 4)),
    "einsum too few": lambda m: m.einsum("ij,jk", m.ones(2, 3)),
    "einsum too many": lambda m: m.einsum("ij", m.ones(2, 3), m.ones(2, 3)),
    "einsum output letter": lambda m: m.einsum("ij->k", m.ones(2, 3)),
    "einsum output twice": lambda m: m.einsum("ij->ii", m.ones(2, 3)),
    "einsum bad char": lambda m: m.einsum("i1->i", m.ones(2, 3)),
    "einsum two ellipses": lambda m: m.einsum("...i...->i", m.ones(2, 3)),
    "einsum repeat sizes": lambda m: m.einsum("ii->i", m.ones(3, 2)),
    "einsum no operands": lambda m: m.einsum("i->i"),
    "tensordot dtypes": lambda m: m.tensordot(m.ones(2, 3, dtype=m.int64), m.ones(3, 4), 1),
    "tensordot sizes": lambda m: m.tensordot(m.ones(2, 3), m.ones(4, 5), dims=1),
    "tensordot negative": lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 5), dims=-1),
    "tensordot too many": lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 2), dims=3),
    "tensordot lengths": lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 4), dims=([0, 1], [0])),
    "tensordot int pair": lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 4), dims=(1, 0)),
    "tensordot bool": lambda m: m.tensordot(_t(m, "bool", (2, 3)), _t(m, "bool", (3, 2)), 1),
    "diff 0-d": lambda m: m.diff(m.tensor(1.0)),
    "diff order": lambda m: m.diff(m.ones(3), n=-1),
    "diff prepend rank": lambda m: m.diff(m.ones(2, 3), prepend=m.ones(3)),
    "diff prepend number": lambda m: m.diff(m.ones(3), prepend=1.0),
    "cdist int": lambda m: m.cdist(m.ones(2, 3, dtype=m.int64), m.ones(4, 3, dtype=m.int64)),
    "cdist dtypes": lambda m: m.cdist(m.ones(2, 3), m.ones(4, 3, dtype=m.float64)),
    "cdist columns": lambda m: m.cdist(m.ones(2, 3), m.ones(4, 2)),
    "cdist 1-D": lambda m: m.cdist(m.ones(3), m.ones(3)),
    "cdist negative p": lambda m: m.cdist(m.ones(2, 3), m.ones(4, 3), p=-1),
    "trapezoid x size": lambda m: m.trapezoid(m.ones(2, 3), m.arange(2.0)),
    "trapezoid 0-d": lambda m: m.trapezoid(m.tensor(1.0)),
    "cov 3-D": lambda m: m.cov(m.ones(2, 2, 2)),
    "cov bool": lambda m: m.cov(_t(m, "bool", (2, 3))),
    "cov float fweights": lambda m: m.cov(m.ones(2, 3), fweights=m.ones(3)),
    "cov negative fweights": lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1, -1, 1])),
    "cov fweights numel": lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1, 1])),
    "vander 2-D": lambda m: m.vander(m.ones(2, 2)),
    "vander negative N": lambda m: m.vander(m.ones(3), -1),
    "unravel_index float": lambda m: m.unravel_index(m.tensor([1.0]), (2, 3)),
    "sum_to_size": lambda m: m.ones(2, 3).sum_to_size(2, 1, 3),
    "sum_to_size 2": lambda m: m.ones(2, 3).sum_to_size(2, 2),
    "fill_diagonal_ 1-D": lambda m: m.zeros(2).fill_diagonal_(1),
    "fill_diagonal_ unequal": lambda m: m.zeros(2, 2, 3).fill_diagonal_(1),
    "hsplit 0-d": lambda m: m.hsplit(m.tensor(1.0), 2),
    "hsplit uneven": lambda m: m.hsplit(m.ones(2, 3), 2),
    "vsplit 1-D": lambda m: m.vsplit(m.ones(4), 2),
    "addr 2-D vector": lambda m: m.addr(m.ones(2, 3), m.ones(2, 1), m.ones(3)),
    "lgamma complex": lambda m: m.lgamma(_t(m, "complex64")),
    "digamma complex": lambda m: m.digamma(_t(m, "complex64")),
    "polygamma negative n": lambda m: m.polygamma(-1, m.ones(2)),
    "polygamma float n": lambda m: m.polygamma(1.5, m.ones(2)),
    "nextafter int": lambda m: m.nextafter(_t(m, "int64"), _t(m, "int64")),
    "nextafter number": lambda m: m.nextafter(m.ones(2), 0.0),
    "renorm p": lambda m: m.renorm(m.ones(2, 3), 0, 0, 1.0),
    "renorm maxnorm": lambda m: m.renorm(m.ones(2, 3), 2, 0, -1.0),
    "renorm 1-D": lambda m: m.renorm(m.ones(3), 2, 0, 1.0),
    "imag of real": lambda m: m.imag(m.ones(2)),
    "fill_ 1-D value": lambda m: m.fill_(m.ones(2), m.ones(2)),
}


@pytest.mark.parametrize("name", list(NEW_ERRORS))
def test_new_function_errors_match_torch(name):
    same_error(NEW_ERRORS[name])


# --- values the op table cannot express -----------------------------------------------------

def test_closeness_returns_python_bools():
    for lib in (torch, gt):
        a = lib.tensor([1.0, float("nan"), 3.0])
        assert lib.allclose(a, a + 1e-9) is False  # NaN != NaN
        assert lib.allclose(a, a, equal_nan=True) is True
        assert lib.equal(a[::2], lib.tensor([1.0, 3.0])) is True
        assert lib.equal(a, a) is False
        assert lib.equal(lib.ones(3), lib.ones(3, dtype=lib.int64)) is True
        assert lib.equal(lib.ones(3), lib.ones(1, 3)) is False
        assert lib.is_nonzero(lib.tensor([0.5])) is True
        assert lib.is_floating_point(a) is True and lib.is_complex(a) is False
        assert a.is_same_size(a) is True and lib.is_same_size(a, a[:2]) is False
        assert lib.is_signed(lib.ones(1, dtype=lib.uint8)) is False


def test_isclose_formula_and_dtypes_match_torch():
    for dtype in ("float32", "float64", "int64", "int8", "bool"):
        def fn(m, dtype=dtype):
            a = m.tensor([0, 1, 100, 101, -5, 7]).to(getattr(m, dtype))
            b = m.tensor([0, 1, 100, 100, 5, 9]).to(getattr(m, dtype))
            return (m.isclose(a, b), m.isclose(a, b, rtol=0.01, atol=0),
                    m.isclose(a, b, rtol=0, atol=2), m.isclose(a, b, rtol=0, atol=0))
        same(fn)
    same(lambda m: m.isclose(m.tensor([1 + 1j, complex("nan")]), m.tensor([1 + 1j, complex(
        "nan")]), equal_nan=True))


def test_sgn_gradients():
    """Real sgn has zero gradient (PyTorch: a ZeroTensor the op table cannot read)."""
    x = gt.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    gt.sgn(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    z = gt.tensor([1 + 1j, 0j, -2 + 0.5j], requires_grad=True)
    tz = torch.tensor([1 + 1j, 0j, -2 + 0.5j], requires_grad=True)
    for lib, v in ((gt, z), (torch, tz)):
        (lib.sgn(v) * lib.tensor([0.3 - 1j, 2 + 1j, -1 + 0.2j])).real.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-6, atol=1e-7)


def _fd_grad(fn, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (fn(up) - fn(down)) / (2 * eps)
    return grad


def test_ldexp_gradient_with_negative_exponents():
    """PyTorch's LdexpBackward0 returns 0 for negative exponents (integer 2 ** -k); the
    gradient here is the true one, 2 ** exponent."""
    x = np.array([0.5, -1.5, 2.0])
    e = gt.tensor([-2, 0, 3])
    t = gt.tensor(x, requires_grad=True)
    gt.ldexp(t, e).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), _fd_grad(
        lambda v: gt.ldexp(gt.tensor(v), e).sum().item(), x), rtol=1e-6)


def test_vander_gradient():
    """PyTorch's vander backward raises an in-place error; compare with x ** k instead."""
    x = np.array([0.0, 0.5, -1.5, 2.0])
    t = gt.tensor(x, requires_grad=True)
    w = np.arange(16.0).reshape(4, 4) / 7
    (gt.vander(t) * gt.tensor(w)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    (tx.unsqueeze(1) ** torch.arange(3, -1, -1.0, dtype=torch.float64) * torch.tensor(w)) \
        .sum().backward()
    tx_grad = np.nan_to_num(tx.grad.numpy())  # x ** 0 at x = 0: torch gives 0 * inf
    np.testing.assert_allclose(t.grad.numpy(), tx_grad, rtol=1e-6)


def test_heaviside_is_detached_like_an_op_without_derivative():
    x = gt.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = gt.heaviside(x, gt.tensor([0.5]))
    assert out.tolist() == [0.0, 0.5, 1.0] and not out.requires_grad


def test_einsum_repeated_subscript_gradient_places_the_diagonal():
    for eq, shape in [("ii->i", (3, 3)), ("iji->j", (2, 4, 2)), ("ii", (3, 3))]:
        def fn(m, eq=eq, shape=shape):
            x = m.arange(float(np.prod(shape))).reshape(shape).requires_grad_()
            m.einsum(eq, x).pow(2).sum().backward()
            return x.grad
        same(fn)


def test_einsum_does_not_alias_its_input():
    a = gt.ones(2, 3)
    out = gt.einsum("ij->ji", a)
    out.add_(1)
    assert a.tolist() == [[1.0] * 3] * 2


@pytest.mark.parametrize("fn", [
    lambda m: m.tril_indices(4, 3), lambda m: m.triu_indices(3, 4, 1),
    lambda m: m.tril_indices(3, 3, -1, dtype=m.int32), lambda m: m.triu_indices(0, 2),
    lambda m: m.unravel_index(m.tensor([4, 5, -1, 6]), (2, 3)),
    lambda m: m.unravel_index(m.tensor([[7, 3]]), m.Size([2, 2, 2])),
    lambda m: m.hsplit(m.arange(8.0).reshape(2, 4), 2), lambda m: m.hsplit(m.arange(4.0), [1]),
    lambda m: m.vsplit(m.arange(8.0).reshape(4, 2), [1, 3]),
    lambda m: m.dsplit(m.arange(16.0).reshape(2, 2, 4), 2),
    lambda m: m.atleast_3d(m.tensor(1.0)), lambda m: m.atleast_3d(m.ones(2), m.ones(2, 3)),
    lambda m: m.atleast_3d([m.ones(2, 3, 4)]), lambda m: m.adjoint(m.ones(2, 3) * 1j),
    lambda m: m.ones(2, 3).adjoint(), lambda m: m.conj_physical(m.tensor([1 + 2j])),
    lambda m: (m.is_conj(m.ones(1)), m.is_neg(m.ones(1)), m.resolve_conj(m.ones(2)),
               m.resolve_neg(m.ones(2))),
    lambda m: m.positive(m.ones(2)), lambda m: m.isreal(m.tensor([1 + 0j, 1j, 2.0 + 1e-30j])),
    lambda m: m.isreal(m.ones(2, dtype=m.int64)),
    lambda m: m.isin(3, m.tensor([1, 3])), lambda m: m.isin(m.tensor([1.5, 2.0]), 2),
    lambda m: m.isin(m.tensor([1, 2, 3]), m.tensor([2.0, 5.0])),
    lambda m: m.float_power(m.ones(2, dtype=m.float64), 2),
    lambda m: m.ones(2).float_power_(2),
    lambda m: (m.ones(3).clamp_min_(2), m.ones(3).clamp_max_(0)),
    lambda m: (m.deg2rad_(m.ones(2)), m.rad2deg_(m.ones(2)), m.sinc_(m.ones(2)),
               m.xlogy_(m.ones(2), 3), m.logit_(m.ones(2) / 3),
               m.ldexp_(m.ones(2), m.tensor([1, 2]))),
    lambda m: (m.ones(2).sgn_(), m.ones(2).hypot_(m.ones(2)), m.ones(2).copysign_(-1),
               m.ones(2).heaviside_(m.ones(2)), m.ones(2, dtype=m.float64).float_power_(2),
               m.ones(2).deg2rad_(), m.ones(2).logit_(0.1), m.ones(2).xlogy_(m.ones(2))),
    lambda m: (m.ones(2, 3).addmm_(m.ones(2, 4), m.ones(4, 3)),
               m.ones(2).addmv_(m.ones(2, 3), m.ones(3)),
               m.ones(2, 2, 2).baddbmm_(m.ones(2, 2, 3), m.ones(2, 3, 2)),
               m.ones(2, 2).addbmm_(m.ones(2, 2, 3), m.ones(2, 3, 2))),
    lambda m: m.addr(m.tensor([[float("nan")]]), m.ones(1), m.ones(1), beta=0),
    lambda m: m.addr(m.ones(2, 3, dtype=m.bool), m.ones(2, dtype=m.bool),
                     m.ones(3, dtype=m.bool)),
    lambda m: m.addr(m.ones(2, 3, dtype=m.int64), m.ones(2, dtype=m.int64),
                     m.ones(3, dtype=m.int64), beta=2, alpha=3),
    lambda m: m.corrcoef(m.tensor([1.0, 2.0, 4.0])),
    lambda m: m.corrcoef(m.tensor([[1.0, 2.0, 4.0], [1j, 2.0, 0.5]])),
    lambda m: m.cov(m.tensor([[1.0, 2.0, 4.0], [1j, 2.0, 0.5]])),
    lambda m: (m.nextafter(m.ones(2), m.zeros(2)), m.ones(2, dtype=m.float64).nextafter(
        m.tensor([2.0, 0.0], dtype=m.float64)), m.ones(2).nextafter_(m.zeros(2))),
    lambda m: (m.detach(m.ones(2, requires_grad=True)), m.real(m.ones(2)),
               m.real(m.tensor([1 + 2j])), m.imag(m.tensor([1 + 2j])), m.zero_(m.ones(2)),
               m.fill(m.ones(2), 3), m.fill(m.ones(2), m.tensor(2.0)), m.fill_(m.ones(2), 4)),
    lambda m: (m.ones(2).is_pinned(), m.ones(2).is_shared(), m.ones(2).share_memory_(),
               m.ones(2).is_meta, m.ones(2).is_nested),
    lambda m: (m.tensor([1 + 2j]).conj_physical_(), m.addmv_(m.ones(2), m.ones(2, 3),
                                                             m.ones(3))),
])
def test_small_functions_match_torch(fn):
    same(fn, atol=1e-6, rtol=1e-6)


def test_cov_warns_like_torch_without_degrees_of_freedom():
    for lib in (torch, gt):
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            out = lib.cov(lib.tensor([[1.0, 2.0]]), correction=2)
        assert np.isinf(out.item()) or np.isnan(out.item())


@pytest.mark.parametrize("name,args", [
    ("selu", lambda m: (m.linspace(-2, 2, 5),)), ("celu", lambda m: (m.linspace(-2, 2, 5), 0.5)),
    ("threshold", lambda m: (m.linspace(-2, 2, 5), 0.1, 20.0)),
    ("hardshrink", lambda m: (m.linspace(-2, 2, 5), 0.7)),
    ("prelu", lambda m: (m.linspace(-2, 2, 6).reshape(2, 3), m.tensor([0.25]))),
    ("cosine_similarity", lambda m: (m.ones(2, 3), m.arange(6.0).reshape(2, 3))),
    ("pairwise_distance", lambda m: (m.ones(2, 3), m.arange(6.0).reshape(2, 3))),
    ("bilinear", lambda m: (m.ones(2, 3), m.ones(2, 4), m.ones(5, 3, 4), m.zeros(5))),
    ("dropout", lambda m: (m.ones(2, 3), 0.5, False)),
    ("alpha_dropout", lambda m: (m.ones(2, 3), 0.5, False)),
    ("feature_alpha_dropout", lambda m: (m.ones(2, 3), 0.5, False)),
])
def test_torch_namespace_forms_of_functional_ops(name, args):
    same(lambda m: getattr(m, name)(*args(m)), atol=1e-6, rtol=1e-6)


def test_hardshrink_and_prelu_methods():
    same(lambda m: (m.linspace(-2, 2, 5).hardshrink(0.7),
                    m.linspace(-2, 2, 5).prelu(m.tensor([0.25]))))


COMMON_NAMES = [
    "allclose", "isclose", "equal", "einsum", "tensordot", "kron", "diff", "hypot", "logaddexp",
    "logaddexp2", "copysign", "deg2rad", "rad2deg", "signbit", "heaviside", "sgn", "cdist",
    "xlogy", "sinc", "logit", "is_floating_point", "is_complex", "is_nonzero", "fmax", "fmin",
    "gcd", "lcm", "isposinf", "isneginf", "isreal", "isin", "angle", "aminmax", "ldexp",
    "rsub", "positive", "trapezoid", "trapz", "cumulative_trapezoid", "cov", "corrcoef",
    "vander", "tril_indices", "triu_indices", "unravel_index", "pdist", "addr", "hsplit",
    "vsplit", "dsplit", "atleast_3d", "adjoint", "conj_physical", "resolve_conj",
    "resolve_neg", "is_conj", "is_neg", "is_same_size", "is_signed", "selu", "celu",
    "threshold", "dropout", "cosine_similarity", "pairwise_distance", "lgamma", "digamma",
    "polygamma", "mvlgamma", "nextafter", "renorm", "detach", "real", "imag", "zero_", "fill",
    "fill_", "addmv_"]
COMMON_METHODS = [
    "allclose", "isclose", "equal", "kron", "diff", "hypot", "hypot_", "logaddexp",
    "copysign", "copysign_", "deg2rad", "rad2deg_", "signbit", "heaviside", "sgn", "sgn_",
    "xlogy", "xlogy_", "sinc", "logit", "logit_", "fmax", "fmin", "gcd", "lcm_", "isposinf",
    "isreal", "angle", "aminmax", "ldexp", "positive", "cov", "corrcoef", "addr", "addr_",
    "addmm_", "addmv_", "baddbmm_", "addbmm_", "hsplit", "adjoint", "sum_to_size",
    "fill_diagonal_", "float_power_", "clamp_min_", "clamp_max_", "is_nonzero",
    "is_same_size", "resolve_conj", "conj_physical", "hardshrink", "prelu", "lgamma",
    "lgamma_", "digamma", "digamma_", "polygamma", "polygamma_", "mvlgamma", "mvlgamma_",
    "nextafter", "nextafter_", "renorm", "renorm_", "conj_physical_", "is_pinned", "is_shared",
    "share_memory_", "is_meta", "is_nested"]


def test_common_names_exist_where_torch_has_them():
    for name in COMMON_NAMES:
        assert hasattr(torch, name), name
        assert hasattr(gt, name), f"graphtorch lacks torch.{name}"
    for name in COMMON_METHODS:
        assert hasattr(torch.Tensor, name), name
        assert hasattr(gt.Tensor, name), f"graphtorch lacks Tensor.{name}"


def test_polygamma_far_below_zero_is_nan_at_once():
    """The shifted series would take |x| steps; below -2**20 the answer is NaN (PyTorch's is
    inaccurate there), not an endless loop."""
    x = gt.tensor([-1e18, -2.0 ** 21, -2.5, 3.0], dtype=gt.float64)
    out = gt.polygamma(1, x)
    assert np.isnan(out[:2].numpy()).all()
    np.testing.assert_allclose(out[2:].numpy(), [9.539206, 0.394934], rtol=1e-5)
