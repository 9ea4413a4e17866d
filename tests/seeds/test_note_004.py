"""Note 004 (Keith's PyTorch notes): legacy torch.Tensor/FloatTensor, out=, Variable, nn, numpy.

The note's REPL listings lost their line breaks (blog line numbers "1 2 3 ... |" and
">>>" prompts in one line); they are restored here. `torch.Tensor(2, 3, 4)` is
uninitialized memory, so only its shape and type are shown before `out=` fills it.
"""

from __future__ import annotations

import pytest

from .snippets import Snippet, check, params

_NET = """
import torch.nn as nn
import torch.nn.functional as F
class Net(nn.Module):#需要继承这个类
    def __init__(self):
        super(Net, self).__init__()
        #建立了两个卷积层,self.conv1, self.conv2,注意,这些层都是不包含激活函数的
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        #三个全连接层
        self.fc1 = nn.Linear(16*5*5, 120) # an affine operation: y = Wx + b
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x): #注意,2D卷积层的输入data维数是 batchsize*channel*height*width
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2)) # Max pooling over a (2, 2) window
        # If the size is a square you can only specify a single number
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

    def num_flat_features(self, x):
        size = x.size()[1:] # all dimensions except the batch dimension
        num_features = 1
        for s in size:
            num_features *= s
        return num_features
"""

SNIPPETS = [
    Snippet("legacy_tensor_add_out", """
        import torch
        x = torch.Tensor(2,3,4) # torch.Tensor(shape) 创建出一个未初始化的Tensor
        x.shape, x.dtype, x.type()  # (the note echoes x: its values are uninitialized memory)
        x.size()
        a = torch.rand(2,3,4)
        b = torch.rand(2,3,4)
        _=torch.add(a,b, out=x) # 使用Tensor()方法创建出来的Tensor用来接收计算结果
        x
        a.add_(b) # 所有带 _ 的operation,都会更改调用对象的值
        a
        torch.cuda.is_available()
    """),
    Snippet("variable_backward_floattensor", """
        from torch.autograd import Variable
        x = torch.rand(5)
        x = Variable(x,requires_grad = True)
        y = x * 2
        grads = torch.FloatTensor([1,2,3,4,5])
        y.backward(grads)#如果y是scalar的话,那么直接y.backward(),然后通过x.grad方式,就可以得到var的梯度
        x.grad #如果y不是scalar,那么只能通过传参的方式给x指定梯度
        grads, grads.type(), x
    """),
    Snippet("net_repr_forward_backward", _NET + """
net = Net()
net
len(list(net.parameters()))
input = Variable(torch.randn(1, 1, 32, 32))
out = net(input)
out
out.backward(torch.randn(1, 10))
net.conv1.bias.grad
""", nn=True),
    Snippet("manual_sgd_then_optim", _NET + """
net = Net()
input = Variable(torch.randn(1, 1, 32, 32))
target = torch.randn(1, 10)
criterion = nn.MSELoss()
net(input).backward(torch.randn(1, 10))
learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate) # 有了optimizer就不用写这些了
import torch.optim as optim
# create your optimizer
optimizer = optim.SGD(net.parameters(), lr = 0.01)
# in your training loop:
optimizer.zero_grad() # zero the gradient buffers
output = net(input) # 这里就体现出来动态建图了
loss = criterion(output, target)
loss.backward()
optimizer.step() # Does the update
loss
net.fc3.bias
""", nn=True),
    Snippet("training_loop", _NET + """
import torch.optim as optim
net = Net()
input = torch.randn(1, 1, 32, 32)
target = torch.randn(1, 10)
criterion = nn.MSELoss()
num_iteations = 3
# create your optimizer
optimizer = optim.SGD(net.parameters(), lr = 0.01)
# in your training loop:
for i in range(num_iteations):
    optimizer.zero_grad() # zero the gradient buffers,如果不归0的话,gradients会累加
    output = net(input) # 这里就体现出来动态建图了
    loss = criterion(output, target)
    loss.backward() # 得到grad,i.e.给Variable.grad赋值
    optimizer.step() # Does the update,i.e. Variable.data -= learning_rate*Variable.grad
    print(loss)
""", nn=True),
    Snippet("numpy_to_tensor", """
        # numpy to Tensor
        import numpy as np
        a = np.ones(5)
        b = torch.from_numpy(a)
        np.add(a, 1, out=a)
        print(a) # 如果a 变的话, b也会跟着变
        print(b)# Variable只是保存Tensor的地址,如果Tensor变的话,Variable也会跟着变
        a = np.ones(5)
        b = torch.from_numpy(a)# ndarray --> Tensor
        a_ = b.numpy() # Tensor --> ndarray
        np.add(a, 1, out=a)# 这个和 a = np.add(a,1)有什么区别呢?
        # a = np.add(a,1) 只是将a中保存的指针指向新计算好的数据上去
        # np.add(a, 1, out=a) 改变了a指向的数据
        b, a_
        a = np.add(a, 1)
        b
    """),
    Snippet("cuda_block", """
        x = torch.ones(3)
        y = torch.ones(3)
        # 将Tensor放到Cuda上
        if torch.cuda.is_available():
            x = x.cuda()
            y = y.cuda()
            x + y
        x + y
    """),
    # torch.Tensor(1,2,3) 与 torch.Tensor([1,2,3]) 的区别 (the first is uninitialized)
    Snippet("legacy_tensor_shape_vs_data", """
        torch.Tensor(1,2,3).shape # 生成一个 shape 为 [1,2,3] 的 tensor
        torch.Tensor([1,2,3]) # 生成一个值为 [1,2,3] 的 tensor
        torch.Tensor([1,2,3]).dtype, torch.Tensor().shape
        torch.FloatTensor(2, 3).shape
    """),
]


@pytest.mark.parametrize("snippet", params(SNIPPETS))
def test_note_004(snippet):
    check(snippet)
