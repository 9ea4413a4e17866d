"""The PyTorch examples' VAE (random draws inside forward: the reparameterisation trick)
trains with graphtorch exactly as with PyTorch: same seeds, same initial weights, same
noise, same losses step by step - eagerly, and compiled with gt.compile."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

STEPS = 6


def make_vae(lib, use_distributions=False):
    nn, F = lib.nn, lib.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 32)
            self.fc21 = nn.Linear(32, 8)
            self.fc22 = nn.Linear(32, 8)
            self.fc3 = nn.Linear(8, 32)
            self.fc4 = nn.Linear(32, 64)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = lib.exp(0.5 * logvar)
            if use_distributions:
                return lib.distributions.Normal(mu, std).rsample()
            eps = lib.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return lib.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 64))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    return VAE()


def vae_loss(lib, recon_x, x, mu, logvar):
    bce = lib.nn.functional.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def _data():
    rng = np.random.default_rng(0)
    return rng.random((STEPS, 16, 64)).astype(np.float32)


def train(lib, compiled=False, use_distributions=False):
    lib.manual_seed(1)
    model = make_vae(lib, use_distributions)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)

    def step(data):
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss = vae_loss(lib, recon, data, mu, logvar)
        loss.backward()
        optimizer.step()
        return loss

    run = lib.compile(step) if compiled else step
    losses = [run(lib.from_numpy(batch)).item() for batch in _data()]
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, run


@pytest.mark.parametrize("use_distributions", [False, True], ids=["randn_like", "Normal"])
def test_vae_trains_eagerly_as_pytorch(use_distributions):
    theirs, their_state, _ = train(torch, use_distributions=use_distributions)
    ours, our_state, _ = train(gt, use_distributions=use_distributions)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5)
    assert ours[-1] < ours[0]
    for key in their_state:
        np.testing.assert_allclose(our_state[key], their_state[key], rtol=1e-4, atol=1e-5,
                                   err_msg=key)


def test_vae_trains_compiled_as_pytorch():
    theirs, their_state, _ = train(torch)
    ours, our_state, _ = train(gt, compiled=True)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5)
    for key in their_state:
        np.testing.assert_allclose(our_state[key], their_state[key], rtol=1e-4, atol=1e-5,
                                   err_msg=key)


def test_vae_step_compiles_into_one_graph():
    _, _, run = train(gt, compiled=True)
    assert not run.stats.graph_breaks
