"""Classic PyTorch example models train as in PyTorch, eagerly and through gt.compile: the
nn.Transformer language model of PyTorch's tutorial, a DCGAN (ConvTranspose2d + BatchNorm)
and the ESPCN super-resolution net of pytorch/examples (PixelShuffle).

Each model is built in both libraries from the same seed, graphtorch's copy gets torch's
state_dict, both train on the same data (dropout masks drawn from the same seed), and the
losses and final weights agree to float32 tolerance.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import graphtorch as gt

from . import close, torch

pytestmark = pytest.mark.filterwarnings(
    "ignore:enable_nested_tensor is True:UserWarning")

RNG = np.random.default_rng(2024)


def _copy_state(source, target):
    target.load_state_dict({k: gt.tensor(v.detach().numpy())
                            for k, v in source.state_dict().items()})


def _same_weights(gm, reference, rtol=1e-4, atol=1e-5):
    """gm's state_dict against a torch state_dict (names, order and values)."""
    assert list(gm.state_dict()) == list(reference)
    for (name, g), t in zip(gm.state_dict().items(), reference.values()):
        close(g, t, rtol, atol, name)


@functools.cache
def _torch_run(train):
    """PyTorch's losses and final state_dict(s) for a training function (run once)."""
    losses, models = train(torch)[:2]
    models = models if isinstance(models, tuple) else (models,)
    return losses, tuple({k: v.detach().clone() for k, v in m.state_dict().items()}
                         for m in models)


# --- a Transformer-encoder language model (PyTorch's nn.Transformer tutorial) -------------

def _language_model(lib, ntoken=40, d_model=16, nhead=2, d_hid=32, nlayers=2, dropout=0.2):
    nn = lib.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=64):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = lib.arange(max_len).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = lib.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = lib.sin(position * div_term)
            pe[:, 0, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0)])

    class TransformerModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = nn.TransformerEncoder(layers, nlayers)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)
            self.embedding.weight.data.uniform_(-0.1, 0.1)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-0.1, 0.1)

        def forward(self, src, src_mask=None):
            src = self.pos_encoder(self.embedding(src) * math.sqrt(self.d_model))
            if src_mask is None:
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
            return self.linear(self.transformer_encoder(src, src_mask))

    return TransformerModel()


LM_DATA = [(d, (d + 1) % 40) for d in (RNG.integers(0, 40, (12, 4)) for _ in range(5))]


def _train_language_model(lib, compiled=False, source=None):
    lib.manual_seed(0)
    model = _language_model(lib)
    if source is not None:
        _copy_state(source, model)
    criterion = lib.nn.CrossEntropyLoss()
    optimizer = lib.optim.SGD(model.parameters(), lr=1.0)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.9)

    def step(data, targets):
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output.view(-1, 40), targets.reshape(-1))
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        return loss

    fn = gt.compile(step) if compiled else step
    losses = []
    for data, targets in LM_DATA:
        losses.append(fn(lib.tensor(data), lib.tensor(targets)).item())
        scheduler.step()
    return losses, model, fn


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_transformer_language_model_trains_as_in_pytorch(compiled):
    want, (reference,) = _torch_run(_train_language_model)
    torch.manual_seed(0)
    got, model, fn = _train_language_model(gt, compiled, source=_language_model(torch))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    _same_weights(model, reference)
    assert got[-1] < got[0]
    if compiled:  # the whole step (forward, backward, clipping, SGD) is one graph
        assert fn.stats.graph_breaks == [] and fn.compile_count == 1


# --- DCGAN (pytorch/examples dcgan, at 16x16) ---------------------------------------------

def _dcgan(lib, nz=8, ngf=8, ndf=8, nc=3):
    nn = lib.nn

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    generator = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid(), nn.Flatten(0))
    generator.apply(weights_init)
    discriminator.apply(weights_init)
    return generator, discriminator


GAN_DATA = [(RNG.uniform(-1, 1, (4, 3, 16, 16)).astype(np.float32),
             RNG.standard_normal((4, 8, 1, 1)).astype(np.float32)) for _ in range(4)]


def _train_dcgan(lib, mode=None, source=None):
    lib.manual_seed(0)
    net_g, net_d = _dcgan(lib)
    if source is not None:
        _copy_state(source[0], net_g)
        _copy_state(source[1], net_d)
    model_g, model_d = (gt.compile(net_g), gt.compile(net_d)) if mode == "modules" else \
        (net_g, net_d)
    criterion = lib.nn.BCELoss()
    opt_d = lib.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = lib.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(real, noise):
        net_d.zero_grad()
        err_d_real = criterion(model_d(real), lib.full((real.size(0),), 1.0))
        err_d_real.backward()
        fake = model_g(noise)
        err_d_fake = criterion(model_d(fake.detach()), lib.full((real.size(0),), 0.0))
        err_d_fake.backward()
        opt_d.step()
        net_g.zero_grad()
        err_g = criterion(model_d(fake), lib.full((real.size(0),), 1.0))
        err_g.backward()
        opt_g.step()
        return err_d_real + err_d_fake, err_g

    fn = gt.compile(step) if mode == "step" else step
    losses = []
    for real, noise in GAN_DATA:
        err_d, err_g = fn(lib.tensor(real), lib.tensor(noise))
        losses.append((err_d.item(), err_g.item()))
    return losses, (net_g, net_d)


def _check_dcgan(mode):
    want, (ref_g, ref_d) = _torch_run(_train_dcgan)
    torch.manual_seed(0)
    got, (net_g, net_d) = _train_dcgan(gt, mode, source=_dcgan(torch))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    _same_weights(net_g, ref_g)
    _same_weights(net_d, ref_d)


@pytest.mark.parametrize("mode", [None, "modules"], ids=["eager", "compiled-modules"])
def test_dcgan_trains_as_in_pytorch(mode):
    _check_dcgan(mode)


def test_dcgan_whole_step_compiled_trains_as_in_pytorch():
    _check_dcgan("step")


# --- super-resolution (pytorch/examples super_resolution: ESPCN with PixelShuffle) ---------

def _super_resolution(lib, upscale_factor=3):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            nn.init.orthogonal_(self.conv1.weight, nn.init.calculate_gain("relu"))
            nn.init.orthogonal_(self.conv2.weight, nn.init.calculate_gain("relu"))
            nn.init.orthogonal_(self.conv3.weight, nn.init.calculate_gain("relu"))
            nn.init.orthogonal_(self.conv4.weight)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            return self.pixel_shuffle(self.conv4(x))

    return Net()


SR_DATA = [(RNG.uniform(0, 1, (4, 1, 8, 8)).astype(np.float32),
            RNG.uniform(0, 1, (4, 1, 24, 24)).astype(np.float32)) for _ in range(5)]


def _train_super_resolution(lib, compiled=False, source=None):
    lib.manual_seed(0)
    model = _super_resolution(lib)
    if source is not None:
        _copy_state(source, model)
    criterion = lib.nn.MSELoss()
    optimizer = lib.optim.Adam(model.parameters(), lr=0.01)

    def step(lowres, target):
        optimizer.zero_grad()
        loss = criterion(model(lowres), target)
        loss.backward()
        optimizer.step()
        return loss

    fn = gt.compile(step) if compiled else step
    losses = [fn(lib.tensor(x), lib.tensor(y)).item() for x, y in SR_DATA]
    return losses, model, fn


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_super_resolution_net_trains_as_in_pytorch(compiled):
    want, (reference,) = _torch_run(_train_super_resolution)
    torch.manual_seed(0)
    got, model, fn = _train_super_resolution(gt, compiled, source=_super_resolution(torch))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    _same_weights(model, reference)
    assert got[-1] < got[0]
    if compiled:
        assert fn.stats.graph_breaks == []


# --- the word_language_model loop of pytorch/examples (manual SGD through p.data) ----------

def test_manual_sgd_through_param_data_compiled():
    losses = []
    for compiled in (False, True):
        gt.manual_seed(0)
        model = _language_model(gt, dropout=0.0)

        def step(data, targets, model=model):
            model.zero_grad()
            loss = gt.nn.functional.cross_entropy(model(data).view(-1, 40), targets.reshape(-1))
            loss.backward()
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-0.5)
            return loss

        fn = gt.compile(step) if compiled else step
        losses.append([fn(gt.tensor(d), gt.tensor(t)).item() for d, t in LM_DATA[:3]])
    np.testing.assert_allclose(losses[1], losses[0], rtol=2e-5)
