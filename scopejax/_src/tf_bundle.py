"""TF's tensor bundle (``<prefix>.index`` + ``<prefix>.data-NNNNN-of-MMMMM``), read without TF.

The index is a sorted string table (:mod:`tf_table`) mapping each tensor name to a
``BundleEntryProto``: dtype, shape, and where its bytes lie (data shard, offset, size, masked
CRC-32C). The empty key holds the ``BundleHeaderProto`` (shard count, byte order). A partitioned
variable saved by ``Saver`` from ``<name>/part_<i>`` shards has an entry ``<name>`` with the full
shape and a list of ``TensorSliceProto``s and no bytes; each slice's bytes are under the key
``EncodeTensorNameSlice(name, slice)`` (``saved_tensor_slice_util.cc``): ``OrderedCode`` numbers
and strings, which :func:`slice_key` rebuilds.

Data files are memory-mapped; :meth:`Bundle.array` returns a zero-copy NumPy view, so callers
read only the byte ranges they index.

TF1 equivalent: ``tf.train.load_checkpoint(prefix)`` (``BundleReader``).
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import mmap
import os
import re
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from scopejax._src.errors import check_path
from scopejax._src.tf_crc32c import crc32c, unmask
from scopejax._src.tf_errors import (
    CheckpointFormatError,
    CheckpointNotFoundError,
    UnsupportedCheckpointError,
)
from scopejax._src.tf_table import fields, read_table, signed64

# TF DataType enum -> (TF's name, NumPy dtype or None when not loadable).
DTYPES: dict[int, tuple[str, np.dtype | None]] = {
    1: ("float32", np.dtype(np.float32)), 2: ("float64", np.dtype(np.float64)),
    3: ("int32", np.dtype(np.int32)), 4: ("uint8", np.dtype(np.uint8)),
    5: ("int16", np.dtype(np.int16)), 6: ("int8", np.dtype(np.int8)),
    7: ("string", None), 8: ("complex64", np.dtype(np.complex64)),
    9: ("int64", np.dtype(np.int64)), 10: ("bool", np.dtype(np.bool_)),
    11: ("qint8", None), 12: ("quint8", None), 13: ("qint32", None),
    14: ("bfloat16", np.dtype(ml_dtypes.bfloat16)), 15: ("qint16", None), 16: ("quint16", None),
    17: ("uint16", np.dtype(np.uint16)), 18: ("complex128", np.dtype(np.complex128)),
    19: ("float16", np.dtype(np.float16)), 20: ("resource", None), 21: ("variant", None),
    22: ("uint32", np.dtype(np.uint32)), 23: ("uint64", np.dtype(np.uint64)),
    24: ("float8_e5m2", np.dtype(ml_dtypes.float8_e5m2)),
    25: ("float8_e4m3fn", np.dtype(ml_dtypes.float8_e4m3fn)), 29: ("int4", None),
    30: ("uint4", None),
}
HEADER_KEY = b""
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"  # TF2 metadata, not a variable
_DATA = re.compile(r"\.data-(\d{5})-of-(\d{5})$")


def dtype_name(enum: int) -> str:
    """TF's name of a ``DataType`` enum value (``1 -> "float32"``)."""
    return DTYPES.get(enum, (f"DataType({enum})", None))[0]


@dataclasses.dataclass(frozen=True)
class BundleEntry:
    """One ``BundleEntryProto``. ``slices`` holds, for a partitioned variable, one
    ``((start, length), ...)`` per saved slice (``length == -1``: the whole dimension)."""

    dtype: int
    shape: tuple[int, ...]
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int = 0
    slices: tuple[tuple[tuple[int, int], ...], ...] = ()

    @property
    def dtype_name(self) -> str:
        return dtype_name(self.dtype)


def _int(value: int | bytes, what: str, where: str) -> int:
    if not isinstance(value, int):
        raise CheckpointFormatError(f"{where}: field {what} has the wrong wire type.")
    return value


def _shape(buf: bytes, where: str) -> tuple[int, ...]:
    dims = []
    for number, value in fields(buf, where):
        if number == 2 and isinstance(value, bytes):
            size = next((signed64(_int(v, "dim.size", where))
                         for n, v in fields(value, where) if n == 1), 0)
            if size < 0:
                raise CheckpointFormatError(f"{where}: the shape has an unknown dimension.")
            dims.append(size)
        elif number == 3 and value:
            raise CheckpointFormatError(f"{where}: the shape has unknown rank.")
    return tuple(dims)


def _slice(buf: bytes, where: str) -> tuple[tuple[int, int], ...]:
    extents = []
    for number, value in fields(buf, where):
        if number == 1 and isinstance(value, bytes):
            start, length = 0, -1
            for n, v in fields(value, where):
                if n == 1:
                    start = signed64(_int(v, "extent.start", where))
                elif n == 2:
                    length = signed64(_int(v, "extent.length", where))
            extents.append((start, length))
    return tuple(extents)


def parse_entry(buf: bytes | memoryview, where: str) -> BundleEntry:
    """Decodes a serialized ``BundleEntryProto``."""
    values: dict[str, Any] = {"dtype": 0, "shape": (), "shard_id": 0, "offset": 0, "size": 0,
                              "crc32c": 0, "slices": []}
    keys = {1: "dtype", 3: "shard_id", 4: "offset", 5: "size", 6: "crc32c"}
    for number, value in fields(buf, where):
        if number in keys:
            values[keys[number]] = signed64(_int(value, keys[number], where))
        elif number == 2 and isinstance(value, bytes):
            values["shape"] = _shape(value, where)
        elif number == 7 and isinstance(value, bytes):
            values["slices"].append(_slice(value, where))
    values["slices"] = tuple(values["slices"])
    values["crc32c"] &= 0xFFFFFFFF
    entry = BundleEntry(**values)
    if min(entry.shard_id, entry.offset, entry.size) < 0:
        raise CheckpointFormatError(f"{where}: negative shard, offset or size in the entry.")
    return entry


# ------------------------------------------------------------------- OrderedCode slice keys


def _num_increasing(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return bytes([len(body)]) + body


_HEADER_BITS = {1: (0x80, 0), 2: (0xC0, 0), 3: (0xE0, 0), 4: (0xF0, 0), 5: (0xF8, 0),
                6: (0xFC, 0), 7: (0xFE, 0), 8: (0xFF, 0), 9: (0xFF, 0x80), 10: (0xFF, 0xC0)}


def _signed_increasing(value: int) -> bytes:
    magnitude = ~value if value < 0 else value
    if magnitude < 64:
        return bytes([(0x80 ^ value) & 0xFF])
    length = magnitude.bit_length() // 7 + 1
    out = bytearray((value & ((1 << 80) - 1)).to_bytes(10, "big")[10 - length:])
    out[0] ^= _HEADER_BITS[length][0]
    out[1] ^= _HEADER_BITS[length][1]
    return bytes(out)


def _ordered_string(value: bytes) -> bytes:
    escaped = re.sub(rb"[\x00\xff]", lambda m: b"\x00\xff" if m[0] == b"\x00" else b"\xff\x00",
                     value)
    return escaped + b"\x00\x01"


def slice_key(name: str, extents: tuple[tuple[int, int], ...]) -> bytes:
    """The index key of one slice of partitioned tensor ``name`` (TF's EncodeTensorNameSlice).

    >>> slice_key("enc/w", ((0, 4), (0, -1)))
    b'\\x00enc/w\\x00\\x01\\x01\\x02\\x80\\x84\\x80\\x7f'
    """
    key = _num_increasing(0) + _ordered_string(name.encode()) + _num_increasing(len(extents))
    for start, length in extents:
        key += _signed_increasing(start) + _signed_increasing(length)
    return key


# ------------------------------------------------------------------------------ the bundle


def resolve_prefix(path: str | os.PathLike[str]) -> str:
    """The checkpoint prefix for ``path``: a prefix, its ``.index`` file, or a directory (its
    ``checkpoint`` state file names the latest checkpoint, as ``tf.train.latest_checkpoint``)."""
    text = check_path(path, "TF checkpoint path")
    if text.endswith(".index"):
        text = text[: -len(".index")]
    elif _DATA.search(text):
        text = _DATA.sub("", text)
    candidate = Path(text)
    if candidate.is_dir():
        state = candidate / "checkpoint"
        if state.is_file():
            match = re.search(r'^model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"',
                              state.read_text(errors="replace"), re.MULTILINE)
            if match is None:
                raise CheckpointFormatError(
                    f"{state}: no model_checkpoint_path line in this checkpoint state file. "
                    "Pass the checkpoint prefix itself (e.g. '/dir/model.ckpt-100').")
            named = Path(codecs.escape_decode(match.group(1).encode())[0].decode(errors="replace"))
            text = str(named if named.is_absolute() else candidate / named)
            if not Path(text + ".index").is_file():  # a moved directory: TF tries it locally too
                text = str(candidate / named.name)
        else:
            found = sorted(p.name[: -len(".index")] for p in candidate.glob("*.index"))
            if len(found) != 1:
                raise CheckpointNotFoundError(
                    f"{candidate}: a directory without a 'checkpoint' state file and with "
                    f"{len(found)} checkpoint(s) {found[:5]}. Pass the prefix of the one to "
                    "read, e.g. 'DIR/model.ckpt-100'.")
            text = str(candidate / found[0])
    if not Path(text + ".index").is_file():
        parent = Path(text).parent
        nearby = sorted(p.name[: -len(".index")] for p in parent.glob("*.index")) if (
            parent.is_dir()) else []
        hint = f"checkpoints in {parent}: {nearby[:5]}" if nearby else f"no checkpoint in {parent}"
        raise CheckpointNotFoundError(
            f"No TF checkpoint at {os.fspath(path)!r}: {text}.index does not exist ({hint}). "
            "Pass a checkpoint prefix such as '/dir/model.ckpt-100' or a directory holding a "
            "'checkpoint' state file.")
    return text


class Bundle:
    """An open checkpoint: its entries, read once from the index; data files mapped on demand.

    >>> try:
    ...     Bundle("no_such_dir/model.ckpt-1")
    ... except FileNotFoundError as e:
    ...     print(e)
    No TF checkpoint at 'no_such_dir/model.ckpt-1': no_such_dir/model.ckpt-1.index does not
    exist (no checkpoint in no_such_dir). Pass a checkpoint prefix such as '/dir/model.ckpt-100'
    or a directory holding a 'checkpoint' state file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.prefix = resolve_prefix(path)
        where = self.prefix + ".index"
        table = read_table(Path(where).read_bytes(), where)
        if not table or table[0][0] != HEADER_KEY:
            raise CheckpointFormatError(
                f"{where}: no bundle header (the entry with the empty key): this table is not a "
                "TF tensor bundle (TF1 V1 checkpoints, 'model.ckpt' without '.index', are not "
                "supported; re-save with tf.compat.v1.train.Saver()).")
        header = dict(fields(table[0][1], where + " (header)"))
        self.num_shards = int(header.get(1, 0))
        self.big_endian = header.get(2, 0) == 1
        if self.num_shards < 1:
            raise CheckpointFormatError(f"{where}: the header says {self.num_shards} data files.")
        self.entries: dict[str, BundleEntry] = {}
        self.slice_entries: dict[bytes, bytes] = {}
        for key, value in table[1:]:
            if key.startswith(b"\x00"):  # a slice of a partitioned tensor
                self.slice_entries[key] = bytes(value)
                continue
            try:
                name = key.decode()
            except UnicodeDecodeError:
                raise CheckpointFormatError(f"{where}: tensor name {key!r} is not UTF-8.") from None
            self.entries[name] = parse_entry(value, f"{where} (entry {name!r})")
        self._maps: dict[int, Any] = {}
        self._verified: set[tuple[int, int, int]] = set()

    def __repr__(self) -> str:
        return f"Bundle({self.prefix!r}: {len(self.entries)} tensors, {self.num_shards} data files)"

    def data_path(self, shard: int) -> str:
        return f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}"

    def pieces(self, name: str) -> list[tuple[tuple[int, ...], BundleEntry]]:
        """``(start, entry)`` of every stored piece of tensor ``name``: one at the origin for a
        plain tensor, one per slice for a partitioned one (checked to tile the full shape)."""
        entry = self.entries[name]
        where = f"{self.prefix}.index (tensor {name!r})"
        if not entry.slices:
            return [((0,) * len(entry.shape), entry)]
        out, covered = [], 0
        for extents in entry.slices:
            if len(extents) != len(entry.shape):
                raise CheckpointFormatError(f"{where}: a slice of rank {len(extents)} in a tensor "
                                            f"of shape {entry.shape}.")
            starts = tuple(s if n >= 0 else 0 for s, n in extents)
            shape = tuple(n if n >= 0 else d for (_, n), d in zip(extents, entry.shape,
                                                                    strict=True))
            if any(s < 0 or s + n > d for s, n, d in zip(starts, shape, entry.shape,
                                                          strict=True)):
                raise CheckpointFormatError(f"{where}: slice {extents} lies outside the full "
                                            f"shape {entry.shape}.")
            raw = self.slice_entries.get(slice_key(name, extents))
            if raw is None:
                raise CheckpointFormatError(
                    f"{where}: the data of slice {extents} is missing from the index (the "
                    "checkpoint is incomplete; save it again).")
            piece = parse_entry(raw, f"{where}, slice {extents}")
            if piece.shape != shape or piece.dtype != entry.dtype:
                raise CheckpointFormatError(
                    f"{where}: slice {extents} is stored as {piece.dtype_name}{list(piece.shape)}, "
                    f"expected {entry.dtype_name}{list(shape)}.")
            out.append((starts, piece))
            covered += math.prod(shape)
        if covered != math.prod(entry.shape):
            raise CheckpointFormatError(
                f"{where}: its {len(out)} slices hold {covered} elements, but the full shape "
                f"{entry.shape} has {math.prod(entry.shape)} (overlapping or missing slices).")
        return out

    def _map(self, shard: int) -> Any:
        if shard not in self._maps:
            path = self.data_path(shard)
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    self._maps[shard] = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if (
                        size) else b""
            except FileNotFoundError:
                raise CheckpointNotFoundError(
                    f"{path}: this data file of checkpoint {self.prefix} is missing (the index "
                    f"names {self.num_shards} data file(s)). Copy every '{Path(self.prefix).name}"
                    ".data-*' file along with the '.index' file.") from None
        return self._maps[shard]

    def array(self, name: str, entry: BundleEntry, *, verify: bool = True) -> np.ndarray:
        """A read-only view of one stored piece (a plain tensor or one slice): no bytes are read
        until indexed, except with ``verify`` (the first time), which checks the CRC-32C."""
        where = f"{self.prefix} (tensor {name!r})"
        _, dtype = DTYPES.get(entry.dtype, ("", None))
        if dtype is None:
            raise UnsupportedCheckpointError(
                f"{where}: dtype {entry.dtype_name} cannot be loaded (scopejax reads numeric and "
                "bool tensors). Leave it out with an assignment_map, or strict=False.")
        if entry.shard_id >= self.num_shards:
            raise CheckpointFormatError(f"{where}: data file {entry.shard_id} does not exist "
                                        f"(the header says {self.num_shards}).")
        count = math.prod(entry.shape)
        if entry.size != count * dtype.itemsize:
            raise CheckpointFormatError(
                f"{where}: {entry.size} bytes stored for {entry.dtype_name}{list(entry.shape)}, "
                f"which needs {count * dtype.itemsize}. The index is corrupted.")
        data = self._map(entry.shard_id)
        if entry.offset + entry.size > len(data):
            raise CheckpointFormatError(
                f"{where}: bytes [{entry.offset}, {entry.offset + entry.size}) lie past the end of "
                f"{self.data_path(entry.shard_id)} ({len(data)} bytes): the data file is "
                "truncated. Copy it again from where the checkpoint was written.")
        stored = dtype.newbyteorder(">") if self.big_endian and dtype.itemsize > 1 else dtype
        view = np.frombuffer(data, stored, count, entry.offset).reshape(entry.shape)
        key = (entry.shard_id, entry.offset, entry.size)
        if verify and key not in self._verified:
            if crc32c(view.reshape(-1).view(np.uint8)) != unmask(entry.crc32c):
                raise CheckpointFormatError(
                    f"{where}: checksum mismatch in bytes [{entry.offset}, "
                    f"{entry.offset + entry.size}) of {self.data_path(entry.shard_id)}: the data "
                    "file is corrupted. Copy it again from where the checkpoint was written.")
            self._verified.add(key)
        return view


__all__ = ["DTYPES", "OBJECT_GRAPH_KEY", "Bundle", "BundleEntry", "dtype_name", "parse_entry",
           "resolve_prefix", "slice_key"]
