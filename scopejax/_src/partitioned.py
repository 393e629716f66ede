"""Partitioned variables: TF1's ``_get_partitioned_variable`` on a ``VariableSource``.

TF1 stores a partitioned variable as shards ``<name>/part_<i>`` and hands the model a
``PartitionedVariable`` whose reads concatenate them. scopejax stores **one** logical variable
``<name>`` (the concatenation, the array the model reads) whose ``VarInfo.partition`` is the
:class:`PartitionInfo` of TF's layout: shard names, offsets and shapes stay queryable for export
and TF checkpoints, and physical placement is left to ``jax.sharding``.

Everything TF1 decides per shard is kept: a callable initializer is called once per shard with the
shard's shape (variance-scaling initializers see the full shape through ``partition_info``, as in
TF1), a constant initializer is sliced, a regulariser adds one loss per shard, and the reuse rules
(TF1_SEMANTICS rule 25) raise TF's errors. Shard ``i``'s initial value uses the variable's key
folded with ``i``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import reuse as reuse_table
from scopejax._src import spec_partitioners
from scopejax._src.blocked_init import BlockedDraw
from scopejax._src.errors import (
    DtypeMismatchError,
    InitializerError,
    InitializerTypeError,
    ReuseError,
    ShapeMismatchError,
    UnsupportedFeatureError,
    VariableExistsError,
    VariableNotFoundError,
    closest_names,
)
from scopejax._src.initializer_calls import call_initializer, constant_dtype, default_initializer
from scopejax._src.initializers import TFInitializer
from scopejax._src.partitioners import PartitionerError, PartitionInfo
from scopejax._src.varinfo import VarInfo

_SHARD = re.compile(r"^(.+)/part_(\d+)$")


class PartitionedReuseError(ReuseError):
    """A partitioned variable reused against TF1's rules (partitions or kind differ)."""


def _fmt(shape: Any) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _list(partitions: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, partitions)) + "]"


def existing_shard(source: Any, name: str) -> tuple[Any, VarInfo] | None:
    """TF1 keeps shards as variables: ``<name>/part_<i>`` of a partitioned variable exists."""
    match = _SHARD.match(name)
    if match is None:
        return None
    found = source.existing(match.group(1))
    if found is None or found[1].partition is None:
        return None
    value, info = found
    part = info.partition
    i = int(match.group(2))
    if i >= part.num_parts:
        return None
    shard = VarInfo(part.part_shape(i), info.dtype, info.trainable, info.collections,
                    regularizer=info.regularizer, constraint=info.constraint)  # fmt: skip
    return value[part.part_index(i)], shard


def no_partitioner_error(name: str) -> PartitionedReuseError:
    return PartitionedReuseError(
        f"No partitioner was provided, but a partitioned version of the variable was found: "
        f"{name}/part_0. Perhaps a variable of the same name was already created with "
        "partitioning? Pass the same partitioner (or reuse=True)."
    )


def get_partitioned(
    source: Any,
    name: str,
    shape: tuple[int | None, ...] | None,
    dtype: np.dtype,
    initializer: Any,
    reuse: Any,
    partitioner: Any,
    make_info: Any,
) -> Any:
    """TF1's ``_get_partitioned_variable``: reuse checks, then one logical variable.

    ``make_info(shape, dtype, partition)`` builds the new variable's ``VarInfo``; ``partitioner``
    is None only for ``reuse=True`` gets of an existing partitioned variable.
    """
    found = source.existing(name)
    if (found is not None and found[1].partition is None) or (
            found is None and existing_shard(source, name) is not None):  # fmt: skip
        raise PartitionedReuseError(
            f"A partitioner was provided, but an unpartitioned version of the variable was "
            f"found: {name}. Perhaps a variable of the same name was already created without "
            "partitioning? Use another name, or drop the partitioner."
        )
    constant = initializer is not None and not callable(initializer)
    if shape is None and _tensor_like(initializer):  # TF: a Tensor gives the shape
        shape = tuple(np.shape(initializer))
    elif constant and shape is not None and tuple(np.shape(initializer)) != tuple(shape):
        raise InitializerError(
            f"Variable {name}: Shapes {_fmt(shape)} and {_fmt(np.shape(initializer))} are not "
            "compatible: a constant initializer of a partitioned variable must have the "
            "variable's full shape (it is sliced into the shards)."
        )
    partitions, spec = None, None
    if shape is None and (reuse is not True or partitioner is not None):
        raise PartitionerError(
            f"Variable {name}: Shape of a new partitioned variable must be fully defined, but "
            "instead was <unknown>. Pass shape= (or a jax.Array initializer)."
        )
    if reuse is not True or partitioner is not None:
        partitions, spec = spec_partitioners.resolve(
            name, partitioner, shape, dtype, getattr(source, "mesh", None),
            _known_partitions(source, name),
        )
    if found is not None:
        return _reuse(name, found, shape, dtype, partitions, reuse)
    if reuse is True:
        raise VariableNotFoundError(
            f"PartitionedVariable {name} does not exist, or was not created with "
            "get_variable() "
            f"({closest_names(name, source.known_names())}). Did you mean to set reuse=False "
            "or reuse=AUTO_REUSE in VarScope?"
        )
    return _create(source, name, shape, dtype, initializer, partitions, spec, reuse, make_info)


def _reuse(name: str, found: tuple[Any, VarInfo], shape: Any, dtype: np.dtype,
           partitions: Any, reuse: Any) -> Any:  # fmt: skip
    """An existing partitioned variable: TF's checks of shape, dtype and partitions."""
    value, info = found
    if reuse is False:
        raise VariableExistsError(
            f"Partitioned variable with name {name} already exists. Did you mean to set "
            "reuse=True or reuse=AUTO_REUSE in VarScope?"
        )
    if shape is not None and (len(shape) != len(info.shape) or any(
            s is not None and s != f for s, f in zip(shape, info.shape, strict=True))):
        raise ShapeMismatchError(
            f"Trying to reuse partitioned variable {name}, but specified shape "
            f"{_fmt(shape)} and found shape {_fmt(info.shape)}."
        )
    if dtype != info.dtype:
        raise DtypeMismatchError(
            f"Trying to reuse partitioned variable {name}, but specified dtype {dtype.name} "
            f"and found dtype {info.dtype.name}."
        )
    if partitions is not None and tuple(partitions) != info.partition.partitions:
        raise PartitionedReuseError(
            f"Trying to reuse partitioned variable {name}, but specified partitions "
            f"{_list(tuple(partitions))} and found partitions "
            f"{_list(info.partition.partitions)}."
        )
    return value


def _create(source: Any, name: str, shape: Any, dtype: np.dtype, initializer: Any,
            partitions: Any, spec: Any, reuse: Any, make_info: Any) -> Any:  # fmt: skip
    """A new partitioned variable: TF's layout, then per-shard (or row-wise) initial values."""
    layout = PartitionInfo.from_partitions(shape, partitions, name=name)
    if spec is not None:
        layout = dataclasses.replace(layout, spec=spec)
    n = layout.num_parts
    if source.existing(f"{name}/part_0") is not None:
        _plain_shards_error(source, name, n, reuse)
    make_shard, vdtype, needs_key = _shard_maker(name, initializer, layout, dtype)
    info = make_info(layout.full_shape, vdtype, layout)
    whole = initializer if initializer is not None else default_initializer(dtype, name)
    if isinstance(whole, TFInitializer) and whole.elementwise:
        # i.i.d. elements: drawn row by row (fans from the full shape, as TF), so that each
        # device draws only its own rows with bounded memory (blocked_init.py).
        draw = BlockedDraw(whole, layout.full_shape, layout.axis, dtype)

        def make_whole(key: Any) -> Any:
            try:
                return draw.value(key)
            except (InitializerError, InitializerTypeError) as e:
                raise type(e)(f"Variable {name}: {e}") from None

        make_whole.blocked = draw  # type: ignore[attr-defined]
        return source.create(name, info, make_whole, needs_key)

    def make_value(key: Any) -> Any:
        parts = []
        for i in range(n):
            shard_key = None if key is None else jax.random.fold_in(key, i)
            try:
                parts.append(make_shard(shard_key, i))
            except (InitializerError, InitializerTypeError) as e:
                raise type(e)(f"Variable {name}/part_{i}: {e}") from None
        return parts[0] if n == 1 else jnp.concatenate(parts, axis=layout.axis)

    return source.create(name, info, make_value, needs_key)


def _known_partitions(source: Any, name: str) -> tuple[int, ...] | None:
    """The partitions recorded for ``name`` in the params of an apply call, if any."""
    params = getattr(source, "params", None)
    if params is None or name not in params:
        return None
    part = params.info(name).partition
    return None if part is None else part.partitions


def _plain_shards_error(source: Any, name: str, n: int, reuse: Any) -> None:
    """Plain variables named like the shards exist already (TF's checks, in TF's order)."""
    if source.existing(f"{name}/part_{n - 1}") is None:
        raise PartitionerError(
            f"Partitioner returned a different partitioning than what was already found. "
            f"Partitioner returned {n} shards, and shard {name}/part_0 was found, but "
            f"{name}/part_{n - 1} was not."
        )
    if source.existing(f"{name}/part_{n}") is not None:
        raise PartitionerError(
            f"Partitioner returned a different partitioning than what was already found. "
            f"Partitioner returned {n} shards, and shard {name}/part_0 was found, but so was the "
            f"extra shard {name}/part_{n}."
        )
    if reuse is False:
        raise reuse_table.exists_error(f"{name}/part_0")
    raise UnsupportedFeatureError(
        f"Variables {name}/part_0 ... {name}/part_{n - 1} exist as plain variables; TF1 would "
        f"assemble partitioned variable {name} from them, which scopejax does not support (it "
        "stores a partitioned variable as one array). Create it partitioned in the first place."
    )


def _tensor_like(value: Any) -> bool:
    """What plays TF's ``tf.Tensor`` among constant initializers: JAX and NumPy arrays."""
    return isinstance(value, jax.Array | np.ndarray | np.generic)


class _TFPartitionInfo:
    """What TF1 passes initializers as ``partition_info``: the full shape and a shard's offset."""

    __slots__ = ("full_shape", "var_offset")

    def __init__(self, full_shape: tuple[int, ...], var_offset: tuple[int, ...]) -> None:
        self.full_shape = list(full_shape)
        self.var_offset = list(var_offset)

    def single_offset(self, shape: Any) -> int:
        dim = self.single_slice_dim(shape)
        return 0 if dim is None else self.var_offset[dim]

    def single_slice_dim(self, shape: Any) -> int | None:
        dims = [i for i, (s, f) in enumerate(zip(shape, self.full_shape, strict=True)) if s != f]
        return dims[0] if dims else None


def _shard_maker(name: str, initializer: Any, layout: PartitionInfo, dtype: np.dtype
                 ) -> tuple[Any, np.dtype, bool]:  # fmt: skip
    """``(make_shard(key, i) -> shard i, dtype, needs_key)`` for a new partitioned variable."""
    if initializer is not None and not callable(initializer):  # a constant is sliced
        # As TF: a tensor (a JAX or NumPy array here) keeps its dtype; a Python value is
        # converted to the variable's dtype.
        vdtype = constant_dtype(initializer) if _tensor_like(initializer) else dtype
        array = np.asarray(initializer)
        return (lambda key, i: jnp.asarray(array[layout.part_index(i)], vdtype)), vdtype, False
    if initializer is None:
        initializer = default_initializer(dtype, name)
    needs_key = not isinstance(initializer, TFInitializer) or initializer.needs_key

    def make_shard(key: Any, i: int) -> Any:
        info = _TFPartitionInfo(layout.full_shape, layout.part_offset(i))
        return call_initializer(initializer, key, layout.part_shape(i), dtype, info)

    return make_shard, dtype, needs_key


__all__ = ["existing_shard", "get_partitioned", "no_partitioner_error"]
