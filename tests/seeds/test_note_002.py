"""Note 002 (【pytorch】基本语法): creation, dtypes, math, reductions, linalg, autograd, nn, optim.

The note is a notebook-style cheat sheet: bare expressions are echoed as a REPL would.
Names the note leaves undefined (x, y, x1, my_net, ...) are given deterministic inputs;
nondeterministic values (torch.empty) are shown by shape and dtype only.
"""

from __future__ import annotations

import pytest

from .snippets import Snippet, check, params

SNIPPETS = [
    # --- 新建 ---
    Snippet("creation", """
        e = torch.empty(5, 3)  # uninitialized: only its shape and dtype are deterministic
        e.shape, e.dtype
        torch.ones(3, 3)
        torch.ones_like(torch.zeros(2, 3, dtype=torch.int32))
        torch.zeros(5, 3, dtype=torch.long)
        torch.eye(5)

        torch.arange(start=0, end=8, step=2) # 含头不含尾
        torch.linspace(start=0, end=9, steps=5) # 均匀的取5个值,含头含尾
    """),
    Snippet("random", """
        x = torch.ones(5, 3, dtype=torch.double)
        # 随机生成
        torch.manual_seed(2) # 设置种子
        print(torch.initial_seed()) # 查看种子
        torch.rand(5, 3)
        torch.randn(5, 3)
        torch.randn_like(x, dtype=torch.float)
    """),
    Snippet("from_data", """
        # 从其它数据新建
        torch.tensor([5.5, 3], dtype=torch.float32)
        torch.from_numpy(np.ones(3)) # 用上面的也可以
    """),
    # The note's commented-out line as written: np.ones() needs a shape, in both runs.
    Snippet("from_numpy_no_shape", """
        torch.from_numpy(np.ones())
    """),
    # --- 数据类型转换 ---
    Snippet("dtype_conversion", """
        x = torch.randn(3, 4) * 100
        x.int()
        x.long()
        x.float()
        x.bool()
        x.char() # int8 类型
        x.double()
    """),
    Snippet("dtype_names", """
        # 有这些类型
        torch.bool
        torch.int
        torch.short
        torch.uint8 # 这个是 ByteTensor
        torch.int
        torch.int8
        torch.int16
        torch.int32
        torch.long
        torch.float
        torch.float16
        torch.float32
        torch.float64
        torch.double
        torch.complex32
        torch.complex64
    """),
    Snippet("rounding", """
        x = torch.randn(3, 4) * 3
        # 四舍五入
        x.round()
        x.fix()
        x.floor()
    """),
    # --- 运算 ---
    Snippet("add_out_inplace", """
        x = torch.rand(5, 3)
        y = torch.rand(5, 3)
        torch.add(x, y)
        # 或者
        x + y

        # 或者
        result = torch.empty(5, 3)
        torch.add(x, y, out=result)
        result

        # 替换加
        y.add_(x) # 这个会把加法的结果赋值给y
        # 如 x.copy_(y), x.t_()
        x.copy_(y)
        x.t_()
        x.shape
    """),
    # --- 取数 ---
    Snippet("indexing_and_conversion", """
        x = torch.rand(5, 3)
        x.size() # torch.Size([5, 3])
        x.numel() # 共多少个元素

        # index 和 Numpy 一样
        x[:, 1]

        # 获取某一行
        x.select(dim=1,index=2) # 获取按照 dim 计算的 第 index 组。

        # tensor 转其它格式
        x.numpy() # 转 np.array
        x.tolist() # 转 list

        # 转 Python 数字,只有单个元素的时候可以用
        x[0][0].item()
    """),
    Snippet("numpy_shared_memory", """
        # 注意一个特性: 共享内存
        x = torch.ones(2)
        y = x.numpy()
        x += 1
        print(x, y)
        # 打印:tensor([2., 2.]) [2. 2.]

        # 值得一提,反过来也是这个特性
        a = np.ones(5)
        b = torch.from_numpy(a)
        a += 1
        print(a, b)
        # [2. 2.] tensor([2., 2.])
    """),
    Snippet("reshape", """
        x = torch.randn(4, 4)
        x.reshape(2, -1)
        x.reshape(-1)
    """),
    # --- GPU ---
    Snippet("device", """
        device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        device

        # 先生成,再放入 GPU
        x = torch.randn(4, 4).to(device)
        # 或者直接在 GPU 生成
        x = torch.randn(4, 4, device=device)
        x
        # 也可以是字符串
        device = 'cpu' # device = 'cuda'
        x.to(device).device
    """),
    # --- 基本运算 --- (x from the GPU section: randn(4, 4), so sqrt/acos give nan)
    Snippet("basic_math", """
        x = torch.randn(4, 4)
        x.sqrt()
        x.square()
        x.exp()

        x.cos()
        x.cosh()
        x.acos()
        x.acosh()
        x.arccos()
        x.arccosh()
    """),
    # --- 矩阵运算 ---
    Snippet("matmul", """
        x = torch.rand(5, 5)

        # 矩阵积
        x.matmul(x)
        # 矩阵的点积
        x * x
    """),
    # SVD is unique up to the signs of singular-vector pairs: S, |U|, |V| and the
    # reconstruction are what the snippet can portably show.
    Snippet("svd", """
        x = torch.rand(5, 5)
        U, S, V = x.svd()
        S
        U.abs()
        V.abs()
        U.shape, S.shape, V.shape
        ((U @ torch.diag(S) @ V.t() - x).abs().max() < 1e-5)
    """),
    # Tensor.eig was removed (torch >= 1.9 deprecation): PyTorch raises a RuntimeError.
    Snippet("eig_removed", """
        x = torch.rand(5, 5)
        eigenvalues, eigenvectors = x.eig(eigenvectors=False) # 默认不计算特征向量
    """),
    Snippet("diag", """
        x1 = torch.rand(5, 5)
        x1.diag() # 对角线
        x1.diag().diag()
    """),
    # --- 矩阵变换 ---
    Snippet("flip_t", """
        x = torch.rand(3, 4)
        dim = 0
        x.flip(dim) # 按照 dim 确定的维度翻转
        x.flip(1)

        x.t() # 转秩
    """),
    # As written: PyTorch's keyword is `diagonal`, so `k=0` is a TypeError in PyTorch.
    Snippet("tril_k_keyword", """
        x = torch.rand(4, 4)
        x.tril(k=0) # 下三角矩阵
    """),
    Snippet("triu_k_keyword", """
        x = torch.rand(4, 4)
        x.triu(k=0) # 上三角矩阵
    """),
    Snippet("tril_triu", """
        x = torch.rand(4, 4)
        x.tril(0) # 下三角矩阵
        x.triu(0) # 上三角矩阵
        x.tril(diagonal=-1)
        x.triu(diagonal=1)
    """),
    Snippet("cat_chunk_split", """
        # cat
        x1 = torch.rand(3, 2)
        x2 = torch.rand(3, 2)

        torch.cat([x1, x2], dim=0)

        # 分割
        x = torch.arange(0,12,step=1).reshape(2,6)
        x.chunk(chunks=3, dim=1) # 尽量均匀分为三份
        # 分为3份,大小分别是 1,3,2
        torch.split(x, split_size_or_sections=(1, 3, 2), dim=1)
        # 按 dim=1 分为3份,其大小分别为 1, 3, 2
    """),
    # --- where ---
    Snippet("where_clip", """
        x1 = torch.rand(3, 2)
        x2 = torch.rand(3, 2)
        torch.where(x1 > 0.5, x1, x2)
        torch.clip(x1, min=0.4, max=0.6)
    """),
    # --- 按位运算 ---
    Snippet("bitwise", """
        # dtype 必须是 int 类型,最好是 uint8
        x1 = torch.tensor([1, 2, 3], dtype=torch.uint8)
        x2 = torch.tensor([1, 1, 1], dtype=torch.uint8)


        x1 & x2  # 按位与
        x1 | x2  # 按位或
        ~x1  # 按位非
        x1 ^ x2  # 按位异或
        # 以上对应的运算符为:x1.bitwise_or(x2) 等类似的东西
        x1.bitwise_or(x2)

        x1 << 1  # 移位运算
        # x1.bitwise_left_shift(1)
        x1.bitwise_left_shift(1)
    """),
    # --- 逻辑运算 ---
    Snippet("logical", """
        # 0 转为 False,别的数字都转为 True
        x1 = torch.tensor([-0.9, 0, True, False], dtype=torch.bool)
        x1

        # >、<、==、 >=、 <= 都可以
        x2 = torch.rand(size=(4,)) < 0.5
        x2

        # logic and:
        x1 * x2
        x1 *= x2
        x1

        # logic or:
        x1 + x2
        x1 += x2
        x1

        x1.logical_and(x2)
        x1.logical_or(x2)
        x1.logical_xor(x2)
        x1.logical_xor_(x2)
        x1.logical_not()
        x1.logical_not_()
    """),
    # --- 统计类运算 --- (x1 from the logic section is bool; argmax needs numbers)
    Snippet("mean_max_min", """
        x = torch.rand(3, 5)
        x.mean()
        x.mean(dim=1,keepdim=True)

        x.max()
        values, indices = x.max(dim=1, keepdim=True)
        values, indices
        x.max(dim=1, keepdim=True)

        x.min()
    """),
    Snippet("mode", """
        x = torch.rand(3, 5)
        x.mode()
    """),
    Snippet("sort_argsort", """
        x = torch.rand(3, 5)
        values, indices = x.sort(dim=1, descending=False)
        values, indices
        x.sort(dim=1, descending=True)

        x.argmin()
        x.argsort()
        x1 = torch.rand(3, 5)
        x1.argmax(dim=1, keepdim=True)
    """),
    Snippet("histc", """
        x = torch.rand(3, 5)
        x.histc()
        x.histc(bins=4, min=0, max=1)
    """),
    Snippet("histogram", """
        x = torch.rand(3, 5)
        x.histogram()
        x.histogram(bins=4)
    """),
    Snippet("std", """
        x = torch.rand(3, 5)
        x.std()
        x.std(dim=1)
    """),
    # --- 激活函数 --- (nn modules; `torch.nn.softplus` is a typo PyTorch rejects too)
    Snippet("activations", """
        x = torch.randn(2, 4) * 4
        torch.nn.ReLU()(x)
        torch.nn.ReLU6()(x)
        torch.nn.Sigmoid()(x)
        torch.nn.Tanh()(x)
        torch.nn.Softsign()(x)
        torch.nn.Softplus()(x)
        torch.nn.ELU()(x)
        torch.nn.Softmax(dim=1)(x)
        torch.nn.Softmax2d()(x.reshape(1, 2, 2, 2))
        torch.nn.LogSoftmax(dim=1)(x)
        torch.nn.ReLU(), torch.nn.Softmax(dim=1), torch.nn.ELU()
        torch.nn.Softmax2d(), torch.nn.LogSoftmax()  # 对 softmax 取对数,对应的损失函数是 NLLLoss
    """, nn=True),
    # Not an nn feature: the name does not exist in either library.
    Snippet("nn_softplus_lowercase", """
        torch.nn.softplus
    """),
    # --- 卷积相关 ---
    Snippet("conv_pool", """
        import torch.nn as nn
        conv = torch.nn.Conv2d(in_channels=1  # 灰度图
                        , out_channels=16, kernel_size=(5, 5), stride=(1, 1)
                        , padding=2)  # 如果像保持输出的 size 和原来一样
        pool = nn.MaxPool2d(kernel_size=2)
        conv, pool
        pool(conv(torch.randn(1, 1, 8, 8))).shape
    """, nn=True),
    # --- 建立模型 ---
    Snippet("mynet", """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from collections import OrderedDict


        class MyNet(nn.Module):
            def __init__(self):
                super(MyNet, self).__init__()
                # 方法1
                self.fc1 = nn.Linear(10, 10)
                # 方法2
                self.add_module("layer2", nn.Linear(10, 10))
                # 方法3
                self.layer3 = nn.Sequential(OrderedDict([
                    ("conv1", torch.nn.Conv2d(in_channels=1, out_channels=16, kernel_size=(5, 5))),
                    ("relu1", nn.ReLU())
                ]))
                # 方法4
                self.add_module("layer4", nn.Sequential(OrderedDict([
                    ("conv1", torch.nn.Conv2d(in_channels=1, out_channels=16, kernel_size=(5, 5))),
                    ("relu1", nn.ReLU())
                ])))

            def forward(self, x):
                x = F.relu(self.fc1(x))
                x = F.relu(self.fc2(x))
                return x


        my_net = MyNet()
        print(my_net)
    """, nn=True, echo=False),
    # --- 保存和载入模型 --- (model: a small Linear; paths are in a temporary directory)
    Snippet("save_load", """
        model = torch.nn.Linear(3, 2)
        # 存
        torch.save(model.state_dict(),'./model.pkh')

        # 读
        model.load_state_dict(torch.load('./model.pkh'))
        torch.load('model.pkh',map_location=lambda storage,loc: storage)
    """, nn=True),
    # The note's `troch.load(...)` typo: a NameError in both runs.
    Snippet("save_load_troch_typo", """
        model = torch.nn.Linear(3, 2)
        torch.save(model.state_dict(),'./model.pkh')
        troch.load('model.pkh', map_location={"cuda:1":"cuda:0"})
    """, nn=True),
    # --- 正则化项 l1和l2 ---
    Snippet("weight_decay_param_groups", """
        my_net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
        weight_p, bias_p = [], []
        for name, p in my_net.named_parameters():
            if 'bias' in name:
                bias_p += [p]
            else:
                weight_p += [p]

        optimizer = torch.optim.SGD([{'params': weight_p, 'weight_decay': 1e-5},
                                     {'params': bias_p, 'weight_decay': 0}],
                                    lr=1e-2,
                                    momentum=0.9)
        len(weight_p), len(bias_p)
        my_net(torch.ones(2, 4)).sum().backward()
        optimizer.step()
        list(my_net.parameters())
    """, nn=True),
    # --- dropout ---
    Snippet("dropout", """
        x = torch.ones(2, 6)
        torch.nn.functional.dropout(x, p=0.5, training=True, inplace=False)
        torch.nn.functional.dropout(x, p=0.5, training=False, inplace=False)
        # 类的形式定义 (config.dropout = 0.5)
        dropout = torch.nn.Dropout(0.5)
        dropout
        dropout(x)
    """, nn=True),
    # --- BN ---
    Snippet("batchnorm", """
        torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d
        bn = torch.nn.BatchNorm1d(num_features=5, eps=1e-5
                             , momentum=0.1, affine=True, track_running_stats=True
                             , device=None, dtype=None)
        bn
        bn(torch.randn(4, 5))
        bn.running_mean, bn.running_var
    """, nn=True),
    # --- 损失函数 ---
    Snippet("losses", """
        import torch.nn as nn
        pred = torch.randn(4, 3)
        target = torch.tensor([0, 2, 1, 2])
        criterion = torch.nn.L1Loss()
        criterion(pred, torch.zeros(4, 3))
        criterion = nn.CrossEntropyLoss()
        criterion(pred, target)
        torch.nn.CrossEntropyLoss(torch.tensor([1.0, 2.0, 3.0]))(pred, target)  # 加权交叉熵
        criterion = nn.MSELoss()
        criterion(pred, torch.zeros(4, 3))
        torch.nn.BCELoss()(torch.sigmoid(pred), (pred > 0).float())
        torch.nn.BCEWithLogitsLoss()(pred, (pred > 0).float())
    """, nn=True),
    # --- AUTOGRAD ---
    Snippet("autograd_requires_grad", """
        # 方法1
        x = torch.ones(2, 2, requires_grad=True)
        # requires_grad 默认为 False
        x

        # 方法2
        x = torch.ones(2, 2)
        x.requires_grad = True
        y = x + 2
        # y.requires_grad 为 True
        # y.grad_fn 非空
        y.requires_grad
        y.grad_fn
        y
    """),
    Snippet("autograd_mean_backward", """
        x = torch.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        k = z.mean()
        # 同上,z.requires_grad 和 k.requires_grad 都是 True
        z.requires_grad, k.requires_grad
        z, k

        # 求导数
        k.backward() # 开始计算梯度
        print(x.grad) # 返回梯度值

        x.is_leaf, y.is_leaf # (True, False)
    """),
    # "所以 z.grad 没有值": PyTorch returns None and warns about reading a non-leaf's grad.
    Snippet("autograd_nonleaf_grad", """
        x = torch.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        k = z.mean()
        k.backward()
        print(z.grad)
    """),
    Snippet("autograd_retain_grad", """
        x = torch.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        z.retain_grad()  # 如果确实需要 z.grad,提前声明 z.retain_grad()
        k = z.mean()
        k.backward()
        z.grad
        x.grad
    """),
    # "k.backward() 只能运行一次"
    Snippet("autograd_backward_twice", """
        x = torch.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        k = z.mean()
        k.backward()
        k.backward()
    """),
    # "k.backward(retain_graph=True) 可以运行多次,但结果为上一次的累加"
    Snippet("autograd_retain_graph", """
        x = torch.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        k = z.mean()
        k.backward(retain_graph=True)
        x.grad
        k.backward(retain_graph=True)
        x.grad
    """),
    # 开关梯度计算: the note's block as written. Its last line calls y.backward(v) on the
    # no_grad result y, which PyTorch rejects.
    Snippet("grad_switches", """
        x = torch.ones(2, 2, requires_grad=True)

        # 方法1. 使用 with
        with torch.no_grad():
            y = x + 2

        print(y.requires_grad)  # False

        # 方法2. 使用装饰器
        @torch.no_grad()
        def func(x):
            return x + 2


        y = func(x)
        print(y.requires_grad)  # False

        # 方法3. 全局打开/关闭
        torch.set_grad_enabled(True)
        torch.set_grad_enabled(False)
        torch.is_grad_enabled()
        # 如果 out 是一个 tensor 数据类型的矢量,那么这样
        v = torch.tensor([1.0, 2, 3])
        y.backward(v)
    """),
    # "相反的运算是 torch.enable_grad(),可以嵌入到 no_grad() 代码块里面;
    # 如果 x 本身没有设置 requires_grad=True,那么即使 enable_grad(),它也不生效"
    Snippet("enable_grad_inside_no_grad", """
        x = torch.ones(3, requires_grad=True)
        w = torch.ones(3)
        with torch.no_grad():
            with torch.enable_grad():
                y = x * 2
                u = w * 2
            z = x * 2
        y.requires_grad, u.requires_grad, z.requires_grad

        @torch.enable_grad()
        def double(t):
            return t * 2

        with torch.no_grad():
            print(double(x).requires_grad)
        with torch.set_grad_enabled(False):
            print((x * 2).requires_grad)
        print(torch.is_grad_enabled())
    """),
    # y.backward(v) with a vector y, as the note intends: x.grad = v * dy/dx.
    Snippet("backward_vector", """
        x = torch.ones(3, requires_grad=True)
        y = x * 2 + x ** 2
        v = torch.tensor([1.0, 2, 3])
        y.backward(v)
        x.grad
    """),
    # --- torch中的优化器 ---
    Snippet("optimizers", """
        my_model = torch.nn.Linear(3, 1)
        learning_rate = 0.1
        optimizer = torch.optim.SGD(my_model.parameters(), lr=learning_rate)
        # weight_decay 是 L2 penalty
        optimizer = torch.optim.Adam(my_model.parameters(),weight_decay =0.0001)
        my_model(torch.ones(2, 3)).sum().backward()
        optimizer.step()
        my_model.weight
    """, nn=True),
    # --- 学习率 ---
    Snippet("lr_schedulers", """
        my_net = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(my_net.parameters(), lr=0.1)
        # 等间隔调整
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
        # 按步调整
        torch.optim.lr_scheduler.MultiStepLR
        torch.optim.lr_scheduler.ExponentialLR
        torch.optim.lr_scheduler.CosineAnnealingLR
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau \\
            (optimizer=optimizer
             , mode='min'
             , factor=0.5  # gamma
             , patience=5  # 监控不再减少/增加的次数
             , threshold=1e-4  # 触发规则的阈值
             , threshold_mode='abs'  # 触发规则的计算方法
             , cooldown=0  # 触发规则后停止监控这么多次
             , min_lr=0  # lr最小是这么多
             , eps=1e-8
             )
        torch.optim.lr_scheduler.LambdaLR
        for i in range(10):
            optimizer.step()
            scheduler.step(1.0)
        optimizer.param_groups[0]['lr']
    """, nn=True),
    # ReduceLROnPlateau(verbose=True), as written in the note.
    Snippet("reduce_lr_on_plateau_verbose", """
        optimizer = torch.optim.SGD(torch.nn.Linear(3, 1).parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau \\
            (optimizer=optimizer
             , mode='min'
             , factor=0.5  # gamma
             , patience=5  # 监控不再减少/增加的次数
             , verbose=True  # 触发规则后打印
             , threshold=1e-4  # 触发规则的阈值
             , threshold_mode='abs'  # 触发规则的计算方法
             , cooldown=0  # 触发规则后停止监控这么多次
             , min_lr=0  # lr最小是这么多
             , eps=1e-8
             )
    """, nn=True),
    # 画一个学习率衰减图 (my_net: a small Linear)
    Snippet("lr_history", """
        my_net = torch.nn.Linear(3, 1)
        optimizer = torch.optim.Adam(my_net.parameters(), lr=0.1)
        # scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.96)

        lr_history = []
        for i in range(100):
            optimizer.step()
            scheduler.step()
            lr_history.append(optimizer.state_dict()['param_groups'][0]['lr'])
        lr_history[:3], lr_history[-1]
    """, nn=True),
    # --- hook ---
    Snippet("hooks", """
        my_net = torch.nn.Linear(3, 1)
        # 正向时会触发的hook
        def func1(model,input,output): print('forward', output.shape)
        my_net.register_forward_hook(func1)
        # 反向时会触发的hook
        def func2(model,grad_input,grad_output): print('backward', grad_output[0].shape)
        my_net.register_backward_hook(func2)
        my_net(torch.ones(2, 3)).sum().backward()
    """, nn=True),
    # --- 显存不够: gradient accumulation (loss_func, pred, y given) ---
    Snippet("gradient_accumulation", """
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss_func = torch.nn.MSELoss()
        data = torch.randn(20, 3)
        y = torch.randn(20, 1)
        accumulation_steps = 5  # 累积5次,然后更新一次权重

        for i in range(20):
            pred = model(data[i:i + 1])
            loss = loss_func(pred, y[i:i + 1])
            loss = loss / accumulation_steps
            loss.backward() # 计算 loss
            if (i + 1) % accumulation_steps == 0:
                optimizer.step()  # 参数更新
                optimizer.zero_grad()  # 清空梯度
        model.weight, model.bias
    """, nn=True),
    # 两个独立的子任务: loss1 and loss2 come from separate forward passes.
    Snippet("two_losses_one_backward", """
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        loss1 = (w * 2).sum()
        loss2 = (w ** 2).sum()
        # 不要这样:
        loss = loss1 + loss2
        loss.backward()
        w.grad
    """),
    Snippet("two_losses_two_backwards", """
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        loss1 = (w * 2).sum()
        loss2 = (w ** 2).sum()
        # 而是这样:
        loss = loss1 + loss2
        loss1.backward()
        loss2.backward()
        w.grad
    """),
]


@pytest.mark.parametrize("snippet", params(SNIPPETS))
def test_note_002(snippet):
    check(snippet)
