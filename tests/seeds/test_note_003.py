"""Note 003 (PyTorch 细节): shared memory, contiguity and view, in-place ops, devices, templates.

The note's "# Outputs:" blocks are PyTorch's output pasted into the code; they become
comments, and the intentional `c.view(-1)` RuntimeError is its own snippet.
"""

from __future__ import annotations

import pytest

from .snippets import Snippet, check, params

SNIPPETS = [
    # 1.1.1 内存中的tensor: indexing and .view() share memory; .clone().view(), .reshape()
    # and torch.tensor() give new memory; .numpy()/.from_numpy() share it.
    Snippet("shared_memory", """
        tensor = torch.arange(6.0)
        new_tensor = tensor[1:]
        new_tensor[0] = 100
        tensor
        v = tensor.view(2, 3)
        v[1, 1] = -1
        tensor
        c = tensor.clone().view(3, 2)
        c[0, 0] = 7
        tensor, c
        r = tensor.reshape(3, 2)
        r[2, 1] = 9
        tensor
        a = np.ones(3)
        t = torch.tensor(a)
        s = torch.from_numpy(a)
        a[0] = 5
        t, s
        s.numpy()[1] = 6
        a
    """),
    # 1.1.2 tensor的contiguous, up to the intentional error.
    Snippet("view_non_contiguous_error", """
        a = torch.randn(16)
        print(a.is_contiguous()) # True
        b = a.view(-1, 4)
        print(b.is_contiguous()) # True
        c = b.transpose(0, 1)
        print(c.is_contiguous()) # False

        d = c.view(-1)
        # Outputs:
        # RuntimeError: view size is not compatible with input tensor s size and stride (at
        # least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.
    """),
    Snippet("contiguous_view", """
        a = torch.randn(16)
        b = a.view(-1, 4)
        c = b.transpose(0, 1)
        d = c.contiguous().view(-1)
        print(d.shape)
        # Outputs:
        # torch.Size([16])
        d
        c.reshape(-1)
        c.contiguous().is_contiguous(), c.contiguous() is c, b.contiguous() is b
    """),
    # 1.1.3 inplace操作 (x, y given: x has a .grad to zero)
    Snippet("inplace_ops", """
        x = torch.ones(3, requires_grad=True)
        (x * 2).sum().backward()
        y = torch.zeros(3)
        y.add_(x)
        y.copy_(x)
        x.grad.data.zero_()
        x.grad
        x.requires_grad_()
        z = torch.ones(2)
        z.requires_grad_()
        z.requires_grad
    """),
    # 1.1.4 tensor在不同设备上移动
    Snippet("to_device", """
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        t = torch.ones(2, 2)
        t.to(device)
        t.to(device).device
        t.to('cpu') is t
        t.to(torch.device('cpu'), dtype=torch.float64)
        t.device, t.is_cuda
    """),
    # 2.1 模型的训练及验证 (model, optimizer, criterion and data given; the note's templates
    # read `inputs`/`gold`, here unpacked from each batch)
    Snippet("train_valid_epoch", """
        import torch.nn as nn
        model = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        criterion = nn.CrossEntropyLoss()
        train_iter = [(torch.randn(3, 4), torch.tensor([0, 1, 1])) for _ in range(10)]
        valid_iter = train_iter[:4]

        def train_epoch(epoch, model, optimizer, criterion, train_iter):
            model.train()
            for i, batch in enumerate(train_iter, start=1):
                inputs, gold = batch
                optimizer.zero_grad()
                out = model(inputs)
                loss = criterion(out, gold)
                loss.backward()
                optimizer.step()
                if i % 5 == 0:
                    print('Epoch: {}, batch: [{}/{}], Loss: {:.5}'.format(
                        epoch, i, len(train_iter), loss.item()))

        def valid_epoch(epoch, model, optimizer, criterion, valid_iter):
            model.eval()
            with torch.no_grad():
                loss_list = []
                for _, batch in enumerate(valid_iter, start=1):
                    inputs, gold = batch
                    out = model(inputs)
                    loss = criterion(out, gold)
                    loss_list.append(loss)
            return sum(loss_list) / len(valid_iter)

        train_epoch(1, model, optimizer, criterion, train_iter)
        valid_epoch(1, model, optimizer, criterion, valid_iter)
    """, nn=True),
    # 1.2.2 "可使用net.parameters()来查看模型所有的可学习参数,返回一个生成器";
    # "torch.nn仅支持一个batch样本的输入 ... 需要手动添加维度"
    Snippet("parameters_generator_batch_dim", """
        import torch.nn as nn
        net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        type(net.parameters())
        [p.shape for p in net.parameters()]
        sample = torch.randn(1, 5, 5)
        net(sample.unsqueeze(0)).shape
    """, nn=True),
    # 2.2 模型的保存和加载 (TheModelClass: Linear; PATH in a temporary directory)
    Snippet("save_load_whole_module", """
        import torch.nn as nn
        model = nn.Linear(3, 2)
        PATH = 'model.pt'
        torch.save(model, PATH) # 方法1(不推荐)
        model1 = torch.load(PATH, weights_only=False)
        model1.weight
    """, nn=True),
    Snippet("save_load", """
        import torch.nn as nn
        TheModelClass, args, kwargs = nn.Linear, (3, 2), {}
        model = TheModelClass(*args, **kwargs)
        epoch = 3
        PATH = 'model.pt'
        model1 = model
        torch.save(model.state_dict(), PATH) # 方法2
        model2 = TheModelClass(*args, **kwargs)
        model2.load_state_dict(torch.load(PATH))
        torch.save({'epoch':epoch, 'model':model.state_dict()}, PATH) # 方法3
        model3 = TheModelClass(*args, **kwargs)
        checkpoint = torch.load(PATH)
        model3.load_state_dict(checkpoint['model'])
        checkpoint['epoch']
        device = torch.device('cpu')
        model3.load_state_dict(torch.load(PATH, map_location=device)['model'])
        model3.to(device)
        model1.weight, model2.weight, model3.bias
    """, nn=True),
    # 2.3 可复现性
    Snippet("set_random_seed", """
        import random

        def set_random_seed(seed, deterministic=False):
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            torch.cuda.manual_seed_all(seed)
            if deterministic:
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False

        set_random_seed(42)
        torch.rand(3), torch.initial_seed()
        set_random_seed(7, deterministic=True)
        torch.randn(2, 2), torch.initial_seed()
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
        torch.backends.cudnn.deterministic = False
    """),
]


@pytest.mark.parametrize("snippet", params(SNIPPETS))
def test_note_003(snippet):
    check(snippet)
