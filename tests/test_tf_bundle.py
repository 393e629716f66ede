"""The tensor-bundle reader at the byte level: CRC-32C, OrderedCode slice keys, the table, and
every way a file can be damaged (each must raise a CheckpointError naming the file, never crash or
return garbage). Files come from scopejax's small test writer and, where TF is installed (it is in
CI), from tf.compat.v1.train.Saver.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scopejax import tf_checkpoint as tfc
from scopejax._src import tf_crc32c, tf_table
from scopejax._src.tf_bundle import Bundle, slice_key
from scopejax._src.tf_writer import write_bundle

TF_REASON = "this test reads files written by tf.compat.v1 (pip install 'scopejax[tf]')"


def slow_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 3000))
def test_crc32c_matches_the_bitwise_definition_and_continues(data, cut):
    assert tf_crc32c.crc32c(data) == slow_crc32c(data)
    cut = min(cut, len(data))
    assert tf_crc32c.crc32c(data[cut:], tf_crc32c.crc32c(data[:cut])) == slow_crc32c(data)
    assert tf_crc32c.unmask(tf_crc32c.mask(slow_crc32c(data))) == slow_crc32c(data)


def test_crc32c_known_values_and_speed_on_a_few_megabytes():
    assert tf_crc32c.crc32c(b"") == 0
    assert tf_crc32c.crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 test vectors
    assert tf_crc32c.crc32c(bytes(range(32))) == 0x46DD794E
    data = np.random.default_rng(0).integers(0, 256, 9_000_001, dtype=np.uint8)
    start = time.perf_counter()
    whole = tf_crc32c.crc32c(data)
    elapsed = time.perf_counter() - start
    assert whole == tf_crc32c.crc32c(data[5_000_000:], tf_crc32c.crc32c(data[:5_000_000]))
    assert elapsed < 3.0, f"9 MB took {elapsed:.2f}s"  # ~0.1 s on one core; CI is shared


def ordered_signed(value: int) -> bytes:
    return slice_key("", ((value, 0),))[5:-1]  # the start number alone


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1))
def test_ordered_code_numbers_sort_like_the_numbers(a, b):
    """OrderedCode's defining property, which TF's slice keys rely on."""
    if a < b:
        assert ordered_signed(a) < ordered_signed(b)
    assert (ordered_signed(a) == ordered_signed(b)) == (a == b)


def test_slice_key_bytes():
    assert slice_key("a\x00b", ((0, -1),)) == b"\x00a\x00\xffb\x00\x01\x01\x01\x80\x7f"
    assert ordered_signed(64) == b"\xc0\x40" and ordered_signed(-65) == b"\x3f\xbf"


@pytest.fixture
def small(tmp_path):
    tensors = {"a/w": np.arange(12, dtype=np.float32).reshape(3, 4),
               "a/b": np.array([1.5, -2.0], ml_dtypes.bfloat16),
               "step": np.array(7, np.int64), "mask": np.array([True, False])}
    return write_bundle(str(tmp_path / "m.ckpt"), tensors), tensors


def read_all(prefix):
    bundle = Bundle(prefix)
    return {name: np.array(bundle.array(name, entry)) for name, entry in bundle.entries.items()}


def test_round_trip_and_big_endian(small, tmp_path):
    prefix, tensors = small
    for name, value in read_all(prefix).items():
        assert value.dtype == tensors[name].dtype and value.tobytes() == tensors[name].tobytes()
    big = write_bundle(str(tmp_path / "big.ckpt"), tensors, big_endian=True)
    swapped = Path(big + ".data-00000-of-00001").read_bytes()
    assert swapped != Path(prefix + ".data-00000-of-00001").read_bytes()
    assert tfc.load_variable(big, "a/w").tolist() == tensors["a/w"].tolist()
    assert tfc.load_variable(big, "a/w").dtype == np.float32  # native order again


def error_of(fn):
    try:
        fn()
    except tfc.CheckpointError as e:
        return e
    return None


def test_every_single_byte_corruption_of_the_index_is_caught(small):
    prefix, _ = small
    index = Path(prefix + ".index").read_bytes()
    caught = 0
    for pos in range(len(index)):
        with open(prefix + ".index", "wb") as f:
            f.write(index[:pos] + bytes([index[pos] ^ 0x5A]) + index[pos + 1:])
        error = error_of(lambda: read_all(prefix))
        if error is None:  # only the unused padding of the footer may change harmlessly
            assert len(index) - 48 <= pos < len(index) - 8, pos
            continue
        assert prefix in str(error), str(error)
        caught += 1
    assert caught >= len(index) - 48


@pytest.mark.parametrize("size", [0, 10, 47, 48, -1, -9])
def test_truncated_index(small, size):
    prefix, _ = small
    data = Path(prefix + ".index").read_bytes()
    with open(prefix + ".index", "wb") as f:
        f.write(data[:size])
    with pytest.raises(tfc.CheckpointFormatError, match=re.escape(prefix + ".index: ")) as e:
        Bundle(prefix)
    assert "truncated" in str(e.value) or "not a TF checkpoint" in str(e.value)


def test_damaged_and_missing_data_files(small):
    prefix, _ = small
    data_path = prefix + ".data-00000-of-00001"
    data = Path(data_path).read_bytes()
    with open(data_path, "wb") as f:
        f.write(data[:20] + bytes([data[20] ^ 1]) + data[21:])
    bundle = Bundle(prefix)
    name = next(n for n, e in bundle.entries.items() if e.offset <= 20 < e.offset + e.size)
    with pytest.raises(tfc.CheckpointFormatError, match=re.escape(
            f"{prefix} (tensor {name!r}): checksum mismatch in bytes")):
        bundle.array(name, bundle.entries[name])
    assert Bundle(prefix).array(name, bundle.entries[name], verify=False).size  # opt-out works
    with open(data_path, "wb") as f:
        f.write(data[:10])
    with pytest.raises(tfc.CheckpointFormatError,
                       match=r"lie past the end of .*data-00000-of-00001 \(10 bytes\): the data "
                             r"file is truncated"):
        read_all(prefix)
    os.remove(data_path)
    with pytest.raises(tfc.CheckpointNotFoundError, match=r"this data file of checkpoint .* is "
                                                          r"missing"):
        read_all(prefix)


def test_wrong_files(tmp_path, small):
    text = tmp_path / "notes.index"
    text.write_text("model_checkpoint_path: 'x'\n" * 5)
    with pytest.raises(tfc.CheckpointFormatError, match="does not end with the table magic number"):
        Bundle(tmp_path / "notes")
    with pytest.raises(tfc.CheckpointNotFoundError,
                       match=r"No TF checkpoint at .*nothing.*checkpoints in "
                             r".*\['m.ckpt', 'notes'\]"):
        Bundle(tmp_path / "nothing")
    with pytest.raises(tfc.CheckpointNotFoundError, match=r"a directory without a 'checkpoint' "
                                                          r"state file and with 2 checkpoint"):
        Bundle(tmp_path)
    (tmp_path / "checkpoint").write_text("garbage\n")
    with pytest.raises(tfc.CheckpointFormatError, match="no model_checkpoint_path line"):
        Bundle(tmp_path)
    assert isinstance(error_of(lambda: Bundle(tmp_path / "nothing")), FileNotFoundError)


def patch_block(index: bytes, pos: int, kind: int) -> bytes:
    """``index`` with the type byte at ``pos`` set to ``kind``, checksum fixed (a valid table)."""
    start = 0  # the data block starts the file
    body = index[start:pos] + bytes([kind])
    crc = tf_crc32c.mask(tf_crc32c.crc32c(body))
    return body + crc.to_bytes(4, "little") + index[pos + 5:]


def test_snappy_blocks_and_unknown_dtypes_are_refused_clearly(small, tmp_path):
    prefix, _ = small
    index = Path(prefix + ".index").read_bytes()
    # The first block of the file is the (only) data block; its handle is in the index block.
    footer = len(index) - 48
    _, _, at = tf_table._handle(index, footer, "x")
    index_offset, index_size, _ = tf_table._handle(index, at, "x")
    index_block = tf_table._block(index, index_offset, index_size, "x")
    offset, pos, _ = tf_table._handle(bytes(tf_table._entries(index_block, "x")[0][1]), 0, "x")
    assert offset == 0
    with open(prefix + ".index", "wb") as f:
        f.write(patch_block(index, pos, 1))
    with pytest.raises(tfc.UnsupportedCheckpointError, match=re.escape(
            "is Snappy-compressed. TensorFlow's checkpoint writer never compresses")):
        Bundle(prefix)
    with open(prefix + ".index", "wb") as f:
        f.write(patch_block(index, pos, 7))
    with pytest.raises(tfc.CheckpointFormatError, match="unknown block compression type 7"):
        Bundle(prefix)


def test_string_tensors_are_listed_but_not_loaded(tf, tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.get_variable("words", initializer=tf.constant(["a", "bc"]))
        tf.compat.v1.get_variable("w", initializer=tf.constant([1.0]))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(sess, str(tmp_path / "m.ckpt"))
    assert ("words", (2,), "string") in tfc.list_variables(path)
    with pytest.raises(tfc.UnsupportedCheckpointError, match=r"tensor 'words'\): dtype string "
                                                             r"cannot be loaded"):
        tfc.load_variable(path, "words")
    assert tfc.load_variable(path, "w").tolist() == [1.0]


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason=TF_REASON)


def test_slice_keys_are_the_ones_tf_writes(tf, tmp_path):
    """Negative-free but multi-byte numbers: 300 rows in 3 slices (offsets 0, 100, 200)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.get_variable("big/v", [300, 2], partitioner=
                                  tf.compat.v1.fixed_size_partitioner(3))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(sess, str(tmp_path / "m.ckpt"))
            expected = np.concatenate([sess.run(p) for p in
                                       tf.compat.v1.global_variables()])
    bundle = Bundle(path)
    keys = {slice_key("big/v", extents) for extents in bundle.entries["big/v"].slices}
    assert keys == set(bundle.slice_entries) and len(keys) == 3
    assert tfc.load_variable(path, "big/v").tobytes() == expected.tobytes()
    # Corrupting any index byte of a real TF file is caught too (spot check every 7th byte).
    index = Path(path + ".index").read_bytes()
    for pos in range(0, len(index) - 48, 7):
        with open(path + ".index", "wb") as f:
            f.write(index[:pos] + bytes([index[pos] ^ 0xFF]) + index[pos + 1:])
        assert error_of(lambda: tfc.load_variable(path, "big/v")) is not None, pos
