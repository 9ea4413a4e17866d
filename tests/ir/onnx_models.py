"""Models exported to ONNX by tests/ir/test_onnx_models.py (their own module, so the source
lines the exported doc_strings carry are stable)."""

from __future__ import annotations

import importlib.util
import math
import os

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def seed_lenet():
    """The seed notes' LeNet, as examples/lenet.py defines it (view(-1, num_flat_features))."""
    spec = importlib.util.spec_from_file_location("_onnx_lenet", os.path.join(EXAMPLES,
                                                                               "lenet.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Net()


class LSTMClassifier(nn.Module):
    """Token ids (batch, length) -> class log-probabilities from the last step."""

    def __init__(self, vocab=20, dim=8, hidden=16, classes=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, tokens):
        out, _ = self.lstm(self.emb(tokens))
        return F.log_softmax(self.fc(out[:, -1]), dim=-1)


class GRUTagger(nn.Module):
    """A bidirectional GRU (a reversed scan) and an Elman RNN, tagging every step."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(12, 5, batch_first=True)

    def forward(self, x):
        out, _ = self.gru(x)
        out, h = self.rnn(out)
        return out, h


class Gated(nn.Module):
    """A data-dependent branch (gt.cond) that reads a submodule in one branch."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.other = nn.Linear(4, 4)

    def forward(self, x):
        h = self.fc(x)
        return gt.cond(h.mean() > 0, lambda h: h.relu() * 2, lambda h: self.other(h).tanh(),
                       (h,))


def halve_until_small(x):
    """A gt.while_loop whose trip count depends on the data."""
    def body(carry):
        i, v = carry
        return i + 1, v * 0.5

    steps, y = gt.while_loop(lambda c: c[1].abs().amax() > 1.0, body, (gt.tensor(0), x))
    return y, steps


def cumulative(x):
    """gt.fori_loop with Python bounds: a scan over no xs."""
    return gt.fori_loop(0, 4, lambda i, v: v * 2 + i, x)


class Attention(nn.Module):
    """Multi-head causal self-attention and a feed-forward block from primitives: linear
    projections, view/transpose, baddbmm, a triu mask with masked_fill, softmax, dropout
    (eval), layer norm, GELU (what nn.MultiheadAttention and nn.TransformerEncoder are
    built from)."""

    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, dim))
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   .reshape(b * self.heads, t, d // self.heads) for z in (q, k, v))
        bias = gt.zeros(b * self.heads, t, t)
        scores = gt.baddbmm(bias, q, k.transpose(1, 2), alpha=1 / math.sqrt(d // self.heads))
        mask = gt.ones(t, t, dtype=gt.bool).triu(1)
        weights = self.drop(F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1))
        y = gt.bmm(weights, v).view(b, self.heads, t, d // self.heads).permute(0, 2, 1, 3)
        x = x + self.out(y.reshape(b, t, d))
        return x + self.ff(self.norm2(x))


def transformer_encoder():
    """nn.TransformerEncoder as PyTorch builds it (None while graphtorch lacks it)."""
    if not hasattr(nn, "TransformerEncoder"):
        return None
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.1,
                                       batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=2)


class Normed(nn.Module):
    """Conv (groups, padding mode), batch norm, pooling with ceil_mode, adaptive pooling,
    dropout, flatten."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1, groups=2, padding_mode="reflect")
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False, padding=1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.avg(self.pool(F.relu(self.bn(self.conv(x)))))
        x = F.adaptive_avg_pool2d(self.drop(x), 1) + F.adaptive_max_pool2d(x, (1, 1))
        x = x.flatten(1)
        return self.head(x)
