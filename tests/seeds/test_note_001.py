"""Note 001 (PyTorch 使用简介): storage pointers of in-place ops, nn.Embedding, nn.Linear."""

from __future__ import annotations

import pytest

from .snippets import Snippet, check, params

SNIPPETS = [
    # "很多函数以 _ 结尾表示原地计算,可以通过 t.storage().data_ptr() 获取底层的指针,
    # 如果是原地计算,那么指针相同。" PyTorch warns that TypedStorage is deprecated.
    Snippet("storage_data_ptr_inplace", """
        t = torch.ones(3)
        p = t.storage().data_ptr()
        t.add_(1)
        t.storage().data_ptr() == p
        u = t.add(1)
        u.storage().data_ptr() == p
        t.mul_(2).storage().data_ptr() == p
        t, u
    """, compare_warnings=False),
    Snippet("embedding", """
        import torch
        import torch.nn as nn

        torch.manual_seed(1)
        # embed = nn.Embedding(3, 5)
        embed = nn.Embedding(num_embeddings=3, embedding_dim=5)

        print(embed.weight)
        print(embed(torch.tensor([0], dtype=torch.int64)))
    """, nn=True, echo=False),
    Snippet("linear", """
        import torch
        import torch.nn as nn

        torch.manual_seed(1)
        linear = nn.Linear(in_features=3, out_features=5)

        print(linear.bias)
        print(linear.weight)
        print(linear(torch.tensor([.0, 1., 2.])))
    """, nn=True, echo=False),
    # "除了随机初始化,还可以通过 Embedding.from_pretrained() 通过预定义矩阵初始化。"
    Snippet("embedding_from_pretrained", """
        import torch.nn as nn
        weight = torch.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
        embedding = nn.Embedding.from_pretrained(weight)
        embedding(torch.tensor([1]))
        embedding.weight.requires_grad
    """, nn=True),
    # "register_buffer() 用于注册参数,会随着模型移动,但是不会随梯度更新。"
    Snippet("register_buffer", """
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.linear = nn.Linear(2, 2)
                self.register_buffer("running", torch.zeros(2))
        m = M()
        [name for name, _ in m.named_parameters()]
        [name for name, _ in m.named_buffers()]
        m.state_dict().keys()
        m.running.requires_grad
    """, nn=True),
    # "通过 Dataset 封装数据集,然后使用 DataLoader 遍历数据 ... 只需要实现 __len__ 和
    # __getitem__"
    Snippet("dataset_dataloader", """
        from torch.utils.data import Dataset, DataLoader
        class Squares(Dataset):
            def __len__(self):
                return 5
            def __getitem__(self, i):
                return torch.tensor([float(i)]), i * i
        for x, y in DataLoader(Squares(), batch_size=2):
            print(x, y)
    """, nn=True),
]


@pytest.mark.parametrize("snippet", params(SNIPPETS))
def test_note_001(snippet):
    check(snippet)
