"""`gt.autograd.gradcheck` / `gradgradcheck`: compare analytical gradients (the vjp rules,
through `autograd.grad`) with central finite differences, as `torch.autograd.gradcheck`'s
default ("slow") mode does, with PyTorch's signatures, warnings and `GradcheckError`s.

`check_forward_ad` compares the tangents of `gt.autograd.forward_ad` (one dual input
element at a time) with the same finite differences. graphtorch has no vmap, so
`check_batched_grad`, `check_batched_forward_grad` and (gradgradcheck's forward over
reverse) `check_fwd_over_rev` raise NotImplementedError when set; `fast_mode=True` runs the full check (same verdicts, slower);
`check_undefined_grad` is covered by the zero-grad_output check (graphtorch has no undefined
gradients); complex functions are not supported yet.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from ..functions.creation import zeros, zeros_like
from ..functions.movement import stack
from ..tensor import Tensor
from . import forward_ad, grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by `gradcheck` and `gradgradcheck` when a check fails."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable_outputs(x):
    return tuple(o for o in _as_tuple(x) if o.requires_grad)


def _diff_inputs(inputs):
    return [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of `func` at `inputs` (tensors with ``requires_grad=True``, best
    in float64) against finite differences; True, or GradcheckError (False when
    ``raise_exception=False``).

    >>> x = gt.randn(3, dtype=gt.float64, requires_grad=True)
    >>> gt.autograd.gradcheck(lambda x: (x.sin() * x).sum(), (x,))
    True
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad "
                             "to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to "
                             "be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires "
                             "check_forward_ad to be True")
    for flag, name in ((check_batched_grad, "check_batched_grad"),
                       (check_batched_forward_grad, "check_batched_forward_grad")):
        if flag:
            raise NotImplementedError(f"gradcheck: {name}=True needs vmap, which graphtorch "
                                      "does not have")
    try:
        if check_backward_ad:
            _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                       check_grad_dtypes)
        if check_forward_ad:
            _check_forward_ad(func, inputs, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
               check_grad_dtypes) -> None:
    tupled_inputs = _as_tuple(inputs)
    _check_inputs(tupled_inputs)
    func_out = func(*tupled_inputs)
    outputs = _differentiable_outputs(func_out)
    if any(t.is_complex() for t in _diff_inputs(tupled_inputs)) or any(
            isinstance(o, Tensor) and o.is_complex() for o in _as_tuple(func_out)):
        raise NotImplementedError("gradcheck of complex functions is not supported by "
                                  "graphtorch yet")
    numerical = _numerical_jacobian(func, tupled_inputs, _as_tuple(func_out), eps)
    if not outputs:
        if any(bool((jac != 0).any()) for per_input in numerical for jac in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    numerical = [[per_input[i] for per_input in numerical]
                 for i, o in enumerate(_as_tuple(func_out)) if o.requires_grad]
    for i, out in enumerate(outputs):
        analytical = _analytical_jacobian(tupled_inputs, out, nondet_tol, check_grad_dtypes)
        for j, (a, n) in enumerate(zip(analytical, numerical[i])):
            target = dtypes.promote_types(a.dtype, n.dtype)
            if not bool(a.to(target).allclose(n.to(target), rtol, atol)):
                raise GradcheckError(f"Jacobian mismatch for output {i:d} with respect to "
                                     f"input {j:d},\nnumerical:{n}\nanalytical:{a}\n")
    # PyTorch's check_undefined_grad runs backward with undefined output gradients;
    # graphtorch's engine has none (a missing gradient is zeros), so the zero-grad_output
    # check below is the whole of it.
    _check_backward_multiplies_grad_output(outputs, tupled_inputs)


def _check_forward_ad(func, inputs, eps, atol, rtol) -> None:
    """Each input element's tangent (one at a time, the others' zero) through forward-mode
    AD against the numerical Jacobian's row for it."""
    tupled_inputs = _as_tuple(inputs)
    _check_inputs(tupled_inputs)
    func_out = _as_tuple(func(*tupled_inputs))
    numerical = _numerical_jacobian(func, tupled_inputs, func_out, eps)
    diff_inputs = _diff_inputs(tupled_inputs)
    for j, x in enumerate(diff_inputs):
        for k in range(x.numel()):
            with forward_ad.dual_level():
                tangent = zeros_like(x.detach()).reshape(-1)
                tangent[k] = 1
                args = [forward_ad.make_dual(a.detach(), tangent.view_as(x)) if a is x else
                        a.detach() if isinstance(a, Tensor) else a for a in tupled_inputs]
                outs = _as_tuple(func(*args))
                for i, out in enumerate(outs):
                    if not isinstance(out, Tensor) or not out.is_floating_point():
                        continue
                    found = forward_ad.unpack_dual(out).tangent
                    found = zeros(out.numel(), dtype=out.dtype) if found is None else \
                        found.detach().reshape(-1)
                    expected = numerical[j][i][k]
                    if not bool(found.allclose(expected.to(found.dtype), rtol, atol)):
                        raise GradcheckError(
                            f"Jacobian computed with forward mode mismatch for output {i:d} "
                            f"with respect to input {j:d},\nnumerical:{expected}\n"
                            f"analytical:{found}\n")


def _check_inputs(tupled_inputs) -> None:
    any_requires_grad = False
    for idx, inp in enumerate(tupled_inputs):
        if isinstance(inp, Tensor) and inp.requires_grad:
            if inp.dtype not in (dtypes.float64, dtypes.complex128):
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision "
                              "floating point or complex. This check will likely fail if all "
                              "the inputs are not of double precision floating point or "
                              "complex. ", UserWarning, stacklevel=4)
            if not all(st > 0 or sz <= 1 for st, sz in zip(inp.stride(), inp.size())):
                raise RuntimeError(f"The {idx}th input has a dimension with stride 0. "
                                   "gradcheck only supports inputs that are non-overlapping to "
                                   "be able to compute the numerical gradients correctly. You "
                                   "should call .contiguous on the input before passing it to "
                                   "gradcheck.")
            any_requires_grad = True
    if not any_requires_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")


def _numerical_jacobian(func, inputs, func_out, eps):
    """[input j][output i]: (inputs[j].numel(), outputs[i].numel()) central differences,
    perturbing each input element in place (the memory the function reads)."""
    result = []
    for x in _diff_inputs(inputs):
        array = x.detach().numpy()  # shares memory with x
        columns = [[] for _ in func_out]
        for k in range(array.size):
            index = np.unravel_index(k, array.shape)
            original = array[index].copy()
            array[index] = original - eps
            before = _evaluate(func, inputs)
            array[index] = original + eps
            after = _evaluate(func, inputs)
            array[index] = original
            for col, a, b in zip(columns, before, after):
                col.append(((b - a) / (2 * eps)).reshape(-1))
        result.append([stack(col) if col else zeros(0, o.numel(), dtype=o.dtype)
                       for col, o in zip(columns, func_out)])
    return result


def _evaluate(func, inputs):
    # with grad enabled, as PyTorch: the function may itself differentiate (gradgradcheck)
    return tuple(o.detach().clone() for o in _as_tuple(func(*inputs)))


def _analytical_jacobian(inputs, output, nondet_tol, check_grad_dtypes):
    """[input j]: (inputs[j].numel(), output.numel()) from one vjp per output element, run
    twice to catch non-deterministic (non-reentrant) backward functions."""
    first, types_ok, sizes_ok = _jacobian_columns(inputs, output)
    second, _, _ = _jacobian_columns(inputs, output)
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    for a, b in zip(first, second):
        if a.numel() and float((a - b).abs().max()) > nondet_tol:
            raise GradcheckError("Backward is not reentrant, i.e., running backward with same "
                                 "input and grad_output multiple times gives different values, "
                                 "although analytical gradient matches numerical gradient."
                                 f"The tolerance for nondeterminism was {nondet_tol}.")
    return first


def _jacobian_columns(inputs, output):
    diff_inputs = _diff_inputs(inputs)
    columns = [[] for _ in diff_inputs]
    types_ok = sizes_ok = True
    for k in range(output.numel()):
        grad_output = zeros_like(output).reshape(-1)
        grad_output[k] = 1
        vjps = grad(output, diff_inputs, grad_output.view_as(output), retain_graph=True,
                    allow_unused=True)
        for col, x, g in zip(columns, diff_inputs, vjps):
            if g is None:
                col.append(zeros(x.numel(), dtype=x.dtype))
                continue
            types_ok = types_ok and g.dtype is x.dtype
            sizes_ok = sizes_ok and g.numel() == x.numel()
            col.append(g.reshape(-1).to(x.dtype) if g.numel() == x.numel()
                       else zeros(x.numel(), dtype=x.dtype))
    jacobians = [stack(col, dim=1) if col else zeros(x.numel(), 0, dtype=x.dtype)
                 for col, x in zip(columns, diff_inputs)]
    return jacobians, types_ok, sizes_ok


def _check_backward_multiplies_grad_output(outputs, inputs) -> None:
    """A zero grad_output must give zero gradients of the right type and size."""
    diff_inputs = _diff_inputs(inputs)
    grads = grad(outputs, diff_inputs, [zeros_like(o) for o in outputs], retain_graph=True,
                 allow_unused=True)
    for g, x in zip(grads, diff_inputs):
        if g is None:
            continue
        if bool((g != 0).any()):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype is not x.dtype:
            raise GradcheckError("grad is incorrect type")
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError("grad is incorrect size")


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """`gradcheck` of the gradient of `func`: second derivatives against finite
    differences of the first (random `grad_outputs` in [-1, 1) unless given).

    >>> x = gt.randn(3, dtype=gt.float64, requires_grad=True)
    >>> gt.autograd.gradgradcheck(lambda x: (x ** 3).sum(), (x,))
    True
    """
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or "
                             "check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev "
                             "to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to "
                             "be True")
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck: check_fwd_over_rev=True (forward-mode AD "
                                  "through a backward) is not supported by graphtorch")
    tupled_inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable_outputs(func(*tupled_inputs))
        tupled_grad_outputs = tuple(_random_grad_output(x, gen_non_contig_grad_outputs)
                                    for x in outputs)
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)
    diff_input_indices = {i for i, x in enumerate(tupled_inputs)
                          if isinstance(x, Tensor) and x.requires_grad}
    diff_grad_output_indices = {i for i, x in enumerate(tupled_grad_outputs) if x.requires_grad}

    def new_func(*args):
        input_args = tuple(x.requires_grad_() if i in diff_input_indices else x
                           for i, x in enumerate(args[:-num_outputs]))
        outputs = _differentiable_outputs(func(*input_args))
        grad_outs = tuple(x.requires_grad_() if i in diff_grad_output_indices else x
                          for i, x in enumerate(args[-num_outputs:]))
        diff_input_args = tuple(x for i, x in enumerate(input_args) if i in diff_input_indices)
        grad_inputs = grad(outputs, diff_input_args, grad_outs, create_graph=True,
                           allow_unused=True)
        return tuple(g for g in grad_inputs if g is not None)

    return gradcheck(new_func, tupled_inputs + tupled_grad_outputs, eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, check_forward_ad=check_fwd_over_rev,
                     check_backward_ad=check_rev_over_rev, masked=masked)


def _random_grad_output(x, noncontiguous: bool) -> Tensor:
    """Uniform [-1, 1) values of x's shape (float64 for integer outputs), optionally laid out
    non-contiguously (every other element of a buffer twice as long in the last dim)."""
    dtype = x.dtype if x.is_floating_point() or x.is_complex() else dtypes.float64
    shape = tuple(x.shape)
    if noncontiguous and shape and shape[-1] > 1:
        wide = zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype).uniform_(-1, 1)
        return wide[..., ::2].requires_grad_()
    return zeros(shape, dtype=dtype).uniform_(-1, 1).requires_grad_()
