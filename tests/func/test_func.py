"""`gt.func` against `torch.func`: the transforms, their nesting, the per-sample-gradient,
model-ensembling and Jacobian/Hessian/NTK tutorial programs, and PyTorch's errors."""

from __future__ import annotations

import pytest

from tests.autograd.diff import raises_like_torch, same

TOL = dict(atol=1e-5, rtol=1e-5)


def _net(T):
    class Net(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = T.nn.Linear(8, 16)
            self.fc2 = T.nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(T.nn.functional.relu(self.fc1(x)))

    return Net


def test_per_sample_gradients_tutorial():
    def program(T):
        T.manual_seed(0)
        model = _net(T)()
        data, targets = T.randn(6, 8), T.tensor([0, 1, 2, 0, 1, 2])
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            predictions = T.func.functional_call(model, (params, buffers),
                                                 (sample.unsqueeze(0),))
            return T.nn.functional.cross_entropy(predictions, target.unsqueeze(0))

        ft = T.func.vmap(T.func.grad(compute_loss), in_dims=(None, None, 0, 0))
        per_sample = ft(params, buffers, data, targets)
        # the loop the tutorial compares with
        loop = []
        for i in range(6):
            model.zero_grad()
            T.nn.functional.cross_entropy(model(data[i:i + 1]), targets[i:i + 1]).backward()
            loop.append(model.fc1.weight.grad.clone())
        return per_sample, T.stack(loop)

    ours = same(program, **TOL)
    import numpy as np
    np.testing.assert_allclose(ours[0]["fc1.weight"].values, ours[1].values, atol=1e-5)


def test_model_ensembling_tutorial():
    def program(T):
        T.manual_seed(0)
        Net = _net(T)
        models = [Net() for _ in range(4)]
        minibatches = T.randn(4, 5, 8)
        params, buffers = T.func.stack_module_state(models)
        base = models[0]

        def fmodel(params, buffers, x):
            return T.func.functional_call(base, (params, buffers), (x,))

        same_batch = T.func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatches[0])
        different = T.func.vmap(fmodel)(params, buffers, minibatches)
        return same_batch, different, params["fc1.weight"].requires_grad, sorted(params)

    same(program, **TOL)


def test_jacobians_hessians_ntk_tutorial():
    def program(T):
        T.manual_seed(0)
        D = 6
        weight, bias, x = T.randn(D, D), T.randn(D), T.randn(D)

        def predict(weight, bias, x):
            return T.nn.functional.linear(x, weight, bias).tanh()

        out = {
            "jacrev_x": T.func.jacrev(predict, argnums=2)(weight, bias, x),
            "jacfwd_x": T.func.jacfwd(predict, argnums=2)(weight, bias, x),
            "jac_wb": T.func.jacrev(predict, argnums=(0, 1))(weight, bias, x),
            "hess": T.func.hessian(predict, argnums=2)(weight, bias, x),
            "hess_rr": T.func.jacrev(T.func.jacrev(predict, argnums=2), argnums=2)(
                weight, bias, x),
            "batched": T.func.vmap(T.func.jacrev(predict, argnums=2),
                                   in_dims=(None, None, 0))(weight, bias, T.randn(3, D)),
        }
        model = _net(T)()
        params = {k: v.detach() for k, v in model.named_parameters()}

        def fnet_single(params, x):
            return T.func.functional_call(model, params, (x.unsqueeze(0),)).squeeze(0)

        x1, x2 = T.randn(3, 8), T.randn(2, 8)
        jac1 = T.func.vmap(T.func.jacrev(fnet_single), (None, 0))(params, x1)
        jac2 = T.func.vmap(T.func.jacrev(fnet_single), (None, 0))(params, x2)
        jac1 = [j.flatten(2) for j in jac1.values()]
        jac2 = [j.flatten(2) for j in jac2.values()]
        out["ntk"] = T.stack([T.einsum("Naf,Mbf->NMab", j1, j2)
                              for j1, j2 in zip(jac1, jac2)]).sum(0)
        return out

    same(program, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("case", ["grad", "grad_argnums", "grad_aux", "grad_and_value",
                                  "grad_grad", "grad_dict", "vjp", "vjp_tuple", "jvp",
                                  "jvp_aux", "hessian_dict", "unused_input",
                                  "grad_of_requires_grad", "vmap_grad"])
def test_transforms(case):
    def program(T):
        T.manual_seed(0)
        x, y = T.randn(3), T.randn(3)
        f = {
            "grad": lambda: T.func.grad(lambda a: (a.sin() * a).sum())(x),
            "grad_argnums": lambda: T.func.grad(lambda a, b: (a * b.exp()).sum(),
                                                argnums=(0, 1))(x, y),
            "grad_aux": lambda: T.func.grad(lambda a: ((a ** 2).sum(), a.cos()),
                                            has_aux=True)(x),
            "grad_and_value": lambda: T.func.grad_and_value(lambda a: (a ** 3).sum())(x),
            "grad_grad": lambda: T.func.grad(T.func.grad(lambda a: a.sin() * a))(x[0]),
            "grad_dict": lambda: T.func.grad(lambda p: (p["w"] * p["b"]).sum())(
                {"w": x, "b": y}),
            "vjp": lambda: T.func.vjp(lambda a: a.exp() * 2, x)[1](y),
            "vjp_tuple": lambda: T.func.vjp(lambda a, b: (a * b, a + b), x, y)[1](
                (T.ones(3), y)),
            "jvp": lambda: T.func.jvp(lambda a, b: a * b.sin(), (x, y), (y, x)),
            "jvp_aux": lambda: T.func.jvp(lambda a: (a.exp(), a.sum()), (x,), (y,),
                                          has_aux=True),
            "hessian_dict": lambda: T.func.hessian(lambda p: (p["a"] ** 3).sum())({"a": x}),
            "unused_input": lambda: T.func.grad(lambda a, b: a.sum(), argnums=(0, 1))(x, y),
            "grad_of_requires_grad": lambda: T.func.grad(lambda a: (a ** 2).sum())(
                x.clone().requires_grad_()),
            "vmap_grad": lambda: T.func.vmap(T.func.grad(lambda a: a.sin().sum()))(
                T.randn(4, 3)),
        }[case]
        return f()

    same(program, **TOL)


@pytest.mark.parametrize("case", ["in_dims", "out_dims", "nested", "tuple_out", "none_dim",
                                  "kwargs", "pytree_in", "neg_dim", "same_randomness_shape"])
def test_vmap(case):
    def program(T):
        T.manual_seed(0)
        a, b = T.randn(4, 3), T.randn(3, 4)
        return {
            "in_dims": lambda: T.func.vmap(T.dot, in_dims=(0, 1))(a, b),
            "out_dims": lambda: T.func.vmap(lambda x: x * 2, out_dims=1)(a),
            "nested": lambda: T.func.vmap(T.func.vmap(T.mul, (0, None)), (None, 0))(
                T.randn(2), T.randn(5)),
            "tuple_out": lambda: T.func.vmap(lambda x: (x.sum(), x * 2), out_dims=(0, 1))(a),
            "none_dim": lambda: T.func.vmap(lambda x, y: x @ y, in_dims=(0, None))(a, b),
            "kwargs": lambda: T.func.vmap(lambda x, scale: x * scale)(a, scale=3.0),
            "pytree_in": lambda: T.func.vmap(lambda d: d["x"] + d["y"][0],
                                             in_dims=({"x": 0, "y": [1]},))(
                {"x": a, "y": [b]}),
            "neg_dim": lambda: T.func.vmap(lambda x: x.sum(), in_dims=-1)(a),
            "same_randomness_shape": lambda: T.func.vmap(
                lambda x: x + T.zeros(3).normal_().mul(0), randomness="same")(a),
        }[case]()

    same(program, **TOL)


def test_vmap_randomness_same_and_different():
    import graphtorch as gt

    rows = gt.func.vmap(lambda x: x + gt.rand(3), randomness="same")(gt.zeros(4, 3))
    assert all(bool((rows[i] == rows[0]).all()) for i in range(4))
    rows = gt.func.vmap(lambda x: x + gt.rand(3), randomness="different")(gt.zeros(4, 3))
    assert not bool((rows[1] == rows[0]).all())


@pytest.mark.parametrize("case", ["sizes", "non_tensor", "no_mapped", "dim_range",
                                  "bad_in_dims_type", "in_dims_len", "random_error",
                                  "bad_randomness", "returns_int"])
def test_vmap_errors(case):
    def program(T):
        a = T.randn(4, 3)
        return {
            "sizes": lambda: T.func.vmap(T.add)(a, T.randn(5, 3)),
            "non_tensor": lambda: T.func.vmap(lambda x, n: x * n, in_dims=(0, 0))(a, 2),
            "no_mapped": lambda: T.func.vmap(lambda x: x, in_dims=None)(a),
            "dim_range": lambda: T.func.vmap(lambda x: x, in_dims=2)(a),
            "bad_in_dims_type": lambda: T.func.vmap(lambda x: x, in_dims=[0])(a),
            "in_dims_len": lambda: T.func.vmap(lambda x, y: x, in_dims=(0,))(a, a),
            "random_error": lambda: T.func.vmap(lambda x: x + T.rand(3))(a),
            "bad_randomness": lambda: T.func.vmap(lambda x: x, randomness="x")(a),
            "returns_int": lambda: T.func.vmap(lambda x: 3)(a),
        }[case]()

    raises_like_torch(program)


@pytest.mark.parametrize("case", ["non_scalar", "argnums_range", "argnums_type", "aux_form",
                                  "jvp_primals", "vjp_cot_shape", "jvp_structure",
                                  "stack_empty", "stack_classes"])
def test_transform_errors(case):
    def program(T):
        x = T.randn(3)
        return {
            "non_scalar": lambda: T.func.grad(lambda a: a * 2)(x),
            "argnums_range": lambda: T.func.grad(lambda a: a.sum(), argnums=2)(x),
            "argnums_type": lambda: T.func.grad(lambda a: a.sum(), argnums=1.0)(x),
            "aux_form": lambda: T.func.grad(lambda a: a.sum(), has_aux=True)(x),
            "jvp_primals": lambda: T.func.jvp(T.sin, x, (x,)),
            "vjp_cot_shape": lambda: T.func.vjp(T.sin, x)[1](T.ones(4)),
            "jvp_structure": lambda: T.func.jvp(T.mul, (x, x), (x,)),
            "stack_empty": lambda: T.func.stack_module_state([]),
            "stack_classes": lambda: T.func.stack_module_state([T.nn.Linear(2, 2),
                                                                T.nn.Conv1d(2, 2, 1)]),
        }[case]()

    raises_like_torch(program)


def test_functional_call_forms_and_errors():
    def program(T):
        T.manual_seed(0)
        m = T.nn.Linear(3, 2)
        x = T.randn(4, 3)
        w = T.ones(2, 3)
        out = [T.func.functional_call(m, {"weight": w}, (x,)),
               T.func.functional_call(m, {"weight": w, "bias": T.zeros(2)}, x),
               T.func.functional_call(m, ({"weight": w}, {"bias": T.ones(2)}), (x,),
                                      strict=True),
               m.weight]  # restored afterwards
        return out

    same(program, **TOL)
    for bad in (lambda T: T.func.functional_call(T.nn.Linear(3, 2), {"weight": T.ones(2, 3)},
                                                 (T.ones(3),), strict=True),
                lambda T: T.func.functional_call(T.nn.Linear(3, 2),
                                                 ({"weight": T.ones(2, 3)},
                                                  {"weight": T.ones(2, 3)}), (T.ones(3),)),
                lambda T: T.func.functional_call(T.nn.Linear(3, 2), 5, (T.ones(3),))):
        raises_like_torch(bad)


def test_stateless_functional_call_warns_as_torch():
    import warnings

    def program(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = T.nn.utils.stateless.functional_call(T.nn.Linear(3, 2),
                                                       {"weight": T.ones(2, 3),
                                                        "bias": T.zeros(2)}, (T.ones(3),))
        return out, [c.category.__name__ for c in caught]

    same(program, **TOL)


def test_functional_call_tied_weights():
    def program(T):
        T.manual_seed(0)

        class Tied(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = T.nn.Linear(3, 3, bias=False)
                self.b = T.nn.Linear(3, 3, bias=False)
                self.b.weight = self.a.weight

            def forward(self, x):
                return self.b(self.a(x))

        m = Tied()
        x = T.randn(2, 3)
        return (T.func.functional_call(m, {"a.weight": T.eye(3) * 2}, (x,)),
                T.func.functional_call(m, {"a.weight": T.eye(3) * 2}, (x,),
                                       tie_weights=False))

    same(program, **TOL)


def test_docstrings():
    import graphtorch as gt

    for name in ("functional_call", "grad", "grad_and_value", "vjp", "jvp", "jacrev",
                 "jacfwd", "hessian", "vmap", "stack_module_state"):
        assert getattr(gt.func, name).__doc__
    assert gt.nn.utils.stateless.functional_call.__doc__


def test_torch_vmap_is_the_top_level_name_of_func_vmap():
    import graphtorch as gt
    assert gt.vmap is gt.func.vmap
    same(lambda T: T.vmap(T.dot, in_dims=(0, None))(T.ones(3, 2), T.arange(2.0)))
