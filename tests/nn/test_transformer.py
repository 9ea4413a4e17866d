"""The Transformer family against PyTorch: seeded initialisation (deep-copied layers,
Transformer's xavier re-initialisation), outputs and all gradients with masks, norm_first,
activations given as strings or callables, dropout draws, the eval-mode nested-tensor
zeros, warnings, state_dicts both ways, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import build, close, compare_module, same_error, torch

RNG = np.random.default_rng(3)
NESTED_WARNING = "enable_nested_tensor is True, but self.use_nested_tensor is False"
pytestmark = pytest.mark.filterwarnings(f"ignore:{NESTED_WARNING}:UserWarning")


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else gt


def _t(lib, value):
    return None if value is None else lib.tensor(value)


SRC, TGT = _x(5, 3, 8), _x(4, 3, 8)
KPM = np.array([[False] * 5, [False, False, False, True, True], [False] * 4 + [True]])
TGT_KPM = np.array([[False] * 4, [False, False, True, True], [False] * 4])
CAUSAL5 = np.triu(np.ones((5, 5), dtype=bool), 1)
CAUSAL4 = np.triu(np.ones((4, 4), dtype=bool), 1)


def _bf(a, batch_first):
    return a.transpose(1, 0, 2).copy() if batch_first else a


LAYER_OPTIONS = [dict(), dict(norm_first=True), dict(activation="gelu"),
                 dict(activation="relu", bias=False), dict(batch_first=True),
                 dict(layer_norm_eps=1e-3, dim_feedforward=12)]


@pytest.mark.parametrize("masks", [{}, dict(src_key_padding_mask=KPM),
                                   dict(src_mask=CAUSAL5, is_causal=True),
                                   dict(src_mask=CAUSAL5, src_key_padding_mask=KPM)],
                         ids=["none", "kpm", "causal", "both"])
@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=str)
def test_encoder_layer(options, masks):
    batch_first = options.get("batch_first", False)
    kpm = masks.get("src_key_padding_mask")
    masks = {k: v for k, v in masks.items() if k != "src_key_padding_mask"}
    tm, gm = compare_module(
        lambda lib: lib.nn.TransformerEncoderLayer(8, 2, **{"dim_feedforward": 16,
                                                            "dropout": 0.0, **options}),
        [_bf(SRC, batch_first)],
        call=lambda m, x: m(x, src_key_padding_mask=_t(_lib(x), kpm),
                            **{k: _t(_lib(x), v) if isinstance(v, np.ndarray) else v
                               for k, v in masks.items()}))
    assert repr(gm) == repr(tm)


@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=str)
def test_decoder_layer(options):
    batch_first = options.get("batch_first", False)
    compare_module(
        lambda lib: lib.nn.TransformerDecoderLayer(8, 2, **{"dim_feedforward": 16,
                                                            "dropout": 0.0, **options}),
        [_bf(TGT, batch_first), _bf(SRC, batch_first)],
        call=lambda m, t, s: m(t, s, tgt_mask=_t(_lib(t), CAUSAL4),
                               tgt_key_padding_mask=_t(_lib(t), TGT_KPM),
                               memory_key_padding_mask=_t(_lib(t), KPM), tgt_is_causal=True))


def test_activation_as_callable_and_module():
    for activation in (lambda lib: lib.nn.functional.silu, lambda lib: lib.nn.GELU()):
        tm, gm = compare_module(lambda lib, make=activation: lib.nn.TransformerEncoderLayer(
            8, 2, 16, 0.0, activation=make(lib)), [SRC])
        assert gm.activation_relu_or_gelu == tm.activation_relu_or_gelu
    same_error(lambda lib: lib.nn.TransformerEncoderLayer(8, 2, activation="tanh"))


def test_encoder_stack_layers_start_identical_and_train_apart():
    _, gm = compare_module(
        lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, 0.0),
                                              3, lib.nn.LayerNorm(8)),
        [SRC], call=lambda m, x: m(x, mask=_t(_lib(x), CAUSAL5),
                                   src_key_padding_mask=_t(_lib(x), KPM)))
    compare_module(
        lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, 0.0),
                                              2),
        [SRC], call=lambda m, x: m(x, mask=_lib(x).nn.Transformer.
                                   generate_square_subsequent_mask(5)))
    w = [layer.linear1.weight for layer in gm.layers]
    assert gt.equal(w[0], w[1]) and gt.equal(w[1], w[2]) and w[0] is not w[1]


def test_decoder_stack():
    compare_module(
        lambda lib: lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(8, 2, 16, 0.0),
                                              2, lib.nn.LayerNorm(8)),
        [TGT, SRC], call=lambda m, t, s: m(t, s, tgt_mask=_lib(t).nn.Transformer.
                                           generate_square_subsequent_mask(4)))


@pytest.mark.parametrize("options", [dict(), dict(batch_first=True, norm_first=True),
                                     dict(activation="gelu", bias=False)], ids=str)
def test_transformer_seeded_init_values_and_gradients(options):
    batch_first = options.get("batch_first", False)
    tm, gm = compare_module(
        lambda lib: lib.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, **options),
        [_bf(SRC, batch_first), _bf(TGT, batch_first)],
        call=lambda m, s, t: m(s, t, tgt_mask=m.generate_square_subsequent_mask(4),
                               src_key_padding_mask=_t(_lib(s), KPM),
                               memory_key_padding_mask=_t(_lib(s), KPM)))
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert repr(gm) == repr(tm)


def test_transformer_dropout_in_training_draws_what_pytorch_draws():
    compare_module(lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16, dropout=0.3), [SRC, TGT],
                   call=lambda m, s, t: (_lib(s).manual_seed(5), m(s, t))[1])


def test_eval_encoder_zeroes_padded_positions_like_the_nested_tensor_path():
    tm, gm = build(lambda lib: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2))
    tm.eval()
    gm.eval()
    src = _bf(SRC, True)
    not_left_aligned = np.array([[False] * 5, [True, False, False, False, False], [False] * 5])
    for kpm, zeroed in ((KPM, True), (not_left_aligned, False)):
        with torch.no_grad():
            want = tm(torch.tensor(src), src_key_padding_mask=torch.tensor(kpm))
        with gt.no_grad():
            got = gm(gt.tensor(src), src_key_padding_mask=gt.tensor(kpm))
        close(got, want, 1e-5, 1e-5)
        assert np.all(want.numpy()[1, 3:] == 0) == zeroed
    with torch.no_grad():  # and with autograd on the general path is taken
        tm.layers[0].linear1.weight.requires_grad_(True)
    got = gm(gt.tensor(src), src_key_padding_mask=gt.tensor(KPM))
    want = tm(torch.tensor(src), src_key_padding_mask=torch.tensor(KPM))
    close(got, want, 1e-5, 1e-5)
    assert not np.all(want.detach().numpy()[1, 3:] == 0)


def test_nested_tensor_warning_matches_pytorch():
    messages = []
    for lib in (torch, gt):
        with pytest.warns(UserWarning, match=NESTED_WARNING) as record:
            lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2), 1)
        messages.append([str(w.message) for w in record])
    assert messages[1] == messages[0]


def test_generate_square_subsequent_mask():
    for args in ((3,), (1,), (4, None, torch.float64)):
        want = torch.nn.Transformer.generate_square_subsequent_mask(*args)
        got = gt.nn.Transformer.generate_square_subsequent_mask(
            *[gt.float64 if a is torch.float64 else a for a in args])
        close(got, want)
        assert repr(got) == repr(want)


def test_transformer_state_dict_loads_both_ways():
    torch.manual_seed(1)
    tm = torch.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)
    gm = gt.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)
    gm.load_state_dict({k: gt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    back = torch.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)
    back.load_state_dict({k: torch.tensor(v.detach().numpy())
                          for k, v in gm.state_dict().items()})
    close(gm(gt.tensor(SRC), gt.tensor(TGT)), back(torch.tensor(SRC), torch.tensor(TGT)),
          1e-5, 1e-5)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 3, 8), lib.ones(4, 2, 8)),
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16, batch_first=True)(lib.ones(3, 5, 8),
                                                                     lib.ones(2, 4, 8)),
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 3, 6), lib.ones(4, 3, 6)),
    lambda lib: lib.nn.TransformerEncoderLayer(8, 3),
    lambda lib: lib.nn.TransformerEncoderLayer(8, 2)(lib.ones(5, 3, 8),
                                                     src_mask=lib.ones(5, 5, dtype=lib.int64)),
])
def test_transformer_errors(call):
    same_error(call)


def test_custom_encoder_and_decoder_are_used():
    for lib in (torch, gt):
        model = lib.nn.Transformer(8, 2, custom_encoder=lib.nn.Identity(),
                                   custom_decoder=lib.nn.Identity())
        assert isinstance(model.encoder, lib.nn.Identity)
        assert not any(True for _ in model.parameters())
