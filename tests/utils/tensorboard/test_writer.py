"""gt.utils.tensorboard.SummaryWriter writes TensorBoard event files: the framing (lengths and
masked CRC32C checksums) and the Event/Summary messages are read back with a small protobuf
reader (or with tensorboard's own reader where it is installed), and compared with what
PyTorch's writer puts there."""

import os
import socket
import struct

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.utils.tensorboard import SummaryWriter, records

# --- a tiny reader ----------------------------------------------------------------------------

def _varint(data, pos):
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def parse(data: bytes) -> dict:
    """{field: [raw values]}: ints for varints, bytes for length-delimited, floats for
    fixed64 (as double) and fixed32 (as float)."""
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<d", data, pos)[0], pos + 8
        elif wire == 5:
            value, pos = struct.unpack_from("<f", data, pos)[0], pos + 4
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        fields.setdefault(field, []).append(value)
    return fields


def read_records(path) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack_from("<I", data, pos + 8)[0] == records.masked_crc32c(header)
        body = data[pos + 12:pos + 12 + length]
        assert struct.unpack_from("<I", data, pos + 12 + length)[0] == \
            records.masked_crc32c(body)
        out.append(body)
        pos += 16 + length
    return out


def events(log_dir) -> list[dict]:
    (name,) = [n for n in os.listdir(log_dir) if n.startswith("events.out.tfevents.")]
    return [parse(r) for r in read_records(os.path.join(log_dir, name))]


def summary_values(event) -> list[dict]:
    return [parse(v) for v in parse(event[5][0])[1]]


# --- tests --------------------------------------------------------------------------------

def test_crc32c_known_values():
    assert records.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert records.crc32c(b"") == 0


def test_scalars_text_and_histogram_read_back(tmp_path):
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("loss", 0.25, global_step=3, walltime=100.0)
        writer.add_scalar("acc", gt.tensor(0.5), 4)
        writer.add_scalar("exact", 0.1, 5, new_style=True, double_precision=True)
        writer.add_text("note", "hello **world**", 6)
        writer.add_histogram("weights", gt.tensor([0.1, 0.2, 0.2, 3.0]), 7)
    name = os.listdir(tmp_path)[0]
    assert name.startswith("events.out.tfevents.") and socket.gethostname() in name
    first, loss, acc, exact, text, histo = events(tmp_path)
    assert first[3] == [b"brain.Event:2"]
    assert loss[1] == [100.0] and loss[2] == [3]
    (value,) = summary_values(loss)
    assert value[1] == [b"loss"] and value[2] == [0.25]
    assert summary_values(acc)[0][2] == [0.5] and acc[2] == [4]
    exact_value = summary_values(exact)[0]
    tensor = parse(exact_value[8][0])
    assert tensor[1] == [records.DT_DOUBLE] and struct.unpack("<d", tensor[6][0]) == (0.1,)
    assert parse(parse(exact_value[9][0])[1][0])[1] == [b"scalars"]
    text_value = summary_values(text)[0]
    assert text_value[1] == [b"note/text_summary"]
    assert parse(text_value[8][0])[8] == [b"hello **world**"]
    assert parse(parse(text_value[9][0])[1][0])[1] == [b"text"]
    histogram = parse(summary_values(histo)[0][5][0])
    assert histogram[1] == [pytest.approx(0.1)] and histogram[2] == [pytest.approx(3.0)]
    assert histogram[3] == [4.0] and histogram[4] == [pytest.approx(3.5)]
    counts = struct.unpack(f"<{len(histogram[7][0]) // 8}d", histogram[7][0])
    limits = struct.unpack(f"<{len(histogram[6][0]) // 8}d", histogram[6][0])
    assert sum(counts) == 4 and len(counts) == len(limits)


def test_histogram_matches_pytorchs_make_histogram(tmp_path):
    summary = pytest.importorskip("torch.utils.tensorboard.summary")  # needs tensorboard
    values = np.random.default_rng(0).standard_normal(100)
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_histogram("h", values, 1, bins="auto", max_bins=5)
    theirs = summary.make_histogram(values, "auto", 5)
    ours = parse(summary_values(events(tmp_path)[1])[0][5][0])
    assert struct.unpack(f"<{len(theirs.bucket)}d", ours[7][0]) == tuple(theirs.bucket)


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    writer.add_scalars("run/loss", {"train": 1.0, "val": 2.0}, 1)
    writer.add_scalars("run/loss", {"train": 0.5, "val": 1.5}, 2)
    writer.close()
    train = events(tmp_path / "run_loss_train")
    assert [summary_values(e)[0][2] for e in train[1:]] == [[1.0], [0.5]]
    assert summary_values(train[1])[0][1] == [b"run/loss"]
    assert [summary_values(e)[0][2] for e in events(tmp_path / "run_loss_val")[1:]] == \
        [[2.0], [1.5]]


def test_flush_purge_step_and_reopen_after_close(tmp_path):
    writer = SummaryWriter(str(tmp_path), purge_step=5, filename_suffix=".x")
    writer.add_scalar("a", 1.0, 6)
    writer.flush()
    parsed = events(tmp_path)
    assert parsed[1][2] == [5] and parse(parsed[2][7][0])[1] == [records.SESSION_START]
    assert summary_values(parsed[3])[0][2] == [1.0]
    assert os.listdir(tmp_path)[0].endswith(".x")
    writer.close()
    writer.add_scalar("b", 2.0, 7)  # PyTorch's writer opens a new file after close
    writer.close()
    assert len(os.listdir(tmp_path)) == 2


def test_default_log_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_exp")
    writer.close()
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_" + socket.gethostname() + "_exp")
    assert writer.get_logdir() == os.path.join("runs", run)


@pytest.mark.parametrize("method", ["add_hparams", "add_image", "add_graph", "add_embedding",
                                    "add_figure", "add_pr_curve", "add_audio", "add_video"])
def test_unimplemented_methods_say_so(tmp_path, method):
    with SummaryWriter(str(tmp_path)) as writer, \
            pytest.raises(NotImplementedError, match=f"SummaryWriter.{method}"):
        getattr(writer, method)("tag", None)


def test_scalar_must_be_0d(tmp_path):
    with SummaryWriter(str(tmp_path)) as writer, \
            pytest.raises(AssertionError, match="scalar should be 0D"):
        writer.add_scalar("x", gt.ones(2))


def test_tensorboard_reads_the_file(tmp_path):
    loader = pytest.importorskip("tensorboard.backend.event_processing.event_file_loader")
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("loss", 0.25, 3)
        writer.add_histogram("h", np.arange(10.0), 4)
    (name,) = os.listdir(tmp_path)
    loaded = list(loader.LegacyEventFileLoader(str(tmp_path / name)).Load())
    assert loaded[0].file_version == "brain.Event:2"
    assert loaded[1].step == 3 and loaded[1].summary.value[0].simple_value == 0.25
    assert loaded[2].summary.value[0].histo.num == 10
