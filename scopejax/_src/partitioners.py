"""TF1's variable partitioning arithmetic: partitioners, their validation and the slice layout.

A *partitioner* maps a variable's full ``shape`` and ``dtype`` to a list with one shard count per
dimension (TF's calling convention, ``partitioner(shape=..., dtype=...)``); at most one entry may
exceed 1. TF1 then stores the variable as ``<name>/part_<i>`` shards cut along that axis, the
first ``dim % n`` shards one row larger than the others (``_iter_slices``).

This module is pure Python arithmetic, exact to TF (shard counts are computed with the same float
expressions TF uses, so they agree even where float rounding matters). It creates no arrays:
:class:`PartitionInfo` describes a layout and sits in static pytree metadata (hashable, equal by
value). Where TF1 would fail half-way (more shards than rows, a zero-sized dimension) scopejax
refuses upfront, before anything is created.

TF1 equivalents: ``tf.compat.v1.fixed_size_partitioner``, ``variable_axis_size_partitioner``,
``min_max_variable_partitioner`` (``partitioned_variables.py``) and ``_call_partitioner`` /
``_iter_slices`` / ``Variable.SaveSliceInfo`` (``variable_scope.py``, ``variables.py``).
"""

from __future__ import annotations

import abc
import dataclasses
import math
import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from scopejax._src.errors import ScopeJaxError, ScopeTypeError, call_user

Shape = tuple[int, ...]
DTypeLike = Any
Layout = list[tuple[Shape, Shape]]


class PartitionerError(ScopeJaxError, ValueError):
    """A partitioner (or its result) that TF1 rejects, or that would make TF1 fail half-way."""


class PartitionIndexError(PartitionerError, IndexError):
    """An axis or part index out of range (TF1's partitioners raise ``IndexError`` here)."""


# --------------------------------------------------------------------------------------------
# Argument helpers


def _index(value: Any, what: str) -> int:
    """``operator.index(value)`` with a TypeError naming ``what``."""
    try:
        return operator.index(value)
    except TypeError:
        raise ScopeTypeError(
            f"{what} must be an int, got {type(value).__name__} {value!r}."
        ) from None


def _real(value: Any, what: str) -> float | int:
    """A finite real number (int or float; bools rejected), else a TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ScopeTypeError(f"{what} must be a number, got {type(value).__name__} {value!r}.")
    if not math.isfinite(value):
        raise PartitionerError(f"{what} must be finite, got {value!r}.")
    return value


def _full_shape(shape: Any, what: str = "shape") -> Shape:
    """A fully defined shape: a sequence (or ``tf.TensorShape``) of non-negative ints."""
    if isinstance(shape, str | bytes) or not hasattr(shape, "__iter__"):
        raise ScopeTypeError(
            f"{what} must be a sequence of ints such as (4, 2), got {type(shape).__name__} "
            f"{shape!r}."
        )
    dims = [getattr(d, "value", d) for d in shape]  # tf.compat.v1 Dimension objects
    if any(d is None for d in dims):
        shown = "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
        raise PartitionerError(
            f"Shape of a new partitioned variable must be fully defined, but instead was {shown}."
            " Fix: pass the full shape (every dimension known) to get_variable."
        )
    out = tuple(_index(d, f"every dimension of {what}") for d in dims)
    if any(d < 0 for d in out):
        raise PartitionerError(f"{what} must not have negative dimensions, got {out}.")
    return out


def _element_size(dtype: DTypeLike, bytes_per_string_element: int | float) -> int | float:
    """TF's ``dtype.size``: the item size, or ``bytes_per_string_element`` for strings."""
    if dtype is None:
        raise ScopeTypeError(
            "This partitioner sizes shards in bytes and needs the variable's dtype: call it as "
            "partitioner(shape, dtype)."
        )
    if isinstance(dtype, str) and dtype == "string":
        return bytes_per_string_element
    try:  # `as_numpy_dtype` accepts a tf.DType in ported code (tf.string -> object).
        dt = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError:
        raise ScopeTypeError(
            f"{dtype!r} is not a dtype. Pass a numpy/jax dtype such as jnp.float32, 'int8', or "
            "'string' (or object) for string variables."
        ) from None
    if dt.kind in "OSU":  # TF's tf.string
        return bytes_per_string_element
    return dt.itemsize


def _axis(axis: int, shape: Shape) -> int:
    """``axis`` as a non-negative index into ``shape`` (negative axes count from the end, as in
    TF, whose partitioners index Python lists with it)."""
    if not -len(shape) <= axis < len(shape):
        raise PartitionIndexError(
            f"Cannot partition variable along axis {axis} when shape is only {shape}. Fix: pass "
            f"an axis in [{-len(shape)}, {len(shape)}) to the partitioner, or partition only "
            "variables of a higher rank."
        )
    return axis % len(shape)


# --------------------------------------------------------------------------------------------
# Partitioners


class Partitioner(abc.ABC):
    """Base class of scopejax's TF1 partitioners: frozen dataclasses, hashable and equal by value.

    Called like TF1 partitioners, ``partitioner(shape, dtype)`` (also by keyword), they return a
    list of shard counts, one per dimension of ``shape``.
    """

    axis: int

    @abc.abstractmethod
    def __call__(self, shape: Any, dtype: DTypeLike = None) -> list[int]:
        """Returns the number of shards per dimension of ``shape``: 1 except along ``axis``."""

    def _result(self, shape: Shape, axis: int, shards: int) -> list[int]:
        partitions = [1] * len(shape)
        partitions[axis] = shards
        return partitions


_frozen = dataclasses.dataclass(frozen=True)


@_frozen
class FixedSizePartitioner(Partitioner):
    """``num_shards`` shards along ``axis``, capped at the size of that dimension.

    >>> p = fixed_size_partitioner(4)
    >>> p((10, 3), "float32"), p((3, 5), "float32")
    ([4, 1], [3, 1])

    TF1 equivalent: ``tf.compat.v1.fixed_size_partitioner``.
    """

    num_shards: int
    axis: int = 0

    def __post_init__(self) -> None:
        num_shards = _index(self.num_shards, "fixed_size_partitioner: num_shards")
        object.__setattr__(self, "num_shards", num_shards)
        object.__setattr__(self, "axis", _index(self.axis, "fixed_size_partitioner: axis"))
        if num_shards < 1:
            raise PartitionerError(
                f"fixed_size_partitioner: num_shards must be positive, got {num_shards} (TF1 "
                "fails later with 'Partitioner returned zero partitions for some axes'). Fix: "
                "pass num_shards >= 1, or no partitioner for an unsharded variable."
            )

    def __call__(self, shape: Any, dtype: DTypeLike = None) -> list[int]:
        shape = _full_shape(shape)
        axis = _axis(self.axis, shape)
        return self._result(shape, axis, min(self.num_shards, shape[axis]))


@_frozen
class VariableAxisSizePartitioner(Partitioner):
    """As many shards along ``axis`` as needed to keep each below ``max_shard_bytes``.

    A shard holds ``max(1, floor(max_shard_bytes / bytes_per_slice))`` slices (a slice is one
    index along ``axis``), so the count depends on the dtype's size; string variables count
    ``bytes_per_string_element`` per element. ``max_shards`` caps the count (``None`` or ``0``:
    no cap, as in TF).

    >>> p = variable_axis_size_partitioner(256)
    >>> [p((64, 4), dt)[0] for dt in ("float32", "float16", "float64", "int8", "string")]
    [4, 2, 8, 1, 16]

    TF1 equivalent: ``tf.compat.v1.variable_axis_size_partitioner``.
    """

    max_shard_bytes: int | float
    axis: int = 0
    bytes_per_string_element: int | float = 16
    max_shards: int | None = None

    def __post_init__(self) -> None:
        what = "variable_axis_size_partitioner"
        max_shard_bytes = _real(self.max_shard_bytes, f"{what}: max_shard_bytes")
        per_string = _real(self.bytes_per_string_element, f"{what}: bytes_per_string_element")
        object.__setattr__(self, "axis", _index(self.axis, f"{what}: axis"))
        if max_shard_bytes < 1 or per_string < 1:
            raise PartitionerError(
                "Both max_shard_bytes and bytes_per_string_element must be positive. Currently, "
                f"max_shard_bytes is {max_shard_bytes} and bytes_per_string_element is "
                f"{per_string}. Fix: pass byte counts >= 1, e.g. max_shard_bytes=(64 << 20) - 1."
            )
        if self.max_shards is not None:
            max_shards = _index(self.max_shards, f"{what}: max_shards")
            if max_shards < 0:
                raise PartitionerError(
                    f"max_shards must be positive. Got {max_shards}; fix: pass max_shards >= 1, "
                    "or None for no cap."
                )
            # TF tests `if max_shards:`, so 0 means "no cap", exactly like None.
            object.__setattr__(self, "max_shards", max_shards or None)

    def __call__(self, shape: Any, dtype: DTypeLike = None) -> list[int]:
        shape = _full_shape(shape)
        axis = _axis(self.axis, shape)
        element_size = _element_size(dtype, self.bytes_per_string_element)
        dim, num_elements = shape[axis], math.prod(shape)
        if num_elements == 0:  # TF divides by zero here.
            raise PartitionerError(
                f"variable_axis_size_partitioner cannot size shards of the empty shape {shape} "
                "(TF1 raises ZeroDivisionError). Fix: do not partition empty variables."
            )
        # TF's float arithmetic, kept expression for expression so that rounding agrees.
        bytes_per_slice = 1.0 * (num_elements / dim) * element_size
        slices_per_shard = max(1, math.floor(self.max_shard_bytes / bytes_per_slice))
        shards = math.ceil(1.0 * dim / slices_per_shard)
        if self.max_shards:
            shards = min(self.max_shards, shards)
        return self._result(shape, axis, shards)


@_frozen
class MinMaxVariablePartitioner(Partitioner):
    """Shards of at least ``min_slice_size`` bytes each, at most ``max_partitions`` of them.

    The count is ``max(1, min(dim, max_partitions, ceil(total_bytes / min_slice_size)))``, so
    ``max_partitions < 1`` gives one shard, as in TF.

    >>> p = min_max_variable_partitioner(max_partitions=16)
    >>> p((1024, 1024), "float32"), p((1024, 1024), "float16"), p((10, 3), "float32")
    ([16, 1], [8, 1], [1, 1])

    TF1 equivalent: ``tf.compat.v1.min_max_variable_partitioner``.
    """

    max_partitions: int = 1
    axis: int = 0
    min_slice_size: int | float = 256 << 10
    bytes_per_string_element: int | float = 16

    def __post_init__(self) -> None:
        what = "min_max_variable_partitioner"
        object.__setattr__(
            self, "max_partitions", _index(self.max_partitions, f"{what}: max_partitions")
        )
        object.__setattr__(self, "axis", _index(self.axis, f"{what}: axis"))
        min_slice_size = _real(self.min_slice_size, f"{what}: min_slice_size")
        per_string = _real(self.bytes_per_string_element, f"{what}: bytes_per_string_element")
        # TF checks neither; 0 divides by zero at call time and negatives are meaningless.
        if min_slice_size <= 0 or per_string < 1:
            raise PartitionerError(
                f"{what}: min_slice_size and bytes_per_string_element must be positive. "
                f"Currently, min_slice_size is {min_slice_size} and bytes_per_string_element is "
                f"{per_string}. Fix: pass byte counts >= 1 (the default min_slice_size is 256K)."
            )

    def __call__(self, shape: Any, dtype: DTypeLike = None) -> list[int]:
        shape = _full_shape(shape)
        axis = _axis(self.axis, shape)
        element_size = _element_size(dtype, self.bytes_per_string_element)
        partitions = math.prod(shape) * element_size / self.min_slice_size
        shards = max(1, min(shape[axis], self.max_partitions, math.ceil(partitions)))
        return self._result(shape, axis, shards)


def fixed_size_partitioner(num_shards: int, axis: int = 0) -> FixedSizePartitioner:
    """Returns a partitioner making ``num_shards`` shards along ``axis`` (fewer if the dimension
    is smaller).

    >>> fixed_size_partitioner(2, axis=1)((4, 43), "float32")
    [1, 2]

    TF1 equivalent: ``tf.compat.v1.fixed_size_partitioner``.
    """
    return FixedSizePartitioner(num_shards, axis)


def variable_axis_size_partitioner(
    max_shard_bytes: int | float,
    axis: int = 0,
    bytes_per_string_element: int | float = 16,
    max_shards: int | None = None,
) -> VariableAxisSizePartitioner:
    """Returns a partitioner keeping shards along ``axis`` below ``max_shard_bytes`` bytes.

    See :class:`VariableAxisSizePartitioner`. A single slice larger than ``max_shard_bytes`` still
    makes a shard of its own; ``max_shards`` takes precedence over ``max_shard_bytes``.

    >>> variable_axis_size_partitioner(256, max_shards=3)((64, 4), "float32")
    [3, 1]

    TF1 equivalent: ``tf.compat.v1.variable_axis_size_partitioner``.
    """
    return VariableAxisSizePartitioner(max_shard_bytes, axis, bytes_per_string_element, max_shards)


def min_max_variable_partitioner(
    max_partitions: int = 1,
    axis: int = 0,
    min_slice_size: int | float = 256 << 10,
    bytes_per_string_element: int | float = 16,
) -> MinMaxVariablePartitioner:
    """Returns a partitioner giving each shard at least ``min_slice_size`` bytes, with at most
    ``max_partitions`` shards along ``axis``.

    >>> min_max_variable_partitioner(4, min_slice_size=1024)((1000, 2), "float32")
    [4, 1]

    TF1 equivalent: ``tf.compat.v1.min_max_variable_partitioner``.
    """
    return MinMaxVariablePartitioner(max_partitions, axis, min_slice_size, bytes_per_string_element)


# --------------------------------------------------------------------------------------------
# Validation of a partitioner and of its result


def should_partition(shape: Any) -> bool:
    """Whether ``get_variable(shape=shape, partitioner=p)`` partitions at all.

    Only a scalar ``shape`` (``[]`` or ``()``) ignores the partitioner. As in TF1 the test is on the
    ``shape`` *argument*: ``shape=None`` (a shape taken from the initializer) is partitioned, and a
    scalar found that way fails in :func:`check_partitions` with TF's "must have rank at least 1".

    >>> should_partition(()), should_partition((3,)), should_partition(None)
    (False, True, True)

    TF1 equivalent: the ``is_scalar`` test of ``_VariableStore.get_variable``.
    """
    if shape is None:
        return True
    if isinstance(shape, str | bytes) or not hasattr(shape, "__iter__"):
        raise ScopeTypeError(f"shape must be a sequence of ints or None, got {shape!r}.")
    return len(tuple(shape)) >= 1


def check_partitioner(name: str, partitioner: Any) -> Callable[..., Any]:
    """Returns ``partitioner`` if it is callable, else raises TF's ValueError naming ``name``.

    >>> try:
    ...     check_partitioner("w", 3)
    ... except ValueError as e:
    ...     print(e)
    Partitioner must be callable, but received: 3 (variable 'w'). Fix: ...

    TF1 equivalent: the check in ``_VariableStore.get_variable``.
    """
    if not callable(partitioner):
        raise PartitionerError(
            f"Partitioner must be callable, but received: {partitioner} (variable {name!r}). "
            "Fix: pass a function (shape, dtype) -> list of shard counts, e.g. "
            "scopejax.fixed_size_partitioner(4)."
        )
    return partitioner


def _show(partitions: Sequence[Any]) -> str:
    """``partitions`` as TF prints them (``%s``), numpy integers shown as plain ints."""
    items = [int(p) if isinstance(p, np.integer) else p for p in partitions]
    return str(tuple(items)) if isinstance(partitions, tuple) else str(items)


def check_partitions(name: str, shape: Any, partitions: Any) -> Shape:
    """Validates a partitioner's result for variable ``name`` of full ``shape``.

    Returns the shard counts as a tuple of ints. Raises TF's ValueErrors (``PartitionerError``),
    a ``ScopeTypeError`` for non-integer counts (TF's TypeError), and refuses upfront the layouts
    with which TF1 fails half-way through creating the shards ("Expected 0 <= offset < shape"):
    more shards than rows along the axis, or a zero-sized dimension.

    >>> check_partitions("w", (10, 3), [3, 1])
    (3, 1)
    >>> try:
    ...     check_partitions("w", (4, 2), [2])
    ... except ValueError as e:
    ...     print(e)
    Partitioner returned a partition list that does not match the Variable's rank: [2] vs. (4, 2)
    (variable 'w'). Fix: ...

    TF1 equivalent: ``variable_scope._call_partitioner`` (and ``_PartitionInfo``'s check).
    """
    shape = _full_shape(shape)
    where = f"(variable {name!r})"
    if not shape:
        raise PartitionerError(
            f"A partitioned Variable must have rank at least 1, shape: () {where}. Fix: scalars "
            "cannot be partitioned; pass shape=[] to get_variable (then the partitioner is "
            "ignored) or open the variable outside the partitioning scope."
        )
    if not isinstance(partitions, Sequence) or isinstance(partitions, str | bytes):
        raise PartitionerError(
            f"Partitioner must return a sequence, but saw: {partitions} {where}. Fix: return a "
            "list with one shard count per dimension, e.g. [4, 1] (a numpy array is not a "
            "sequence for TF1: convert it with list())."
        )
    if len(partitions) != len(shape):
        raise PartitionerError(
            "Partitioner returned a partition list that does not match the Variable's rank: "
            f"{_show(partitions)} vs. {shape} {where}. Fix: return one shard count per "
            f"dimension ({len(shape)} entries)."
        )
    counts: list[int] = []
    for p in partitions:
        try:
            counts.append(operator.index(p))
        except TypeError:
            raise ScopeTypeError(
                f"Partitioner returned a non-integer shard count {p!r} in {_show(partitions)} "
                f"{where}; TF1 fails with a TypeError. Fix: return ints."
            ) from None
    if any(p < 1 for p in counts):
        raise PartitionerError(
            f"Partitioner returned zero partitions for some axes: {_show(partitions)} {where}. "
            "Fix: every entry must be >= 1 (1 means the dimension is not split)."
        )
    split = [axis for axis, p in enumerate(counts) if p > 1]
    if len(split) > 1:
        raise PartitionerError(
            f"Can only slice a variable along one dimension: shape: {shape}, partitioning: "
            f"{_show(partitions)} {where}. Fix: return counts > 1 for at most one axis."
        )
    if 0 in shape:
        raise PartitionerError(
            f"Cannot partition variable {name!r} of shape {shape}: it has a zero-sized dimension, "
            "for which TF1 fails with 'Expected 0 <= offset < shape'. Fix: do not use a "
            "partitioner for empty variables."
        )
    if split and counts[split[0]] > shape[split[0]]:
        axis = split[0]
        raise PartitionerError(
            f"Partitioner asked for {counts[axis]} shards of variable {name!r} along axis {axis}, "
            f"but that axis only has {shape[axis]} rows (shape {shape}); TF1 would fail with "
            "'Expected 0 <= offset < shape' after creating the first shards, so scopejax refuses "
            f"before creating any. Fix: ask for at most {shape[axis]} shards along axis {axis} "
            "(fixed_size_partitioner caps the count for you)."
        )
    return tuple(counts)


def call_partitioner(name: str, partitioner: Any, shape: Any, dtype: DTypeLike) -> Shape:
    """Calls ``partitioner(shape=..., dtype=...)`` (by keyword, as TF1 does) and validates it.

    >>> call_partitioner("w", fixed_size_partitioner(3), (10, 3), "float32")
    (3, 1)

    TF1 equivalent: ``variable_scope._call_partitioner``.
    """
    check_partitioner(name, partitioner)
    shape = _full_shape(shape)
    if not shape:
        return check_partitions(name, shape, ())  # raises TF's rank error before the call
    counts = call_user(partitioner, f"partitioner of variable {name}",
                       "partitioner(shape=..., dtype=...)", shape=shape, dtype=dtype)
    return check_partitions(name, shape, counts)


# --------------------------------------------------------------------------------------------
# The slice layout


def _axis_and_count(counts: Shape) -> tuple[int, int]:
    """The sliced axis and its shard count; ``(0, 1)`` when nothing is split (as in TF)."""
    for axis, n in enumerate(counts):
        if n > 1:
            return axis, n
    return 0, 1


def _split(dim: int, n: int) -> tuple[int, ...]:
    """Sizes of ``n`` parts of ``dim`` rows: the first ``dim % n`` one row larger."""
    small, extra = divmod(dim, n)
    return tuple(small + (i < extra) for i in range(n))


def part_names(name: str, n: int) -> list[str]:
    """The names of the ``n`` shards of variable ``name``: ``name/part_0``, ``name/part_1``, ...

    >>> part_names("emb", 3)
    ['emb/part_0', 'emb/part_1', 'emb/part_2']

    TF1 equivalent: ``"%s/part_%d" % (name, i)`` in ``_get_partitioned_variable``.
    """
    if not isinstance(name, str):
        raise ScopeTypeError(f"name must be a string, got {type(name).__name__} {name!r}.")
    n = _index(n, "the number of parts")
    if n < 1:
        raise PartitionerError(f"A partitioned variable has at least one part, got n={n}.")
    return [f"{name}/part_{i}" for i in range(n)]


def slice_layout(shape: Any, partitions: Any, *, name: str = "<variable>") -> Layout:
    """The ``(offset, shape)`` of every shard, after :func:`check_partitions`.

    >>> slice_layout((10, 3), [3, 1])
    [((0, 0), (4, 3)), ((4, 0), (3, 3)), ((7, 0), (3, 3))]

    TF1 equivalent: ``variable_scope._iter_slices``.
    """
    info = PartitionInfo.from_partitions(shape, partitions, name=name)
    return [(info.part_offset(i), info.part_shape(i)) for i in range(info.num_parts)]


@dataclasses.dataclass(frozen=True)
class PartitionInfo:
    """The layout of a partitioned variable: ``sizes[i]`` rows of ``axis`` start at ``offsets[i]``.

    Hashable and equal by value (it is static metadata of a pytree). Build it from a
    partitioner's result with :meth:`from_partitions`; the constructor checks only that the parts
    tile ``full_shape[axis]``.

    >>> info = PartitionInfo.from_partitions((10, 3), [3, 1])
    >>> info
    PartitionInfo(full_shape=(10, 3), axis=0, offsets=(0, 4, 7), sizes=(4, 3, 3))
    >>> info.part_shape(1), info.part_offset(1), info.save_slice_spec(1)
    ((3, 3), (4, 0), '10 3 4,3:0,3')

    TF1 equivalent: the ``PartitionedVariable`` and its parts' ``SaveSliceInfo``.
    """

    full_shape: Shape
    axis: int
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    spec: Any = dataclasses.field(default=None, repr=False)  # a PartitionSpec partitioner's

    def __post_init__(self) -> None:
        full_shape = _full_shape(self.full_shape, "full_shape")
        axis = _index(self.axis, "axis")
        offsets = tuple(_index(o, "every offset") for o in self.offsets)
        sizes = tuple(_index(s, "every size") for s in self.sizes)
        for field, value in zip(("full_shape", "axis", "offsets", "sizes"),
                                (full_shape, axis, offsets, sizes), strict=True):  # fmt: skip
            object.__setattr__(self, field, value)
        if not 0 <= axis < len(full_shape):
            raise PartitionIndexError(
                f"PartitionInfo: axis {axis} is out of range for full_shape {full_shape}."
            )
        expected = tuple(sum(sizes[:i]) for i in range(len(sizes)))
        if (
            not sizes
            or len(offsets) != len(sizes)
            or any(s < 1 for s in sizes)
            or offsets != expected
            or sum(sizes) != full_shape[axis]
        ):
            raise PartitionerError(
                f"PartitionInfo: parts with offsets {offsets} and sizes {sizes} do not tile axis "
                f"{axis} of {full_shape}: sizes must be >= 1, sum to {full_shape[axis]}, and "
                "offsets must be their running sums from 0. Fix: build it with "
                "PartitionInfo.from_partitions(shape, partitions)."
            )

    @classmethod
    def from_partitions(
        cls, shape: Any, partitions: Any, *, name: str = "<variable>"
    ) -> PartitionInfo:
        """The layout TF1 gives a variable of ``shape`` for a partitioner's result ``partitions``
        (validated by :func:`check_partitions`; ``name`` appears in its errors).

        >>> PartitionInfo.from_partitions((4, 43), [1, 5]).sizes
        (9, 9, 9, 8, 8)
        """
        counts = check_partitions(name, shape, partitions)
        shape = _full_shape(shape)
        axis, n = _axis_and_count(counts)
        sizes = _split(shape[axis], n)
        offsets = tuple(sum(sizes[:i]) for i in range(n))
        return cls(shape, axis, offsets, sizes)

    @property
    def num_parts(self) -> int:
        """The number of shards (1 when no axis is split: TF still names it ``part_0``)."""
        return len(self.sizes)

    @property
    def partitions(self) -> Shape:
        """Shard counts per dimension, as TF's ``PartitionedVariable._get_partitions()``.

        >>> PartitionInfo.from_partitions((4, 43), [1, 5]).partitions
        (1, 5)
        """
        return tuple(self.num_parts if d == self.axis else 1 for d in range(len(self.full_shape)))

    def _part(self, i: int) -> int:
        i = _index(i, "part index")
        if not 0 <= i < self.num_parts:
            raise PartitionIndexError(
                f"part index {i} is out of range for {self.num_parts} parts (0 to "
                f"{self.num_parts - 1})."
            )
        return i

    def part_shape(self, i: int) -> Shape:
        """The shape of shard ``i``: the full shape with ``sizes[i]`` rows along ``axis``."""
        i = self._part(i)
        shape = list(self.full_shape)
        shape[self.axis] = self.sizes[i]
        return tuple(shape)

    def part_offset(self, i: int) -> Shape:
        """Where shard ``i`` starts in the full variable, one offset per dimension."""
        i = self._part(i)
        offset = [0] * len(self.full_shape)
        offset[self.axis] = self.offsets[i]
        return tuple(offset)

    def part_index(self, i: int) -> tuple[slice, ...]:
        """A NumPy/JAX index selecting shard ``i`` of the full array: ``full[info.part_index(i)]``.

        >>> PartitionInfo.from_partitions((10, 3), [3, 1]).part_index(1)
        (slice(4, 7, None), slice(None, None, None))
        """
        i = self._part(i)
        index = [slice(None)] * len(self.full_shape)
        index[self.axis] = slice(self.offsets[i], self.offsets[i] + self.sizes[i])
        return tuple(index)

    def part_names(self, name: str) -> list[str]:
        """The shard names ``name/part_0`` ... of a variable ``name`` with this layout."""
        return part_names(name, self.num_parts)

    def save_slice_spec(self, i: int) -> str:
        """TF's ``SaveSliceInfo.spec`` of shard ``i``: the full shape, then ``offset,length`` for
        every dimension, joined by ``:`` (full dimensions too; TF writes no ``-`` here).

        >>> PartitionInfo.from_partitions((4, 43), [1, 5]).save_slice_spec(4)
        '4 43 0,4:35,8'

        TF1 equivalent: ``Variable.SaveSliceInfo(...).spec``.
        """
        offset, shape = self.part_offset(i), self.part_shape(i)
        full = " ".join(str(d) for d in self.full_shape)
        return full + " " + ":".join(f"{o},{s}" for o, s in zip(offset, shape, strict=True))
