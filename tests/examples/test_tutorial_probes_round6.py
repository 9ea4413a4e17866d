"""Tutorial probes, round 6: small, seeded, synthetic-data versions of classic public
PyTorch programs not covered by rounds 4 and 5, each run three ways - PyTorch,
graphtorch eagerly, and graphtorch with the model (``"model"``) or a step (``"step"``)
compiled - with losses, printed lines, predictions and final parameters compared. Most
datasets leave a smaller last batch, so compiled variants also meet dynamic sizes.

Programs: pytorch/examples dcgan (``weights_init`` through ``apply``, ``BCELoss``,
``label.fill_``), super_resolution (ESPCN: ``PixelShuffle``, orthogonal init, PSNR, a
checkpoint through ``io.BytesIO``), gcn (``torch.spmm`` on the renormalised dense
adjacency, and the sparse original: ``to_sparse``, ``sparse_coo_tensor``), mnist_rnn
(``LSTM`` with ``batch_first``, ``BatchNorm1d``, ``Dropout2d`` on 2-D input, ``StepLR``); a
small Vision Transformer (anti-aliased resize, patch embedding through ``Conv2d``, a cls token,
``nn.TransformerEncoder``); nanoGPT (a ``tril`` buffer with ``masked_fill`` or
``scaled_dot_product_attention(is_causal=True)``, weight tying, AdamW parameter groups, a
cosine schedule by hand, ``GradScaler(enabled=False)``, ``clip_grad_norm_``, top-k
sampling); a tiny U-Net (``ConvTranspose2d`` or bilinear ``Upsample``, ``torch.cat`` skips,
dice loss, ``ReduceLROnPlateau``, channels_last); the ``nn.Transformer`` translation
tutorial (``generate_square_subsequent_mask``, key padding masks, greedy decoding);
knowledge distillation (temperature soft targets, ``CosineEmbeddingLoss`` hints,
``KLDivLoss``); ``torch.func`` ensembling, per-sample gradients and Jacobians/Hessians; a
CIFAR ResNet (``OneCycleLR``, nesterov SGD, checkpoint and resume of model, optimizer and
scheduler); WGAN-GP (``autograd.grad(create_graph=True)``); SimCLR's NT-Xent loss
(boolean masks); mixup and CutMix; Grad-CAM (forward and full backward hooks) and
integrated gradients; SWA and EMA (``torch.optim.swa_utils``); ``autograd.Function`` with
``setup_context``; Llama (RMSNorm, rotary embeddings through complex numbers, GQA, a KV
cache, top-p sampling); cleanRL's PPO; RealNVP; MoCo (momentum encoder through ``.data``,
a queue buffer); DANN (a gradient reversal Function, ``nn.MaxPool2d`` then an in-place
ReLU); a Hugging Face-style classifier (dataclass and tuple outputs, keyword calls).
"""

from __future__ import annotations

import copy
import functools
import io
import math

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch
from tests.examples.probe_harness import check_probe, reference_of
from tests.examples.test_tutorial_probes_round4 import FakeCartPole


def _np(t):
    return t.detach().numpy().copy()


def _state(model):
    return {k: _np(v) for k, v in model.state_dict().items()}


def _attention_state(model):
    """`_state` without the attention key biases: softmax is shift-invariant, so their
    gradient is zero up to rounding, which Adam's normalisation grows to steps of lr size
    (PyTorch run with another thread count moves them as much)."""
    state = _state(model)
    for key, value in state.items():
        if key.endswith("in_proj_bias"):
            embed_dim = value.shape[0] // 3
            value[embed_dim:2 * embed_dim] = 0
    return state


def _images(n, shape, seed, classes=10):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, classes, n)


# ---- 1. pytorch/examples dcgan ----
def dcgan(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    torch.manual_seed(999)
    nc, nz, ngf, ndf, ngpu = 1, 8, 4, 4, 1
    images, _ = _images(8, (1, 64, 64), 4)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(np.tanh(images)))
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=True)
    device = torch.device("cpu")

    # custom weights initialization called on netG and netD
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            torch.nn.init.normal_(m.weight, 1.0, 0.02)
            torch.nn.init.zeros_(m.bias)

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is Z, going into a convolution
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                # state size. (ngf*8) x 4 x 4
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                # state size. (ngf*4) x 8 x 8
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                # state size. (ngf*2) x 16 x 16
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                # state size. (ngf) x 32 x 32
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh()
                # state size. (nc) x 64 x 64
            )

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
            else:
                output = self.main(input)
            return output

    netG = Generator(ngpu).to(device)
    netG.apply(weights_init)

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is (nc) x 64 x 64
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf) x 32 x 32
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*2) x 16 x 16
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*4) x 8 x 8
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*8) x 4 x 4
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid()
            )

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
            else:
                output = self.main(input)

            return output.view(-1, 1).squeeze(1)

    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    out = [str(netG).count("ConvTranspose2d"), str(netD).count("LeakyReLU")]

    criterion = nn.BCELoss()
    fixed_noise = torch.randn(4, nz, 1, 1, device=device)
    real_label = 1
    fake_label = 0
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    G = torch.compile(netG) if compiled == "model" else netG
    D = torch.compile(netD) if compiled == "model" else netD

    def train_step(real_cpu, noise):
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        output = D(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean()
        fake = G(noise)
        label.fill_(fake_label)
        output = D(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = D(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean()
        optimizerG.step()
        return errD, errG, D_x, D_G_z1, D_G_z2
    step = torch.compile(train_step) if compiled == "step" else train_step

    niter = 2
    for epoch in range(niter):
        for i, data in enumerate(dataloader, 0):
            real_cpu = data[0].to(device)
            noise = torch.randn(real_cpu.size(0), nz, 1, 1, device=device)
            errD, errG, D_x, D_G_z1, D_G_z2 = step(real_cpu, noise)
            out.append('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f'
                       % (epoch, niter, i, len(dataloader),
                          errD.item(), errG.item(), D_x.item(), D_G_z1.item(), D_G_z2.item()))
            if i % 100 == 0:
                fake = G(fixed_noise)
                out.append(_np(fake.detach()[:2, 0, 30:34, 30:34]))
    out.append(_state(netG))
    out.append(_state(netD))
    return out


# ---- 2. pytorch/examples super_resolution (ESPCN) ----
def super_resolution(lib, compiled):
    torch = lib
    nn = lib.nn
    init = lib.nn.init
    optim = lib.optim
    torch.manual_seed(123)
    upscale_factor = 3

    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super(Net, self).__init__()

            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

            self._initialize_weights()

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            x = self.pixel_shuffle(self.conv4(x))
            return x

        def _initialize_weights(self):
            init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
            init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
            init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
            init.orthogonal_(self.conv4.weight)

    rng = np.random.default_rng(7)
    targets = rng.random((10, 1, 12, 12)).astype(np.float32)
    # "downsampled" inputs: 3x3 block means, as Resize would roughly give
    inputs = targets.reshape(10, 1, 4, 3, 4, 3).mean(axis=(3, 5))
    train_set = torch.utils.data.TensorDataset(torch.from_numpy(inputs), torch.from_numpy(targets))
    training_data_loader = torch.utils.data.DataLoader(dataset=train_set, batch_size=4,
                                                       shuffle=True)
    testing_data_loader = torch.utils.data.DataLoader(dataset=train_set, batch_size=8,
                                                      shuffle=False)
    device = torch.device("cpu")
    model = Net(upscale_factor=upscale_factor).to(device)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    fwd = torch.compile(model) if compiled == "model" else model
    out = []

    def train_step(input, target):
        optimizer.zero_grad()
        loss = criterion(fwd(input), target)
        epoch_loss = loss.item() if compiled != "step" else loss.detach()
        loss.backward()
        optimizer.step()
        return epoch_loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train(epoch):
        epoch_loss = 0
        for iteration, batch in enumerate(training_data_loader, 1):
            input, target = batch[0].to(device), batch[1].to(device)
            loss = step(input, target)
            epoch_loss += float(loss)
            out.append("===> Epoch[{}]({}/{}): Loss: {:.4f}".format(
                epoch, iteration, len(training_data_loader), float(loss)))
        out.append("===> Epoch {} Complete: Avg. Loss: {:.4f}".format(
            epoch, epoch_loss / len(training_data_loader)))

    def test():
        avg_psnr = 0
        with torch.no_grad():
            for batch in testing_data_loader:
                input, target = batch[0].to(device), batch[1].to(device)
                prediction = fwd(input)
                mse = criterion(prediction, target)
                psnr = 10 * math.log10(1 / mse.item())
                avg_psnr += psnr
        out.append("===> Avg. PSNR: {:.4f} dB".format(avg_psnr / len(testing_data_loader)))

    def checkpoint(epoch):
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        out.append("Checkpoint saved to {}".format("model_epoch_{}.pth".format(epoch)))
        return buffer

    for epoch in range(1, 3):
        train(epoch)
        test()
        buffer = checkpoint(epoch)

    # super_resolve.py: load the checkpoint into a fresh model and upscale one image
    buffer.seek(0)
    model2 = Net(upscale_factor=upscale_factor)
    model2.load_state_dict(torch.load(buffer))
    input = torch.from_numpy(inputs[:1, 0]).view(1, -1, 4, 4)
    out_img = model2(input)
    out_img_y = out_img[0].detach().numpy()
    out_img_y *= 255.0
    out_img_y = out_img_y.clip(0, 255)
    out.append(out_img_y.copy())
    out.append(_state(model))
    return out


# ---- 3. pytorch/examples gcn (dense renormalised adjacency) ----
def gcn(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    from_lib_optim = lib.optim.Adam

    class GraphConv(nn.Module):
        def __init__(self, input_dim, output_dim, use_bias=False):
            super(GraphConv, self).__init__()
            # Initialize the weight matrix W (in this case called `kernel`)
            self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
            nn.init.xavier_normal_(self.kernel)
            # Initialize the bias (if use_bias is True)
            self.bias = None
            if use_bias:
                self.bias = nn.Parameter(torch.Tensor(output_dim))
                nn.init.zeros_(self.bias)

        def forward(self, input_tensor, adj_mat):
            support = torch.mm(input_tensor, self.kernel)
            output = torch.spmm(adj_mat, support)
            if self.bias is not None:
                output = output + self.bias
            return output

    class GCN(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, use_bias=True, dropout_p=0.1):
            super(GCN, self).__init__()
            self.gc1 = GraphConv(input_dim, hidden_dim, use_bias=use_bias)
            self.gc2 = GraphConv(hidden_dim, output_dim, use_bias=use_bias)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input_tensor, adj_mat):
            x = self.gc1(input_tensor, adj_mat)
            x = F.relu(x)
            x = self.dropout(x)
            x = self.gc2(x, adj_mat)
            return F.log_softmax(x, dim=1)

    def load_graph(V=30, n_feat=12, n_class=3):
        rng = np.random.default_rng(11)
        content = (rng.random((V, n_feat)) < 0.3).astype(np.int32)
        content[0] = 0  # a node without features
        edges = rng.integers(0, V, (60, 2)).astype(np.int32)
        features = torch.FloatTensor(content)
        scale_vector = torch.sum(features, dim=1)
        scale_vector = 1 / scale_vector
        scale_vector[scale_vector == float('inf')] = 0
        scale_vector = torch.diag(scale_vector)
        features = scale_vector @ features
        labels = torch.LongTensor(rng.integers(0, n_class, V))
        E = edges.shape[0]
        adj_mat = torch.zeros(V, V)
        adj_mat[torch.from_numpy(edges[:, 0]).long(), torch.from_numpy(edges[:, 1]).long()] = 1
        adj_mat = torch.eye(V) + adj_mat
        degree_mat = torch.sum(adj_mat, dim=1)
        degree_mat = torch.sqrt(1 / degree_mat)
        degree_mat[degree_mat == float('inf')] = 0
        degree_mat = torch.diag(degree_mat)
        adj_mat = degree_mat @ adj_mat @ degree_mat
        return features, labels, adj_mat, E

    out = []

    def train_iter(epoch, model, optimizer, criterion, input, target, mask_train, mask_val,
                   print_every=10):
        model.train()
        loss = step(optimizer, criterion, input, target, mask_train)
        loss_train, acc_train = test(model, criterion, input, target, mask_train)
        loss_val, acc_val = test(model, criterion, input, target, mask_val)
        if epoch % print_every == 0:
            out.append(f'Epoch: {epoch:04d} loss: {loss.item():.4f} loss_train: {loss_train:.4f} '
                       f'acc_train: {acc_train:.4f} loss_val: {loss_val:.4f} '
                       f'acc_val: {acc_val:.4f}')

    def train_step(optimizer, criterion, input, target, mask_train):
        optimizer.zero_grad()
        output = fwd(*input)
        loss = criterion(output[mask_train], target[mask_train])
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def test(model, criterion, input, target, mask):
        model.eval()
        with torch.no_grad():
            output = fwd(*input)
            output, target = output[mask], target[mask]
            loss = criterion(output, target)
            acc = (output.argmax(dim=1) == target).float().sum() / len(target)
        return loss.item(), acc.item()

    torch.manual_seed(42)
    features, labels, adj_mat, E = load_graph()
    out.append(_np(adj_mat))
    idx = torch.randperm(len(labels))
    idx_test, idx_val, idx_train = idx[:8], idx[8:14], idx[14:]
    gcn = GCN(features.shape[1], 16, labels.max().item() + 1, True, 0.5)
    fwd = torch.compile(gcn) if compiled == "model" else gcn
    optimizer = from_lib_optim(gcn.parameters(), lr=0.01, weight_decay=5e-4)
    criterion = nn.NLLLoss()
    for epoch in range(6):
        train_iter(epoch + 1, gcn, optimizer, criterion, (features, adj_mat), labels, idx_train,
                   idx_val, 2)
    loss_test, acc_test = test(gcn, criterion, (features, adj_mat), labels, idx_test)
    out.append(f'Test set results: loss {loss_test:.4f} accuracy {acc_test:.4f}')
    out.append(_state(gcn))

    # message passing "from scratch" on the edge list (GraphSAGE's mean and max
    # aggregators with index_add_ / index_reduce_, as PyG-free tutorials write them)
    class SAGEConv(nn.Module):
        def __init__(self, in_channels, out_channels, aggr):
            super().__init__()
            self.lin_l = nn.Linear(in_channels, out_channels)
            self.lin_r = nn.Linear(in_channels, out_channels, bias=False)
            self.aggr = aggr

        def forward(self, x, edge_index):
            src, dst = edge_index
            messages = x[src]
            if self.aggr == "mean":
                out = torch.zeros_like(x).index_add_(0, dst, messages)
                deg = torch.zeros(x.size(0)).index_add_(0, dst, torch.ones(dst.size(0)))
                out = out / deg.clamp(min=1).unsqueeze(-1)
            else:
                out = torch.zeros_like(x).index_reduce_(0, dst, messages, "amax",
                                                        include_self=False)
            return self.lin_l(out) + self.lin_r(x)

    torch.manual_seed(1)
    rng = np.random.default_rng(12)
    edge_index = torch.from_numpy(rng.integers(0, len(labels), (2, 50)))
    sage = nn.ModuleList([SAGEConv(features.shape[1], 8, "mean"), SAGEConv(8, 3, "max")])
    sage_opt = lib.optim.Adam(sage.parameters(), lr=0.01)

    def sage_forward(x, edge_index):
        return F.log_softmax(sage[1](F.relu(sage[0](x, edge_index)), edge_index), dim=1)
    sage_fwd = torch.compile(sage_forward) if compiled else sage_forward
    for epoch in range(4):
        sage_opt.zero_grad()
        loss = F.nll_loss(sage_fwd(features, edge_index)[idx_train], labels[idx_train])
        loss.backward()
        sage_opt.step()
        out.append(f"sage epoch {epoch} loss {loss.item():.5f}")
    out.append(_state(sage))
    return out


# ---- 4. pytorch/examples mnist_rnn ----
def mnist_rnn(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    StepLR = lib.optim.lr_scheduler.StepLR

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
            self.batchnorm = nn.BatchNorm1d(64)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout2d(0.5)
            self.fc1 = nn.Linear(64, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, input):
            # Shape of input is (batch_size,1, 28, 28)
            # converting shape of input to (batch_size, 28, 28)
            # as required by RNN when batch_first is set True
            input = input.reshape(-1, 28, 28)
            output, hidden = self.rnn(input)

            # RNN output shape is (seq_len, batch, input_size)
            # Get last output of RNN
            output = output[:, -1, :]
            output = self.batchnorm(output)
            output = self.dropout1(output)
            output = self.fc1(output)
            output = F.relu(output)
            output = self.dropout2(output)
            output = self.fc2(output)
            output = F.log_softmax(output, dim=1)
            return output

    out = []

    def train(args, model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            loss = step(data, target)
            if batch_idx % args['log_interval'] == 0:
                out.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))

    def train_step(data, target):
        optimizer.zero_grad()
        output = fwd(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        return loss

    def test(args, model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = fwd(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        out.append('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))

    args = {'log_interval': 1, 'epochs': 2, 'lr': 0.1, 'gamma': 0.7}
    torch.manual_seed(1)
    device = torch.device("cpu")
    images, labels = _images(20, (1, 28, 28), 5)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)
    model = Net().to(device)
    fwd = torch.compile(model) if compiled == "model" else model
    step = torch.compile(train_step) if compiled == "step" else train_step
    optimizer = optim.Adadelta(model.parameters(), lr=args['lr'])
    scheduler = StepLR(optimizer, step_size=1, gamma=args['gamma'])
    for epoch in range(1, args['epochs'] + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test(args, model, device, test_loader)
        scheduler.step()
    out.append(_state(model))
    return out



# ---- 5. a small Vision Transformer (patch embedding, cls token, TransformerEncoder) ----
def vit(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim

    class PatchEmbedding(nn.Module):
        def __init__(self, img_size, patch_size, in_channels, embed_dim):
            super().__init__()
            self.n_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size,
                                  stride=patch_size)

        def forward(self, x):
            x = self.proj(x)       # (B, E, H/P, W/P)
            x = x.flatten(2)       # (B, E, N)
            x = x.transpose(1, 2)  # (B, N, E)
            return x

    class VisionTransformer(nn.Module):
        def __init__(self, img_size=16, patch_size=4, in_channels=3, num_classes=10,
                     embed_dim=16, depth=2, num_heads=2, mlp_dim=32, dropout=0.1):
            super().__init__()
            self.patch_embed = PatchEmbedding(img_size, patch_size, in_channels, embed_dim)
            num_patches = self.patch_embed.n_patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, 1 + num_patches, embed_dim))
            self.pos_drop = nn.Dropout(p=dropout)
            encoder_layer = nn.TransformerEncoderLayer(
                d_model=embed_dim, nhead=num_heads, dim_feedforward=mlp_dim, dropout=dropout,
                activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(encoder_layer, num_layers=depth)
            self.norm = nn.LayerNorm(embed_dim)
            self.head = nn.Linear(embed_dim, num_classes)
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def forward(self, x):
            B = x.shape[0]
            x = self.patch_embed(x)
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            x = x + self.pos_embed
            x = self.pos_drop(x)
            x = self.encoder(x)
            x = self.norm(x)
            return self.head(x[:, 0])

    torch.manual_seed(0)
    images, labels = _images(14, (3, 24, 24), 8)
    # transforms.Resize(16) on tensors: anti-aliased bilinear
    images = torch.nn.functional.interpolate(torch.from_numpy(images), size=(16, 16),
                                             mode="bilinear", antialias=True)
    dataset = torch.utils.data.TensorDataset(images, torch.from_numpy(labels))
    trainloader = torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=True)
    testloader = torch.utils.data.DataLoader(dataset, batch_size=6, shuffle=False)
    model = VisionTransformer()
    out = [sum(p.numel() for p in model.parameters() if p.requires_grad)]
    fwd = torch.compile(model) if compiled == "model" else model
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=3)

    def train_step(inputs, labels):
        optimizer.zero_grad()
        outputs = fwd(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        return loss, outputs
    step = torch.compile(train_step) if compiled == "step" else train_step

    for epoch in range(3):
        model.train()
        running_loss, correct, total = 0.0, 0, 0
        for inputs, labels in trainloader:
            loss, outputs = step(inputs, labels)
            running_loss += loss.item()
            _, predicted = outputs.max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
        scheduler.step()
        model.eval()
        test_correct = 0
        with torch.no_grad():
            for inputs, labels in testloader:
                outputs = fwd(inputs)
                test_correct += (outputs.argmax(dim=1) == labels).sum().item()
        out.append(f"Epoch {epoch + 1}: loss {running_loss / len(trainloader):.4f} "
                   f"train acc {100. * correct / total:.2f}% test acc {test_correct}/"
                   f"{len(dataset)} lr {scheduler.get_last_lr()[0]:.6f}")
    out.append(_attention_state(model))
    return out


# ---- 6. nanoGPT (model.py, train.py, sample.py) ----
def nanogpt(lib, compiled, flash=True):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    import inspect
    from contextlib import nullcontext
    from dataclasses import dataclass

    class LayerNorm(nn.Module):
        """ LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False """

        def __init__(self, ndim, bias):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(ndim))
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

        def forward(self, input):
            return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)

    class CausalSelfAttention(nn.Module):

        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            # key, query, value projections for all heads, but in a batch
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            # output projection
            self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            # regularization
            self.attn_dropout = nn.Dropout(config.dropout)
            self.resid_dropout = nn.Dropout(config.dropout)
            self.n_head = config.n_head
            self.n_embd = config.n_embd
            self.dropout = config.dropout
            # flash attention make GPU go brrrrr but support is only in PyTorch >= 2.0
            self.flash = hasattr(torch.nn.functional, 'scaled_dot_product_attention') and flash
            if not self.flash:
                # causal mask to ensure that attention is only applied to the left in the
                # input sequence
                self.register_buffer("bias", torch.tril(torch.ones(config.block_size,
                                                                   config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))

        def forward(self, x):
            B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)

            # calculate query, key, values for all heads in batch and move head forward to
            # be the batch dim
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

            # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
            if self.flash:
                # efficient attention using Flash Attention CUDA kernels
                y = torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0,
                    is_causal=True)
            else:
                # manual implementation of attention
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
                att = F.softmax(att, dim=-1)
                att = self.attn_dropout(att)
                y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
            # re-assemble all head outputs side by side
            y = y.transpose(1, 2).contiguous().view(B, T, C)

            # output projection
            y = self.resid_dropout(self.c_proj(y))
            return y

    class MLP(nn.Module):

        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = nn.Dropout(config.dropout)

        def forward(self, x):
            x = self.c_fc(x)
            x = self.gelu(x)
            x = self.c_proj(x)
            x = self.dropout(x)
            return x

    class Block(nn.Module):

        def __init__(self, config):
            super().__init__()
            self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    @dataclass
    class GPTConfig:
        block_size: int = 1024
        vocab_size: int = 50304
        n_layer: int = 12
        n_head: int = 12
        n_embd: int = 768
        dropout: float = 0.0
        bias: bool = True

    class GPT(nn.Module):

        def __init__(self, config):
            super().__init__()
            assert config.vocab_size is not None
            assert config.block_size is not None
            self.config = config

            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            # with weight tying when using torch.compile() some warnings get generated
            self.transformer.wte.weight = self.lm_head.weight

            # init all weights
            self.apply(self._init_weights)
            # apply special scaled init to the residual projections, per GPT-2 paper
            for pn, p in self.named_parameters():
                if pn.endswith('c_proj.weight'):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        def get_num_params(self, non_embedding=True):
            n_params = sum(p.numel() for p in self.parameters())
            if non_embedding:
                n_params -= self.transformer.wpe.weight.numel()
            return n_params

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            device = idx.device
            b, t = idx.size()
            assert t <= self.config.block_size, \
                f"Cannot forward sequence of length {t}, " \
                f"block size is only {self.config.block_size}"
            pos = torch.arange(0, t, dtype=torch.long, device=device)  # shape (t)

            # forward the GPT model itself
            tok_emb = self.transformer.wte(idx)  # token embeddings of shape (b, t, n_embd)
            pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (t, n_embd)
            x = self.transformer.drop(tok_emb + pos_emb)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)

            if targets is not None:
                # if we are given some desired targets also calculate the loss
                logits = self.lm_head(x)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                       ignore_index=-1)
            else:
                # inference-time mini-optimization: only forward the lm_head on the very last
                # position
                # note: using list [-1] to preserve the time dim
                logits = self.lm_head(x[:, [-1], :])
                loss = None

            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
            # start with all of the candidate parameters
            param_dict = {pn: p for pn, p in self.named_parameters()}
            # filter out those that do not require grad
            param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
            # create optim groups. Any parameters that is 2D will be weight decayed,
            # otherwise no.
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {'params': decay_params, 'weight_decay': weight_decay},
                {'params': nodecay_params, 'weight_decay': 0.0}
            ]
            num_decay_params = sum(p.numel() for p in decay_params)
            num_nodecay_params = sum(p.numel() for p in nodecay_params)
            out.append(f"num decayed parameter tensors: {len(decay_params)}, with "
                       f"{num_decay_params:,} parameters")
            out.append(f"num non-decayed parameter tensors: {len(nodecay_params)}, with "
                       f"{num_nodecay_params:,} parameters")
            # Create AdamW optimizer and use the fused version if it is available
            fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
            use_fused = fused_available and device_type == 'cuda'
            extra_args = dict(fused=True) if use_fused else dict()
            optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas,
                                          **extra_args)
            out.append(f"using fused AdamW: {use_fused}")
            return optimizer

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
            for _ in range(max_new_tokens):
                # if the sequence context is growing too long we must crop it at block_size
                idx_cond = idx if idx.size(1) <= self.config.block_size \
                    else idx[:, -self.config.block_size:]
                # forward the model to get the logits for the index in the sequence
                logits, _ = self(idx_cond)
                # pluck the logits at the final step and scale by desired temperature
                logits = logits[:, -1, :] / temperature
                # optionally crop the logits to only the top k options
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float('Inf')
                # apply softmax to convert logits to (normalized) probabilities
                probs = F.softmax(logits, dim=-1)
                # sample from the distribution
                idx_next = torch.multinomial(probs, num_samples=1)
                # append sampled index to the running sequence and continue
                idx = torch.cat((idx, idx_next), dim=1)

            return idx

    out = []
    # train.py, shrunk: shakespeare_char-like data
    batch_size, block_size, gradient_accumulation_steps = 4, 8, 2
    learning_rate, max_iters, warmup_iters, lr_decay_iters, min_lr = 1e-3, 6, 2, 6, 1e-4
    eval_iters, eval_interval, grad_clip, device_type = 2, 3, 1.0, 'cpu'
    torch.manual_seed(1337)
    rng = np.random.default_rng(0)
    train_data = rng.integers(0, 20, 400).astype(np.uint16)
    val_data = rng.integers(0, 20, 100).astype(np.uint16)

    def get_batch(split):
        data = train_data if split == 'train' else val_data
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64))
                         for i in ix])
        return x, y

    model_args = dict(n_layer=2, n_head=2, n_embd=16, block_size=block_size, bias=False,
                      vocab_size=20, dropout=0.1)
    gptconf = GPTConfig(**model_args)
    model = GPT(gptconf)
    out.append("number of parameters: %.2fK" % (model.get_num_params() / 1e3,))
    scaler = torch.amp.GradScaler('cuda', enabled=False)
    optimizer = model.configure_optimizers(0.1, learning_rate, (0.9, 0.99), device_type)
    ctx = nullcontext()
    if compiled == "model":
        unoptimized_model = model
        model = torch.compile(model)  # requires PyTorch 2.0

    @torch.no_grad()
    def estimate_loss():
        out_ = {}
        model.eval()
        for split in ['train', 'val']:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                with ctx:
                    logits, loss = model(X, Y)
                losses[k] = loss.item()
            out_[split] = losses.mean()
        model.train()
        return out_

    def get_lr(it):
        # 1) linear warmup for warmup_iters steps
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        # 2) if it > lr_decay_iters, return min learning rate
        if it > lr_decay_iters:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
        return min_lr + coeff * (learning_rate - min_lr)

    def micro_step(X, Y):
        with ctx:
            logits, loss = model(X, Y)
            loss = loss / gradient_accumulation_steps
        scaler.scale(loss).backward()
        return loss
    micro = torch.compile(micro_step) if compiled == "step" else micro_step

    X, Y = get_batch('train')
    iter_num = 0
    raw_model = model if compiled != "model" else unoptimized_model
    while True:
        lr = get_lr(iter_num)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        if iter_num % eval_interval == 0:
            losses = estimate_loss()
            out.append(f"step {iter_num}: train loss {losses['train']:.4f}, "
                       f"val loss {losses['val']:.4f}")
        for micro_step_ in range(gradient_accumulation_steps):
            loss = micro(X, Y)
            X, Y = get_batch('train')
        if grad_clip != 0.0:
            scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        lossf = loss.item() * gradient_accumulation_steps
        out.append(f"iter {iter_num}: loss {lossf:.4f}, norm {norm.item():.4f}")
        iter_num += 1
        if iter_num > max_iters:
            break

    # sample.py
    raw_model.eval()
    start_ids = [0]
    x = (torch.tensor(start_ids, dtype=torch.long)[None, ...])
    with torch.no_grad():
        with ctx:
            for k in range(2):
                y = raw_model.generate(x, 12, temperature=0.8, top_k=5)
                out.append(y[0].tolist())
    out.append(_state(raw_model))
    return out


# ---- 7. a tiny U-Net (milesial/Pytorch-UNet: DoubleConv, Down, Up, dice loss) ----
def unet(lib, compiled, bilinear=False):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim

    class DoubleConv(nn.Module):
        """(convolution => [BN] => ReLU) * 2"""

        def __init__(self, in_channels, out_channels, mid_channels=None):
            super().__init__()
            if not mid_channels:
                mid_channels = out_channels
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(mid_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True)
            )

        def forward(self, x):
            return self.double_conv(x)

    class Down(nn.Module):
        """Downscaling with maxpool then double conv"""

        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.maxpool_conv = nn.Sequential(
                nn.MaxPool2d(2),
                DoubleConv(in_channels, out_channels)
            )

        def forward(self, x):
            return self.maxpool_conv(x)

    class Up(nn.Module):
        """Upscaling then double conv"""

        def __init__(self, in_channels, out_channels, bilinear=True):
            super().__init__()
            # if bilinear, use the normal convolutions to reduce the number of channels
            if bilinear:
                self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
                self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
            else:
                self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2,
                                             stride=2)
                self.conv = DoubleConv(in_channels, out_channels)

        def forward(self, x1, x2):
            x1 = self.up(x1)
            # input is CHW
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]

            x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2,
                            diffY // 2, diffY - diffY // 2])
            x = torch.cat([x2, x1], dim=1)
            return self.conv(x)

    class OutConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super(OutConv, self).__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

        def forward(self, x):
            return self.conv(x)

    class UNet(nn.Module):
        def __init__(self, n_channels, n_classes, bilinear=False):
            super(UNet, self).__init__()
            self.n_channels = n_channels
            self.n_classes = n_classes
            self.bilinear = bilinear

            self.inc = (DoubleConv(n_channels, 4))
            self.down1 = (Down(4, 8))
            factor = 2 if bilinear else 1
            self.down2 = (Down(8, 16 // factor))
            self.up1 = (Up(16, 8 // factor, bilinear))
            self.up2 = (Up(8, 4, bilinear))
            self.outc = (OutConv(4, n_classes))

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x = self.up1(x3, x2)
            x = self.up2(x, x1)
            logits = self.outc(x)
            return logits

    def dice_coeff(input, target, reduce_batch_first=False, epsilon=1e-6):
        # Average of Dice coefficient for all batches, or for a single mask
        assert input.size() == target.size()
        assert input.dim() == 3 or not reduce_batch_first
        sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)
        inter = 2 * (input * target).sum(dim=sum_dim)
        sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
        sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
        dice = (inter + epsilon) / (sets_sum + epsilon)
        return dice.mean()

    def multiclass_dice_coeff(input, target, reduce_batch_first=False, epsilon=1e-6):
        # Average of Dice coefficient for all classes
        return dice_coeff(input.flatten(0, 1), target.flatten(0, 1), reduce_batch_first,
                          epsilon)

    def dice_loss(input, target, multiclass=False):
        # Dice loss (objective to minimize) between 0 and 1
        fn = multiclass_dice_coeff if multiclass else dice_coeff
        return 1 - fn(input, target, reduce_batch_first=True)

    torch.manual_seed(0)
    rng = np.random.default_rng(9)
    images = rng.standard_normal((7, 3, 18, 18)).astype(np.float32)
    masks = (images[:, 0] > 0.3).astype(np.int64) + (images[:, 1] > 1.0).astype(np.int64)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(masks))
    train_loader = torch.utils.data.DataLoader(dataset, shuffle=True, batch_size=3)
    val_loader = torch.utils.data.DataLoader(dataset, shuffle=False, batch_size=3,
                                             drop_last=True)
    model = UNet(n_channels=3, n_classes=3, bilinear=bilinear)
    model = model.to(memory_format=torch.channels_last)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = optim.RMSprop(model.parameters(), lr=1e-5, weight_decay=1e-8, momentum=0.999,
                              foreach=True)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max', patience=1)
    grad_scaler = torch.amp.GradScaler('cuda', enabled=False)
    criterion = nn.CrossEntropyLoss() if model.n_classes > 1 else nn.BCEWithLogitsLoss()
    out = []

    def train_step(images, true_masks):
        masks_pred = fwd(images)
        loss = criterion(masks_pred, true_masks)
        loss += dice_loss(
            F.softmax(masks_pred, dim=1).float(),
            F.one_hot(true_masks, model.n_classes).permute(0, 3, 1, 2).float(),
            multiclass=True
        )
        optimizer.zero_grad(set_to_none=True)
        grad_scaler.scale(loss).backward()
        grad_scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        grad_scaler.step(optimizer)
        grad_scaler.update()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    @torch.inference_mode()
    def evaluate(net, dataloader):
        net.eval()
        num_val_batches = len(dataloader)
        dice_score = 0
        for image, mask_true in dataloader:
            image = image.to(memory_format=torch.channels_last)
            mask_pred = fwd(image)
            mask_true = F.one_hot(mask_true, net.n_classes).permute(0, 3, 1, 2).float()
            mask_pred = F.one_hot(mask_pred.argmax(dim=1),
                                  net.n_classes).permute(0, 3, 1, 2).float()
            # compute the Dice score, ignoring background
            dice_score += multiclass_dice_coeff(mask_pred[:, 1:], mask_true[:, 1:],
                                                reduce_batch_first=False)
        net.train()
        return dice_score / max(num_val_batches, 1)

    for epoch in range(1, 3):
        model.train()
        epoch_loss = 0
        for images, true_masks in train_loader:
            images = images.to(memory_format=torch.channels_last)
            loss = step(images, true_masks)
            epoch_loss += loss.item()
            out.append(f"train loss {loss.item():.5f}")
        val_score = evaluate(model, val_loader)
        scheduler.step(val_score)
        out.append(f"Validation Dice score: {float(val_score):.5f} "
                   f"lr {optimizer.param_groups[0]['lr']:.6f} epoch loss {epoch_loss:.5f}")
    out.append(_state(model))
    return out


# ---- 8. tutorials: Language Translation with nn.Transformer ----
def translation(lib, compiled):
    torch = lib
    nn = lib.nn
    Tensor = lib.Tensor
    Transformer = lib.nn.Transformer
    pad_sequence = lib.nn.utils.rnn.pad_sequence
    DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3  # noqa: F841 - the tutorial's specials
    SRC_VOCAB_SIZE, TGT_VOCAB_SIZE = 14, 12

    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size: int, dropout: float, maxlen: int = 5000):
            super(PositionalEncoding, self).__init__()
            den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = torch.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = torch.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = torch.sin(pos * den)
            pos_embedding[:, 1::2] = torch.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)

            self.dropout = nn.Dropout(dropout)
            self.register_buffer('pos_embedding', pos_embedding)

        def forward(self, token_embedding: Tensor):
            return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size: int, emb_size):
            super(TokenEmbedding, self).__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens: Tensor):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead,
                     src_vocab_size, tgt_vocab_size, dim_feedforward=512, dropout=0.1):
            super(Seq2SeqTransformer, self).__init__()
            self.transformer = Transformer(d_model=emb_size,
                                           nhead=nhead,
                                           num_encoder_layers=num_encoder_layers,
                                           num_decoder_layers=num_decoder_layers,
                                           dim_feedforward=dim_feedforward,
                                           dropout=dropout)
            self.generator = nn.Linear(emb_size, tgt_vocab_size)
            self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                    memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                    src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
            return self.generator(outs)

        def encode(self, src, src_mask):
            return self.transformer.encoder(self.positional_encoding(
                self.src_tok_emb(src)), src_mask)

        def decode(self, tgt, memory, tgt_mask):
            return self.transformer.decoder(self.positional_encoding(
                self.tgt_tok_emb(tgt)), memory, tgt_mask)

    def generate_square_subsequent_mask(sz):
        mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1,
                                                                             float(0.0))
        return mask

    def create_mask(src, tgt):
        src_seq_len = src.shape[0]
        tgt_seq_len = tgt.shape[0]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)
        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    # "Multi30k": random sentences of token ids
    rng = np.random.default_rng(21)
    train_iter = [(list(rng.integers(4, SRC_VOCAB_SIZE, rng.integers(2, 6))),
                   list(rng.integers(4, TGT_VOCAB_SIZE, rng.integers(2, 6)))) for _ in range(10)]

    def tensor_transform(token_ids):
        return torch.cat((torch.tensor([BOS_IDX]), torch.tensor(token_ids),
                          torch.tensor([EOS_IDX])))

    def collate_fn(batch):
        src_batch, tgt_batch = [], []
        for src_sample, tgt_sample in batch:
            src_batch.append(tensor_transform(src_sample))
            tgt_batch.append(tensor_transform(tgt_sample))
        src_batch = pad_sequence(src_batch, padding_value=PAD_IDX)
        tgt_batch = pad_sequence(tgt_batch, padding_value=PAD_IDX)
        return src_batch, tgt_batch

    torch.manual_seed(0)
    transformer = Seq2SeqTransformer(1, 1, 16, 2, SRC_VOCAB_SIZE, TGT_VOCAB_SIZE, 32)
    for p in transformer.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    transformer = transformer.to(DEVICE)
    fwd = torch.compile(transformer) if compiled == "model" else transformer
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    optimizer = torch.optim.Adam(transformer.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)

    def train_step(src, tgt):
        tgt_input = tgt[:-1, :]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = fwd(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                     src_padding_mask)
        optimizer.zero_grad()
        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train_epoch(model, optimizer):
        model.train()
        losses = 0
        train_dataloader = torch.utils.data.DataLoader(train_iter, batch_size=4,
                                                       collate_fn=collate_fn)
        for src, tgt in train_dataloader:
            src = src.to(DEVICE)
            tgt = tgt.to(DEVICE)
            losses += step(src, tgt).item()
        return losses / len(list(train_dataloader))

    def evaluate(model):
        model.eval()
        losses = 0
        val_dataloader = torch.utils.data.DataLoader(train_iter[:4], batch_size=4,
                                                     collate_fn=collate_fn)
        for src, tgt in val_dataloader:
            tgt_input = tgt[:-1, :]
            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
            logits = fwd(src, tgt_input, src_mask, tgt_mask, src_padding_mask,
                         tgt_padding_mask, src_padding_mask)
            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            losses += loss.item()
        return losses / len(list(val_dataloader))

    def greedy_decode(model, src, src_mask, max_len, start_symbol):
        src = src.to(DEVICE)
        src_mask = src_mask.to(DEVICE)
        memory = model.encode(src, src_mask)
        ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)
        for i in range(max_len - 1):
            memory = memory.to(DEVICE)
            tgt_mask = (generate_square_subsequent_mask(ys.size(0))
                        .type(torch.bool)).to(DEVICE)
            out_ = model.decode(ys, memory, tgt_mask)
            out_ = out_.transpose(0, 1)
            prob = model.generator(out_[:, -1])
            _, next_word = torch.max(prob, dim=1)
            next_word = next_word.item()
            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
            if next_word == EOS_IDX:
                break
        return ys

    def translate(model, src_sentence):
        model.eval()
        src = tensor_transform(src_sentence).view(-1, 1)
        num_tokens = src.shape[0]
        src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
        tgt_tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 5,
                                   start_symbol=BOS_IDX).flatten()
        return " ".join(str(int(t)) for t in tgt_tokens)

    out = []
    for epoch in range(1, 4):
        train_loss = train_epoch(transformer, optimizer)
        val_loss = evaluate(transformer)
        out.append(f"Epoch: {epoch}, Train loss: {train_loss:.3f}, Val loss: {val_loss:.3f}")
    out.append(translate(transformer, [5, 6, 7]))
    out.append(_attention_state(transformer))
    return out



# ---- 9. tutorials: Knowledge Distillation ----
def distillation(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    device = "cpu"

    # Deeper neural network class to be used as teacher:
    class DeepNN(nn.Module):
        def __init__(self, num_classes=10):
            super(DeepNN, self).__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 8, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(8, 4, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(4, 8, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(8, 8, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(128, 32),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Linear(32, num_classes)
            )

        def forward(self, x):
            x = self.features(x)
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x

    # Lightweight neural network class to be used as student:
    class LightNN(nn.Module):
        def __init__(self, num_classes=10):
            super(LightNN, self).__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 4, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(4, 4, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(64, 16),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Linear(16, num_classes)
            )

        def forward(self, x):
            x = self.features(x)
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x

    class ModifiedDeepNNCosine(DeepNN):
        def forward(self, x):
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            flattened_conv_output_after_pooling = torch.nn.functional.avg_pool1d(
                flattened_conv_output, 2)
            return x, flattened_conv_output_after_pooling

    class ModifiedLightNNCosine(LightNN):
        def forward(self, x):
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            return x, flattened_conv_output

    out = []
    images, labels = _images(20, (3, 16, 16), 12)
    torch.manual_seed(42)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)

    def maybe(fn):
        return torch.compile(fn) if compiled == "step" else fn

    def model_of(model):
        return torch.compile(model) if compiled == "model" else model

    def train(model, train_loader, epochs, learning_rate, device):
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.Adam(model.parameters(), lr=learning_rate)
        fwd = model_of(model)

        @maybe
        def step(inputs, labels):
            optimizer.zero_grad()
            outputs = fwd(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            return loss

        model.train()
        for epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                running_loss += step(inputs, labels).item()
            out.append(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}")

    def test(model, test_loader, device):
        model.to(device)
        model.eval()
        correct = 0
        total = 0
        with torch.no_grad():
            for inputs, labels in test_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                outputs = model(inputs)
                if isinstance(outputs, tuple):
                    outputs = outputs[0]
                _, predicted = torch.max(outputs.data, 1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        accuracy = 100 * correct / total
        out.append(f"Test Accuracy: {accuracy:.2f}%")
        return accuracy

    def train_knowledge_distillation(teacher, student, train_loader, epochs, learning_rate, T,
                                     soft_target_loss_weight, ce_loss_weight, device):
        ce_loss = nn.CrossEntropyLoss()
        optimizer = optim.Adam(student.parameters(), lr=learning_rate)
        teacher_fwd, student_fwd = model_of(teacher), model_of(student)

        @maybe
        def step(inputs, labels):
            optimizer.zero_grad()
            # Forward pass with the teacher model - do not save gradients here as we do not
            # change the teacher's weights
            with torch.no_grad():
                teacher_logits = teacher_fwd(inputs)
            # Forward pass with the student model
            student_logits = student_fwd(inputs)
            # Soften the student logits by applying softmax first and log() second
            soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
            soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
            # Calculate the soft targets loss. Scaled by T**2 as suggested by the authors of
            # the paper "Distilling the knowledge in a neural network"
            soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) \
                / soft_prob.size()[0] * (T**2)
            # Calculate the true label loss
            label_loss = ce_loss(student_logits, labels)
            # Weighted sum of the two losses
            loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            return loss

        teacher.eval()  # Teacher set to evaluation mode
        student.train()  # Student to train mode
        for epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                running_loss += step(inputs, labels).item()
            out.append(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}")

    def train_cosine_loss(teacher, student, train_loader, epochs, learning_rate,
                          hidden_rep_loss_weight, ce_loss_weight, device):
        ce_loss = nn.CrossEntropyLoss()
        cosine_loss = nn.CosineEmbeddingLoss()
        optimizer = optim.Adam(student.parameters(), lr=learning_rate)
        teacher_fwd, student_fwd = model_of(teacher), model_of(student)

        @maybe
        def step(inputs, labels):
            optimizer.zero_grad()
            # Forward pass with the teacher model and keep only the hidden representation
            with torch.no_grad():
                _, teacher_hidden_representation = teacher_fwd(inputs)
            # Forward pass with the student model
            student_logits, student_hidden_representation = student_fwd(inputs)
            # Calculate the cosine loss. Target is a vector of ones. From the loss formula
            # above we can see that is the case where loss minimization leads to cosine
            # similarity increase.
            hidden_rep_loss = cosine_loss(student_hidden_representation,
                                          teacher_hidden_representation,
                                          target=torch.ones(inputs.size(0)).to(device))
            # Calculate the true label loss
            label_loss = ce_loss(student_logits, labels)
            # Weighted sum of the two losses
            loss = hidden_rep_loss_weight * hidden_rep_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            return loss

        teacher.to(device)
        student.to(device)
        teacher.eval()  # Teacher set to evaluation mode
        student.train()  # Student to train mode
        for epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                running_loss += step(inputs, labels).item()
            out.append(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}")

    torch.manual_seed(42)
    nn_deep = DeepNN(num_classes=10).to(device)
    train(nn_deep, train_loader, epochs=2, learning_rate=0.001, device=device)
    test_accuracy_deep = test(nn_deep, test_loader, device)
    torch.manual_seed(42)
    nn_light = LightNN(num_classes=10).to(device)
    torch.manual_seed(42)
    new_nn_light = LightNN(num_classes=10).to(device)
    out.append(f"Norm of 1st layer of nn_light: {torch.norm(nn_light.features[0].weight).item()}")
    out.append(f"Norm of 1st layer of new_nn_light: "
               f"{torch.norm(new_nn_light.features[0].weight).item()}")
    total_params_deep = "{:,}".format(sum(p.numel() for p in nn_deep.parameters()))
    total_params_light = "{:,}".format(sum(p.numel() for p in nn_light.parameters()))
    out.append(f"DeepNN parameters: {total_params_deep}, LightNN: {total_params_light}")
    train(nn_light, train_loader, epochs=2, learning_rate=0.001, device=device)
    test_accuracy_light_ce = test(nn_light, test_loader, device)
    train_knowledge_distillation(teacher=nn_deep, student=new_nn_light,
                                 train_loader=train_loader, epochs=2, learning_rate=0.001, T=2,
                                 soft_target_loss_weight=0.25, ce_loss_weight=0.75,
                                 device=device)
    test_accuracy_light_ce_and_kd = test(new_nn_light, test_loader, device)
    out.append(f"Teacher accuracy: {test_accuracy_deep:.2f}%")
    out.append(f"Student accuracy without teacher: {test_accuracy_light_ce:.2f}%")
    out.append(f"Student accuracy with CE + KD: {test_accuracy_light_ce_and_kd:.2f}%")

    # Cosine loss minimization run: the teacher's weights copied into the modified class
    modified_nn_deep = ModifiedDeepNNCosine(num_classes=10).to(device)
    modified_nn_deep.load_state_dict(nn_deep.state_dict())
    out.append(f"Norm of 1st layer for deep_nn: {torch.norm(nn_deep.features[0].weight).item()}")
    out.append(f"Norm of 1st layer for modified_deep_nn: "
               f"{torch.norm(modified_nn_deep.features[0].weight).item()}")
    torch.manual_seed(42)
    modified_nn_light = ModifiedLightNNCosine(num_classes=10).to(device)
    sample_input = torch.randn(2, 3, 16, 16).to(device)
    logits, hidden_representation = modified_nn_light(sample_input)
    out.append(f"Student logits shape: {logits.shape}")
    out.append(f"Student hidden representation shape: {hidden_representation.shape}")
    logits, hidden_representation = modified_nn_deep(sample_input)
    out.append(f"Teacher hidden representation shape: {hidden_representation.shape}")
    train_cosine_loss(teacher=modified_nn_deep, student=modified_nn_light,
                      train_loader=train_loader, epochs=2, learning_rate=0.001,
                      hidden_rep_loss_weight=0.25, ce_loss_weight=0.75, device=device)
    test(modified_nn_light, test_loader, device)

    # the KLDivLoss spelling of the soft-target loss (as most distillation code writes it)
    kl = nn.KLDivLoss(reduction="batchmean")
    with torch.no_grad():
        inputs = torch.from_numpy(images[:8])
        t_logits, s_logits = nn_deep(inputs), new_nn_light(inputs)
        T = 4.0
        out.append((kl(torch.log_softmax(s_logits / T, dim=1),
                       torch.softmax(t_logits / T, dim=1)) * T * T).item())
        out.append(nn.KLDivLoss(reduction="batchmean", log_target=True)(
            torch.log_softmax(s_logits / T, dim=1), torch.log_softmax(t_logits / T, dim=1)).item())
    out.append(_state(new_nn_light))
    out.append(_state(modified_nn_light))
    return out


# ---- 10. tutorials: torch.func - model ensembling, per-sample gradients, Jacobians ----
def func_transforms(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    from_func = lib.func
    stack_module_state, functional_call, vmap, grad = (
        from_func.stack_module_state, from_func.functional_call, from_func.vmap, from_func.grad)
    jacrev, jacfwd, hessian = from_func.jacrev, from_func.jacfwd, from_func.hessian
    out = []
    device = 'cpu'

    # model ensembling
    class SimpleMLP(nn.Module):
        def __init__(self):
            super(SimpleMLP, self).__init__()
            self.fc1 = nn.Linear(784, 32)
            self.fc2 = nn.Linear(32, 16)
            self.fc3 = nn.Linear(16, 10)

        def forward(self, x):
            x = x.flatten(1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            x = F.relu(x)
            x = self.fc3(x)
            return x

    torch.manual_seed(0)
    num_models = 4
    data = torch.randn(5, 8, 1, 28, 28, device=device)
    minibatches = data[:num_models]
    minibatch = data[0]
    models = [SimpleMLP().to(device) for _ in range(num_models)]
    fwds = [torch.compile(m) if compiled == "model" else m for m in models]
    predictions_diff_minibatch_loop = [model(minibatch)
                                       for model, minibatch in zip(fwds, minibatches)]
    predictions2 = [model(minibatch) for model in fwds]
    params, buffers = stack_module_state(models)
    out.append(sorted((k, tuple(v.shape), v.requires_grad) for k, v in params.items()))
    base_model = copy.deepcopy(models[0])
    base_model = base_model.to('meta')

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    ensemble = torch.compile(vmap(fmodel)) if compiled == "step" else vmap(fmodel)
    predictions1_vmap = ensemble(params, buffers, minibatches)
    out.append(torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop),
                              atol=1e-3, rtol=1e-5))
    predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
    out.append(torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3,
                              rtol=1e-5))
    out.append(_np(predictions1_vmap))
    out.append(_np(predictions2_vmap))
    # gradients flow back to the stacked parameters
    predictions1_vmap.sum().backward()
    out.append(_np(params['fc1.weight'].grad[:, :4, :8]))

    # per-sample gradients
    class SimpleCNN(nn.Module):
        def __init__(self):
            super(SimpleCNN, self).__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.fc1 = nn.Linear(8 * 5 * 5, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            output = output
            return output

    def loss_fn(predictions, targets):
        return F.nll_loss(predictions, targets)

    batch_size = 6
    data = torch.randn(batch_size, 1, 14, 14, device=device)
    targets = torch.randint(10, (batch_size,), device=device)
    model = SimpleCNN().to(device=device)
    fwd = torch.compile(model) if compiled == "model" else model

    def compute_grad(sample, target):
        sample = sample.unsqueeze(0)  # prepend batch dimension for processing
        target = target.unsqueeze(0)
        prediction = fwd(sample)
        loss = loss_fn(prediction, target)
        return torch.autograd.grad(loss, list(model.parameters()))

    def compute_sample_grads(data, targets):
        """ manually process each sample with per sample gradient """
        sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
        sample_grads = zip(*sample_grads)
        sample_grads = [torch.stack(shards) for shards in sample_grads]
        return sample_grads

    per_sample_grads = compute_sample_grads(data, targets)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)
        predictions = functional_call(model, (params, buffers), (batch,))
        loss = loss_fn(predictions, targets)
        return loss

    ft_compute_grad = grad(compute_loss)
    ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
    if compiled == "step":
        ft_compute_sample_grad = torch.compile(ft_compute_sample_grad)
    ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
    for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads,
                                                    ft_per_sample_grads.values()):
        out.append(torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5))
        out.append(_np(ft_per_sample_grad))

    # Jacobians, Hessians, hvp and more
    def predict(weight, bias, x):
        return F.linear(x, weight, bias).tanh()

    D = 4
    weight = torch.randn(D, D)
    bias = torch.randn(D)
    x = torch.randn(D)
    jacobian = jacrev(predict, argnums=2)(weight, bias, x)
    out.append(_np(jacobian))
    ft_jacobian, ft_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    out.append([tuple(ft_jacobian.shape), _np(ft_bias)])
    out.append(_np(jacfwd(predict, argnums=2)(weight, bias, x)))
    batch_size = 3
    x = torch.randn(batch_size, D)
    compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
    out.append(_np(compute_batch_jacobian(weight, bias, x)))
    hess_api = hessian(predict, argnums=2)(weight, bias, x[0])
    hess_fwdrev = jacfwd(jacrev(predict, argnums=2), argnums=2)(weight, bias, x[0])
    out.append(torch.allclose(hess_api, hess_fwdrev))
    out.append(_np(hess_api))

    def hvp(f, primals, tangents):
        return from_func.jvp(grad(f), primals, tangents)[1]

    def f(x):
        return x.sin().sum()

    x = torch.randn(2048)
    tangent = torch.randn(2048)
    out.append(_np(hvp(f, (x,), (tangent,))[:16]))
    return out


# ---- 11. a CIFAR ResNet (kuangliu/pytorch-cifar): OneCycleLR, checkpoint and resume ----
def cifar_resnet(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes, planes, stride=1):
            super(BasicBlock, self).__init__()
            self.conv1 = nn.Conv2d(
                in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3,
                                   stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)

            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes,
                              kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(self.expansion * planes)
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            out = F.relu(out)
            return out

    class ResNet(nn.Module):
        def __init__(self, block, num_blocks, num_classes=10):
            super(ResNet, self).__init__()
            self.in_planes = 4

            self.conv1 = nn.Conv2d(3, 4, kernel_size=3,
                                   stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.layer1 = self._make_layer(block, 4, num_blocks[0], stride=1)
            self.layer2 = self._make_layer(block, 8, num_blocks[1], stride=2)
            self.linear = nn.Linear(8 * block.expansion, num_classes)

        def _make_layer(self, block, planes, num_blocks, stride):
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for stride in strides:
                layers.append(block(self.in_planes, planes, stride))
                self.in_planes = planes * block.expansion
            return nn.Sequential(*layers)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer1(out)
            out = self.layer2(out)
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    images, labels = _images(20, (3, 8, 8), 13)
    torch.manual_seed(0)
    trainset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=8, shuffle=True)
    testloader = torch.utils.data.DataLoader(trainset, batch_size=16, shuffle=False)
    device = 'cpu'
    net = ResNet(BasicBlock, [1, 1])
    net = net.to(device)
    epochs = 3
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                              steps_per_epoch=len(trainloader))
    fwd = torch.compile(net) if compiled == "model" else net
    out = []

    def train_step(inputs, targets):
        optimizer.zero_grad()
        outputs = fwd(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), max_norm=2.0)
        optimizer.step()
        return loss, outputs
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train(epoch):
        out.append('\nEpoch: %d' % epoch)
        net.train()
        train_loss = 0
        correct = 0
        total = 0
        for batch_idx, (inputs, targets) in enumerate(trainloader):
            inputs, targets = inputs.to(device), targets.to(device)
            loss, outputs = step(inputs, targets)
            scheduler.step()
            train_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
            out.append('Loss: %.3f | Acc: %.3f%% (%d/%d) | lr %.5f'
                       % (train_loss / (batch_idx + 1), 100. * correct / total, correct, total,
                          scheduler.get_last_lr()[0]))

    best_acc = 0
    checkpoints = {}

    def test(epoch):
        nonlocal best_acc
        net.eval()
        test_loss = 0
        correct = 0
        total = 0
        with torch.no_grad():
            for batch_idx, (inputs, targets) in enumerate(testloader):
                inputs, targets = inputs.to(device), targets.to(device)
                outputs = fwd(inputs)
                loss = criterion(outputs, targets)
                test_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
        out.append('Test Loss: %.3f | Acc: %.3f%% (%d/%d)'
                   % (test_loss / (batch_idx + 1), 100. * correct / total, correct, total))
        # Save checkpoint.
        acc = 100. * correct / total
        if acc >= best_acc:
            state = {
                'net': net.state_dict(),
                'acc': acc,
                'epoch': epoch,
                'optimizer': optimizer.state_dict(),
                'scheduler': scheduler.state_dict(),
            }
            buffer = io.BytesIO()
            torch.save(state, buffer)
            checkpoints['ckpt.pth'] = buffer.getvalue()
            best_acc = acc

    for epoch in range(0, epochs - 1):
        train(epoch)
        test(epoch)

    # --resume: a fresh net, optimizer and scheduler from the checkpoint, then the last epoch
    checkpoint = torch.load(io.BytesIO(checkpoints['ckpt.pth']))
    out.append(sorted(checkpoint))
    out.append([checkpoint['acc'], checkpoint['epoch']])
    net = ResNet(BasicBlock, [1, 1]).to(device)
    net.load_state_dict(checkpoint['net'])
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    optimizer.load_state_dict(checkpoint['optimizer'])
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                              steps_per_epoch=len(trainloader))
    scheduler.load_state_dict(checkpoint['scheduler'])
    out.append(scheduler.get_last_lr())
    best_acc = checkpoint['acc']
    start_epoch = checkpoint['epoch'] + 1
    fwd = torch.compile(net) if compiled == "model" else net
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(start_epoch, epochs):
        train(epoch)
        test(epoch)
    out.append(_state(net))
    out.append([len(s) for s in optimizer.state_dict()['state'].values()])

    # CosineAnnealingLR and StepLR side by side on the resumed optimizer's lr
    for scheduler_cls, kwargs in ((optim.lr_scheduler.CosineAnnealingLR, {'T_max': 4}),
                                  (optim.lr_scheduler.StepLR, {'step_size': 2, 'gamma': 0.5})):
        opt = optim.SGD(net.parameters(), lr=0.05)
        sched = scheduler_cls(opt, **kwargs)
        lrs = []
        for _ in range(6):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        out.append(lrs)
    return out



# ---- 12. WGAN-GP (gradient penalty through torch.autograd.grad(create_graph=True)) ----
def wgan_gp(lib, compiled):
    torch = lib
    nn = lib.nn
    autograd = lib.autograd
    img_shape, latent_dim, lambda_gp, n_critic = (1, 8, 8), 6, 10, 2

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()

            def block(in_feat, out_feat, normalize=True):
                layers = [nn.Linear(in_feat, out_feat)]
                if normalize:
                    layers.append(nn.BatchNorm1d(out_feat, 0.8))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
                return layers

            self.model = nn.Sequential(
                *block(latent_dim, 16, normalize=False),
                *block(16, 32),
                nn.Linear(32, int(np.prod(img_shape))),
                nn.Tanh()
            )

        def forward(self, z):
            img = self.model(z)
            img = img.view(img.shape[0], *img_shape)
            return img

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()
            self.model = nn.Sequential(
                nn.Linear(int(np.prod(img_shape)), 32),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(32, 16),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(16, 1),
            )

        def forward(self, img):
            img_flat = img.view(img.shape[0], -1)
            validity = self.model(img_flat)
            return validity

    torch.manual_seed(3)
    generator = Generator()
    discriminator = Discriminator()
    G = torch.compile(generator) if compiled == "model" else generator
    D = torch.compile(discriminator) if compiled == "model" else discriminator
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=0.0002, betas=(0.5, 0.999))
    Tensor = torch.FloatTensor
    images, _ = _images(16, img_shape, 14)
    dataloader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(np.tanh(images))), batch_size=8,
        shuffle=True)

    def compute_gradient_penalty(D, real_samples, fake_samples, alpha):
        """Calculates the gradient penalty loss for WGAN GP"""
        # Get random interpolation between real and fake samples
        interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
        d_interpolates = D(interpolates)
        fake = torch.ones(real_samples.shape[0], 1, requires_grad=False)
        # Get gradient w.r.t. interpolates
        gradients = autograd.grad(
            outputs=d_interpolates,
            inputs=interpolates,
            grad_outputs=fake,
            create_graph=True,
            retain_graph=True,
            only_inputs=True,
        )[0]
        gradients = gradients.view(gradients.size(0), -1)
        gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
        return gradient_penalty

    def critic_step(real_imgs, z, alpha):
        optimizer_D.zero_grad()
        fake_imgs = G(z)
        real_validity = D(real_imgs)
        fake_validity = D(fake_imgs)
        # the penalty's double backward needs the eager critic: a compiled one raises, as
        # torch.compile's ("does not currently support double backward")
        gradient_penalty = compute_gradient_penalty(discriminator, real_imgs.data,
                                                    fake_imgs.data, alpha)
        d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) \
            + lambda_gp * gradient_penalty
        d_loss.backward()
        optimizer_D.step()
        return d_loss, gradient_penalty
    critic = torch.compile(critic_step) if compiled == "step" else critic_step

    def generator_step(z):
        optimizer_G.zero_grad()
        fake_imgs = G(z)
        fake_validity = D(fake_imgs)
        g_loss = -torch.mean(fake_validity)
        g_loss.backward()
        optimizer_G.step()
        return g_loss
    gen = torch.compile(generator_step) if compiled == "step" else generator_step

    out = []
    np.random.seed(0)
    batches_done = 0
    for epoch in range(2):
        for i, (imgs,) in enumerate(dataloader):
            real_imgs = imgs.type(Tensor)
            z = Tensor(np.random.normal(0, 1, (imgs.shape[0], latent_dim)))
            # Random weight term for interpolation between real and fake samples
            alpha = Tensor(np.random.random((real_imgs.size(0), 1, 1, 1)))
            d_loss, gp = critic(real_imgs, z, alpha)
            if i % n_critic == 0:
                g_loss = gen(z)
                out.append("[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f] [GP: %f]"
                           % (epoch, 2, i, len(dataloader), d_loss.item(), g_loss.item(),
                              gp.item()))
                batches_done += n_critic
    out.append(_state(generator))
    out.append(_state(discriminator))
    return out


# ---- 13. SimCLR's NT-Xent loss (boolean masks, F.normalize, logits of positives first) ----
def simclr(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    batch_size, n_views, temperature = 4, 2, 0.07

    class ResNetSimCLR(nn.Module):
        def __init__(self, out_dim):
            super(ResNetSimCLR, self).__init__()
            self.backbone = nn.Sequential(
                nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(8, out_dim))
            dim_mlp = self.backbone[-1].in_features
            # add mlp projection head
            self.backbone[-1] = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(),
                                              self.backbone[-1])

        def forward(self, x):
            return self.backbone(x)

    def info_nce_loss(features):
        labels = torch.cat([torch.arange(batch_size) for i in range(n_views)], dim=0)
        labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
        features = F.normalize(features, dim=1)
        similarity_matrix = torch.matmul(features, features.T)
        # discard the main diagonal from both: labels and similarities matrix
        mask = torch.eye(labels.shape[0], dtype=torch.bool)
        labels = labels[~mask].view(labels.shape[0], -1)
        similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)
        # select and combine multiple positives
        positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)
        # select only the negatives the negatives
        negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)
        logits = torch.cat([positives, negatives], dim=1)
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        logits = logits / temperature
        return logits, labels

    def accuracy(output, target, topk=(1,)):
        """Computes the accuracy over the k top predictions for the specified values of k"""
        with torch.no_grad():
            maxk = max(topk)
            batch_size = target.size(0)
            _, pred = output.topk(maxk, 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))
            res = []
            for k in topk:
                correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
                res.append(correct_k.mul_(100.0 / batch_size))
            return res

    torch.manual_seed(0)
    model = ResNetSimCLR(out_dim=8)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), 3e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=0,
                                                           last_epoch=-1)
    criterion = torch.nn.CrossEntropyLoss()

    def train_step(images):
        features = fwd(images)
        logits, labels = info_nce_loss(features)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, logits, labels
    step = torch.compile(train_step) if compiled == "step" else train_step

    rng = np.random.default_rng(15)
    out = []
    for epoch_counter in range(4):
        base = rng.standard_normal((batch_size, 3, 8, 8)).astype(np.float32)
        views = [base + 0.1 * rng.standard_normal(base.shape).astype(np.float32)
                 for _ in range(n_views)]
        images = torch.cat([torch.from_numpy(v) for v in views], dim=0)
        loss, logits, labels = step(images)
        top1, top5 = accuracy(logits, labels, topk=(1, 5))
        if epoch_counter >= 1:
            scheduler.step()
        out.append(f"Epoch: {epoch_counter}\tLoss: {loss.item()}\tTop1 accuracy: {top1[0]}"
                   f"\tTop5 accuracy: {top5[0].item():.3f}")
    out.append(_state(model))
    return out


# ---- 14. mixup and CutMix (facebookresearch/mixup-cifar10, clovaai/CutMix-PyTorch) ----
def mixup_cutmix(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim

    def mixup_data(x, y, alpha=1.0, use_cuda=False):
        """Returns mixed inputs, pairs of targets, and lambda"""
        if alpha > 0:
            lam = np.random.beta(alpha, alpha)
        else:
            lam = 1
        batch_size = x.size()[0]
        index = torch.randperm(batch_size)
        mixed_x = lam * x + (1 - lam) * x[index, :]
        y_a, y_b = y, y[index]
        return mixed_x, y_a, y_b, lam

    def mixup_criterion(criterion, pred, y_a, y_b, lam):
        return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)

    def rand_bbox(size, lam):
        W = size[2]
        H = size[3]
        cut_rat = np.sqrt(1. - lam)
        cut_w = int(W * cut_rat)
        cut_h = int(H * cut_rat)
        # uniform
        cx = np.random.randint(W)
        cy = np.random.randint(H)
        bbx1 = np.clip(cx - cut_w // 2, 0, W)
        bby1 = np.clip(cy - cut_h // 2, 0, H)
        bbx2 = np.clip(cx + cut_w // 2, 0, W)
        bby2 = np.clip(cy + cut_h // 2, 0, H)
        return bbx1, bby1, bbx2, bby2

    torch.manual_seed(0)
    np.random.seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 4 * 4, 10))
    fwd = torch.compile(net) if compiled == "model" else net
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    images, labels = _images(16, (3, 8, 8), 16)
    trainloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(images), torch.from_numpy(labels)), batch_size=8, shuffle=True)

    def mixup_step(inputs, targets_a, targets_b, lam):
        outputs = fwd(inputs)
        loss = mixup_criterion(criterion, outputs, targets_a, targets_b, lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, outputs
    step = torch.compile(mixup_step) if compiled == "step" else mixup_step

    out = []
    net.train()
    for epoch in range(2):
        train_loss, correct, total = 0, 0, 0
        for batch_idx, (inputs, targets) in enumerate(trainloader):
            inputs, targets_a, targets_b, lam = mixup_data(inputs, targets, 1.0, False)
            loss, outputs = step(inputs, targets_a, targets_b, lam)
            train_loss += loss.item()
            _, predicted = torch.max(outputs.data, 1)
            total += targets.size(0)
            correct += (lam * predicted.eq(targets_a.data).cpu().sum().float()
                        + (1 - lam) * predicted.eq(targets_b.data).cpu().sum().float())
            out.append('Loss: %.3f | Acc: %.3f%% (%.3f/%d)'
                       % (train_loss / (batch_idx + 1), 100. * correct / total, correct, total))
        # CutMix: paste a box of a shuffled batch, mix the targets by the box's area
        for input, target in trainloader:
            r = np.random.rand(1)
            if r < 0.8:
                lam = np.random.beta(1.0, 1.0)
                rand_index = torch.randperm(input.size()[0])
                target_a = target
                target_b = target[rand_index]
                bbx1, bby1, bbx2, bby2 = rand_bbox(input.size(), lam)
                input[:, :, bbx1:bbx2, bby1:bby2] = input[rand_index, :, bbx1:bbx2, bby1:bby2]
                # adjust lambda to exactly match pixel ratio
                lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (input.size()[-1] * input.size()[-2]))
                loss, output = step(input, target_a, target_b, lam)
            else:
                loss, output = step(input, target, target, 1.0)
            out.append(f"cutmix loss {loss.item():.4f}")
    out.append(_state(net))
    return out


# ---- 15. Grad-CAM with forward and full backward hooks; integrated gradients ----
def grad_cam(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    model.eval()
    target_layer = model[2]

    class GradCAM:
        def __init__(self, model, target_layer):
            self.model = model
            self.gradients = None
            self.activations = None
            self.handles = [
                target_layer.register_forward_hook(self.save_activation),
                target_layer.register_full_backward_hook(self.save_gradient)]

        def save_activation(self, module, input, output):
            self.activations = output.detach()

        def save_gradient(self, module, grad_input, grad_output):
            self.gradients = grad_output[0].detach()

        def __call__(self, x, class_idx=None):
            self.model.zero_grad()
            logits = self.model(x)
            if class_idx is None:
                class_idx = logits.argmax(dim=1)
            score = logits.gather(1, class_idx.view(-1, 1)).sum()
            score.backward()
            weights = self.gradients.mean(dim=(2, 3), keepdim=True)
            cam = F.relu((weights * self.activations).sum(dim=1, keepdim=True))
            cam = F.interpolate(cam, size=x.shape[2:], mode='bilinear', align_corners=False)
            cam_min = cam.flatten(1).min(dim=1)[0].view(-1, 1, 1, 1)
            cam_max = cam.flatten(1).max(dim=1)[0].view(-1, 1, 1, 1)
            cam = (cam - cam_min) / (cam_max - cam_min + 1e-8)
            return cam, class_idx

        def remove(self):
            for handle in self.handles:
                handle.remove()

    images, _ = _images(3, (3, 8, 8), 17)
    x = torch.from_numpy(images)
    fwd = torch.compile(model) if compiled == "model" else model
    cam_fn = GradCAM(fwd, target_layer)
    out = []
    cam, idx = cam_fn(x)
    out += [_np(cam), idx.tolist()]
    cam, idx = cam_fn(x, torch.tensor([0, 1, 2]))
    out += [_np(cam), idx.tolist(), _np(cam_fn.gradients)]
    cam_fn.remove()
    # integrated gradients (captum-style) on the same model, hooks gone
    baseline = torch.zeros_like(x)
    steps = 8
    alphas = torch.linspace(0, 1, steps).view(-1, 1, 1, 1, 1)
    path = baseline.unsqueeze(0) + alphas * (x - baseline).unsqueeze(0)
    path = path.view(-1, *x.shape[1:]).requires_grad_(True)

    def attribution(path):
        logits = fwd(path)
        target = logits.view(steps, x.shape[0], -1)[-1].argmax(dim=1).repeat(steps)
        selected = logits.gather(1, target.view(-1, 1)).sum()
        grads, = torch.autograd.grad(selected, path)
        return grads
    attribute = torch.compile(attribution) if compiled == "step" else attribution
    grads = attribute(path).view(steps, *x.shape)
    avg_grads = (grads[:-1] + grads[1:]).mean(dim=0) / 2
    out.append(_np((x - baseline) * avg_grads))
    return out


# ---- 16. SWA and EMA (torch.optim.swa_utils) ----
def swa_ema(lib, compiled):
    torch = lib
    nn = lib.nn
    swa_utils = lib.optim.swa_utils
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 12, bias=False), nn.BatchNorm1d(12), nn.ReLU(),
                          nn.Linear(12, 3))
    rng = np.random.default_rng(18)
    X = torch.from_numpy(rng.standard_normal((24, 6)).astype(np.float32))
    Y = torch.from_numpy(rng.integers(0, 3, 24))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=8,
                                         shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa_model = swa_utils.AveragedModel(model)
    ema_model = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9),
                                        use_buffers=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    swa_start = 2
    swa_scheduler = swa_utils.SWALR(optimizer, swa_lr=0.05, anneal_epochs=2)
    fwd = torch.compile(model) if compiled == "model" else model

    def train_step(input, target):
        optimizer.zero_grad()
        loss = loss_fn(fwd(input), target)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    out = []
    for epoch in range(5):
        for input, target in loader:
            loss = step(input, target)
            ema_model.update_parameters(model)
        if epoch > swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        else:
            scheduler.step()
        out.append(f"epoch {epoch} loss {loss.item():.5f} "
                   f"lr {optimizer.param_groups[0]['lr']:.5f}")
    # Update bn statistics for the swa_model at the end
    swa_utils.update_bn(loader, swa_model)
    swa_fwd = torch.compile(swa_model) if compiled == "model" else swa_model
    with torch.no_grad():
        swa_model.eval()
        ema_model.eval()
        for name, m in (("swa", swa_fwd), ("ema", ema_model)):
            correct = (m(X).argmax(dim=1) == Y).sum().item()
            out.append(f"{name} accuracy {correct}/{len(Y)}")
    out.append(_state(swa_model))
    out.append(_state(ema_model))
    out.append(int(swa_model.n_averaged))
    return out


# ---- 17. custom autograd.Function with setup_context, under torch.func transforms ----
def custom_function(lib, compiled):
    torch = lib
    nn = lib.nn

    class MyCube(torch.autograd.Function):
        @staticmethod
        def forward(x):
            result = x ** 3
            dx = 3 * x ** 2
            return result, dx

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            result, dx = output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            # In order for the autograd.Function to work with higher-order
            # gradients, we must add the gradient contribution of `dx`.
            result = grad_output * dx + grad_dx * 6 * x
            return result

    def my_cube(x):
        result, _ = MyCube.apply(x)
        return result

    class ScaledSiLU(torch.autograd.Function):
        """A classic ctx-style Function: the tensor and a non-tensor argument."""

        @staticmethod
        def forward(ctx, input, scale):
            ctx.save_for_backward(input)
            ctx.scale = scale
            return scale * input * torch.sigmoid(input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            s = torch.sigmoid(input)
            return grad_output * ctx.scale * (s * (1 + input * (1 - s))), None

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 1)

        def forward(self, x):
            return self.fc2(ScaledSiLU.apply(self.fc1(x), 1.5)).squeeze(-1)

    out = []
    torch.manual_seed(0)
    x = torch.randn(5)
    out.append(_np(torch.func.grad(lambda x: my_cube(x).sum())(x)))
    out.append(_np(torch.func.grad(torch.func.grad(lambda x: my_cube(x).sum()))(x[0])))
    xr = x.clone().requires_grad_()
    g, = torch.autograd.grad(my_cube(xr).sum(), xr, create_graph=True)
    gg, = torch.autograd.grad(g.sum(), xr)
    out += [_np(g), _np(gg)]
    net = Net()
    fwd = torch.compile(net) if compiled == "model" else net
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    data = torch.randn(16, 4)
    target = my_cube(data[:, 0])

    def train_step(data, target):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(fwd(data), target)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for _ in range(4):
        out.append(step(data, target).item())
    out.append(torch.autograd.gradcheck(lambda t: ScaledSiLU.apply(t, 0.7),
                                        (torch.randn(3, dtype=torch.float64,
                                                     requires_grad=True),)))
    out.append(_state(net))
    return out


# ---- 18. pytorch/examples gcn with its sparse adjacency (to_sparse, sparse_coo_tensor) ----
def gcn_sparse(lib, compiled):
    torch = lib
    V = 6
    edges = np.array([[0, 1], [1, 2], [2, 3], [4, 5], [5, 0]], dtype=np.int32)
    E = edges.shape[0]
    features = torch.FloatTensor((np.arange(V * 4).reshape(V, 4) % 3 == 0).astype(np.int32))
    scale_vector = torch.sum(features, dim=1)
    scale_vector = 1 / scale_vector
    scale_vector[scale_vector == float('inf')] = 0
    scale_vector = torch.diag(scale_vector).to_sparse()
    features = scale_vector @ features
    adj_mat = torch.sparse_coo_tensor(edges.T, torch.ones(E), (V, V), dtype=torch.int64)
    adj_mat = torch.eye(V) + adj_mat
    degree_mat = torch.sum(adj_mat, dim=1)
    degree_mat = torch.sqrt(1 / degree_mat)
    degree_mat[degree_mat == float('inf')] = 0
    degree_mat = torch.diag(degree_mat).to_sparse()
    adj_mat = degree_mat @ adj_mat @ degree_mat
    features, adj_mat = features.to_sparse(), adj_mat.to_sparse()
    torch.manual_seed(0)
    kernel = torch.nn.Parameter(torch.randn(4, 3))
    support = torch.mm(features, kernel)
    output = torch.spmm(adj_mat, support)
    output.sum().backward()
    return [_np(output), _np(kernel.grad)]


# ---- 19. Llama (meta-llama/llama model.py): RMSNorm, rotary embeddings through complex
# numbers, grouped-query attention, a KV cache, SwiGLU ----
def llama(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    from dataclasses import dataclass
    from typing import Optional

    @dataclass
    class ModelArgs:
        dim: int = 4096
        n_layers: int = 32
        n_heads: int = 32
        n_kv_heads: Optional[int] = None  # noqa: UP045 - as the original writes it
        vocab_size: int = -1
        multiple_of: int = 256
        ffn_dim_multiplier: Optional[float] = None  # noqa: UP045
        norm_eps: float = 1e-5
        max_batch_size: int = 32
        max_seq_len: int = 2048

    class RMSNorm(torch.nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x):
            output = self._norm(x.float()).type_as(x)
            return output * self.weight

    def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0):
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
        t = torch.arange(end, device=freqs.device)
        freqs = torch.outer(t, freqs).float()
        freqs_cis = torch.polar(torch.ones_like(freqs), freqs)  # complex64
        return freqs_cis

    def reshape_for_broadcast(freqs_cis, x):
        ndim = x.ndim
        assert 0 <= 1 < ndim
        assert freqs_cis.shape == (x.shape[1], x.shape[-1])
        shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
        return freqs_cis.view(*shape)

    def apply_rotary_emb(xq, xk, freqs_cis):
        xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
        xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
        freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
        xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
        xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)

    def repeat_kv(x, n_rep: int):
        """torch.repeat_interleave(x, dim=2, repeats=n_rep)"""
        bs, slen, n_kv_heads, head_dim = x.shape
        if n_rep == 1:
            return x
        return (
            x[:, :, :, None, :]
            .expand(bs, slen, n_kv_heads, n_rep, head_dim)
            .reshape(bs, slen, n_kv_heads * n_rep, head_dim)
        )

    class Attention(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.n_kv_heads = args.n_heads if args.n_kv_heads is None else args.n_kv_heads
            self.n_local_heads = args.n_heads
            self.n_local_kv_heads = self.n_kv_heads
            self.n_rep = self.n_local_heads // self.n_local_kv_heads
            self.head_dim = args.dim // args.n_heads
            self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
            self.wk = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
            self.wv = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
            self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=False)
            self.cache_k = torch.zeros((args.max_batch_size, args.max_seq_len,
                                        self.n_local_kv_heads, self.head_dim))
            self.cache_v = torch.zeros((args.max_batch_size, args.max_seq_len,
                                        self.n_local_kv_heads, self.head_dim))

        def forward(self, x, start_pos: int, freqs_cis, mask, use_cache: bool = True):
            bsz, seqlen, _ = x.shape
            xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
            xq = xq.view(bsz, seqlen, self.n_local_heads, self.head_dim)
            xk = xk.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
            xv = xv.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
            xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)
            if use_cache:
                self.cache_k = self.cache_k.to(xq)
                self.cache_v = self.cache_v.to(xq)
                self.cache_k[:bsz, start_pos: start_pos + seqlen] = xk
                self.cache_v[:bsz, start_pos: start_pos + seqlen] = xv
                keys = self.cache_k[:bsz, : start_pos + seqlen]
                values = self.cache_v[:bsz, : start_pos + seqlen]
            else:  # training: no cache
                keys, values = xk, xv
            # repeat k/v heads if n_kv_heads < n_heads
            keys = repeat_kv(keys, self.n_rep)  # (bs, cache_len + seqlen, n_local_heads, head_dim)
            values = repeat_kv(values, self.n_rep)
            xq = xq.transpose(1, 2)  # (bs, n_local_heads, seqlen, head_dim)
            keys = keys.transpose(1, 2)  # (bs, n_local_heads, cache_len + seqlen, head_dim)
            values = values.transpose(1, 2)
            scores = torch.matmul(xq, keys.transpose(2, 3)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores + mask  # (bs, n_local_heads, seqlen, cache_len + seqlen)
            scores = F.softmax(scores.float(), dim=-1).type_as(xq)
            output = torch.matmul(scores, values)  # (bs, n_local_heads, seqlen, head_dim)
            output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
            return self.wo(output)

    class FeedForward(nn.Module):
        def __init__(self, dim: int, hidden_dim: int, multiple_of: int,
                     ffn_dim_multiplier: Optional[float]):  # noqa: UP045
            super().__init__()
            hidden_dim = int(2 * hidden_dim / 3)
            # custom dim factor multiplier
            if ffn_dim_multiplier is not None:
                hidden_dim = int(ffn_dim_multiplier * hidden_dim)
            hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
            self.w1 = nn.Linear(dim, hidden_dim, bias=False)
            self.w2 = nn.Linear(hidden_dim, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden_dim, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class TransformerBlock(nn.Module):
        def __init__(self, layer_id: int, args: ModelArgs):
            super().__init__()
            self.n_heads = args.n_heads
            self.dim = args.dim
            self.head_dim = args.dim // args.n_heads
            self.attention = Attention(args)
            self.feed_forward = FeedForward(dim=args.dim, hidden_dim=4 * args.dim,
                                            multiple_of=args.multiple_of,
                                            ffn_dim_multiplier=args.ffn_dim_multiplier)
            self.layer_id = layer_id
            self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
            self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)

        def forward(self, x, start_pos: int, freqs_cis, mask, use_cache=True):
            h = x + self.attention(self.attention_norm(x), start_pos, freqs_cis, mask, use_cache)
            out = h + self.feed_forward(self.ffn_norm(h))
            return out

    class Transformer(nn.Module):
        def __init__(self, params: ModelArgs):
            super().__init__()
            self.params = params
            self.vocab_size = params.vocab_size
            self.n_layers = params.n_layers
            self.tok_embeddings = nn.Embedding(params.vocab_size, params.dim)
            self.layers = torch.nn.ModuleList()
            for layer_id in range(params.n_layers):
                self.layers.append(TransformerBlock(layer_id, params))
            self.norm = RMSNorm(params.dim, eps=params.norm_eps)
            self.output = nn.Linear(params.dim, params.vocab_size, bias=False)
            self.freqs_cis = precompute_freqs_cis(self.params.dim // self.params.n_heads,
                                                  self.params.max_seq_len * 2)

        def forward(self, tokens, start_pos: int, use_cache: bool = True):
            _bsz, seqlen = tokens.shape
            h = self.tok_embeddings(tokens)
            self.freqs_cis = self.freqs_cis.to(h.device)
            freqs_cis = self.freqs_cis[start_pos: start_pos + seqlen]
            mask = None
            if seqlen > 1:
                mask = torch.full((seqlen, seqlen), float("-inf"), device=tokens.device)
                mask = torch.triu(mask, diagonal=1)
                # When performing key-value caching, we compute the attention scores
                # only for the new sequence. Thus, the matrix of scores is of size
                # (seqlen, cache_len + seqlen), and the only masked entries are (i, j) for
                # j > cache_len + i, since row i corresponds to token cache_len + i.
                mask = torch.hstack([torch.zeros((seqlen, start_pos), device=tokens.device),
                                     mask]).type_as(h)
            for layer in self.layers:
                h = layer(h, start_pos, freqs_cis, mask, use_cache)
            h = self.norm(h)
            output = self.output(h).float()
            return output

    torch.manual_seed(0)
    args = ModelArgs(dim=16, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=24, multiple_of=8,
                     max_batch_size=2, max_seq_len=12)
    model = Transformer(args)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    rng = np.random.default_rng(19)
    data = torch.from_numpy(rng.integers(0, 24, (6, 2, 9)))
    out = []

    def train_step(tokens):
        logits = fwd(tokens[:, :-1], 0, use_cache=False)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for tokens in data:
        out.append(step(tokens).item())

    # generation with the KV cache: a prompt, then one token at a time (greedy / top-p)
    def sample_top_p(probs, p):
        probs_sort, probs_idx = torch.sort(probs, dim=-1, descending=True)
        probs_sum = torch.cumsum(probs_sort, dim=-1)
        mask = probs_sum - probs_sort > p
        probs_sort[mask] = 0.0
        probs_sort.div_(probs_sort.sum(dim=-1, keepdim=True))
        next_token = torch.multinomial(probs_sort, num_samples=1)
        next_token = torch.gather(probs_idx, -1, next_token)
        return next_token

    @torch.inference_mode()
    def generate(prompt_tokens, max_gen_len, temperature=0.6, top_p=0.9):
        bsz = len(prompt_tokens)
        total_len = max(len(t) for t in prompt_tokens) + max_gen_len
        pad_id = -1
        tokens = torch.full((bsz, total_len), pad_id, dtype=torch.long)
        for k, t in enumerate(prompt_tokens):
            tokens[k, : len(t)] = torch.tensor(t, dtype=torch.long)
        prev_pos = 0
        input_text_mask = tokens != pad_id
        min_prompt_len = min(len(t) for t in prompt_tokens)
        for cur_pos in range(min_prompt_len, total_len):
            logits = fwd(tokens[:, prev_pos:cur_pos], prev_pos)
            if temperature > 0:
                probs = torch.softmax(logits[:, -1] / temperature, dim=-1)
                next_token = sample_top_p(probs, top_p)
            else:
                next_token = torch.argmax(logits[:, -1], dim=-1)
            next_token = next_token.reshape(-1)
            # only replace token if prompt has already been generated
            next_token = torch.where(input_text_mask[:, cur_pos], tokens[:, cur_pos],
                                     next_token)
            tokens[:, cur_pos] = next_token
            prev_pos = cur_pos
        return tokens.tolist()

    model.eval()
    out.append(generate([[1, 2, 3], [4, 5, 6, 7]], 5, temperature=0))
    torch.manual_seed(1)
    out.append(generate([[1, 2, 3], [4, 5, 6, 7]], 5))
    out.append(_np(model.layers[0].attention.cache_k[:, :8, :, :2]))
    out.append(_state(model))
    return out


# ---- 20. cleanRL's ppo.py (Categorical policy, GAE, clipped objective, lr annealing) ----
def ppo(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    Categorical = lib.distributions.categorical.Categorical

    def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
        torch.nn.init.orthogonal_(layer.weight, std)
        torch.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):
        def __init__(self, obs_dim, n_actions):
            super().__init__()
            self.critic = nn.Sequential(
                layer_init(nn.Linear(obs_dim, 16)),
                nn.Tanh(),
                layer_init(nn.Linear(16, 16)),
                nn.Tanh(),
                layer_init(nn.Linear(16, 1), std=1.0),
            )
            self.actor = nn.Sequential(
                layer_init(nn.Linear(obs_dim, 16)),
                nn.Tanh(),
                layer_init(nn.Linear(16, 16)),
                nn.Tanh(),
                layer_init(nn.Linear(16, n_actions), std=0.01),
            )

        def get_value(self, x):
            return self.critic(x)

        def get_action_and_value(self, x, action=None):
            logits = self.actor(x)
            probs = Categorical(logits=logits)
            if action is None:
                action = probs.sample()
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)

    num_envs, num_steps, num_minibatches, update_epochs = 2, 8, 2, 2
    learning_rate, gamma, gae_lambda, clip_coef = 2.5e-4, 0.99, 0.95, 0.2
    ent_coef, vf_coef, max_grad_norm, num_iterations = 0.01, 0.5, 0.5, 3
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    envs = [FakeCartPole(seed) for seed in range(num_envs)]
    np.random.seed(1)
    torch.manual_seed(1)
    device = torch.device("cpu")
    agent = Agent(4, 2).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)
    policy = torch.compile(agent.get_action_and_value) if compiled == "model" \
        else agent.get_action_and_value
    obs = torch.zeros((num_steps, num_envs, 4)).to(device)
    actions = torch.zeros((num_steps, num_envs)).to(device)
    logprobs = torch.zeros((num_steps, num_envs)).to(device)
    rewards = torch.zeros((num_steps, num_envs)).to(device)
    dones = torch.zeros((num_steps, num_envs)).to(device)
    values = torch.zeros((num_steps, num_envs)).to(device)
    next_obs = torch.Tensor(np.stack([env.reset()[0] for env in envs]).astype(np.float32))
    next_done = torch.zeros(num_envs).to(device)
    out = []

    def update(mb_obs, mb_actions, mb_logprobs, mb_advantages, mb_returns, mb_values):
        _, newlogprob, entropy, newvalue = policy(mb_obs, mb_actions.long())
        logratio = newlogprob - mb_logprobs
        ratio = logratio.exp()
        with torch.no_grad():
            # calculate approx_kl http://joschu.net/blog/kl-approx.html
            old_approx_kl = (-logratio).mean()
            approx_kl = ((ratio - 1) - logratio).mean()
            clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean()
        mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
        # Policy loss
        pg_loss1 = -mb_advantages * ratio
        pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
        pg_loss = torch.max(pg_loss1, pg_loss2).mean()
        # Value loss
        newvalue = newvalue.view(-1)
        v_loss_unclipped = (newvalue - mb_returns) ** 2
        v_clipped = mb_values + torch.clamp(newvalue - mb_values, -clip_coef, clip_coef)
        v_loss_clipped = (v_clipped - mb_returns) ** 2
        v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
        v_loss = 0.5 * v_loss_max.mean()
        entropy_loss = entropy.mean()
        loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
        optimizer.step()
        return v_loss, pg_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac
    step = torch.compile(update) if compiled == "step" else update

    for iteration in range(1, num_iterations + 1):
        # Annealing the rate if instructed to do so.
        frac = 1.0 - (iteration - 1.0) / num_iterations
        lrnow = frac * learning_rate
        optimizer.param_groups[0]["lr"] = lrnow
        for step_ in range(0, num_steps):
            obs[step_] = next_obs
            dones[step_] = next_done
            # ALGO LOGIC: action logic
            with torch.no_grad():
                action, logprob, _, value = policy(next_obs)
                values[step_] = value.flatten()
            actions[step_] = action
            logprobs[step_] = logprob
            results = [env.step(int(a)) for env, a in zip(envs, action.cpu().numpy())]
            next_obs_np = np.stack([r[0] for r in results]).astype(np.float32)
            reward = np.array([r[1] for r in results], dtype=np.float32)
            next_done_np = np.array([r[2] for r in results], dtype=np.float32)
            for k, (env, r) in enumerate(zip(envs, results)):
                if r[2]:
                    next_obs_np[k] = env.reset()[0]
            rewards[step_] = torch.tensor(reward).to(device).view(-1)
            next_obs, next_done = torch.Tensor(next_obs_np).to(device), \
                torch.Tensor(next_done_np).to(device)
        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal \
                    * lastgaelam
            returns = advantages + values
        # flatten the batch
        b_obs = obs.reshape((-1, 4))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        # Optimizing the policy and value network
        b_inds = np.arange(batch_size)
        clipfracs = []
        for epoch in range(update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                end = start + minibatch_size
                mb_inds = b_inds[start:end]
                v_loss, pg_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac = step(
                    b_obs[mb_inds], b_actions[mb_inds], b_logprobs[mb_inds],
                    b_advantages[mb_inds], b_returns[mb_inds], b_values[mb_inds])
                clipfracs += [clipfrac.item()]
        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        out.append(f"lr {optimizer.param_groups[0]['lr']:.6f} value_loss {v_loss.item():.6f} "
                   f"policy_loss {pg_loss.item():.6f} entropy {entropy_loss.item():.6f} "
                   f"old_approx_kl {old_approx_kl.item():.6f} approx_kl {approx_kl.item():.6f} "
                   f"clipfrac {np.mean(clipfracs):.6f} explained_variance {explained_var:.6f}")
    out.append(_np(actions))
    out.append(_state(agent))
    return out


# ---- 21. RealNVP on two moons (affine coupling layers, MultivariateNormal prior) ----
def realnvp(lib, compiled):
    torch = lib
    nn = lib.nn
    distributions = lib.distributions

    class RealNVP(nn.Module):
        def __init__(self, nets, nett, mask, prior):
            super(RealNVP, self).__init__()
            self.prior = prior
            self.mask = nn.Parameter(mask, requires_grad=False)
            self.t = torch.nn.ModuleList([nett() for _ in range(len(masks))])
            self.s = torch.nn.ModuleList([nets() for _ in range(len(masks))])

        def g(self, z):
            x = z
            for i in range(len(self.t)):
                x_ = x * self.mask[i]
                s = self.s[i](x_) * (1 - self.mask[i])
                t = self.t[i](x_) * (1 - self.mask[i])
                x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
            return x

        def f(self, x):
            log_det_J, z = x.new_zeros(x.shape[0]), x
            for i in reversed(range(len(self.t))):
                z_ = self.mask[i] * z
                s = self.s[i](z_) * (1 - self.mask[i])
                t = self.t[i](z_) * (1 - self.mask[i])
                z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
                log_det_J -= s.sum(dim=1)
            return z, log_det_J

        def log_prob(self, x):
            z, logp = self.f(x)
            return self.prior.log_prob(z) + logp

        def sample(self, batchSize):
            z = self.prior.sample((batchSize, 1))
            logp = self.prior.log_prob(z)
            x = self.g(z)
            return x

        def forward(self, x):
            return self.log_prob(x)

    def nets():
        return nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(), nn.Linear(16, 16),
                             nn.LeakyReLU(), nn.Linear(16, 2), nn.Tanh())

    def nett():
        return nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(), nn.Linear(16, 16),
                             nn.LeakyReLU(), nn.Linear(16, 2))

    masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32))
    prior = distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    torch.manual_seed(0)
    flow = RealNVP(nets, nett, masks, prior)
    fwd = torch.compile(flow) if compiled == "model" else flow
    optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad == True],
                                 lr=1e-4)
    rng = np.random.default_rng(20)
    theta = rng.uniform(0, np.pi, 64)
    moons = np.stack([np.cos(theta), np.sin(theta)], 1) + 0.05 * rng.standard_normal((64, 2))

    def train_step(x):
        loss = -fwd(x).mean()
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    out = []
    for t in range(6):
        batch = moons[t * 10:(t + 1) * 10].astype(np.float32)
        loss = step(torch.from_numpy(batch))
        out.append('iter %s:' % t + 'loss = %.3f' % loss)
    with torch.no_grad():
        z = flow.f(torch.from_numpy(moons[:8].astype(np.float32)))[0].detach().numpy()
        out.append(z.copy())
        torch.manual_seed(2)
        x = flow.sample(6).detach().numpy()
        out.append(x.copy())
    out.append(_state(flow))
    return out


# ---- 22. MoCo (facebookresearch/moco builder.py): momentum key encoder through .data, a
# queue buffer written by slices, a pointer buffer read with int() ----
def moco(lib, compiled):
    torch = lib
    nn = lib.nn

    class MoCo(nn.Module):
        def __init__(self, base_encoder, dim=8, K=16, m=0.999, T=0.07):
            super(MoCo, self).__init__()
            self.K = K
            self.m = m
            self.T = T
            # create the encoders; num_classes is the output fc dimension
            self.encoder_q = base_encoder(num_classes=dim)
            self.encoder_k = base_encoder(num_classes=dim)
            for param_q, param_k in zip(self.encoder_q.parameters(),
                                        self.encoder_k.parameters()):
                param_k.data.copy_(param_q.data)  # initialize
                param_k.requires_grad = False  # not update by gradient
            # create the queue
            self.register_buffer("queue", torch.randn(dim, K))
            self.queue = nn.functional.normalize(self.queue, dim=0)
            self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

        @torch.no_grad()
        def _momentum_update_key_encoder(self):
            """Momentum update of the key encoder"""
            for param_q, param_k in zip(self.encoder_q.parameters(),
                                        self.encoder_k.parameters()):
                param_k.data = param_k.data * self.m + param_q.data * (1.0 - self.m)

        @torch.no_grad()
        def _dequeue_and_enqueue(self, keys):
            batch_size = keys.shape[0]
            ptr = int(self.queue_ptr)
            assert self.K % batch_size == 0  # for simplicity
            # replace the keys at ptr (dequeue and enqueue)
            self.queue[:, ptr: ptr + batch_size] = keys.T
            ptr = (ptr + batch_size) % self.K  # move pointer
            self.queue_ptr[0] = ptr

        def forward(self, im_q, im_k):
            # compute query features
            q = self.encoder_q(im_q)  # queries: NxC
            q = nn.functional.normalize(q, dim=1)
            # compute key features
            with torch.no_grad():  # no gradient to keys
                self._momentum_update_key_encoder()  # update the key encoder
                k = self.encoder_k(im_k)  # keys: NxC
                k = nn.functional.normalize(k, dim=1)
            # compute logits; Einstein sum is more intuitive
            # positive logits: Nx1
            l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
            # negative logits: NxK
            l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
            # logits: Nx(1+K)
            logits = torch.cat([l_pos, l_neg], dim=1)
            # apply temperature
            logits /= self.T
            # labels: positive key indicators
            labels = torch.zeros(logits.shape[0], dtype=torch.long)
            # dequeue and enqueue
            self._dequeue_and_enqueue(k)
            return logits, labels

    class Encoder(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2), nn.BatchNorm2d(6), nn.ReLU(),
                                     nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.fc = nn.Linear(6, num_classes)

        def forward(self, x):
            return self.fc(self.net(x))

    torch.manual_seed(0)
    model = MoCo(Encoder, dim=8, K=16, m=0.99, T=0.2)
    fwd = torch.compile(model) if compiled == "model" else model
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.03, momentum=0.9, weight_decay=1e-4)

    def train_step(im_q, im_k):
        output, target = fwd(im_q=im_q, im_k=im_k)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, output
    step = torch.compile(train_step) if compiled == "step" else train_step
    rng = np.random.default_rng(22)
    out = []
    for i in range(5):
        base = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
        im_q = torch.from_numpy(base + 0.1 * rng.standard_normal(base.shape).astype(np.float32))
        im_k = torch.from_numpy(base + 0.1 * rng.standard_normal(base.shape).astype(np.float32))
        loss, output = step(im_q, im_k)
        acc1 = (output.argmax(dim=1) == 0).float().mean().item() * 100
        out.append(f"[{i}] loss {loss.item():.4f} acc@1 {acc1:.1f} ptr {int(model.queue_ptr)}")
    out.append(_state(model))
    return out


# ---- 23. DANN (domain-adversarial training): a gradient reversal autograd.Function ----
def dann(lib, compiled):
    torch = lib
    nn = lib.nn
    Function = lib.autograd.Function

    class ReverseLayerF(Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad_output):
            output = grad_output.neg() * ctx.alpha
            return output, None

    class CNNModel(nn.Module):
        def __init__(self):
            super(CNNModel, self).__init__()
            self.feature = nn.Sequential()
            self.feature.add_module('f_conv1', nn.Conv2d(3, 8, kernel_size=5))
            self.feature.add_module('f_bn1', nn.BatchNorm2d(8))
            self.feature.add_module('f_pool1', nn.MaxPool2d(2))
            self.feature.add_module('f_relu1', nn.ReLU(True))
            self.class_classifier = nn.Sequential()
            self.class_classifier.add_module('c_fc1', nn.Linear(8 * 4 * 4, 16))
            self.class_classifier.add_module('c_bn1', nn.BatchNorm1d(16))
            self.class_classifier.add_module('c_relu1', nn.ReLU(True))
            self.class_classifier.add_module('c_drop1', nn.Dropout())
            self.class_classifier.add_module('c_fc2', nn.Linear(16, 10))
            self.class_classifier.add_module('c_softmax', nn.LogSoftmax(dim=1))
            self.domain_classifier = nn.Sequential()
            self.domain_classifier.add_module('d_fc1', nn.Linear(8 * 4 * 4, 16))
            self.domain_classifier.add_module('d_bn1', nn.BatchNorm1d(16))
            self.domain_classifier.add_module('d_relu1', nn.ReLU(True))
            self.domain_classifier.add_module('d_fc2', nn.Linear(16, 2))
            self.domain_classifier.add_module('d_softmax', nn.LogSoftmax(dim=1))

        def forward(self, input_data, alpha):
            input_data = input_data.expand(input_data.data.shape[0], 3, 12, 12)
            feature = self.feature(input_data)
            feature = feature.view(-1, 8 * 4 * 4)
            reverse_feature = ReverseLayerF.apply(feature, alpha)
            class_output = self.class_classifier(feature)
            domain_output = self.domain_classifier(reverse_feature)
            return class_output, domain_output

    torch.manual_seed(0)
    my_net = CNNModel()
    fwd = torch.compile(my_net) if compiled == "model" else my_net
    # SGD: the convolution and linear biases before BatchNorm get rounding-noise gradients,
    # which Adam would grow to steps of lr size
    optimizer = torch.optim.SGD(my_net.parameters(), lr=0.01, momentum=0.9)
    loss_class = torch.nn.NLLLoss()
    loss_domain = torch.nn.NLLLoss()
    for p in my_net.parameters():
        p.requires_grad = True
    source, source_labels = _images(8, (1, 12, 12), 23)
    target, _ = _images(8, (3, 12, 12), 24)
    n_epoch, len_dataloader, batch_size = 2, 2, 4

    def train_step(s_img, s_label, t_img, alpha):
        my_net.zero_grad()
        batch_size = len(s_label)
        domain_label = torch.zeros(batch_size).long()
        class_output, domain_output = fwd(input_data=s_img, alpha=alpha)
        err_s_label = loss_class(class_output, s_label)
        err_s_domain = loss_domain(domain_output, domain_label)
        # training model using target data
        domain_label = torch.ones(batch_size).long()
        _, domain_output = fwd(input_data=t_img, alpha=alpha)
        err_t_domain = loss_domain(domain_output, domain_label)
        err = err_t_domain + err_s_domain + err_s_label
        err.backward()
        optimizer.step()
        return err_s_label, err_s_domain, err_t_domain
    step = torch.compile(train_step) if compiled == "step" else train_step
    out = []
    for epoch in range(n_epoch):
        for i in range(len_dataloader):
            p = float(i + epoch * len_dataloader) / n_epoch / len_dataloader
            alpha = 2. / (1. + np.exp(-10 * p)) - 1
            sl = slice(i * batch_size, (i + 1) * batch_size)
            errs = step(torch.from_numpy(source[sl]), torch.from_numpy(source_labels[sl]),
                        torch.from_numpy(target[sl]), alpha)
            out.append('epoch: %d, [iter: %d / all %d], err_s_label: %f, err_s_domain: %f, '
                       'err_t_domain: %f' % (epoch, i + 1, len_dataloader, errs[0].item(),
                                             errs[1].item(), errs[2].item()))
    out.append(_state(my_net))
    return out


# ---- 24. a Hugging Face-style model: dict and dataclass outputs, labels=None switches ----
def hf_style(lib, compiled):
    torch = lib
    nn = lib.nn
    from dataclasses import dataclass
    from typing import Optional

    @dataclass
    class SequenceClassifierOutput:
        loss: Optional[object] = None  # noqa: UP045
        logits: object = None
        hidden_states: Optional[tuple] = None  # noqa: UP045

    class TinyBert(nn.Module):
        def __init__(self, vocab=30, dim=16, num_labels=3):
            super().__init__()
            self.embeddings = nn.Embedding(vocab, dim, padding_idx=0)
            self.position_embeddings = nn.Embedding(16, dim)
            self.LayerNorm = nn.LayerNorm(dim, eps=1e-12)
            self.dropout = nn.Dropout(0.1)
            layer = nn.TransformerEncoderLayer(dim, 2, 32, dropout=0.1, activation="gelu",
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.pooler = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
            self.classifier = nn.Linear(dim, num_labels)
            self.num_labels = num_labels

        def forward(self, input_ids, attention_mask=None, labels=None,
                    output_hidden_states=False, return_dict=True):
            position_ids = torch.arange(input_ids.size(1)).unsqueeze(0).expand_as(input_ids)
            hidden = self.embeddings(input_ids) + self.position_embeddings(position_ids)
            hidden = self.dropout(self.LayerNorm(hidden))
            padding = attention_mask == 0 if attention_mask is not None else None
            sequence_output = self.encoder(hidden, src_key_padding_mask=padding)
            pooled = self.pooler(sequence_output[:, 0])
            logits = self.classifier(self.dropout(pooled))
            loss = None
            if labels is not None:
                loss_fct = nn.CrossEntropyLoss()
                loss = loss_fct(logits.view(-1, self.num_labels), labels.view(-1))
            if not return_dict:
                output = (logits,)
                return ((loss,) + output) if loss is not None else output
            return SequenceClassifierOutput(
                loss=loss, logits=logits,
                hidden_states=(hidden, sequence_output) if output_hidden_states else None)

    torch.manual_seed(0)
    model = TinyBert()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    total_steps = 4
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, float(total_steps - step) / float(max(1, total_steps))))
    rng = np.random.default_rng(24)
    ids = rng.integers(1, 30, (4, 4, 7))
    ids[:, :, 5:] = 0
    mask = (ids != 0).astype(np.int64)
    labels = rng.integers(0, 3, (4, 4))
    out = []

    def train_step(batch):
        outputs = fwd(**batch)
        loss = outputs.loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for k in range(total_steps):
        batch = {"input_ids": torch.from_numpy(ids[k]),
                 "attention_mask": torch.from_numpy(mask[k]),
                 "labels": torch.from_numpy(labels[k])}
        loss = step(batch)
        out.append(f"step {k} loss {loss.item():.5f} lr {scheduler.get_last_lr()[0]:.6f}")
    model.eval()
    with torch.no_grad():
        outputs = fwd(torch.from_numpy(ids[0]), attention_mask=torch.from_numpy(mask[0]),
                      output_hidden_states=True)
        out.append(outputs.loss)
        out.append(_np(outputs.logits))
        out.append([tuple(h.shape) for h in outputs.hidden_states])
        logits, = fwd(torch.from_numpy(ids[1]), torch.from_numpy(mask[1]), return_dict=False)
        out.append(_np(logits.softmax(-1)))
        loss, logits = fwd(torch.from_numpy(ids[1]), torch.from_numpy(mask[1]),
                           torch.from_numpy(labels[1]), return_dict=False)
        out.append(loss.item())
    out.append(_attention_state(model))
    return out

# ---- the harness ----

PROBES = {
    "dcgan": dcgan,
    "super_resolution": super_resolution,
    "gcn": gcn,
    "mnist_rnn": mnist_rnn,
    "vit": vit,
    "nanogpt": nanogpt,
    "nanogpt_manual_attention": functools.partial(nanogpt, flash=False),
    "unet": unet,
    "unet_bilinear": functools.partial(unet, bilinear=True),
    "translation": translation,
    "distillation": distillation,
    "func_transforms": func_transforms,
    "cifar_resnet": cifar_resnet,
    "wgan_gp": wgan_gp,
    "simclr": simclr,
    "mixup_cutmix": mixup_cutmix,
    "grad_cam": grad_cam,
    "swa_ema": swa_ema,
    "custom_function": custom_function,
    "gcn_sparse": gcn_sparse,
    "llama": llama,
    "ppo": ppo,
    "realnvp": realnvp,
    "moco": moco,
    "dann": dann,
    "hf_style": hf_style,
}

TOLERANCES: dict = {}
# mixup's lambda is a new Python float at every step: a constant in the graph, so each
# step recompiles (PyTorch 2.13 feeds floats as inputs: specialize_float=False)
COMPILE_LIMITS = {"mixup_cutmix": 8}
XFAIL: dict = {}


_reference = reference_of(PROBES)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("mode", ["eager", "model", "step"])
@pytest.mark.parametrize("name", list(PROBES))
def test_tutorial_probe_matches_pytorch(name, mode, monkeypatch):
    check_probe(PROBES, _reference, name, mode, monkeypatch, tolerances=TOLERANCES,
                compile_limits=COMPILE_LIMITS, xfail=XFAIL)
