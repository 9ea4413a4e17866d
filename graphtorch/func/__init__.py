"""`gt.func`: PyTorch's function transforms (`torch.func`, formerly functorch) on top of
graphtorch's reverse-mode autograd.

- `grad`, `grad_and_value`, `vjp`, `jacrev`: reverse mode (`gt.autograd.grad`) on fresh
  leaves made from the differentiated arguments.
- `jvp`, `jacfwd`, `hessian`: PyTorch's values, computed in reverse mode rather than with
  `gt.autograd.forward_ad` (`jvp` by the double-backward trick, as
  `gt.autograd.functional.jvp` does and forward_ad does per op; `jacfwd` row by row, as
  `jacrev`).
- `vmap`: runs the function once per batch element and stacks the results. This gives
  PyTorch's results for functions without side effects; randomness follows the
  `randomness` flag ('error' raises when the function draws random numbers; 'same' replays
  one random stream for every element; 'different' lets each element draw its own).
  Data-dependent Python control flow and `.item()` work here (PyTorch refuses them).
- Transforms nest (`vmap(grad(f))`, `jacfwd(jacrev(f))`, `grad(grad(f))`): an inner
  transform keeps its graph (create_graph) whenever an outer one, or ordinary autograd,
  differentiates through it; at the outermost level results are detached, as PyTorch's are.
- `functional_call` and `stack_module_state` run modules on given parameter dicts.

Known difference: a tensor that requires grad and is only captured by the function (not
passed as an argument) is treated as a constant by the top-level transform's result.
"""

from __future__ import annotations

import contextlib

from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ..functions.creation import zeros_like
from ..functions.movement import stack
from ..nn.utils.stateless import call_with as _stateless_functional_call
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor
from ._pytree import broadcast_prefix, tree_flatten, tree_map, tree_unflatten

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian", "vmap", "stack_module_state"]

# How many differentiating transforms (grad, vjp, jvp, jac*) are running now: an inner one
# keeps its graph so that the outer one can differentiate its results.
_DIFF_DEPTH = [0]


@contextlib.contextmanager
def _transform():
    _DIFF_DEPTH[0] += 1
    try:
        with enable_grad():
            yield
    finally:
        _DIFF_DEPTH[0] -= 1


def _needs_graph(*trees) -> bool:
    """Whether results must stay differentiable: an outer transform runs, or an argument is
    part of an autograd graph already."""
    if _DIFF_DEPTH[0] > 1:
        return True
    for tree in trees:
        for x in tree_flatten(tree)[0]:
            if isinstance(x, Tensor) and x.requires_grad:
                return True
    return False


def _leaf(x):
    """A differentiable stand-in for `x`: a view keeps an outer graph, else a fresh leaf."""
    if not isinstance(x, Tensor):
        return x
    if not (x.is_floating_point() or x.is_complex()):
        return x
    if x.requires_grad:
        return x.view_as(x)
    return x.detach().requires_grad_(True)


def _maybe_detach(tree, keep: bool):
    if keep:
        return tree
    return tree_map(lambda x: x.detach() if isinstance(x, Tensor) else x, tree)


def _grads(outputs, inputs, grad_outputs, create_graph: bool):
    """d(outputs)/d(inputs) contracted with grad_outputs; zeros for unreachable inputs."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
             if isinstance(o, Tensor) and o.requires_grad]
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    result = [zeros_like(x) if isinstance(x, Tensor) else None for x in inputs]
    if pairs and diff:
        gs = _autograd_grad([p[0] for p in pairs], [inputs[i] for i in diff],
                            [p[1] for p in pairs], retain_graph=True,
                            create_graph=create_graph, allow_unused=True)
        for i, g in zip(diff, gs):
            if g is not None:
                result[i] = g
    return result


def _check_argnums(argnums, num_args: int, fn_name: str):
    """The argnums as a tuple of non-negative ints (PyTorch's errors otherwise)."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        items = (argnums,)
    elif isinstance(argnums, tuple) and argnums:
        items = argnums
        for a in items:
            if not isinstance(a, int) or isinstance(a, bool):
                raise RuntimeError(f"{fn_name}: Got argnums={argnums}. Expected argnums to be "
                                   "int or tuple of ints. Got type {type(a)}.")
        if len(set(items)) != len(items):
            raise RuntimeError(f"{fn_name}: Got argnums={argnums}. Expected argnums to "
                               "contain unique elements.")
    elif isinstance(argnums, tuple):
        raise RuntimeError(f"{fn_name}: Got argnums={argnums}. Expected argnums to be "
                           "int or non-empty tuple of ints.")
    else:
        raise RuntimeError(f"{fn_name}: Got argnums={argnums}. Expected argnums to be int or "
                           "tuple of ints.")
    result = []
    for a in items:
        if not -num_args <= a < num_args:
            raise RuntimeError(f"Got argnum={a}, but only {num_args} positional inputs")
        result.append(a % num_args)
    return tuple(result)


def _split_aux(out, has_aux: bool, fn_name: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fn_name}(f, ...)(*args): output of function f should be a "
                           "tuple: (output, aux) if has_aux is True")
    return out


def _prepare_args(args, argnums):
    """args with the argnums' tensors made differentiable; the differentiated subtree."""
    args = list(args)
    for a in argnums:
        args[a] = tree_map(_leaf, args[a])
    return args


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """`grad_and_value(f)(*args)` -> (gradient of f's scalar output w.r.t. args[argnums],
    f's output) (with has_aux: f returns (output, aux) and the value is (output, aux)).

    >>> gt.func.grad_and_value(lambda x: (x ** 2).sum())(gt.tensor([1., 2.]))
    (tensor([2., 4.]), tensor(5.))
    """

    def wrapper(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), "grad_and_value")
        with _transform():
            keep = _needs_graph(args, kwargs)
            args = _prepare_args(args, nums)
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, "grad_and_value")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {out.dim()} dims. Maybe "
                                   "you wanted to use the vjp or jacrev APIs instead?")
            diff_tree = tuple(args[a] for a in nums)
            leaves, spec = tree_flatten(diff_tree)
            grads = _grads([out], leaves, [None], keep)
            grads = tree_unflatten(grads, spec)
        grads = grads[0] if isinstance(argnums, int) else grads
        grads = _maybe_detach(grads, keep)
        out = _maybe_detach(out, keep)
        if has_aux:
            return grads, (out, _maybe_detach(aux, keep))
        return grads, out

    wrapper.__wrapped__ = func
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """`grad(f)(*args)`: the gradient of f's scalar output w.r.t. args[argnums] (a pytree
    like that argument; a tuple of them for a tuple of argnums). With has_aux, f returns
    (output, aux) and grad returns (gradient, aux).

    >>> gt.func.grad(lambda x: x.sin().sum())(gt.tensor([0.]))
    tensor([1.])
    """
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    wrapper.__wrapped__ = func
    return wrapper


def _check_outputs(flat, fn_name: str):
    for x in flat:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{fn_name}: Expected f to be a function that has non-empty "
                               f"output and returns only Tensors (or pytrees of them), got "
                               f"{type(x)}")
    if not flat:
        raise RuntimeError(f"{fn_name}: Expected f to be a function that has non-empty "
                           "output and returns only Tensors")


def vjp(func, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn[, aux]): vjp_fn(cotangents) returns the tuple of
    vector-Jacobian products, one per primal (pytrees like the primals).

    >>> out, fn = gt.func.vjp(gt.sin, gt.tensor([0.]))
    >>> fn(gt.ones(1))
    (tensor([1.]),)
    """
    with _transform():
        keep = _needs_graph(primals)
        leaves_tree = tuple(tree_map(_leaf, p) for p in primals)
        out = func(*leaves_tree)
        out, aux = _split_aux(out, has_aux, "vjp")
    flat_out, out_spec = tree_flatten(out)
    _check_outputs(flat_out, "vjp(f, *primals)")
    flat_in, in_spec = tree_flatten(leaves_tree)

    def vjp_fn(cotangents, *, retain_graph: bool = True, create_graph=None):
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as "
                               f"pytree structure of outputs to the function. cotangents: "
                               f"{cot_spec}, primal output: {out_spec}")
        for c, o in zip(flat_cot, flat_out):
            if not isinstance(c, Tensor):
                raise RuntimeError(f"Expected cotangents to be Tensors, got {type(c)}")
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{c.shape} and output[0] has a shape of {o.shape}.")
        cg = keep or _DIFF_DEPTH[0] > 0 or any(c.requires_grad for c in flat_cot) \
            if create_graph is None else create_graph
        with _transform():
            gs = _grads(flat_out, flat_in, flat_cot, cg)
        return _maybe_detach(tree_unflatten(gs, in_spec), cg)

    result = (_maybe_detach(out, keep), vjp_fn)
    return result + (_maybe_detach(aux, keep),) if has_aux else result


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """(func(*primals), J @ tangents[, aux]): the Jacobian-vector product. Computed in
    reverse mode by the double-backward trick (graphtorch has no forward-mode AD).

    >>> gt.func.jvp(lambda x: x ** 2, (gt.tensor([3.]),), (gt.ones(1),))
    (tensor([9.]), tensor([6.]))
    """
    if strict:
        raise RuntimeError("jvp(f, primals, tangents): strict=True is not implemented")
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. "
                           "it should be valid to call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if t_spec != p_spec:
        raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have "
                           f"the same python structure. For example, if primals is a tuple of "
                           f"3 tensors, tangents also must be. Got primals with structure "
                           f"{p_spec} and tangents with structure {t_spec}")
    for p, t in zip(flat_p, flat_t):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to "
                               "only contain Tensors")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to "
                               f"have the same shape, got {tuple(p.shape)} and "
                               f"{tuple(t.shape)}")
    with _transform():
        keep = _needs_graph(primals, tangents)
        leaves = [_leaf(p) for p in flat_p]
        out = func(*tree_unflatten(leaves, p_spec))
        out, aux = _split_aux(out, has_aux, "jvp")
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, "jvp(f, primals, tangents)")
        # the backward is linear in u, so u's value never shows in the result
        us = [zeros_like(o).requires_grad_(True) for o in flat_out]
        vjps = _grads(flat_out, leaves, us, True)
        pairs = [(g, t) for g, t in zip(vjps, flat_t) if g is not None and g.requires_grad]
        if pairs:
            tangents_out = _grads([g for g, _ in pairs], us, [t for _, t in pairs], keep)
        else:
            tangents_out = [zeros_like(o) for o in flat_out]
    out = _maybe_detach(out, keep)
    tangents_out = _maybe_detach(tree_unflatten(tangents_out, out_spec), keep)
    if has_aux:
        return out, tangents_out, _maybe_detach(aux, keep)
    return out, tangents_out


def _jacobian(func, argnums, has_aux: bool, fn_name: str):
    def wrapper(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), fn_name)
        with _transform():
            keep = _needs_graph(args, kwargs)
            args = _prepare_args(args, nums)
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, fn_name)
            flat_out, out_spec = tree_flatten(out)
            _check_outputs(flat_out, f"{fn_name}(f, ...)(*args)")
            diff_tree = args[nums[0]] if isinstance(argnums, int) else \
                tuple(args[a] for a in nums)
            flat_in, in_spec = tree_flatten(diff_tree)
            per_output = []
            for o in flat_out:
                n = o.numel()
                rows = [[] for _ in flat_in]
                flat_o = o.reshape(-1)
                for k in range(n):
                    onehot = zeros_like(flat_o)
                    onehot[k] = 1
                    gs = _grads([o], flat_in, [onehot.reshape(o.shape)], keep)
                    for j, g in enumerate(gs):
                        rows[j].append(g)
                jacs = []
                for j, x in enumerate(flat_in):
                    if n:
                        jac = stack(rows[j]).reshape(tuple(o.shape) + tuple(x.shape))
                    else:
                        jac = zeros_like(x).new_zeros(tuple(o.shape) + tuple(x.shape))
                    jacs.append(jac)
                per_output.append(tree_unflatten(jacs, in_spec))
        result = _maybe_detach(tree_unflatten(per_output, out_spec), keep)
        if has_aux:
            return result, _maybe_detach(aux, keep)
        return result

    wrapper.__wrapped__ = func
    return wrapper


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None,
           _preallocate_and_copy: bool = False):
    """`jacrev(f)(*args)`: the Jacobian of f w.r.t. args[argnums] by reverse mode, one
    vector-Jacobian product per output element. Each output leaf gets shape
    output.shape + input.shape (a pytree of them for pytree inputs or tuple argnums).

    >>> gt.func.jacrev(gt.sin)(gt.zeros(2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """`jacfwd(f)(*args)`: the Jacobian of f w.r.t. args[argnums], as PyTorch's forward-mode
    `jacfwd` returns it (same shapes and structure). graphtorch computes it in reverse mode.

    >>> gt.func.jacfwd(lambda x: 2 * x)(gt.zeros(2))
    tensor([[2., 0.],
            [0., 2.]])
    """
    _check_randomness(randomness)
    return _jacobian(func, argnums, has_aux, "jacfwd")


def hessian(func, argnums=0):
    """`hessian(f)(*args)`: jacfwd(jacrev(f, argnums), argnums), as PyTorch defines it.

    >>> gt.func.hessian(lambda x: (x ** 3).sum())(gt.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call `module(*args, **kwargs)` with its parameters and buffers replaced by the
    tensors in `parameter_and_buffer_dicts` (a dict, or a tuple/list of dicts with distinct
    keys), as `torch.func.functional_call`.

    >>> m = gt.nn.Linear(2, 1)
    >>> gt.func.functional_call(m, {"weight": gt.ones(1, 2), "bias": gt.zeros(1)},
    ...                         (gt.ones(2),))
    tensor([2.])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        merged = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        merged = {}
        seen: dict = {}
        for d in parameter_and_buffer_dicts:
            for k, v in d.items():
                seen[k] = seen.get(k, 0) + 1
                merged[k] = v
        repeated = [k for k, c in seen.items() if c > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple "
                         f"of dicts, but got {type(parameter_and_buffer_dicts)}")
    return _stateless_functional_call(module, merged, args, kwargs, tie_weights=tie_weights,
                                      strict=strict)


def stack_module_state(models):
    """(params, buffers): each name's tensors of the (same-class) models stacked on a new
    dim 0, for `vmap` over `functional_call` (model ensembling). Stacked parameters are
    new leaves that require grad when the models' parameters do.

    >>> params, buffers = gt.func.stack_module_state([gt.nn.Linear(2, 1) for _ in range(3)])
    >>> params["weight"].shape
    torch.Size([3, 1, 2])
    """
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    first = type(models[0])
    if not all(type(m) is first for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def _stacked_leaf(tensors, name: str):
    requires = [t.requires_grad for t in tensors]
    if any(requires) and not all(requires):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors).detach()
    if all(requires):
        result.requires_grad_(True)
    return result


_RANDOMNESS = ("error", "different", "same")


def _check_randomness(randomness) -> None:
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


def _dims_error(what: str, in_dims, args):
    def make():
        return ValueError(f"vmap(f, {what}={in_dims}, ...)(<inputs>): {what} is not "
                          f"compatible with the structure of `inputs`. {what} has structure "
                          f"{tree_flatten(in_dims)[1]} but inputs has structure "
                          f"{tree_flatten(args)[1]}.")
    return make


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """`vmap(f, in_dims, out_dims)(*args)`: f mapped over a dimension of its inputs, as
    PyTorch's vmap. graphtorch runs f once per batch element (the inputs' `select` at the
    in_dims) and stacks each output along its out_dim. in_dims/out_dims are an int, None or
    a (nested) tuple matching the args/outputs; pytrees of tensors are mapped leaf by leaf.

    >>> gt.func.vmap(gt.dot)(gt.ones(3, 2), gt.ones(3, 2))
    tensor([2., 2., 2.])
    """
    _check_randomness(randomness)
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got "
                         f"{chunk_size})")
    if not callable(func):
        raise RuntimeError(f"vmap: Expected f to be callable, got {type(func)}")

    def wrapper(*args, **kwargs):
        if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
            if in_dims is not None:
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...): expected `in_dims` to be "
                                 f"int or a (potentially nested) tuple matching the "
                                 f"structure of inputs, got: {type(in_dims)}.")
        if isinstance(in_dims, tuple) and len(in_dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                             f"compatible with the structure of `inputs`. in_dims has "
                             f"structure {tree_flatten(in_dims)[1]} but inputs has "
                             f"structure {tree_flatten(args)[1]}.")
        if not args:
            raise ValueError("vmap(f)(<inputs>): got no inputs. Maybe you forgot to add "
                             "inputs, or you are trying to vmap over a function with no "
                             "inputs. The latter is unsupported.")
        flat_args, args_spec = tree_flatten(args)
        flat_dims = broadcast_prefix(in_dims, args, _dims_error("in_dims", in_dims, args))
        size = None
        sizes = []
        dims = []
        for x, d in zip(flat_args, flat_dims):
            if d is None:
                dims.append(None)
                continue
            if not isinstance(d, int) or isinstance(d, bool):
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims must "
                                 f"be int or None, got {type(d)}")
            if not isinstance(x, Tensor):
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} "
                                 f"for an input but the input is of type {type(x)}. We cannot "
                                 f"vmap over non-Tensor arguments, please use None as the "
                                 f"respective in_dim")
            n = x.dim()
            if not -n <= d < n:
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} "
                                 f"for some input, but that input is a Tensor of "
                                 f"dimensionality {n} so expected in_dim to satisfy "
                                 f"-{n} <= in_dim < {n}.")
            d = d % n
            dims.append(d)
            sizes.append(x.shape[d])
        if not sizes:
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): at least one input "
                             f"must be mapped over (got in_dims={in_dims}, which does not map "
                             f"over any Tensor).")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")
        size = sizes[0]
        results = []
        start_state = get_rng_state() if randomness != "different" else None
        for b in range(size):
            if randomness == "same":
                set_rng_state(start_state)
            elem = [x if d is None else x.select(d, b) for x, d in zip(flat_args, dims)]
            out = func(*tree_unflatten(elem, args_spec), **kwargs)
            if randomness == "error" and not _same_state(start_state, get_rng_state()):
                raise RuntimeError("vmap: called random operation while in randomness error "
                                   "mode. Please either use the 'same' or 'different' "
                                   "randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
            results.append(out)
        return _stack_outputs(results, out_dims, size)

    wrapper.__wrapped__ = func
    return wrapper


def _same_state(a, b) -> bool:
    return bool((a == b).all())


def _stack_outputs(results, out_dims, size):
    first = results[0] if results else None
    flat0, spec = tree_flatten(first)
    flat_out_dims = broadcast_prefix(
        out_dims, first,
        lambda: ValueError(f"vmap(f, ..., out_dims={out_dims})(<inputs>): out_dims is not "
                           f"compatible with the structure of `outputs`. out_dims has "
                           f"structure {tree_flatten(out_dims)[1]} but outputs has structure "
                           f"{spec}."))
    flats = [tree_flatten(r)[0] for r in results]
    stacked = []
    for i, d in enumerate(flat_out_dims):
        leaf = flat0[i]
        if d is None:
            stacked.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(f"vmap(f, ...): `f` must only return Tensors, got type "
                             f"{type(leaf)}. Did you mean to set out_dims= to None for "
                             f"output?")
        n = leaf.dim() + 1
        if not isinstance(d, int) or not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {d})")
        stacked.append(stack([f[i] for f in flats], dim=d))
    return tree_unflatten(stacked, spec)
