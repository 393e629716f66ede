"""The two container formats under a TF checkpoint's ``.index`` file, read by hand.

* **The table**: TF's copy of LevelDB's sorted string table (``tsl/lib/io/table*.cc``): data
  blocks of prefix-compressed ``key -> value`` entries with restart points, an index block of
  ``last key -> block handle``, and a 48-byte footer ending in a magic number. Every block carries
  a type byte (0: stored, 1: Snappy) and the masked CRC-32C of its bytes, checked here.
* **Protocol buffers**: the values are serialized ``BundleEntryProto``s; :func:`fields` decodes
  the wire format (varints, fixed32/64, length-delimited) without a protobuf dependency.

Every malformed input raises :class:`CheckpointFormatError` naming the file and what was wrong.

>>> fields(bytes([0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69]), "example")
[(1, 150), (2, b'hi')]
"""

from __future__ import annotations

import itertools
import struct

from scopejax._src.tf_crc32c import crc32c, unmask
from scopejax._src.tf_errors import CheckpointFormatError, UnsupportedCheckpointError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
_TRAILER = 5  # block type byte + masked crc32c
_FIX = ("The file is damaged or was not written by TensorFlow's checkpoint saver; write it again "
        "(tf.compat.v1.train.Saver().save) or restore an intact copy.")


def varint(buf: bytes | memoryview, pos: int, where: str) -> tuple[int, int]:
    """Decodes the base-128 varint at ``buf[pos:]``: ``(value, next position)``."""
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise CheckpointFormatError(f"{where}: a varint runs past the end of its data. {_FIX}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointFormatError(f"{where}: a varint is longer than 10 bytes. {_FIX}")


def fields(buf: bytes | memoryview, where: str) -> list[tuple[int, int | bytes]]:
    """The ``(field number, value)`` pairs of a serialized protobuf message, in order.

    Varints and fixed-width fields give ints (unsigned), length-delimited fields give bytes.
    """
    out: list[tuple[int, int | bytes]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = varint(buf, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise CheckpointFormatError(f"{where}: a protobuf field has number 0. {_FIX}")
        if wire == 0:
            value, pos = varint(buf, pos, where)
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > end:
                raise CheckpointFormatError(f"{where}: a fixed-width field is cut off. {_FIX}")
            value = int.from_bytes(buf[pos:pos + width], "little")
            pos += width
        elif wire == 2:
            length, pos = varint(buf, pos, where)
            if pos + length > end:
                raise CheckpointFormatError(
                    f"{where}: field {number} claims {length} bytes, but only {end - pos} remain. "
                    f"{_FIX}")
            value = bytes(buf[pos:pos + length])
            pos += length
        else:
            raise CheckpointFormatError(
                f"{where}: unknown protobuf wire type {wire} (field {number}). {_FIX}")
        out.append((number, value))
    return out


def signed64(value: int) -> int:
    """A protobuf ``int64`` read as an unsigned varint, back to its signed value."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _handle(buf: bytes, pos: int, where: str) -> tuple[int, int, int]:
    offset, pos = varint(buf, pos, where)
    size, pos = varint(buf, pos, where)
    return offset, size, pos


def _block(data: bytes, offset: int, size: int, where: str) -> memoryview:
    """The contents of the block at ``offset`` (checksum verified, stored uncompressed)."""
    if offset + size + _TRAILER > len(data):
        raise CheckpointFormatError(
            f"{where}: a block at bytes [{offset}, {offset + size}) lies past the end of the "
            f"{len(data)}-byte file: the file is truncated. {_FIX}")
    view = memoryview(data)
    kind = data[offset + size]
    stored = unmask(struct.unpack_from("<I", data, offset + size + 1)[0])
    if crc32c(view[offset:offset + size + 1]) != stored:
        raise CheckpointFormatError(
            f"{where}: checksum mismatch in the block at bytes [{offset}, {offset + size}): the "
            f"file is corrupted. {_FIX}")
    if kind == 1:
        raise UnsupportedCheckpointError(
            f"{where}: the table block at byte {offset} is Snappy-compressed. TensorFlow's "
            "checkpoint writer never compresses, and scopejax reads only uncompressed tables; "
            "re-save the checkpoint with TensorFlow (tf.compat.v1.train.Saver) to get one.")
    if kind != 0:
        raise CheckpointFormatError(
            f"{where}: unknown block compression type {kind} at byte {offset}. {_FIX}")
    return view[offset:offset + size]


def _entries(block: memoryview, where: str) -> list[tuple[bytes, memoryview]]:
    """The ``(key, value)`` entries of one block, keys un-prefix-compressed."""
    if len(block) < 4:
        raise CheckpointFormatError(f"{where}: a block is shorter than its restart count. {_FIX}")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * restarts
    if restarts == 0 or limit < 0:
        raise CheckpointFormatError(
            f"{where}: a block has a bad restart count ({restarts}). {_FIX}")
    out: list[tuple[bytes, memoryview]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = varint(block, pos, where)
        unshared, pos = varint(block, pos, where)
        length, pos = varint(block, pos, where)
        if shared > len(key) or pos + unshared + length > limit:
            raise CheckpointFormatError(f"{where}: a table entry at block byte {pos} is "
                                        f"malformed. {_FIX}")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        out.append((key, block[pos:pos + length]))
        pos += length
    return out


def read_table(data: bytes, where: str) -> list[tuple[bytes, memoryview]]:
    """Every ``(key, value)`` of a sorted string table held in ``data``, in key order.

    ``where`` names the file in error messages.
    """
    if len(data) < FOOTER_SIZE:
        raise CheckpointFormatError(
            f"{where}: {len(data)} bytes is too short for a checkpoint index (a table footer alone "
            f"is {FOOTER_SIZE} bytes): the file is truncated or not a TF checkpoint. {_FIX}")
    footer = len(data) - FOOTER_SIZE
    if struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise CheckpointFormatError(
            f"{where}: the file does not end with the table magic number 0x{TABLE_MAGIC:x}: it is "
            f"not a TF checkpoint index, or it is truncated. Pass the checkpoint prefix (e.g. "
            f"'/dir/model.ckpt-100', without '.index'), or its directory.")
    meta_offset, meta_size, pos = _handle(data, footer, where)
    index_offset, index_size, _ = _handle(data, pos, where)
    _entries(_block(data, meta_offset, meta_size, where), where)  # empty in TF's; checked
    out: list[tuple[bytes, memoryview]] = []
    for _, handle in _entries(_block(data, index_offset, index_size, where), where):
        offset, size, _ = _handle(bytes(handle), 0, where)
        out.extend(_entries(_block(data, offset, size, where), where))
    if any(a[0] >= b[0] for a, b in itertools.pairwise(out)):
        raise CheckpointFormatError(f"{where}: the table keys are not in sorted order. {_FIX}")
    return out


__all__ = ["FOOTER_SIZE", "TABLE_MAGIC", "fields", "read_table", "signed64", "varint"]
