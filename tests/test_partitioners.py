"""Tests for scopejax._src.partitioners: TF1's partitioner arithmetic, validation and slice layout.

The differential tests compare with the real ``tf.compat.v1`` partitioners and with the shards TF
creates in graph mode; they are skipped (with a reason) when TensorFlow is not installed, the rest
of the file always runs.
"""

from __future__ import annotations

import dataclasses
import re

import hypothesis
import hypothesis.strategies as st
import jax.numpy as jnp
import numpy as np
import pytest

from scopejax._src import partitioners as P
from scopejax._src.errors import ScopeJaxError, ScopeTypeError

PartitionerError = P.PartitionerError
TF_REASON = "differential tests against tf.compat.v1 need TensorFlow (pip install 'scopejax[tf]')"
DTYPE_NAMES = [
    "float32", "float16", "bfloat16", "float64", "int8", "int16", "int32", "int64", "uint8",
    "bool", "complex64", "complex128", "string",
]  # fmt: skip


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported once for this module (skips the differential tests without it)."""
    return pytest.importorskip("tensorflow", reason=TF_REASON)


def np_dtype(name: str):
    """Our dtype argument for a TF dtype name: a numpy/jax dtype, or "string"."""
    return "string" if name == "string" else jnp.dtype(name)


# --------------------------------------------------------------------------------------------
# Exact arithmetic: the examples of rules 23-24


@pytest.mark.parametrize(
    ("n", "sizes", "offsets"),
    [
        (2, (22, 21), (0, 22)),
        (3, (15, 14, 14), (0, 15, 29)),
        (4, (11, 11, 11, 10), (0, 11, 22, 33)),
        (5, (9, 9, 9, 8, 8), (0, 9, 18, 27, 35)),
    ],
)
def test_43_columns_into_n(n, sizes, offsets):
    partitions = P.fixed_size_partitioner(n, axis=1)((4, 43), "float32")
    assert partitions == [1, n]
    info = P.PartitionInfo.from_partitions((4, 43), partitions)
    assert info == P.PartitionInfo((4, 43), 1, offsets, sizes)
    assert info.partitions == (1, n)
    assert [info.part_shape(i) for i in range(n)] == [(4, s) for s in sizes]
    assert [info.part_offset(i) for i in range(n)] == [(0, o) for o in offsets]


def test_10_rows_into_3():
    assert P.slice_layout((10, 3), [3, 1]) == [
        ((0, 0), (4, 3)),
        ((4, 0), (3, 3)),
        ((7, 0), (3, 3)),
    ]
    info = P.PartitionInfo.from_partitions((10, 3), (3, 1))
    assert (info.axis, info.offsets, info.sizes, info.num_parts) == (0, (0, 4, 7), (4, 3, 3), 3)
    assert [info.save_slice_spec(i) for i in range(3)] == [
        "10 3 0,4:0,3",
        "10 3 4,3:0,3",
        "10 3 7,3:0,3",
    ]
    assert info.part_names("v") == ["v/part_0", "v/part_1", "v/part_2"]
    full = np.arange(30).reshape(10, 3)
    np.testing.assert_array_equal(full[info.part_index(1)], full[4:7])


@pytest.mark.parametrize(
    ("dtype", "shards"),
    [
        ("float32", 4),
        ("float16", 2),
        ("float64", 8),
        ("int8", 1),
        ("string", 16),
        (np.float32, 4),
        (jnp.float16, 2),
        (jnp.bfloat16, 2),
        (np.dtype("float64"), 8),
        (np.int8, 1),
        (object, 16),
        (np.bytes_, 16),
        (np.str_, 16),
    ],
)
def test_variable_axis_size_depends_on_dtype(dtype, shards):
    assert P.variable_axis_size_partitioner(256)((64, 4), dtype) == [shards, 1]
    assert P.variable_axis_size_partitioner(256)([64, 4], dtype=dtype) == [shards, 1]


def test_variable_axis_size_string_bytes_and_axis():
    p = P.variable_axis_size_partitioner(256, axis=1, bytes_per_string_element=4)
    assert p((4, 64), "string") == [1, 4]  # a column is 4 strings of 4 bytes: 16 per shard
    # A single slice larger than max_shard_bytes still gets a shard of its own.
    assert P.variable_axis_size_partitioner(1)((5, 1000), "float32") == [5, 1]


def test_min_max_variable_partitioner():
    p = P.min_max_variable_partitioner(max_partitions=16)
    assert p((1024, 1024), "float32") == [16, 1]  # 4 MiB / 256 KiB
    assert P.min_max_variable_partitioner(8)((1024, 1024), "float32") == [8, 1]
    assert p((1024, 1024), "float16") == [8, 1]
    assert p((1024, 1024), "string") == [16, 1]  # 16 bytes a string: 64 shards, capped at 16
    assert p((3, 1 << 20), "float32") == [3, 1]  # capped at the dimension
    assert P.min_max_variable_partitioner()((1024, 1024), "float32") == [1, 1]  # default max 1
    assert P.min_max_variable_partitioner(4, axis=1, min_slice_size=8)((2, 10), "int8") == [1, 3]
    assert p((10, 3), "float32") == [1, 1]  # smaller than one slice: never below 1


def test_fixed_size_caps_at_dimension():
    assert P.fixed_size_partitioner(4)((3, 5), "float32") == [3, 1]
    assert P.fixed_size_partitioner(4)((3, 5)) == [3, 1]  # dtype is ignored (and optional)
    assert P.fixed_size_partitioner(4, axis=1)((3, 5), np.int32) == [1, 4]
    assert P.fixed_size_partitioner(100)((7,), "float32") == [7]
    assert P.fixed_size_partitioner(3)((0, 4)) == [0, 1]  # as TF; check_partitions rejects it


def test_max_shards_and_max_partitions_caps():
    assert P.variable_axis_size_partitioner(4)((64, 4), "float32") == [64, 1]
    assert P.variable_axis_size_partitioner(4, max_shards=10)((64, 4), "float32") == [10, 1]
    assert P.variable_axis_size_partitioner(4, max_shards=100)((64, 4), "float32") == [64, 1]
    # TF tests `if max_shards:`, so 0 means no cap, like None.
    no_cap = P.variable_axis_size_partitioner(4, max_shards=0)
    assert no_cap((64, 4), "float32") == [64, 1]
    assert no_cap == P.variable_axis_size_partitioner(4)
    # max_partitions below 1 still gives one shard (TF's max(1, ...)).
    assert P.min_max_variable_partitioner(0, min_slice_size=1)((64, 4), "float32") == [1, 1]
    assert P.min_max_variable_partitioner(-3, min_slice_size=1)((64, 4), "float32") == [1, 1]


def test_negative_axis_counts_from_the_end():
    assert P.fixed_size_partitioner(2, axis=-1)((3, 4)) == [1, 2]
    assert P.variable_axis_size_partitioner(8, axis=-2)((3, 2, 1), "float32") == [1, 2, 1]
    assert P.min_max_variable_partitioner(4, axis=-3, min_slice_size=1)((3, 2, 1), "int8") == [
        3,
        1,
        1,
    ]


def test_partitioners_accept_tensorshape_like_dims():
    class Dim:  # tf.compat.v1's Dimension: an int with `.value`
        def __init__(self, value):
            self.value = value

    assert P.fixed_size_partitioner(2)([Dim(4), Dim(3)]) == [2, 1]
    assert P.fixed_size_partitioner(2)(np.array([4, 3])) == [2, 1]


def test_single_shard_is_still_part_0():
    info = P.PartitionInfo.from_partitions((5, 2), P.fixed_size_partitioner(1)((5, 2)))
    assert info == P.PartitionInfo((5, 2), 0, (0,), (5,))
    assert (info.num_parts, info.partitions) == (1, (1, 1))
    assert info.part_names("one") == ["one/part_0"]
    assert info.save_slice_spec(0) == "5 2 0,5:0,2"
    assert P.slice_layout((5, 2), [1, 1]) == [((0, 0), (5, 2))]


def test_save_slice_spec_format():
    info = P.PartitionInfo.from_partitions((5, 2, 3), [1, 1, 2])
    assert [info.save_slice_spec(i) for i in range(2)] == ["5 2 3 0,5:0,2:0,2", "5 2 3 0,5:0,2:2,1"]
    assert P.PartitionInfo.from_partitions((7,), [7]).save_slice_spec(6) == "7 6,1"


def test_part_names():
    assert P.part_names("a/b", 2) == ["a/b/part_0", "a/b/part_1"]
    assert P.part_names("x", np.int64(1)) == ["x/part_0"]
    with pytest.raises(PartitionerError, match=r"at least one part, got n=0"):
        P.part_names("x", 0)
    with pytest.raises(ScopeTypeError, match=r"the number of parts must be an int, got float"):
        P.part_names("x", 2.0)
    with pytest.raises(ScopeTypeError, match=r"name must be a string, got int 3"):
        P.part_names(3, 2)


def test_should_partition():
    assert P.should_partition(()) is False
    assert P.should_partition([]) is False
    assert P.should_partition((3,)) is True
    assert P.should_partition([None, 3]) is True
    assert P.should_partition(None) is True  # shape from the initializer: TF partitions it
    with pytest.raises(ScopeTypeError, match=r"shape must be a sequence of ints or None, got 3"):
        P.should_partition(3)


# --------------------------------------------------------------------------------------------
# Values: reprs, hashing, immutability


def test_partitioners_are_hashable_values_with_readable_reprs():
    assert repr(P.fixed_size_partitioner(4)) == "FixedSizePartitioner(num_shards=4, axis=0)"
    assert repr(P.variable_axis_size_partitioner(1 << 20, max_shards=8)) == (
        "VariableAxisSizePartitioner(max_shard_bytes=1048576, axis=0, "
        "bytes_per_string_element=16, max_shards=8)"
    )
    assert repr(P.min_max_variable_partitioner(4, axis=1)) == (
        "MinMaxVariablePartitioner(max_partitions=4, axis=1, min_slice_size=262144, "
        "bytes_per_string_element=16)"
    )
    a, b = P.fixed_size_partitioner(np.int64(4)), P.fixed_size_partitioner(4)
    assert a == b and hash(a) == hash(b) and type(a.num_shards) is int
    assert P.fixed_size_partitioner(4) != P.fixed_size_partitioner(4, axis=1)
    assert P.min_max_variable_partitioner(2) != P.fixed_size_partitioner(2)
    assert len({P.min_max_variable_partitioner(2), P.min_max_variable_partitioner(2)}) == 1
    assert isinstance(P.fixed_size_partitioner(2), P.Partitioner)
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.fixed_size_partitioner(2).num_shards = 3  # type: ignore[misc]


def test_partition_info_is_a_hashable_value():
    a = P.PartitionInfo.from_partitions((10, 3), [3, 1])
    b = P.PartitionInfo([10, 3], np.int64(0), [0, 4, 7], np.array([4, 3, 3]))
    assert a == b and hash(a) == hash(b)
    assert type(b.full_shape) is tuple and type(b.sizes[0]) is int and type(b.axis) is int
    assert a != P.PartitionInfo.from_partitions((10, 3), [2, 1])
    assert (
        repr(a) == "PartitionInfo(full_shape=(10, 3), axis=0, offsets=(0, 4, 7), sizes=(4, 3, 3))"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.axis = 1  # type: ignore[misc]


def test_partition_info_rejects_inconsistent_layouts():
    bad = [
        ((10, 3), 0, (0, 4), (4, 3)),  # does not sum to 10
        ((10, 3), 0, (0, 5, 7), (4, 3, 3)),  # offsets are not running sums
        ((10, 3), 0, (1, 5, 8), (4, 3, 3)),  # does not start at 0
        ((10, 3), 0, (0, 4), (4, 3, 3)),  # lengths differ
        ((10, 3), 0, (0, 10), (10, 0)),  # an empty part
        ((10, 3), 0, (), ()),  # no part
    ]
    for full_shape, axis, offsets, sizes in bad:
        with pytest.raises(PartitionerError, match=r"do not tile axis 0 of \(10, 3\)"):
            P.PartitionInfo(full_shape, axis, offsets, sizes)
    with pytest.raises(P.PartitionIndexError, match=r"axis 2 is out of range for full_shape"):
        P.PartitionInfo((10, 3), 2, (0,), (10,))
    with pytest.raises(ScopeTypeError, match=r"every size must be an int, got float 10.0"):
        P.PartitionInfo((10, 3), 0, (0,), (10.0,))


def test_part_index_out_of_range():
    info = P.PartitionInfo.from_partitions((10, 3), [3, 1])
    for method in (info.part_shape, info.part_offset, info.part_index, info.save_slice_spec):
        with pytest.raises(P.PartitionIndexError, match=r"part index 3 is out of range for 3 "):
            method(3)
        with pytest.raises(IndexError, match=r"part index -1 is out of range"):
            method(-1)


# --------------------------------------------------------------------------------------------
# Validation errors: constructors, calls, partitioner results


def test_constructor_errors():
    with pytest.raises(PartitionerError, match=r"num_shards must be positive, got 0"):
        P.fixed_size_partitioner(0)
    with pytest.raises(ScopeTypeError, match=r"num_shards must be an int, got float 2.0"):
        P.fixed_size_partitioner(2.0)  # type: ignore[arg-type]
    with pytest.raises(ScopeTypeError, match=r"fixed_size_partitioner: axis must be an int"):
        P.fixed_size_partitioner(2, axis="0")  # type: ignore[arg-type]
    both = r"Both max_shard_bytes and bytes_per_string_element must be positive\. Currently"
    with pytest.raises(PartitionerError, match=both + r", max_shard_bytes is 0 and"):
        P.variable_axis_size_partitioner(0)
    with pytest.raises(ValueError, match=both + r".* bytes_per_string_element is 0\. Fix"):
        P.variable_axis_size_partitioner(8, bytes_per_string_element=0)
    with pytest.raises(PartitionerError, match=r"max_shards must be positive\. Got -1"):
        P.variable_axis_size_partitioner(8, max_shards=-1)
    with pytest.raises(ScopeTypeError, match=r"max_shards must be an int, got float 2.5"):
        P.variable_axis_size_partitioner(8, max_shards=2.5)  # type: ignore[arg-type]
    with pytest.raises(ScopeTypeError, match=r"max_shard_bytes must be a number, got str"):
        P.variable_axis_size_partitioner("8")  # type: ignore[arg-type]
    with pytest.raises(PartitionerError, match=r"max_shard_bytes must be finite, got inf"):
        P.variable_axis_size_partitioner(float("inf"))
    with pytest.raises(PartitionerError, match=r"min_slice_size and bytes_per_string_element"):
        P.min_max_variable_partitioner(2, min_slice_size=0)
    with pytest.raises(PartitionerError, match=r"bytes_per_string_element is -1\. Fix"):
        P.min_max_variable_partitioner(2, bytes_per_string_element=-1)
    with pytest.raises(ScopeTypeError, match=r"max_partitions must be an int, got float"):
        P.min_max_variable_partitioner(2.5)  # type: ignore[arg-type]
    # Floats are accepted where TF accepts them.
    assert P.variable_axis_size_partitioner(256.0)((64, 4), "float32") == [4, 1]


def test_call_errors():
    axis_err = r"Cannot partition variable along axis 2 when shape is only \(3, 2\)"
    for p in (
        P.fixed_size_partitioner(2, axis=2),
        P.variable_axis_size_partitioner(8, axis=2),
        P.min_max_variable_partitioner(2, axis=2),
    ):
        with pytest.raises(P.PartitionIndexError, match=axis_err):
            p((3, 2), "float32")
    with pytest.raises(IndexError, match=r"along axis -3 when shape is only \(3, 2\)"):
        P.fixed_size_partitioner(2, axis=-3)((3, 2))
    with pytest.raises(IndexError, match=r"along axis 0 when shape is only \(\)"):
        P.fixed_size_partitioner(2)(())
    with pytest.raises(ScopeTypeError, match=r"needs the variable's dtype"):
        P.variable_axis_size_partitioner(8)((3, 2))
    with pytest.raises(ScopeTypeError, match=r"'no' is not a dtype"):
        P.min_max_variable_partitioner(2)((3, 2), "no")
    with pytest.raises(PartitionerError, match=r"empty shape \(0, 4\) .*ZeroDivisionError"):
        P.variable_axis_size_partitioner(8)((0, 4), "float32")
    with pytest.raises(PartitionerError, match=r"must be fully defined, but instead was \(3, None"):
        P.fixed_size_partitioner(2)((3, None))
    with pytest.raises(PartitionerError, match=r"negative dimensions, got \(3, -1\)"):
        P.fixed_size_partitioner(2)((3, -1))
    with pytest.raises(ScopeTypeError, match=r"shape must be a sequence of ints"):
        P.fixed_size_partitioner(2)(3)
    with pytest.raises(ScopeTypeError, match=r"every dimension of shape must be an int"):
        P.fixed_size_partitioner(2)((3.0, 2))


@pytest.mark.parametrize(
    ("shape", "partitions", "error", "pattern"),
    [
        (
            (4, 2),
            3,
            PartitionerError,
            "Partitioner must return a sequence, but saw: 3 (variable 'w')",
        ),
        ((4, 2), None, PartitionerError, "Partitioner must return a sequence, but saw: None"),
        ((4, 2), np.array([2, 1]), PartitionerError, "must return a sequence, but saw: [2 1]"),
        ((4, 2), "ab", PartitionerError, "Partitioner must return a sequence, but saw: ab"),
        (
            (4, 2),
            [2],
            PartitionerError,
            "Partitioner returned a partition list that does not match the Variable's rank: "
            "[2] vs. (4, 2) (variable 'w')",
        ),
        ((4, 2), (2,), PartitionerError, "does not match the Variable's rank: (2,) vs. (4, 2)"),
        ((4,), [2, 1], PartitionerError, "does not match the Variable's rank: [2, 1] vs. (4,)"),
        (
            (4, 2),
            [0, 1],
            PartitionerError,
            "Partitioner returned zero partitions for some axes: [0, 1] (variable 'w')",
        ),
        ((4, 2), [np.int64(-1), 1], PartitionerError, "zero partitions for some axes: [-1, 1]"),
        (
            (4, 2),
            [2, 2],
            PartitionerError,
            "Can only slice a variable along one dimension: shape: (4, 2), partitioning: [2, 2]",
        ),
        ((4, 2), [2.0, 1], ScopeTypeError, "non-integer shard count 2.0 in [2.0, 1]"),
        ((4, 2), ["a", 1], ScopeTypeError, "non-integer shard count 'a'"),
        ((), [], PartitionerError, "A partitioned Variable must have rank at least 1, shape: ()"),
        ((4, None), [2, 1], PartitionerError, "must be fully defined, but instead was (4, None)."),
        ((4, 0), [2, 1], PartitionerError, "Cannot partition variable 'w' of shape (4, 0)"),
        ((0, 4), [1, 1], PartitionerError, "zero-sized dimension, for which TF1 fails with"),
        (
            (3, 2),
            [4, 1],
            PartitionerError,
            "Partitioner asked for 4 shards of variable 'w' along axis 0, but that axis only "
            "has 3 rows (shape (3, 2)); TF1 would fail with 'Expected 0 <= offset < shape'",
        ),
        ((4, 3), [1, 4], PartitionerError, "ask for at most 3 shards along axis 1"),
    ],
)
def test_check_partitions_errors(shape, partitions, error, pattern):
    with pytest.raises(error, match=re.escape(pattern)) as info:
        P.check_partitions("w", shape, partitions)
    assert isinstance(info.value, ScopeJaxError)
    assert isinstance(info.value, ValueError if error is PartitionerError else TypeError)
    assert "Fix:" in str(info.value)
    # The layout functions validate the same way (naming the variable when told).
    with pytest.raises(error, match=re.escape(pattern.replace("'w'", "'emb'"))):
        P.PartitionInfo.from_partitions(shape, partitions, name="emb")
    with pytest.raises(error):
        P.slice_layout(shape, partitions)


def test_check_partitions_accepts_what_tf_accepts():
    assert P.check_partitions("w", (4, 2), (2, 1)) == (2, 1)
    assert P.check_partitions("w", (4, 2), [np.int32(4), True]) == (4, 1)  # TF accepts True
    assert P.check_partitions("w", (4, 2), [1, 1]) == (1, 1)
    assert P.check_partitions("w", (4, 2), [4, 1]) == (4, 1)  # one row a shard is fine
    assert P.check_partitions("w", (4, 2), [1, 2]) == (1, 2)


def test_check_partitioner_and_call_partitioner():
    with pytest.raises(
        PartitionerError, match=re.escape("Partitioner must be callable, but received: 3 (variable")
    ):
        P.check_partitioner("w", 3)
    p = P.fixed_size_partitioner(2)
    assert P.check_partitioner("w", p) is p

    def keyword_only(*, shape, dtype):  # TF calls partitioners by keyword
        return [1] * (len(shape) - 1) + [np.dtype(dtype).itemsize]

    assert P.call_partitioner("w", keyword_only, (3, 8), np.float32) == (1, 4)
    assert P.call_partitioner("w", p, (10, 3), "float32") == (2, 1)
    with pytest.raises(PartitionerError, match=re.escape("rank at least 1, shape: ()")):
        P.call_partitioner("w", p, (), "float32")  # TF fails before calling the partitioner
    with pytest.raises(PartitionerError, match=re.escape("zero partitions for some axes: [0, 1]")):
        P.call_partitioner("w", p, (0, 3), "float32")
    with pytest.raises(PartitionerError, match=re.escape("Partitioner must be callable")):
        P.call_partitioner("w", "abc", (4,), "float32")


# --------------------------------------------------------------------------------------------
# Properties of the layout


@hypothesis.settings(max_examples=200, deadline=None, derandomize=True)
@hypothesis.given(
    n=st.integers(1, 300),
    extra=st.integers(0, 5000),
    rank=st.integers(1, 3),
    axis=st.integers(0, 2),
    other=st.integers(1, 7),
)
def test_layout_properties(n, extra, rank, axis, other):
    axis = min(axis, rank - 1)
    dim = n + extra
    shape = tuple(dim if d == axis else other for d in range(rank))
    partitions = [n if d == axis else 1 for d in range(rank)]
    info = P.PartitionInfo.from_partitions(shape, partitions)
    sizes = info.sizes
    assert info.axis == (axis if n > 1 else 0)
    assert info.num_parts == len(sizes) == n
    assert info.partitions == (tuple(partitions) if n > 1 else (1,) * rank)
    if n > 1:
        assert sum(sizes) == dim
        assert max(sizes) - min(sizes) <= 1
        assert list(sizes) == sorted(sizes, reverse=True)  # the larger parts first
        assert sizes.count(dim // n + 1) == dim % n
    assert info.offsets == tuple(sum(sizes[:i]) for i in range(n))
    layout = P.slice_layout(shape, partitions)
    assert layout == [(info.part_offset(i), info.part_shape(i)) for i in range(n)]
    for offset, part in layout:
        assert all(o == 0 for d, o in enumerate(offset) if d != info.axis)
        assert all(
            p == s for d, (p, s) in enumerate(zip(part, shape, strict=True)) if d != info.axis
        )


@hypothesis.settings(max_examples=200, deadline=None, derandomize=True)
@hypothesis.given(
    shape=st.lists(st.integers(1, 100_000), min_size=1, max_size=4),
    num_shards=st.integers(1, 1000),
    max_shard_bytes=st.integers(1, 1 << 24),
    dtype=st.sampled_from(DTYPE_NAMES),
)
def test_partitioner_results_always_validate(shape, num_shards, max_shard_bytes, dtype):
    for p in (
        P.fixed_size_partitioner(num_shards, axis=len(shape) - 1),
        P.variable_axis_size_partitioner(max_shard_bytes),
        P.min_max_variable_partitioner(num_shards, min_slice_size=max_shard_bytes),
    ):
        counts = P.call_partitioner("v", p, shape, np_dtype(dtype))
        assert all(type(c) is int for c in counts)
        assert 1 <= max(counts) <= max(shape)


# --------------------------------------------------------------------------------------------
# Differential tests against TensorFlow


def tf_partitions(tf, tf_partitioner, shape, dtype_name):
    return tf_partitioner(shape=tf.TensorShape(shape), dtype=tf.dtypes.as_dtype(dtype_name))


SHAPES = st.lists(
    st.one_of(st.integers(1, 64), st.integers(1, 200_000)), min_size=1, max_size=4
).flatmap(lambda s: st.tuples(st.just(tuple(s)), st.integers(-len(s), len(s) - 1)))
DIFF = hypothesis.settings(max_examples=40, deadline=None, derandomize=True)


@DIFF
@hypothesis.given(
    shape_axis=SHAPES,
    dtype=st.sampled_from(DTYPE_NAMES),
    num_shards=st.integers(1, 100),
)
def test_fixed_size_partitioner_matches_tf(tf, shape_axis, dtype, num_shards):
    shape, axis = shape_axis
    theirs = tf_partitions(tf, tf.compat.v1.fixed_size_partitioner(num_shards, axis), shape, dtype)
    ours = P.fixed_size_partitioner(num_shards, axis)(shape, np_dtype(dtype))
    assert ours == theirs


@DIFF
@hypothesis.given(
    shape_axis=SHAPES,
    dtype=st.sampled_from(DTYPE_NAMES),
    max_shard_bytes=st.one_of(
        st.integers(1, 1 << 12),
        st.integers(1, 1 << 26),
        st.floats(1, 1e8, allow_nan=False, allow_infinity=False),
    ),
    bytes_per_string_element=st.integers(1, 64),
    max_shards=st.one_of(st.none(), st.integers(0, 50)),
)
def test_variable_axis_size_partitioner_matches_tf(
    tf, shape_axis, dtype, max_shard_bytes, bytes_per_string_element, max_shards
):
    shape, axis = shape_axis
    args = (max_shard_bytes, axis, bytes_per_string_element, max_shards)
    theirs = tf_partitions(tf, tf.compat.v1.variable_axis_size_partitioner(*args), shape, dtype)
    ours = P.variable_axis_size_partitioner(*args)(shape, np_dtype(dtype))
    assert ours == theirs


@DIFF
@hypothesis.given(
    shape_axis=SHAPES,
    dtype=st.sampled_from(DTYPE_NAMES),
    max_partitions=st.integers(-2, 100),
    min_slice_size=st.one_of(st.integers(1, 1 << 12), st.integers(1, 1 << 22)),
    bytes_per_string_element=st.integers(1, 64),
)
def test_min_max_variable_partitioner_matches_tf(
    tf, shape_axis, dtype, max_partitions, min_slice_size, bytes_per_string_element
):
    shape, axis = shape_axis
    args = (max_partitions, axis, min_slice_size, bytes_per_string_element)
    theirs = tf_partitions(tf, tf.compat.v1.min_max_variable_partitioner(*args), shape, dtype)
    ours = P.min_max_variable_partitioner(*args)(shape, np_dtype(dtype))
    assert ours == theirs


def test_float_rounding_matches_tf(tf):
    # max_shard_bytes / bytes_per_slice is k - 1/(4 * other), which rounds up to k in float:
    # TF (and scopejax) make 2 shards where exact integer arithmetic would make 3.
    k, other = 1 << 20, (1 << 31) + 1
    shape, max_shard_bytes = (2 * k, other), k * other * 4 - 1
    exact = -(-shape[0] // (max_shard_bytes // (other * 4)))
    theirs = tf_partitions(
        tf, tf.compat.v1.variable_axis_size_partitioner(max_shard_bytes), shape, "float32"
    )
    ours = P.variable_axis_size_partitioner(max_shard_bytes)(shape, np.float32)
    assert ours == theirs == [2, 1] and exact == 3


def test_zero_sized_shapes_match_tf(tf):
    v1 = tf.compat.v1
    assert P.fixed_size_partitioner(3)((0, 4)) == tf_partitions(
        tf, v1.fixed_size_partitioner(3), (0, 4), "float32"
    )
    assert P.min_max_variable_partitioner(3)((0, 4), "float32") == tf_partitions(
        tf, v1.min_max_variable_partitioner(3), (0, 4), "float32"
    )
    with pytest.raises(ZeroDivisionError):
        tf_partitions(tf, v1.variable_axis_size_partitioner(8), (4, 0), "float32")
    with pytest.raises(PartitionerError, match=r"ZeroDivisionError"):
        P.variable_axis_size_partitioner(8)((4, 0), "float32")


GRAPH_CASES = [
    # (name, shape, dtype, partitioner factory, its arguments): the same for TF and scopejax
    ("emb", (50257, 768), "float32", "fixed_size_partitioner", (8,)),
    ("v", (10, 3), "float32", "fixed_size_partitioner", (3,)),
    ("w", (4, 43), "float32", "fixed_size_partitioner", (5, 1)),
    ("w2", (4, 43), "float64", "fixed_size_partitioner", (2, -1)),
    ("x", (7,), "int32", "fixed_size_partitioner", (9,)),
    ("y", (5, 2, 3), "float32", "fixed_size_partitioner", (2, 2)),
    ("one", (5, 2), "float32", "fixed_size_partitioner", (1,)),
    ("h", (64, 4), "float16", "variable_axis_size_partitioner", (256,)),
    ("i", (64, 4), "int8", "variable_axis_size_partitioner", (100, 0, 16, 3)),
    ("m", (1000, 300), "float32", "min_max_variable_partitioner", (8, 0, 64 << 10)),
    ("a/b/c", (11, 5), "float32", "min_max_variable_partitioner", (4, 1, 16)),
]


@pytest.mark.parametrize(("name", "shape", "dtype", "factory", "args"), GRAPH_CASES)
def test_layout_matches_tf_graph_mode(tf, name, shape, dtype, factory, args):
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        theirs = getattr(v1, factory)(*args)
        pv = v1.get_variable(name, shape=shape, dtype=tf.dtypes.as_dtype(dtype), partitioner=theirs)
        parts = list(pv._get_variable_list())
        tf_partitions_found = pv._get_partitions()
    counts = P.call_partitioner(name, getattr(P, factory)(*args), shape, np_dtype(dtype))
    info = P.PartitionInfo.from_partitions(shape, counts, name=name)
    assert list(info.partitions) == tf_partitions_found
    assert [p.name for p in parts] == [n + ":0" for n in info.part_names(name)]
    for i, part in enumerate(parts):
        ssi = part._save_slice_info
        assert ssi.full_name == name
        assert tuple(ssi.full_shape) == info.full_shape == shape
        assert tuple(ssi.var_offset) == info.part_offset(i)
        assert tuple(ssi.var_shape) == info.part_shape(i) == tuple(part.shape.as_list())
        assert ssi.spec == info.save_slice_spec(i)
    assert P.slice_layout(shape, counts) == [
        (tuple(p._save_slice_info.var_offset), tuple(p._save_slice_info.var_shape)) for p in parts
    ]


def test_scalars_ignore_the_partitioner_in_tf(tf):
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v = v1.get_variable("s", shape=[], partitioner=v1.fixed_size_partitioner(2))
        assert v.name == "s:0" and v.shape.as_list() == []
        with pytest.raises(ValueError, match=re.escape("rank at least 1, shape: ()")):
            v1.get_variable(
                "c", initializer=tf.constant(1.0), partitioner=v1.fixed_size_partitioner(2)
            )
    assert P.should_partition([]) is False
    assert P.should_partition(None) is True
    with pytest.raises(ValueError, match=re.escape("rank at least 1, shape: ()")):
        P.call_partitioner("c", P.fixed_size_partitioner(2), (), "float32")


BAD_RESULTS = [
    ((4, 2), 3),
    ((4, 2), None),
    ((4, 2), [2]),
    ((4, 2), (2,)),
    ((4, 2), [0, 1]),
    ((4, 2), [2, 2]),
    ((4, 2), np.array([2, 1])),
]


@pytest.mark.parametrize(("shape", "result"), BAD_RESULTS)
def test_error_messages_contain_tfs(tf, shape, result):
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        with pytest.raises(ValueError) as theirs:
            v1.get_variable("w", shape=shape, partitioner=lambda shape, dtype: result)
    with pytest.raises(PartitionerError) as ours:
        P.check_partitions("w", shape, result)
    assert str(theirs.value) in str(ours.value)


@pytest.mark.parametrize("result", [[2.0, 1], ["a", 1]])
def test_type_errors_like_tf(tf, result):
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        with pytest.raises(TypeError):
            v1.get_variable("w", shape=(4, 2), partitioner=lambda shape, dtype: result)
    with pytest.raises(TypeError):
        P.check_partitions("w", (4, 2), result)


@pytest.mark.parametrize(("shape", "result", "created"), [((3, 2), [4, 1], 3), ((4, 0), [2, 1], 0)])
def test_tf_fails_half_way_where_scopejax_refuses_upfront(tf, shape, result, created):
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=re.escape("Expected 0 <= offset < shape")):
            v1.get_variable("w", shape=shape, partitioner=lambda shape, dtype: result)
        assert len(v1.global_variables()) == created  # orphaned shards
    with pytest.raises(PartitionerError, match=re.escape("'Expected 0 <= offset < shape'")):
        P.check_partitions("w", shape, result)


def test_not_callable_like_tf(tf):
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        with pytest.raises(ValueError) as theirs:
            v1.get_variable("w", shape=(4, 2), partitioner=3)
    with pytest.raises(PartitionerError) as ours:
        P.check_partitioner("w", 3)
    assert str(theirs.value) in str(ours.value)
