"""TensorBoard's event-file format without TensorFlow or protobuf: protobuf wire encoding of
the few messages SummaryWriter writes, and TFRecord framing with masked CRC32C checksums.

A record is: uint64 length, masked CRC32C of those 8 bytes, the data, masked CRC32C of the
data (all little-endian). Field numbers are those of tensorboard's event.proto, summary.proto,
tensor.proto and tensor_shape.proto.
"""

from __future__ import annotations

import struct


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) checksum TFRecord uses."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord: length, its checksum, the data, the data's checksum."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data +
            struct.pack("<I", masked_crc32c(data)))


# --- protobuf wire format ------------------------------------------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s as ten-byte two's complement
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def int_field(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(int(value))


def double_field(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


def float_field(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def bytes_field(field: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _key(field, 2) + _varint(len(data)) + data


def packed_doubles(field: int, values) -> bytes:
    return bytes_field(field, b"".join(struct.pack("<d", float(v)) for v in values))


def packed_floats(field: int, values) -> bytes:
    return bytes_field(field, b"".join(struct.pack("<f", float(v)) for v in values))


# --- the messages ---------------------------------------------------------------------------

DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7
SESSION_START = 1


def event(wall_time: float, step: int | None = None, *, summary: bytes | None = None,
          file_version: str | None = None, session_log_status: int | None = None) -> bytes:
    """An Event: wall_time 1, step 2, file_version 3, summary 5, session_log 7."""
    out = double_field(1, wall_time)
    if step:
        out += int_field(2, step)
    if file_version is not None:
        out += bytes_field(3, file_version)
    if summary is not None:
        out += bytes_field(5, summary)
    if session_log_status is not None:
        out += bytes_field(7, int_field(1, session_log_status))
    return out


def summary(*values: bytes) -> bytes:
    """A Summary of Summary.Value messages (field 1)."""
    return b"".join(bytes_field(1, v) for v in values)


def plugin_metadata(plugin_name: str, content: bytes = b"") -> bytes:
    """SummaryMetadata { plugin_data { plugin_name, content } }."""
    data = bytes_field(1, plugin_name) + (bytes_field(2, content) if content else b"")
    return bytes_field(1, data)


def value(tag: str, *, simple_value: float | None = None, histo: bytes | None = None,
          tensor: bytes | None = None, metadata: bytes | None = None) -> bytes:
    """A Summary.Value: tag 1, simple_value 2, histo 5, tensor 8, metadata 9."""
    out = bytes_field(1, tag)
    if simple_value is not None:
        out += float_field(2, simple_value)
    if histo is not None:
        out += bytes_field(5, histo)
    if tensor is not None:
        out += bytes_field(8, tensor)
    if metadata is not None:
        out += bytes_field(9, metadata)
    return out


def tensor_proto(dtype: int, shape: tuple, *, floats=None, doubles=None, strings=None) -> bytes:
    """A TensorProto: dtype 1, tensor_shape 2 (dims), float_val 5, double_val 6, string_val 8."""
    dims = b"".join(bytes_field(2, int_field(1, size)) for size in shape)
    out = int_field(1, dtype) + bytes_field(2, dims)
    if floats is not None:
        out += packed_floats(5, floats)
    if doubles is not None:
        out += packed_doubles(6, doubles)
    for s in strings or ():
        out += bytes_field(8, s)
    return out


def histogram_proto(minimum, maximum, num, total, sum_squares, bucket_limit, bucket) -> bytes:
    """A HistogramProto: min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6,
    bucket 7."""
    return (double_field(1, minimum) + double_field(2, maximum) + double_field(3, num) +
            double_field(4, total) + double_field(5, sum_squares) +
            packed_doubles(6, bucket_limit) + packed_doubles(7, bucket))
