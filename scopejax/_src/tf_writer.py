"""A minimal TF tensor-bundle writer: plain (unsliced) numeric tensors, for examples and tests.

It writes what ``tf.compat.v1.train.Saver`` writes for unpartitioned variables: one data file and
an uncompressed table index with a little-endian header. Not a public API; scopejax's reader is
tested against files written by real TensorFlow.

>>> import tempfile, numpy as np
>>> from scopejax._src.tf_bundle import Bundle
>>> prefix = write_bundle(tempfile.mkdtemp() + "/m.ckpt", {"v": np.arange(3, dtype=np.int32)})
>>> bundle = Bundle(prefix)
>>> bundle.array("v", bundle.entries["v"]).tolist()
[0, 1, 2]
"""

from __future__ import annotations

import os
import struct
import tempfile

import numpy as np

from scopejax._src.tf_bundle import DTYPES
from scopejax._src.tf_crc32c import crc32c, mask
from scopejax._src.tf_table import TABLE_MAGIC

_ENUMS = {dtype: enum for enum, (_, dtype) in DTYPES.items() if dtype is not None}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in entries)
    return body + struct.pack("<II", 0, 1)  # one restart point, at 0


def _table(entries: list[tuple[bytes, bytes]]) -> bytes:
    out = bytearray()

    def add(block: bytes) -> bytes:
        handle = _varint(len(out)) + _varint(len(block))
        out.extend(block + b"\x00" + struct.pack("<I", mask(crc32c(block + b"\x00"))))
        return handle

    data = add(_block(entries))
    meta = add(_block([]))
    index = add(_block([(entries[-1][0], data)]))
    footer = (meta + index).ljust(40, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out + footer)


def write_bundle(prefix: str, tensors: dict[str, np.ndarray], *, big_endian: bool = False) -> str:
    """Writes ``tensors`` as checkpoint ``prefix`` (``.index`` + one data file); returns it."""
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    data, entries = bytearray(), []
    for name in sorted(tensors):
        array = np.asarray(tensors[name])  # (np.ascontiguousarray would make scalars 1-d)
        order = ">" if big_endian else "<"
        raw = array.astype(array.dtype.newbyteorder(order)).tobytes(order="C")
        shape = b"".join(_field(2, _field(1, d)) for d in array.shape)
        entry = (_field(1, _ENUMS[array.dtype]) + _field(2, shape) + _field(4, len(data))
                 + _field(5, len(raw)) + _varint(6 << 3 | 5) + struct.pack("<I", mask(crc32c(raw))))
        entries.append((name.encode(), entry))
        data.extend(raw)
    header = _field(1, 1) + _field(2, int(big_endian)) + _field(3, _field(1, 1))
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(data)
    with open(prefix + ".index", "wb") as f:
        f.write(_table([(b"", header), *entries]))
    return prefix


def example_checkpoint() -> str:
    """A fresh tiny checkpoint in a temporary directory, for docstring examples: ``dense/kernel``
    float32[3, 2] (0..5), ``dense/bias`` float32[2] = [0.5, -0.5], ``global_step`` int64."""
    return write_bundle(os.path.join(tempfile.mkdtemp(prefix="scopejax_"), "model.ckpt-1"), {
        "dense/kernel": np.arange(6, dtype=np.float32).reshape(3, 2),
        "dense/bias": np.array([0.5, -0.5], np.float32),
        "global_step": np.array(1, np.int64),
    })


__all__ = ["example_checkpoint", "write_bundle"]
