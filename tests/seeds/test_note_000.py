"""Note 000 (Pytorch摘要): Variable, no_grad, detach, backward, cuda, tensor ops, numpy.

Prose-only API descriptions in the note are turned into small snippets too, so each
feature the note names is checked.
"""

from __future__ import annotations

import pytest

from .snippets import Snippet, check, params

SNIPPETS = [
    # "torch.autograd.Variable ... data(返回原始张量), 所有的梯度回累计到grad属性上"
    Snippet("variable_data_grad", """
        x = Variable(torch.rand(2, 2), requires_grad=True)
        y = (x * x).sum()
        y.backward()
        x.data
        x.grad
        x.requires_grad, x.is_leaf, y.grad_fn is not None
    """),
    # "model.train() / model.eval()" and "Module.zero_grad()"
    Snippet("module_train_eval_zero_grad", """
        model = torch.nn.Linear(2, 2)
        model.train()
        print(model.training)
        model.eval()
        print(model.training)
        model(torch.ones(1, 2)).sum().backward()
        model.zero_grad()
        print(model.weight.grad)
    """, nn=True),
    # "with torch.no_grad(): 下文的内容均取消梯度计算的操作"
    Snippet("no_grad", """
        x = torch.ones(2, 2, requires_grad=True)
        with torch.no_grad():
            y = x * 2
        y.requires_grad
        y
        (x * 2).requires_grad
    """),
    # "torch.Tensor.detach() 截断反向传播的梯度流"
    Snippet("detach", """
        x = torch.ones(3, requires_grad=True)
        y = x * 2
        z = y.detach()
        z
        z.requires_grad, z.is_leaf, z.grad_fn
        w = (z * x).sum()
        w.backward()
        x.grad
    """),
    # "如果Variable是表量(包含一个元素)可以直接调用backward, 如果是有多个元素需要指定gradient参数"
    Snippet("backward_scalar_and_gradient", """
        x = Variable(torch.tensor([1.0, 2.0, 3.0]), requires_grad=True)
        loss = (x ** 2).sum()
        loss.backward()
        x.grad
        x.grad.zero_()
        y = x * 3
        y.backward(gradient=torch.tensor([1.0, 0.1, 0.01]))
        x.grad
    """),
    Snippet("backward_non_scalar_without_gradient", """
        x = torch.ones(3, requires_grad=True)
        y = x * 2
        y.backward()
    """),
    # tensor.cuda(): the note's block, with x and y given.
    Snippet("cuda_block", """
        x = torch.ones(3)
        y = torch.arange(3.0)
        c = None
        if torch.cuda.is_available():
            x = x.cuda()
            y = y.cuda()
            c = x + y
        torch.cuda.is_available()
        c
        x + y
    """),
    # tensor.narrow(dim, start, size)
    Snippet("narrow", """
        x = torch.arange(12).reshape(3, 4)
        x.narrow(0, 1, 2)
        x.narrow(1, 1, 2)
        x.narrow(1, 1, 2).is_contiguous()
    """),
    # tensor.t(): "相当于tensor.transpose(0, 1)"
    Snippet("t_transpose", """
        x = torch.arange(6.0).reshape(2, 3)
        x.t()
        x.transpose(0, 1)
        (x.t() == x.transpose(0, 1)).all()
    """),
    # tf.nn.embedding(10, 3)([[1, 2, 3, 4], [4, 5, 6, 9]]) -> shape (2, 4, 3), in PyTorch
    Snippet("embedding_shape", """
        torch.nn.Embedding(10, 3)(torch.tensor([[1, 2, 3, 4], [4, 5, 6, 9]])).shape
    """, nn=True),
    # torch.stack(seq, dim=0): a list of 10 tensors of length 5 -> shape (10, 5)
    Snippet("stack", """
        seq = [torch.rand(5) for _ in range(10)]
        s = torch.stack(seq, dim=0)
        s.shape
        torch.stack(seq[:2], dim=1)
        torch.stack(seq[:2])
    """),
    # tensor.squeeze(): shape 10x1x5 -> 10x5
    Snippet("squeeze", """
        x = torch.zeros(10, 1, 5)
        x.squeeze().shape
        torch.zeros(1, 3, 1).squeeze(0).shape
    """),
    # tensor.div(value)
    Snippet("div", """
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        x.div(2)
        torch.arange(5).div(2)
    """),
    # tensor.operator_: y.add_(x), x.t_()
    Snippet("inplace_add_t", """
        x = torch.ones(2, 3)
        y = torch.arange(6.0).reshape(2, 3)
        y.add_(x)
        y
        x = torch.arange(6).reshape(2, 3)
        x.t_()
        x, x.shape
    """),
    # The note's numpy snippet verbatim: `tensor.ones` fails in PyTorch too.
    Snippet("numpy_sharing_verbatim", """
        a = tensor.ones(5)
        b = a.numpy()
        a.add_(1) # (2, 2, 2, 2, 2)
        b #(2, 2, 2, 2, 2)
    """),
    Snippet("numpy_sharing", """
        a = torch.ones(5)
        b = a.numpy()
        a.add_(1) # (2, 2, 2, 2, 2)
        b #(2, 2, 2, 2, 2)
    """),
    # "通过torch.from_num(np.zeros(5))将numpy转化为tensor": verbatim (a typo in both) and fixed.
    Snippet("from_num_verbatim", """
        torch.from_num(np.zeros(5))
    """),
    Snippet("from_numpy_sharing", """
        n = np.zeros(5)
        t = torch.from_numpy(n)
        n += 1
        t
        t.add_(1)
        n
    """),
    # tensor.permute(*dims): permute(1, 0) on a matrix is a transpose
    Snippet("permute", """
        x = torch.arange(6).reshape(2, 3)
        x.permute(1, 0)
        (x.permute(1, 0) == x.t()).all()
        torch.zeros(2, 3, 4).permute(2, 0, 1).shape
    """),
]


@pytest.mark.parametrize("snippet", params(SNIPPETS))
def test_note_000(snippet):
    check(snippet)
