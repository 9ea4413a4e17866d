"""Tutorial probes, round 4: small, seeded, synthetic-data versions of classic public
PyTorch programs, each run three ways - PyTorch, graphtorch eagerly, and graphtorch with
the model (``"model"``) or the training step (``"step"``) compiled - with the losses,
outputs, sampled tokens/actions and final parameters compared after every step.

Programs: pytorch/examples word_language_model (RNN_TANH/LSTM/GRU and the Transformer,
``repackage_hidden``, ``clip_grad_norm_``, the manual ``p.data.add_(p.grad, alpha=-lr)``
update, generate.py's sampling); the "Sequence Models and LSTM" POS tagger and its
character-level exercise
the Bi-LSTM CRF (Python loops over tensors, ``.item()``, argmax,
viterbi) and a vectorised CRF; "NLP From Scratch" seq2seq translation (GRU encoder,
Bahdanau attention decoder, teacher forcing, ``topk``, the legacy per-token loop);
reinforcement_learning (REINFORCE, actor-critic with ``Categorical`` on a NumPy CartPole);
vae; siamese_network (BCE, triplet and contrastive losses); "Learning PyTorch with
Examples" (manual gradients, autograd, ``LegendrePolynomial3``, ``nn.Sequential`` +
``Flatten``, optim, custom modules, the random-depth dynamic net); "What is torch.nn
really?" (from scratch, ``TensorDataset``/``DataLoader``, ``WrappedDataLoader``, the
``Lambda`` module, CNNs)
time_sequence_prediction (double-precision ``LSTMCell``,
``LBFGS`` with a closure, also compiled)
mnist_forward_forward.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections import namedtuple

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

# ---- 1. pytorch/examples word_language_model (model.py, main.py, generate.py) ----
def wlm_rnn(lib, compiled, rnn_type="LSTM", steps=4):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    class RNNModel(nn.Module):
        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
            super(RNNModel, self).__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            if rnn_type in ['LSTM', 'GRU']:
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            else:
                nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
                self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            if tie_weights:
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            if self.rnn_type == 'LSTM':
                return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                        weight.new_zeros(self.nlayers, bsz, self.nhid))
            else:
                return weight.new_zeros(self.nlayers, bsz, self.nhid)

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        data = data.view(bsz, -1).t().contiguous()
        return data

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    bptt = 5
    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i+seq_len]
        target = source[i+1:i+1+seq_len].view(-1)
        return data, target

    torch.manual_seed(1111)
    ntokens = 20
    corpus = torch.from_numpy(np.random.default_rng(0).integers(0, ntokens, 130).astype(np.int64))
    train_data = batchify(corpus[:100], 4)
    val_data = batchify(corpus[100:], 2)
    model = RNNModel(rnn_type, ntokens, 8, 8, 2, 0.2, tie_weights=(rnn_type == "GRU"))
    criterion = nn.NLLLoss()
    lr = 20.0
    clip = 0.25
    out = []
    fwd = torch.compile(model) if compiled == "model" else model

    def train_step(data, targets, hidden, lr):
        model.zero_grad()
        output, hidden = fwd(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        return loss, hidden
    step = torch.compile(train_step) if compiled == "step" else train_step

    def evaluate(data_source):
        model.eval()
        total_loss = 0.
        hidden = model.init_hidden(2)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, bptt):
                data, targets = get_batch(data_source, i)
                output, hidden = fwd(data, hidden)
                hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    for epoch in range(2):
        model.train()
        total_loss = 0.
        hidden = model.init_hidden(4)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            hidden = repackage_hidden(hidden)
            loss, hidden = step(data, targets, hidden, lr)
            total_loss += loss.item()
            out.append(loss.item())
        val_loss = evaluate(val_data)
        out.append(val_loss)
        lr /= 4.0
    out.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    # generate.py
    model.eval()
    hidden = model.init_hidden(1)
    input = torch.randint(ntokens, (1, 1), dtype=torch.long)
    words = []
    with torch.no_grad():
        for i in range(6):
            output, hidden = fwd(input, hidden)
            word_weights = output.squeeze().div(1.0).exp().cpu()
            word_idx = torch.multinomial(word_weights, 1)[0]
            input.fill_(word_idx)
            words.append(int(word_idx))
    out.append(words)
    return out

def wlm_transformer(lib, compiled, steps=4):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super(PositionalEncoding, self).__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float()
                                 * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer('pe', pe)

        def forward(self, x):
            x = x + self.pe[:x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn.Transformer):
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super(TransformerModel, self).__init__(d_model=ninp, nhead=nhead,
                                                   dim_feedforward=nhid,
                                                   num_encoder_layers=nlayers,
                                                   num_decoder_layers=1)
            self.model_type = 'Transformer'
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout, max_len=64)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)
            self.init_weights()

        def _generate_square_subsequent_mask(self, sz):
            return torch.log(torch.tril(torch.ones(sz,sz)))

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    mask = self._generate_square_subsequent_mask(len(src)).to(device)
                    self.src_mask = mask
            else:
                self.src_mask = None
            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    torch.manual_seed(1111)
    ntokens = 20
    corpus = torch.from_numpy(np.random.default_rng(0).integers(0, ntokens, 100).astype(np.int64))
    data = corpus.view(4, -1).t().contiguous()
    model = TransformerModel(ntokens, 8, 2, 16, 2, 0.2)
    criterion = nn.NLLLoss()
    fwd = torch.compile(model) if compiled == "model" else model
    lr = 5.0
    def train_step(x, targets, lr):
        model.zero_grad()
        output = fwd(x)
        output = output.view(-1, ntokens)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    out = []
    model.train()
    for i in range(0, 20, 5):
        x = data[i:i+5]
        t = data[i+1:i+6].reshape(-1)
        out.append(step(x, t, lr).item())
    model.eval()
    with torch.no_grad():
        o = fwd(data[:7])
        out.append(o.numpy().copy())
        # generate.py for Transformer
        input = torch.randint(ntokens, (1, 1), dtype=torch.long)
        words = []
        for i in range(5):
            output = fwd(input, False)
            word_weights = output[-1].squeeze().div(1.0).exp().cpu()
            word_idx = torch.multinomial(word_weights, 1)[0]
            word_tensor = torch.Tensor([[word_idx]]).long()
            input = torch.cat([input, word_tensor], 0)
            words.append(int(word_idx))
    out.append(words)
    out.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    return out


# ---- 2. tutorials: Sequence Models and LSTM; Bi-LSTM CRF ----
def pos_tagger(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    torch.manual_seed(1)

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return torch.tensor(idxs, dtype=torch.long)

    training_data = [
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])
    ]
    word_to_ix = {}
    for sent, tags in training_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
    EMBEDDING_DIM = 6
    HIDDEN_DIM = 6

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super(LSTMTagger, self).__init__()
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    # the warm-up part of the tutorial
    lstm = nn.LSTM(3, 3)
    inputs = [torch.randn(1, 3) for _ in range(5)]
    hidden = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
    outs = []
    for i in inputs:
        out, hidden = lstm(i.view(1, 1, -1), hidden)
    outs.append(out.detach().numpy().copy())
    inputs = torch.cat(inputs).view(len(inputs), 1, -1)
    hidden = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
    out, hidden = lstm(inputs, hidden)
    outs.append(out.detach().numpy().copy())
    outs.append(hidden[0].detach().numpy().copy())

    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    fwd = torch.compile(model) if compiled == "model" else model
    def train_step(sentence_in, targets):
        model.zero_grad()
        tag_scores = fwd(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = fwd(inputs)
        outs.append(tag_scores.numpy().copy())
    for epoch in range(6):
        for sentence, tags in training_data:
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            outs.append(step(sentence_in, targets).item())
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = fwd(inputs)
        outs.append(tag_scores.numpy().copy())
        outs.append(tag_scores.argmax(1).tolist())
    return outs


def bilstm_crf(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    torch.manual_seed(1)

    def argmax(vec):
        _, idx = torch.max(vec, 1)
        return idx.item()

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return torch.tensor(idxs, dtype=torch.long)

    def log_sum_exp(vec):
        max_score = vec[0, argmax(vec)]
        max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
        return max_score + \
            torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))

    START_TAG = "<START>"
    STOP_TAG = "<STOP>"

    class BiLSTM_CRF(nn.Module):
        def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
            super(BiLSTM_CRF, self).__init__()
            self.embedding_dim = embedding_dim
            self.hidden_dim = hidden_dim
            self.vocab_size = vocab_size
            self.tag_to_ix = tag_to_ix
            self.tagset_size = len(tag_to_ix)
            self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2,
                                num_layers=1, bidirectional=True)
            self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
            self.transitions = nn.Parameter(
                torch.randn(self.tagset_size, self.tagset_size))
            self.transitions.data[tag_to_ix[START_TAG], :] = -10000
            self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000
            self.hidden = self.init_hidden()

        def init_hidden(self):
            return (torch.randn(2, 1, self.hidden_dim // 2),
                    torch.randn(2, 1, self.hidden_dim // 2))

        def _forward_alg(self, feats):
            init_alphas = torch.full((1, self.tagset_size), -10000.)
            init_alphas[0][self.tag_to_ix[START_TAG]] = 0.
            forward_var = init_alphas
            for feat in feats:
                alphas_t = []
                for next_tag in range(self.tagset_size):
                    emit_score = feat[next_tag].view(
                        1, -1).expand(1, self.tagset_size)
                    trans_score = self.transitions[next_tag].view(1, -1)
                    next_tag_var = forward_var + trans_score + emit_score
                    alphas_t.append(log_sum_exp(next_tag_var).view(1))
                forward_var = torch.cat(alphas_t).view(1, -1)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            alpha = log_sum_exp(terminal_var)
            return alpha

        def _get_lstm_features(self, sentence):
            self.hidden = self.init_hidden()
            embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
            lstm_out, self.hidden = self.lstm(embeds, self.hidden)
            lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
            lstm_feats = self.hidden2tag(lstm_out)
            return lstm_feats

        def _score_sentence(self, feats, tags):
            score = torch.zeros(1)
            tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
            for i, feat in enumerate(feats):
                score = score + \
                    self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
            score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
            return score

        def _viterbi_decode(self, feats):
            backpointers = []
            init_vvars = torch.full((1, self.tagset_size), -10000.)
            init_vvars[0][self.tag_to_ix[START_TAG]] = 0
            forward_var = init_vvars
            for feat in feats:
                bptrs_t = []
                viterbivars_t = []
                for next_tag in range(self.tagset_size):
                    next_tag_var = forward_var + self.transitions[next_tag]
                    best_tag_id = argmax(next_tag_var)
                    bptrs_t.append(best_tag_id)
                    viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
                forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
                backpointers.append(bptrs_t)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            best_tag_id = argmax(terminal_var)
            path_score = terminal_var[0][best_tag_id]
            best_path = [best_tag_id]
            for bptrs_t in reversed(backpointers):
                best_tag_id = bptrs_t[best_tag_id]
                best_path.append(best_tag_id)
            start = best_path.pop()
            assert start == self.tag_to_ix[START_TAG]
            best_path.reverse()
            return path_score, best_path

        def neg_log_likelihood(self, sentence, tags):
            feats = self._get_lstm_features(sentence)
            forward_score = self._forward_alg(feats)
            gold_score = self._score_sentence(feats, tags)
            return forward_score - gold_score

        def forward(self, sentence):
            lstm_feats = self._get_lstm_features(sentence)
            score, tag_seq = self._viterbi_decode(lstm_feats)
            return score, tag_seq

    EMBEDDING_DIM = 5
    HIDDEN_DIM = 4
    training_data = [(
        "the wall street journal reported today that apple corporation made money".split(),
        "B I I I O O O B I O O".split()
    ), (
        "georgia tech is a university in georgia".split(),
        "B I O O O O B".split()
    )]
    word_to_ix = {}
    for sentence, tags in training_data:
        for word in sentence:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}
    model = BiLSTM_CRF(len(word_to_ix), tag_to_ix, EMBEDDING_DIM, HIDDEN_DIM)
    optimizer = optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)
    outs = []
    fwd = torch.compile(model) if compiled == "model" else model
    with torch.no_grad():
        precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
        s, seq = fwd(precheck_sent)
        outs.append(s.item())
        outs.append(seq)
    nll = torch.compile(model.neg_log_likelihood) if compiled else model.neg_log_likelihood
    def train_step(sentence_in, targets):
        model.zero_grad()
        loss = nll(sentence_in, targets)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    for epoch in range(2):
        for sentence, tags in training_data:
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
            outs.append(step(sentence_in, targets).item())
    with torch.no_grad():
        precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
        s, seq = fwd(precheck_sent)
        outs.append(s.item())
        outs.append(seq)
    outs.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    return outs


# ---- 3. tutorials: NLP From Scratch: seq2seq translation with attention ----
def seq2seq(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    SOS_token = 0
    EOS_token = 1
    MAX_LENGTH = 6
    hidden_size = 16
    n_words_in, n_words_out = 12, 10
    device = torch.device("cpu")

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super(EncoderRNN, self).__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super(BahdanauAttention, self).__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super(AttnDecoderRNN, self).__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long,
                                        device=device).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            attentions = []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs)
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None:
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    # legacy tutorial version: per-token loop, teacher forcing with random.random()
    class AttnDecoderRNNLegacy(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1, max_length=MAX_LENGTH):
            super().__init__()
            self.hidden_size = hidden_size
            self.output_size = output_size
            self.max_length = max_length
            self.embedding = nn.Embedding(self.output_size, self.hidden_size)
            self.attn = nn.Linear(self.hidden_size * 2, self.max_length)
            self.attn_combine = nn.Linear(self.hidden_size * 2, self.hidden_size)
            self.dropout = nn.Dropout(dropout_p)
            self.gru = nn.GRU(self.hidden_size, self.hidden_size)
            self.out = nn.Linear(self.hidden_size, self.output_size)

        def forward(self, input, hidden, encoder_outputs):
            embedded = self.embedding(input).view(1, 1, -1)
            embedded = self.dropout(embedded)
            attn_weights = F.softmax(self.attn(torch.cat((embedded[0], hidden[0]), 1)), dim=1)
            attn_applied = torch.bmm(attn_weights.unsqueeze(0), encoder_outputs.unsqueeze(0))
            output = torch.cat((embedded[0], attn_applied[0]), 1)
            output = self.attn_combine(output).unsqueeze(0)
            output = F.relu(output)
            output, hidden = self.gru(output, hidden)
            output = F.log_softmax(self.out(output[0]), dim=1)
            return output, hidden, attn_weights

        def initHidden(self):
            return torch.zeros(1, 1, self.hidden_size, device=device)

    class EncoderRNNLegacy(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size)

        def forward(self, input, hidden):
            embedded = self.embedding(input).view(1, 1, -1)
            output = embedded
            output, hidden = self.gru(output, hidden)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, 1, self.hidden_size, device=device)

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    N = 8
    pairs = []
    for _ in range(N):
        n = rng.integers(2, MAX_LENGTH)
        src = list(rng.integers(2, n_words_in, n)) + [EOS_token]
        tgt = [int(x) % (n_words_out - 2) + 2 for x in src[:-1]][::-1] + [EOS_token]
        pairs.append(([int(x) for x in src], tgt))
    input_ids = np.zeros((N, MAX_LENGTH), dtype=np.int32)
    target_ids = np.zeros((N, MAX_LENGTH), dtype=np.int32)
    for idx, (inp_ids, tgt_ids) in enumerate(pairs):
        input_ids[idx, :len(inp_ids)] = inp_ids
        target_ids[idx, :len(tgt_ids)] = tgt_ids
    train_data = torch.utils.data.TensorDataset(torch.LongTensor(input_ids).to(device),
                                                torch.LongTensor(target_ids).to(device))
    train_sampler = torch.utils.data.RandomSampler(train_data)
    train_dataloader = torch.utils.data.DataLoader(train_data, sampler=train_sampler, batch_size=4)

    encoder = EncoderRNN(n_words_in, hidden_size).to(device)
    decoder = AttnDecoderRNN(hidden_size, n_words_out).to(device)
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01)
    criterion = nn.NLLLoss()
    enc = torch.compile(encoder) if compiled == "model" else encoder
    dec = torch.compile(decoder) if compiled == "model" else decoder

    def train_epoch(input_tensor, target_tensor):
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        encoder_outputs, encoder_hidden = enc(input_tensor)
        decoder_outputs, _, _ = dec(encoder_outputs, encoder_hidden, target_tensor)
        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)),
            target_tensor.view(-1)
        )
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        return loss
    step = torch.compile(train_epoch) if compiled == "step" else train_epoch
    outs = []
    for epoch in range(2):
        total_loss = 0
        for data in train_dataloader:
            input_tensor, target_tensor = data
            loss = step(input_tensor, target_tensor)
            total_loss += loss.item()
        outs.append(total_loss / len(train_dataloader))

    def evaluate(encoder, decoder, input_tensor):
        with torch.no_grad():
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
            _, topi = decoder_outputs.topk(1)
            decoded_ids = topi.squeeze()
            decoded_words = []
            for idx in decoded_ids:
                if idx.item() == EOS_token:
                    decoded_words.append('<EOS>')
                    break
                decoded_words.append(idx.item())
        return decoded_words, decoder_attn
    encoder.eval()
    decoder.eval()
    for i in range(3):
        words, attn = evaluate(enc, dec, torch.LongTensor(input_ids[i:i+1]))
        outs.append(words)
        outs.append(attn.numpy().copy())

    # legacy per-token training with random teacher forcing
    random.seed(3)
    torch.manual_seed(2)
    encoder = EncoderRNNLegacy(n_words_in, hidden_size)
    decoder = AttnDecoderRNNLegacy(hidden_size, n_words_out, dropout_p=0.1)
    encoder_optimizer = optim.SGD(encoder.parameters(), lr=0.01)
    decoder_optimizer = optim.SGD(decoder.parameters(), lr=0.01)
    enc = torch.compile(encoder) if compiled else encoder
    dec = torch.compile(decoder) if compiled else decoder
    teacher_forcing_ratio = 0.5

    def train(input_tensor, target_tensor, max_length=MAX_LENGTH):
        encoder_hidden = encoder.initHidden()
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        input_length = input_tensor.size(0)
        target_length = target_tensor.size(0)
        encoder_outputs = torch.zeros(max_length, encoder.hidden_size, device=device)
        loss = 0
        for ei in range(input_length):
            encoder_output, encoder_hidden = enc(input_tensor[ei], encoder_hidden)
            encoder_outputs[ei] = encoder_output[0, 0]
        decoder_input = torch.tensor([[SOS_token]], device=device)
        decoder_hidden = encoder_hidden
        use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
        if use_teacher_forcing:
            for di in range(target_length):
                decoder_output, decoder_hidden, decoder_attention = dec(
                    decoder_input, decoder_hidden, encoder_outputs)
                loss += criterion(decoder_output, target_tensor[di])
                decoder_input = target_tensor[di]
        else:
            for di in range(target_length):
                decoder_output, decoder_hidden, decoder_attention = dec(
                    decoder_input, decoder_hidden, encoder_outputs)
                topv, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze().detach()
                loss += criterion(decoder_output, target_tensor[di])
                if decoder_input.item() == EOS_token:
                    break
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        return loss.item() / target_length

    for it in range(4):
        src, tgt = pairs[it % N]
        input_tensor = torch.tensor(src, dtype=torch.long, device=device).view(-1, 1)
        target_tensor = torch.tensor(tgt, dtype=torch.long, device=device).view(-1, 1)
        outs.append(train(input_tensor, target_tensor))
    outs.append({k: v.detach().numpy().copy() for k, v in decoder.state_dict().items()})
    return outs


# ---- 4. pytorch/examples reinforcement_learning (REINFORCE, actor-critic) ----
class FakeCartPole:
    """A tiny deterministic NumPy CartPole."""
    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)
        self.state = None
    def reset(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        self.t = 0
        return self.state.copy(), {}
    def step(self, action):
        x, xd, th, thd = self.state
        force = 10.0 if action == 1 else -10.0
        thacc = (9.8 * np.sin(th) - np.cos(th) * force / 1.1 * 0.1) / 0.5
        xacc = force / 1.1 - 0.05 * thacc * np.cos(th) / 1.1
        x, xd = x + 0.02 * xd, xd + 0.02 * xacc
        th, thd = th + 0.02 * thd, thd + 0.02 * thacc
        self.state = np.array([x, xd, th, thd])
        self.t += 1
        done = bool(abs(x) > 2.4 or abs(th) > 0.21 or self.t >= 30)
        return self.state.copy(), 1.0, done, False, {}


def reinforce(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    from_dist = lib.distributions.Categorical
    gamma = 0.99
    env = FakeCartPole(543)
    torch.manual_seed(543)

    class Policy(nn.Module):
        def __init__(self):
            super(Policy, self).__init__()
            self.affine1 = nn.Linear(4, 16)
            self.dropout = nn.Dropout(p=0.6)
            self.affine2 = nn.Linear(16, 2)
            self.saved_log_probs = []
            self.rewards = []

        def forward(self, x):
            x = self.affine1(x)
            x = self.dropout(x)
            x = F.relu(x)
            action_scores = self.affine2(x)
            return F.softmax(action_scores, dim=1)

    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    fwd = torch.compile(policy) if compiled == 'model' else policy

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = fwd(state)
        m = from_dist(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = []
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss.item()

    if compiled == "step":
        finish_episode = torch.compile(finish_episode)
    outs = []
    running_reward = 10
    for i_episode in range(4):
        state, _ = env.reset()
        ep_reward = 0
        actions = []
        for t in range(1, 10000):
            action = select_action(state)
            actions.append(action)
            state, reward, done, _, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        outs.append(actions)
        outs.append(finish_episode())
        outs.append(running_reward)
    outs.append({k: v.detach().numpy().copy() for k, v in policy.state_dict().items()})
    return outs


def actor_critic(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    Categorical = lib.distributions.Categorical
    SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])
    gamma = 0.99
    env = FakeCartPole(543)
    torch.manual_seed(543)

    class Policy(nn.Module):
        def __init__(self):
            super(Policy, self).__init__()
            self.affine1 = nn.Linear(4, 32)
            self.action_head = nn.Linear(32, 2)
            self.value_head = nn.Linear(32, 1)
            self.saved_actions = []
            self.rewards = []

        def forward(self, x):
            x = F.relu(self.affine1(x))
            action_prob = F.softmax(self.action_head(x), dim=-1)
            state_values = self.value_head(x)
            return action_prob, state_values

    model = Policy()
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()
    fwd = torch.compile(model) if compiled == 'model' else model

    def select_action(state):
        state = torch.from_numpy(state).float()
        probs, state_value = fwd(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss.item()

    if compiled == "step":
        finish_episode = torch.compile(finish_episode)
    outs = []
    running_reward = 10
    for i_episode in range(4):
        state, _ = env.reset()
        ep_reward = 0
        actions = []
        for t in range(1, 10000):
            action = select_action(state)
            actions.append(action)
            state, reward, done, _, _ = env.step(action)
            model.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        outs.append(actions)
        outs.append(finish_episode())
    outs.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    return outs


# ---- 5. pytorch/examples vae and siamese_network ----
def vae(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    torch.manual_seed(1)

    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()
            self.fc1 = nn.Linear(784, 40)
            self.fc21 = nn.Linear(40, 6)
            self.fc22 = nn.Linear(40, 6)
            self.fc3 = nn.Linear(6, 40)
            self.fc4 = nn.Linear(40, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5*logvar)
            eps = torch.randn_like(std)
            return mu + eps*std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    fwd = torch.compile(model) if compiled == "model" else model

    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD

    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((24, 1, 28, 28)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 10, 24))
    ds = torch.utils.data.TensorDataset(images, labels)
    train_loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True)
    test_loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=False)

    def train_step(data):
        optimizer.zero_grad()
        recon_batch, mu, logvar = fwd(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    outs = []
    for epoch in range(1, 3):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            loss = step(data)
            train_loss += loss.item()
            outs.append(loss.item() / len(data))
        outs.append(train_loss / len(train_loader.dataset))
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, _) in enumerate(test_loader):
                recon_batch, mu, logvar = fwd(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
                if i == 0:
                    n = min(data.size(0), 8)
                    comparison = torch.cat([data[:n], recon_batch.view(8, 1, 28, 28)[:n]])
                    outs.append(comparison.numpy().copy())
        outs.append(test_loss / len(test_loader.dataset))
        with torch.no_grad():
            sample = torch.randn(4, 6)
            sample = model.decode(sample).cpu()
            outs.append(sample.view(4, 1, 28, 28).numpy().copy())
    return outs


def siamese(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    torch.manual_seed(1)

    class SiameseNetwork(nn.Module):
        def __init__(self):
            super(SiameseNetwork, self).__init__()
            # small resnet stand-in with the example's head
            self.resnet = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                nn.Conv2d(4, 8, kernel_size=3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d((1, 1)))
            self.fc_in_features = 8
            self.fc = nn.Sequential(
                nn.Linear(self.fc_in_features * 2, 16),
                nn.ReLU(inplace=True),
                nn.Linear(16, 1),
            )
            self.sigmoid = nn.Sigmoid()
            self.resnet.apply(self.init_weights)
            self.fc.apply(self.init_weights)

        def init_weights(self, m):
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                m.bias.data.fill_(0.01)

        def forward_once(self, x):
            output = self.resnet(x)
            output = output.view(output.size()[0], -1)
            return output

        def forward(self, input1, input2):
            output1 = self.forward_once(input1)
            output2 = self.forward_once(input2)
            output = torch.cat((output1, output2), 1)
            output = self.fc(output)
            output = self.sigmoid(output)
            return output

    rng = np.random.default_rng(1)
    imgs = torch.from_numpy(rng.random((16, 1, 12, 12)).astype(np.float32))
    grouping = {}
    labels = rng.integers(0, 3, 16)
    for i, lab in enumerate(labels):
        grouping.setdefault(int(lab), []).append(i)

    class APP_MATCHER(torch.utils.data.Dataset):
        def __len__(self):
            return 16
        def __getitem__(self, index):
            selected_class = int(labels[index])
            image_1 = imgs[index]
            if index % 2 == 0:
                index_2 = grouping[selected_class][(index * 7) % len(grouping[selected_class])]
                target = torch.tensor(1, dtype=torch.float)
            else:
                other = (selected_class + 1) % 3
                index_2 = grouping[other][index % len(grouping[other])]
                target = torch.tensor(0, dtype=torch.float)
            return image_1, imgs[index_2].clone(), target

    model = SiameseNetwork()
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    criterion = nn.BCELoss()
    loader = torch.utils.data.DataLoader(APP_MATCHER(), batch_size=4, shuffle=True)
    fwd = torch.compile(model) if compiled == "model" else model

    def train_step(images_1, images_2, targets):
        optimizer.zero_grad()
        outputs = fwd(images_1, images_2).squeeze()
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step
    outs = []
    for epoch in range(2):
        model.train()
        for batch_idx, (images_1, images_2, targets) in enumerate(loader):
            outs.append(step(images_1, images_2, targets).item())
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for (images_1, images_2, targets) in loader:
                outputs = fwd(images_1, images_2).squeeze()
                test_loss += criterion(outputs, targets).sum().item()
                pred = torch.where(outputs > 0.5, 1, 0)
                correct += pred.eq(targets.view_as(pred)).sum().item()
        outs.append(test_loss)
        outs.append(correct)
        scheduler.step()
    outs.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})

    # TripletMarginLoss variant
    torch.manual_seed(2)
    emb = nn.Sequential(nn.Flatten(), nn.Linear(144, 8))
    triplet = nn.TripletMarginLoss(margin=1.0, p=2)
    opt = optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
    efwd = torch.compile(emb) if compiled else emb
    for i in range(3):
        a, p, n = imgs[:4], imgs[4:8] + 0.01 * torch.randn(4, 1, 12, 12), imgs[8:12]
        opt.zero_grad()
        loss = triplet(efwd(a), efwd(p), efwd(n))
        loss.backward()
        opt.step()
        outs.append(loss.item())
    # contrastive-loss variant
    def contrastive(o1, o2, label, margin=2.0):
        d = F.pairwise_distance(o1, o2, keepdim=True)
        return torch.mean((1 - label) * torch.pow(d, 2)
                          + label * torch.pow(torch.clamp(margin - d, min=0.0), 2))
    for i in range(3):
        opt.zero_grad()
        lbl = (torch.rand(4, 1) > 0.5).float()
        loss = contrastive(efwd(imgs[:4]), efwd(imgs[4:8]), lbl)
        loss.backward()
        opt.step()
        outs.append(loss.item())
    outs.append(F.cosine_similarity(efwd(imgs[:4]), efwd(imgs[4:8])).detach().numpy())
    return outs


# ---- 6. tutorials: Learning PyTorch with Examples; What is torch.nn really? ----
def poly_examples(lib, compiled):
    torch = lib
    outs = []
    dtype = torch.float
    device = torch.device("cpu")
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 200, device=device, dtype=dtype)
    y = torch.sin(x)

    # 1. tensors with manual gradients
    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)
    learning_rate = 1e-6
    def manual_step(a, b, c, d):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
        return loss
    ms = torch.compile(manual_step) if compiled else manual_step
    for t in range(30):
        loss = ms(a, b, c, d)
        if t % 10 == 9:
            outs.append(loss.item())
    outs.append(f'Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + '
                f'{d.item():.4f} x^3')

    # 2. autograd
    a = torch.randn((), dtype=dtype, requires_grad=True)
    b = torch.randn((), dtype=dtype, requires_grad=True)
    c = torch.randn((), dtype=dtype, requires_grad=True)
    d = torch.randn((), dtype=dtype, requires_grad=True)
    def auto_step(a, b, c, d):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
        return loss
    st = torch.compile(auto_step) if compiled else auto_step
    for t in range(30):
        loss = st(a, b, c, d)
        if t % 10 == 9:
            outs.append(loss.item())
    outs.append([a.item(), b.item(), c.item(), d.item()])

    # 3. custom autograd Function
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    def leg_step(a, b, c, d):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
        return loss
    st = torch.compile(leg_step) if compiled else leg_step
    for t in range(30):
        loss = st(a, b, c, d)
        if t % 10 == 9:
            outs.append(loss.item())
    outs.append([a.item(), b.item(), c.item(), d.item()])

    # 4. nn.Sequential + Flatten
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )
    loss_fn = torch.nn.MSELoss(reduction='sum')
    fwd = torch.compile(model) if compiled else model
    learning_rate = 1e-6
    for t in range(30):
        y_pred = fwd(xx)
        loss = loss_fn(y_pred, y)
        if t % 10 == 9:
            outs.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    outs.append(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
                f'{linear_layer.weight[:, 1].item()} x^2 + '
                f'{linear_layer.weight[:, 2].item()} x^3')

    # 5. optim (RMSprop)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    def opt_step(xx, y):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    st = torch.compile(opt_step) if compiled else opt_step
    for t in range(30):
        loss = st(xx, y)
        if t % 10 == 9:
            outs.append(loss.item())
    outs.append([p.detach().numpy().copy() for p in model.parameters()])

    # 6. custom nn.Module
    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

        def string(self):
            return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + '
                    f'{self.d.item()} x^3')

    model = Polynomial3()
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    fwd = torch.compile(model) if compiled else model
    for t in range(30):
        y_pred = fwd(x)
        loss = criterion(y_pred, y)
        if t % 10 == 9:
            outs.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    outs.append(f'Result: {model.string()}')

    # 7. dynamic net with random depth and weight sharing
    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))
            self.e = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, random.randint(4, 6)):
                y = y + self.e * x ** exp
            return y

        def string(self):
            return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + '
                    f'{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?')

    random.seed(0)
    model = DynamicNet()
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    fwd = torch.compile(model) if compiled else model
    for t in range(30):
        y_pred = fwd(x)
        loss = criterion(y_pred, y)
        outs.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    outs.append(f'Result: {model.string()}')
    return outs


def nn_really(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    TensorDataset = torch.utils.data.TensorDataset
    DataLoader = torch.utils.data.DataLoader
    rng = np.random.default_rng(0)
    x_train_np = rng.random((64, 784)).astype(np.float32)
    y_train_np = rng.integers(0, 10, 64)
    x_valid_np = rng.random((32, 784)).astype(np.float32)
    y_valid_np = rng.integers(0, 10, 32)
    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (x_train_np, y_train_np, x_valid_np, y_valid_np))
    n, c = x_train.shape
    outs = [(n, c), str(y_train.min().item()), int(y_train.max())]
    torch.manual_seed(0)

    # from scratch
    weights = torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)
    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)
    def model(xb):
        return log_softmax(xb @ weights + bias)
    bs = 16
    xb = x_train[0:bs]
    preds = model(xb)
    outs.append(preds[0].detach().numpy().copy())
    outs.append(tuple(preds.shape))
    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()
    loss_func = nll
    yb = y_train[0:bs]
    outs.append(loss_func(preds, yb).item())
    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()
    outs.append(accuracy(preds, yb).item())
    lr = 0.5
    epochs = 2
    def scratch_step(xb, yb):
        nonlocal weights, bias
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
        return loss
    st = torch.compile(scratch_step) if compiled else scratch_step
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            outs.append(st(xb, yb).item())
    outs.append(loss_func(model(xb), yb).item())
    outs.append(accuracy(model(xb), yb).item())

    loss_func = F.cross_entropy
    def model(xb):
        return xb @ weights + bias
    outs.append(loss_func(model(xb), yb).item())

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
            self.bias = nn.Parameter(torch.zeros(10))
        def forward(self, xb):
            return xb @ self.weights + self.bias

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        res = []
        m = torch.compile(model) if compiled == "model" else model
        lb = torch.compile(loss_batch) if compiled == "step" else loss_batch
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                res.append(lb(m, loss_func, xb, yb, opt)[0])
            model.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(m, loss_func, xb, yb) for xb, yb in valid_dl])
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            res.append(float(val_loss))
        return res

    def get_data(train_ds, valid_ds, bs):
        return (DataLoader(train_ds, batch_size=bs, shuffle=True),
                DataLoader(valid_ds, batch_size=bs * 2))

    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    model = Mnist_Logistic()
    opt = optim.SGD(model.parameters(), lr=lr)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    outs += fit(2, model, loss_func, opt, train_dl, valid_dl)

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(4, 4, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(4, 10, kernel_size=3, stride=2, padding=1)
        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))
    model = Mnist_CNN()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    outs += fit(1, model, loss_func, opt, train_dl, valid_dl)

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func
        def forward(self, x):
            return self.func(x)
    def preprocess(x, y):
        return x.view(-1, 1, 28, 28), y
    class WrappedDataLoader:
        def __init__(self, dl, func):
            self.dl = dl
            self.func = func
        def __len__(self):
            return len(self.dl)
        def __iter__(self):
            for b in self.dl:
                yield (self.func(*b))
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess)
    valid_dl = WrappedDataLoader(valid_dl, preprocess)
    model = nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    outs += fit(2, model, loss_func, opt, train_dl, valid_dl)
    outs.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    with torch.no_grad():
        outs.append(accuracy(model(x_valid.view(-1, 1, 28, 28)), y_valid).item())
    return outs


# ---- 7. pytorch/examples time_sequence_prediction and mnist_forward_forward ----
def time_seq(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    # generate_sine_wave.py (small)
    np.random.seed(2)
    T = 20
    L = 30
    N = 5
    x = np.empty((N, L), 'int64')
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype('float64')

    class Sequence(nn.Module):
        def __init__(self):
            super(Sequence, self).__init__()
            self.lstm1 = nn.LSTMCell(1, 12)
            self.lstm2 = nn.LSTMCell(12, 12)
            self.linear = nn.Linear(12, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), 12, dtype=torch.double)
            c_t = torch.zeros(input.size(0), 12, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for i in range(future):
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            outputs = torch.cat(outputs, dim=1)
            return outputs

    np.random.seed(0)
    torch.manual_seed(0)
    input = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    test_target = torch.from_numpy(data[:2, 1:])
    seq = Sequence()
    seq.double()
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=3)
    fwd = torch.compile(seq) if compiled == "model" else seq
    outs = []

    def closure2():
        optimizer.zero_grad()
        out = fwd(input)
        loss = criterion(out, target)
        loss.backward()
        return loss
    inner = torch.compile(closure2) if compiled == "step" else closure2

    def closure():
        loss = inner()
        outs.append(loss.item())
        return loss
    for i in range(2):
        outs.append(optimizer.step(closure).item())
        with torch.no_grad():
            future = 10
            pred = fwd(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            outs.append(loss.item())
            y = pred.detach().numpy()
            outs.append(y.copy())
    outs.append({k: v.detach().numpy().copy() for k, v in seq.state_dict().items()})
    return outs


def forward_forward(lib, compiled):
    torch = lib
    nn = lib.nn
    Adam = lib.optim.Adam

    def overlay_y_on_x(x, y, classes=10):
        x_ = x.clone()
        x_[:, :classes] *= 0.0
        x_[range(x.shape[0]), y] = x.max()
        return x_

    class Layer(nn.Linear):
        def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
            super().__init__(in_features, out_features, bias, device, dtype)
            self.relu = torch.nn.ReLU()
            self.opt = Adam(self.parameters(), lr=0.03)
            self.threshold = 2.0
            self.num_epochs = 5

        def forward(self, x):
            x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
            return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

        def train_step(self, x_pos, x_neg):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            loss = torch.log(1 + torch.exp(torch.cat([
                -g_pos + self.threshold,
                g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            return loss

        def train(self, x_pos, x_neg):
            step = torch.compile(self.train_step) if compiled else self.train_step
            for i in range(self.num_epochs):
                loss = step(x_pos, x_neg)
                losses.append(loss.item())
            return self.forward(x_pos).detach(), self.forward(x_neg).detach()

    class Net(torch.nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.layers = []
            for d in range(len(dims) - 1):
                self.layers = self.layers + [Layer(dims[d], dims[d + 1])]

        def predict(self, x):
            goodness_per_label = []
            for label in range(10):
                h = overlay_y_on_x(x, label)
                goodness = []
                for layer in self.layers:
                    h = layer(h)
                    goodness = goodness + [h.pow(2).mean(1)]
                goodness_per_label += [sum(goodness).unsqueeze(1)]
            goodness_per_label = torch.cat(goodness_per_label, 1)
            return goodness_per_label.argmax(1)

        def train(self, x_pos, x_neg):
            h_pos, h_neg = x_pos, x_neg
            for i, layer in enumerate(self.layers):
                h_pos, h_neg = layer.train(h_pos, h_neg)

    torch.manual_seed(1234)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((32, 64)).astype(np.float32))
    x = (x - 0.1307) / 0.3081
    y = torch.from_numpy(rng.integers(0, 10, 32))
    losses = []
    net = Net([64, 20, 20])
    x_pos = overlay_y_on_x(x, y)
    rnd = torch.randperm(x.size(0))
    x_neg = overlay_y_on_x(x, y[rnd])
    net.train(x_pos, x_neg)
    err = 1.0 - net.predict(x).eq(y).float().mean().item()
    return [losses, err, rnd.tolist(), net.predict(x).tolist()]


# ---- variants: char-level LSTM tagger, vectorised CRF, RNN flavours ----
def char_tagger(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    torch.manual_seed(1)
    training_data = [
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])
    ]
    word_to_ix, char_to_ix = {}, {}
    for sent, tags in training_data:
        for word in sent:
            word_to_ix.setdefault(word, len(word_to_ix))
            for ch in word:
                char_to_ix.setdefault(ch, len(char_to_ix))
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}

    class LSTMTagger(nn.Module):
        def __init__(self, ed, ced, hd, chd, vs, cs, ts):
            super().__init__()
            self.word_embeddings = nn.Embedding(vs, ed)
            self.char_embeddings = nn.Embedding(cs, ced)
            self.char_lstm = nn.LSTM(ced, chd)
            self.lstm = nn.LSTM(ed + chd, hd, bidirectional=True, num_layers=2, dropout=0.3)
            self.hidden2tag = nn.Linear(2 * hd, ts)

        def forward(self, sentence, chars):
            embeds = self.word_embeddings(sentence)
            char_feats = []
            for c in chars:
                _, (h, _) = self.char_lstm(self.char_embeddings(c).view(len(c), 1, -1))
                char_feats.append(h[-1])
            feats = torch.cat((embeds, torch.cat(char_feats, 0)), dim=1)
            lstm_out, _ = self.lstm(feats.unsqueeze(1))
            tag_space = self.hidden2tag(lstm_out.squeeze(1))
            return F.log_softmax(tag_space, dim=1)

    model = LSTMTagger(6, 3, 5, 4, len(word_to_ix), len(char_to_ix), 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_function = nn.NLLLoss()
    fwd = torch.compile(model) if compiled == "model" else model
    def step(s, c, t):
        model.zero_grad()
        loss = loss_function(fwd(s, c), t)
        loss.backward()
        opt.step()
        return loss
    st = torch.compile(step) if compiled == "step" else step
    outs = []
    for epoch in range(4):
        for sent, tags in training_data:
            s = torch.tensor([word_to_ix[w] for w in sent], dtype=torch.long)
            c = [torch.tensor([char_to_ix[ch] for ch in w], dtype=torch.long) for w in sent]
            t = torch.tensor([tag_to_ix[x] for x in tags], dtype=torch.long)
            outs.append(st(s, c, t).item())
    outs.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    return outs


def crf_vectorized(lib, compiled):
    torch = lib
    nn = lib.nn
    torch.manual_seed(3)
    T, B, K = 6, 3, 5
    trans = nn.Parameter(torch.randn(K, K))
    start = nn.Parameter(torch.randn(K))
    emis = torch.randn(T, B, K, requires_grad=True)
    tags = torch.randint(0, K, (T, B))
    mask = torch.ones(T, B, dtype=torch.bool)
    mask[4:, 1] = False

    def nll(emis, tags, mask):
        score = start + emis[0]
        for i in range(1, T):
            nxt = torch.logsumexp(score.unsqueeze(2) + trans + emis[i].unsqueeze(1), dim=1)
            score = torch.where(mask[i].unsqueeze(1), nxt, score)
        logz = torch.logsumexp(score, dim=1)
        gold = start[tags[0]] + emis[0].gather(1, tags[0].unsqueeze(1)).squeeze(1)
        for i in range(1, T):
            g = trans[tags[i - 1], tags[i]] + emis[i].gather(1, tags[i].unsqueeze(1)).squeeze(1)
            gold = gold + g * mask[i].float()
        return (logz - gold).mean()

    def viterbi(emis):
        score = start + emis[0]
        hist = []
        for i in range(1, T):
            s, idx = (score.unsqueeze(2) + trans).max(dim=1)
            score = s + emis[i]
            hist.append(idx)
        best, last = score.max(dim=1)
        path = [last]
        for idx in reversed(hist):
            last = idx.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        return best, torch.stack(path[::-1])

    f = torch.compile(nll) if compiled else nll
    v = torch.compile(viterbi) if compiled else viterbi
    opt = torch.optim.Adam([trans, start, emis], lr=0.1)
    outs = []
    for i in range(4):
        opt.zero_grad()
        loss = f(emis, tags, mask)
        loss.backward()
        opt.step()
        outs.append(loss.item())
    with torch.no_grad():
        best, path = v(emis)
    outs += [best.numpy().copy(), path.tolist(), trans.detach().numpy().copy()]
    return outs


def wlm_variants(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    outs = []
    for kind, kw in [("RNN", dict(nonlinearity="relu", dropout=0.3)),
                     ("LSTM", dict(dropout=0.3, bidirectional=True)),
                     ("GRU", dict(dropout=0.3, bidirectional=True, batch_first=True)),
                     ("LSTM", dict(proj_size=3))]:
        torch.manual_seed(5)
        rnn = getattr(nn, kind)(4, 6, 2, **kw)
        enc = nn.Embedding(10, 4)
        width = rnn.proj_size if rnn.proj_size else rnn.hidden_size
        dec = nn.Linear(width * (2 if rnn.bidirectional else 1), 10)
        params = list(rnn.parameters()) + list(enc.parameters()) + list(dec.parameters())
        def fwd(x):
            o, h = rnn(enc(x))
            return F.log_softmax(dec(o), -1), h
        f = torch.compile(fwd) if compiled else fwd
        for i in range(3):
            x = torch.randint(0, 10, (5, 3))
            out, h = f(x)
            loss = F.nll_loss(out.reshape(-1, 10), x.reshape(-1))
            for p in params:
                p.grad = None
            loss.backward()
            n = torch.nn.utils.clip_grad_norm_(params, 0.25)
            for p in params:
                p.data.add_(p.grad, alpha=-20)
            outs += [loss.item(), n.item()]
        outs.append([p.detach().numpy().copy() for p in params])
    return outs


# ---- the harness ----

PROBES = {
    "wlm_lstm": functools.partial(wlm_rnn, rnn_type="LSTM"),
    "wlm_gru_tied": functools.partial(wlm_rnn, rnn_type="GRU"),
    "wlm_rnn_tanh": functools.partial(wlm_rnn, rnn_type="RNN_TANH"),
    "wlm_transformer": wlm_transformer,
    "pos_tagger": pos_tagger,
    "char_tagger": char_tagger,
    "bilstm_crf": bilstm_crf,
    "crf_vectorized": crf_vectorized,
    "seq2seq": seq2seq,
    "reinforce": reinforce,
    "actor_critic": actor_critic,
    "vae": vae,
    "siamese": siamese,
    "poly_examples": poly_examples,
    "nn_really": nn_really,
    "time_seq": time_seq,
    "forward_forward": forward_forward,
    "wlm_variants": wlm_variants,
}

# A compiled REINFORCE/actor-critic `finish_episode` (backward through log-probs recorded
# by earlier eager calls, then `del policy.rewards[:]`, a graph break) crashes: the trace
# runs backward through the eager autograd graph (freeing it) before the graph break
# re-runs the function eagerly. Compiler-side; see the round-4 report.
XFAIL: set = set()  # (probe, mode) pairs known to differ; none now

_NUM = r"-?\d+\.\d+(?:e-?\d+)?"


def _compare(want, got, path="", rtol=1e-4, atol=1e-5):
    """Every difference between two probe records (float32 tolerances; strings compared
    with their numbers parsed)."""
    if isinstance(want, dict):
        assert set(want) == set(got), f"{path}: keys {sorted(set(want) ^ set(got))}"
        return [e for k in want for e in _compare(want[k], got[k], f"{path}.{k}", rtol, atol)]
    if isinstance(want, (list, tuple)):
        if len(want) != len(got):
            return [f"{path}: length {len(want)} vs {len(got)}"]
        return [e for i, (a, b) in enumerate(zip(want, got))
                for e in _compare(a, b, f"{path}[{i}]", rtol, atol)]
    if isinstance(want, (float, np.ndarray, np.floating)):
        a, b = np.asarray(want), np.asarray(got)
        if a.shape != b.shape:
            return [f"{path}: shape {a.shape} vs {b.shape}"]
        if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            return [f"{path}: max difference {np.nanmax(np.abs(a - b))}"]
        return []
    if isinstance(want, str) and isinstance(got, str):
        if re.sub(_NUM, "#", want) != re.sub(_NUM, "#", got):
            return [f"{path}: {want!r} vs {got!r}"]
        return _compare([float(v) for v in re.findall(_NUM, want)],
                        [float(v) for v in re.findall(_NUM, got)], path, rtol, atol)
    return [] if want == got else [f"{path}: {want!r} vs {got!r}"]


@functools.lru_cache(maxsize=None)
def _reference(name):
    return PROBES[name](torch, None)


def _cases():
    for name in PROBES:
        for mode in ("eager", "model", "step"):
            marks = [pytest.mark.xfail(reason="compiled finish_episode: backward through an "
                                       "outside graph, then a graph break (compiler)",
                                       strict=False)] if (name, mode) in XFAIL else []
            yield pytest.param(name, mode, marks=marks, id=f"{name}-{mode}")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name, mode", list(_cases()))
def test_tutorial_probe_matches_pytorch(name, mode):
    want = _reference(name)
    got = PROBES[name](gt, None if mode == "eager" else mode)
    errors = _compare(want, got)
    assert not errors, "\n".join(errors[:10])
