"""Tutorial probes, round 8: small, seeded, synthetic-data versions of classic public
PyTorch programs not covered by rounds 4 to 7, each run three ways - PyTorch, graphtorch
eagerly, and graphtorch with the model (``"model"``) or a step (``"step"``) compiled -
with losses, printed lines, predictions and final parameters compared.

Programs: Karpathy's makemore series - the bigram counts and one-hot net with a seeded
``torch.Generator`` and ``multinomial`` (and micrograd's PyTorch check), the MLP with
``C[X]`` embeddings, hand-made Linear/BatchNorm1d/Tanh layers with ``retain_grad``
statistics, the "backprop ninja" manual backward checked by ``cmp``, the WaveNet hierarchy
(``FlattenConsecutive``, batch norm over dims (0, 1)) - and "Let's build GPT" (the four
versions of the self-attention trick, ``get_batch`` slicing with 0-d tensor bounds,
``estimate_loss`` under ``@torch.no_grad()``, generation by ``idx[:, -block_size:]``);
Dive into Deep Learning: linear regression from scratch (``torch.normal``, a shuffling
``data_iter``) and concisely, softmax regression from scratch with ``Accumulator``, dropout
from scratch, weight decay through parameter groups, batch norm from scratch in a LeNet,
``corr2d`` and kernel learning through ``weight.data[:] -=``, VGG/NiN/Inception/ResNet
blocks, an RNN and an LSTM from scratch (``F.one_hot(X.T)``, gradient clipping by hand,
``state.detach_()``), Nadaraya-Watson regression, masked softmax, additive, dot-product and
multi-head attention, sinusoidal positional encoding, the GRU seq2seq with
``MaskedSoftmaxCELoss``, ``_flat_weights_names`` xavier init and BLEU; the custom-Function
tutorials: fusing conv and batch norm (``torch.nn.grad.conv2d_weight``/``conv2d_input``,
``once_differentiable``, gradcheck), double backward (Square, Exp, Sinh returning its
intermediates, Cube with a backward Function, ``gradgradcheck``), extending ``torch.func``
(NumpySort with ``setup_context`` and a ``vmap`` staticmethod, ``generate_vmap_rule``,
``torch.vmap``); the Parametrizations tutorial (Symmetric, Skew + Cayley, matrix
exponential, ``cached()``, ``right_inverse``, ``remove_parametrizations``); the saved-tensor
hooks tutorial (``grad_fn._saved_self``/``_saved_result``, pack/unpack hooks, saving to disk,
``save_on_cpu``); "Introduction to torch.compile" (the decorator, ``Module.compile()``, a
graph break, ``fullgraph=True`` raising ``Unsupported``, ``torch.compiler.disable``); the
60-minute blitz's printed tensors, parameters, modules and optimizer state.
"""

from __future__ import annotations

import collections
import importlib
import math
import random

import numpy as np
import pytest

import graphtorch as gt
from tests.examples.probe_harness import check_probe, reference_of


def _np(t):
    return t.detach().numpy().copy()


def _state(model):
    return {k: _np(v) for k, v in model.state_dict().items()}


def _words(n=48, seed=0):
    """Made-up names, the makemore probes' names.txt."""
    rng = random.Random(seed)
    syllables = ["an", "na", "el", "la", "mi", "ar", "is", "ol", "em", "ya", "ri", "do"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(n)]


def _vocab(words):
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos


# ---- 1. makemore part 1: bigram counts, sampling with a Generator, the one-hot neural net;
# micrograd's PyTorch comparison ----
def makemore_bigram(lib, compiled):
    torch = lib
    F = lib.nn.functional
    out = []
    x1 = torch.Tensor([2.0]).double()
    x1.requires_grad = True
    x2 = torch.Tensor([0.0]).double()
    x2.requires_grad = True
    w1 = torch.Tensor([-3.0]).double()
    w1.requires_grad = True
    w2 = torch.Tensor([1.0]).double()
    w2.requires_grad = True
    b = torch.Tensor([6.8813735870195432]).double()
    b.requires_grad = True
    n = x1 * w1 + x2 * w2 + b
    o = torch.tanh(n)
    out.append(o.data.item())
    o.backward()
    out.append(('x2', x2.grad.item(), 'w2', w2.grad.item(), 'x1', x1.grad.item(),
                'w1', w1.grad.item()))

    words = _words()
    stoi, itos = _vocab(words)
    V = len(stoi)
    N = torch.zeros((V, V), dtype=torch.int32)
    for w in words:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    out.append(N.tolist())
    g = torch.Generator().manual_seed(2147483647)
    p = torch.rand(3, generator=g)
    p = p / p.sum()
    out.append(torch.multinomial(p, num_samples=20, replacement=True, generator=g).tolist())
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(2147483647)
    for i in range(4):
        name = []
        ix = 0
        while True:
            p = P[ix]
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            name.append(itos[ix])
            if ix == 0:
                break
        out.append(''.join(name))
    log_likelihood = 0.0
    n = 0
    for w in words:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            prob = P[stoi[ch1], stoi[ch2]]
            logprob = torch.log(prob)
            log_likelihood += logprob
            n += 1
    nll = -log_likelihood
    out.append(f'{nll=}')
    out.append(f'{nll/n}')

    xs, ys = [], []
    for w in words:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs = torch.tensor(xs)
    ys = torch.tensor(ys)
    num = xs.nelement()
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((V, V), generator=g, requires_grad=True)

    def forward(xs, ys):
        xenc = F.one_hot(xs, num_classes=V).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        return -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
    fwd = torch.compile(forward) if compiled == "model" else forward

    def step(xs, ys):
        loss = fwd(xs, ys)
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
        return loss
    step_c = torch.compile(step) if compiled == "step" else step
    for k in range(6):
        out.append(step_c(xs, ys).item())
    g = torch.Generator().manual_seed(2147483647)
    for i in range(3):
        name = []
        ix = 0
        while True:
            xenc = F.one_hot(torch.tensor([ix]), num_classes=V).float()
            logits = xenc @ W
            counts = logits.exp()
            p = counts / counts.sum(1, keepdims=True)
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            name.append(itos[ix])
            if ix == 0 or len(name) > 15:
                break
        out.append(''.join(name))
    out.append(_np(W))
    return out


# ---- 2. makemore part 2: the MLP (Bengio et al. 2003) with C[X] embeddings ----
def makemore_mlp(lib, compiled):
    torch = lib
    F = lib.nn.functional
    out = []
    words = _words(60, seed=1)
    stoi, itos = _vocab(words)
    V = len(stoi)
    block_size = 3

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + '.':
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]  # crop and append
        X = torch.tensor(X)
        Y = torch.tensor(Y)
        out.append((tuple(X.shape), tuple(Y.shape)))
        return X, Y
    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:n2])
    Xte, Yte = build_dataset(words[n2:])
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((V, 4), generator=g)
    W1 = torch.randn((12, 40), generator=g)
    b1 = torch.randn(40, generator=g)
    W2 = torch.randn((40, V), generator=g)
    b2 = torch.randn(V, generator=g)
    parameters = [C, W1, b1, W2, b2]
    out.append(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True
    lre = torch.linspace(-3, 0, 1000)
    lrs = 10 ** lre
    out.append(float(lrs[500]))

    def forward(Xb, Yb):
        emb = C[Xb]  # (32, 3, 4)
        h = torch.tanh(emb.view(-1, 12) @ W1 + b1)  # (32, 40)
        logits = h @ W2 + b2
        return F.cross_entropy(logits, Yb)
    fwd = torch.compile(forward) if compiled == "model" else forward

    def train_step(ix, lr):
        loss = fwd(Xtr[ix], Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    lossi = []
    stepi = []
    for i in range(12):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        lr = 0.1 if i < 8 else 0.01
        loss = step(ix, lr)
        stepi.append(i)
        lossi.append(loss.log10().item())
    out.append(lossi)
    with torch.no_grad():
        out.append(fwd(Xdev, Ydev).item())
        emb = C[Xte]
        h = torch.tanh(emb.view(-1, 12) @ W1 + b1)
        out.append(F.cross_entropy(h @ W2 + b2, Yte).item())
    g = torch.Generator().manual_seed(2147483647 + 10)
    for _ in range(4):
        name = []
        context = [0] * block_size
        while True:
            emb = C[torch.tensor([context])]  # (1, block_size, d)
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            logits = h @ W2 + b2
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            name.append(ix)
            if ix == 0 or len(name) > 15:
                break
        out.append(''.join(itos[i] for i in name))
    out.append([_np(p) for p in parameters])
    return out


# ---- 3. makemore part 3: hand-made Linear/BatchNorm1d/Tanh layers, activation and
# gradient statistics through retain_grad, update-to-data ratios ----
def makemore_batchnorm(lib, compiled):
    torch = lib
    F = lib.nn.functional
    out = []
    words = _words(60, seed=2)
    stoi, itos = _vocab(words)
    vocab_size = len(stoi)
    block_size = 3
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)
    g = torch.Generator().manual_seed(2147483647)

    class Linear:
        def __init__(self, fan_in, fan_out, bias=True):
            self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
            self.bias = torch.zeros(fan_out) if bias else None

        def __call__(self, x):
            self.out = x @ self.weight
            if self.bias is not None:
                self.out += self.bias
            return self.out

        def parameters(self):
            return [self.weight] + ([] if self.bias is None else [self.bias])

    class BatchNorm1d:
        def __init__(self, dim, eps=1e-5, momentum=0.1):
            self.eps = eps
            self.momentum = momentum
            self.training = True
            self.gamma = torch.ones(dim)
            self.beta = torch.zeros(dim)
            self.running_mean = torch.zeros(dim)
            self.running_var = torch.ones(dim)

        def __call__(self, x):
            if self.training:
                xmean = x.mean(0, keepdim=True)  # batch mean
                xvar = x.var(0, keepdim=True)  # batch variance
            else:
                xmean = self.running_mean
                xvar = self.running_var
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalize to unit variance
            self.out = self.gamma * xhat + self.beta
            if self.training:
                with torch.no_grad():
                    self.running_mean = (1 - self.momentum) * self.running_mean \
                        + self.momentum * xmean
                    self.running_var = (1 - self.momentum) * self.running_var \
                        + self.momentum * xvar
            return self.out

        def parameters(self):
            return [self.gamma, self.beta]

    class Tanh:
        def __call__(self, x):
            self.out = torch.tanh(x)
            return self.out

        def parameters(self):
            return []
    n_embd, n_hidden = 5, 24
    C = torch.randn((vocab_size, n_embd), generator=g)
    layers = [
        Linear(n_embd * block_size, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size, bias=False), BatchNorm1d(vocab_size),
    ]
    with torch.no_grad():
        layers[-1].gamma *= 0.1  # last layer: make less confident
        for layer in layers[:-1]:  # all other layers: apply gain
            if isinstance(layer, Linear):
                layer.weight *= 5 / 3
    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    out.append(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True

    def forward(Xb):
        emb = C[Xb]
        x = emb.view(emb.shape[0], -1)
        for layer in layers:
            x = layer(x)
        return x
    fwd = torch.compile(forward) if compiled == "model" else forward

    def train_step(Xb, Yb, lr):
        logits = fwd(Xb)
        loss = F.cross_entropy(logits, Yb)
        for layer in layers:
            layer.out.retain_grad()  # AFTER_DEBUG: would take out retain_graph
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    ud = []
    for i in range(6):
        ix = torch.randint(0, Xtr.shape[0], (16,), generator=g)
        lr = 0.1 if i < 4 else 0.01
        loss = step(Xtr[ix], Ytr[ix], lr)
        out.append(f'{i:7d}: {loss.item():.4f}')
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
    out.append(ud)
    for i, layer in enumerate(layers[:-1]):  # note: exclude the output layer
        if isinstance(layer, Tanh):
            t = layer.out
            out.append('layer %d (%10s): mean %+.2f, std %.2f, saturated: %.2f%%' % (
                i, layer.__class__.__name__, t.mean(), t.std(),
                (t.abs() > 0.97).float().mean() * 100))
            t = layer.out.grad
            out.append('layer %d (%10s): mean %+f, std %e' % (
                i, layer.__class__.__name__, t.mean(), t.std()))
    for p in parameters:
        t = p.grad
        if p.ndim == 2:
            out.append('weight %10s | mean %+f | std %e | grad:data ratio %e' % (
                tuple(p.shape), t.mean(), t.std(), t.std() / p.std()))

    @torch.no_grad()  # this decorator disables gradient tracking
    def split_loss():
        x = fwd(Xtr)
        return F.cross_entropy(x, Ytr).item()
    for layer in layers:
        layer.training = False
    out.append(split_loss())
    out.append([_np(layer.running_mean) for layer in layers if isinstance(layer, BatchNorm1d)])
    out.append([_np(p) for p in parameters])
    return out


# ---- 4. makemore part 4: becoming a backprop ninja (a manual backward pass, checked
# against autograd with `cmp`, then training with it) ----
def backprop_ninja(lib, compiled):
    torch = lib
    F = lib.nn.functional
    out = []
    words = _words(40, seed=3)
    stoi, itos = _vocab(words)
    vocab_size = len(stoi)
    block_size = 3
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)

    def cmp(s, dt, t):  # (no `exact`: PyTorch's tanh backward rounds 1 - y*y as an FMA)
        app = torch.allclose(dt, t.grad)
        maxdiff = (dt - t.grad).abs().max().item()
        out.append(f'{s:15s} | approximate: {str(app):5s} | maxdiff: {maxdiff}')
    n_embd, n_hidden = 5, 32
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) \
        / ((n_embd * block_size)**0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    bngain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden), generator=g) * 0.1
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True
    batch_size = 16
    n = batch_size
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    Xb, Yb = Xtr[ix], Ytr[ix]
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # Bessel's correction
    bnvar_inv = (bnvar + 1e-5)**-0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes  # subtract max for numerical stability
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    for p in parameters:
        p.grad = None
    for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes,
              logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
              embcat, emb]:
        t.retain_grad()
    loss.backward()
    out.append(loss.item())

    def manual_backward(logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits,
                        logits, h, bnraw, bnvar_inv, bnvar, bndiff, hprebn, embcat, emb,
                        W1, W2, bngain, Xb, Yb):
        d = {}
        dlogprobs = torch.zeros_like(logprobs)
        dlogprobs[range(n), Yb] = -1.0 / n
        d['logprobs'] = dlogprobs
        dprobs = (1.0 / probs) * dlogprobs
        d['probs'] = dprobs
        dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
        d['counts_sum_inv'] = dcounts_sum_inv
        dcounts = counts_sum_inv * dprobs
        dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
        d['counts_sum'] = dcounts_sum
        dcounts += torch.ones_like(counts) * dcounts_sum
        d['counts'] = dcounts
        dnorm_logits = counts * dcounts
        d['norm_logits'] = dnorm_logits
        dlogits = dnorm_logits.clone()
        dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
        d['logit_maxes'] = dlogit_maxes
        dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) \
            * dlogit_maxes
        d['logits'] = dlogits
        dh = dlogits @ W2.T
        d['h'], d['W2'], d['b2'] = dh, h.T @ dlogits, dlogits.sum(0)
        dhpreact = (1.0 - h**2) * dh
        d['hpreact'] = dhpreact
        d['bngain'] = (bnraw * dhpreact).sum(0, keepdim=True)
        dbnraw = bngain * dhpreact
        d['bnraw'], d['bnbias'] = dbnraw, dhpreact.sum(0, keepdim=True)
        dbndiff = bnvar_inv * dbnraw
        dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
        d['bnvar_inv'] = dbnvar_inv
        dbnvar = (-0.5 * (bnvar + 1e-5)**-1.5) * dbnvar_inv
        d['bnvar'] = dbnvar
        dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff**2) * dbnvar
        d['bndiff2'] = dbndiff2
        dbndiff += (2 * bndiff) * dbndiff2
        d['bndiff'] = dbndiff
        dhprebn = dbndiff.clone()
        dbnmeani = (-dbndiff).sum(0)
        d['bnmeani'] = dbnmeani
        dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
        d['hprebn'] = dhprebn
        dembcat = dhprebn @ W1.T
        d['embcat'], d['W1'], d['b1'] = dembcat, embcat.T @ dhprebn, dhprebn.sum(0)
        demb = dembcat.view(emb.shape)
        d['emb'] = demb
        dC = torch.zeros_like(C)
        for k in range(Xb.shape[0]):
            for j in range(Xb.shape[1]):
                ix = Xb[k, j]
                dC[ix] += demb[k, j]
        d['C'] = dC
        return d
    manual = torch.compile(manual_backward) if compiled == "model" else manual_backward
    with torch.no_grad():
        d = manual(logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logits,
                   h, bnraw, bnvar_inv, bnvar, bndiff, hprebn, embcat, emb, W1, W2, bngain,
                   Xb, Yb)
    named = dict(logprobs=logprobs, probs=probs, counts_sum_inv=counts_sum_inv,
                 counts_sum=counts_sum, counts=counts, norm_logits=norm_logits,
                 logit_maxes=logit_maxes, logits=logits, h=h, W2=W2, b2=b2, hpreact=hpreact,
                 bngain=bngain, bnbias=bnbias, bnraw=bnraw, bnvar_inv=bnvar_inv, bnvar=bnvar,
                 bndiff2=bndiff2, bndiff=bndiff, bnmeani=bnmeani, hprebn=hprebn,
                 embcat=embcat, W1=W1, b1=b1, emb=emb, C=C)
    for name, t in named.items():
        cmp(name, d[name], t)
    # exercise 2: cross entropy in one go
    loss_fast = F.cross_entropy(logits, Yb)
    out.append(('loss_fast', loss_fast.item(), 'diff', abs(loss_fast.item() - loss.item()) < 1e-6))
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    cmp('logits', dlogits, logits)
    # exercise 3: batch norm in one go
    dhprebn = bngain * bnvar_inv / n * (n * hpreact.grad - hpreact.grad.sum(0)
                                        - n / (n - 1) * bnraw * (hpreact.grad * bnraw).sum(0))
    cmp('hprebn', dhprebn, hprebn)

    # exercise 4: training with the manual backward pass
    def train_step(Xb, Yb, lr):
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmean = hprebn.mean(0, keepdim=True)
        bnvar = hprebn.var(0, keepdim=True, unbiased=True)
        bnvar_inv = (bnvar + 1e-5)**-0.5
        bnraw = (hprebn - bnmean) * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        dlogits = F.softmax(logits, 1)
        dlogits[range(n), Yb] -= 1
        dlogits /= n
        dh = dlogits @ W2.T
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(0)
        dhpreact = (1.0 - h**2) * dh
        dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
        dbnbias = dhpreact.sum(0, keepdim=True)
        dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)
                                            - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
        dembcat = dhprebn @ W1.T
        dW1 = embcat.T @ dhprebn
        db1 = dhprebn.sum(0)
        demb = dembcat.view(emb.shape)
        dC = torch.zeros_like(C)
        for k in range(Xb.shape[0]):
            for j in range(Xb.shape[1]):
                ix = Xb[k, j]
                dC[ix] += demb[k, j]
        grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
        for p, grad in zip(parameters, grads):
            p.data += -lr * grad
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    with torch.no_grad():
        for i in range(5):
            ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
            out.append(step(Xtr[ix], Ytr[ix], 0.1).item())
    out.append([_np(p) for p in parameters])
    return out


# ---- 5. makemore part 5: the WaveNet-style hierarchy (Embedding, FlattenConsecutive,
# BatchNorm1d over dims (0, 1), a hand-made Sequential) ----
def makemore_wavenet(lib, compiled):
    torch = lib
    F = lib.nn.functional
    out = []
    words = _words(60, seed=4)
    stoi, itos = _vocab(words)
    vocab_size = len(stoi)
    block_size = 8
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)
    for x, y in zip(Xtr[:4], Ytr[:4]):
        out.append(''.join(itos[ix.item()] for ix in x) + '-->' + itos[y.item()])

    class Linear:
        def __init__(self, fan_in, fan_out, bias=True):
            self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5  # kaiming init
            self.bias = torch.zeros(fan_out) if bias else None

        def __call__(self, x):
            self.out = x @ self.weight
            if self.bias is not None:
                self.out += self.bias
            return self.out

        def parameters(self):
            return [self.weight] + ([] if self.bias is None else [self.bias])

    class BatchNorm1d:
        def __init__(self, dim, eps=1e-5, momentum=0.1):
            self.eps = eps
            self.momentum = momentum
            self.training = True
            self.gamma = torch.ones(dim)
            self.beta = torch.zeros(dim)
            self.running_mean = torch.zeros(dim)
            self.running_var = torch.ones(dim)

        def __call__(self, x):
            if self.training:
                if x.ndim == 2:
                    dim = 0
                elif x.ndim == 3:
                    dim = (0, 1)
                xmean = x.mean(dim, keepdim=True)
                xvar = x.var(dim, keepdim=True)
            else:
                xmean = self.running_mean
                xvar = self.running_var
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
            self.out = self.gamma * xhat + self.beta
            if self.training:
                with torch.no_grad():
                    self.running_mean = (1 - self.momentum) * self.running_mean \
                        + self.momentum * xmean
                    self.running_var = (1 - self.momentum) * self.running_var \
                        + self.momentum * xvar
            return self.out

        def parameters(self):
            return [self.gamma, self.beta]

    class Tanh:
        def __call__(self, x):
            self.out = torch.tanh(x)
            return self.out

        def parameters(self):
            return []

    class Embedding:
        def __init__(self, num_embeddings, embedding_dim):
            self.weight = torch.randn((num_embeddings, embedding_dim))

        def __call__(self, IX):
            self.out = self.weight[IX]
            return self.out

        def parameters(self):
            return [self.weight]

    class FlattenConsecutive:
        def __init__(self, n):
            self.n = n

        def __call__(self, x):
            B, T, C = x.shape
            x = x.view(B, T // self.n, C * self.n)
            if x.shape[1] == 1:
                x = x.squeeze(1)
            self.out = x
            return self.out

        def parameters(self):
            return []

    class Sequential:
        def __init__(self, layers):
            self.layers = layers

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            self.out = x
            return self.out

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]
    torch.manual_seed(42)
    n_embd, n_hidden = 4, 16
    model = Sequential([
        Embedding(vocab_size, n_embd),
        FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False),
        BatchNorm1d(n_hidden), Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False),
        BatchNorm1d(n_hidden), Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False),
        BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size),
    ])
    with torch.no_grad():
        model.layers[-1].weight *= 0.1  # last layer make less confident
    parameters = model.parameters()
    out.append(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True
    fwd = torch.compile(model) if compiled == "model" else model

    def train_step(Xb, Yb, lr):
        logits = fwd(Xb)
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    lossi = []
    for i in range(8):
        ix = torch.randint(0, Xtr.shape[0], (12,))
        lr = 0.1 if i < 6 else 0.01
        loss = step(Xtr[ix], Ytr[ix], lr)
        lossi.append(loss.log10().item())
    out.append(torch.tensor(lossi).view(-1, 4).mean(1).tolist())
    for layer in model.layers:
        out.append(layer.__class__.__name__ + ': ' + str(tuple(layer.out.shape)))
    for layer in model.layers:
        layer.training = False
    with torch.no_grad():
        out.append(F.cross_entropy(fwd(Xtr), Ytr).item())
    for _ in range(3):
        name = []
        context = [0] * block_size
        while True:
            logits = fwd(torch.tensor([context]))
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1).item()
            context = context[1:] + [ix]
            name.append(ix)
            if ix == 0 or len(name) > 12:
                break
        out.append(''.join(itos[i] for i in name))
    out.append([_np(p) for p in parameters])
    return out


# ---- 6. "Let's build GPT: from scratch": the mathematical trick of self-attention in its
# four versions, then the bigram model grown into a small Transformer ----
def gpt_from_scratch(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    out = []
    torch.manual_seed(1337)
    B, T, C = 4, 8, 2
    x = torch.randn(B, T, C)
    xbow = torch.zeros((B, T, C))
    for b in range(B):
        for t in range(T):
            xprev = x[b, :t + 1]  # (t,C)
            xbow[b, t] = torch.mean(xprev, 0)
    wei = torch.tril(torch.ones(T, T))
    wei = wei / wei.sum(1, keepdim=True)
    xbow2 = wei @ x  # (B, T, T) @ (B, T, C) ----> (B, T, C)
    tril = torch.tril(torch.ones(T, T))
    wei = torch.zeros((T, T))
    wei = wei.masked_fill(tril == 0, float('-inf'))
    wei = F.softmax(wei, dim=-1)
    xbow3 = wei @ x
    # (the video's torch.allclose(xbow, xbow2) is False with PyTorch 2.13's bmm here)
    out.append((torch.allclose(xbow, xbow2, atol=1e-6), torch.allclose(xbow, xbow3, atol=1e-6),
                _np(xbow3)))
    torch.manual_seed(1337)
    B, T, C = 4, 8, 32
    x = torch.randn(B, T, C)
    head_size = 16
    key = nn.Linear(C, head_size, bias=False)
    query = nn.Linear(C, head_size, bias=False)
    value = nn.Linear(C, head_size, bias=False)
    k = key(x)  # (B, T, 16)
    q = query(x)  # (B, T, 16)
    wei = q @ k.transpose(-2, -1)  # (B, T, 16) @ (B, 16, T) ---> (B, T, T)
    wei = wei.masked_fill(tril == 0, float('-inf'))
    wei = F.softmax(wei, dim=-1)
    out.append((_np(wei[0]), _np(wei @ value(x))))
    k = torch.randn(B, T, head_size)
    q = torch.randn(B, T, head_size)
    wei = q @ k.transpose(-2, -1) * head_size**-0.5
    out.append((k.var().item(), q.var().item(), wei.var().item()))
    out.append(torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5]) * 8, dim=-1).tolist())

    rng = random.Random(5)
    text = "".join(rng.choice(["hello world. ", "to be or not. ", "gpt! "]) for _ in range(60))
    chars = sorted(list(set(text)))
    vocab_size = len(chars)
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    encode = lambda s: [stoi[c] for c in s]
    decode = lambda l: ''.join([itos[i] for i in l])
    data = torch.tensor(encode(text), dtype=torch.long)
    n = int(0.9 * len(data))
    train_data = data[:n]
    val_data = data[n:]
    batch_size, block_size, max_iters, eval_interval = 4, 8, 6, 3
    learning_rate, eval_iters, n_embd, n_head, n_layer, dropout = 1e-2, 2, 16, 2, 2, 0.1

    def get_batch(split):
        data = train_data if split == 'train' else val_data
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([data[i:i + block_size] for i in ix])
        y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
        return x, y

    class Head(nn.Module):
        """ one head of self-attention """

        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(n_embd, head_size, bias=False)
            self.query = nn.Linear(n_embd, head_size, bias=False)
            self.value = nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            B, T, C = x.shape
            k = self.key(x)  # (B,T,C)
            q = self.query(x)  # (B,T,C)
            wei = q @ k.transpose(-2, -1) * C**-0.5  # (B, T, C) @ (B, C, T) -> (B, T, T)
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))  # (B, T, T)
            wei = F.softmax(wei, dim=-1)  # (B, T, T)
            wei = self.dropout(wei)
            v = self.value(x)  # (B,T,C)
            out = wei @ v  # (B, T, T) @ (B, T, C) -> (B, T, C)
            return out

    class MultiHeadAttention(nn.Module):
        """ multiple heads of self-attention in parallel """

        def __init__(self, num_heads, head_size):
            super().__init__()
            self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
            self.proj = nn.Linear(n_embd, n_embd)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            out = torch.cat([h(x) for h in self.heads], dim=-1)
            out = self.dropout(self.proj(out))
            return out

    class FeedFoward(nn.Module):
        """ a simple linear layer followed by a non-linearity """

        def __init__(self, n_embd):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd),
                nn.ReLU(),
                nn.Linear(4 * n_embd, n_embd),
                nn.Dropout(dropout),
            )

        def forward(self, x):
            return self.net(x)

    class Block(nn.Module):
        """ Transformer block: communication followed by computation """

        def __init__(self, n_embd, n_head):
            super().__init__()
            head_size = n_embd // n_head
            self.sa = MultiHeadAttention(n_head, head_size)
            self.ffwd = FeedFoward(n_embd)
            self.ln1 = nn.LayerNorm(n_embd)
            self.ln2 = nn.LayerNorm(n_embd)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            x = x + self.ffwd(self.ln2(x))
            return x

    class BigramLanguageModel(nn.Module):

        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
            self.position_embedding_table = nn.Embedding(block_size, n_embd)
            self.blocks = nn.Sequential(*[Block(n_embd, n_head=n_head) for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)  # final layer norm
            self.lm_head = nn.Linear(n_embd, vocab_size)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            tok_emb = self.token_embedding_table(idx)  # (B,T,C)
            pos_emb = self.position_embedding_table(torch.arange(T))  # (T,C)
            x = tok_emb + pos_emb  # (B,T,C)
            x = self.blocks(x)  # (B,T,C)
            x = self.ln_f(x)  # (B,T,C)
            logits = self.lm_head(x)  # (B,T,vocab_size)
            if targets is None:
                loss = None
            else:
                B, T, C = logits.shape
                logits = logits.view(B * T, C)
                targets = targets.view(B * T)
                loss = F.cross_entropy(logits, targets)
            return logits, loss

        def generate(self, idx, max_new_tokens):
            for _ in range(max_new_tokens):
                idx_cond = idx[:, -block_size:]
                logits, loss = fwd(idx_cond)
                logits = logits[:, -1, :]  # becomes (B, C)
                probs = F.softmax(logits, dim=-1)  # (B, C)
                idx_next = torch.multinomial(probs, num_samples=1)  # (B, 1)
                idx = torch.cat((idx, idx_next), dim=1)  # (B, T+1)
            return idx
    torch.manual_seed(1337)
    model = BigramLanguageModel()
    m = model
    fwd = torch.compile(model) if compiled == "model" else model
    out.append(f'{sum(p.numel() for p in m.parameters())/1e6} M parameters')

    @torch.no_grad()
    def estimate_loss():
        result = {}
        model.eval()
        for split in ['train', 'val']:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                logits, loss = fwd(X, Y)
                losses[k] = loss.item()
            result[split] = losses.mean()
        model.train()
        return result
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

    def train_step(xb, yb):
        logits, loss = fwd(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for iter in range(max_iters):
        if iter % eval_interval == 0 or iter == max_iters - 1:
            losses = estimate_loss()
            out.append(f"step {iter}: train loss {losses['train']:.4f}, "
                       f"val loss {losses['val']:.4f}")
        xb, yb = get_batch('train')
        out.append(step(xb, yb).item())
    model.eval()
    context = torch.zeros((1, 1), dtype=torch.long)
    out.append(decode(m.generate(context, max_new_tokens=12)[0].tolist()))
    out.append(_state(model))
    return out


# ---- 7. Dive into Deep Learning 3.2-3.3: linear regression from scratch (synthetic_data
# with torch.normal, a shuffling data_iter, sgd under no_grad) and concisely ----
def d2l_linreg(lib, compiled):
    torch = lib
    nn = lib.nn
    data = lib.utils.data
    out = []

    def synthetic_data(w, b, num_examples):
        """Generate y = Xw + b + noise."""
        X = torch.normal(0, 1, (num_examples, len(w)))
        y = torch.matmul(X, w) + b
        y += torch.normal(0, 0.01, y.shape)
        return X, y.reshape((-1, 1))
    torch.manual_seed(0)
    random.seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 100)
    out.append(('features:', _np(features[0]), '\nlabel:', _np(labels[0])))

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        random.shuffle(indices)  # The examples are read at random, in no particular order
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def linreg(X, w, b):
        """The linear regression model."""
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        """Squared loss."""
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        """Minibatch stochastic gradient descent."""
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()
    lr, num_epochs, batch_size = 0.03, 3, 16
    net = torch.compile(linreg) if compiled == "model" else linreg
    loss = squared_loss

    def train_batch(X, y):
        l = loss(net(X, w, b), y)
        l.sum().backward()
        sgd([w, b], lr, batch_size)  # Update parameters using their gradient
    step = torch.compile(train_batch) if compiled == "step" else train_batch
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            step(X, y)
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            out.append(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')
    out.append(f'error in estimating w: {true_w - w.reshape(true_w.shape)}')
    out.append(f'error in estimating b: {true_b - b}')

    def load_array(data_arrays, batch_size, is_train=True):
        """Construct a PyTorch data iterator."""
        dataset = data.TensorDataset(*data_arrays)
        return data.DataLoader(dataset, batch_size, shuffle=is_train)
    data_loader = load_array((features, labels), batch_size)
    model = nn.Sequential(nn.Linear(2, 1))
    model[0].weight.data.normal_(0, 0.01)
    model[0].bias.data.fill_(0)
    net = torch.compile(model) if compiled == "model" else model
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(model.parameters(), lr=0.03)

    def train_concise(X, y):
        l = loss(net(X), y)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    step = torch.compile(train_concise) if compiled == "step" else train_concise
    for epoch in range(num_epochs):
        for X, y in data_loader:
            step(X, y)
        l = loss(net(features), labels)
        out.append(f'epoch {epoch + 1}, loss {l:f}')
    w = model[0].weight.data
    out.append(('error in estimating w:', _np(true_w - w.reshape(true_w.shape))))
    out.append(('error in estimating b:', true_b - model[0].bias.data.item()))
    return out


# ---- 8. Dive into Deep Learning 3.6-4.6: softmax regression from scratch (Accumulator,
# y_hat[range(len(y_hat)), y]), an MLP with dropout from scratch, weight decay by hand and
# through parameter groups, `net.apply(init_weights)` ----
def d2l_softmax_mlp(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []
    torch.manual_seed(1)
    rng = np.random.default_rng(8)
    images = torch.tensor(rng.standard_normal((60, 1, 4, 4)).astype(np.float32))
    labels = torch.tensor(rng.integers(0, 5, 60))
    train_iter = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images[:48], labels[:48]), 16, shuffle=True)
    test_iter = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images[48:], labels[48:]), 16, shuffle=False)
    num_inputs, num_outputs = 16, 5
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition  # The broadcasting mechanism is applied here
    X = torch.normal(0, 1, (2, 5))
    X_prob = softmax(X)
    out.append((_np(X_prob), X_prob.sum(1).tolist()))

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat[range(len(y_hat)), y])
    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    out.append((y_hat[[0, 1], y].tolist(), cross_entropy(y_hat, y).tolist()))

    def accuracy(y_hat, y):
        """Compute the number of correct predictions."""
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    class Accumulator:
        """For accumulating sums over `n` variables."""

        def __init__(self, n):
            self.data = [0.0] * n

        def add(self, *args):
            self.data = [a + float(b) for a, b in zip(self.data, args)]

        def reset(self):
            self.data = [0.0] * len(self.data)

        def __getitem__(self, idx):
            return self.data[idx]

    def evaluate_accuracy(net, data_iter):
        """Compute the accuracy for a model on a dataset."""
        if isinstance(net, torch.nn.Module):
            net.eval()  # Set the model to evaluation mode
        metric = Accumulator(2)  # No. of correct predictions, no. of predictions
        with torch.no_grad():
            for X, y in data_iter:
                metric.add(accuracy(net(X), y), y.numel())
        return metric[0] / metric[1]

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    def train_epoch_ch3(net, train_iter, loss, updater):
        """The training loop defined in Chapter 3."""
        if isinstance(net, torch.nn.Module):
            net.train()
        metric = Accumulator(3)

        def batch(X, y):
            y_hat = net(X)
            l = loss(y_hat, y)
            if isinstance(updater, torch.optim.Optimizer):
                updater.zero_grad()
                l.mean().backward()
                updater.step()
            else:
                l.sum().backward()
                updater(X.shape[0])
            return y_hat, l
        step = torch.compile(batch) if compiled == "step" else batch
        for X, y in train_iter:
            y_hat, l = step(X, y)
            metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        return metric[0] / metric[2], metric[1] / metric[2]

    def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
        for epoch in range(num_epochs):
            train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
            test_acc = evaluate_accuracy(net, test_iter)
            out.append((epoch + 1, train_metrics, test_acc))
    lr = 0.1

    def updater(batch_size):
        return sgd([W, b], lr, batch_size)
    train_ch3(torch.compile(net) if compiled == "model" else net, train_iter, test_iter,
              cross_entropy, 2, updater)
    out.append((_np(W), _np(b)))

    def dropout_layer(X, dropout):
        assert 0 <= dropout <= 1
        if dropout == 1:
            return torch.zeros_like(X)
        mask = (torch.rand(X.shape) > dropout).float()
        return mask * X / (1.0 - dropout)
    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    out.append((_np(dropout_layer(X, 0.)), _np(dropout_layer(X, 0.5)), _np(dropout_layer(X, 1.))))
    dropout1, dropout2 = 0.2, 0.5

    class Net(nn.Module):
        def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2,
                     is_training=True):
            super(Net, self).__init__()
            self.num_inputs = num_inputs
            self.training = is_training
            self.lin1 = nn.Linear(num_inputs, num_hiddens1)
            self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
            self.lin3 = nn.Linear(num_hiddens2, num_outputs)
            self.relu = nn.ReLU()

        def forward(self, X):
            H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
            if self.training:  # Use dropout only when training the model
                H1 = dropout_layer(H1, dropout1)
            H2 = self.relu(self.lin2(H1))
            if self.training:
                H2 = dropout_layer(H2, dropout2)
            return self.lin3(H2)
    model = Net(num_inputs, num_outputs, 32, 16)
    loss = nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(model.parameters(), lr=0.5)
    train_ch3(torch.compile(model) if compiled == "model" else model, train_iter, test_iter,
              loss, 2, trainer)
    out.append(_state(model))

    def init_weights(m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, std=0.01)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Dropout(dropout1),
                          nn.Linear(32, 16), nn.ReLU(), nn.Dropout(dropout2), nn.Linear(16, 5))
    model.apply(init_weights)
    wd = 3
    for param in model.parameters():
        param.data.normal_()
    trainer = torch.optim.SGD([
        {"params": model[1].weight, 'weight_decay': wd},
        {"params": model[1].bias},
        {"params": [p for p in list(model.parameters())[2:]]}], lr=0.003)
    train_ch3(torch.compile(model) if compiled == "model" else model, train_iter, test_iter,
              loss, 2, trainer)
    out.append(('L2 norm of w:', model[1].weight.norm().item()))
    out.append(_state(model))
    return out


# ---- 9. Dive into Deep Learning 8.5: batch normalization from scratch (moving statistics,
# torch.is_grad_enabled()) in a LeNet with sigmoid and average pooling ----
def d2l_batchnorm(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []

    def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        # Use is_grad_enabled to determine whether we are in training mode
        if not torch.is_grad_enabled():
            # In prediction mode, use mean and variance obtained by moving average
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            assert len(X.shape) in (2, 4)
            if len(X.shape) == 2:
                # When using a fully connected layer, calculate the mean and
                # variance on the feature dimension
                mean = X.mean(dim=0)
                var = ((X - mean) ** 2).mean(dim=0)
            else:
                # When using a two-dimensional convolutional layer, calculate the
                # mean and variance on the channel dimension (axis=1). Here we
                # need to maintain the shape of `X`, so that the broadcasting
                # operation can be carried out later
                mean = X.mean(dim=(0, 2, 3), keepdim=True)
                var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            # In training mode, the current mean and variance are used
            X_hat = (X - mean) / torch.sqrt(var + eps)
            # Update the mean and variance using moving average
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        Y = gamma * X_hat + beta  # Scale and shift
        return Y, moving_mean.data, moving_var.data

    class BatchNorm(nn.Module):
        # `num_features`: the number of outputs for a fully connected layer
        # or the number of output channels for a convolutional layer. `num_dims`:
        # 2 for a fully connected layer and 4 for a convolutional layer
        def __init__(self, num_features, num_dims):
            super().__init__()
            if num_dims == 2:
                shape = (1, num_features)
            else:
                shape = (1, num_features, 1, 1)
            # The scale parameter and the shift parameter (model parameters) are
            # initialized to 1 and 0, respectively
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            # The variables that are not model parameters are initialized to 0 and 1
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X):
            # If `X` is not on the main memory, copy `moving_mean` and
            # `moving_var` to the device where `X` is located
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            # Save the updated `moving_mean` and `moving_var`
            Y, self.moving_mean, self.moving_var = batch_norm(
                X, self.gamma, self.beta, self.moving_mean,
                self.moving_var, eps=1e-5, momentum=0.1)
            return Y
    torch.manual_seed(2)
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
    fwd = torch.compile(net) if compiled == "model" else net
    X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
    with torch.no_grad():
        for layer in net:
            X = layer(X)
            out.append(layer.__class__.__name__ + ' output shape:\t' + str(X.shape))
    images, labels = _images(40, (1, 28, 28), 9)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(images), torch.from_numpy(labels)), batch_size=16, shuffle=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
    loss = nn.CrossEntropyLoss()

    def train_batch(X, y):
        optimizer.zero_grad()
        y_hat = fwd(X)
        l = loss(y_hat, y)
        l.backward()
        optimizer.step()
        return l
    step = torch.compile(train_batch) if compiled == "step" else train_batch
    for epoch in range(2):
        net.train()
        for X, y in loader:
            out.append(step(X, y).item())
        net.eval()
        with torch.no_grad():
            out.append(_np(fwd(torch.from_numpy(images[:8])).argmax(axis=1)))
    out.append((_np(net[1].gamma.reshape((-1,))), _np(net[1].beta.reshape((-1,)))))
    out.append([_np(net[i].moving_mean) for i in (1, 5, 10, 13)])
    out.append(_state(net))
    return out


def _images(n, shape, seed, classes=10):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, classes, n)


# ---- 10. Dive into Deep Learning 7.2-7.5: corr2d by hand, learning a kernel through
# `conv2d.weight.data[:] -=`, multiple channels, 1x1 convolutions as matmul, pooling ----
def d2l_conv_basics(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []

    def corr2d(X, K):
        """Compute 2D cross-correlation."""
        h, w = K.shape
        Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
        return Y
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    out.append(_np(corr2d(X, K)))

    class Conv2D(nn.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.weight = nn.Parameter(torch.rand(kernel_size))
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return corr2d(x, self.weight) + self.bias
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    K = torch.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)
    out.append((_np(Y), _np(corr2d(X.t(), K))))
    torch.manual_seed(3)
    mine = Conv2D(kernel_size=(1, 2))
    out.append(_np(mine(X)))
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    fwd = torch.compile(conv2d) if compiled == "model" else conv2d
    X = X.reshape((1, 1, 6, 8))
    Y = Y.reshape((1, 1, 6, 7))
    lr = 3e-2  # Learning rate

    def step(X, Y):
        Y_hat = fwd(X)
        l = (Y_hat - Y) ** 2
        conv2d.zero_grad()
        l.sum().backward()
        # Update the kernel
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        return l
    step_c = torch.compile(step) if compiled == "step" else step
    for i in range(10):
        l = step_c(X, Y)
        if (i + 1) % 2 == 0:
            out.append(f'epoch {i + 1}, loss {l.sum():.3f}')
    out.append(_np(conv2d.weight.data.reshape((1, 2))))

    def corr2d_multi_in(X, K):
        # Iterate through the 0th dimension (channel) of K first, then add them up
        return sum(corr2d(x, k) for x, k in zip(X, K))

    def corr2d_multi_in_out(X, K):
        # Iterate through the 0th dimension of `K`, and each time, perform
        # cross-correlation operations with input `X`. All of the results are
        # stacked together
        return torch.stack([corr2d_multi_in(X, k) for k in K], 0)

    def corr2d_multi_in_out_1x1(X, K):
        c_i, h, w = X.shape
        c_o = K.shape[0]
        X = X.reshape((c_i, h * w))
        K = K.reshape((c_o, c_i))
        # Matrix multiplication in the fully connected layer
        Y = torch.matmul(K, X)
        return Y.reshape((c_o, h, w))
    X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                      [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    K = torch.stack((K, K + 1, K + 2), 0)
    out.append((tuple(K.shape), _np(corr2d_multi_in_out(X, K))))
    X = torch.normal(0, 1, (3, 3, 3))
    K = torch.normal(0, 1, (2, 3, 1, 1))
    Y1 = corr2d_multi_in_out_1x1(X, K)
    Y2 = corr2d_multi_in_out(X, K)
    out.append(float(torch.abs(Y1 - Y2).sum()) < 1e-6)

    def pool2d(X, pool_size, mode='max'):
        p_h, p_w = pool_size
        Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                if mode == 'max':
                    Y[i, j] = X[i: i + p_h, j: j + p_w].max()
                elif mode == 'avg':
                    Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
        return Y
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    out.append((_np(pool2d(X, (2, 2))), _np(pool2d(X, (2, 2), 'avg'))))
    X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
    out.append(_np(nn.MaxPool2d(3)(X)))
    out.append(_np(nn.MaxPool2d(3, padding=1, stride=2)(X)))
    out.append(_np(nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X)))
    X = torch.cat((X, X + 1), 1)
    out.append(_np(nn.MaxPool2d(3, padding=1, stride=2)(X)))

    def comp_conv2d(conv2d, X):
        # (1, 1) indicates that batch size and the number of channels are both 1
        X = X.reshape((1, 1) + X.shape)
        Y = conv2d(X)
        # Strip the first two dimensions: examples and channels
        return Y.reshape(Y.shape[2:])
    X = torch.rand(size=(8, 8))
    out.append([tuple(comp_conv2d(c, X).shape) for c in (
        nn.Conv2d(1, 1, kernel_size=3, padding=1),
        nn.Conv2d(1, 1, kernel_size=(5, 3), padding=(2, 1)),
        nn.Conv2d(1, 1, kernel_size=3, padding=1, stride=2),
        nn.Conv2d(1, 1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)))])
    return out


# ---- 11. Dive into Deep Learning 8.2-8.6: VGG blocks, NiN blocks, an Inception block and
# residual blocks, shapes printed layer by layer, then trained ----
def d2l_modern_cnns(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    out = []

    def vgg_block(num_convs, in_channels, out_channels):
        layers = []
        for _ in range(num_convs):
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            layers.append(nn.ReLU())
            in_channels = out_channels
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        return nn.Sequential(*layers)

    def nin_block(in_channels, out_channels, kernel_size, strides, padding):
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())

    class Inception(nn.Module):
        # `c1`--`c4` are the number of output channels for each path
        def __init__(self, in_channels, c1, c2, c3, c4, **kwargs):
            super(Inception, self).__init__(**kwargs)
            # Path 1 is a single 1 x 1 convolutional layer
            self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
            # Path 2 is a 1 x 1 convolutional layer followed by a 3 x 3
            # convolutional layer
            self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
            self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
            # Path 3 is a 1 x 1 convolutional layer followed by a 5 x 5
            # convolutional layer
            self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
            self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
            # Path 4 is a 3 x 3 maximum pooling layer followed by a 1 x 1
            # convolutional layer
            self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
            self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

        def forward(self, x):
            p1 = F.relu(self.p1_1(x))
            p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
            p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
            p4 = F.relu(self.p4_2(self.p4_1(x)))
            # Concatenate the outputs on the channel dimension
            return torch.cat((p1, p2, p3, p4), dim=1)

    class Residual(nn.Module):
        """The Residual block of ResNet."""

        def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                                   stride=strides)
            self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1,
                                       stride=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.BatchNorm2d(num_channels)
            self.bn2 = nn.BatchNorm2d(num_channels)

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    def resnet_block(input_channels, num_channels, num_residuals, first_block=False):
        blk = []
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blk.append(Residual(input_channels, num_channels, use_1x1conv=True,
                                    strides=2))
            else:
                blk.append(Residual(num_channels, num_channels))
        return blk
    torch.manual_seed(4)
    blk = Residual(3, 3)
    X = torch.rand(4, 3, 6, 6)
    out.append(tuple(blk(X).shape))
    blk = Residual(3, 6, use_1x1conv=True, strides=2)
    out.append(tuple(blk(X).shape))
    conv_arch = ((1, 4), (1, 8))
    conv_blks = []
    in_channels = 1
    for (num_convs, out_channels) in conv_arch:
        conv_blks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    net = nn.Sequential(
        *conv_blks,
        nin_block(8, 8, kernel_size=3, strides=1, padding=1),
        Inception(8, 4, (4, 8), (2, 4), 4),
        nn.Sequential(*resnet_block(20, 16, 2)),
        nn.Sequential(*resnet_block(16, 16, 1, first_block=True)),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, 10))
    X = torch.randn(size=(1, 1, 16, 16))
    net.eval()
    for blk in net:
        X = blk(X)
        out.append(f'{blk.__class__.__name__} output shape:\t{X.shape}')
    fwd = torch.compile(net) if compiled == "model" else net

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)
    net.apply(init_weights)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    loss = nn.CrossEntropyLoss()
    images, labels = _images(36, (1, 16, 16), 10)

    def train_batch(X, y):
        optimizer.zero_grad()
        y_hat = fwd(X)
        l = loss(y_hat, y)
        l.backward()
        optimizer.step()
        return l, y_hat
    step = torch.compile(train_batch) if compiled == "step" else train_batch
    net.train()
    for i in range(0, 36, 12):
        l, y_hat = step(torch.from_numpy(images[i:i + 12]), torch.from_numpy(labels[i:i + 12]))
        out.append((l.item(), (y_hat.argmax(axis=1) == torch.from_numpy(labels[i:i + 12]))
                    .sum().item()))
    net.eval()
    with torch.no_grad():
        out.append(_np(fwd(torch.from_numpy(images[:6]))))
    out.append(_state(net))
    return out


# ---- 12. Dive into Deep Learning 9.5, 10.1: an RNN and an LSTM from scratch (one-hot
# inputs through F.one_hot(X.T), gradient clipping by hand, state.detach_(), prediction,
# perplexity) ----
def d2l_rnn_scratch(lib, compiled):
    torch = lib
    F = lib.nn.functional
    out = []
    rng = random.Random(12)
    corpus_text = "".join(rng.choice(["the time machine ", "by h g wells "]) for _ in range(30))
    idx_to_token = sorted(set(corpus_text))
    token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
    corpus = [token_to_idx[c] for c in corpus_text]
    vocab_size = len(idx_to_token)
    num_steps, batch_size = 6, 4

    def seq_data_iter_sequential(corpus, batch_size, num_steps):
        offset = random.randint(0, num_steps)
        num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
        Xs = torch.tensor(corpus[offset: offset + num_tokens])
        Ys = torch.tensor(corpus[offset + 1: offset + 1 + num_tokens])
        Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
        num_batches = Xs.shape[1] // num_steps
        for i in range(0, num_steps * num_batches, num_steps):
            X = Xs[:, i: i + num_steps]
            Y = Ys[:, i: i + num_steps]
            yield X, Y
    out.append(_np(F.one_hot(torch.tensor([0, 2]), vocab_size)))

    def get_params(vocab_size, num_hiddens, gates):
        num_inputs = num_outputs = vocab_size

        def normal(shape):
            return torch.randn(size=shape) * 0.01

        def three():
            return (normal((num_inputs, num_hiddens)), normal((num_hiddens, num_hiddens)),
                    torch.zeros(num_hiddens))
        params = [p for _ in range(gates) for p in three()]
        params += [normal((num_hiddens, num_outputs)), torch.zeros(num_outputs)]
        for param in params:
            param.requires_grad_(True)
        return params

    def init_rnn_state(batch_size, num_hiddens):
        return (torch.zeros((batch_size, num_hiddens)), )

    def rnn(inputs, state, params):
        # Here `inputs` shape: (`num_steps`, `batch_size`, `vocab_size`)
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        # Shape of `X`: (`batch_size`, `vocab_size`)
        for X in inputs:
            H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
            Y = torch.mm(H, W_hq) + b_q
            outputs.append(Y)
        return torch.cat(outputs, dim=0), (H,)

    def init_lstm_state(batch_size, num_hiddens):
        return (torch.zeros((batch_size, num_hiddens)), torch.zeros((batch_size, num_hiddens)))

    def lstm(inputs, state, params):
        [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq,
         b_q] = params
        (H, C) = state
        outputs = []
        for X in inputs:
            I = torch.sigmoid((X @ W_xi) + (H @ W_hi) + b_i)
            F_ = torch.sigmoid((X @ W_xf) + (H @ W_hf) + b_f)
            O = torch.sigmoid((X @ W_xo) + (H @ W_ho) + b_o)
            C_tilda = torch.tanh((X @ W_xc) + (H @ W_hc) + b_c)
            C = F_ * C + I * C_tilda
            H = O * torch.tanh(C)
            Y = (H @ W_hq) + b_q
            outputs.append(Y)
        return torch.cat(outputs, dim=0), (H, C)

    class RNNModelScratch:
        """A RNN Model implemented from scratch."""

        def __init__(self, vocab_size, num_hiddens, gates, init_state, forward_fn):
            self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
            self.params = get_params(vocab_size, num_hiddens, gates)
            self.init_state, self.forward_fn = init_state, forward_fn
            self.run = torch.compile(self.forward_fn) if compiled == "model" else forward_fn

        def __call__(self, X, state):
            X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
            return self.run(X, state, self.params)

        def begin_state(self, batch_size):
            return self.init_state(batch_size, self.num_hiddens)

    def predict_ch8(prefix, num_preds, net):
        """Generate new characters following the `prefix`."""
        state = net.begin_state(batch_size=1)
        outputs = [token_to_idx[prefix[0]]]

        def get_input():
            return torch.tensor([outputs[-1]]).reshape((1, 1))
        for y in prefix[1:]:  # Warm-up period
            _, state = net(get_input(), state)
            outputs.append(token_to_idx[y])
        for _ in range(num_preds):  # Predict `num_preds` steps
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
        return ''.join([idx_to_token[i] for i in outputs])

    def grad_clipping(net, theta):
        """Clip the gradient."""
        params = net.params
        norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    def train_epoch_ch8(net, train_iter, loss, lr):
        state = None
        total, count = 0.0, 0

        def batch(X, y, state):
            y_hat, state = net(X, state)
            l = loss(y_hat, y.long()).mean()
            l.backward()
            grad_clipping(net, 1)
            sgd(net.params, lr, batch_size=1)
            return l, state
        step = torch.compile(batch) if compiled == "step" else batch
        for X, Y in train_iter:
            if state is None:
                state = net.begin_state(batch_size=X.shape[0])
            else:
                for s in state:
                    s.detach_()
            y = Y.T.reshape(-1)
            l, state = step(X, y, state)
            total += l.item() * y.numel()
            count += y.numel()
        return math.exp(total / count)
    for name, gates, init, fn in (("rnn", 1, init_rnn_state, rnn),
                                  ("lstm", 4, init_lstm_state, lstm)):
        torch.manual_seed(12)
        random.seed(12)
        net = RNNModelScratch(vocab_size, 16, gates, init, fn)
        X = torch.arange(10).reshape((2, 5)) % vocab_size
        Y, new_state = net(X, net.begin_state(X.shape[0]))
        out.append((name, tuple(Y.shape), len(new_state), tuple(new_state[0].shape)))
        out.append(predict_ch8('the ', 6, net))
        loss = torch.nn.CrossEntropyLoss()
        for epoch in range(3):
            ppl = train_epoch_ch8(net, seq_data_iter_sequential(corpus, batch_size, num_steps),
                                  loss, 1.0)
            out.append(f'perplexity {ppl:.1f}')
        out.append(predict_ch8('the ', 6, net))
        out.append([_np(p) for p in net.params])
    return out


# ---- 13. Dive into Deep Learning 11.2-11.6: Nadaraya-Watson kernel regression, masked
# softmax, additive and scaled dot-product attention, multi-head attention with
# transpose_qkv, sinusoidal positional encoding ----
def d2l_attention(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []
    torch.manual_seed(13)
    n_train = 20
    x_train, _ = torch.sort(torch.rand(n_train) * 5)

    def f(x):
        return 2 * torch.sin(x) + x**0.8
    y_train = f(x_train) + torch.normal(0.0, 0.5, (n_train,))
    x_test = torch.arange(0, 5, 0.25)
    n_test = len(x_test)
    X_repeat = x_test.repeat_interleave(n_train).reshape((-1, n_train))
    attention_weights = nn.functional.softmax(-(X_repeat - x_train)**2 / 2, dim=1)
    y_hat = torch.matmul(attention_weights, y_train)
    out.append((n_test, _np(y_hat)))
    X = torch.ones((2, 1, 4))
    Y = torch.ones((2, 4, 6))
    out.append(tuple(torch.bmm(X, Y).shape))
    weights = torch.ones((2, 10)) * 0.1
    values = torch.arange(20.0).reshape((2, 10))
    out.append(_np(torch.bmm(weights.unsqueeze(1), values.unsqueeze(-1))))

    class NWKernelRegression(nn.Module):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = nn.Parameter(torch.rand((1,), requires_grad=True))

        def forward(self, queries, keys, values):
            # Shape of the output `queries` and `attention_weights`:
            # (no. of queries, no. of key-value pairs)
            queries = queries.repeat_interleave(keys.shape[1]).reshape((-1, keys.shape[1]))
            self.attention_weights = nn.functional.softmax(
                -((queries - keys) * self.w)**2 / 2, dim=1)
            # Shape of `values`: (no. of queries, no. of key-value pairs)
            return torch.bmm(self.attention_weights.unsqueeze(1),
                             values.unsqueeze(-1)).reshape(-1)
    X_tile = x_train.repeat((n_train, 1))
    Y_tile = y_train.repeat((n_train, 1))
    keys = X_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
    values = Y_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
    net = NWKernelRegression()
    fwd = torch.compile(net) if compiled == "model" else net
    loss = nn.MSELoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)

    def nw_step(x_train, keys, values, y_train):
        trainer.zero_grad()
        l = loss(fwd(x_train, keys, values), y_train)
        l.sum().backward()
        trainer.step()
        return l
    step = torch.compile(nw_step) if compiled == "step" else nw_step
    for epoch in range(5):
        l = step(x_train, keys, values, y_train)
        out.append(f'epoch {epoch + 1}, loss {float(l.sum()):.6f}')
    keys = x_train.repeat((n_test, 1))
    values = y_train.repeat((n_test, 1))
    out.append(_np(fwd(x_test, keys, values).unsqueeze(1).detach()))

    def sequence_mask(X, valid_len, value=0):
        """Mask irrelevant entries in sequences."""
        maxlen = X.size(1)
        mask = torch.arange((maxlen), dtype=torch.float32,
                            device=X.device)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    def masked_softmax(X, valid_lens):
        """Perform softmax operation by masking elements on the last axis."""
        # `X`: 3D tensor, `valid_lens`: 1D or 2D tensor
        if valid_lens is None:
            return nn.functional.softmax(X, dim=-1)
        else:
            shape = X.shape
            if valid_lens.dim() == 1:
                valid_lens = torch.repeat_interleave(valid_lens, shape[1])
            else:
                valid_lens = valid_lens.reshape(-1)
            # On the last axis, replace masked elements with a very large negative
            # value, whose exponentiation outputs 0
            X = sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
            return nn.functional.softmax(X.reshape(shape), dim=-1)
    out.append(_np(masked_softmax(torch.rand(2, 2, 4), torch.tensor([2, 3]))))
    out.append(_np(masked_softmax(torch.rand(2, 2, 4), torch.tensor([[1, 3], [2, 4]]))))

    class AdditiveAttention(nn.Module):
        """Additive attention."""

        def __init__(self, key_size, query_size, num_hiddens, dropout, **kwargs):
            super(AdditiveAttention, self).__init__(**kwargs)
            self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
            self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
            self.w_v = nn.Linear(num_hiddens, 1, bias=False)
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries, keys, values, valid_lens):
            queries, keys = self.W_q(queries), self.W_k(keys)
            features = queries.unsqueeze(2) + keys.unsqueeze(1)
            features = torch.tanh(features)
            scores = self.w_v(features).squeeze(-1)
            self.attention_weights = masked_softmax(scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    class DotProductAttention(nn.Module):
        """Scaled dot product attention."""

        def __init__(self, dropout, **kwargs):
            super(DotProductAttention, self).__init__(**kwargs)
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries, keys, values, valid_lens=None):
            d = queries.shape[-1]
            scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
            self.attention_weights = masked_softmax(scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    def transpose_qkv(X, num_heads):
        X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
        X = X.permute(0, 2, 1, 3)
        return X.reshape(-1, X.shape[2], X.shape[3])

    def transpose_output(X, num_heads):
        X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
        X = X.permute(0, 2, 1, 3)
        return X.reshape(X.shape[0], X.shape[1], -1)

    class MultiHeadAttention(nn.Module):
        def __init__(self, key_size, query_size, value_size, num_hiddens, num_heads, dropout,
                     bias=False, **kwargs):
            super(MultiHeadAttention, self).__init__(**kwargs)
            self.num_heads = num_heads
            self.attention = DotProductAttention(dropout)
            self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
            self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
            self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
            self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

        def forward(self, queries, keys, values, valid_lens):
            queries = transpose_qkv(self.W_q(queries), self.num_heads)
            keys = transpose_qkv(self.W_k(keys), self.num_heads)
            values = transpose_qkv(self.W_v(values), self.num_heads)
            if valid_lens is not None:
                valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
            output = self.attention(queries, keys, values, valid_lens)
            output_concat = transpose_output(output, self.num_heads)
            return self.W_o(output_concat)

    class PositionalEncoding(nn.Module):
        def __init__(self, num_hiddens, dropout, max_len=1000):
            super(PositionalEncoding, self).__init__()
            self.dropout = nn.Dropout(dropout)
            self.P = torch.zeros((1, max_len, num_hiddens))
            X = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
                10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
            self.P[:, :, 0::2] = torch.sin(X)
            self.P[:, :, 1::2] = torch.cos(X)

        def forward(self, X):
            X = X + self.P[:, :X.shape[1], :].to(X.device)
            return self.dropout(X)
    queries, keys = torch.normal(0, 1, (2, 1, 20)), torch.ones((2, 10, 2))
    values = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)
    valid_lens = torch.tensor([2, 6])
    attention = AdditiveAttention(key_size=2, query_size=20, num_hiddens=8, dropout=0.1)
    attention.eval()
    out.append(_np(attention(queries, keys, values, valid_lens)))
    queries = torch.normal(0, 1, (2, 1, 2))
    attention = DotProductAttention(dropout=0.5)
    attention.eval()
    out.append(_np(attention(queries, keys, values, valid_lens)))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos = PositionalEncoding(12, 0.1)
            self.mha = MultiHeadAttention(12, 12, 12, 12, 3, 0.1)
            self.add = AdditiveAttention(12, 12, 8, 0.1)
            self.out = nn.Linear(12, 3)

        def forward(self, X, valid_lens):
            X = self.pos(X * math.sqrt(12))
            Y = self.mha(X, X, X, valid_lens)
            Z = self.add(Y, X, Y, valid_lens)
            return self.out(Z)
    torch.manual_seed(14)
    model = Model()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X = torch.normal(0, 1, (3, 5, 12))
    target = torch.randint(0, 3, (3, 5))
    valid_lens = torch.tensor([3, 5, 2])

    def train_step(X, valid_lens, target):
        optimizer.zero_grad()
        logits = fwd(X, valid_lens)
        l = nn.functional.cross_entropy(logits.reshape(-1, 3), target.reshape(-1))
        l.backward()
        optimizer.step()
        return l
    step = torch.compile(train_step) if compiled == "step" else train_step
    for i in range(4):
        out.append(step(X, valid_lens, target).item())
    model.eval()
    with torch.no_grad():
        out.append(_np(fwd(X, valid_lens)))
        out.append(_np(model.mha.attention.attention_weights))
    out.append(_state(model))
    return out


# ---- 14. Dive into Deep Learning 10.7: sequence-to-sequence learning (GRU encoder and
# decoder with a repeated context, xavier init through _flat_weights_names, a masked
# softmax cross-entropy subclass, grad clipping, greedy prediction, BLEU) ----
def d2l_seq2seq(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []

    class Seq2SeqEncoder(nn.Module):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

        def forward(self, X, *args):
            # The output `X` shape: (`batch_size`, `num_steps`, `embed_size`)
            X = self.embedding(X)
            # In RNN models, the first axis corresponds to time steps
            X = X.permute(1, 0, 2)
            output, state = self.rnn(X)
            return output, state

    class Seq2SeqDecoder(nn.Module):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers,
                              dropout=dropout)
            self.dense = nn.Linear(num_hiddens, vocab_size)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def forward(self, X, state):
            X = self.embedding(X).permute(1, 0, 2)
            # Broadcast `context` so it has the same `num_steps` as `X`
            context = state[-1].repeat(X.shape[0], 1, 1)
            X_and_context = torch.cat((X, context), 2)
            output, state = self.rnn(X_and_context, state)
            output = self.dense(output).permute(1, 0, 2)
            return output, state

    class EncoderDecoder(nn.Module):
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, enc_X, dec_X, *args):
            enc_outputs = self.encoder(enc_X, *args)
            dec_state = self.decoder.init_state(enc_outputs, *args)
            return self.decoder(dec_X, dec_state)

    def sequence_mask(X, valid_len, value=0):
        maxlen = X.size(1)
        mask = torch.arange((maxlen), dtype=torch.float32,
                            device=X.device)[None, :] < valid_len[:, None]
        X[~mask] = value
        return X

    class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
        """The softmax cross-entropy loss with masks."""
        # `pred` shape: (`batch_size`, `num_steps`, `vocab_size`)
        # `label` shape: (`batch_size`, `num_steps`)
        # `valid_len` shape: (`batch_size`,)

        def forward(self, pred, label, valid_len):
            weights = torch.ones_like(label)
            weights = sequence_mask(weights, valid_len)
            self.reduction = 'none'
            unweighted_loss = super(MaskedSoftmaxCELoss, self).forward(
                pred.permute(0, 2, 1), label)
            weighted_loss = (unweighted_loss * weights).mean(dim=1)
            return weighted_loss
    loss = MaskedSoftmaxCELoss()
    out.append(_np(loss(torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long),
                        torch.tensor([4, 2, 0]))))

    def grad_clipping(net, theta):
        params = [p for p in net.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm
    src_vocab, tgt_vocab, num_steps, pad, bos, eos = 9, 8, 5, 0, 1, 2
    rng = np.random.default_rng(14)
    data = []
    for _ in range(24):
        n = int(rng.integers(1, num_steps))
        src = [int(t) for t in rng.integers(3, src_vocab, n)]
        tgt = [(t % (tgt_vocab - 3)) + 3 for t in reversed(src)]
        data.append((src, tgt))

    def truncate_pad(line, num_steps, padding_token):
        if len(line) > num_steps:
            return line[:num_steps]  # Truncate
        return line + [padding_token] * (num_steps - len(line))  # Pad

    def build_array(lines, num_steps):
        lines = [l + [eos] for l in lines]
        array = torch.tensor([truncate_pad(l, num_steps, pad) for l in lines])
        valid_len = (array != pad).type(torch.int32).sum(1)
        return array, valid_len
    src_array, src_valid_len = build_array([s for s, _ in data], num_steps)
    tgt_array, tgt_valid_len = build_array([t for _, t in data], num_steps)
    dataset = torch.utils.data.TensorDataset(src_array, src_valid_len, tgt_array, tgt_valid_len)
    torch.manual_seed(15)
    data_iter = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    encoder = Seq2SeqEncoder(src_vocab, 8, 16, 2, dropout=0.1)
    decoder = Seq2SeqDecoder(tgt_vocab, 8, 16, 2, dropout=0.1)
    net = EncoderDecoder(encoder, decoder)

    def xavier_init_weights(m):
        if type(m) == nn.Linear:
            nn.init.xavier_uniform_(m.weight)
        if type(m) == nn.GRU:
            for param in m._flat_weights_names:
                if "weight" in param:
                    nn.init.xavier_uniform_(m._parameters[param])
    net.apply(xavier_init_weights)
    fwd = torch.compile(net) if compiled == "model" else net
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)

    def train_batch(X, X_valid_len, Y, Y_valid_len):
        optimizer.zero_grad()
        dec_input = torch.cat([torch.tensor([bos] * Y.shape[0]).reshape(-1, 1), Y[:, :-1]],
                              1)  # Teacher forcing
        Y_hat, _ = fwd(X, dec_input, X_valid_len)
        l = loss(Y_hat, Y, Y_valid_len)
        l.sum().backward()  # Make the loss scalar for `backward`
        grad_clipping(net, 1)
        num_tokens = Y_valid_len.sum()
        optimizer.step()
        return l.sum(), num_tokens
    step = torch.compile(train_batch) if compiled == "step" else train_batch
    net.train()
    for epoch in range(3):
        total, tokens = 0.0, 0
        for batch in data_iter:
            l, num_tokens = step(*batch)
            total += l.item()
            tokens += num_tokens.item()
        out.append(f'loss {total / tokens:.3f}')

    def predict_seq2seq(net, src_tokens, num_steps):
        net.eval()
        enc_valid_len = torch.tensor([len(src_tokens)])
        src_tokens = truncate_pad(src_tokens, num_steps, pad)
        # Add the batch axis
        enc_X = torch.unsqueeze(torch.tensor(src_tokens, dtype=torch.long), dim=0)
        enc_outputs = net.encoder(enc_X, enc_valid_len)
        dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
        # Add the batch axis
        dec_X = torch.unsqueeze(torch.tensor([bos], dtype=torch.long), dim=0)
        output_seq = []
        for _ in range(num_steps):
            Y, dec_state = net.decoder(dec_X, dec_state)
            # We use the token with the highest prediction likelihood as the input
            # of the decoder at the next time step
            dec_X = Y.argmax(dim=2)
            pred = dec_X.squeeze(dim=0).type(torch.int32).item()
            # Once the end-of-sequence token is predicted, the generation of the
            # output sequence is complete
            if pred == eos:
                break
            output_seq.append(pred)
        return output_seq

    def bleu(pred_seq, label_seq, k):
        """Compute the BLEU."""
        pred_tokens, label_tokens = pred_seq, label_seq
        len_pred, len_label = len(pred_tokens), len(label_tokens)
        score = math.exp(min(0, 1 - len_label / max(len_pred, 1)))
        for n in range(1, k + 1):
            num_matches, label_subs = 0, collections.defaultdict(int)
            for i in range(len_label - n + 1):
                label_subs[' '.join(map(str, label_tokens[i: i + n]))] += 1
            for i in range(len_pred - n + 1):
                if label_subs[' '.join(map(str, pred_tokens[i: i + n]))] > 0:
                    num_matches += 1
                    label_subs[' '.join(map(str, pred_tokens[i: i + n]))] -= 1
            score *= math.pow(num_matches / max(len_pred - n + 1, 1), math.pow(0.5, n))
        return score
    with torch.no_grad():
        for src, tgt in data[:4]:
            translation = predict_seq2seq(net, src, num_steps)
            out.append(f'{src} => {translation}, bleu {bleu(translation, tgt, k=2):.3f}')
    out.append(_state(net))
    return out


# ---- 15. "Fusing Convolution and Batch Norm using Custom Function": hand-written backward
# passes through torch.nn.grad.conv2d_weight/conv2d_input, gradcheck, a fused module ----
def fuse_conv_bn(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    out = []

    def convolution_backward(grad_out, X, weight):
        grad_input = F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)
        grad_X = F.conv_transpose2d(grad_out, weight)
        return grad_X, grad_input

    class Conv2D(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, weight):
            ctx.save_for_backward(X, weight)
            return F.conv2d(X, weight)

        # Use @once_differentiable by default unless we intend to double backward
        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_out):
            X, weight = ctx.saved_tensors
            return convolution_backward(grad_out, X, weight)
    torch.manual_seed(0)
    weight = torch.rand(5, 3, 3, 3, requires_grad=True, dtype=torch.double)
    X = torch.rand(2, 3, 5, 5, requires_grad=True, dtype=torch.double)  # (10, 3, 7, 7) there
    out.append(torch.autograd.gradcheck(Conv2D.apply, (X, weight)))

    def unsqueeze_all(t):
        # Helper function to ``unsqueeze`` all the dimensions that we reduce over
        return t[None, :, None, None]

    def batch_norm_backward(grad_out, X, sum, sqrt_var, N, eps):
        # We use the formula: ``out = (X - mean(X)) / (sqrt(var(X)) + eps)``
        # in batch norm 2D forward. To simplify our derivation, we follow the
        # chain rule and compute the gradients as follows before accumulating
        # them all into a final grad_input.
        #  1) ``grad of out wrt var(X)`` * ``grad of var(X) wrt X``
        #  2) ``grad of out wrt mean(X)`` * ``grad of mean(X) wrt X``
        #  3) ``grad of out wrt X in the numerator`` * ``grad of X wrt X``
        # We then rewrite the formulas to use as few extra buffers as possible
        tmp = ((X - unsqueeze_all(sum) / N) * grad_out).sum(dim=(0, 2, 3))
        tmp *= -1
        d_denom = tmp / (sqrt_var + eps)**2  # ``d_denom = -num / denom**2``
        # It is useful to delete tensors when you no longer need them with ``del``
        # For example, we could've done ``del tmp`` here because we won't use it later
        # In this case, it's not a big difference because ``tmp`` only has size of (C,)
        # The important thing is avoid allocating NCHW-sized tensors unnecessarily
        d_var = d_denom / (2 * sqrt_var)  # ``denom = torch.sqrt(var) + eps``
        # Compute ``d_mean_dx`` before allocating the final NCHW-sized grad_input buffer
        d_mean_dx = grad_out / unsqueeze_all(sqrt_var + eps)
        d_mean_dx = unsqueeze_all(-d_mean_dx.sum(dim=(0, 2, 3)) / N)
        # ``d_mean_dx`` has already been reassigned to a C-sized buffer so no need to worry
        # ``(1) unbiased_var(x) = ((X - unsqueeze_all(mean))**2).sum(dim=(0, 2, 3)) / (N - 1)``
        grad_input = X * unsqueeze_all(d_var * N)
        grad_input += unsqueeze_all(-d_var * sum)
        grad_input *= 2 / ((N - 1) * N)
        # (2) mean (see above)
        grad_input += d_mean_dx
        # (3) Add 'grad_out / <factor>' without allocating an extra buffer
        grad_input *= unsqueeze_all(sqrt_var + eps)
        grad_input += grad_out
        grad_input /= unsqueeze_all(sqrt_var + eps)  # ``sqrt_var + eps > 0!``
        return grad_input

    class BatchNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, eps=1e-3):
            # Don't save ``keepdim`` values for backward
            sum = X.sum(dim=(0, 2, 3))
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.save_for_backward(X)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_out):
            X, = ctx.saved_tensors
            return batch_norm_backward(grad_out, X, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps)
    a = torch.rand(1, 2, 3, 4, requires_grad=True, dtype=torch.double)
    out.append(torch.autograd.gradcheck(BatchNorm.apply, (a,), fast_mode=False))

    class FusedConvBN2DFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, conv_weight, eps=1e-3):
            assert X.ndim == 4  # N, C, H, W
            # (1) Only need to save this single buffer for backward!
            ctx.save_for_backward(X, conv_weight)
            # (2) Exact same Conv2D forward from example above
            X = F.conv2d(X, conv_weight)
            # (3) Exact same BatchNorm2D forward from example above
            sum = X.sum(dim=(0, 2, 3))
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            # Try to do as many things in-place as possible
            # Instead of `out = (X - a) / b`, doing `out = X - a; out /= b`
            # avoids allocating one extra NCHW-sized buffer here
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        def backward(ctx, grad_out):
            X, conv_weight, = ctx.saved_tensors
            # (4) Batch norm backward
            # (5) We need to recompute conv
            X_conv_out = F.conv2d(X, conv_weight)
            grad_out = batch_norm_backward(grad_out, X_conv_out, ctx.sum, ctx.sqrt_var,
                                           ctx.N, ctx.eps)
            # (6) Conv2d backward
            grad_X, grad_input = convolution_backward(grad_out, X, conv_weight)
            return grad_X, grad_input, None, None, None, None, None
    weight = torch.rand(5, 3, 3, 3, requires_grad=True, dtype=torch.double)
    X = torch.rand(2, 3, 4, 4, requires_grad=True, dtype=torch.double)
    out.append(torch.autograd.gradcheck(FusedConvBN2DFunction.apply, (X, weight)))

    class FusedConvBN(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, exp_avg_factor=0.1,
                     eps=1e-3, device=None, dtype=None):
            super(FusedConvBN, self).__init__()
            factory_kwargs = {'device': device, 'dtype': dtype}
            # Conv parameters
            weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
            self.conv_weight = nn.Parameter(torch.empty(*weight_shape, **factory_kwargs))
            # Batch norm parameters
            num_features = out_channels
            self.num_features = num_features
            self.eps = eps
            # Initialize
            self.reset_parameters()

        def forward(self, X):
            return FusedConvBN2DFunction.apply(X, self.conv_weight, self.eps)

        def reset_parameters(self) -> None:
            nn.init.kaiming_uniform_(self.conv_weight, a=math.sqrt(5))

    # the tutorial's weight-gradient helpers, checked against the hand-written ones
    g = torch.rand(10, 5, 5, 5, dtype=torch.double)
    Xd = torch.rand(10, 3, 7, 7, dtype=torch.double)
    wd = torch.rand(5, 3, 3, 3, dtype=torch.double)
    grad_X, grad_w = convolution_backward(g, Xd, wd)
    out.append((_np(torch.nn.grad.conv2d_input(Xd.shape, wd, g) - grad_X).max() < 1e-9,
                _np(torch.nn.grad.conv2d_weight(Xd, wd.shape, g) - grad_w).max() < 1e-9,
                _np(torch.nn.grad.conv2d_weight(Xd, wd.shape, g))))

    class Net(nn.Module):
        def __init__(self, fused=True):
            super(Net, self).__init__()
            self.fused = fused
            if fused:
                self.convbn1 = FusedConvBN(1, 8, 3)
                self.convbn2 = FusedConvBN(8, 16, 3)
            else:
                self.conv1 = nn.Conv2d(1, 8, 3, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(8, affine=False, track_running_stats=False)
                self.conv2 = nn.Conv2d(8, 16, 3, 1, bias=False)
                self.bn2 = nn.BatchNorm2d(16, affine=False, track_running_stats=False)
            self.fc1 = nn.Linear(64, 10)
            self.dropout = nn.Dropout(0.5)

        def forward(self, x):
            if self.fused:
                x = self.convbn1(x)
            else:
                x = self.conv1(x)
                x = self.bn1(x)
            F.relu_(x)
            if self.fused:
                x = self.convbn2(x)
            else:
                x = self.conv2(x)
                x = self.bn2(x)
            F.relu_(x)
            x = F.max_pool2d(x, 2)
            F.relu_(x)
            x = x.flatten(1)
            x = self.fc1(x)
            x = self.dropout(x)
            F.relu_(x)
            output = F.log_softmax(x, dim=1)
            return output
    images, labels = _images(24, (1, 8, 8), 15)
    for fused in (True, False):
        torch.manual_seed(123456)
        model = Net(fused=fused)
        fwd = torch.compile(model) if compiled == "model" else model
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

        def train_step(data, target):
            optimizer.zero_grad()
            output = fwd(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            return loss
        step = torch.compile(train_step) if compiled == "step" else train_step
        model.train()
        for i in range(0, 24, 8):
            loss = step(torch.from_numpy(images[i:i + 8]), torch.from_numpy(labels[i:i + 8]))
            out.append('Train Epoch: {} [{}/{}]\tLoss: {:.6f}'.format(1, i, 24, loss.item()))
        out.append(_state(model))
    return out


# ---- 16. "Double Backward with Custom Functions": Square, Exp saving its output, Sinh
# returning its intermediate results, Cube whose backward is another custom Function ----
def double_backward_functions(lib, compiled):
    torch = lib
    out = []

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            # Because we are saving one of the inputs use `save_for_backward`
            # Save non-tensors and non-inputs/non-outputs directly on ctx
            ctx.save_for_backward(x)
            return x**2

        @staticmethod
        def backward(ctx, grad_out):
            # A function support double backward automatically if autograd
            # is able to record the computations performed in backward
            x, = ctx.saved_tensors
            return grad_out * 2 * x

    class Exp(torch.autograd.Function):
        # Simple case where everything goes well
        @staticmethod
        def forward(ctx, x):
            # This time we save the output
            result = torch.exp(x)
            # Note that we should use `save_for_backward` here when
            # the tensor saved is an ouptut (or an input).
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_out):
            result, = ctx.saved_tensors
            return result * grad_out

    class Sinh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            expx = torch.exp(x)
            expnegx = torch.exp(-x)
            ctx.save_for_backward(expx, expnegx)
            # In order to be able to save the intermediate results, a trick is to
            # include them as our outputs, so that the backward graph is constructed
            return (expx - expnegx) / 2, expx, expnegx

        @staticmethod
        def backward(ctx, grad_out, _grad_out_exp, _grad_out_negexp):
            expx, expnegx = ctx.saved_tensors
            grad_input = grad_out * (expx + expnegx) / 2
            # We cannot skip accumulating these even though we won't use the outputs
            # directly. They will be used later in the second backward.
            grad_input += _grad_out_exp * expx
            grad_input -= _grad_out_negexp * expnegx
            return grad_input

    def sinh(x):
        # Create a wrapper that only returns the first output
        return Sinh.apply(x)[0]

    class SinhBad(torch.autograd.Function):
        # This is an example of what NOT to do!
        @staticmethod
        def forward(ctx, x):
            expx = torch.exp(x)
            expnegx = torch.exp(-x)
            ctx.expx = expx
            ctx.expnegx = expnegx
            return (expx - expnegx) / 2

        @staticmethod
        def backward(ctx, grad_out):
            expx = ctx.expx
            expnegx = ctx.expnegx
            grad_input = grad_out * (expx + expnegx) / 2
            return grad_input

    def cube_forward(x):
        return x**3

    def cube_backward(grad_out, x):
        return grad_out * 3 * x**2

    def cube_backward_backward(grad_out, sav_grad_out, x):
        return grad_out * sav_grad_out * 6 * x

    def cube_backward_backward_grad_out(grad_out, x):
        return grad_out * 3 * x**2

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return cube_forward(x)

        @staticmethod
        def backward(ctx, grad_out):
            x, = ctx.saved_tensors
            return CubeBackward.apply(grad_out, x)

    class CubeBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, grad_out, x):
            ctx.save_for_backward(x, grad_out)
            return cube_backward(grad_out, x)

        @staticmethod
        def backward(ctx, grad_out):
            x, sav_grad_out = ctx.saved_tensors
            dx = cube_backward_backward(grad_out, sav_grad_out, x)
            dgrad_out = cube_backward_backward_grad_out(grad_out, x)
            return dgrad_out, dx
    x = torch.tensor([0.7, -1.3, 2.1], requires_grad=True, dtype=torch.double)
    for fn in (Square.apply, Exp.apply, sinh, Cube.apply):
        out.append((torch.autograd.gradcheck(fn, x), torch.autograd.gradgradcheck(fn, x)))
    out.append(torch.autograd.gradcheck(SinhBad.apply, x))
    out.append(torch.autograd.gradgradcheck(SinhBad.apply, x, raise_exception=False))

    def second_derivatives(x):
        results = []
        for fn in (Square.apply, Exp.apply, sinh, Cube.apply):
            y = fn(x)
            grad_x, = torch.autograd.grad(y.sum(), x, create_graph=True)
            grad2_x, = torch.autograd.grad(grad_x.sum(), x)
            results += [grad_x, grad2_x]
        return results
    second = torch.compile(second_derivatives) if compiled == "step" else second_derivatives
    out.append([_np(t) for t in second(x.float().detach().requires_grad_())])

    class Model(torch.nn.Module):  # a smooth regression through the four Functions
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 4)

        def forward(self, x):
            h = self.lin(x)
            return Square.apply(h).sum(1) + Exp.apply(h * 0.1).sum(1) \
                + sinh(h * 0.2).sum(1) + Cube.apply(h * 0.3).sum(1)
    torch.manual_seed(16)
    model = Model()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    data = torch.linspace(-1, 1, 24).reshape(8, 3)
    target = torch.linspace(0, 1, 8)
    for i in range(4):
        optimizer.zero_grad()
        loss = ((fwd(data) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    out.append(_state(model))
    return out


# ---- 17. "Extending torch.func with autograd.Function": NumpySort/NumpyTake with
# setup_context, a vmap staticmethod, generate_vmap_rule, under grad/vmap/jacrev ----
def extending_func(lib, compiled):
    torch = lib
    out = []

    def to_numpy(tensor):
        return tensor.cpu().numpy()

    class NumpySort(torch.autograd.Function):
        # Note that forward does not take ctx
        @staticmethod
        def forward(x, dim):
            device = x.device
            x = to_numpy(x)
            ind = np.argsort(x, axis=dim)
            ind_inv = np.argsort(ind, axis=dim)
            result = np.take_along_axis(x, ind, axis=dim)
            # Any intermediates to be saved in backward must be returned as
            # outputs.
            return (
                # The desired output
                torch.tensor(result, device=device),
                # intermediate to save for backward
                torch.tensor(ind, device=device),
                # intermediate to save for backward
                torch.tensor(ind_inv, device=device),
            )

        # setup_context is responsible for calling methods and/or assigning to
        # the ctx object. Please do not do additional compute (e.g. add
        # Tensors together) in setup_context.
        @staticmethod
        def setup_context(ctx, inputs, output):
            x, dim = inputs
            # Note that output is whatever you returned from forward.
            # If you returned multiple values, then output is a Tuple of multiple values.
            # If you returned a single Tensor, then output is a Tensor.
            # If you returned a Tuple with a single Tensor, then output is a
            # Tuple with a single Tensor.
            _, ind, ind_inv = output
            ctx.mark_non_differentiable(ind, ind_inv)
            # Tensors must be saved via ctx.save_for_backward. Please do not
            # assign them directly onto the ctx object.
            ctx.save_for_backward(ind, ind_inv)
            # Non-tensors may be saved by assigning them as attributes on the ctx object.
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output, _0, _1):
            # For the autograd.Function to be arbitrarily composable with function
            # transforms, all staticmethod other than forward and setup_context
            # must be implemented in a "transformable" way; that is, they must
            # only consist of PyTorch operations or autograd.Function.
            #
            # For example, this allows us to do double backwards and/or compute
            # second order gradients.
            #
            # We've written the backward pass of NumpySort in terms of another
            # autograd.Function, NumpyTake.
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None

        # The signature of the vmap staticmethod is:
        # vmap(info, in_dims: Tuple[Optional[int]], *args)
        # where *args is the same as the arguments to `forward`.
        @staticmethod
        def vmap(info, in_dims, x, dim):
            # For every input (x and dim), in_dims stores an Optional[int]
            # that is:
            # - None if the input is not being vmapped over or if the input
            #   is not a Tensor
            # - an integer if the input is being vmapped over that represents
            #   the index of the dimension being vmapped over.
            x_bdim, _ = in_dims
            # A "vmap rule" is the logic of how to perform the operation given
            # inputs with one additional dimension. In NumpySort, x has an
            # additional dimension (x_bdim). The vmap rule is simply
            # to call NumpySort again but pass it a different `dim`.
            x = x.movedim(x_bdim, 0)
            # Handle negative dims correctly
            dim = dim if dim >= 0 else dim + x.dim() - 1
            result = NumpySort.apply(x, dim + 1)
            # The vmap rule must return a tuple of two things
            # 1. the output. Should be the same amount of things
            #    as returned by the forward().
            # 2. one Optional[int] for each output specifying if each output
            # is being vmapped over, and if so, the index of the
            # dimension being vmapped over.
            #
            # NumpySort.forward returns a Tuple of 3 Tensors. Since we moved the
            # dimension being vmapped over to the front of `x`, that appears at
            # dimension 0 of all outputs.
            # The return is (output, out_dims) -- output is a tuple of 3 Tensors
            # and out_dims is a Tuple of 3 Optional[int]
            return NumpySort.apply(x, dim + 1), (0, 0, 0)

    class NumpyTake(torch.autograd.Function):
        @staticmethod
        def forward(x, ind, ind_inv, dim):
            device = x.device
            x = to_numpy(x)
            ind = to_numpy(ind)
            return torch.tensor(np.take_along_axis(x, ind, dim), device=device)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, ind, ind_inv, dim = inputs
            ctx.save_for_backward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output):
            ind, ind_inv = ctx.saved_tensors
            result = NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim)
            return result, None, None, None

        @staticmethod
        def vmap(info, in_dims, x, ind, ind_inv, dim):
            x_bdim, ind_bdim, ind_inv_bdim, _ = in_dims
            # The strategy is: expand {x, ind, ind_inv} to all have the dimension
            # being vmapped over.
            # Then, call back into NumpyTake(expanded_x, expanded_ind, expanded_ind_inv, new_dim).
            # Handle negative dims by wrapping them to be positive
            logical_dim = x.dim() if x_bdim is None else x_bdim - 1
            dim = dim if dim >= 0 else dim + logical_dim

            def maybe_expand_bdim_at_front(x, x_bdim):
                if x_bdim is None:
                    return x.expand(info.batch_size, *x.shape)
                return x.movedim(x_bdim, 0)
            # If the Tensor doesn't have the dimension being vmapped over,
            # expand it out. Otherwise, move it to the front of the Tensor
            x = maybe_expand_bdim_at_front(x, x_bdim)
            ind = maybe_expand_bdim_at_front(ind, ind_bdim)
            ind_inv = maybe_expand_bdim_at_front(ind_inv, ind_inv_bdim)
            # The return is a tuple (output, out_dims). Since output is a Tensor,
            # then out_dims is an Optional[int] (instead of a Tuple).
            return NumpyTake.apply(x, ind, ind_inv, dim + 1), 0

    def numpy_sort(x, dim=-1):
        result, _, _ = NumpySort.apply(x, dim)
        return result
    torch.manual_seed(17)
    x = torch.randn(2, 3)
    result = torch.vmap(numpy_sort)(x)
    out.append(torch.allclose(result, numpy_sort(x, 1)))
    x = torch.randn(2, 3, requires_grad=True)
    y = numpy_sort(x, 1)
    (y * torch.arange(3.0)).sum().backward()
    out.append(_np(x.grad))
    x = torch.randn(3)
    weights = torch.tensor([1.0, 2.0, 3.0])
    out.append(_np(torch.func.grad(lambda x: (numpy_sort(x) * weights).sum())(x)))
    out.append(_np(torch.func.jacrev(numpy_sort)(x)))
    xs = torch.randn(4, 3)
    out.append(_np(torch.vmap(torch.func.grad(lambda x: (numpy_sort(x) ** 2).sum()))(xs)))

    class MyCube(torch.autograd.Function):
        @staticmethod
        def forward(x):
            result = x ** 3
            # In regular PyTorch, if we had just run y = x ** 3, then the backward
            # pass computes dx = 3 * x ** 2. In this autograd.Function, we've done
            # that computation here in the forward pass instead.
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
            # gradients, we must add the gradient contribution of `dx`,
            # which is grad_dx * 6 * x.
            result = grad_output * dx + grad_dx * 6 * x
            return result

    def my_cube(x):
        result, _ = MyCube.apply(x)
        return result
    x = torch.randn([])
    ggx = torch.func.grad(torch.func.grad(my_cube))(x)
    out.append((ggx.item(), (6 * x).item()))

    class MyExp(torch.autograd.Function):
        # Set generate_vmap_rule to True to ask PyTorch to automatically generate
        # a vmap rule.
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            result = torch.exp(x)
            return result

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result
    x = torch.randn(2, 3)
    out.append(_np(torch.vmap(MyExp.apply)(x)))
    out.append(_np(torch.vmap(torch.func.grad(lambda t: MyExp.apply(t).sum()))(x)))

    class Model(torch.nn.Module):  # trains through the numpy sort, as a sorting layer
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, x):
            return numpy_sort(self.lin(x), 1)
    torch.manual_seed(18)
    model = Model()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    data = torch.randn(6, 4)
    target = torch.linspace(-1, 1, 4).expand(6, 4)
    for i in range(4):
        optimizer.zero_grad()
        loss = ((fwd(data) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    out.append(_state(model))
    return out


# ---- 18. The Parametrizations tutorial: Symmetric, Skew and a Cayley map chained on one
# weight, MatrixExponential, `parametrize.cached()`, `right_inverse` on assignment,
# `remove_parametrizations`, training through a parametrized layer ----
def parametrizations(lib, compiled):
    torch = lib
    nn = lib.nn
    parametrize = importlib.import_module(lib.__name__ + ".nn.utils.parametrize")
    out = []

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    class Skew(nn.Module):
        def forward(self, X):
            A = X.triu(1)
            return A - A.transpose(-1, -2)

    class CayleyMap(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.register_buffer("Id", torch.eye(n))

        def forward(self, X):
            # (I + X)(I - X)^{-1}
            return torch.linalg.solve(self.Id - X, self.Id + X)

    class MatrixExponential(nn.Module):
        def forward(self, X):
            return torch.matrix_exp(X)

    class NoisyParametrization(nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, A):
            return A + 0.5
    torch.manual_seed(18)
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    A = layer.weight
    out.append((torch.allclose(A, A.T), _np(A)))
    out.append(repr(layer))
    out.append(repr(layer.parametrizations.weight.original.shape))
    layer_orthogonal = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_orthogonal, "weight", Skew())
    parametrize.register_parametrization(layer_orthogonal, "weight", CayleyMap(3))
    X = layer_orthogonal.weight
    out.append((bool(torch.dist(X.T @ X, torch.eye(3)) < 1e-5), _np(X)))
    layer_spd = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_spd, "weight", Symmetric())
    parametrize.register_parametrization(layer_spd, "weight", MatrixExponential())
    X = layer_spd.weight
    out.append((bool(torch.dist(X, X.T) < 1e-5), bool((torch.linalg.eigvalsh(X) > 0.).all()),
                _np(X)))
    with parametrize.cached():
        foo = layer_orthogonal.weight + layer_orthogonal.weight.T
        out.append((layer_orthogonal.weight is layer_orthogonal.weight, _np(foo)))
    noisy = nn.Linear(2, 2)
    parametrize.register_parametrization(noisy, "weight", NoisyParametrization())
    with torch.no_grad():
        noisy.weight = torch.zeros(2, 2)
    out.append((_np(noisy.weight), _np(noisy.parametrizations.weight.original)))
    out.append(parametrize.is_parametrized(layer, "weight"))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.c = nn.Linear(4, 2)
            parametrize.register_parametrization(self.a, "weight", Symmetric())
            parametrize.register_parametrization(self.b, "weight", Skew())
            parametrize.register_parametrization(self.b, "weight", CayleyMap(4))

        def forward(self, x):
            return self.c(torch.tanh(self.b(torch.tanh(self.a(x)))))
    torch.manual_seed(19)
    model = Model()
    fwd = torch.compile(model) if compiled == "model" else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    data = torch.randn(10, 4)
    target = torch.randn(10, 2)

    def train_step(data, target):
        optimizer.zero_grad()
        loss = ((fwd(data) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for i in range(4):
        out.append(step(data, target).item())
    out.append(sorted(model.state_dict()))
    out.append(_state(model))
    W = model.b.weight
    out.append((torch.dist(W.T @ W, torch.eye(4)) < 1e-4).item())
    parametrize.remove_parametrizations(model.a, "weight")
    parametrize.remove_parametrizations(model.b, "weight", leave_parametrized=False)
    out.append((repr(model), _state(model)))
    return out


# ---- 19. "Hooks for autograd saved tensors": what grad_fn saves (`_saved_self`,
# `_saved_result`), pack/unpack hooks (saved_tensors_hooks, `_raw_saved_self.register_hooks`),
# save_on_cpu, and saving to disk through a temporary file ----
def saved_tensor_hooks(lib, compiled):
    torch = lib
    nn = lib.nn
    import os
    import tempfile
    import uuid
    out = []
    torch.manual_seed(20)
    x = torch.randn(5, requires_grad=True)
    y = x.pow(2)
    out.append((x.equal(y.grad_fn._saved_self), x is y.grad_fn._saved_self))
    y = x.exp()
    out.append((y.equal(y.grad_fn._saved_result), y is y.grad_fn._saved_result))
    x = torch.randn(5, requires_grad=True)
    y = x.pow(2)
    y.grad_fn._raw_saved_self.register_hooks(lambda t: t * 4, lambda t: t / 2)
    y.sum().backward()
    out.append(_np(x.grad))

    events = []

    def pack_hook(x):
        events.append(("Packing", x.tolist()))
        return x

    def unpack_hook(x):
        events.append(("Unpacking", x.tolist()))
        return x
    a = torch.ones(5, requires_grad=True)
    b = torch.ones(5, requires_grad=True) * 2
    with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
        y = a * b
    y.sum().backward()
    # sorted: PyTorch's MulBackward0 packs (and unpacks) `other` before `self`, graphtorch
    # in argument order
    out.append((_np(a.grad), sorted(events)))

    def pack_hook2(tensor):
        return tensor.numel() * 2, tensor.dtype

    def unpack_hook2(packed):
        n, dtype = packed
        return torch.full((n // 2,), 3.0, dtype=dtype)
    a = torch.ones(4, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack_hook2, unpack_hook2):
        y = a.sin()
    y.sum().backward()
    out.append(_np(a.grad))  # cos(3) everywhere: backward saw what unpack gave

    class SelfDeletingTempFile():
        def __init__(self):
            self.name = os.path.join(tmp_dir, str(uuid.uuid4()))

        def __del__(self):
            os.remove(self.name)

    def pack_to_disk(tensor):
        temp_file = SelfDeletingTempFile()
        torch.save(tensor, temp_file.name)
        return temp_file

    def unpack_from_disk(temp_file):
        return torch.load(temp_file.name)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Linear(5, 5)

        def forward(self, x):
            with torch.autograd.graph.saved_tensors_hooks(pack_to_disk, unpack_from_disk):
                y = self.w(x)
            return torch.tanh(y).sum()
    torch.manual_seed(21)
    model = Model()
    fwd = torch.compile(model) if compiled == "model" else model
    with tempfile.TemporaryDirectory() as tmp_dir:
        x = torch.randn(3, 5, requires_grad=True)
        fwd(x).backward()
        out.append((_np(x.grad), _np(model.w.weight.grad)))
        with torch.autograd.graph.save_on_cpu(pin_memory=False):
            loss = (model.w(x) * x).sum()
        loss.backward()
        out.append(_np(x.grad))
        left = len(os.listdir(tmp_dir))
    out.append(left)
    return out


# ---- 20. "Introduction to torch.compile": compiled functions, the decorator, a compiled
# module, a data-dependent branch (a graph break), `fullgraph=True`, `torch._dynamo.reset()`,
# `torch.compiler.disable`, training a compiled model against eager ----
def compile_intro(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []

    def compile_(fn=None, **kwargs):
        """`torch.compile` in the compiled runs; the identity in the eager ones (PyTorch's
        reference among them: its compiler would take seconds and check nothing here)."""
        if compiled is None:
            return fn if fn is not None else (lambda f: f)
        return torch.compile(fn, **kwargs) if fn is not None else torch.compile(**kwargs)

    def foo(x, y):
        a = torch.sin(x)
        b = torch.cos(y)
        return a + b
    opt_foo1 = compile_(foo)
    torch.manual_seed(22)
    out.append(_np(opt_foo1(torch.randn(3, 3), torch.randn(3, 3))))

    @compile_
    def opt_foo2(x, y):
        a = torch.sin(x)
        b = torch.cos(y)
        return a + b
    out.append(_np(opt_foo2(torch.randn(3, 3), torch.randn(3, 3))))

    def inner(x):
        return torch.sin(x)

    @compile_
    def outer(x, y):
        a = inner(x)
        b = torch.cos(y)
        return a + b
    out.append(_np(outer(torch.randn(3, 3), torch.randn(3, 3))))

    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 3)

        def forward(self, x):
            return torch.nn.functional.relu(self.linear(x))
    mod = MyModule()
    if compiled:
        mod.compile()
    out.append(_np(mod(torch.randn(3, 3))))
    opt_mod = compile_(MyModule())
    out.append((_np(opt_mod(torch.randn(3, 3))), isinstance(opt_mod, nn.Module)))

    def bar(a, b):
        x = a / (torch.abs(a) + 1)
        if b.sum() < 0:
            b = b * -1
        return x * b
    opt_bar = compile_(bar)
    inp1 = torch.ones(10)
    inp2 = torch.ones(10)
    out.append(_np(opt_bar(inp1, inp2)))
    out.append(_np(opt_bar(inp1, -inp2)))
    torch._dynamo.reset()  # (else PyTorch reuses bar's cached code despite fullgraph)
    torch.compiler.reset()
    inp1, inp2 = torch.randn(10), torch.randn(10)
    if compiled:
        opt_bar_fullgraph = torch.compile(bar, fullgraph=True)
        with pytest.raises(torch._dynamo.exc.Unsupported):
            opt_bar_fullgraph(inp1, inp2)

    @torch.compiler.disable
    def not_compiled(x):
        return x.numpy().sum()

    @compile_
    def uses_disabled(x):
        return torch.sin(x) * not_compiled(x.detach())
    out.append(_np(uses_disabled(torch.arange(4.0))))

    def init_model():
        torch.manual_seed(23)
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    data = torch.randn(16, 8)
    target = torch.randint(0, 4, (16,))
    for use_compile in (False, True):
        model = init_model()
        fwd = compile_(model) if use_compile else model
        opt = torch.optim.Adam(model.parameters())

        def train(mod, data):
            opt.zero_grad(True)
            pred = mod(data)
            loss = torch.nn.CrossEntropyLoss()(pred, target)
            loss.backward()
            opt.step()
            return loss
        train_step = compile_(train) if compiled == "step" else train
        for i in range(3):
            out.append(train_step(fwd, data).item())
        model.eval()
        with torch.no_grad():
            out.append(_np(fwd(data)))
        out.append(_state(model))
    return out


# ---- 21. The 60-minute blitz's tensor and autograd pages, and the Chinese notes' idioms:
# printing tensors, parameters, grad_fn and module reprs; `torch.Tensor(2, 3)` shapes;
# `out=`; NumPy memory sharing; vector-Jacobian products; freezing parameters ----
def blitz_printing(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    out.append(f"Ones Tensor: \n {x_ones} \n")
    torch.manual_seed(24)
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    out.append(f"Random Tensor: \n {x_rand} \n")
    shape = (2, 3,)
    out.append(f"Random Tensor: \n {torch.rand(shape)} \n")
    out.append(f"Ones Tensor: \n {torch.ones(shape)} \n")
    out.append(f"Zeros Tensor: \n {torch.zeros(shape)}")
    tensor = torch.rand(3, 4)
    out.append(f"Shape of tensor: {tensor.shape}")
    out.append(f"Datatype of tensor: {tensor.dtype}")
    out.append(f"Device tensor is stored on: {tensor.device}")
    tensor = torch.ones(4, 4)
    out.append(f"First row: {tensor[0]}")
    out.append(f"First column: {tensor[:, 0]}")
    out.append(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    out.append(str(tensor))
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    out.append(str(t1))
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out.append((str(y1), str(y2), str(y3), str(z1), str(z2), str(z3)))
    agg = tensor.sum()
    agg_item = agg.item()
    out.append((agg_item, type(agg_item).__name__))
    out.append(f"{tensor} \n")
    tensor.add_(5)
    out.append(str(tensor))
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    out.append(f"t: {t}\nn: {n}")
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    out.append(f"t: {t}\nn: {n}")
    out.append((tuple(torch.Tensor(2, 3).shape), str(torch.Tensor([1, 2, 3])),
                str(torch.FloatTensor([1, 2, 3])), str(x_np), str(torch.tensor(3.5)),
                str(torch.tensor([1.5, 2.25], dtype=torch.float64)),
                str(torch.tensor([True, False])), str(torch.arange(12).reshape(3, 4))))
    torch.manual_seed(1)
    embed = nn.Embedding(num_embeddings=3, embedding_dim=5)
    out.append(str(embed.weight))
    out.append(str(embed(torch.tensor([0], dtype=torch.int64))))
    linear = nn.Linear(in_features=3, out_features=5)
    out.append((str(linear.bias), str(linear(torch.tensor([.0, 1., 2.])))))
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    out.append((str(9 * a**2 == a.grad), str(-2 * b == b.grad), str(Q)))
    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    a = x + y
    out.append(f"Does `a` require gradients?: {a.requires_grad}")
    b = x + z
    out.append(f"Does `b` require gradients?: {b.requires_grad}")

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), (2, 2))
            x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)
            x = x.view(-1, self.num_flat_features(x))
            x = nn.functional.relu(self.fc1(x))
            x = nn.functional.relu(self.fc2(x))
            return self.fc3(x)

        def num_flat_features(self, x):
            size = x.size()[1:]  # all dimensions except the batch dimension
            num_features = 1
            for s in size:
                num_features *= s
            return num_features
    torch.manual_seed(25)
    net = Net()
    out.append(str(net))
    params = list(net.parameters())
    out.append((len(params), str(params[0].size())))
    fwd = torch.compile(net) if compiled == "model" else net
    input = torch.randn(1, 1, 32, 32)
    output = fwd(input)
    out.append(str(output).split("grad_fn")[0])
    net.zero_grad()
    output.backward(torch.randn(1, 10))
    out.append(_np(net.conv1.bias.grad))
    output = fwd(input)
    target = torch.randn(10).view(1, -1)
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    out.append(str(loss).split("grad_fn")[0])
    net.zero_grad()
    out.append(f'conv1.bias.grad before backward {net.conv1.bias.grad}')
    loss.backward()
    out.append(f'conv1.bias.grad after backward {net.conv1.bias.grad}')
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    out.append(str(optimizer.state_dict()))

    def step(input, target):
        optimizer.zero_grad()
        output = fwd(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        return loss
    step_c = torch.compile(step) if compiled == "step" else step
    for i in range(3):
        out.append(step_c(input, target).item())
    for param in net.parameters():
        param.requires_grad = False
    net.fc3 = nn.Linear(84, 10)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    step_c = torch.compile(step) if compiled == "step" else step
    for i in range(2):
        out.append(step_c(input, target).item())
    out.append((str(optimizer.state_dict()["param_groups"]),
                sorted(optimizer.state_dict()["state"])))
    out.append(_state(net))
    return out


# ---- the harness ----

PROBES = {
    "makemore_bigram": makemore_bigram,
    "makemore_mlp": makemore_mlp,
    "makemore_batchnorm": makemore_batchnorm,
    "backprop_ninja": backprop_ninja,
    "makemore_wavenet": makemore_wavenet,
    "gpt_from_scratch": gpt_from_scratch,
    "d2l_linreg": d2l_linreg,
    "d2l_softmax_mlp": d2l_softmax_mlp,
    "d2l_batchnorm": d2l_batchnorm,
    "d2l_conv_basics": d2l_conv_basics,
    "d2l_modern_cnns": d2l_modern_cnns,
    "d2l_rnn_scratch": d2l_rnn_scratch,
    "d2l_attention": d2l_attention,
    "d2l_seq2seq": d2l_seq2seq,
    "fuse_conv_bn": fuse_conv_bn,
    "double_backward_functions": double_backward_functions,
    "extending_func": extending_func,
    "parametrizations": parametrizations,
    "saved_tensor_hooks": saved_tensor_hooks,
    "compile_intro": compile_intro,
    "blitz_printing": blitz_printing,
}

TOLERANCES: dict = {}
# The scratch RNN runs on (5, 2), (1, 1) and (6, 4) token batches, with and without a state
# that requires grad and with and without parameter grads: 7 variants, each for a reason.
COMPILE_LIMITS = {"d2l_rnn_scratch": 8,
                  # training (two args) and generation (one), each with grad on and off,
                  # a (1, 1) prompt, then one dynamic length below block_size and one at it
                  "gpt_from_scratch": 7}
# Generation slices `idx[:, -block_size:]` from a growing (1, T) tensor: a view whose
# size-1 batch dim has a new stride at every token. The guards leave such strides free when
# the trace reads no stride() (compiler/guards.py), so it compiles once per length.
XFAIL = {}


_reference = reference_of(PROBES)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("mode", ["eager", "model", "step"])
@pytest.mark.parametrize("name", list(PROBES))
def test_tutorial_probe_matches_pytorch(name, mode, monkeypatch):
    check_probe(PROBES, _reference, name, mode, monkeypatch, tolerances=TOLERANCES,
                compile_limits=COMPILE_LIMITS, xfail=XFAIL)

