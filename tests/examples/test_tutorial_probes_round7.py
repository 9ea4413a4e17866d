"""Tutorial probes, round 7: small, seeded, synthetic-data versions of classic public
PyTorch programs not covered by rounds 4 to 6, each run three ways - PyTorch, graphtorch
eagerly, and graphtorch with the model (``"model"``) or a step (``"step"``) compiled -
with losses, printed lines, predictions and final parameters compared.

Programs: pytorch/examples imagenet's loop (``AverageMeter``/``ProgressMeter``, top-k
accuracy, ``train()``/``eval()``, ``no_grad`` validation, ``StepLR``); GAT (edge softmax
through ``scatter_reduce(amax)`` and ``index_add_``); MAML, second- and first-order
(``torch.func.functional_call``, ``autograd.grad(params.values(), create_graph=True)``); a
PINN for Burgers' equation (``autograd.grad`` residuals); VQ-VAE (argmin codebook,
straight-through estimator, ``cdist``); a Gumbel-softmax VAE; a tiny DDPM (the annotated
diffusion schedule with ``torch.cumprod(..., axis=0)``, the reverse sampling loop); a TCN
(dilated causal ``Conv1d``, ``weight_norm`` in both APIs); the pruning tutorial
(``random_unstructured``, ``ln_structured``, ``global_unstructured``, ``prune.remove``,
fine-tuning); MobileNetV2 with an EfficientNet MBConv (depthwise groups, ``ReLU6``,
``Hardswish``, squeeze-excitation, stochastic depth, RMSprop, label smoothing); DenseNet;
PointNet (T-nets through ``bmm``, max over points); CLIP's symmetric contrastive loss; a
BERT-style masked LM (``TransformerEncoder`` with ``src_key_padding_mask``, GELU, tied
decoder, 80/10/10 masking); word2vec skip-gram with negative sampling; a packed-sequence
sentiment LSTM (``pack_padded_sequence(enforce_sorted=False)``, ``pad_packed_sequence``);
a convolutional autoencoder with ``MaxUnpool2d``; the autograd API (``forward_ad`` dual
numbers, ``autograd.functional`` jacobian/hessian/hvp/vhp/vjp/jvp, double backward);
gradient checkpointing (``checkpoint`` and ``checkpoint_sequential``, both reentrant
modes); learning-rate schedules (``SequentialLR``, ``LambdaLR`` per group,
``CosineAnnealingWarmRestarts`` with fractional epochs, ``ChainedScheduler``,
``PolynomialLR``, ``CyclicLR``); CycleGAN (``itertools.chain`` parameters, ``ImagePool``,
``set_requires_grad`` inside the compiled generator step); idioms from the Chinese notes in
shared/seeds (memory sharing, ``contiguous``, bitwise and logical ops, statistics, the
train/valid template, checkpoints through ``io.BytesIO``); capsule networks (squash,
dynamic routing); Bayes by backprop (``distributions.Normal.rsample``, ``kl_divergence``);
SN-GAN (``spectral_norm`` in both APIs, ``parametrizations.orthogonal``); a RetinaNet-style
detector head (IoU matching, boolean-mask assignment, focal loss, NMS in a Python loop);
the speech-command tutorial's M5 on log-mel features (``stft``, ``hann_window``)."""

from __future__ import annotations

import functools
import importlib
import itertools
import math
import random

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch
from tests.examples.probe_harness import check_probe, reference_of

importlib.import_module("torch.nn.utils.prune")  # `import torch` leaves it out


def _np(t):
    return t.detach().numpy().copy()


def _state(model):
    return {k: _np(v) for k, v in model.state_dict().items()}


def _images(n, shape, seed, classes=10):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, classes, n)


# ---- 1. pytorch/examples imagenet main.py: meters, top-k accuracy, train/validate ----
def imagenet_loop(lib, compiled):
    torch = lib
    nn = lib.nn
    from enum import Enum

    class Summary(Enum):
        NONE = 0
        AVERAGE = 1
        SUM = 2
        COUNT = 3

    class AverageMeter(object):
        """Computes and stores the average and current value"""
        def __init__(self, name, fmt=':f', summary_type=Summary.AVERAGE):
            self.name = name
            self.fmt = fmt
            self.summary_type = summary_type
            self.reset()

        def reset(self):
            self.val = 0
            self.avg = 0
            self.sum = 0
            self.count = 0

        def update(self, val, n=1):
            self.val = val
            self.sum += val * n
            self.count += n
            self.avg = self.sum / self.count

        def __str__(self):
            fmtstr = '{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'
            return fmtstr.format(**self.__dict__)

        def summary(self):
            fmtstr = ''
            if self.summary_type is Summary.AVERAGE:
                fmtstr = '{name} {avg:.3f}'
            elif self.summary_type is Summary.SUM:
                fmtstr = '{name} {sum:.3f}'
            return fmtstr.format(**self.__dict__)

    class ProgressMeter(object):
        def __init__(self, num_batches, meters, prefix=""):
            self.batch_fmtstr = self._get_batch_fmtstr(num_batches)
            self.meters = meters
            self.prefix = prefix

        def display(self, batch):
            entries = [self.prefix + self.batch_fmtstr.format(batch)]
            entries += [str(meter) for meter in self.meters]
            return '\t'.join(entries)

        def display_summary(self):
            entries = [" *"]
            entries += [meter.summary() for meter in self.meters]
            return ' '.join(entries)

        def _get_batch_fmtstr(self, num_batches):
            num_digits = len(str(num_batches // 1))
            fmt = '{:' + str(num_digits) + 'd}'
            return '[' + fmt + '/' + fmt.format(num_batches) + ']'

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
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8),
        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(8, 10))
    fwd = torch.compile(model) if compiled == "model" else model
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
    images, labels = _images(22, (3, 8, 8), 1)
    train_ds = torch.utils.data.TensorDataset(torch.from_numpy(images[:16]),
                                              torch.from_numpy(labels[:16]))
    val_ds = torch.utils.data.TensorDataset(torch.from_numpy(images[16:]),
                                            torch.from_numpy(labels[16:]))
    train_loader = torch.utils.data.DataLoader(train_ds, batch_size=6, shuffle=True)
    val_loader = torch.utils.data.DataLoader(val_ds, batch_size=4, shuffle=False)
    out = []

    def train_step(images, target):
        output = fwd(images)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return output, loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train(epoch):
        losses = AverageMeter('Loss', ':.4e')
        top1 = AverageMeter('Acc@1', ':6.2f')
        top5 = AverageMeter('Acc@5', ':6.2f')
        progress = ProgressMeter(len(train_loader), [losses, top1, top5],
                                 prefix="Epoch: [{}]".format(epoch))
        model.train()
        for i, (images, target) in enumerate(train_loader):
            output, loss = step(images, target)
            acc1, acc5 = accuracy(output, target, topk=(1, 5))
            losses.update(loss.item(), images.size(0))
            top1.update(acc1[0], images.size(0))
            top5.update(acc5[0], images.size(0))
            out.append(progress.display(i + 1))

    def validate():
        losses = AverageMeter('Loss', ':.4e', Summary.NONE)
        top1 = AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE)
        top5 = AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)
        progress = ProgressMeter(len(val_loader), [losses, top1, top5], prefix='Test: ')
        model.eval()
        with torch.no_grad():
            for i, (images, target) in enumerate(val_loader):
                output = fwd(images)
                loss = criterion(output, target)
                acc1, acc5 = accuracy(output, target, topk=(1, 5))
                losses.update(loss.item(), images.size(0))
                top1.update(acc1[0], images.size(0))
                top5.update(acc5[0], images.size(0))
                out.append(progress.display(i + 1))
        out.append(progress.display_summary())
        return top1.avg

    best_acc1 = 0
    for epoch in range(2):
        train(epoch)
        acc1 = validate()
        scheduler.step()
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        out.append((bool(is_best), float(best_acc1), scheduler.get_last_lr()))
    out.append(_state(model))
    return out


# ---- 2. GAT (Velickovic et al.; pyGAT / PyG-style edge-list layer) ----
def gat(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    class GATLayer(nn.Module):
        def __init__(self, in_features, out_features, heads, concat=True, dropout=0.0):
            super().__init__()
            self.heads, self.out_features, self.concat = heads, out_features, concat
            self.lin = nn.Linear(in_features, heads * out_features, bias=False)
            self.att_src = nn.Parameter(torch.empty(1, heads, out_features))
            self.att_dst = nn.Parameter(torch.empty(1, heads, out_features))
            self.bias = nn.Parameter(torch.zeros(heads * out_features if concat
                                                 else out_features))
            self.dropout = dropout
            nn.init.xavier_uniform_(self.lin.weight)
            nn.init.xavier_uniform_(self.att_src)
            nn.init.xavier_uniform_(self.att_dst)

        def forward(self, x, edge_index):
            num_nodes = x.size(0)
            src, dst = edge_index[0], edge_index[1]
            h = self.lin(x).view(-1, self.heads, self.out_features)
            alpha_src = (h * self.att_src).sum(dim=-1)
            alpha_dst = (h * self.att_dst).sum(dim=-1)
            alpha = F.leaky_relu(alpha_src[src] + alpha_dst[dst], 0.2)
            # softmax over the incoming edges of each destination node
            alpha_max = torch.full((num_nodes, self.heads), float("-inf"))
            alpha_max = alpha_max.scatter_reduce(
                0, dst.unsqueeze(-1).expand_as(alpha), alpha, reduce="amax",
                include_self=True)
            alpha = (alpha - alpha_max[dst]).exp()
            denom = torch.zeros(num_nodes, self.heads).index_add_(0, dst, alpha)
            alpha = alpha / (denom[dst] + 1e-16)
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)
            messages = h[src] * alpha.unsqueeze(-1)
            out = torch.zeros(num_nodes, self.heads, self.out_features)
            out = out.index_add(0, dst, messages)
            if self.concat:
                out = out.reshape(num_nodes, self.heads * self.out_features)
            else:
                out = out.mean(dim=1)
            return out + self.bias

    class GAT(nn.Module):
        def __init__(self, nfeat, nhid, nclass, heads):
            super().__init__()
            self.conv1 = GATLayer(nfeat, nhid, heads)
            self.conv2 = GATLayer(nhid * heads, nclass, 1, concat=False)

        def forward(self, x, edge_index):
            x = F.dropout(x, p=0.0, training=self.training)
            x = F.elu(self.conv1(x, edge_index))
            x = self.conv2(x, edge_index)
            return F.log_softmax(x, dim=1)

    torch.manual_seed(3)
    rng = np.random.default_rng(5)
    num_nodes = 12
    edges = rng.integers(0, num_nodes, (2, 30))
    loops = np.stack([np.arange(num_nodes)] * 2)
    edge_index = torch.from_numpy(np.concatenate([edges, loops], axis=1))
    x = torch.from_numpy(rng.standard_normal((num_nodes, 6)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 3, num_nodes))
    train_mask = torch.arange(num_nodes) < 8
    model = GAT(6, 4, 3, heads=2)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    out = []

    def train_step():
        model.train()
        optimizer.zero_grad()
        output = fwd(x, edge_index)
        loss = F.nll_loss(output[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(4):
        loss = step()
        model.eval()
        with torch.no_grad():
            pred = fwd(x, edge_index).argmax(dim=1)
        acc = int((pred[~train_mask] == y[~train_mask]).sum()) / int((~train_mask).sum())
        out.append(f"Epoch: {epoch:03d}, Loss: {loss.item():.4f}, Test: {acc:.4f}")
    out.append(_state(model))
    return out


# ---- 3. MAML (first- and second-order, through torch.func.functional_call) ----
def maml(lib, compiled, first_order=False):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    functional_call = lib.func.functional_call

    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 1))
    meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    inner_lr = 0.01
    rng = np.random.default_rng(6)

    def sine_task():
        amp, phase = rng.uniform(0.1, 5.0), rng.uniform(0, np.pi)
        xs = rng.uniform(-5, 5, (10, 1)).astype(np.float32)
        xq = rng.uniform(-5, 5, (10, 1)).astype(np.float32)
        return [torch.from_numpy(v) for v in
                (xs, (amp * np.sin(xs + phase)).astype(np.float32),
                 xq, (amp * np.sin(xq + phase)).astype(np.float32))]

    def adapt_and_eval(x_s, y_s, x_q, y_q):
        params = dict(model.named_parameters())
        for _ in range(2):
            support_loss = F.mse_loss(functional_call(model, params, (x_s,)), y_s)
            grads = torch.autograd.grad(support_loss, params.values(),
                                        create_graph=not first_order)
            params = {name: p - inner_lr * g for (name, p), g in zip(params.items(), grads)}
        return F.mse_loss(functional_call(model, params, (x_q,)), y_q)
    adapt = torch.compile(adapt_and_eval) if compiled == "step" else adapt_and_eval
    out = []
    for it in range(3):
        meta_opt.zero_grad()
        query_losses = []
        for _ in range(2):
            query_loss = adapt(*sine_task())
            query_loss.backward()
            query_losses.append(query_loss.item())
        meta_opt.step()
        out.append(f"it {it} meta-loss {sum(query_losses) / len(query_losses):.5f}")
    out.append(_state(model))
    return out


# ---- 4. a physics-informed network (Raissi et al.): Burgers' residual through autograd ----
def pinn(lib, compiled):
    torch = lib
    nn = lib.nn

    class PINN(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                                     nn.Linear(16, 1))

        def forward(self, x, t):
            return self.net(torch.cat([x, t], dim=1))

    torch.manual_seed(7)
    model = PINN()
    fwd = torch.compile(model) if compiled == "model" else model
    nu = 0.01 / np.pi
    rng = np.random.default_rng(8)
    x_f = torch.tensor(rng.uniform(-1, 1, (32, 1)), dtype=torch.float32, requires_grad=True)
    t_f = torch.tensor(rng.uniform(0, 1, (32, 1)), dtype=torch.float32, requires_grad=True)
    x_0 = torch.linspace(-1, 1, 16).reshape(-1, 1)
    t_0 = torch.zeros_like(x_0)
    u_0 = -torch.sin(np.pi * x_0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def residual(x, t):
        u = fwd(x, t)
        u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), create_graph=True)[0]
        u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
        u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x),
                                   create_graph=True)[0]
        return u_t + u * u_x - nu * u_xx

    def train_step():
        optimizer.zero_grad()
        f = residual(x_f, t_f)
        loss_f = torch.mean(f ** 2)
        loss_u = torch.mean((fwd(x_0, t_0) - u_0) ** 2)
        loss = loss_u + loss_f
        loss.backward()
        optimizer.step()
        return loss, loss_u, loss_f
    step = torch.compile(train_step) if compiled == "step" else train_step
    out = []
    for it in range(4):
        loss, loss_u, loss_f = step()
        out.append("It: %d, Loss: %.3e, Loss_u: %.3e, Loss_f: %.3e"
                   % (it, loss.item(), loss_u.item(), loss_f.item()))
    out.append(_np(x_f.grad) if x_f.grad is not None else None)
    out.append(_state(model))
    return out


# ---- 5. VQ-VAE (vector quantiser with a straight-through estimator, commitment loss) ----
def vqvae(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    class VectorQuantizer(nn.Module):
        def __init__(self, num_embeddings, embedding_dim, commitment_cost):
            super().__init__()
            self._embedding_dim = embedding_dim
            self._num_embeddings = num_embeddings
            self._embedding = nn.Embedding(self._num_embeddings, self._embedding_dim)
            self._embedding.weight.data.uniform_(-1 / self._num_embeddings,
                                                 1 / self._num_embeddings)
            self._commitment_cost = commitment_cost

        def forward(self, inputs):
            inputs = inputs.permute(0, 2, 3, 1).contiguous()
            input_shape = inputs.shape
            flat_input = inputs.view(-1, self._embedding_dim)
            distances = (torch.sum(flat_input ** 2, dim=1, keepdim=True)
                         + torch.sum(self._embedding.weight ** 2, dim=1)
                         - 2 * torch.matmul(flat_input, self._embedding.weight.t()))
            encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
            encodings = torch.zeros(encoding_indices.shape[0], self._num_embeddings,
                                    device=inputs.device)
            encodings.scatter_(1, encoding_indices, 1)
            quantized = torch.matmul(encodings, self._embedding.weight).view(input_shape)
            e_latent_loss = F.mse_loss(quantized.detach(), inputs)
            q_latent_loss = F.mse_loss(quantized, inputs.detach())
            loss = q_latent_loss + self._commitment_cost * e_latent_loss
            quantized = inputs + (quantized - inputs).detach()
            avg_probs = torch.mean(encodings, dim=0)
            perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
            return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(),
                                         nn.Conv2d(8, 4, 3, 1, 1))
            self.vq = VectorQuantizer(8, 4, 0.25)
            self.decoder = nn.Sequential(nn.Conv2d(4, 8, 3, 1, 1), nn.ReLU(),
                                         nn.ConvTranspose2d(8, 1, 4, 2, 1))

        def forward(self, x):
            z = self.encoder(x)
            loss, quantized, perplexity, _ = self.vq(z)
            return loss, self.decoder(quantized), perplexity

    torch.manual_seed(9)
    model = Model()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=False)
    images, _ = _images(12, (1, 8, 8), 10)
    data = torch.from_numpy(images)
    data_variance = float(images.var())
    out = []

    def train_step(batch):
        optimizer.zero_grad()
        vq_loss, data_recon, perplexity = fwd(batch)
        recon_error = F.mse_loss(data_recon, batch) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        optimizer.step()
        return recon_error, perplexity
    step = torch.compile(train_step) if compiled == "step" else train_step
    for i in range(4):
        recon_error, perplexity = step(data[(i % 3) * 4:(i % 3) * 4 + 4])
        out.append(f"{i} recon_error: {recon_error.item():.4f} perplexity: "
                   f"{perplexity.item():.4f}")
    # the same codes through torch.cdist, as many implementations pick them
    with torch.no_grad():
        z = model.encoder(data).permute(0, 2, 3, 1).reshape(-1, 4)
        codes = torch.cdist(z, model.vq._embedding.weight).argmin(dim=1)
        out.append(_np(codes))
    out.append(_state(model))
    return out


# ---- 6. Gumbel-softmax (a categorical VAE, hard samples with a straight-through grad) ----
def gumbel_vae(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    latent_dim, categorical_dim = 3, 4

    class VAE_gumbel(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 12)
            self.fc2 = nn.Linear(12, latent_dim * categorical_dim)
            self.fc3 = nn.Linear(latent_dim * categorical_dim, 12)
            self.fc4 = nn.Linear(12, 16)
            self.relu = nn.ReLU()
            self.sigmoid = nn.Sigmoid()

        def forward(self, x, temp, hard):
            q = self.fc2(self.relu(self.fc1(x)))
            q_y = q.view(q.size(0), latent_dim, categorical_dim)
            z = F.gumbel_softmax(q_y, tau=temp, hard=hard)
            z = z.view(-1, latent_dim * categorical_dim)
            recon = self.sigmoid(self.fc4(self.relu(self.fc3(z))))
            return recon, F.softmax(q_y, dim=-1).reshape(*q.size())

    def loss_function(recon_x, x, qy):
        BCE = F.binary_cross_entropy(recon_x, x, reduction='sum') / x.shape[0]
        log_ratio = torch.log(qy * categorical_dim + 1e-20)
        KLD = torch.sum(qy * log_ratio, dim=-1).mean()
        return BCE + KLD

    torch.manual_seed(11)
    model = VAE_gumbel()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(12)
    data = torch.from_numpy((rng.random((8, 16)) > 0.5).astype(np.float32))
    temp, temp_min, anneal_rate = 1.0, 0.5, 0.3
    out = []

    def train_step(x, temp, hard):
        optimizer.zero_grad()
        recon_batch, qy = fwd(x, temp, hard)
        loss = loss_function(recon_batch, x, qy)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(2):
        for batch_idx in range(2):
            loss = step(data[batch_idx * 4:batch_idx * 4 + 4], temp, epoch == 1)
            out.append(f"epoch {epoch} batch {batch_idx} loss {loss.item():.4f}")
        temp = max(temp * math.exp(-anneal_rate * epoch), temp_min)
    with torch.no_grad():
        ind = torch.zeros(2, latent_dim, categorical_dim)
        ind[:, torch.arange(latent_dim), torch.tensor([0, 3, 1])] = 1
        sample = model.sigmoid(model.fc4(model.relu(model.fc3(ind.view(2, -1)))))
        out.append(_np(sample))
        hard = F.gumbel_softmax(torch.randn(5, 4), tau=0.5, hard=True)
        out.append(_np(hard))
    out.append(_state(model))
    return out


# ---- 7. a tiny DDPM (Ho et al.): linear betas, q_sample, the reverse sampling loop ----
def ddpm(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    T = 20

    class SinusoidalPositionEmbeddings(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, time):
            half_dim = self.dim // 2
            embeddings = math.log(10000) / (half_dim - 1)
            embeddings = torch.exp(torch.arange(half_dim) * -embeddings)
            embeddings = time[:, None] * embeddings[None, :]
            return torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)

    class Denoiser(nn.Module):
        def __init__(self):
            super().__init__()
            self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(8), nn.Linear(8, 16),
                                          nn.GELU(), nn.Linear(16, 16))
            self.inp = nn.Linear(2, 16)
            self.net = nn.Sequential(nn.SiLU(), nn.Linear(16, 16), nn.SiLU(), nn.Linear(16, 2))

        def forward(self, x, t):
            return self.net(self.inp(x) + self.time_mlp(t.float()))

    betas = torch.linspace(1e-4, 0.02, T)
    alphas = 1. - betas
    alphas_cumprod = torch.cumprod(alphas, axis=0)
    alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
    sqrt_recip_alphas = torch.sqrt(1.0 / alphas)
    sqrt_alphas_cumprod = torch.sqrt(alphas_cumprod)
    sqrt_one_minus_alphas_cumprod = torch.sqrt(1. - alphas_cumprod)
    posterior_variance = betas * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)

    def extract(a, t, x_shape):
        batch_size = t.shape[0]
        out = a.gather(-1, t.cpu())
        return out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)

    def q_sample(x_start, t, noise=None):
        if noise is None:
            noise = torch.randn_like(x_start)
        return (extract(sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + extract(sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    torch.manual_seed(13)
    model = Denoiser()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(14)
    angles = rng.uniform(0, 2 * np.pi, 24)
    data = torch.from_numpy(np.stack([np.cos(angles), np.sin(angles)], 1).astype(np.float32))
    out = []

    def p_losses(x_start, t):
        noise = torch.randn_like(x_start)
        x_noisy = q_sample(x_start=x_start, t=t, noise=noise)
        predicted_noise = fwd(x_noisy, t)
        return F.smooth_l1_loss(noise, predicted_noise)

    def train_step(batch):
        optimizer.zero_grad()
        t = torch.randint(0, T, (batch.shape[0],), device=batch.device).long()
        loss = p_losses(batch, t)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(2):
        for i in range(3):
            loss = step(data[i * 8:i * 8 + 8])
            out.append(f"Epoch {epoch} step {i} Loss: {loss.item():.5f}")

    @torch.no_grad()
    def p_sample(x, t, t_index):
        betas_t = extract(betas, t, x.shape)
        sqrt_one_minus_alphas_cumprod_t = extract(sqrt_one_minus_alphas_cumprod, t, x.shape)
        sqrt_recip_alphas_t = extract(sqrt_recip_alphas, t, x.shape)
        model_mean = sqrt_recip_alphas_t * (
            x - betas_t * fwd(x, t) / sqrt_one_minus_alphas_cumprod_t)
        if t_index == 0:
            return model_mean
        posterior_variance_t = extract(posterior_variance, t, x.shape)
        noise = torch.randn_like(x)
        return model_mean + torch.sqrt(posterior_variance_t) * noise

    model.eval()
    img = torch.randn(5, 2)
    for i in reversed(range(0, T)):
        img = p_sample(img, torch.full((5,), i, dtype=torch.long), i)
    out.append(_np(img))
    out.append(_state(model))
    return out


# ---- 8. a TCN (locuslab/TCN): dilated causal Conv1d, Chomp1d, weight_norm ----
def tcn(lib, compiled, parametrized=False):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    weight_norm = (nn.utils.parametrizations.weight_norm if parametrized
                   else nn.utils.weight_norm)

    class Chomp1d(nn.Module):
        def __init__(self, chomp_size):
            super(Chomp1d, self).__init__()
            self.chomp_size = chomp_size

        def forward(self, x):
            return x[:, :, :-self.chomp_size].contiguous()

    class TemporalBlock(nn.Module):
        def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding,
                     dropout=0.2):
            super(TemporalBlock, self).__init__()
            self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size,
                                               stride=stride, padding=padding,
                                               dilation=dilation))
            self.chomp1 = Chomp1d(padding)
            self.relu1 = nn.ReLU()
            self.dropout1 = nn.Dropout(dropout)
            self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size,
                                               stride=stride, padding=padding,
                                               dilation=dilation))
            self.chomp2 = Chomp1d(padding)
            self.relu2 = nn.ReLU()
            self.dropout2 = nn.Dropout(dropout)
            self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                     self.conv2, self.chomp2, self.relu2, self.dropout2)
            self.downsample = (nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs
                               else None)
            self.relu = nn.ReLU()
            self.init_weights()

        def init_weights(self):
            if parametrized:
                self.conv1.parametrizations.weight.original1.data.normal_(0, 0.01)
                self.conv2.parametrizations.weight.original1.data.normal_(0, 0.01)
            else:
                self.conv1.weight.data.normal_(0, 0.01)
                self.conv2.weight.data.normal_(0, 0.01)
            if self.downsample is not None:
                self.downsample.weight.data.normal_(0, 0.01)

        def forward(self, x):
            out = self.net(x)
            res = x if self.downsample is None else self.downsample(x)
            return self.relu(out + res)

    class TemporalConvNet(nn.Module):
        def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.2):
            super(TemporalConvNet, self).__init__()
            layers = []
            num_levels = len(num_channels)
            for i in range(num_levels):
                dilation_size = 2 ** i
                in_channels = num_inputs if i == 0 else num_channels[i - 1]
                out_channels = num_channels[i]
                layers += [TemporalBlock(in_channels, out_channels, kernel_size, stride=1,
                                         dilation=dilation_size,
                                         padding=(kernel_size - 1) * dilation_size,
                                         dropout=dropout)]
            self.network = nn.Sequential(*layers)

        def forward(self, x):
            return self.network(x)

    class TCN(nn.Module):
        def __init__(self, input_size, output_size, num_channels, kernel_size, dropout):
            super(TCN, self).__init__()
            self.tcn = TemporalConvNet(input_size, num_channels, kernel_size=kernel_size,
                                       dropout=dropout)
            self.linear = nn.Linear(num_channels[-1], output_size)
            self.init_weights()

        def init_weights(self):
            self.linear.weight.data.normal_(0, 0.01)

        def forward(self, x):
            y1 = self.tcn(x)
            return self.linear(y1[:, :, -1])

    # the adding problem
    torch.manual_seed(15)
    rng = np.random.default_rng(16)
    seq_len, n = 12, 16
    values = rng.random((n, seq_len)).astype(np.float32)
    marks = np.zeros((n, seq_len), np.float32)
    for row in range(n):
        a, b = rng.choice(seq_len, 2, replace=False)
        marks[row, [a, b]] = 1
    X = torch.from_numpy(np.stack([values, marks], 1))
    Y = torch.from_numpy((values * marks).sum(1, keepdims=True))
    model = TCN(2, 1, [6, 6, 6], kernel_size=3, dropout=0.0)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    out = [sorted(name for name, _ in model.named_parameters())[:4]]

    def train_step(x, y):
        optimizer.zero_grad()
        output = fwd(x)
        loss = F.mse_loss(output, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for batch_idx in range(4):
        i = (batch_idx % 2) * 8
        loss = step(X[i:i + 8], Y[i:i + 8])
        out.append(f"Train Epoch: 1 [{batch_idx}]\tLoss: {loss.item():.6f}")
    model.eval()
    with torch.no_grad():
        out.append(F.mse_loss(fwd(X), Y).item())
    out.append(_state(model))
    return out


# ---- 9. the pruning tutorial (torch.nn.utils.prune on LeNet) ----
def pruning(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    prune = lib.nn.utils.prune

    class LeNet(nn.Module):
        def __init__(self):
            super(LeNet, self).__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 5 * 5, 32)
            self.fc2 = nn.Linear(32, 16)
            self.fc3 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    torch.manual_seed(17)
    model = LeNet()
    module = model.conv1
    out = [sorted(name for name, _ in module.named_parameters())]
    prune.random_unstructured(module, name="weight", amount=0.3)
    out.append(sorted(name for name, _ in module.named_parameters()))
    out.append(sorted(name for name, _ in module.named_buffers()))
    out.append(_np(module.weight_mask))
    out.append(list(module._forward_pre_hooks.values())[0].__class__.__name__)
    prune.l1_unstructured(module, name="bias", amount=3)
    out.append(_np(module.bias))
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    out.append(_np(module.weight))
    prune.remove(module, 'weight')
    out.append(sorted(name for name, _ in module.named_parameters()))
    new_model = LeNet()
    for name, mod in new_model.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            prune.l1_unstructured(mod, name='weight', amount=0.2)
        elif isinstance(mod, torch.nn.Linear):
            prune.l1_unstructured(mod, name='weight', amount=0.4)
    out.append(sorted(dict(new_model.named_buffers()).keys()))
    parameters_to_prune = ((model.conv2, 'weight'), (model.fc1, 'weight'),
                           (model.fc2, 'weight'), (model.fc3, 'weight'))
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=0.2)
    for mod in (model.conv1, model.conv2, model.fc1, model.fc2, model.fc3):
        out.append("Sparsity in {}: {:.2f}%".format(
            mod.__class__.__name__,
            100. * float(torch.sum(mod.weight == 0)) / float(mod.weight.nelement())))
    # fine-tune the pruned model: masked weights stay zero
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    images, labels = _images(8, (1, 28, 28), 18)
    images = torch.from_numpy(images)
    labels = torch.from_numpy(labels)

    def train_step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(fwd(x), y)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for i in range(3):
        out.append(step(images, labels).item())
    out.append(float(torch.sum(model.fc1.weight == 0)))
    out.append(_state(model))
    return out


# ---- 10. MobileNetV2 inverted residuals and an EfficientNet MBConv (SE, stochastic depth) ----
def mobilenet(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    def _make_divisible(v, divisor, min_value=None):
        if min_value is None:
            min_value = divisor
        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < 0.9 * v:
            new_v += divisor
        return new_v

    class ConvBNReLU(nn.Sequential):
        def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, groups=1):
            padding = (kernel_size - 1) // 2
            super(ConvBNReLU, self).__init__(
                nn.Conv2d(in_planes, out_planes, kernel_size, stride, padding, groups=groups,
                          bias=False),
                nn.BatchNorm2d(out_planes),
                nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, expand_ratio):
            super(InvertedResidual, self).__init__()
            hidden_dim = int(round(inp * expand_ratio))
            self.use_res_connect = stride == 1 and inp == oup
            layers = []
            if expand_ratio != 1:
                layers.append(ConvBNReLU(inp, hidden_dim, kernel_size=1))
            layers.extend([
                ConvBNReLU(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
                nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup)])
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            if self.use_res_connect:
                return x + self.conv(x)
            return self.conv(x)

    class SqueezeExcitation(nn.Module):
        def __init__(self, input_channels, squeeze_channels):
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
            self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
            self.activation = nn.SiLU()
            self.scale_activation = nn.Sigmoid()

        def forward(self, input):
            scale = self.avgpool(input)
            scale = self.fc2(self.activation(self.fc1(scale)))
            return self.scale_activation(scale) * input

    def stochastic_depth(input, p, mode, training=True):
        if not training or p == 0.0:
            return input
        survival_rate = 1.0 - p
        size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
        noise = torch.empty(size, dtype=input.dtype, device=input.device)
        noise = noise.bernoulli_(survival_rate)
        if survival_rate > 0.0:
            noise.div_(survival_rate)
        return input * noise

    class MBConv(nn.Module):
        def __init__(self, cin, expand, cout, sd_prob):
            super().__init__()
            hidden = cin * expand
            self.block = nn.Sequential(
                nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.SiLU(),
                nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False),
                nn.BatchNorm2d(hidden), nn.Hardswish(),
                SqueezeExcitation(hidden, max(1, cin // 4)),
                nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.sd_prob = sd_prob

        def forward(self, x):
            result = self.block(x)
            return stochastic_depth(result, self.sd_prob, "row", self.training) + x

    class Net(nn.Module):
        def __init__(self, num_classes=10, width_mult=1.0):
            super().__init__()
            input_channel = _make_divisible(8 * width_mult, 4)
            self.features = nn.Sequential(
                ConvBNReLU(3, input_channel, stride=2),
                InvertedResidual(input_channel, 8, 1, 1),
                InvertedResidual(8, 12, 2, 6),
                InvertedResidual(12, 12, 1, 6),
                MBConv(12, 2, 12, 0.5))
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(12, num_classes))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out')
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = self.features(x)
            x = nn.functional.adaptive_avg_pool2d(x, (1, 1)).reshape(x.shape[0], -1)
            return self.classifier(x)

    torch.manual_seed(19)
    model = Net(width_mult=1.0)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, eps=0.0316,
                                    momentum=0.9, weight_decay=1e-5)
    images, labels = _images(10, (3, 16, 16), 20)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    out = []

    def train_step(x, y):
        optimizer.zero_grad()
        loss = criterion(fwd(x), y)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for i in range(3):
        lo = (i % 2) * 5
        out.append(step(torch.from_numpy(images[lo:lo + 5]),
                        torch.from_numpy(labels[lo:lo + 5])).item())
    model.eval()
    with torch.no_grad():
        out.append(_np(F.softmax(fwd(torch.from_numpy(images[:4])), dim=1)))
        out.append(_np(F.hardswish(torch.linspace(-4, 4, 9))))
    out.append(_state(model))
    return out


# ---- 11. DenseNet (torchvision densenet.py: _DenseLayer, _Transition, torch.cat) ----
def densenet(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    from collections import OrderedDict

    class _DenseLayer(nn.Module):
        def __init__(self, num_input_features, growth_rate, bn_size, drop_rate):
            super().__init__()
            self.norm1 = nn.BatchNorm2d(num_input_features)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                                   stride=1, bias=False)
            self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                                   padding=1, bias=False)
            self.drop_rate = float(drop_rate)

        def bn_function(self, inputs):
            concated_features = torch.cat(inputs, 1)
            return self.conv1(self.relu1(self.norm1(concated_features)))

        def forward(self, input):
            prev_features = [input] if isinstance(input, torch.Tensor) else input
            bottleneck_output = self.bn_function(prev_features)
            new_features = self.conv2(self.relu2(self.norm2(bottleneck_output)))
            if self.drop_rate > 0:
                new_features = F.dropout(new_features, p=self.drop_rate,
                                         training=self.training)
            return new_features

    class _DenseBlock(nn.ModuleDict):
        _version = 2

        def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate):
            super().__init__()
            for i in range(num_layers):
                layer = _DenseLayer(num_input_features + i * growth_rate,
                                    growth_rate=growth_rate, bn_size=bn_size,
                                    drop_rate=drop_rate)
                self.add_module("denselayer%d" % (i + 1), layer)

        def forward(self, init_features):
            features = [init_features]
            for name, layer in self.items():
                new_features = layer(features)
                features.append(new_features)
            return torch.cat(features, 1)

    class _Transition(nn.Sequential):
        def __init__(self, num_input_features, num_output_features):
            super().__init__()
            self.norm = nn.BatchNorm2d(num_input_features)
            self.relu = nn.ReLU(inplace=True)
            self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1,
                                  stride=1, bias=False)
            self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    class DenseNet(nn.Module):
        def __init__(self, growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                     drop_rate=0.1, num_classes=5):
            super().__init__()
            self.features = nn.Sequential(OrderedDict([
                ("conv0", nn.Conv2d(3, num_init_features, kernel_size=3, stride=1, padding=1,
                                    bias=False)),
                ("norm0", nn.BatchNorm2d(num_init_features)),
                ("relu0", nn.ReLU(inplace=True)),
                ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))]))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                block = _DenseBlock(num_layers=num_layers, num_input_features=num_features,
                                    bn_size=bn_size, growth_rate=growth_rate,
                                    drop_rate=drop_rate)
                self.features.add_module("denseblock%d" % (i + 1), block)
                num_features = num_features + num_layers * growth_rate
                if i != len(block_config) - 1:
                    trans = _Transition(num_input_features=num_features,
                                        num_output_features=num_features // 2)
                    self.features.add_module("transition%d" % (i + 1), trans)
                    num_features = num_features // 2
            self.features.add_module("norm5", nn.BatchNorm2d(num_features))
            self.classifier = nn.Linear(num_features, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            features = self.features(x)
            out = F.relu(features, inplace=True)
            out = F.adaptive_avg_pool2d(out, (1, 1))
            out = torch.flatten(out, 1)
            return self.classifier(out)

    torch.manual_seed(21)
    model = DenseNet()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    images, labels = _images(9, (3, 12, 12), 22, classes=5)
    out = [sum(p.numel() for p in model.parameters())]

    def train_step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(fwd(x), y)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for lo in (0, 4, 8):  # the last batch holds one image
        out.append(step(torch.from_numpy(images[lo:lo + 4]),
                        torch.from_numpy(labels[lo:lo + 4])).item())
    model.eval()
    with torch.no_grad():
        out.append(_np(fwd(torch.from_numpy(images[:3]))))
    out.append(_state(model))
    return out


# ---- 12. PointNet (fxia22/pointnet.pytorch: STN3d/STNkd through bmm, max over points) ----
def pointnet(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    class STNkd(nn.Module):
        def __init__(self, k=3):
            super(STNkd, self).__init__()
            self.conv1 = torch.nn.Conv1d(k, 16, 1)
            self.conv2 = torch.nn.Conv1d(16, 32, 1)
            self.fc1 = nn.Linear(32, 16)
            self.fc2 = nn.Linear(16, k * k)
            self.relu = nn.ReLU()
            self.bn1 = nn.BatchNorm1d(16)
            self.bn2 = nn.BatchNorm1d(32)
            self.bn3 = nn.BatchNorm1d(16)
            self.k = k

        def forward(self, x):
            batchsize = x.size()[0]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, 32)
            x = F.relu(self.bn3(self.fc1(x)))
            x = self.fc2(x)
            iden = torch.from_numpy(np.eye(self.k).flatten().astype(np.float32)).view(
                1, self.k * self.k).repeat(batchsize, 1)
            x = x + iden
            return x.view(-1, self.k, self.k)

    class PointNetfeat(nn.Module):
        def __init__(self, global_feat=True, feature_transform=False):
            super(PointNetfeat, self).__init__()
            self.stn = STNkd(k=3)
            self.conv1 = torch.nn.Conv1d(3, 16, 1)
            self.conv2 = torch.nn.Conv1d(16, 32, 1)
            self.bn1 = nn.BatchNorm1d(16)
            self.bn2 = nn.BatchNorm1d(32)
            self.global_feat = global_feat
            self.feature_transform = feature_transform
            if self.feature_transform:
                self.fstn = STNkd(k=16)

        def forward(self, x):
            n_pts = x.size()[2]
            trans = self.stn(x)
            x = x.transpose(2, 1)
            x = torch.bmm(x, trans)
            x = x.transpose(2, 1)
            x = F.relu(self.bn1(self.conv1(x)))
            if self.feature_transform:
                trans_feat = self.fstn(x)
                x = x.transpose(2, 1)
                x = torch.bmm(x, trans_feat)
                x = x.transpose(2, 1)
            else:
                trans_feat = None
            pointfeat = x
            x = self.bn2(self.conv2(x))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, 32)
            if self.global_feat:
                return x, trans, trans_feat
            x = x.view(-1, 32, 1).repeat(1, 1, n_pts)
            return torch.cat([x, pointfeat], 1), trans, trans_feat

    class PointNetCls(nn.Module):
        def __init__(self, k=2, feature_transform=False):
            super(PointNetCls, self).__init__()
            self.feature_transform = feature_transform
            self.feat = PointNetfeat(global_feat=True, feature_transform=feature_transform)
            self.fc1 = nn.Linear(32, 16)
            self.fc2 = nn.Linear(16, k)
            self.dropout = nn.Dropout(p=0.3)
            self.bn1 = nn.BatchNorm1d(16)
            self.relu = nn.ReLU()

        def forward(self, x):
            x, trans, trans_feat = self.feat(x)
            x = F.relu(self.bn1(self.dropout(self.fc1(x))))
            x = self.fc2(x)
            return F.log_softmax(x, dim=1), trans, trans_feat

    def feature_transform_regularizer(trans):
        d = trans.size()[1]
        I = torch.eye(d)[None, :, :]
        return torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I,
                                     dim=(1, 2)))

    torch.manual_seed(23)
    classifier = PointNetCls(k=3, feature_transform=True)
    fwd = torch.compile(classifier) if compiled == "model" else classifier
    # SGD, not the original's Adam: the biases before a BatchNorm get gradients of rounding
    # size only, which Adam's normalisation would grow to lr-sized steps
    optimizer = torch.optim.SGD(classifier.parameters(), lr=0.01, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    rng = np.random.default_rng(24)
    points = torch.from_numpy(rng.standard_normal((12, 20, 3)).astype(np.float32))
    target = torch.from_numpy(rng.integers(0, 3, 12))
    out = []

    def train_step(pts, target):
        optimizer.zero_grad()
        pred, trans, trans_feat = fwd(pts)
        loss = F.nll_loss(pred, target)
        loss = loss + feature_transform_regularizer(trans_feat) * 0.001
        loss.backward()
        optimizer.step()
        return pred, loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(2):
        for i in range(2):
            pts = points[i * 6:i * 6 + 6].transpose(2, 1)
            classifier = classifier.train()
            pred, loss = step(pts, target[i * 6:i * 6 + 6])
            pred_choice = pred.data.max(1)[1]
            correct = pred_choice.eq(target[i * 6:i * 6 + 6].data).cpu().sum()
            out.append('[%d: %d] train loss: %f accuracy: %f'
                       % (epoch, i, loss.item(), correct.item() / float(6)))
        scheduler.step()
    classifier = classifier.eval()
    with torch.no_grad():
        pred, trans, _ = fwd(points[:4].transpose(2, 1))
        out.append(_np(pred))
        out.append(_np(trans))
    out.append(_state(classifier))
    return out


# ---- 13. CLIP's symmetric contrastive loss (learned logit scale, normalised features) ----
def clip(lib, compiled):
    torch = lib
    nn = lib.nn

    class CLIP(nn.Module):
        def __init__(self, embed_dim=8):
            super().__init__()
            self.visual = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.GELU(),
                                        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                        nn.Linear(8, embed_dim, bias=False))
            self.token_embedding = nn.Embedding(20, 12)
            self.positional_embedding = nn.Parameter(torch.empty(6, 12))
            self.ln_final = nn.LayerNorm(12)
            self.text_projection = nn.Parameter(torch.empty(12, embed_dim))
            self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
            nn.init.normal_(self.token_embedding.weight, std=0.02)
            nn.init.normal_(self.positional_embedding, std=0.01)
            nn.init.normal_(self.text_projection, std=12 ** -0.5)

        def encode_image(self, image):
            return self.visual(image)

        def encode_text(self, text):
            x = self.token_embedding(text) + self.positional_embedding
            x = self.ln_final(x)
            # features from the eot embedding (eot_token is the highest number in each sequence)
            return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

        def forward(self, image, text):
            image_features = self.encode_image(image)
            text_features = self.encode_text(text)
            image_features = image_features / image_features.norm(dim=1, keepdim=True)
            text_features = text_features / text_features.norm(dim=1, keepdim=True)
            logit_scale = self.logit_scale.exp()
            logits_per_image = logit_scale * image_features @ text_features.t()
            logits_per_text = logits_per_image.t()
            return logits_per_image, logits_per_text

    torch.manual_seed(25)
    model = CLIP()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.98), eps=1e-6,
                                  weight_decay=0.2)
    images, _ = _images(8, (3, 9, 9), 26)
    rng = np.random.default_rng(27)
    texts = rng.integers(1, 19, (8, 6))
    texts[np.arange(8), rng.integers(2, 6, 8)] = 19
    images, texts = torch.from_numpy(images), torch.from_numpy(texts)
    loss_img, loss_txt = nn.CrossEntropyLoss(), nn.CrossEntropyLoss()
    out = []

    def train_step(image, text):
        optimizer.zero_grad()
        logits_per_image, logits_per_text = fwd(image, text)
        ground_truth = torch.arange(len(image), dtype=torch.long, device=image.device)
        total_loss = (loss_img(logits_per_image, ground_truth)
                      + loss_txt(logits_per_text, ground_truth)) / 2
        total_loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        return total_loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for i in range(4):
        lo = (i % 2) * 4
        out.append(step(images[lo:lo + 4], texts[lo:lo + 4]).item())
    with torch.no_grad():
        logits_per_image, _ = fwd(images[:4], texts[:4])
        probs = logits_per_image.softmax(dim=-1)
        out.append(_np(probs))
        values, indices = probs[0].topk(2)
        out.append([f"{int(i)}: {100 * v.item():.2f}%" for v, i in zip(values, indices)])
    out.append(_state(model))
    return out


# ---- 14. BERT-style masked language modelling (TransformerEncoder, key padding mask) ----
def bert_mlm(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    vocab, pad_id, mask_id, cls_id = 24, 0, 1, 2

    class TinyBert(nn.Module):
        def __init__(self, d_model=16, nhead=2, nlayers=2, max_len=10):
            super().__init__()
            self.tok = nn.Embedding(vocab, d_model, padding_idx=pad_id)
            self.pos = nn.Embedding(max_len, d_model)
            self.seg = nn.Embedding(2, d_model)
            self.norm = nn.LayerNorm(d_model, eps=1e-12)
            layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.1,
                                               activation="gelu", batch_first=True,
                                               norm_first=False)
            self.encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
            self.mlm_head = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(),
                                          nn.LayerNorm(d_model))
            self.decoder = nn.Linear(d_model, vocab)
            self.decoder.weight = self.tok.weight  # tied
            self.nsp = nn.Linear(d_model, 2)

        def forward(self, input_ids, segment_ids):
            positions = torch.arange(input_ids.size(1), device=input_ids.device)
            x = self.tok(input_ids) + self.pos(positions)[None] + self.seg(segment_ids)
            x = self.norm(x)
            h = self.encoder(x, src_key_padding_mask=input_ids == pad_id)
            return self.decoder(self.mlm_head(h)), self.nsp(torch.tanh(h[:, 0]))

    def mask_tokens(inputs, mlm_probability=0.15):
        labels = inputs.clone()
        probability_matrix = torch.full(labels.shape, mlm_probability)
        special = (inputs == pad_id) | (inputs == cls_id)
        probability_matrix.masked_fill_(special, value=0.0)
        masked_indices = torch.bernoulli(probability_matrix).bool()
        labels[~masked_indices] = -100
        indices_replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & masked_indices
        inputs[indices_replaced] = mask_id
        indices_random = (torch.bernoulli(torch.full(labels.shape, 0.5)).bool()
                          & masked_indices & ~indices_replaced)
        random_words = torch.randint(vocab, labels.shape, dtype=torch.long)
        inputs[indices_random] = random_words[indices_random]
        return inputs, labels

    torch.manual_seed(28)
    model = TinyBert()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(29)
    ids = rng.integers(3, vocab, (8, 10))
    ids[:, 0] = cls_id
    lengths = rng.integers(5, 11, 8)
    for row, n in enumerate(lengths):
        ids[row, n:] = pad_id
    segments = (np.arange(10)[None] >= lengths[:, None] // 2).astype(np.int64)
    nsp_labels = torch.from_numpy(rng.integers(0, 2, 8))
    out = []

    def train_step(inputs, labels, segment_ids, nsp_label):
        optimizer.zero_grad()
        mlm_logits, nsp_logits = fwd(inputs, segment_ids)
        mlm_loss = F.cross_entropy(mlm_logits.view(-1, vocab), labels.view(-1),
                                   ignore_index=-100)
        loss = mlm_loss + F.cross_entropy(nsp_logits, nsp_label)
        loss.backward()
        optimizer.step()
        return loss, mlm_loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for i in range(4):
        lo = (i % 2) * 4
        inputs, labels = mask_tokens(torch.from_numpy(ids[lo:lo + 4].copy()))
        out.append(int((labels != -100).sum()))
        loss, mlm_loss = step(inputs, labels, torch.from_numpy(segments[lo:lo + 4]),
                              nsp_labels[lo:lo + 4])
        out.append(f"step {i} loss {loss.item():.4f} mlm {mlm_loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        probe = torch.from_numpy(ids[:2].copy())
        probe[:, 2] = mask_id
        mlm_logits, _ = fwd(probe, torch.from_numpy(segments[:2]))
        out.append(_np(mlm_logits[:, 2].softmax(-1)))
    state = _state(model)
    for key in [k for k in state if k.endswith("in_proj_bias")]:
        state[key][16:32] = 0  # key biases: softmax-invariant, Adam moves them by rounding
    out.append(state)
    return out


# ---- 15. word2vec skip-gram with negative sampling (unigram^0.75 table, logsigmoid) ----
def word2vec(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    class SkipGramModel(nn.Module):
        def __init__(self, emb_size, emb_dimension):
            super(SkipGramModel, self).__init__()
            self.emb_size = emb_size
            self.emb_dimension = emb_dimension
            self.u_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=False)
            self.v_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=False)
            initrange = 1.0 / self.emb_dimension
            nn.init.uniform_(self.u_embeddings.weight.data, -initrange, initrange)
            nn.init.constant_(self.v_embeddings.weight.data, 0)

        def forward(self, pos_u, pos_v, neg_v):
            emb_u = self.u_embeddings(pos_u)
            emb_v = self.v_embeddings(pos_v)
            emb_neg_v = self.v_embeddings(neg_v)
            score = torch.sum(torch.mul(emb_u, emb_v), dim=1)
            score = torch.clamp(score, max=10, min=-10)
            score = -F.logsigmoid(score)
            neg_score = torch.bmm(emb_neg_v, emb_u.unsqueeze(2)).squeeze()
            neg_score = torch.clamp(neg_score, max=10, min=-10)
            neg_score = -torch.sum(F.logsigmoid(-neg_score), dim=1)
            return torch.mean(score + neg_score)

    corpus = ("the quick brown fox jumps over the lazy dog the dog sleeps and the fox runs "
              "over the hill while the quick dog jumps").split()
    vocab = sorted(set(corpus))
    word2id = {w: i for i, w in enumerate(vocab)}
    counts = np.array([corpus.count(w) for w in vocab], np.float64)
    pow_frequency = counts ** 0.75
    ratio = pow_frequency / pow_frequency.sum()
    table = np.repeat(np.arange(len(vocab)), np.round(ratio * 200).astype(int))
    rng = np.random.default_rng(30)
    pairs = [(word2id[corpus[i]], word2id[corpus[j]]) for i in range(len(corpus))
             for j in range(max(0, i - 2), min(len(corpus), i + 3)) if i != j]
    torch.manual_seed(31)
    model = SkipGramModel(len(vocab), 6)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 4)
    out = []

    def train_step(pos_u, pos_v, neg_v):
        optimizer.zero_grad()
        loss = fwd(pos_u, pos_v, neg_v)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(4):
        batch = [pairs[k] for k in rng.choice(len(pairs), 16, replace=False)]
        pos_u = torch.LongTensor([u for u, _ in batch])
        pos_v = torch.LongTensor([v for _, v in batch])
        neg_v = torch.LongTensor(table[rng.integers(0, len(table), (16, 5))])
        loss = step(pos_u, pos_v, neg_v)
        scheduler.step()
        out.append(" Loss: " + str(round(loss.item(), 5)))
    embedding = model.u_embeddings.weight.cpu().data.numpy()
    query = embedding[word2id["fox"]]
    sims = embedding @ query / (np.linalg.norm(embedding, axis=1) * np.linalg.norm(query))
    out.append(np.asarray(sims, np.float64))
    out.append(_state(model))
    return out


# ---- 16. a packed-sequence sentiment LSTM (pack_padded_sequence, enforce_sorted=False) ----
def packed_lstm(lib, compiled):
    torch = lib
    nn = lib.nn
    rnn_utils = lib.nn.utils.rnn
    pack_padded_sequence = rnn_utils.pack_padded_sequence
    pad_packed_sequence = rnn_utils.pad_packed_sequence
    pad_sequence = rnn_utils.pad_sequence

    class RNN(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers,
                     bidirectional, dropout, pad_idx):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
            self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers,
                               bidirectional=bidirectional, dropout=dropout)
            self.fc = nn.Linear(hidden_dim * 2, output_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, text, text_lengths):
            embedded = self.dropout(self.embedding(text))
            packed_embedded = nn.utils.rnn.pack_padded_sequence(
                embedded, text_lengths.to('cpu'), enforce_sorted=False)
            packed_output, (hidden, cell) = self.rnn(packed_embedded)
            output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output)
            hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
            return self.fc(hidden), output, output_lengths

    def binary_accuracy(preds, y):
        rounded_preds = torch.round(torch.sigmoid(preds))
        correct = (rounded_preds == y).float()
        return correct.sum() / len(correct)

    torch.manual_seed(32)
    PAD_IDX = 1
    model = RNN(30, 8, 6, 1, 2, True, 0.25, PAD_IDX)
    model.embedding.weight.data[PAD_IDX] = torch.zeros(8)
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters())
    criterion = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(33)
    sentences = [torch.from_numpy(rng.integers(2, 30, n)) for n in rng.integers(2, 9, 12)]
    labels = torch.from_numpy(rng.integers(0, 2, 12).astype(np.float32))
    out = []

    def train_step(text, text_lengths, label):
        optimizer.zero_grad()
        predictions, _, _ = fwd(text, text_lengths)
        predictions = predictions.squeeze(1)
        loss = criterion(predictions, label)
        acc = binary_accuracy(predictions, label)
        loss.backward()
        optimizer.step()
        return loss, acc
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for epoch in range(2):
        for lo in (0, 4, 8):
            batch = sentences[lo:lo + 4]
            text = pad_sequence(batch, padding_value=PAD_IDX)
            text_lengths = torch.tensor([len(s) for s in batch])
            loss, acc = step(text, text_lengths, labels[lo:lo + 4])
            out.append(f'Epoch: {epoch + 1:02} | Train Loss: {loss.item():.3f} | '
                       f'Train Acc: {acc.item() * 100:.2f}%')
    model.eval()
    with torch.no_grad():
        text = pad_sequence(sentences[:5], batch_first=True, padding_value=PAD_IDX)
        lengths = torch.tensor([len(s) for s in sentences[:5]])
        packed = pack_padded_sequence(text, lengths, batch_first=True, enforce_sorted=False)
        out.append((_np(packed.batch_sizes), _np(packed.sorted_indices),
                    _np(packed.unsorted_indices)))
        prediction, output, output_lengths = fwd(text.t(), lengths)
        out.append(_np(torch.sigmoid(prediction)))
        out.append((_np(output), _np(output_lengths)))
        padded, lens = pad_packed_sequence(packed, batch_first=True, total_length=10)
        out.append((_np(padded), _np(lens)))
    out.append(_state(model))
    return out


# ---- 17. a convolutional autoencoder with MaxPool2d(return_indices=True) and MaxUnpool2d ----
def unpool_autoencoder(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    class ConvAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2, 2, return_indices=True)
            self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
            self.unpool = nn.MaxUnpool2d(2, 2)
            self.deconv2 = nn.ConvTranspose2d(8, 4, 3, padding=1)
            self.deconv1 = nn.ConvTranspose2d(4, 1, 3, padding=1)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            size1 = x.size()
            x, idx1 = self.pool(x)
            x = F.relu(self.conv2(x))
            size2 = x.size()
            x, idx2 = self.pool(x)
            x = self.unpool(x, idx2, output_size=size2)
            x = F.relu(self.deconv2(x))
            x = self.unpool(x, idx1, output_size=size1)
            return torch.sigmoid(self.deconv1(x)), idx2

    torch.manual_seed(34)
    model = ConvAutoencoder()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()
    rng = np.random.default_rng(35)
    data = torch.from_numpy(rng.random((6, 1, 10, 10)).astype(np.float32))
    out = []

    def train_step(img):
        output, idx = fwd(img)
        loss = criterion(output, img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, idx
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(2):
        for lo in (0, 4):  # the last batch holds two images
            loss, idx = step(data[lo:lo + 4])
            out.append('epoch [{}/{}], loss:{:.4f}'.format(epoch + 1, 2, loss.item()))
        out.append(_np(idx))
    with torch.no_grad():
        pooled, indices = F.max_pool2d(data[:2], 2, return_indices=True)
        out.append(_np(F.max_unpool2d(pooled, indices, 2)))
        out.append(_np(fwd(data[:1])[0]))
    out.append(_state(model))
    return out


# ---- 18. the autograd API tour: forward-mode AD, autograd.functional, higher-order grads ----
def autograd_api(lib, compiled):
    torch = lib
    nn = lib.nn
    fwAD = lib.autograd.forward_ad
    AF = lib.autograd.functional
    torch.manual_seed(36)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    fwd = torch.compile(model) if compiled == "model" else model

    def fn(x, y):
        return (x ** 2 * y.sin()).sum(dim=-1) + torch.tanh(x @ y)

    fn_c = torch.compile(fn) if compiled == "step" else fn
    x, y = torch.randn(3), torch.randn(3)
    primal, tangent = torch.randn(3), torch.randn(3)
    out = []
    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        dual_output = torch.sin(dual_input) * dual_input.exp()
        jvp = fwAD.unpack_dual(dual_output).tangent
        out.append(_np(jvp))
        out.append(fwAD.unpack_dual(dual_input).tangent is tangent)
    # the forward-mode tutorial's per-parameter tangents with functional_call
    params = {name: p for name, p in model.named_parameters()}
    tangents = {name: torch.rand_like(p) for name, p in params.items()}
    inp = torch.randn(5, 3)
    with fwAD.dual_level():
        for name, p in params.items():
            delattr(model.get_submodule(name.rsplit(".", 1)[0]), name.rsplit(".", 1)[1])
            setattr(model.get_submodule(name.rsplit(".", 1)[0]), name.rsplit(".", 1)[1],
                    fwAD.make_dual(p, tangents[name]))
        out_dual = model(inp)
        out.append(_np(fwAD.unpack_dual(out_dual).tangent))
    for name, p in params.items():
        delattr(model.get_submodule(name.rsplit(".", 1)[0]), name.rsplit(".", 1)[1])
        model.get_submodule(name.rsplit(".", 1)[0]).register_parameter(
            name.rsplit(".", 1)[1], p)
    out.append(sorted(n for n, _ in model.named_parameters()))
    # torch.autograd.functional
    out.append([_np(j) for j in AF.jacobian(fn_c, (x, y))])
    out.append([_np(j) for j in AF.jacobian(fn_c, (x, y), vectorize=True,
                                            strategy="forward-mode")])
    hess = AF.hessian(lambda a: (a ** 3 * y).sum(), x)
    out.append(_np(hess))
    v = torch.ones(3)
    value, hvp = AF.hvp(lambda a: (a ** 3).sum(), x, v)
    out.append((_np(value), _np(hvp)))
    value, vhp = AF.vhp(lambda a: (a ** 3 * y).sum(), x, v)
    out.append(_np(vhp))
    value, vjp = AF.vjp(lambda a: fwd(a), torch.randn(2, 3), torch.ones(2, 2))
    out.append((_np(value), _np(vjp)))
    # jvp takes a double backward (PyTorch's trick): not through a compiled model
    value, jvp = AF.jvp(lambda a: model(a), torch.randn(2, 3), torch.ones(2, 3))
    out.append(_np(jvp))
    # "Learning PyTorch": the gradient of the gradient (create_graph) and retain_graph
    # (through the eager model: a compiled one refuses double backward, as PyTorch's does)
    z = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = model(z.view(1, 3)).pow(2).sum()
    g, = torch.autograd.grad(loss, z, create_graph=True)
    g.norm().backward()
    out.append((_np(g), _np(z.grad)))
    w = torch.randn(3, requires_grad=True)
    q = (w * 2).exp().sum()
    q.backward(retain_graph=True)
    q.backward()
    out.append(_np(w.grad))
    return out


# ---- 19. gradient checkpointing (torch.utils.checkpoint, checkpoint_sequential) ----
def checkpointing(lib, compiled, use_reentrant=False):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    checkpoint = lib.utils.checkpoint.checkpoint
    checkpoint_sequential = lib.utils.checkpoint.checkpoint_sequential

    class Block(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.ln = nn.LayerNorm(dim)
            self.fc1 = nn.Linear(dim, 4 * dim)
            self.fc2 = nn.Linear(4 * dim, dim)
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln(x)))))

    class Net(nn.Module):
        def __init__(self, dim=8, depth=3):
            super().__init__()
            self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])
            self.seq = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim),
                                     nn.ReLU(), nn.Linear(dim, 3))
            self.gradient_checkpointing = True

        def forward(self, x):
            for block in self.blocks:
                if self.gradient_checkpointing and self.training:
                    x = checkpoint(block, x, use_reentrant=use_reentrant)
                else:
                    x = block(x)
            if self.training:
                return checkpoint_sequential(self.seq, 2, x, use_reentrant=use_reentrant)
            return self.seq(x)

    torch.manual_seed(37)
    model = Net()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.randn(10, 8, requires_grad=use_reentrant)
    y = torch.randint(0, 3, (10,))
    out = []

    def train_step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(fwd(x), y)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for i in range(3):
        out.append(step(x, y).item())
    model.eval()
    with torch.no_grad():
        out.append(_np(fwd(x[:3])))
    out.append(_state(model))
    return out


# ---- 20. learning-rate schedules: SequentialLR warmup, LambdaLR, warm restarts, chains ----
def lr_schedules(lib, compiled):
    torch = lib
    nn = lib.nn
    lr_scheduler = lib.optim.lr_scheduler
    torch.manual_seed(38)
    model = nn.Linear(4, 2)
    fwd = torch.compile(model) if compiled == "model" else model
    x, y = torch.randn(6, 4), torch.randn(6, 2)
    out = []

    def run(make_scheduler, steps=8, per_batch=False, optimizer_cls=torch.optim.SGD, **kw):
        opt = optimizer_cls([{"params": [model.weight]},
                             {"params": [model.bias], "lr": 0.05}], lr=0.1, **kw)
        sched = make_scheduler(opt)
        lrs = []

        def train_step():
            opt.zero_grad()
            loss = nn.functional.mse_loss(fwd(x), y)
            loss.backward()
            opt.step()
            return loss
        step = torch.compile(train_step) if compiled == "step" else train_step
        for epoch in range(steps):
            loss = step()
            if per_batch:
                sched.step(epoch + 0.5)
            sched.step()
            lrs.append([round(g["lr"], 8) for g in opt.param_groups])
        lrs.append(loss.item())
        lrs.append(sched.state_dict().get("last_epoch"))
        return lrs

    out.append(run(lambda opt: lr_scheduler.SequentialLR(opt, schedulers=[
        lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3),
        lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=1e-4)], milestones=[3])))
    warmup = 3

    def lr_lambda(current_step):
        if current_step < warmup:
            return float(current_step + 1) / float(max(1, warmup))
        return max(0.0, float(8 - current_step) / float(max(1, 8 - warmup)))
    out.append(run(lambda opt: lr_scheduler.LambdaLR(opt, [lr_lambda, lambda e: 0.9 ** e])))
    out.append(run(lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2,
                                                                       eta_min=0.001)))
    out.append(run(lambda opt: lr_scheduler.ChainedScheduler([
        lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
        lr_scheduler.ExponentialLR(opt, gamma=0.9)])))
    out.append(run(lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.3),
                   optimizer_cls=torch.optim.Adam))
    out.append(run(lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=6, power=2.0)))
    out.append(run(lambda opt: lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1,
                                                     step_size_up=2, mode="triangular2"),
                   momentum=0.9))
    # warm restarts stepped with a fractional epoch per batch, as its docstring shows
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
    iters = 3
    lrs = []
    for epoch in range(3):
        for i in range(iters):
            sched.step(epoch + i / iters)
            lrs.append(round(sched.get_last_lr()[0], 8))
    out.append(lrs)
    out.append(_state(model))
    return out


# ---- 21. CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix: chained params, ImagePool) ----
def cyclegan(lib, compiled):
    torch = lib
    nn = lib.nn

    class ResnetBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, bias=True),
                nn.InstanceNorm2d(dim), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, bias=True),
                nn.InstanceNorm2d(dim))

        def forward(self, x):
            return x + self.conv_block(x)

    def generator():
        return nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(3, 4, kernel_size=7, padding=0),
            nn.InstanceNorm2d(4), nn.ReLU(True),
            nn.Conv2d(4, 8, kernel_size=3, stride=2, padding=1), nn.InstanceNorm2d(8),
            nn.ReLU(True), ResnetBlock(8),
            nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(4), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(4, 3, kernel_size=7, padding=0), nn.Tanh())

    def discriminator():
        return nn.Sequential(
            nn.Conv2d(3, 4, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(4, 8, kernel_size=4, stride=2, padding=1), nn.InstanceNorm2d(8),
            nn.LeakyReLU(0.2, True), nn.Conv2d(8, 1, kernel_size=4, stride=1, padding=1))

    class ImagePool():
        def __init__(self, pool_size):
            self.pool_size = pool_size
            if self.pool_size > 0:
                self.num_imgs = 0
                self.images = []

        def query(self, images):
            if self.pool_size == 0:
                return images
            return_images = []
            for image in images:
                image = torch.unsqueeze(image.data, 0)
                if self.num_imgs < self.pool_size:
                    self.num_imgs = self.num_imgs + 1
                    self.images.append(image)
                    return_images.append(image)
                else:
                    p = random.uniform(0, 1)
                    if p > 0.5:
                        random_id = random.randint(0, self.pool_size - 1)
                        tmp = self.images[random_id].clone()
                        self.images[random_id] = image
                        return_images.append(tmp)
                    else:
                        return_images.append(image)
            return torch.cat(return_images, 0)

    class GANLoss(nn.Module):
        def __init__(self, target_real_label=1.0, target_fake_label=0.0):
            super(GANLoss, self).__init__()
            self.register_buffer('real_label', torch.tensor(target_real_label))
            self.register_buffer('fake_label', torch.tensor(target_fake_label))
            self.loss = nn.MSELoss()

        def __call__(self, prediction, target_is_real):
            target_tensor = self.real_label if target_is_real else self.fake_label
            return self.loss(prediction, target_tensor.expand_as(prediction))

    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and (classname.find('Conv') != -1
                                     or classname.find('Linear') != -1):
            nn.init.normal_(m.weight.data, 0.0, 0.02)
            if hasattr(m, 'bias') and m.bias is not None:
                nn.init.constant_(m.bias.data, 0.0)

    def set_requires_grad(nets, requires_grad=False):
        if not isinstance(nets, list):
            nets = [nets]
        for net in nets:
            if net is not None:
                for param in net.parameters():
                    param.requires_grad = requires_grad

    torch.manual_seed(39)
    random.seed(39)
    netG_A, netG_B, netD_A, netD_B = generator(), generator(), discriminator(), discriminator()
    for net in (netG_A, netG_B, netD_A, netD_B):
        net.apply(init_func)
    wrap = torch.compile if compiled == "model" else (lambda m: m)
    G_A, G_B, D_A, D_B = wrap(netG_A), wrap(netG_B), wrap(netD_A), wrap(netD_B)
    criterionGAN, criterionCycle, criterionIdt = GANLoss(), nn.L1Loss(), nn.L1Loss()
    lambda_A, lambda_B, lambda_idt = 10.0, 10.0, 0.5
    optimizer_G = torch.optim.Adam(itertools.chain(netG_A.parameters(), netG_B.parameters()),
                                   lr=0.0002, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(itertools.chain(netD_A.parameters(), netD_B.parameters()),
                                   lr=0.0002, betas=(0.5, 0.999))
    n_epochs, n_epochs_decay, epoch_count = 1, 2, 1

    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule)
                  for o in (optimizer_G, optimizer_D)]
    fake_A_pool, fake_B_pool = ImagePool(2), ImagePool(2)
    images, _ = _images(6, (3, 8, 8), 40)
    domain_a = torch.from_numpy(np.tanh(images[:3]))
    domain_b = torch.from_numpy(np.tanh(images[3:]))
    out = []

    def backward_G(real_A, real_B):
        idt_A = G_A(real_B)
        loss_idt_A = criterionIdt(idt_A, real_B) * lambda_B * lambda_idt
        idt_B = G_B(real_A)
        loss_idt_B = criterionIdt(idt_B, real_A) * lambda_A * lambda_idt
        fake_B = G_A(real_A)
        rec_A = G_B(fake_B)
        fake_A = G_B(real_B)
        rec_B = G_A(fake_A)
        loss_G_A = criterionGAN(D_A(fake_B), True)
        loss_G_B = criterionGAN(D_B(fake_A), True)
        loss_cycle_A = criterionCycle(rec_A, real_A) * lambda_A
        loss_cycle_B = criterionCycle(rec_B, real_B) * lambda_B
        loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
        loss_G.backward()
        return loss_G, fake_A, fake_B

    def backward_D_basic(netD, real, fake):
        loss_D_real = criterionGAN(netD(real), True)
        loss_D_fake = criterionGAN(netD(fake.detach()), False)
        loss_D = (loss_D_real + loss_D_fake) * 0.5
        loss_D.backward()
        return loss_D

    def generator_step(real_A, real_B):
        set_requires_grad([netD_A, netD_B], False)
        optimizer_G.zero_grad()
        loss_G, fake_A, fake_B = backward_G(real_A, real_B)
        optimizer_G.step()
        return loss_G, fake_A, fake_B
    g_step = torch.compile(generator_step) if compiled == "step" else generator_step
    for epoch in range(epoch_count, n_epochs + n_epochs_decay + 1):
        for i in range(3):
            real_A, real_B = domain_a[i:i + 1], domain_b[i:i + 1]
            loss_G, fake_A, fake_B = g_step(real_A, real_B)
            set_requires_grad([netD_A, netD_B], True)
            optimizer_D.zero_grad()
            loss_D_A = backward_D_basic(D_A, real_B, fake_B_pool.query(fake_B))
            loss_D_B = backward_D_basic(D_B, real_A, fake_A_pool.query(fake_A))
            optimizer_D.step()
            out.append(f"(epoch: {epoch}, iters: {i}) G: {loss_G.item():.3f} "
                       f"D_A: {loss_D_A.item():.3f} D_B: {loss_D_B.item():.3f}")
        old_lr = optimizer_G.param_groups[0]['lr']
        for scheduler in schedulers:
            scheduler.step()
        lr = optimizer_G.param_groups[0]['lr']
        out.append('learning rate %.7f -> %.7f' % (old_lr, lr))
    # biases before an InstanceNorm get gradients of rounding size only, which Adam's
    # normalisation grows to lr-sized steps: they are left out
    before_norm = {"1.bias", "4.bias", "7.conv_block.1.bias", "7.conv_block.5.bias", "8.bias"}
    out.append({k: v for k, v in _state(netG_A).items() if k not in before_norm})
    out.append({k: v for k, v in _state(netD_B).items() if k != "2.bias"})
    return out


# ---- 22. idioms from Chinese PyTorch notes (shared/seeds): memory sharing, contiguous,
# in-place ops, bitwise/logical ops, statistics, the train/valid template, save and load ----
def seed_notes(lib, compiled):
    torch = lib
    nn = lib.nn
    from collections import OrderedDict
    out = []

    def set_random_seed(seed, deterministic=False):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        torch.cuda.manual_seed_all(seed)
        if deterministic:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
    set_random_seed(41, deterministic=True)
    out.append(torch.initial_seed())
    a = torch.randn(16)
    b = a.view(-1, 4)
    c = b.transpose(0, 1)
    out.append((a.is_contiguous(), b.is_contiguous(), c.is_contiguous()))
    try:
        c.view(-1)
    except RuntimeError as e:
        out.append(("RuntimeError", str(e)[:40]))
    out.append(tuple(c.contiguous().view(-1).shape))
    new = a[1:]
    new[0] = 100.0
    out.append(a[1].item())
    x = torch.ones(2)
    y = x.numpy()
    x += 1
    out.append(y.tolist())
    arr = np.ones(5)
    t = torch.from_numpy(arr)
    arr += 1
    out.append(t.tolist())

    def ops(x, x1, x2):
        res = {}
        res["fix"] = x.fix()
        res["round"] = (x * 3).round()
        res["select"] = x.select(dim=1, index=2)
        res["flip"] = x.flip(1)
        res["tril"] = x.tril(diagonal=0)  # the note's `k=0` is NumPy's name: PyTorch refuses
        res["triu"] = x.triu(1)
        res["chunk"] = torch.arange(0, 12, step=1).reshape(2, 6).chunk(chunks=3, dim=1)
        res["split"] = torch.split(torch.arange(12).reshape(2, 6),
                                   split_size_or_sections=(1, 3, 2), dim=1)
        res["where"] = torch.where(x1 > 0.5, x1, x2)
        res["clip"] = torch.clip(x1, min=0.4, max=0.6)
        u1 = torch.tensor([1, 2, 3], dtype=torch.uint8)
        u2 = torch.tensor([1, 1, 1], dtype=torch.uint8)
        res["bits"] = (u1 & u2, u1 | u2, ~u1, u1 ^ u2, u1 << 1, u1.bitwise_left_shift(1))
        b1 = torch.tensor([-0.9, 0, True, False], dtype=torch.bool)
        b2 = x[0, :4] < 0.5
        res["logic"] = (b1 * b2, b1 + b2, b1.logical_and(b2), b1.logical_or(b2),
                        b1.logical_xor(b2), b1.logical_not())
        res["stats"] = (x.mean(), x.mean(dim=1, keepdim=True), x.max(),
                        x.max(dim=1, keepdim=True), x.min(), x.sort(dim=1, descending=False),
                        x.argmin(), x.argsort(), x.argmax(dim=1, keepdim=True), x.std(),
                        x.histc(bins=4, min=-2, max=2), x.mode())
        res["math"] = (x.abs().sqrt(), x.square(), x.exp(), x.cos(), x.cosh(),
                       x.clamp(-0.9, 0.9).acos(), (x.abs() + 1).acosh(),
                       x.clamp(-0.9, 0.9).arccos(), (x.abs() + 1).arccosh())
        res["matrix"] = (x.matmul(x.t()), x * x, x.diag(), x.t())
        return res
    ops_c = torch.compile(ops) if compiled == "step" else ops
    set_random_seed(42)
    x = torch.randn(5, 5)
    x1, x2 = torch.rand(3, 2), torch.rand(3, 2)
    res = ops_c(x, x1, x2)

    def flat(v):
        if isinstance(v, (tuple, list)):
            return [flat(e) for e in v]
        return _np(v) if v.dtype.is_floating_point else v.tolist()
    out.append({k: flat(v) for k, v in res.items()})
    U, S, V = x.svd()
    out.append((_np(S), np.abs(_np(U @ torch.diag(S) @ V.t()))))
    x1 = torch.tensor([-0.9, 0, True, False], dtype=torch.bool)
    x1 *= torch.tensor([True, True, False, False])
    x1 += torch.tensor([False, False, False, True])
    x1.logical_xor_(torch.tensor([True, False, False, False]))
    out.append(x1.tolist())

    class MyNet(nn.Module):
        def __init__(self):
            super(MyNet, self).__init__()
            self.fc1 = nn.Linear(10, 10)
            self.add_module("layer2", nn.Linear(10, 10))
            self.layer3 = nn.Sequential(OrderedDict([
                ("conv1", torch.nn.Conv2d(in_channels=1, out_channels=2, kernel_size=(3, 3),
                                          padding=1)),
                ("relu1", nn.ReLU())]))

        def forward(self, x, img):
            return self.layer2(torch.relu(self.fc1(x))), self.layer3(img).mean(dim=(1, 2, 3))

    set_random_seed(43)
    model = MyNet()
    fwd = torch.compile(model) if compiled == "model" else model
    out.append([name for name, _ in model.named_parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    criterion = nn.MSELoss()
    inputs, gold, imgs = torch.randn(12, 10), torch.randn(12, 10), torch.randn(12, 1, 4, 4)
    train_iter = [(inputs[i:i + 4], gold[i:i + 4], imgs[i:i + 4]) for i in (0, 4, 8)]

    def train_epoch(epoch):
        model.train()
        for i, (inp, g, img) in enumerate(train_iter, start=1):
            optimizer.zero_grad()
            o, m = fwd(inp, img)
            loss = criterion(o, g) + m.mean()
            loss.backward()
            optimizer.step()
            if i % 2 == 0:
                out.append('Epoch: {}, batch: [{}/{}], Loss: {:.5}'.format(
                    epoch, i, len(train_iter), loss.item()))

    def valid_epoch():
        model.eval()
        with torch.no_grad():
            loss_list = []
            for inp, g, img in train_iter:
                o, _ = fwd(inp, img)
                loss_list.append(criterion(o, g))
        return sum(loss_list) / len(train_iter)
    for epoch in range(2):
        train_epoch(epoch)
        out.append(valid_epoch().item())
    import io
    buffer = io.BytesIO()
    torch.save({'epoch': 2, 'model': model.state_dict(),
                'optimizer': optimizer.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, map_location=torch.device("cpu"))
    restored = MyNet()
    out.append(str(restored.load_state_dict(checkpoint['model'])))
    out.append(checkpoint['epoch'])
    out.append(_state(restored))
    return out


# ---- 23. capsule networks (Sabour et al.): squash, dynamic routing, margin loss ----
def capsnet(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    def squash(tensor, dim=-1):
        squared_norm = (tensor ** 2).sum(dim=dim, keepdim=True)
        scale = squared_norm / (1 + squared_norm)
        return scale * tensor / torch.sqrt(squared_norm + 1e-8)

    class CapsuleNet(nn.Module):
        def __init__(self, num_routes=3):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, kernel_size=3)
            self.primary = nn.Conv2d(8, 4 * 4, kernel_size=3, stride=2)  # 4 caps of dim 4
            self.route_weights = nn.Parameter(torch.randn(5, 16, 4, 6) * 0.1)
            self.num_routes = num_routes

        def forward(self, x):
            x = F.relu(self.conv1(x), inplace=True)
            u = self.primary(x)                                    # (B, 16, 2, 2)
            u = u.view(x.size(0), 4, 4, -1).permute(0, 3, 1, 2)    # (B, 4 pos, 4 caps, 4)
            u = squash(u.reshape(x.size(0), -1, 4))                # (B, 16, 4)
            priors = u[:, None, :, None, :] @ self.route_weights[None, :, :, :, :]
            priors = priors.squeeze(3)                             # (B, 5, 16, 6)
            logits = torch.zeros(*priors.size()[:3], 1)
            for i in range(self.num_routes):
                probs = F.softmax(logits, dim=1)
                outputs = squash((probs * priors).sum(dim=2, keepdim=True))
                if i != self.num_routes - 1:
                    delta_logits = (priors * outputs).sum(dim=-1, keepdim=True)
                    logits = logits + delta_logits
            classes = outputs.squeeze(2)                           # (B, 5, 6)
            return (classes ** 2).sum(dim=-1) ** 0.5

    def margin_loss(lengths, labels):
        left = F.relu(0.9 - lengths, inplace=True) ** 2
        right = F.relu(lengths - 0.1, inplace=True) ** 2
        margin = labels * left + 0.5 * (1. - labels) * right
        return margin.sum() / labels.size(0)

    torch.manual_seed(42)
    model = CapsuleNet()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = _images(8, (1, 8, 8), 43, classes=5)
    images, labels = torch.from_numpy(images), torch.from_numpy(labels)
    out = []

    def train_step(x, y):
        optimizer.zero_grad()
        lengths = fwd(x)
        loss = margin_loss(lengths, torch.eye(5).index_select(dim=0, index=y))
        loss.backward()
        optimizer.step()
        return loss, lengths
    step = torch.compile(train_step) if compiled == "step" else train_step
    for i in range(4):
        lo = (i % 2) * 4
        loss, lengths = step(images[lo:lo + 4], labels[lo:lo + 4])
        out.append((loss.item(), _np(lengths.max(dim=1)[1])))
    out.append(_state(model))
    return out


# ---- 24. Bayes by backprop (Blundell et al.): reparameterised weights, KL to the prior ----
def bayes_by_backprop(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    dist = lib.distributions

    class BayesianLinear(nn.Module):
        def __init__(self, in_features, out_features, prior_sigma=1.0):
            super().__init__()
            self.weight_mu = nn.Parameter(torch.Tensor(out_features, in_features)
                                          .uniform_(-0.2, 0.2))
            self.weight_rho = nn.Parameter(torch.Tensor(out_features, in_features)
                                           .uniform_(-5, -4))
            self.bias_mu = nn.Parameter(torch.Tensor(out_features).uniform_(-0.2, 0.2))
            self.bias_rho = nn.Parameter(torch.Tensor(out_features).uniform_(-5, -4))
            self.prior = dist.Normal(0, prior_sigma)
            self.kl = 0

        def forward(self, x):
            weight_sigma = torch.log1p(torch.exp(self.weight_rho))
            bias_sigma = torch.log1p(torch.exp(self.bias_rho))
            weight_post = dist.Normal(self.weight_mu, weight_sigma)
            bias_post = dist.Normal(self.bias_mu, bias_sigma)
            weight = weight_post.rsample()
            bias = bias_post.rsample()
            self.kl = (dist.kl_divergence(weight_post, self.prior).sum()
                       + dist.kl_divergence(bias_post, self.prior).sum())
            return F.linear(x, weight, bias)

    class BNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = BayesianLinear(1, 16)
            self.l2 = BayesianLinear(16, 1)

        def forward(self, x):
            return self.l2(torch.relu(self.l1(x)))

        def kl(self):
            return self.l1.kl + self.l2.kl

    torch.manual_seed(44)
    model = BNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(45)
    x = torch.from_numpy(rng.uniform(-2, 2, (16, 1)).astype(np.float32))
    y = torch.sin(x) + 0.1 * torch.from_numpy(rng.standard_normal((16, 1)).astype(np.float32))
    noise = dist.Normal(torch.zeros(1), torch.tensor([0.1]))
    out = []

    def train_step(x, y):
        optimizer.zero_grad()
        pred = model(x)
        nll = -noise.log_prob(y - pred).sum()
        loss = nll + model.kl() / 16
        loss.backward()
        optimizer.step()
        return loss, nll
    # a compiled step that assigns self.kl on the modules: a side effect, run eagerly
    step = torch.compile(train_step) if compiled else train_step
    for i in range(4):
        loss, nll = step(x, y)
        out.append(f"iter {i} loss {loss.item():.3f} nll {nll.item():.3f}")
    with torch.no_grad():
        samples = torch.stack([model(x[:4]) for _ in range(5)])
        out.append((_np(samples.mean(0)), _np(samples.std(0))))
    out.append(_state(model))
    return out


# ---- 25. SN-GAN pieces: spectral_norm (both APIs) and an orthogonal parametrization ----
def spectral_gan(lib, compiled, parametrized=False):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    P = lib.nn.utils.parametrizations
    SN = P.spectral_norm if parametrized else nn.utils.spectral_norm

    torch.manual_seed(46)
    netD = nn.Sequential(SN(nn.Conv2d(1, 4, 3, 2, 1)), nn.LeakyReLU(0.1),
                         SN(nn.Conv2d(4, 8, 3, 2, 1)), nn.LeakyReLU(0.1), nn.Flatten(),
                         SN(nn.Linear(8 * 2 * 2, 1)))
    netG = nn.Sequential(nn.Linear(4, 8 * 2 * 2), nn.ReLU(), nn.Unflatten(1, (8, 2, 2)),
                         nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False), nn.BatchNorm2d(4),
                         nn.ReLU(),
                         nn.ConvTranspose2d(4, 1, 4, 2, 1), nn.Tanh())
    if parametrized:
        P.orthogonal(netG[0])
    D = torch.compile(netD) if compiled == "model" else netD
    G = torch.compile(netG) if compiled == "model" else netG
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.0, 0.9))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.0, 0.9))
    images, _ = _images(8, (1, 8, 8), 47)
    real = torch.from_numpy(np.tanh(images))
    out = [sorted(k for k in netD.state_dict())]

    def d_step(real, z):
        optD.zero_grad()
        loss_d = F.relu(1.0 - D(real)).mean() + F.relu(1.0 + D(G(z).detach())).mean()
        loss_d.backward()
        optD.step()
        return loss_d

    def g_step(z):
        optG.zero_grad()
        loss_g = -D(G(z)).mean()
        loss_g.backward()
        optG.step()
        return loss_g
    if compiled == "step":
        d_step, g_step = torch.compile(d_step), torch.compile(g_step)
    for i in range(3):
        z = torch.randn(4, 4)
        lo = (i % 2) * 4
        loss_d = d_step(real[lo:lo + 4], z)
        loss_g = g_step(z)
        out.append(f"[{i}] Loss_D: {loss_d.item():.4f} Loss_G: {loss_g.item():.4f}")
    netD.eval()
    with torch.no_grad():
        out.append(_np(D(real[:2])))
        w = netD[0].weight
        out.append(float(torch.linalg.matrix_norm(w.flatten(1), ord=2)))
        if parametrized:
            q = netG[0].weight
            out.append(_np(q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T))
    out.append(_state(netD))
    out.append(_state(netG))
    return out


# ---- 26. a single-stage detector head (RetinaNet-style): IoU matching, focal loss, NMS ----
def detector(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional

    def box_area(boxes):
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

    def box_iou(boxes1, boxes2):
        area1, area2 = box_area(boxes1), box_area(boxes2)
        lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
        rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        return inter / (area1[:, None] + area2 - inter)

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
        p = torch.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        return loss.sum() if reduction == "sum" else loss

    def nms(boxes, scores, iou_threshold):
        order = scores.argsort(descending=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(int(i))
            if order.numel() == 1:
                break
            ious = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]]).squeeze(0)
            order = order[1:][ious <= iou_threshold]
        return torch.tensor(keep, dtype=torch.long)

    # anchors on a 4x4 grid of an image of size 16, two sizes each
    centers = (torch.arange(4, dtype=torch.float32) + 0.5) * 4
    cy, cx = torch.meshgrid(centers, centers, indexing="ij")
    anchors = torch.cat([torch.stack([cx - s, cy - s, cx + s, cy + s], dim=-1).reshape(-1, 4)
                         for s in (2.0, 4.0)])
    num_classes = 3

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(4))
            self.cls_logits = nn.Conv2d(8, 2 * num_classes, 3, padding=1)
            self.bbox_reg = nn.Conv2d(8, 2 * 4, 3, padding=1)
            prior_probability = 0.01
            nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability)
                                                              / prior_probability))

        def forward(self, x):
            f = self.backbone(x)
            n = x.shape[0]
            cls = self.cls_logits(f).view(n, 2, num_classes, 4, 4).permute(0, 1, 3, 4, 2)
            reg = self.bbox_reg(f).view(n, 2, 4, 4, 4).permute(0, 1, 3, 4, 2)
            return cls.reshape(n, -1, num_classes), reg.reshape(n, -1, 4)

    torch.manual_seed(48)
    model = Head()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    rng = np.random.default_rng(49)
    images = torch.from_numpy(rng.standard_normal((4, 3, 16, 16)).astype(np.float32))
    gt_boxes = []
    for _ in range(4):
        xy = rng.uniform(0, 10, (2, 2))
        wh = rng.uniform(3, 6, (2, 2))
        gt_boxes.append((torch.from_numpy(np.concatenate([xy, xy + wh], 1).astype(np.float32)),
                         torch.from_numpy(rng.integers(0, num_classes, 2))))
    out = []

    def compute_loss(cls_out, reg_out, targets):
        losses = []
        for cls_i, reg_i, (boxes, labels) in zip(cls_out, reg_out, targets):
            iou = box_iou(anchors, boxes)
            matched_vals, matches = iou.max(dim=1)
            foreground = matched_vals >= 0.3
            num_foreground = foreground.sum()
            gt_classes_target = torch.zeros_like(cls_i)
            gt_classes_target[foreground, labels[matches[foreground]]] = 1.0
            valid = matched_vals >= 0.0
            cls_loss = sigmoid_focal_loss(cls_i[valid], gt_classes_target[valid],
                                          reduction="sum")
            target_regression = (boxes[matches[foreground]] - anchors[foreground]) / 4.0
            reg_loss = F.smooth_l1_loss(reg_i[foreground], target_regression,
                                        reduction="sum", beta=1.0 / 9)
            losses.append((cls_loss + reg_loss) / max(1, int(num_foreground)))
        return sum(losses) / len(losses)

    def train_step(x, targets):
        optimizer.zero_grad()
        cls_out, reg_out = fwd(x)
        loss = compute_loss(cls_out, reg_out, targets)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    model.train()
    for i in range(3):
        lo = (i % 2) * 2
        out.append(step(images[lo:lo + 2], gt_boxes[lo:lo + 2]).item())
    model.eval()
    with torch.no_grad():
        cls_out, reg_out = fwd(images[:1])
        scores, labels = cls_out[0].sigmoid().max(dim=1)
        boxes = anchors + reg_out[0] * 4.0
        keep_mask = torch.topk(scores, 10).indices
        kept = nms(boxes[keep_mask], scores[keep_mask], 0.5)
        out.append(_np(keep_mask[kept]))
        out.append(_np(boxes[keep_mask[kept]]))
        out.append(_np(labels[keep_mask[kept]]))
        out.append(_np(torch.nonzero(scores > scores.median()).squeeze(1)))
    out.append(_state(model))
    return out


# ---- 27. the speech-command tutorial's M5 on log-mel features (stft, hann_window) ----
def speech_commands(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    sample_rate, n_fft, hop, n_mels = 800, 64, 16, 8

    def mel_filterbank():
        def hz_to_mel(f):
            return 2595.0 * np.log10(1.0 + f / 700.0)
        mels = np.linspace(hz_to_mel(0), hz_to_mel(sample_rate / 2), n_mels + 2)
        hz = 700.0 * (10 ** (mels / 2595.0) - 1)
        freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
        fb = np.zeros((n_fft // 2 + 1, n_mels), np.float32)
        for m in range(n_mels):
            lo, center, hi = hz[m], hz[m + 1], hz[m + 2]
            up = (freqs - lo) / (center - lo)
            down = (hi - freqs) / (hi - center)
            fb[:, m] = np.maximum(0, np.minimum(up, down))
        return torch.from_numpy(fb)

    class MelSpectrogram(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("window", torch.hann_window(n_fft))
            self.register_buffer("fb", mel_filterbank())

        def forward(self, waveform):
            spec = torch.stft(waveform, n_fft, hop_length=hop, window=self.window,
                              center=True, pad_mode="reflect", return_complex=True)
            power = spec.abs().pow(2.0)                       # (B, freq, time)
            mel = torch.matmul(power.transpose(-1, -2), self.fb).transpose(-1, -2)
            return torch.log(mel + 1e-6)

    class M5(nn.Module):
        def __init__(self, n_input=1, n_output=4, stride=2, n_channel=8):
            super().__init__()
            self.features = MelSpectrogram()
            self.conv1 = nn.Conv1d(n_mels, n_channel, kernel_size=3, stride=stride)
            self.bn1 = nn.BatchNorm1d(n_channel)
            self.pool1 = nn.MaxPool1d(2)
            self.conv2 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3, padding=1)
            self.bn2 = nn.BatchNorm1d(2 * n_channel)
            self.fc1 = nn.Linear(2 * n_channel, n_output)

        def forward(self, x):
            x = self.features(x)
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.pool1(x)
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.avg_pool1d(x, x.shape[-1])
            x = x.permute(0, 2, 1)
            x = self.fc1(x)
            return F.log_softmax(x, dim=2)

    def number_of_correct(pred, target):
        return pred.squeeze().eq(target).sum().item()

    def get_likely_index(tensor):
        return tensor.argmax(dim=-1)

    torch.manual_seed(50)
    model = M5()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.0001)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    rng = np.random.default_rng(51)
    t = np.arange(sample_rate // 2) / sample_rate
    labels = rng.integers(0, 4, 12)
    waves = np.stack([np.sin(2 * np.pi * (60 + 70 * k) * t + rng.uniform(0, 6))
                      + 0.1 * rng.standard_normal(t.shape) for k in labels]).astype(np.float32)
    waves, labels = torch.from_numpy(waves), torch.from_numpy(labels)
    out = []

    def train_step(data, target):
        output = fwd(data)
        loss = F.nll_loss(output.squeeze(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(1, 3):
        model.train()
        for batch_idx, lo in enumerate((0, 5, 10)):  # the last batch holds two clips
            loss = step(waves[lo:lo + 5], labels[lo:lo + 5])
            out.append(f"Train Epoch: {epoch} [{lo}/12]\tLoss: {loss.item():.6f}")
        scheduler.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for lo in (0, 6):
                pred = get_likely_index(fwd(waves[lo:lo + 6]))
                correct += number_of_correct(pred, labels[lo:lo + 6])
        out.append(f"Test Epoch: {epoch}\tAccuracy: {correct}/12")
    with torch.no_grad():
        out.append(_np(model.features(waves[:2])))
    # the conv biases feed BatchNorms: gradients of rounding size, grown by Adam (and the
    # running means follow them)
    out.append({k: v for k, v in _state(model).items()
                if not k.endswith(("conv1.bias", "conv2.bias", "running_mean"))})
    return out


# ---- the harness ----

PROBES = {
    "imagenet_loop": imagenet_loop,
    "gat": gat,
    "maml": maml,
    "maml_first_order": functools.partial(maml, first_order=True),
    "pinn": pinn,
    "vqvae": vqvae,
    "gumbel_vae": gumbel_vae,
    "ddpm": ddpm,
    "tcn": tcn,
    "tcn_parametrized": functools.partial(tcn, parametrized=True),
    "pruning": pruning,
    "mobilenet": mobilenet,
    "densenet": densenet,
    "pointnet": pointnet,
    "clip": clip,
    "bert_mlm": bert_mlm,
    "word2vec": word2vec,
    "packed_lstm": packed_lstm,
    "unpool_autoencoder": unpool_autoencoder,
    "autograd_api": autograd_api,
    "checkpointing": checkpointing,
    "checkpointing_reentrant": functools.partial(checkpointing, use_reentrant=True),
    "lr_schedules": lr_schedules,
    "cyclegan": cyclegan,
    "seed_notes": seed_notes,
    "capsnet": capsnet,
    "bayes_by_backprop": bayes_by_backprop,
    "spectral_gan": spectral_gan,
    "spectral_gan_parametrized": functools.partial(spectral_gan, parametrized=True),
    "detector": detector,
    "speech_commands": speech_commands,
}

TOLERANCES: dict = {}
COMPILE_LIMITS: dict = {}
# The PINN's residual takes gradients of the model's output with create_graph=True and the
# loss then backpropagates through them: a double backward through the compiled model's
# node, which graphtorch refuses with a clear error (PyTorch 2.13's aot_autograd refuses it
# too). The compiled step captures the whole residual and matches.
# The hook-based spectral_norm assigns a new `module.weight` at every forward: a module state
# change, so the compiled discriminator breaks into compiled submodules whose state guard
# (tensor attributes are held by identity) fails at every call until the recompile limit
# warns. The results match; parametrizations.spectral_norm compiles.
XFAIL = {("pinn", "model"): "double backward through a compiled module is not supported "
                            "(gt raises a RuntimeError saying so; so does PyTorch's aot_autograd)",
         ("spectral_gan", "model"): "hook-set module.weight: compiled segments recompile at "
                                    "every call until the recompile limit (RuntimeWarning)"}


_reference = reference_of(PROBES)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
@pytest.mark.parametrize("mode", ["eager", "model", "step"])
@pytest.mark.parametrize("name", list(PROBES))
def test_tutorial_probe_matches_pytorch(name, mode, monkeypatch):
    check_probe(PROBES, _reference, name, mode, monkeypatch, tolerances=TOLERANCES,
                compile_limits=COMPILE_LIMITS, xfail=XFAIL)
